// Reading a binary package's changelog out of its .deb (changelog.hpp).
#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "slate/deb/changelog.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "util/archive_handle.hpp"

namespace slate::deb {
namespace {

// ---- Changelogs in .deb files -------------------------------------------------

constexpr std::size_t MaxChangelogBytes = 64u << 20;

const char* const CorruptHint =
    "The file is truncated, corrupt or not a Debian package. Delete it from the cache so that it is downloaded "
    "again; if the error persists, the package in the archive is broken.";

// "./usr/share/doc/x/" -> "usr/share/doc/x"; ".." segments are resolved
// lexically ("" when they climb above the root).
std::string normalise(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view segment = path.substr(start, end - start);
        if (segment == "..") {
            if (segments.empty()) return {};
            segments.pop_back();
        } else if (!segment.empty() && segment != ".") {
            segments.push_back(segment);
        }
        start = end + 1;
    }
    std::string out;
    for (auto segment : segments) {
        if (!out.empty()) out += '/';
        out += segment;
    }
    return out;
}

// The package whose doc directory `target` (a symlink at `link`, both in
// image-root terms) points into: with `file` empty, "usr/share/doc/libssl3"
// gives "libssl3"; with `file` "changelog.Debian.gz",
// "usr/share/doc/libssl3/changelog.Debian.gz" does. "" otherwise.
std::string doc_package_of_link(std::string_view link, std::string_view target, std::string_view file) {
    std::string resolved;
    if (target.starts_with('/')) {
        resolved = normalise(target);
    } else {
        auto slash = link.rfind('/');
        std::string dir(link.substr(0, slash == std::string_view::npos ? 0 : slash));
        resolved = normalise(dir + "/" + std::string(target));
    }
    constexpr std::string_view Doc = "usr/share/doc/";
    if (!resolved.starts_with(Doc)) return {};
    std::string_view rest = std::string_view(resolved).substr(Doc.size());
    if (!file.empty()) {
        if (!rest.ends_with(file) || rest.size() <= file.size() || rest[rest.size() - file.size() - 1] != '/') return {};
        rest.remove_suffix(file.size() + 1);
    }
    if (rest.empty() || rest.find('/') != std::string_view::npos) return {};
    return std::string(rest);
}

std::string gunzip(std::string_view data, const std::string& what) {
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw Error(ErrorCode::Internal, "zlib cannot be initialised");
    struct End {
        z_stream* z;
        ~End() { inflateEnd(z); }
    } end{&z};
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    char buffer[64 * 1024];
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(buffer);
        z.avail_out = sizeof buffer;
        int rc = inflate(&z, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - z.avail_out);
        if (out.size() > MaxChangelogBytes)
            throw Error(ErrorCode::Parse, fmt::format("{} is larger than {} MiB uncompressed", what, MaxChangelogBytes >> 20),
                        CorruptHint);
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0) return out;
            inflateReset(&z);  // concatenated gzip members, as gzip(1) reads them
            continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            throw Error(ErrorCode::Parse, fmt::format("{} is not valid gzip data ({})", what, z.msg ? z.msg : "corrupt"),
                        CorruptHint);
        if (rc == Z_BUF_ERROR && z.avail_in == 0)
            throw Error(ErrorCode::Parse, fmt::format("{} is truncated", what), CorruptHint);
    }
}

// Feeds the current member of the outer (ar) archive to the inner (tar) reader.
la_ssize_t read_member_block(archive*, void* client, const void** buffer) {
    auto* outer = static_cast<archive*>(client);
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(outer, buffer, &size, &offset);
    if (rc == ARCHIVE_EOF) return 0;
    if (rc != ARCHIVE_OK) return -1;
    return static_cast<la_ssize_t>(size);
}

// The filter a data.tar member's name announces (only that one is enabled, so
// libarchive never runs an external program); false for other names.
bool enable_data_filter(archive* a, std::string_view member) {
    if (!member.starts_with("data.tar")) return false;
    std::string_view suffix = member.substr(8);
    if (suffix == ".gz") archive_read_support_filter_gzip(a);
    else if (suffix == ".xz") archive_read_support_filter_xz(a);
    else if (suffix == ".zst") archive_read_support_filter_zstd(a);
    else if (suffix == ".bz2") archive_read_support_filter_bzip2(a);
    else if (suffix == ".lzma") archive_read_support_filter_lzma(a);
    else if (!suffix.empty()) return false;
    return true;
}

class DebChangelogReader {
public:
    DebChangelogReader(std::string_view package, bool native, const std::string& name)
        : m_doc("usr/share/doc/" + std::string(package)), m_native(native), m_name(name) {}

    DebChangelog read(std::string_view bytes) {
        util::ArchiveReader ar(archive_read_new());
        archive_read_support_format_ar(ar.get());
        if (archive_read_open_memory(ar.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
            throw corrupt("not an ar archive", ar.get());
        archive_entry* entry = nullptr;
        for (;;) {
            int rc = archive_read_next_header(ar.get(), &entry);
            if (rc == ARCHIVE_EOF) break;
            if (rc != ARCHIVE_OK) throw corrupt("corrupt ar archive", ar.get());
            const char* raw = archive_entry_pathname(entry);
            std::string_view member = raw ? raw : "";
            if (member.starts_with("data.tar")) return read_data(ar.get(), member);
        }
        throw corrupt("no data.tar member (the file may be truncated)");
    }

private:
    static constexpr std::string_view DebianName = "changelog.Debian.gz";
    static constexpr std::string_view NativeName = "changelog.gz";

    Error corrupt(const std::string& what, archive* a = nullptr) const {
        std::string message = fmt::format("cannot read {}: {}", m_name, what);
        if (a) {
            const char* why = archive_error_string(a);
            if (why && *why) message += fmt::format(" ({})", why);
        }
        return Error(ErrorCode::Parse, message, CorruptHint);
    }

    // Reads data.tar up to the changelog.Debian.gz (or to its end, keeping a
    // native package's changelog.gz in case there is no changelog.Debian.gz).
    DebChangelog read_data(archive* outer, std::string_view member) {
        util::ArchiveReader tar(archive_read_new());
        archive_read_support_format_tar(tar.get());
        if (!enable_data_filter(tar.get(), member)) throw corrupt(fmt::format("unknown data member \"{}\"", member));
        if (archive_read_open(tar.get(), outer, nullptr, read_member_block, nullptr) != ARCHIVE_OK)
            throw corrupt(fmt::format("cannot open {}", member), tar.get());
        const std::string debian = m_doc + "/" + std::string(DebianName);
        const std::string native = m_doc + "/" + std::string(NativeName);
        std::optional<DebChangelog> fallback;  // from changelog.gz
        archive_entry* entry = nullptr;
        for (;;) {
            int rc = archive_read_next_header(tar.get(), &entry);
            if (rc == ARCHIVE_EOF) break;
            if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) throw corrupt(fmt::format("corrupt {}", member), tar.get());
            const char* raw = archive_entry_pathname(entry);
            std::string path = normalise(raw ? raw : "");
            const auto type = archive_entry_filetype(entry);
            const char* link = archive_entry_symlink(entry);
            if (path == m_doc && type == AE_IFLNK && link) {
                // The whole doc directory lives in another package.
                return elsewhere(doc_package_of_link(path, link, ""));
            }
            const bool is_debian = path == debian;
            if (!is_debian && !(m_native && path == native)) continue;
            const std::string_view file = is_debian ? DebianName : NativeName;
            DebChangelog result;
            if (type == AE_IFLNK && link) {
                result = elsewhere(doc_package_of_link(path, link, file));
            } else if (type == AE_IFREG && !archive_entry_hardlink(entry)) {
                // (A hard link's bytes belong to an earlier entry that was not kept:
                // dpkg-deb never makes one for a changelog, so it counts as missing.)
                result = found(read_entry(tar.get(), entry, path), path);
            }
            if (is_debian) return result;
            fallback = std::move(result);
        }
        return fallback ? std::move(*fallback) : DebChangelog{};
    }

    DebChangelog elsewhere(std::string package) const {
        DebChangelog result;
        if (package.empty()) return result;  // a link out of /usr/share/doc: nothing to follow
        result.status = DebChangelog::Status::Elsewhere;
        result.elsewhere = std::move(package);
        return result;
    }

    DebChangelog found(const std::string& compressed, const std::string& path) const {
        DebChangelog result;
        result.status = DebChangelog::Status::Found;
        result.path = "/" + path;
        result.text = gunzip(compressed, fmt::format("{}: /{}", m_name, path));
        return result;
    }

    std::string read_entry(archive* tar, archive_entry* entry, const std::string& path) {
        if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > static_cast<la_int64_t>(MaxChangelogBytes))
            throw corrupt(fmt::format("/{} is larger than {} MiB", path, MaxChangelogBytes >> 20));
        std::string data;
        char buffer[64 * 1024];
        for (;;) {
            la_ssize_t n = archive_read_data(tar, buffer, sizeof buffer);
            if (n == 0) break;
            if (n < 0) throw corrupt(fmt::format("cannot read /{}", path), tar);
            data.append(buffer, static_cast<std::size_t>(n));
            if (data.size() > MaxChangelogBytes) throw corrupt(fmt::format("/{} is larger than {} MiB", path, MaxChangelogBytes >> 20));
        }
        return data;
    }

    std::string m_doc;
    bool m_native;
    const std::string& m_name;
};

}  // namespace

DebChangelog read_deb_changelog(const std::filesystem::path& path, std::string_view package, bool native,
                                const std::string& display_name) {
    util::MappedFile file(path);
    return DebChangelogReader(package, native, display_name).read(file.view());
}

bool is_native_version(std::string_view version) { return version.find('-') == std::string_view::npos; }

}  // namespace slate::deb
