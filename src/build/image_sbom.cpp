#include "slate/build/image_sbom.hpp"

#include <map>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/sbom/sbom.hpp"
#include "slate/sbom/tree.hpp"

namespace slate::build {

std::string in_image_sbom_path(const ImageSpec& spec) { return "/var/lib/db/sbom/" + spec.name + ".spdx.json"; }

sbom::Catalog catalog_rootfs(const RootFs& root, const ImageSpec& spec, const LockedArch& locked,
                             const std::string& arch, std::int64_t epoch) {
    sbom::Cataloger cataloger;
    sbom::TreeInterest interest = cataloger.interest();
    sbom::FileTree tree;
    tree.add("/", {sbom::TreeEntry::Type::Directory, 0755, 0, {}});
    std::vector<sbom::Warning> warnings;
    for (const auto& [path, entry] : root.entries()) {
        sbom::TreeEntry tree_entry;
        tree_entry.mode = entry.mode;
        tree_entry.link_target = entry.link_target;
        switch (entry.type) {
            case deb::EntryType::Directory: tree_entry.type = sbom::TreeEntry::Type::Directory; break;
            case deb::EntryType::Symlink: tree_entry.type = sbom::TreeEntry::Type::Symlink; break;
            case deb::EntryType::Hardlink:
                tree_entry.type = sbom::TreeEntry::Type::Hardlink;
                tree_entry.link_target = "/" + entry.link_target;  // RootFs paths are relative to the root
                break;
            case deb::EntryType::File:
                tree_entry.type = sbom::TreeEntry::Type::File;
                tree_entry.size = entry.content ? entry.content->size() : 0;
                break;
        }
        if (path.empty()) continue;  // the root itself
        const std::string tree_path = "/" + path;
        tree.add(tree_path, tree_entry);
        if (tree_entry.type != sbom::TreeEntry::Type::File || !entry.content) continue;
        if (interest.keep(tree_path, tree_entry)) {
            tree.keep(tree_path, *entry.content);
        } else if (interest.inspect(tree_path, tree_entry)) {
            interest.inspector(tree_path, tree_entry, *entry.content);
        }
    }
    sbom::Catalog catalog = cataloger.finish(tree, std::move(warnings));
    catalog.subject.name = spec.name;
    catalog.subject.platform = oci::to_string(oci::platform_for_debian_arch(arch));
    catalog.created = epoch;

    // The dpkg database slate wrote must list exactly the lock's packages.
    std::map<std::pair<std::string, std::string>, const deb::ResolvedPackage*> expected;
    for (const auto& package : locked.packages) expected[{package.name, package.arch}] = &package;
    std::size_t debs = 0;
    for (auto& package : catalog.packages) {
        if (package.type != sbom::PackageType::Deb) continue;
        ++debs;
        auto it = expected.find({package.name, package.arch});
        if (it == expected.end() || it->second->version != package.version)
            throw Error(ErrorCode::Internal,
                        fmt::format("the SBOM of {} ({}) lists {} {} ({}), which the lock does not", spec.name, arch,
                                    package.name, package.version, package.arch));
        package.checksums["SHA256"] = it->second->sha256;
    }
    if (debs != locked.packages.size())
        throw Error(ErrorCode::Internal, fmt::format("the SBOM of {} ({}) lists {} Debian packages; the lock has {}",
                                                     spec.name, arch, debs, locked.packages.size()));
    return catalog;
}

}  // namespace slate::build
