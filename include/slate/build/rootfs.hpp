#pragma once
// The image's file system, assembled in memory: packages' data entries placed
// as dpkg would place them (merged /usr), plus what maintainer scripts would
// have made, done declaratively. Nothing here touches the host file system;
// symlinks are only ever resolved inside the image.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/deb/deb_file.hpp"
#include "slate/oci/tar.hpp"

namespace slate::build {

struct FsEntry {
    deb::EntryType type = deb::EntryType::File;
    std::uint32_t mode = 0;   // 07777 bits
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string link_target;  // Symlink: as written; Hardlink: image path of the target
    std::shared_ptr<const std::string> content;  // File
    std::string package;      // the package that shipped it; "" for files slate generated
};

// What the file-conflict rules need to know about a package.
struct PackageFacts {
    std::string name;
    std::string version;
    std::string replaces;     // the Replaces field, raw
};

// Resolves `path` inside an image root, wherever the image lives (in memory
// or unpacked on disk): `link_target` returns the target of the symlink at a
// relative, normalised path, or nullopt when that is not a symlink. ".."
// never climbs above the root. Returns the resolved relative path, or
// nullopt for a symlink loop.
using LinkLookup = std::function<std::optional<std::string>(const std::string& path)>;
std::optional<std::string> resolve_image_path(std::string_view path, bool follow_final, const LinkLookup& link_target);

class RootFs {
public:
    // Creates /, and the merged-/usr layout: bin, sbin, lib -> usr/...
    // (lib64 and other multilib directories are linked when a package uses them).
    RootFs();

    // Places a package's entries. Paths under bin/, sbin/, lib*/ land under
    // usr/. Parent directories are resolved through the image's own symlinks.
    // Throws slate::Error (Integrity) when the package ships a path another
    // package already shipped, unless it Replaces that package (the later
    // one wins) or the entries are identical (the first owner stays).
    void add_package(const PackageFacts& facts, const deb::DebFile& deb);
    // Paths (absolute fnmatch globs) where a later package may replace an
    // earlier one's file without declaring Replaces (the spec's contents.overwrite).
    void allow_overwrite(std::vector<std::string> globs) { m_overwrite = std::move(globs); }

    // Generated content (passwd, CA bundle, ...): replaces what is there.
    void put_file(std::string_view path, std::string content, std::uint32_t mode = 0644, std::uint32_t uid = 0,
                  std::uint32_t gid = 0);
    void put_directory(std::string_view path, std::uint32_t mode = 0755, std::uint32_t uid = 0, std::uint32_t gid = 0);
    void put_symlink(std::string_view path, std::string target);
    // Throws slate::Error (NotFound) when the path does not exist.
    void set_attributes(std::string_view path, std::optional<std::uint32_t> mode, std::optional<std::uint32_t> uid,
                        std::optional<std::uint32_t> gid, bool recursive);
    void remove(std::string_view path);  // and everything below it

    // The entry at `path` without following a final symlink; nullptr if absent.
    const FsEntry* find(std::string_view path) const;
    // `path` with every symlink in it resolved inside the image ("/.." stays at
    // the root); nullopt for a symlink loop. The result need not exist.
    std::optional<std::string> resolve(std::string_view path) const;
    // The content of the regular file at `path` (following symlinks), or nullopt.
    std::optional<std::string_view> read(std::string_view path) const;
    // Paths directly below `dir` (not following a final symlink).
    std::vector<std::string> list(std::string_view dir) const;

    // Every entry, sorted by path ("" is the root): the deterministic order of layers.
    const std::map<std::string, FsEntry>& entries() const { return m_entries; }
    // Tar entries for the paths accepted by `filter` (all when null), parents first.
    std::vector<oci::TarEntry> tar_entries(const std::function<bool(const std::string&, const FsEntry&)>& filter = {}) const;

    // Normalises an absolute or relative image path: "/usr//bin/./x" -> "usr/bin/x".
    // Throws slate::Error (Integrity) for ".." that climbs above the root.
    static std::string normalise(std::string_view path);

private:
    std::string place(std::string_view package_path);  // merged-/usr mapping + parent resolution
    std::optional<std::string> resolve_impl(std::string_view path, bool follow_final) const;
    void ensure_parents(const std::string& path);
    bool may_replace(const PackageFacts& facts, const std::string& owner) const;
    std::map<std::string, FsEntry> m_entries;
    std::map<std::string, std::string> m_versions;  // package -> version, for Replaces
    std::vector<std::string> m_overwrite;

};

}  // namespace slate::build
