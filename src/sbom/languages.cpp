// Which files the language catalogers need, and the dispatch to them.

#include "slate/sbom/languages.hpp"

#include "sbom/language_support.hpp"

namespace slate::sbom {
namespace {

constexpr std::uint64_t k_min_binary_size = 1024;

bool is_file(const TreeEntry& entry) {
    return entry.type == TreeEntry::Type::File || entry.type == TreeEntry::Type::Hardlink;
}

bool is_java_archive(std::string_view path) {
    std::string_view name = lang::base_name(path);
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    std::string_view extension = name.substr(dot + 1);
    return lang::iequals(extension, "jar") || lang::iequals(extension, "war") || lang::iequals(extension, "ear");
}

// ".../node_modules/<name>/package.json" or ".../node_modules/@scope/<name>/package.json".
bool is_npm_manifest(std::string_view path) {
    if (lang::base_name(path) != "package.json") return false;
    std::string_view package_dir = lang::dir_name(path);
    std::string_view name = lang::base_name(package_dir);
    if (name.empty() || name.front() == '.' || name.front() == '@') return false;
    std::string_view parent = lang::dir_name(package_dir);
    std::string_view parent_name = lang::base_name(parent);
    if (parent_name == "node_modules") return true;
    if (parent_name.size() < 2 || parent_name.front() != '@') return false;
    return lang::base_name(lang::dir_name(parent)) == "node_modules";
}

bool is_python_metadata(std::string_view path) {
    std::string_view name = lang::base_name(path);
    std::string_view dir = lang::base_name(lang::dir_name(path));
    if (name == "METADATA") return dir.ends_with(".dist-info");
    if (name == "PKG-INFO") return dir.ends_with(".egg-info");
    return name.ends_with(".egg-info");  // the single-file form distutils wrote
}

// Under a bin/ or sbin/ directory, at any depth ("/usr/local/go/bin/go").
bool under_bin(std::string_view path) {
    for (std::string_view dir = lang::dir_name(path); !dir.empty(); dir = lang::dir_name(dir)) {
        std::string_view name = lang::base_name(dir);
        if (name == "bin" || name == "sbin") return true;
    }
    return false;
}

}  // namespace

bool language_keeps(std::string_view path, const TreeEntry& entry) {
    if (!is_file(entry)) return false;
    return is_python_metadata(path) || is_npm_manifest(path);
}

bool language_inspects(std::string_view path, const TreeEntry& entry) {
    if (entry.type != TreeEntry::Type::File) return false;  // a hard link's target is inspected itself
    if (is_java_archive(path)) return true;
    return entry.size >= k_min_binary_size && ((entry.mode & 0111) != 0 || under_bin(path));
}

BinaryFindings inspect_binary(std::string_view path, std::string_view content) {
    if (is_java_archive(path)) return java_packages(path, content);
    if (content.starts_with("\x7f" "ELF")) return go_packages(path, content);
    return {};
}

std::vector<Package> catalog_languages(const FileTree& tree, std::vector<Warning>& warnings) {
    std::vector<Package> packages;
    for (const auto& [path, entry] : tree.entries()) {
        if (!language_keeps(path, entry)) continue;
        auto content = tree.read(path);
        if (!content) continue;  // not kept (too large): the tree reader has said so
        std::optional<Package> package = is_npm_manifest(path) ? npm_package(path, *content, warnings)
                                                               : python_package(path, *content, warnings);
        if (package) packages.push_back(std::move(*package));
    }
    return packages;
}

}  // namespace slate::sbom
