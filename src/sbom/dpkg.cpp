#include "slate/sbom/dpkg.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "slate/sbom/licenses.hpp"
#include "slate/sbom/purl.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/text.hpp"

namespace slate::sbom {

namespace {

constexpr std::string_view StatusPath = "/var/lib/dpkg/status";
constexpr std::string_view StatusDir = "/var/lib/dpkg/status.d/";
constexpr std::string_view DocDir = "/usr/share/doc/";

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view text) {
    while (!text.empty() && (is_blank(text.front()) || text.front() == '\n')) text.remove_prefix(1);
    while (!text.empty() && (is_blank(text.back()) || text.back() == '\n')) text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// Files dpkg keeps beside a package's record (distroless writes
// status.d/<name>.md5sums next to status.d/<name>); they are not records.
// Package names may contain dots ("libc6.1", "python3.11"), so only these
// suffixes are skipped.
bool is_dpkg_info_file(std::string_view name) {
    static constexpr std::string_view Suffixes[] = {".md5sums", ".conffiles", ".list",    ".shlibs",
                                                    ".symbols", ".triggers",  ".preinst", ".postinst",
                                                    ".prerm",   ".postrm",    ".config",  ".templates"};
    return std::any_of(std::begin(Suffixes), std::end(Suffixes),
                       [&](std::string_view suffix) { return name.ends_with(suffix); });
}

// The name of a status.d record file, or empty when `path` is not one.
std::string_view status_d_name(std::string_view path) {
    if (!path.starts_with(StatusDir)) return {};
    std::string_view name = path.substr(StatusDir.size());
    if (name.empty() || name.find('/') != std::string_view::npos || is_dpkg_info_file(name)) return {};
    return name;
}

// Control characters other than tab and CR are not text: a line holding one is junk.
bool has_binary(std::string_view line) {
    return std::any_of(line.begin(), line.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f;
    });
}

// A short, printable excerpt of a bad line for a warning.
std::string excerpt(std::string_view line) {
    std::string out;
    for (char ch : line.substr(0, 40)) {
        auto c = static_cast<unsigned char>(ch);
        out += (c < 0x20 || c >= 0x7f) ? '?' : ch;
    }
    if (line.size() > 40) out += "...";
    return out;
}


// `text` with every invalid UTF-8 sequence replaced by U+FFFD, so the
// values can go into JSON documents; `changed` is set when one was found.
std::string valid_utf8(std::string_view text, bool& changed) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t length = util::utf8_sequence_length(text, i);
        if (length > 0) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out += "\xEF\xBF\xBD";
            changed = true;
            ++i;
        }
    }
    return out;
}

// --- Reading paragraphs ------------------------------------------------------

struct StatusParagraph {
    std::size_t line = 0;  // 1-based line of its first line
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    std::vector<std::string> problems;  // anything wrong makes the paragraph unusable

    std::optional<std::string_view> get(std::string_view name) const {
        for (const auto& [field, value] : fields)
            if (iequals(field, name)) return value;
        return std::nullopt;
    }
};

// deb822 paragraphs, read so that one bad line costs only its paragraph
// (deb::Deb822Reader stops at the first one). Values are views into `text`;
// a multi-line value keeps its continuation lines.
std::vector<StatusParagraph> read_paragraphs(std::string_view text) {
    std::vector<StatusParagraph> paragraphs;
    StatusParagraph current;
    bool open = false;
    std::size_t line_number = 0;
    std::size_t pos = 0;
    auto close = [&] {
        if (open) paragraphs.push_back(std::move(current));
        current = {};
        open = false;
    };
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_number;
        if (trim(line).empty()) {
            close();
            continue;
        }
        if (!open) {
            open = true;
            current.line = line_number;
        }
        if (has_binary(line)) {
            current.problems.push_back(fmt::format("line {}: binary data", line_number));
            continue;
        }
        if (is_blank(line.front())) {
            if (current.fields.empty()) {
                current.problems.push_back(fmt::format("line {}: continuation line without a field", line_number));
                continue;
            }
            // Extend the last value to the end of this line: it stays one view.
            auto& value = current.fields.back().second;
            const char* begin = value.empty() ? line.data() : value.data();
            std::string_view rest = trim(line);
            value = std::string_view(begin, static_cast<std::size_t>(rest.data() + rest.size() - begin));
            continue;
        }
        if (line.front() == '#') continue;  // deb822 comment
        std::size_t colon = line.find(':');
        std::string_view name = colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
        if (name.empty() || std::any_of(name.begin(), name.end(), [](char c) { return is_blank(c); })) {
            current.problems.push_back(
                fmt::format("line {}: expected \"Field: value\", got \"{}\"", line_number, excerpt(line)));
            continue;
        }
        current.fields.emplace_back(name, trim(line.substr(colon + 1)));
    }
    close();
    return paragraphs;
}

// --- From paragraph to package -----------------------------------------------

// A package as read, before relationships are resolved.
struct Record {
    Package package;
    std::vector<std::string_view> depends;   // Depends and Pre-Depends values
    std::vector<std::string_view> provides;  // Provides values
};

// dpkg's Status is "<want> <flag> <status>". Configured packages waiting for
// triggers are installed too; unpacked, half-installed and config-files are not.
bool is_installed(std::string_view status) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < status.size()) {
        while (i < status.size() && is_blank(status[i])) ++i;
        std::size_t start = i;
        while (i < status.size() && !is_blank(status[i])) ++i;
        if (i > start) words.push_back(status.substr(start, i - start));
    }
    if (words.size() != 3) return false;
    return words[2] == "installed" || words[2] == "triggers-awaited" || words[2] == "triggers-pending";
}

// "name (>= 1.0) [amd64] <!nocheck>" and "name:any" -> "name".
std::string_view relation_name(std::string_view relation) {
    relation = trim(relation);
    std::size_t end = 0;
    while (end < relation.size() && !is_blank(relation[end]) && relation[end] != '(' && relation[end] != '[' &&
           relation[end] != '<' && relation[end] != ':')
        ++end;
    return relation.substr(0, end);
}

template <typename F>
void for_each_item(std::string_view list, char separator, F&& f) {
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(separator, start);
        if (end == std::string_view::npos) end = list.size();
        f(list.substr(start, end - start));
        start = end + 1;
    }
}

struct FileContext {
    std::string_view path;
    bool status_d = false;  // records under status.d/ may have no Status
};

std::optional<Record> to_record(const StatusParagraph& p, const FileContext& file, std::vector<Warning>& warnings) {
    auto warn = [&](std::string message) { warnings.push_back({std::string(file.path), std::move(message)}); };
    std::optional<std::string_view> name = p.get("Package");
    std::string what = name ? fmt::format("package {} (line {})", excerpt(*name), p.line)
                            : fmt::format("the paragraph at line {}", p.line);
    if (!p.problems.empty()) {
        std::string problems;
        for (const auto& problem : p.problems) problems += (problems.empty() ? "" : "; ") + problem;
        warn(fmt::format("{} is malformed and was skipped: {}", what, problems));
        return std::nullopt;
    }
    if (!name || name->empty()) {
        warn(fmt::format("{} has no Package field and was skipped", what));
        return std::nullopt;
    }
    std::optional<std::string_view> status = p.get("Status");
    if (status) {
        if (!is_installed(*status)) return std::nullopt;  // removed, half-installed, config files only
    } else if (!file.status_d) {
        warn(fmt::format("{} has no Status field and was skipped", what));
        return std::nullopt;
    }
    std::optional<std::string_view> version = p.get("Version");
    if (!version || version->empty()) {
        warn(fmt::format("{} has no Version field and was skipped", what));
        return std::nullopt;
    }

    bool bad_utf8 = false;
    Record record;
    Package& pkg = record.package;
    pkg.type = PackageType::Deb;
    pkg.name = valid_utf8(*name, bad_utf8);
    pkg.version = valid_utf8(*version, bad_utf8);
    if (auto arch = p.get("Architecture")) {
        pkg.arch = valid_utf8(*arch, bad_utf8);
    } else {
        warn(fmt::format("{} has no Architecture field", what));
    }
    if (auto maintainer = p.get("Maintainer")) pkg.maintainer = valid_utf8(*maintainer, bad_utf8);
    if (auto homepage = p.get("Homepage")) pkg.homepage = valid_utf8(*homepage, bad_utf8);
    if (auto description = p.get("Description"))
        pkg.description = valid_utf8(trim(description->substr(0, description->find('\n'))), bad_utf8);
    if (auto size = p.get("Installed-Size")) {
        // KiB; a number too large for 64 bits in bytes is as wrong as letters.
        std::uint64_t kib = 0;
        bool ok = !size->empty() && size->size() <= 15 &&
                  std::all_of(size->begin(), size->end(), [](char c) { return c >= '0' && c <= '9'; });
        for (char c : ok ? *size : std::string_view()) kib = kib * 10 + static_cast<std::uint64_t>(c - '0');
        if (ok) {
            pkg.installed_size = kib * 1024;
        } else {
            warn(fmt::format("{} has an Installed-Size that is not a number of KiB: \"{}\"", what, excerpt(*size)));
        }
    }
    if (auto source = p.get("Source")) {
        // "src" or "src (version)": the version is there when it differs (binNMUs).
        std::string_view s = trim(*source);
        std::size_t paren = s.find('(');
        std::string_view source_name = trim(s.substr(0, paren));
        std::string_view source_version;
        if (paren != std::string_view::npos) {
            std::size_t close = s.find(')', paren);
            source_version = trim(s.substr(paren + 1, close == std::string_view::npos ? close : close - paren - 1));
        }
        if (source_name != *name) pkg.source = valid_utf8(source_name, bad_utf8);
        if (!source_version.empty() && source_version != *version)
            pkg.source_version = valid_utf8(source_version, bad_utf8);
    }
    if (bad_utf8) warn(fmt::format("{} has fields that are not UTF-8; invalid bytes were replaced", what));
    for (std::string_view field : {"Pre-Depends", "Depends"})
        if (auto value = p.get(field)) record.depends.push_back(*value);
    if (auto provides = p.get("Provides")) record.provides.push_back(*provides);
    return record;
}

// Depends and Pre-Depends as names of installed packages: each alternative
// that is installed, or whose name an installed package Provides.
void resolve_depends(std::vector<Record>& records) {
    std::set<std::string, std::less<>> installed;
    std::map<std::string, std::set<std::string>, std::less<>> providers;
    for (const auto& r : records) installed.insert(r.package.name);
    for (const auto& r : records)
        for (std::string_view provides : r.provides)
            for_each_item(provides, ',', [&](std::string_view item) {
                std::string_view virtual_name = relation_name(item);
                if (!virtual_name.empty()) providers[std::string(virtual_name)].insert(r.package.name);
            });
    for (auto& r : records) {
        std::set<std::string> names;
        for (std::string_view field : r.depends)
            for_each_item(field, ',', [&](std::string_view group) {
                for_each_item(group, '|', [&](std::string_view alternative) {
                    std::string_view dep = relation_name(alternative);
                    if (dep.empty()) return;
                    if (installed.contains(dep)) {
                        names.insert(std::string(dep));
                    } else if (auto it = providers.find(dep); it != providers.end()) {
                        names.insert(it->second.begin(), it->second.end());
                    }
                });
            });
        names.erase(r.package.name);
        r.package.depends.assign(names.begin(), names.end());
    }
}

// Reads one database file into `records`.
void read_database(const FileContext& file, std::string_view content, std::vector<Record>& records,
                   std::vector<Warning>& warnings) {
    FileEntry evidence;
    evidence.path = std::string(file.path);
    evidence.sha256 = util::sha256_hex(content);
    evidence.size = content.size();
    for (const auto& paragraph : read_paragraphs(content)) {
        if (auto record = to_record(paragraph, file, warnings)) {
            record->package.evidence.push_back(evidence);
            records.push_back(std::move(*record));
        }
    }
}

std::string parse_shell_value(std::string_view text) {
    std::string out;
    enum class Quote { None, Double, Single } quote = Quote::None;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        switch (quote) {
            case Quote::None:
                if (c == '"') {
                    quote = Quote::Double;
                } else if (c == '\'') {
                    quote = Quote::Single;
                } else if (c == '\\') {
                    if (i + 1 < text.size()) out += text[++i];
                } else if (is_blank(c)) {
                    return out;  // the end of the word; anything after it is not part of the value
                } else {
                    out += c;
                }
                break;
            case Quote::Double:
                if (c == '"') {
                    quote = Quote::None;
                } else if (c == '\\' && i + 1 < text.size() &&
                           (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == '$' || text[i + 1] == '`')) {
                    out += text[++i];
                } else {
                    out += c;
                }
                break;
            case Quote::Single:
                if (c == '\'') {
                    quote = Quote::None;
                } else {
                    out += c;
                }
                break;
        }
    }
    return out;  // an unterminated quote keeps what it held
}

}  // namespace

OsInfo parse_os_release(std::string_view text) {
    OsInfo os;
    for_each_item(text, '\n', [&](std::string_view raw) {
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') return;
        std::size_t eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) return;
        std::string_view key = line.substr(0, eq);
        if (!std::all_of(key.begin(), key.end(),
                         [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }))
            return;
        bool changed = false;
        std::string value = valid_utf8(parse_shell_value(line.substr(eq + 1)), changed);
        if (key == "ID") os.id = std::move(value);
        else if (key == "VERSION_ID") os.version_id = std::move(value);
        else if (key == "VERSION_CODENAME") os.version_codename = std::move(value);
        else if (key == "PRETTY_NAME") os.pretty_name = std::move(value);
    });
    return os;
}

OsInfo read_os_release(const FileTree& tree) {
    for (std::string_view path : {"/etc/os-release", "/usr/lib/os-release"})
        if (auto content = tree.read(path)) return parse_os_release(*content);
    return {};
}

bool dpkg_keeps(std::string_view path) {
    if (path == StatusPath || path == "/etc/os-release" || path == "/usr/lib/os-release") return true;
    if (!status_d_name(path).empty()) return true;
    if (path.starts_with(DocDir) && path.ends_with("/copyright") && path.size() > DocDir.size() + 10) {
        std::string_view package = path.substr(DocDir.size(), path.size() - DocDir.size() - 10);
        return !package.empty() && package.find('/') == std::string_view::npos;
    }
    return false;
}

std::vector<Package> catalog_dpkg(const FileTree& tree, const OsInfo& os, std::vector<Warning>& warnings) {
    std::vector<Record> records;
    if (auto status = tree.read(StatusPath)) read_database({StatusPath, false}, *status, records, warnings);
    for (auto it = tree.entries().lower_bound(std::string(StatusDir)); it != tree.entries().end(); ++it) {
        const std::string& path = it->first;
        if (!path.starts_with(StatusDir)) break;
        if (status_d_name(path).empty() || it->second.type == TreeEntry::Type::Directory) continue;
        if (auto content = tree.read(path)) read_database({path, true}, *content, records, warnings);
    }

    // The same package in two databases (status and status.d) is one package.
    std::stable_sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
        return std::tie(a.package.name, a.package.arch, a.package.version) <
               std::tie(b.package.name, b.package.arch, b.package.version);
    });
    std::vector<Record> unique;
    for (auto& r : records) {
        if (!unique.empty() && unique.back().package.name == r.package.name &&
            unique.back().package.arch == r.package.arch && unique.back().package.version == r.package.version) {
            auto& evidence = unique.back().package.evidence;
            evidence.insert(evidence.end(), r.package.evidence.begin(), r.package.evidence.end());
            continue;
        }
        unique.push_back(std::move(r));
    }
    resolve_depends(unique);

    std::string vendor = os.id.empty() ? "debian" : os.id;
    std::string distro = !os.id.empty() && !os.version_id.empty() ? os.id + "-" + os.version_id : "";
    std::map<std::string, LicenseInfo> licenses;  // by copyright file: doc dirs are often links to another's
    std::vector<Package> packages;
    packages.reserve(unique.size());
    for (auto& r : unique) {
        Package& pkg = r.package;
        std::string upstream;
        if (!pkg.source.empty() || !pkg.source_version.empty()) {
            upstream = pkg.source.empty() ? pkg.name : pkg.source;
            if (!pkg.source_version.empty()) upstream += "@" + pkg.source_version;
        }
        pkg.purl = deb_purl(pkg.name, pkg.version, pkg.arch, distro, upstream, vendor);

        std::string copyright = tree.resolve(std::string(DocDir) + pkg.name + "/copyright");
        if (!copyright.empty()) {
            auto it = licenses.find(copyright);
            if (it == licenses.end()) {
                auto content = tree.read(copyright);
                it = licenses.emplace(copyright, content ? license_from_copyright(*content) : LicenseInfo{}).first;
            }
            pkg.license_declared = it->second.expression;
            pkg.license_concluded = it->second.expression;
        }
        packages.push_back(std::move(pkg));
    }
    return packages;
}

}  // namespace slate::sbom
