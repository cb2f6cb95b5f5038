// The scan report as a terminal table and as slate's own JSON, and the pieces
// every writer shares (writer_support.hpp).
#include "slate/vuln/writers.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>


#include "slate/oci/image.hpp"
#include "slate/sbom/purl.hpp"
#include "slate/sbom/spdx.hpp"
#include "slate/util/text.hpp"
#include "writer_support.hpp"

namespace slate::vuln {

// ---------------------------------------------------------------- shared pieces

namespace detail {

std::string dump(const Json& json) {
    return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string package_purl(const Finding& finding, const Distro& distro) {
    if (!finding.purl.empty()) return finding.purl;
    std::string distro_qualifier;
    if (!distro.id.empty() && !distro.version.empty()) distro_qualifier = distro.id + "-" + distro.version;
    // The source as Syft writes it: its name when it differs from the
    // binary's, "name@version" when the versions differ too.
    std::string upstream;
    if (!finding.source.empty() && finding.source != finding.package) upstream = finding.source;
    if (!finding.source_version.empty() && finding.source_version != finding.version)
        upstream = (finding.source.empty() ? finding.package : finding.source) + "@" + finding.source_version;
    return sbom::deb_purl(finding.package, finding.version, "", distro_qualifier, upstream,
                          distro.id.empty() ? "debian" : distro.id);
}

std::string target_purl(const ScanTarget& target) {
    if (target.digest.empty() || (target.kind != "image" && !target.kind.empty())) return {};
    // The name as given may carry a transport ("oci:DIR:REF",
    // "docker-archive:FILE"), a tag and a digest; image_purl wants the
    // repository and the tag apart.
    std::string name = target.name;
    std::string tag;
    bool local = false;
    for (std::string_view transport : {"oci:", "oci-archive:", "docker-archive:"}) {
        if (name.starts_with(transport)) {
            name.erase(0, transport.size());
            local = true;
            break;
        }
    }
    if (auto at = name.find('@'); at != std::string::npos) name.erase(at);
    auto slash = name.rfind('/');
    auto colon = name.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        tag = name.substr(colon + 1);
        name.erase(colon);
    }
    if (local) {  // a path on this machine: only its last component names the image
        while (name.size() > 1 && name.back() == '/') name.pop_back();
        if (auto last = name.rfind('/'); last != std::string::npos) name.erase(0, last + 1);
    }
    return sbom::image_purl(sbom::Subject{name, target.digest, target.platform, tag});
}

std::string distro_label(const Distro& distro) {
    std::string label = distro.id.empty() || distro.id == "debian" ? "Debian" : distro.id;
    if (!distro.version.empty()) label += " " + distro.version;
    if (!distro.codename.empty())
        label += distro.version.empty() ? " " + distro.codename : " (" + distro.codename + ")";
    return label;
}

std::string normalized_time(std::string_view text) {
    if (text.empty()) return {};
    auto seconds = oci::parse_rfc3339(text);
    // format_rfc3339 writes the years 0000-9999 only; an offset can push a
    // time just outside them.
    constexpr std::int64_t First = -62167219200;  // 0000-01-01T00:00:00Z
    constexpr std::int64_t Last = 253402300799;   // 9999-12-31T23:59:59Z
    if (!seconds || *seconds < First || *seconds > Last) return {};
    return oci::format_rfc3339(*seconds);
}

std::string remedy(const Finding& finding, const Distro& distro, bool sentence) {
    std::string text;
    if (!finding.fixed_version.empty())
        text = "upgrade " + finding.package + " to " + finding.fixed_version;
    else
        text = std::string("no fix available in ") + distro_label(distro) + ": " + to_string(finding.state);
    if (sentence) text[0] = static_cast<char>(text[0] - 'a' + 'A');
    return text;
}

}  // namespace detail

std::string advisory_url(std::string_view id) {
    // Public documentation pages, not archive mirrors.
    for (std::string_view prefix : {"CVE-", "DSA-", "DLA-", "DTSA-", "TEMP-"})
        if (id.starts_with(prefix)) return "https://security-tracker.debian.org/tracker/" + std::string(id);
    if (id.starts_with("GHSA-")) return "https://github.com/advisories/" + std::string(id);
    return "https://osv.dev/vulnerability/" + std::string(id);
}

namespace {

using detail::Json;

constexpr std::array<Severity, 6> SeveritiesDescending{Severity::Critical, Severity::High,       Severity::Medium,
                                                        Severity::Low,      Severity::Negligible, Severity::Unknown};
constexpr std::array<FixState, 6> FixStates{FixState::Fixed,       FixState::NotFixed,  FixState::WontFix,
                                            FixState::FixDeferred, FixState::EndOfLife, FixState::Undetermined};

// ---------------------------------------------------------------- table

// Text that cannot move the terminal's cursor or change its colours: control
// characters (ESC, CR, newlines, tabs) become spaces, bytes that are not
// UTF-8 become '?'. Feed descriptions and package data from the image are
// not trusted to be printable.
std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
            ++i;
            continue;
        }
        std::size_t length = util::utf8_sequence_length(text, i);
        // C1 controls (U+0080..U+009F, encoded C2 80..C2 9F) act as escapes too.
        bool c1 = length == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
        if (length == 0 || c1) {
            out += '?';
            i += length == 0 ? 1 : length;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
    return out;
}

// Columns a printable() string takes: one per code point.
std::size_t columns(std::string_view text) {
    return static_cast<std::size_t>(
        std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// At most `width` columns, "..." marking a cut; never splits a character.
std::string cut(const std::string& text, std::size_t width) {
    if (columns(text) <= width) return text;
    if (width <= 3) return std::string(width, '.');
    std::size_t keep = width - 3, seen = 0, end = 0;
    while (end < text.size() && seen < keep) {
        ++end;
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
        ++seen;
    }
    std::string out = text.substr(0, end);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "...";
}

// "DSA-5532-1, DLA-3684-1" or, when that is wider than `width`, as many ids
// as fit followed by "+N" for the rest.
std::string advisory_list(const std::vector<std::string>& ids, std::size_t width) {
    std::string all;
    for (const auto& id : ids) all += (all.empty() ? "" : ", ") + id;
    if (columns(all) <= width) return all;
    std::string shown;
    for (std::size_t n = 0; n < ids.size(); ++n) {
        std::string more = " +" + std::to_string(ids.size() - n - 1);
        std::string next = shown + (shown.empty() ? "" : ", ") + ids[n];
        if (columns(next) + more.size() > width)
            return shown.empty() ? "+" + std::to_string(ids.size()) : shown + " +" + std::to_string(ids.size() - n);
        shown = std::move(next);
    }
    return shown;
}

const char* severity_color(Severity severity) {
    switch (severity) {
        case Severity::Critical: return "\033[1;31m";
        case Severity::High: return "\033[31m";
        case Severity::Medium: return "\033[33m";
        case Severity::Low: return "\033[36m";
        case Severity::Negligible:
        case Severity::Unknown: return "\033[2m";
    }
    return "";
}
constexpr const char* Bold = "\033[1m";
constexpr const char* Reset = "\033[0m";

std::string paint(const std::string& text, const char* color, bool enabled) {
    return enabled ? color + text + Reset : text;
}

// Rows of printable cells laid out in aligned columns, two spaces apart,
// behind an indent. The last column is never padded.
struct Layout {
    std::vector<std::size_t> widths;

    void fit(const std::vector<std::string>& cells) {
        widths.resize(std::max(widths.size(), cells.size()), 0);
        for (std::size_t i = 0; i < cells.size(); ++i) widths[i] = std::max(widths[i], columns(cells[i]));
    }

    // `colors[i]` (may be null) wraps cell i when colouring is on.
    std::string line(const std::vector<std::string>& cells, const std::vector<const char*>& colors, bool color) const {
        std::string out = "  ";
        for (std::size_t i = 0; i < cells.size(); ++i) {
            const char* c = i < colors.size() ? colors[i] : nullptr;
            out += c ? paint(cells[i], c, color) : cells[i];
            if (i + 1 < cells.size()) out.append(widths[i] - columns(cells[i]) + 2, ' ');
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out + "\n";
    }
};

std::string package_heading(const Finding& f) {
    std::string heading = f.package + " " + f.version;
    bool other_name = !f.source.empty() && f.source != f.package;
    bool other_version = !f.source_version.empty() && f.source_version != f.version;
    if (other_name && other_version) heading += " (" + f.source + " " + f.source_version + ")";
    else if (other_name) heading += " (" + f.source + ")";
    else if (other_version) heading += " (source " + f.source_version + ")";
    return printable(heading);
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string findings_section(const std::vector<const Finding*>& findings, const TableOptions& options) {
    static const std::vector<std::string> Header{"VULNERABILITY", "SEVERITY", "STATE", "FIXED IN", "ADVISORIES",
                                                 "DESCRIPTION"};
    struct Row {
        std::vector<std::string> cells;  // id, severity, state, fixed
        std::vector<std::string> advisories;
        std::string description;
    };
    std::vector<Row> rows;
    Layout layout;
    layout.fit({Header.begin(), Header.begin() + 4});
    std::size_t advisories_width = 0;
    bool any_description = false;
    for (const Finding* f : findings) {
        Row row;
        row.cells = {printable(f->vulnerability), to_string(f->severity), to_string(f->state),
                     f->fixed_version.empty() ? "-" : printable(f->fixed_version)};
        // The vulnerability's own id and its OSV copy (DEBIAN-CVE-...) say
        // nothing the first column does not.
        for (const auto& id : f->advisories)
            if (id != f->vulnerability && id != "DEBIAN-" + f->vulnerability) row.advisories.push_back(printable(id));
        row.description = printable(f->description);
        layout.fit(row.cells);
        advisories_width = std::max(advisories_width, columns(advisory_list(row.advisories, SIZE_MAX)));
        any_description = any_description || !row.description.empty();
        rows.push_back(std::move(row));
    }

    // What is left of the width after the four fixed columns: the advisory
    // ids get what they need, but give up all but MinDescription columns to
    // the description (shortened to "DSA-5532-1 +2"); only when even that
    // does not fit does the description go.
    constexpr std::size_t MinDescription = 24;
    const std::size_t AdvisoriesHeader = Header[4].size();
    std::size_t used = 2;
    for (std::size_t w : layout.widths) used += w + 2;
    std::size_t room = options.width == 0 ? SIZE_MAX : (options.width > used ? options.width - used : 0);
    bool show_advisories = advisories_width > 0 && room >= AdvisoriesHeader;
    if (show_advisories) {
        advisories_width = std::max(advisories_width, AdvisoriesHeader);
        if (room != SIZE_MAX) {
            bool with_description = any_description && room >= AdvisoriesHeader + 2 + MinDescription;
            advisories_width = std::min(advisories_width, with_description ? room - 2 - MinDescription : room);
            room -= std::min(room, advisories_width + 2);
        }
    }
    bool show_description = any_description && room >= MinDescription;

    // The optional columns, when shown, come after the four fixed ones.
    std::vector<std::string> header(Header.begin(), Header.begin() + 4);
    if (show_advisories) {
        header.push_back(Header[4]);
        layout.widths.push_back(advisories_width);
    }
    if (show_description) header.push_back(Header[5]);

    std::string out = layout.line(header, {}, false);
    if (options.color) out = Bold + out.substr(0, out.size() - 1) + Reset + "\n";

    const Finding* previous = nullptr;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Finding* f = findings[i];
        if (!previous || f->package != previous->package || f->version != previous->version)
            out += paint(package_heading(*f), Bold, options.color) + "\n";
        previous = f;
        auto cells = rows[i].cells;
        if (show_advisories) cells.push_back(advisory_list(rows[i].advisories, advisories_width));
        if (show_description) cells.push_back(room == SIZE_MAX ? rows[i].description : cut(rows[i].description, room));
        out += layout.line(cells, {nullptr, severity_color(f->severity)}, options.color);
    }
    return out;
}

std::string suppressed_section(const std::vector<Suppression>& suppressed, const TableOptions& options) {
    static const std::vector<std::string> Header{"VULNERABILITY", "PACKAGE", "BY", "STATUS", "JUSTIFICATION"};
    Layout layout;
    layout.fit({Header.begin(), Header.begin() + 4});
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : suppressed) {
        std::string why = s.justification.empty() ? s.statement : s.justification;
        rows.push_back({printable(s.finding.vulnerability), printable(s.finding.package + " " + s.finding.version),
                        printable(s.by), printable(s.status), printable(why)});
        layout.fit({rows.back().begin(), rows.back().begin() + 4});
    }
    std::size_t used = 2;
    for (std::size_t w : layout.widths) used += w + 2;
    std::size_t room = options.width == 0 ? SIZE_MAX : (options.width > used ? options.width - used : 0);

    std::string title = "Suppressed (" + std::to_string(suppressed.size()) + ")";
    std::string out = "\n" + paint(title, Bold, options.color) + "\n";
    // The justification is cut to fit, or left out when too little of it would.
    constexpr std::size_t MinJustification = 16;
    bool show_justification = room >= MinJustification;
    auto header = Header;
    if (!show_justification) header.pop_back();
    out += layout.line(header, {}, false);
    for (auto& row : rows) {
        if (!show_justification) row.pop_back();
        else if (room != SIZE_MAX) row[4] = cut(row[4], room);
        out += layout.line(row, {}, false);
    }
    return out;
}

// One piece of the summary sentence: `text` coloured (when colouring is on),
// `before` and `after` not.
struct Phrase {
    std::string text;
    const char* color = nullptr;
    std::string before{};
    std::string after{};

    std::size_t width() const { return columns(before) + columns(text) + columns(after); }
    std::string render(bool enabled) const {
        return before + (color ? paint(text, color, enabled) : text) + after;
    }
};

// The phrases joined by `separator`, wrapped between phrases so that no line
// is wider than `width` (0: no limit) unless one phrase alone is.
std::string wrap(const std::vector<Phrase>& phrases, std::string_view separator, std::size_t width, bool color) {
    std::string out;
    std::size_t line = 0;
    for (std::size_t i = 0; i < phrases.size(); ++i) {
        std::string_view tail = i + 1 < phrases.size() ? separator : "";
        std::size_t needed = phrases[i].width() + columns(tail);
        // What shows if the line ends here: the phrase and the separator
        // without its blanks (", " leaves the comma).
        std::size_t visible = needed - (tail.size() - tail.substr(0, tail.find_last_not_of(' ') + 1).size());
        if (width != 0 && line > 0 && line + visible > width) {
            while (!out.empty() && out.back() == ' ') out.pop_back();
            out += "\n";
            line = 0;
        }
        out += phrases[i].render(color);
        out += tail;
        line += needed;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
}

// "5 vulnerabilities in 3 packages (2 critical, 1 high), 3 fixable, 1
// suppressed", and a note when findings were hidden.
std::string summary_lines(const ScanReport& report, const TableOptions& options) {
    const auto& matches = report.matches;
    std::vector<Phrase> phrases;
    if (matches.empty()) {
        phrases.push_back({"No vulnerabilities found in " + plural(report.summary.packages, "package", "packages")});
    } else {
        std::set<std::pair<std::string, std::string>> packages;
        std::size_t fixable = 0;
        std::map<Severity, std::size_t> by_severity;
        for (const auto& f : matches) {
            packages.emplace(f.package, f.version);
            ++by_severity[f.severity];
            if (!f.fixed_version.empty()) ++fixable;
        }
        std::size_t first = phrases.size();
        for (Severity severity : SeveritiesDescending)
            if (by_severity[severity] > 0)
                phrases.push_back({std::to_string(by_severity[severity]) + " " + to_string(severity),
                                   severity_color(severity)});
        phrases[first].before = plural(matches.size(), "vulnerability", "vulnerabilities") + " in " +
                                plural(packages.size(), "package", "packages") + " (";
        phrases.back().after = ")";
        phrases.push_back({std::to_string(fixable) + " fixable"});
    }
    if (!report.suppressed.empty()) phrases.push_back({std::to_string(report.suppressed.size()) + " suppressed"});
    std::string out = "\n" + wrap(phrases, ", ", options.width, options.color);
    if (report.summary.hidden > 0)
        out += wrap({{std::to_string(report.summary.hidden) + " hidden as negligible or undetermined:"},
                     {"--show-negligible,"},
                     {"--show-undetermined"}},
                    " ", options.width, options.color);
    return out;
}

// ---------------------------------------------------------------- JSON

Json strings(const std::vector<std::string>& values) {
    Json array = Json::array();
    for (const auto& value : values) array.push_back(value);
    return array;
}

Json finding_json(const Finding& f) {
    Json json;
    json["vulnerability"] = f.vulnerability;
    json["aliases"] = strings(f.aliases);
    json["package"] = f.package;
    json["version"] = f.version;
    json["source"] = f.source;
    json["source_version"] = f.source_version;
    json["purl"] = f.purl;
    json["fixed_version"] = f.fixed_version;
    json["state"] = to_string(f.state);
    json["severity"] = to_string(f.severity);
    json["cvss"] = f.cvss ? Json(*f.cvss) : Json(nullptr);
    json["cvss_vector"] = f.cvss_vector;
    json["urgency"] = f.urgency;
    json["advisories"] = strings(f.advisories);
    json["description"] = f.description;
    return json;
}

}  // namespace

std::string to_table(const ScanReport& report, const TableOptions& options) {
    // Grouped by package whatever the input order; within a package the
    // report's order (most severe first) is kept.
    std::vector<const Finding*> findings;
    for (const auto& f : report.matches) findings.push_back(&f);
    std::stable_sort(findings.begin(), findings.end(), [](const Finding* a, const Finding* b) {
        return std::tie(a->package, a->version) < std::tie(b->package, b->version);
    });
    std::string out;
    if (!findings.empty()) out += findings_section(findings, options);
    if (!report.suppressed.empty()) out += suppressed_section(report.suppressed, options);
    std::string summary = summary_lines(report, options);
    // No blank line before the summary when it is all there is.
    out += out.empty() ? summary.substr(1) : summary;
    return out;
}

namespace {

Json report_json(const ScanReport& report) {
    Json doc;
    doc["target"] = {{"name", report.target.name},
                     {"digest", report.target.digest},
                     {"platform", report.target.platform},
                     {"kind", report.target.kind}};
    doc["distro"] = {
        {"id", report.distro.id}, {"version", report.distro.version}, {"codename", report.distro.codename}};
    doc["database"] = {{"path", report.database.path},
                       {"built", report.database.built ? Json(oci::format_rfc3339(report.database.built))
                                                       : Json(nullptr)},
                       {"feeds", strings(report.database.feeds)}};

    doc["matches"] = Json::array();
    for (const auto& f : report.matches) doc["matches"].push_back(finding_json(f));
    doc["suppressed"] = Json::array();
    for (const auto& s : report.suppressed) {
        Json json = finding_json(s.finding);
        json["suppression"] = {{"by", s.by},
                               {"status", s.status},
                               {"justification", s.justification},
                               {"statement", s.statement},
                               {"origin", s.origin}};
        doc["suppressed"].push_back(std::move(json));
    }
    doc["warnings"] = strings(report.warnings);

    const ScanSummary& summary = report.summary;
    auto count = [](const auto& map, auto key) {
        auto found = map.find(key);
        return found == map.end() ? std::size_t{0} : found->second;
    };
    Json by_severity, by_state;
    for (Severity severity : SeveritiesDescending)
        by_severity[to_string(severity)] = count(summary.by_severity, severity);
    for (FixState state : FixStates) by_state[to_string(state)] = count(summary.by_state, state);
    doc["summary"] = {{"packages", summary.packages},
                      {"matches", summary.matches},
                      {"suppressed", summary.suppressed},
                      {"hidden", summary.hidden},
                      {"by_severity", std::move(by_severity)},
                      {"by_state", std::move(by_state)}};
    return doc;
}

}  // namespace

std::string to_json(const ScanReport& report) { return detail::dump(report_json(report)); }

std::string to_cosign_vuln(const ScanReport& report, std::int64_t started, std::int64_t finished) {
    // The shape cosign's vuln/v1 predicate has; the invocation is unknown to
    // a scanner run outside CI, so it is left empty as cosign leaves it.
    Json invocation{{"parameters", nullptr}, {"uri", ""}, {"event_id", ""}, {"builder.id", ""}};
    Json db{{"uri", report.database.path},
            {"version", report.database.built ? oci::format_rfc3339(report.database.built) : ""}};
    Json scanner{{"uri", "pkg:generic/slate@" + std::string(ToolVersion)},
                 {"version", std::string(ToolVersion)},
                 {"db", std::move(db)},
                 {"result", report_json(report)}};
    Json metadata{{"scanStartedOn", oci::format_rfc3339(started)}, {"scanFinishedOn", oci::format_rfc3339(finished)}};
    Json predicate{{"invocation", std::move(invocation)}, {"scanner", std::move(scanner)}, {"metadata", std::move(metadata)}};
    return detail::dump(predicate);
}

}  // namespace slate::vuln
