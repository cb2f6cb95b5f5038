#include "slate/deb/deb_file.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "util/archive_handle.hpp"

namespace slate::deb {
namespace {

using util::ArchiveReader;


const char* const ParseHint =
    "The file is truncated, corrupt or not a Debian package. Delete it from the cache so that it is downloaded "
    "again; if the error persists, the package in the archive is broken.";
const char* const IntegrityHint =
    "A Debian package names its files relative to the image root and never reaches outside it. This package is "
    "malformed or hostile; slate refuses to install it. Remove it from the image spec or report it to its "
    "maintainers.";

// Compressions of the inner tar members, from the member name's suffix. Only
// the filter the name announces is enabled, so libarchive never falls back to
// running an external decompressor and a mislabelled member is an error.
enum class Filter { None, Gzip, Xz, Zstd, Bzip2, Lzma };

struct Suffix {
    std::string_view suffix;
    Filter filter;
    bool control_allowed;  // dpkg accepts fewer compressions for control.tar
};

constexpr Suffix Suffixes[] = {
    {"", Filter::None, true},      {".gz", Filter::Gzip, true},    {".xz", Filter::Xz, true},
    {".zst", Filter::Zstd, true},  {".bz2", Filter::Bzip2, false}, {".lzma", Filter::Lzma, false},
};

// The filter for "<stem><suffix>", or nullopt when the name is something else.
std::optional<Filter> member_filter(std::string_view name, std::string_view stem, bool control) {
    if (!name.starts_with(stem)) return std::nullopt;
    std::string_view rest = name.substr(stem.size());
    for (const Suffix& s : Suffixes) {
        if (rest == s.suffix && (s.control_allowed || !control)) return s.filter;
    }
    return std::nullopt;
}

void enable_filter(archive* a, Filter filter) {
    switch (filter) {
    case Filter::None: break;
    case Filter::Gzip: archive_read_support_filter_gzip(a); break;
    case Filter::Xz: archive_read_support_filter_xz(a); break;
    case Filter::Zstd: archive_read_support_filter_zstd(a); break;
    case Filter::Bzip2: archive_read_support_filter_bzip2(a); break;
    case Filter::Lzma: archive_read_support_filter_lzma(a); break;
    }
}

constexpr std::string_view ArMagic = "!<arch>\n";

enum class PathProblem { None, Absolute, DotDot };

// Normalises a tar member name into `out` (see DebEntry::path). "" is the root.
// Leading "./" is how dpkg-deb writes names; anything that still starts with
// "/" after it is absolute.
PathProblem normalise_path(std::string_view raw, std::string& out) {
    out.clear();
    while (raw.starts_with("./")) raw.remove_prefix(2);
    if (raw == ".") return PathProblem::None;
    if (raw.starts_with('/')) return PathProblem::Absolute;
    std::size_t start = 0;
    while (start <= raw.size()) {
        std::size_t end = raw.find('/', start);
        if (end == std::string_view::npos) end = raw.size();
        std::string_view segment = raw.substr(start, end - start);
        if (segment == "..") return PathProblem::DotDot;
        if (!segment.empty() && segment != ".") {
            if (!out.empty()) out += '/';
            out += segment;
        }
        start = end + 1;
    }
    return PathProblem::None;
}

// True when the relative symlink target, followed lexically from the link's
// directory, climbs above the root ("usr/bin/x -> ../../../etc").
bool climbs_above_root(std::string_view link_path, std::string_view target) {
    if (target.starts_with('/')) return false;
    long depth = static_cast<long>(std::count(link_path.begin(), link_path.end(), '/'));
    std::size_t start = 0;
    while (start <= target.size()) {
        std::size_t end = target.find('/', start);
        if (end == std::string_view::npos) end = target.size();
        std::string_view segment = target.substr(start, end - start);
        if (segment == "..") {
            if (--depth < 0) return true;
        } else if (!segment.empty() && segment != ".") {
            ++depth;
        }
        start = end + 1;
    }
    return false;
}

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using PathIndex = std::unordered_map<std::string, std::size_t, StringHash, std::equal_to<>>;

// Reads one .deb held in memory; `m_name` names it in every error.
class DebReader {
public:
    DebReader(std::string_view bytes, const std::string& name) : m_bytes(bytes), m_name(name) {}

    DebFile read() {
        ArchiveReader ar = open_memory(
            m_bytes, [](archive* a) { archive_read_support_format_ar(a); }, not_ar_message());
        enum class Stage { DebianBinary, Control, Data, Done } stage = Stage::DebianBinary;
        DebFile deb;
        archive_entry* entry = nullptr;
        while (stage != Stage::Done) {
            int rc = archive_read_next_header(ar.get(), &entry);
            if (rc == ARCHIVE_EOF) break;
            if (rc != ARCHIVE_OK) {
                if (m_members_seen == 0) throw parse_error(not_ar_message(), ar.get());
                throw parse_error("corrupt or truncated ar archive after member " + m_last_member, ar.get());
            }
            const char* raw_name = archive_entry_pathname(entry);
            std::string member = raw_name ? raw_name : "";
            ++m_members_seen;
            m_last_member = member;
            if (stage == Stage::DebianBinary) {
                if (member != "debian-binary") {
                    throw parse_error("the first member is \"" + member + "\", not debian-binary: not a Debian package");
                }
                check_format_version(read_member(ar.get(), member));
                stage = Stage::Control;
                continue;
            }
            if (member.starts_with('_')) continue;  // reserved for extensions, ignored by dpkg too
            if (stage == Stage::Control) {
                auto filter = member_filter(member, "control.tar", true);
                if (!filter) throw parse_error("expected a control.tar member, found \"" + member + "\"");
                read_control(read_member(ar.get(), member), *filter, member, deb);
                stage = Stage::Data;
            } else {
                auto filter = member_filter(member, "data.tar", false);
                if (!filter) throw parse_error("expected a data.tar member, found \"" + member + "\"");
                read_data(read_member(ar.get(), member), *filter, member, deb);
                stage = Stage::Done;  // trailing members are ignored, as deb(5) says
            }
        }
        if (stage == Stage::DebianBinary) {
            // libarchive ends an ar archive quietly at a partial member header.
            throw parse_error(m_bytes.size() > ArMagic.size() ? "no debian-binary member (the file is truncated)"
                                                              : "not a Debian package (empty ar archive)");
        }
        if (stage == Stage::Control) throw parse_error("no control.tar member (the file may be truncated)");
        if (stage == Stage::Data) throw parse_error("no data.tar member (the file may be truncated)");
        return deb;
    }

private:
    std::string_view m_bytes;
    const std::string& m_name;
    std::size_t m_members_seen = 0;
    std::string m_last_member;
    std::string m_member_storage;  // a member's bytes when libarchive hands them over in pieces
    PathIndex m_index;             // normalised data path -> index in DebFile::entries

    std::string not_ar_message() const {
        return m_bytes.starts_with(ArMagic) ? "corrupt or truncated ar archive"
                                            : "not a Debian package (not an ar archive)";
    }

    Error parse_error(const std::string& what, archive* a = nullptr) const {
        std::string message = "cannot read " + m_name + ": " + what;
        if (a) {
            const char* why = archive_error_string(a);
            if (why && *why) message += std::string(" (") + why + ")";
        }
        return Error(ErrorCode::Parse, message, ParseHint);
    }

    Error integrity_error(const std::string& what) const {
        return Error(ErrorCode::Integrity, m_name + ": " + what, IntegrityHint);
    }

    // libarchive recognises the format (and the compression) when opening, so
    // `unreadable` is the message for input that is not what it should be.
    template <typename Configure>
    ArchiveReader open_memory(std::string_view bytes, Configure configure, const std::string& unreadable) const {
        ArchiveReader reader(archive_read_new());
        if (!reader) throw Error(ErrorCode::Internal, "libarchive: out of memory");
        configure(reader.get());
        if (archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
            throw parse_error(unreadable, reader.get());
        }
        return reader;
    }

    // The current ar member's bytes. Reading from memory, libarchive hands out
    // pointers into m_bytes, so a member normally costs no copy; blocks from
    // anywhere else (a libarchive buffer, reused by the next call) are copied
    // at once. The view is valid until the next call.
    std::string_view read_member(archive* ar, const std::string& member) {
        const void* block = nullptr;
        std::size_t size = 0;
        la_int64_t offset = 0;
        std::string_view in_place;  // the member so far, when it is one block of m_bytes
        bool copied = false;
        m_member_storage.clear();
        for (;;) {
            int rc = archive_read_data_block(ar, &block, &size, &offset);
            if (rc == ARCHIVE_EOF) break;
            if (rc != ARCHIVE_OK) throw parse_error("truncated or corrupt member " + member, ar);
            if (static_cast<std::size_t>(offset) != in_place.size() + m_member_storage.size()) {
                throw parse_error("member " + member + " has a hole", ar);
            }
            std::string_view piece(static_cast<const char*>(block), size);
            bool inside = piece.data() >= m_bytes.data() && piece.data() + size <= m_bytes.data() + m_bytes.size();
            if (!copied && in_place.empty() && inside) {
                in_place = piece;
                continue;
            }
            copied = true;
            m_member_storage.append(in_place);
            in_place = {};
            m_member_storage.append(piece);
        }
        return copied ? std::string_view(m_member_storage) : in_place;
    }

    void check_format_version(std::string_view text) const {
        // deb(5): "2.0" today; readers accept a higher minor version and ignore later lines.
        std::string_view line = text.substr(0, text.find('\n'));
        bool ok = line.size() > 2 && line.starts_with("2.") &&
                  std::all_of(line.begin() + 2, line.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!ok || text.find('\n') == std::string_view::npos) {
            std::string shown(line.substr(0, 40));
            throw parse_error("unsupported .deb format version \"" + shown + "\" in debian-binary (slate reads 2.x)");
        }
    }

    // Opens an inner tar member with only its announced filter enabled.
    ArchiveReader open_tar(std::string_view bytes, Filter filter, const std::string& member) const {
        return open_memory(
            bytes,
            [filter](archive* a) {
                archive_read_support_format_tar(a);
                enable_filter(a, filter);
            },
            "corrupt or truncated " + member);
    }

    // Next tar header; false at the end. ARCHIVE_WARN is accepted: libarchive
    // reports it when a PAX UTF-8 name cannot be converted to the C locale,
    // and then keeps the name's bytes as they are, which is what we want.
    bool next_tar_header(archive* tar, archive_entry*& entry, const std::string& member) const {
        int rc = archive_read_next_header(tar, &entry);
        if (rc == ARCHIVE_EOF) return false;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) throw parse_error("corrupt or truncated " + member, tar);
        return true;
    }

    std::shared_ptr<const std::string> read_content(archive* tar, archive_entry* entry, const std::string& member,
                                                    const std::string& path) const {
        la_int64_t declared = archive_entry_size(entry);
        if (declared < 0) throw parse_error(member + ": negative size for " + path);
        auto content = std::make_shared<std::string>();
        auto size = static_cast<std::size_t>(declared);
        // Sizes come from the header: allocate up front only when that is
        // harmless, so a lying header in a tiny file cannot exhaust memory.
        constexpr std::size_t UpFront = std::size_t{256} << 20;
        std::size_t chunk = size <= UpFront ? size : std::size_t{1} << 20;
        std::size_t done = 0;
        while (done < size) {
            std::size_t want = std::min(chunk, size - done);
            content->resize(done + want);
            la_ssize_t n = archive_read_data(tar, content->data() + done, want);
            if (n < 0) throw parse_error("corrupt or truncated " + member + " in " + path, tar);
            if (n == 0) break;
            done += static_cast<std::size_t>(n);
        }
        if (done != size) throw parse_error("truncated " + member + ": " + path + " ends early");
        content->resize(done);
        return content;
    }

    void read_control(std::string_view bytes, Filter filter, const std::string& member, DebFile& deb) const {
        ArchiveReader tar = open_tar(bytes, filter, member);
        archive_entry* entry = nullptr;
        std::string path;
        while (next_tar_header(tar.get(), entry, member)) {
            const char* raw = archive_entry_pathname(entry);
            std::string_view raw_name = raw ? raw : "";
            if (normalise_path(raw_name, path) != PathProblem::None) {
                throw integrity_error(member + " contains the path " + std::string(raw_name) +
                                      ", which is outside the control area");
            }
            if (path.empty() || archive_entry_filetype(entry) == AE_IFDIR) continue;
            if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry)) {
                deb.notes.push_back("ignored " + member + " member " + path + ", which is not a regular file");
                continue;
            }
            deb.control_files[path] = *read_content(tar.get(), entry, member, path);
        }
        auto control = deb.control_files.find("control");
        if (control == deb.control_files.end() || control->second.empty()) {
            throw parse_error(member + " has no control file");
        }
        deb.control = control->second;
    }

    void read_data(std::string_view bytes, Filter filter, const std::string& member, DebFile& deb) {
        ArchiveReader tar = open_tar(bytes, filter, member);
        archive_entry* entry = nullptr;
        m_index.clear();
        while (next_tar_header(tar.get(), entry, member)) {
            DebEntry out;
            const char* raw = archive_entry_pathname(entry);
            std::string raw_name = raw ? raw : "";
            switch (normalise_path(raw_name, out.path)) {
            case PathProblem::Absolute:
                throw integrity_error(member + " contains the absolute path " + raw_name);
            case PathProblem::DotDot:
                throw integrity_error(member + " contains the path " + raw_name + " with a \"..\" segment");
            case PathProblem::None: break;
            }
            if (out.path.empty()) continue;  // the root directory
            if (!classify(entry, out, deb)) continue;
            check_placement(out, deb);
            out.mode = static_cast<std::uint32_t>(archive_entry_perm(entry)) & 07777;
            out.uid = owner_id(archive_entry_uid(entry), "uid", member, out.path);
            out.gid = owner_id(archive_entry_gid(entry), "gid", member, out.path);
            out.mtime = archive_entry_mtime(entry);
            if (out.type == EntryType::File) out.content = read_content(tar.get(), entry, member, out.path);
            m_index.emplace(out.path, deb.entries.size());
            deb.entries.push_back(std::move(out));
        }
    }

    // Sets the entry's type and link target; false when the entry is dropped.
    bool classify(archive_entry* entry, DebEntry& out, DebFile& deb) const {
        if (const char* hardlink = archive_entry_hardlink(entry)) {
            out.type = EntryType::Hardlink;
            resolve_hardlink(out, hardlink, deb);
            return true;
        }
        switch (archive_entry_filetype(entry)) {
        case AE_IFREG: out.type = EntryType::File; return true;
        case AE_IFDIR: out.type = EntryType::Directory; return true;
        case AE_IFLNK: {
            out.type = EntryType::Symlink;
            const char* target = archive_entry_symlink(entry);
            out.link_target = target ? target : "";
            if (out.link_target.empty()) throw integrity_error("symlink " + out.path + " has an empty target");
            if (climbs_above_root(out.path, out.link_target)) {
                throw integrity_error("symlink " + out.path + " -> " + out.link_target + " escapes the image root");
            }
            return true;
        }
        case AE_IFCHR: deb.notes.push_back("dropped character device " + out.path); return false;
        case AE_IFBLK: deb.notes.push_back("dropped block device " + out.path); return false;
        case AE_IFIFO: deb.notes.push_back("dropped FIFO " + out.path); return false;
        case AE_IFSOCK: deb.notes.push_back("dropped socket " + out.path); return false;
        default: throw parse_error("data.tar entry " + out.path + " has an unknown file type");
        }
    }

    // A hardlink must name a regular file that came earlier in this package;
    // a link to a link is resolved to the file, as tar itself would.
    void resolve_hardlink(DebEntry& out, std::string_view raw_target, const DebFile& deb) const {
        std::string target;
        std::string shown = out.path + " -> " + std::string(raw_target);
        if (normalise_path(raw_target, target) != PathProblem::None || target.empty()) {
            throw integrity_error("hardlink " + shown + " escapes the image root");
        }
        auto found = m_index.find(target);
        if (found == m_index.end()) {
            throw integrity_error("hardlink " + shown + " does not point to an earlier file of the package");
        }
        const DebEntry& linked = deb.entries[found->second];
        if (linked.type != EntryType::File && linked.type != EntryType::Hardlink) {
            throw integrity_error("hardlink " + shown + " points to a " +
                                  (linked.type == EntryType::Directory ? "directory" : "symlink") +
                                  ", not a regular file");
        }
        out.link_target = linked.type == EntryType::File ? linked.path : linked.link_target;
        out.content = linked.content;
    }

    // A path may appear once, and only below directories of the package:
    // "usr/x -> /etc" followed by "usr/x/passwd" would write through a symlink.
    void check_placement(const DebEntry& out, const DebFile& deb) const {
        if (m_index.contains(out.path)) throw integrity_error("data.tar contains " + out.path + " twice");
        std::string_view path = out.path;
        for (std::size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
            auto parent = m_index.find(path.substr(0, slash));
            if (parent == m_index.end()) continue;
            EntryType type = deb.entries[parent->second].type;
            if (type != EntryType::Directory) {
                throw integrity_error(out.path + " lies below " + std::string(path.substr(0, slash)) +
                                      ", which the package ships as a " +
                                      (type == EntryType::Symlink ? "symlink" : "file") + ", not a directory");
            }
        }
    }

    std::uint32_t owner_id(la_int64_t id, const char* what, const std::string& member, const std::string& path) const {
        if (id < 0 || id > 0xFFFFFFFFLL) {
            throw parse_error(member + ": " + path + " has an out-of-range " + what + " " + std::to_string(id));
        }
        return static_cast<std::uint32_t>(id);
    }
};

}  // namespace

DebFile parse_deb(std::string_view bytes, const std::string& display_name) {
    return DebReader(bytes, display_name).read();
}

DebFile read_deb(const std::filesystem::path& path, const std::string& display_name) {
    util::MappedFile file(path);
    try {
        return parse_deb(file.view(), display_name);
    } catch (Error& e) {
        e.add_context("while reading " + path.string());
        throw;
    }
}

}  // namespace slate::deb
