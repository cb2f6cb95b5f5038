#pragma once
// Builds .deb files for tests with libarchive's writers, including ones dpkg-deb
// would never produce: absolute paths, ".." segments, escaping hardlinks and
// symlinks, device nodes, odd member names and orders, every compression.
// Names and link targets are written into the tar exactly as given.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace slate::test {

enum class DebCompression { None, Gzip, Xz, Zstd, Bzip2 };

// "", ".gz", ".xz", ".zst", ".bz2": the member name suffix dpkg uses.
std::string compression_suffix(DebCompression compression);

struct TarItem {
    enum class Kind { File, Directory, Symlink, Hardlink, CharDevice, BlockDevice, Fifo, Socket };

    Kind kind = Kind::File;
    std::string name;     // as written into the tar, e.g. "./usr/bin/x", "/etc/passwd", "./a/../../b"
    std::string content;  // File
    std::string link;     // Symlink or Hardlink target, as written
    unsigned mode = 0644;
    std::int64_t uid = 0;
    std::int64_t gid = 0;
    std::int64_t mtime = 1700000000;
    unsigned dev_major = 0;
    unsigned dev_minor = 0;

    static TarItem file(std::string name, std::string content, unsigned mode = 0644);
    static TarItem directory(std::string name, unsigned mode = 0755);
    static TarItem symlink(std::string name, std::string target);
    static TarItem hardlink(std::string name, std::string target);
    // CharDevice, BlockDevice (with major/minor), Fifo or Socket.
    static TarItem special(Kind kind, std::string name, unsigned major = 0, unsigned minor = 0);
};

// Gnu: what dpkg-deb writes (GNU tar, long names via ././@LongLink). Pax: POSIX
// pax headers (UTF-8 names in extended records).
enum class TarFormat { Gnu, Pax };

// A tar archive of `items`, in order, compressed with `compression`.
std::string make_tar(const std::vector<TarItem>& items, DebCompression compression, TarFormat format = TarFormat::Gnu);

struct ArMember {
    std::string name;
    std::string data;
};

// An ar archive ("!<arch>\n", BSD/common member headers as dpkg writes them).
std::string make_ar(const std::vector<ArMember>& members);

struct DebSpec {
    std::string package = "hostile";
    std::string version = "1.0-1";
    std::string architecture = "amd64";
    // data.tar entries after the root "./" (which is written first unless
    // root_entry is false).
    std::vector<TarItem> data;
    bool root_entry = true;
    DebCompression data_compression = DebCompression::Xz;
    DebCompression control_compression = DebCompression::Xz;
    TarFormat format = TarFormat::Gnu;
    // control.tar members besides "./control" (md5sums, postinst, ...).
    std::vector<TarItem> extra_control;

    // The control file: Package, Version, Architecture, Maintainer, Description.
    std::string control_text() const;
};

// The members of the .deb in dpkg's order: debian-binary ("2.0\n"),
// control.tar<suffix> ("./", "./control", extras), data.tar<suffix>. Tests may
// edit the list (rename, reorder, drop, insert) before make_ar.
std::vector<ArMember> deb_members(const DebSpec& spec);
std::string make_deb(const DebSpec& spec);
// Writes make_deb(spec) to `path` and returns `path`.
std::filesystem::path write_deb(const std::filesystem::path& path, const DebSpec& spec);

}  // namespace slate::test
