#pragma once
// Reading .deb files (ar archive: debian-binary, control.tar.*, data.tar.*)
// without running anything from them. Paths are normalised and checked so a
// hostile package cannot name anything outside the image root.
//
// Format (deb(5)): an ar archive whose members are, in this order,
//   debian-binary   "2.0\n" (a 2.x version; later lines are ignored)
//   control.tar     uncompressed, or .gz, .xz, .zst
//   data.tar        uncompressed, or .gz, .xz, .zst, .bz2, .lzma
// Members whose name starts with '_' are skipped, members after data.tar are
// ignored, as dpkg does. Nothing outside the .deb is read or written.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace slate::deb {

enum class EntryType : std::uint8_t { File, Directory, Symlink, Hardlink };

struct DebEntry {
    // Relative to the image root, normalised: no leading "./" or "/", no
    // trailing "/", no "." or ".." segments, no empty segments. The root
    // directory itself ("./" in the tar) is not returned. Bytes as in the tar
    // (UTF-8 in practice), never converted to the locale's charset.
    std::string path;
    EntryType type = EntryType::File;
    std::uint32_t mode = 0;  // permission bits including setuid/setgid/sticky (07777)
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::int64_t mtime = 0;
    // Symlink: the target exactly as written (absolute targets are allowed:
    // they resolve inside the image). Hardlink: the normalised path of the
    // regular file it links to (an earlier entry of the same package; a link
    // to a link is resolved to that file).
    std::string link_target;
    // File: the bytes. Hardlink: the same bytes as its target (the same
    // pointer). Shared so that a file system assembled from many packages does
    // not copy contents. Null for directories and symlinks.
    std::shared_ptr<const std::string> content;
};

struct DebFile {
    std::string control;                               // the control file's text
    std::map<std::string, std::string> control_files;  // every regular file of control.tar by normalised
                                                       // name (control, md5sums, conffiles, postinst, ...)
    std::vector<DebEntry> entries;                     // data.tar, in archive order
    std::vector<std::string> notes;                    // e.g. "dropped character device dev/null"
};

// Reads and checks a .deb. `display_name` (e.g. "hello 1.0-1 (amd64)") names
// the package in every message. Throws slate::Error:
//   NotFound / Io  the file cannot be read;
//   Parse          a malformed archive: not an ar archive, truncated or
//                  corrupt members, missing or misordered members, a
//                  debian-binary other than 2.x, no control file;
//   Integrity      hostile content: absolute or ".." paths, a path shipped
//                  twice, a path below a symlink or file of the same package,
//                  hardlinks to anything but an earlier regular file of the
//                  package, relative symlinks that climb above the root.
// Device nodes, FIFOs and sockets are dropped with a note.
DebFile read_deb(const std::filesystem::path& path, const std::string& display_name);

// The same, for a .deb already in memory.
DebFile parse_deb(std::string_view bytes, const std::string& display_name);

}  // namespace slate::deb
