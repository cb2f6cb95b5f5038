#pragma once
// Cataloging whole file systems: the directory of dir:ROOTFS, one image of an
// OCI layout, or a tree built in memory (slate build's RootFs). Runs every
// cataloger (dpkg.hpp, languages.hpp) over one read of the files.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "slate/oci/layout.hpp"
#include "slate/sbom/catalog.hpp"
#include "slate/sbom/languages.hpp"
#include "slate/sbom/tree.hpp"

namespace slate::sbom {

struct CatalogOptions {
    bool files = false;  // hash and list every regular file
};

// Collects what the catalogers need while a tree is read, then catalogs it.
class Cataloger {
public:
    // What to keep and inspect; the inspector fills this object. It must
    // outlive the reading of the tree.
    TreeInterest interest();
    // The catalog of `tree`: OS, Debian packages, language packages, and the
    // packages found in binaries that are still in the tree. Packages come
    // out sorted (type, name, version, arch, evidence) and deduplicated.
    Catalog finish(const FileTree& tree, std::vector<Warning> warnings);

private:
    std::map<std::string, BinaryFindings> m_binaries;  // by path
};

// dir:ROOTFS. The subject is the directory. Throws slate::Error (NotFound).
Catalog catalog_directory(const std::filesystem::path& root, const CatalogOptions& options = {});

// One platform's image of a layout, layers applied in order. The subject's
// digest and platform come from the image; `name` and `version` name it.
Catalog catalog_layout_image(const oci::Layout& layout, const oci::LayoutImage& image, const std::string& name,
                             const std::string& version, const CatalogOptions& options = {});

}  // namespace slate::sbom
