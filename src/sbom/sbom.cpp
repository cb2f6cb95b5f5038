#include "slate/sbom/sbom.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>

#include "slate/sbom/dpkg.hpp"

namespace slate::sbom {
namespace fs = std::filesystem;

namespace {

bool is_below_or_same(std::string_view path, std::string_view dir) {
    if (path == dir) return true;
    if (dir == "/") return true;  // the root holds everything
    return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

auto sort_key(const Package& p) {
    const std::string& where = p.evidence.empty() ? std::string() : p.evidence.front().path;
    return std::tie(p.type, p.name, p.version, p.arch, where, p.purl);
}

}  // namespace

TreeInterest Cataloger::interest() {
    TreeInterest interest;
    interest.keep = [](std::string_view path, const TreeEntry& entry) {
        return dpkg_keeps(path) || language_keeps(path, entry);
    };
    interest.inspect = [](std::string_view path, const TreeEntry& entry) { return language_inspects(path, entry); };
    interest.inspector = [this](const std::string& path, const TreeEntry&, std::string_view content) {
        BinaryFindings found = inspect_binary(path, content);
        if (found.packages.empty() && found.warnings.empty()) {
            m_binaries.erase(path);
        } else {
            m_binaries[path] = std::move(found);
        }
    };
    interest.forget = [this](std::string_view path) {
        // Paths that start with `path` sort together ("/a", "/a-b", "/a/x"): skip the ones beside it.
        for (auto it = m_binaries.lower_bound(std::string(path)); it != m_binaries.end() && it->first.starts_with(path);)
            it = is_below_or_same(it->first, path) ? m_binaries.erase(it) : std::next(it);
    };
    return interest;
}

Catalog Cataloger::finish(const FileTree& tree, std::vector<Warning> warnings) {
    Catalog catalog;
    catalog.os = read_os_release(tree);
    catalog.packages = catalog_dpkg(tree, catalog.os, warnings);
    auto languages = catalog_languages(tree, warnings);
    catalog.packages.insert(catalog.packages.end(), std::make_move_iterator(languages.begin()),
                            std::make_move_iterator(languages.end()));
    for (auto& [path, found] : m_binaries) {
        catalog.packages.insert(catalog.packages.end(), found.packages.begin(), found.packages.end());
        warnings.insert(warnings.end(), found.warnings.begin(), found.warnings.end());
    }
    std::stable_sort(catalog.packages.begin(), catalog.packages.end(),
                     [](const Package& a, const Package& b) { return sort_key(a) < sort_key(b); });
    // The same module or jar found twice at one place is one package.
    catalog.packages.erase(std::unique(catalog.packages.begin(), catalog.packages.end(),
                                       [](const Package& a, const Package& b) { return sort_key(a) == sort_key(b); }),
                           catalog.packages.end());
    catalog.warnings = std::move(warnings);
    return catalog;
}

namespace {

// Reads a tree with `read` (given the interest, warnings and the file list to
// fill or nullptr) and catalogs it.
template <typename Read>
Catalog catalog_with(const CatalogOptions& options, Read&& read) {
    Cataloger cataloger;
    std::vector<Warning> warnings;
    std::vector<FileEntry> files;
    FileTree tree = read(cataloger.interest(), warnings, options.files ? &files : nullptr);
    Catalog catalog = cataloger.finish(tree, std::move(warnings));
    catalog.files = std::move(files);
    return catalog;
}

}  // namespace

Catalog catalog_directory(const fs::path& root, const CatalogOptions& options) {
    Catalog catalog = catalog_with(options, [&](const TreeInterest& interest, std::vector<Warning>& warnings,
                                                std::vector<FileEntry>* files) {
        return read_directory_tree(root, interest, warnings, files);
    });
    catalog.subject.name = fs::absolute(root).lexically_normal().string();
    return catalog;
}

Catalog catalog_layout_image(const oci::Layout& layout, const oci::LayoutImage& image, const std::string& name,
                             const std::string& version, const CatalogOptions& options) {
    std::vector<fs::path> layers;
    for (const auto& layer : image.manifest.layers) layers.push_back(layout.blob_path(layer.digest));
    Catalog catalog = catalog_with(options, [&](const TreeInterest& interest, std::vector<Warning>& warnings,
                                                std::vector<FileEntry>* files) {
        return read_layers_tree(layers, interest, warnings, files);
    });
    catalog.subject.name = name;
    catalog.subject.version = version;
    catalog.subject.digest = image.manifest_descriptor.digest;
    catalog.subject.platform = oci::to_string(image.platform);
    catalog.created = image.config.created;
    return catalog;
}

}  // namespace slate::sbom
