// Deterministic POSIX tar (pax interchange format, which is ustar plus 'x'
// extended headers). Every byte written is a function of the entries and the
// epoch only: no clock, umask, locale, time zone, user database or pid is read.
//
// Layout of a ustar header block (POSIX.1-2001, "ustar Interchange Format"):
//   name[100] mode[8] uid[8] gid[8] size[12] mtime[12] chksum[8] typeflag[1]
//   linkname[100] magic[6]="ustar\0" version[2]="00" uname[32] gname[32]
//   devmajor[8] devminor[8] prefix[155] pad[12]
#include "slate/oci/tar.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "slate/error.hpp"

namespace slate::oci {
namespace {

constexpr std::size_t BlockSize = 512;
using Block = std::array<char, BlockSize>;

// Field offsets and widths.
constexpr std::size_t NameOff = 0, NameLen = 100;
constexpr std::size_t ModeOff = 100, UidOff = 108, GidOff = 116, IdLen = 8;
constexpr std::size_t SizeOff = 124, MtimeOff = 136, BigLen = 12;
constexpr std::size_t ChksumOff = 148, ChksumLen = 8;
constexpr std::size_t TypeOff = 156;
constexpr std::size_t LinkOff = 157, LinkLen = 100;
constexpr std::size_t MagicOff = 257, VersionOff = 263;
constexpr std::size_t DevMajorOff = 329, DevMinorOff = 337;
constexpr std::size_t PrefixOff = 345, PrefixLen = 155;

// The largest value an octal field of `width` bytes holds: width-1 digits and
// a terminating NUL.
constexpr std::uint64_t octal_max(std::size_t width) { return (std::uint64_t{1} << (3 * (width - 1))) - 1; }

// Writes `value` as width-1 zero-padded octal digits and a NUL.
void put_octal(Block& block, std::size_t offset, std::size_t width, std::uint64_t value) {
    for (std::size_t i = width - 1; i-- > 0;) {
        block[offset + i] = static_cast<char>('0' + (value & 7));
        value >>= 3;
    }
    block[offset + width - 1] = '\0';
}

void put_bytes(Block& block, std::size_t offset, std::string_view bytes) {
    if (bytes.empty()) return;  // an empty view may have a null data()
    std::memcpy(block.data() + offset, bytes.data(), bytes.size());
}

char type_flag(TarType type) {
    switch (type) {
        case TarType::File: return '0';
        case TarType::Hardlink: return '1';
        case TarType::Symlink: return '2';
        case TarType::Directory: return '5';
    }
    return '0';
}

// The prefix/name split of ustar: a path longer than the name field (100)
// is cut at a '/' so that the part before it fits in prefix (155) and the
// part after it, non-empty, in name (100). ok is false when no cut works and
// the path must go into a pax record.
struct SplitName {
    bool ok = false;
    std::string_view prefix;
    std::string_view name;
};

SplitName split_ustar_name(std::string_view path) {
    if (path.size() <= NameLen) return {true, {}, path};
    // Try cuts from the rightmost usable '/' leftwards: each step left makes
    // the name longer, so the first cut whose name is too long ends the
    // search. A directory's trailing '/' cannot be the cut (empty name).
    std::size_t cut = path.rfind('/', std::min(path.size() - 1, PrefixLen));
    for (; cut != std::string_view::npos && cut > 0; cut = path.rfind('/', cut - 1)) {
        std::string_view name = path.substr(cut + 1);
        if (name.size() > NameLen) break;
        if (name.empty()) continue;
        return {true, path.substr(0, cut), name};
    }
    return {};
}

// One "LEN key=value\n" record; LEN counts the whole record including itself.
void append_pax_record(std::string& out, std::string_view key, std::string_view value) {
    std::size_t body = 1 + key.size() + 1 + value.size() + 1;  // ' ' key '=' value '\n'
    // The length field counts its own digits: iterate to the fixed point
    // (e.g. a body of 98 bytes needs 3 digits: "101 ...").
    std::size_t total = body + std::to_string(body).size();
    while (body + std::to_string(total).size() != total) total = body + std::to_string(total).size();
    out += std::to_string(total);
    out += ' ';
    out += key;
    out += '=';
    out += value;
    out += '\n';
}

// A name for the 'x' header itself, shown only by readers that do not know
// pax: "<dir>/PaxHeaders/<base>" as libarchive does, cut to fit the name field.
// A fixed function of the path: GNU tar puts its pid here, which we must not.
std::string pax_header_name(std::string_view path) {
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    std::size_t slash = path.rfind('/');
    std::string_view dir = slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash + 1);
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    std::string name = std::string(dir) + "PaxHeaders/" + std::string(base);
    if (name.size() <= NameLen) return name;
    name = "PaxHeaders/" + std::string(base);
    if (name.size() > NameLen) name.resize(NameLen);
    return name;
}

void check_relative_path(std::string_view path, std::string_view what) {
    auto fail = [&](std::string_view why) {
        return Error(ErrorCode::Internal,
                     "cannot write tar entry " + std::string(what) + " '" + std::string(path) + "': " + std::string(why),
                     "tar entries must be relative image paths without '.', '..' or empty segments");
    };
    if (path.empty()) throw fail("the path is empty (the image root is not written as an entry)");
    if (path.find('\0') != std::string_view::npos) throw fail("it contains a NUL byte");
    if (path.front() == '/') throw fail("it is absolute");
    if (path.back() == '/') throw fail("it ends with '/'");
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view segment = path.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == "..")
            throw fail("it has a '" + std::string(segment) + "' segment");
        start = end + 1;
    }
}

void fill_checksum(Block& block) {
    // The checksum is the sum of all header bytes as unsigned values, with
    // the checksum field itself counted as eight spaces. Written as six octal
    // digits, NUL, space (the form every reader accepts).
    std::memset(block.data() + ChksumOff, ' ', ChksumLen);
    std::uint32_t sum = 0;
    for (char c : block) sum += static_cast<unsigned char>(c);
    put_octal(block, ChksumOff, 7, sum);
    block[ChksumOff + 7] = ' ';
}

// A ustar header with everything but name/prefix/linkname/checksum filled.
Block base_header(char type, std::uint32_t mode, std::uint64_t uid, std::uint64_t gid, std::uint64_t size,
                  std::uint64_t mtime) {
    Block block{};
    put_octal(block, ModeOff, IdLen, mode & 07777);
    put_octal(block, UidOff, IdLen, uid);
    put_octal(block, GidOff, IdLen, gid);
    put_octal(block, SizeOff, BigLen, size);
    put_octal(block, MtimeOff, BigLen, mtime);
    block[TypeOff] = type;
    put_bytes(block, MagicOff, std::string_view("ustar\0", 6));
    put_bytes(block, VersionOff, "00");
    // uname and gname stay empty: owners are numeric only. Device numbers are
    // zero for every type written here.
    put_octal(block, DevMajorOff, IdLen, 0);
    put_octal(block, DevMinorOff, IdLen, 0);
    return block;
}

std::string_view block_view(const Block& block) { return {block.data(), block.size()}; }

}  // namespace

TarWriter::TarWriter(ByteSink sink, std::int64_t source_date_epoch) : m_sink(std::move(sink)), m_epoch(source_date_epoch) {
    if (source_date_epoch < 0)
        throw Error(ErrorCode::Usage, "invalid SOURCE_DATE_EPOCH " + std::to_string(source_date_epoch),
                    "give a number of seconds since 1970-01-01 UTC (0 or more)");
}

void TarWriter::emit(std::string_view bytes) {
    if (bytes.empty()) return;
    m_sink(bytes);
    m_written += bytes.size();
}

void TarWriter::add(const TarEntry& entry) {
    if (m_finished) throw Error(ErrorCode::Internal, "TarWriter::add after finish for '" + entry.path + "'");
    check_relative_path(entry.path, "path");
    if (entry.type == TarType::Hardlink) check_relative_path(entry.link_target, "hardlink target");
    if (entry.type == TarType::Symlink && entry.link_target.empty())
        throw Error(ErrorCode::Internal, "cannot write tar entry '" + entry.path + "': the symlink has no target");
    if (entry.link_target.find('\0') != std::string::npos)
        throw Error(ErrorCode::Internal, "cannot write tar entry '" + entry.path + "': the link target has a NUL byte");

    const std::string name = entry.type == TarType::Directory ? entry.path + "/" : entry.path;
    const std::string_view content =
        entry.type == TarType::File && entry.content ? std::string_view(*entry.content) : std::string_view{};
    const std::int64_t mtime = std::min(entry.mtime, m_epoch);

    // Everything a ustar field cannot hold goes into a pax 'x' header, in
    // this fixed key order. Never atime or ctime: they would vary per build.
    std::string pax;
    const SplitName split = split_ustar_name(name);
    const bool long_link = entry.link_target.size() > LinkLen;
    const bool big_uid = entry.uid > octal_max(IdLen);
    const bool big_gid = entry.gid > octal_max(IdLen);
    const bool big_size = content.size() > octal_max(BigLen);
    const bool odd_mtime = mtime < 0;  // the epoch bounds it above; only pre-1970 needs pax
    if (big_gid) append_pax_record(pax, "gid", std::to_string(entry.gid));
    if (long_link) append_pax_record(pax, "linkpath", entry.link_target);
    if (odd_mtime) append_pax_record(pax, "mtime", std::to_string(mtime));
    if (!split.ok) append_pax_record(pax, "path", name);
    if (big_size) append_pax_record(pax, "size", std::to_string(content.size()));
    if (big_uid) append_pax_record(pax, "uid", std::to_string(entry.uid));

    const std::uint64_t header_mtime = odd_mtime ? 0 : static_cast<std::uint64_t>(mtime);
    if (!pax.empty()) {
        Block xheader = base_header('x', 0644, 0, 0, pax.size(), header_mtime);
        put_bytes(xheader, NameOff, pax_header_name(name));
        fill_checksum(xheader);
        emit(block_view(xheader));
        emit(pax);
        pad(pax.size());
    }

    Block header = base_header(type_flag(entry.type), entry.mode, big_uid ? 0 : entry.uid, big_gid ? 0 : entry.gid,
                               big_size ? 0 : content.size(), header_mtime);
    if (split.ok) {
        put_bytes(header, NameOff, split.name);
        put_bytes(header, PrefixOff, split.prefix);
    } else {
        // Readers that ignore pax still get something: the path's tail.
        std::string_view tail = std::string_view(name).substr(name.size() - NameLen);
        put_bytes(header, NameOff, tail);
    }
    if (!entry.link_target.empty() && entry.type != TarType::File && entry.type != TarType::Directory)
        put_bytes(header, LinkOff, std::string_view(entry.link_target).substr(0, LinkLen));
    fill_checksum(header);
    emit(block_view(header));
    emit(content);
    pad(content.size());
}

void TarWriter::pad(std::uint64_t size) {
    static constexpr Block Zero{};
    std::size_t rest = static_cast<std::size_t>(size % BlockSize);
    if (rest != 0) emit(std::string_view(Zero.data(), BlockSize - rest));
}

void TarWriter::finish() {
    if (m_finished) throw Error(ErrorCode::Internal, "TarWriter::finish called twice");
    m_finished = true;
    static constexpr std::array<char, 2 * BlockSize> End{};
    emit(std::string_view(End.data(), End.size()));
}

}  // namespace slate::oci
