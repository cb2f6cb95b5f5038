// Go modules from the build info the Go linker embeds in every binary
// (what `go version -m` prints), read the way Go's debug/buildinfo does.
//
// The build info starts with a 32-byte header, 16-byte aligned:
//   "\xff Go buildinf:" (14 bytes), pointer size (1), flags (1), then
//   - flags & 2 (Go 1.18+): the Go version and the module info follow the
//     header inline, each as a uvarint length and the bytes;
//   - otherwise (Go 1.13-1.17): two pointers (at 16 and 16 + pointer size),
//     in the byte order flags & 1 gives, to Go string headers {data, len}
//     of the version and the module info, found through the program headers.
// The module info is framed by two 16-byte sentinels and is text:
//   path <main package>, mod <path> <version> <sum>, dep ..., => <replacement>,
//   build <key>=<value>.
//
// Every read below is bounds-checked against the file: a damaged binary is a
// problem to report, never an out-of-bounds read.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sbom/language_support.hpp"
#include "slate/sbom/languages.hpp"
#include "slate/sbom/purl.hpp"

namespace slate::sbom {
namespace {

constexpr std::string_view k_magic{"\xff Go buildinf:", 14};
constexpr std::size_t k_header_size = 32;
constexpr std::size_t k_align = 16;
constexpr std::uint32_t k_pt_load = 1;
constexpr std::uint32_t k_pf_x = 1;
constexpr std::uint32_t k_pf_w = 2;
constexpr std::uint32_t k_sht_nobits = 8;

// An unsigned integer of `width` bytes at `offset`, or nullopt past the end.
std::optional<std::uint64_t> read_uint(std::string_view bytes, std::uint64_t offset, unsigned width, bool big) {
    if (offset > bytes.size() || bytes.size() - offset < width) return std::nullopt;
    std::uint64_t value = 0;
    for (unsigned i = 0; i < width; ++i) {
        auto byte = static_cast<std::uint8_t>(bytes[offset + (big ? i : width - 1 - i)]);
        value = (value << 8) | byte;
    }
    return value;
}

// bytes[offset, offset + size), or nullopt when it is not all in the file.
std::optional<std::string_view> slice(std::string_view bytes, std::uint64_t offset, std::uint64_t size) {
    if (offset > bytes.size() || bytes.size() - offset < size) return std::nullopt;
    return bytes.substr(offset, size);
}

struct Segment {
    std::uint64_t vaddr = 0;
    std::uint64_t offset = 0;
    std::uint64_t filesz = 0;
    std::uint32_t flags = 0;
};

// What the build info reader needs of an ELF file.
class Elf {
public:
    // nullopt when `bytes` is not an ELF file with readable headers.
    static std::optional<Elf> open(std::string_view bytes) {
        if (bytes.size() < 52 || !bytes.starts_with("\x7f" "ELF")) return std::nullopt;
        Elf elf;
        elf.m_bytes = bytes;
        if (bytes[4] != 1 && bytes[4] != 2) return std::nullopt;  // ELFCLASS32 / ELFCLASS64
        if (bytes[5] != 1 && bytes[5] != 2) return std::nullopt;  // ELFDATA2LSB / ELFDATA2MSB
        elf.m_is64 = bytes[4] == 2;
        elf.m_big = bytes[5] == 2;
        if (!elf.read_segments()) return std::nullopt;
        elf.read_sections();
        return elf;
    }

    bool big() const { return m_big; }
    const std::optional<std::string_view>& buildinfo_section() const { return m_buildinfo; }

    // The file bytes of the first writable, non-executable PT_LOAD segment
    // (where Go looks when there are no section headers).
    std::optional<std::string_view> data_segment() const {
        for (const Segment& segment : m_segments) {
            if ((segment.flags & (k_pf_x | k_pf_w)) == k_pf_w) return slice(m_bytes, segment.offset, segment.filesz);
        }
        return std::nullopt;
    }

    // `size` bytes at virtual address `address`, when a loaded segment holds
    // them all in the file.
    std::optional<std::string_view> read_address(std::uint64_t address, std::uint64_t size) const {
        for (const Segment& segment : m_segments) {
            if (address < segment.vaddr || address - segment.vaddr >= segment.filesz) continue;
            std::uint64_t within = address - segment.vaddr;
            if (segment.filesz - within < size) return std::nullopt;
            return slice(m_bytes, segment.offset + within, size);
        }
        return std::nullopt;
    }

private:
    std::optional<std::uint64_t> field(std::uint64_t offset, unsigned width) const {
        return read_uint(m_bytes, offset, width, m_big);
    }

    bool read_segments() {
        // e_phoff, e_phentsize, e_phnum
        auto phoff = m_is64 ? field(0x20, 8) : field(0x1c, 4);
        auto phentsize = m_is64 ? field(0x36, 2) : field(0x2a, 2);
        auto phnum = m_is64 ? field(0x38, 2) : field(0x2c, 2);
        if (!phoff || !phentsize || !phnum) return false;
        if (*phentsize < (m_is64 ? 56u : 32u)) return *phnum == 0;
        for (std::uint64_t i = 0; i < *phnum; ++i) {
            std::uint64_t at = *phoff + i * *phentsize;
            auto type = field(at, 4);
            if (!type) return false;
            if (*type != k_pt_load) continue;
            Segment segment;
            auto flags = m_is64 ? field(at + 4, 4) : field(at + 24, 4);
            auto offset = m_is64 ? field(at + 8, 8) : field(at + 4, 4);
            auto vaddr = m_is64 ? field(at + 16, 8) : field(at + 8, 4);
            auto filesz = m_is64 ? field(at + 32, 8) : field(at + 16, 4);
            if (!flags || !offset || !vaddr || !filesz) return false;
            segment.flags = static_cast<std::uint32_t>(*flags);
            segment.offset = *offset;
            segment.vaddr = *vaddr;
            segment.filesz = *filesz;
            m_segments.push_back(segment);
        }
        return true;
    }

    // Finds .go.buildinfo; leaves m_buildinfo empty when the section headers
    // are absent or unreadable.
    void read_sections() {
        auto shoff = m_is64 ? field(0x28, 8) : field(0x20, 4);
        auto shentsize = m_is64 ? field(0x3a, 2) : field(0x2e, 2);
        auto shnum = m_is64 ? field(0x3c, 2) : field(0x30, 2);
        auto shstrndx = m_is64 ? field(0x3e, 2) : field(0x32, 2);
        if (!shoff || !shentsize || !shnum || !shstrndx || *shoff == 0 || *shnum == 0) return;
        if (*shentsize < (m_is64 ? 64u : 40u) || *shstrndx >= *shnum) return;
        auto header = [&](std::uint64_t index) { return *shoff + index * *shentsize; };
        // sh_offset and sh_size of the section-name string table.
        std::uint64_t names_at = header(*shstrndx);
        auto names_offset = m_is64 ? field(names_at + 24, 8) : field(names_at + 16, 4);
        auto names_size = m_is64 ? field(names_at + 32, 8) : field(names_at + 20, 4);
        if (!names_offset || !names_size) return;
        auto names = slice(m_bytes, *names_offset, *names_size);
        if (!names) return;
        for (std::uint64_t i = 0; i < *shnum; ++i) {
            std::uint64_t at = header(i);
            auto name = field(at, 4);
            auto type = field(at + 4, 4);
            auto offset = m_is64 ? field(at + 24, 8) : field(at + 16, 4);
            auto size = m_is64 ? field(at + 32, 8) : field(at + 20, 4);
            if (!name || !type || !offset || !size) return;
            if (*name >= names->size()) continue;
            std::string_view section_name = names->substr(*name);
            section_name = section_name.substr(0, section_name.find('\0'));
            if (section_name != ".go.buildinfo" || *type == k_sht_nobits) continue;
            m_buildinfo = slice(m_bytes, *offset, *size);
            return;
        }
    }

    std::string_view m_bytes;
    bool m_is64 = false;
    bool m_big = false;
    std::vector<Segment> m_segments;
    std::optional<std::string_view> m_buildinfo;
};

// The build info header in `data`: the magic at a 16-byte aligned offset with
// a whole header after it. Returns data from the header on.
std::optional<std::string_view> find_header(std::string_view data) {
    std::size_t from = 0;
    while (true) {
        std::size_t at = data.find(k_magic, from);
        if (at == std::string_view::npos || data.size() - at < k_header_size) return std::nullopt;
        if (at % k_align == 0) return data.substr(at);
        from = (at + k_align - 1) / k_align * k_align;
    }
}

// A uvarint-prefixed string at the start of `data`; advances `data`.
std::optional<std::string_view> decode_string(std::string_view& data) {
    std::uint64_t length = 0;
    std::size_t used = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (used >= data.size() || shift > 63) return std::nullopt;
        auto byte = static_cast<std::uint8_t>(data[used++]);
        length |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) break;
    }
    if (length > data.size() - used) return std::nullopt;
    std::string_view out = data.substr(used, length);
    data.remove_prefix(used + length);
    return out;
}

// A Go string whose header {data pointer, length} is at `address`.
std::optional<std::string_view> read_go_string(const Elf& elf, std::uint64_t address, unsigned ptr_size) {
    auto header = elf.read_address(address, 2ull * ptr_size);
    if (!header) return std::nullopt;
    auto data = read_uint(*header, 0, ptr_size, elf.big());
    auto length = read_uint(*header, ptr_size, ptr_size, elf.big());
    if (!data || !length || *length > (1ull << 32)) return std::nullopt;
    return elf.read_address(*data, *length);
}

std::vector<std::string_view> split_tabs(std::string_view line) {
    std::vector<std::string_view> columns;
    while (true) {
        auto tab = line.find('\t');
        columns.push_back(line.substr(0, tab));
        if (tab == std::string_view::npos) return columns;
        line.remove_prefix(tab + 1);
    }
}

// The module info text (between the sentinels), as debug.ParseBuildInfo reads it.
void parse_modinfo(std::string_view text, GoBuildInfo& info, std::vector<std::string>& problems) {
    GoModule* last = nullptr;  // the module a "=>" line replaces
    std::size_t line_number = 0;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        ++line_number;
        auto bad = [&](const char* why) {
            problems.push_back("module info line " + std::to_string(line_number) + " " + why);
        };
        if (line.starts_with("path\t")) {
            info.path = line.substr(5);
        } else if (line.starts_with("mod\t") || line.starts_with("dep\t")) {
            auto columns = split_tabs(line.substr(4));
            if (columns.size() != 2 && columns.size() != 3) {
                bad("has the wrong number of columns");
                last = nullptr;
                continue;
            }
            GoModule module{std::string(columns[0]), std::string(columns[1]),
                            columns.size() == 3 ? std::string(columns[2]) : std::string{}, {}, {}, {}};
            if (line.front() == 'm') {
                info.main = std::move(module);
                last = &*info.main;
            } else {
                info.deps.push_back(std::move(module));
                last = &info.deps.back();
            }
        } else if (line.starts_with("=>\t")) {
            auto columns = split_tabs(line.substr(3));
            if (columns.size() != 3 || last == nullptr) {
                bad(last == nullptr ? "replaces no module" : "has the wrong number of columns");
                continue;
            }
            last->replace_path = columns[0];
            last->replace_version = columns[1];
            last->replace_sum = columns[2];
            last = nullptr;
        } else if (line.starts_with("build\t")) {
            std::string_view setting = line.substr(6);
            auto equals = setting.find('=');
            if (equals == std::string_view::npos) {
                bad("is a build setting without '='");
                continue;
            }
            info.settings.emplace_back(setting.substr(0, equals), setting.substr(equals + 1));
        }
        // Other lines ("go\t..." in newer toolchains) carry nothing listed here.
    }
}

// A replacement by a directory ("=> ../fork", "=> ./private/x (devel)").
bool is_local_replacement(const GoModule& module) {
    std::string_view path = module.replace_path;
    return module.replace_version.empty() || path.starts_with("./") || path.starts_with("../") ||
           path.starts_with('/');
}

// Package for one module; a dependency replaced by another module is listed
// as that module, one replaced by a local directory keeps its path and is
// "(devel)", as the main module built from a checkout is.
Package module_package(const GoModule& module, const FileEntry& evidence) {
    Package package;
    package.type = PackageType::Go;
    package.name = module.path;
    package.version = module.version;
    if (!module.replace_path.empty()) {
        if (is_local_replacement(module)) {
            package.version = "(devel)";
        } else {
            package.name = module.replace_path;
            package.version = module.replace_version;
        }
    }
    package.purl = golang_purl(package.name, package.version);
    package.evidence.push_back(evidence);
    return package;
}

}  // namespace

std::optional<GoBuildInfo> read_go_buildinfo(std::string_view bytes, std::vector<std::string>& problems) {
    auto elf = Elf::open(bytes);
    if (!elf) return std::nullopt;
    std::optional<std::string_view> data = elf->buildinfo_section();
    if (!data) data = elf->data_segment();
    if (!data) return std::nullopt;
    // The whole segment is scanned, as current Go does: with external
    // linking (cgo) the header can lie past the first 64 KiB older Go read.
    auto header = find_header(*data);
    if (!header) return std::nullopt;

    unsigned ptr_size = static_cast<std::uint8_t>((*header)[14]);
    auto flags = static_cast<std::uint8_t>((*header)[15]);
    std::optional<std::string_view> version;
    std::optional<std::string_view> modinfo;
    if (flags & 2) {
        std::string_view rest = header->substr(k_header_size);
        version = decode_string(rest);
        if (version) modinfo = decode_string(rest);
    } else {
        if (ptr_size != 4 && ptr_size != 8) {
            problems.push_back("the build info header gives a pointer size of " + std::to_string(ptr_size));
            return std::nullopt;
        }
        bool big = (flags & 1) != 0;
        auto version_at = read_uint(*header, 16, ptr_size, big);
        auto modinfo_at = read_uint(*header, 16 + ptr_size, ptr_size, big);
        if (version_at) version = read_go_string(*elf, *version_at, ptr_size);
        if (version && modinfo_at) modinfo = read_go_string(*elf, *modinfo_at, ptr_size);
    }
    if (!version || version->empty()) {
        problems.push_back("the Go version cannot be read from the build info");
        return std::nullopt;
    }
    if (!modinfo) {
        problems.push_back("the module information cannot be read from the build info");
        return std::nullopt;
    }

    GoBuildInfo info;
    info.go_version = *version;
    // Framed by two 16-byte sentinels, the text ending in '\n' before the
    // second (Go drops anything not framed so).
    if (modinfo->size() >= 33 && (*modinfo)[modinfo->size() - 17] == '\n') {
        parse_modinfo(modinfo->substr(16, modinfo->size() - 32), info, problems);
    } else if (!modinfo->empty()) {
        problems.push_back("the module information is not framed by Go's sentinels");
    }
    return info;
}

BinaryFindings go_packages(std::string_view path, std::string_view elf) {
    BinaryFindings findings;
    std::vector<std::string> problems;
    auto info = read_go_buildinfo(elf, problems);
    for (const std::string& problem : problems)
        findings.warnings.push_back(Warning{std::string(path), "Go build info is malformed: " + problem +
                                                                   (info ? "; those modules are not listed."
                                                                         : "; its Go modules are not listed.")});
    if (!info) return findings;

    FileEntry evidence = lang::evidence(path, elf);
    // The standard library, at the toolchain's version ("go1.19.8"; any
    // " X:experiment" suffix dropped), so its advisories can be matched.
    std::string_view go_version = info->go_version;
    go_version = go_version.substr(0, go_version.find(' '));
    if (go_version.starts_with("go") && go_version.size() > 2) {
        Package stdlib;
        stdlib.type = PackageType::Go;
        stdlib.name = "stdlib";
        stdlib.version = go_version;
        stdlib.purl = golang_purl("stdlib", go_version.substr(2));
        stdlib.license_declared = "BSD-3-Clause";
        stdlib.evidence.push_back(evidence);
        findings.packages.push_back(std::move(stdlib));
    }
    if (info->main && !info->main->path.empty()) {
        Package main = module_package(*info->main, evidence);
        for (const GoModule& dep : info->deps)
            if (!dep.path.empty()) main.depends.push_back(module_package(dep, evidence).name);
        findings.packages.push_back(std::move(main));
    }
    for (const GoModule& dep : info->deps) {
        if (dep.path.empty()) continue;
        findings.packages.push_back(module_package(dep, evidence));
    }
    return findings;
}

}  // namespace slate::sbom
