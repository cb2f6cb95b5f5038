#include "support/hostile_deb.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>
#include <utility>

#include "slate/util/fs.hpp"

namespace slate::test {
namespace {

struct ArchiveWriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteDeleter>;

struct ArchiveEntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryDeleter>;

[[noreturn]] void fail(archive* a, const std::string& what) {
    const char* why = archive_error_string(a);
    throw std::runtime_error("hostile_deb: " + what + (why ? std::string(": ") + why : std::string()));
}

la_ssize_t append_to_string(archive*, void* client, const void* data, std::size_t size) {
    static_cast<std::string*>(client)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
}

// A writer whose output is appended to `out`; `configure` picks format and filters.
template <typename Configure>
ArchiveWriter open_writer(std::string& out, Configure configure) {
    ArchiveWriter writer(archive_write_new());
    if (!writer) throw std::runtime_error("hostile_deb: out of memory");
    configure(writer.get());
    if (archive_write_open(writer.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK) {
        fail(writer.get(), "cannot open writer");
    }
    return writer;
}

void finish(ArchiveWriter& writer) {
    if (archive_write_close(writer.get()) != ARCHIVE_OK) fail(writer.get(), "cannot close writer");
}

void add_filter(archive* a, DebCompression compression) {
    int rc = ARCHIVE_OK;
    switch (compression) {
    case DebCompression::None: break;
    case DebCompression::Gzip:
        rc = archive_write_add_filter_gzip(a);
        if (rc == ARCHIVE_OK) rc = archive_write_set_filter_option(a, "gzip", "timestamp", nullptr);
        break;
    case DebCompression::Xz: rc = archive_write_add_filter_xz(a); break;
    case DebCompression::Zstd: rc = archive_write_add_filter_zstd(a); break;
    case DebCompression::Bzip2: rc = archive_write_add_filter_bzip2(a); break;
    }
    if (rc != ARCHIVE_OK) fail(a, "cannot add compression filter");
}

unsigned file_type(TarItem::Kind kind) {
    switch (kind) {
    case TarItem::Kind::File: return AE_IFREG;
    case TarItem::Kind::Hardlink: return AE_IFREG;
    case TarItem::Kind::Directory: return AE_IFDIR;
    case TarItem::Kind::Symlink: return AE_IFLNK;
    case TarItem::Kind::CharDevice: return AE_IFCHR;
    case TarItem::Kind::BlockDevice: return AE_IFBLK;
    case TarItem::Kind::Fifo: return AE_IFIFO;
    case TarItem::Kind::Socket: return AE_IFSOCK;
    }
    return AE_IFREG;
}

}  // namespace

std::string compression_suffix(DebCompression compression) {
    switch (compression) {
    case DebCompression::None: return "";
    case DebCompression::Gzip: return ".gz";
    case DebCompression::Xz: return ".xz";
    case DebCompression::Zstd: return ".zst";
    case DebCompression::Bzip2: return ".bz2";
    }
    return "";
}

TarItem TarItem::file(std::string name, std::string content, unsigned mode) {
    TarItem item;
    item.name = std::move(name);
    item.content = std::move(content);
    item.mode = mode;
    return item;
}

TarItem TarItem::directory(std::string name, unsigned mode) {
    TarItem item;
    item.kind = Kind::Directory;
    item.name = std::move(name);
    item.mode = mode;
    return item;
}

TarItem TarItem::symlink(std::string name, std::string target) {
    TarItem item;
    item.kind = Kind::Symlink;
    item.name = std::move(name);
    item.link = std::move(target);
    item.mode = 0777;
    return item;
}

TarItem TarItem::hardlink(std::string name, std::string target) {
    TarItem item;
    item.kind = Kind::Hardlink;
    item.name = std::move(name);
    item.link = std::move(target);
    return item;
}

TarItem TarItem::special(Kind kind, std::string name, unsigned major, unsigned minor) {
    TarItem item;
    item.kind = kind;
    item.name = std::move(name);
    item.dev_major = major;
    item.dev_minor = minor;
    return item;
}

std::string make_tar(const std::vector<TarItem>& items, DebCompression compression, TarFormat format) {
    std::string out;
    ArchiveWriter writer = open_writer(out, [&](archive* a) {
        if (format == TarFormat::Gnu) {
            archive_write_set_format_gnutar(a);
        } else {
            archive_write_set_format_pax_restricted(a);
        }
        add_filter(a, compression);
        // libarchive pads its output to 10 KiB records after compression;
        // zero bytes after a compressed stream are garbage to a zstd reader.
        if (compression != DebCompression::None) archive_write_set_bytes_in_last_block(a, 1);
    });
    for (const TarItem& item : items) {
        ArchiveEntry entry(archive_entry_new());
        // The "raw" setters keep the bytes as given, whatever the locale.
        archive_entry_copy_pathname(entry.get(), item.name.c_str());
        archive_entry_set_filetype(entry.get(), file_type(item.kind));
        archive_entry_set_perm(entry.get(), item.mode);
        archive_entry_set_uid(entry.get(), item.uid);
        archive_entry_set_gid(entry.get(), item.gid);
        archive_entry_set_mtime(entry.get(), item.mtime, 0);
        archive_entry_set_size(entry.get(), 0);
        switch (item.kind) {
        case TarItem::Kind::File: archive_entry_set_size(entry.get(), static_cast<la_int64_t>(item.content.size())); break;
        case TarItem::Kind::Symlink: archive_entry_copy_symlink(entry.get(), item.link.c_str()); break;
        case TarItem::Kind::Hardlink: archive_entry_copy_hardlink(entry.get(), item.link.c_str()); break;
        case TarItem::Kind::CharDevice:
        case TarItem::Kind::BlockDevice:
            archive_entry_set_rdevmajor(entry.get(), item.dev_major);
            archive_entry_set_rdevminor(entry.get(), item.dev_minor);
            break;
        default: break;
        }
        // ARCHIVE_WARN: a name that is not valid in the C locale, written as is.
        int rc = archive_write_header(writer.get(), entry.get());
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) fail(writer.get(), "cannot write tar header for " + item.name);
        if (item.kind == TarItem::Kind::File && !item.content.empty()) {
            la_ssize_t n = archive_write_data(writer.get(), item.content.data(), item.content.size());
            if (n != static_cast<la_ssize_t>(item.content.size())) fail(writer.get(), "cannot write " + item.name);
        }
    }
    finish(writer);
    return out;
}

std::string make_ar(const std::vector<ArMember>& members) {
    std::string out;
    ArchiveWriter writer = open_writer(out, [](archive* a) {
        archive_write_set_format_ar_bsd(a);
        archive_write_set_bytes_in_last_block(a, 1);  // no padding after the last member
    });
    for (const ArMember& member : members) {
        ArchiveEntry entry(archive_entry_new());
        archive_entry_copy_pathname(entry.get(), member.name.c_str());
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_perm(entry.get(), 0644);
        archive_entry_set_mtime(entry.get(), 1700000000, 0);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(member.data.size()));
        if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK) {
            fail(writer.get(), "cannot write ar header for " + member.name);
        }
        if (!member.data.empty() &&
            archive_write_data(writer.get(), member.data.data(), member.data.size()) !=
                static_cast<la_ssize_t>(member.data.size())) {
            fail(writer.get(), "cannot write ar member " + member.name);
        }
    }
    finish(writer);
    return out;
}

std::string DebSpec::control_text() const {
    return "Package: " + package + "\nVersion: " + version + "\nArchitecture: " + architecture +
           "\nMaintainer: Slate Tests <tests@slate.invalid>\nDescription: " + package +
           ", a package built by slate's tests\n";
}

std::vector<ArMember> deb_members(const DebSpec& spec) {
    std::vector<TarItem> control{TarItem::directory("./"), TarItem::file("./control", spec.control_text())};
    control.insert(control.end(), spec.extra_control.begin(), spec.extra_control.end());
    std::vector<TarItem> data;
    if (spec.root_entry) data.push_back(TarItem::directory("./"));
    data.insert(data.end(), spec.data.begin(), spec.data.end());
    return {
        {"debian-binary", "2.0\n"},
        {"control.tar" + compression_suffix(spec.control_compression),
         make_tar(control, spec.control_compression, spec.format)},
        {"data.tar" + compression_suffix(spec.data_compression), make_tar(data, spec.data_compression, spec.format)},
    };
}

std::string make_deb(const DebSpec& spec) { return make_ar(deb_members(spec)); }

std::filesystem::path write_deb(const std::filesystem::path& path, const DebSpec& spec) {
    util::write_file_atomic(path, make_deb(spec));
    return path;
}

}  // namespace slate::test
