#pragma once
// The file system an SBOM is made from, read once: every entry's metadata,
// and the contents of the few files catalogers need (dpkg status, copyright
// files, package metadata). Big files (binaries, jars) are not kept: they are
// handed to an inspector as they stream past, and only what it found is kept.
//
// A tree comes from a directory (dir:ROOTFS) or from an image's layers,
// applied in order with OCI whiteouts (.wh.NAME, .wh..wh..opq).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/sbom/catalog.hpp"

namespace slate::sbom {

struct TreeEntry {
    enum class Type { File, Directory, Symlink, Hardlink, Other };
    Type type = Type::File;
    std::uint32_t mode = 0;     // permission bits (07777)
    std::uint64_t size = 0;     // regular files
    std::string link_target;    // Symlink: as stored; Hardlink: the absolute path it links to
};

class FileTree {
public:
    // Paths are absolute and normalised: "/", "/usr/bin/python3".
    const std::map<std::string, TreeEntry>& entries() const { return m_entries; }
    const TreeEntry* find(std::string_view path) const;
    // `path` with every symlink resolved inside the tree ("/" is the tree's
    // root, ".." never leaves it); empty when a link dangles or loops.
    std::string resolve(std::string_view path) const;
    // The kept content of the regular file `path` names (symlinks and hard
    // links followed); nullopt when there is no such file or it was not kept.
    std::optional<std::string_view> read(std::string_view path) const;

    // For the readers that build trees.
    void add(std::string path, TreeEntry entry);
    void keep(std::string path, std::string content);
    // Removes `path` and everything below it (a whiteout), except the paths
    // `spare` returns true for (entries of the whiteout's own layer).
    // Returns the paths removed.
    std::vector<std::string> remove(std::string_view path,
                                    const std::function<bool(const std::string&)>& spare = {});
    // Removes everything below `dir`, keeping `dir` (an opaque whiteout).
    std::vector<std::string> remove_children(std::string_view dir,
                                             const std::function<bool(const std::string&)>& spare = {});

private:
    // Erases entries from `it` on while they are `base` (when `with_base`)
    // or below it, except those `spare` keeps.
    std::vector<std::string> erase_from(std::map<std::string, TreeEntry>::iterator it, std::string_view base,
                                        bool with_base, const std::function<bool(const std::string&)>& spare);

    std::map<std::string, TreeEntry> m_entries;
    std::map<std::string, std::string, std::less<>> m_contents;
};

// Which files a reader keeps whole (small metadata files), and which it
// shows to the inspector (binaries, archives). Both see the entry first.
struct TreeInterest {
    std::function<bool(std::string_view path, const TreeEntry& entry)> keep;
    std::function<bool(std::string_view path, const TreeEntry& entry)> inspect;
    // Called with the whole content of each file `inspect` chose. A later
    // layer may delete or replace the file: `forget` is then called with the
    // path (or the directory removed), so findings follow the final tree.
    std::function<void(const std::string& path, const TreeEntry& entry, std::string_view content)> inspector;
    std::function<void(std::string_view path)> forget;
    std::uint64_t keep_limit = 16u << 20;      // larger "kept" files are skipped (with a warning)
    std::uint64_t inspect_limit = 512u << 20;  // larger binaries are not inspected
};

// Reads the directory `root` (dir:ROOTFS) without following symlinks out of
// it. With `files`, every regular file is hashed and listed (SHA-256). Files
// that cannot be read become warnings. Throws slate::Error (NotFound) when
// `root` is not a directory.
FileTree read_directory_tree(const std::filesystem::path& root, const TreeInterest& interest,
                             std::vector<Warning>& warnings, std::vector<FileEntry>* files = nullptr);

// Applies the layer blobs `layers` (paths of tar, tar+gzip or tar+zstd
// files, bottom first) in order, with OCI whiteouts. A truncated or damaged
// layer becomes a warning naming it, and what was read up to there is kept.
FileTree read_layers_tree(const std::vector<std::filesystem::path>& layers, const TreeInterest& interest,
                          std::vector<Warning>& warnings, std::vector<FileEntry>* files = nullptr);

// "/a/./b//c/" -> "/a/b/c"; ".." segments are dropped at the root. Always absolute.
std::string normalize_tree_path(std::string_view path);

}  // namespace slate::sbom
