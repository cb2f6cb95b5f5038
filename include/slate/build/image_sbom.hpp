#pragma once
// The SBOM of an image slate builds, made from the finished in-memory file
// system and checked against the lock: the Debian packages it lists are
// exactly the lock's (names, versions, architectures), each with its .deb's
// SHA-256.

#include <cstdint>
#include <string>

#include "slate/build/image_spec.hpp"
#include "slate/build/lock.hpp"
#include "slate/build/rootfs.hpp"
#include "slate/sbom/catalog.hpp"

namespace slate::build {

// Where the SBOM goes inside the image (apko's place for it).
std::string in_image_sbom_path(const ImageSpec& spec);

// Catalogs `root` for `arch`. The subject is the image by name and platform,
// without a digest (the SBOM is part of the image it describes); the caller
// sets the manifest digest on a copy written next to the image. Throws
// slate::Error (Internal) when the catalog and the lock disagree.
sbom::Catalog catalog_rootfs(const RootFs& root, const ImageSpec& spec, const LockedArch& locked,
                             const std::string& arch, std::int64_t epoch);

}  // namespace slate::build
