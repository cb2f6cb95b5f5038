// SARIF 2.1.0 output, in the shape GitHub code scanning accepts and Grype
// writes: one run, one rule per vulnerability id, one result per finding.
#include <algorithm>
#include <cctype>
#include <optional>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "slate/vuln/writers.hpp"
#include "writer_support.hpp"

namespace slate::vuln {
namespace {

using detail::Json;

constexpr const char* SarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

// error for critical and high, warning for medium, note for the rest: the
// levels GitHub shows as "Error", "Warning" and "Note".
const char* level_of(Severity severity) {
    switch (severity) {
        case Severity::Critical:
        case Severity::High: return "error";
        case Severity::Medium: return "warning";
        default: return "note";
    }
}

// GitHub ranks alerts by properties.security-severity, a CVSS-like score
// (over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low). Without a
// CVSS score the severity stands for one, as Grype does; negligible and
// unknown give none.
std::string security_severity(std::optional<double> cvss, Severity severity) {
    if (cvss) return fmt::format("{:.1f}", *cvss);
    switch (severity) {
        case Severity::Critical: return "9.0";
        case Severity::High: return "7.0";
        case Severity::Medium: return "4.0";
        case Severity::Low: return "1.0";
        default: return {};
    }
}

// The target's name as a URI reference: RFC 3986 unreserved characters,
// sub-delimiters, '/' and '@' kept, everything else (':' of a registry port
// or tag, spaces) percent-encoded, so "127.0.0.1:5000/app:1.0" becomes
// "127.0.0.1%3A5000/app%3A1.0".
std::string uri_reference(std::string_view text) {
    static constexpr std::string_view Kept = "-._~!$&'()*+,;=/@";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || Kept.find(static_cast<char>(c)) != std::string_view::npos) out += static_cast<char>(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out.empty() ? "image" : out;
}

// What one rule (one vulnerability id) gathers from its findings.
struct RuleFacts {
    Severity severity = Severity::Unknown;
    std::optional<double> cvss;
    std::string description;
    std::set<std::string> sources;   // source packages
    std::set<std::string> advisories;
    std::vector<const Finding*> findings;
};

std::string installed(const Finding& f) { return f.package + " " + f.version; }

Json rule_json(const std::string& id, const RuleFacts& facts, const Distro& distro) {
    std::string sources;
    for (const auto& source : facts.sources) sources += (sources.empty() ? "" : ", ") + source;
    std::string title = id + " " + to_string(facts.severity) + " vulnerability in " + sources;

    // help: what a person needs to act, in plain text and Markdown.
    std::string text = "Vulnerability " + id + "\nSeverity: " + to_string(facts.severity) + "\n";
    std::string markdown = "**Vulnerability " + id + "** (" + to_string(facts.severity) + ")\n\n";
    if (!facts.description.empty()) {
        text += facts.description + "\n";
        markdown += facts.description + "\n\n";
    }
    markdown += "| Package | Installed | Fixed in | State |\n| --- | --- | --- | --- |\n";
    for (const Finding* f : facts.findings) {
        text += "Package: " + installed(*f) + ", " + detail::remedy(*f, distro, false) + "\n";
        markdown += "| " + f->package + " | " + f->version + " | " +
                    (f->fixed_version.empty() ? "-" : f->fixed_version) + " | " + to_string(f->state) + " |\n";
    }
    if (!facts.advisories.empty()) {
        std::string list, links;
        for (const auto& a : facts.advisories) {
            list += (list.empty() ? "" : ", ") + a;
            links += std::string(links.empty() ? "" : ", ") + "[" + a + "](" + advisory_url(a) + ")";
        }
        text += "Advisories: " + list + "\n";
        markdown += "\nAdvisories: " + links + "\n";
    }
    text += "More: " + advisory_url(id);
    markdown += "\nMore: [" + id + "](" + advisory_url(id) + ")";

    Json tags = Json::array({"security", "vulnerability", to_string(facts.severity)});
    Json properties = Json::object();
    if (auto score = security_severity(facts.cvss, facts.severity); !score.empty())
        properties["security-severity"] = score;
    properties["tags"] = std::move(tags);

    Json rule;
    rule["id"] = id;
    rule["shortDescription"] = {{"text", title}};
    rule["fullDescription"] = {{"text", facts.description.empty() ? title : facts.description}};
    rule["helpUri"] = advisory_url(id);
    rule["help"] = {{"text", text}, {"markdown", markdown}};
    rule["properties"] = std::move(properties);
    return rule;
}

Json result_json(const Finding& f, std::size_t rule_index, const ScanReport& report) {
    std::string message = installed(f);
    if (!f.source.empty() && f.source != f.package) message += " (source " + f.source + ")";
    message += " is affected by " + f.vulnerability + " (" + to_string(f.severity) + "). " +
               detail::remedy(f, report.distro, true) + ".";

    // GitHub requires a physical location with a region; an image has no
    // lines, so the region is the first character, as Grype writes it.
    Json physical{{"artifactLocation", {{"uri", uri_reference(report.target.name)}}},
                  {"region", {{"startLine", 1}, {"startColumn", 1}, {"endLine", 1}, {"endColumn", 1}}}};
    Json logical{{"name", f.package},
                 {"fullyQualifiedName", detail::package_purl(f, report.distro)},
                 {"kind", "module"}};

    Json result;
    result["ruleId"] = f.vulnerability;
    result["ruleIndex"] = rule_index;
    result["level"] = level_of(f.severity);
    result["message"] = {{"text", message}};
    result["locations"] = Json::array({{{"physicalLocation", std::move(physical)},
                                        {"logicalLocations", Json::array({std::move(logical)})}}});
    Json properties{{"package", f.package},
                    {"installedVersion", f.version},
                    {"fixedVersion", f.fixed_version},
                    {"state", to_string(f.state)},
                    {"purl", detail::package_purl(f, report.distro)}};
    result["properties"] = std::move(properties);
    return result;
}

}  // namespace

std::string to_sarif(const ScanReport& report) {
    // Rules sorted by id; each result points at its rule by index.
    std::map<std::string, RuleFacts> rules;
    for (const auto& f : report.matches) {
        RuleFacts& facts = rules[f.vulnerability];
        facts.severity = std::max(facts.severity, f.severity);
        if (f.cvss && (!facts.cvss || *f.cvss > *facts.cvss)) facts.cvss = f.cvss;
        if (facts.description.empty()) facts.description = f.description;
        facts.sources.insert(f.source.empty() ? f.package : f.source);
        for (const auto& a : f.advisories)
            if (a != f.vulnerability) facts.advisories.insert(a);
        facts.findings.push_back(&f);
    }
    Json rule_array = Json::array();
    std::map<std::string, std::size_t> rule_index;
    for (const auto& [id, facts] : rules) {
        rule_index[id] = rule_array.size();
        rule_array.push_back(rule_json(id, facts, report.distro));
    }
    Json results = Json::array();
    for (const auto& f : report.matches) results.push_back(result_json(f, rule_index.at(f.vulnerability), report));

    Json driver;
    driver["name"] = ToolName;
    driver["version"] = ToolVersion;
    driver["semanticVersion"] = ToolVersion;
    driver["rules"] = std::move(rule_array);

    Json run;
    run["tool"] = {{"driver", std::move(driver)}};
    run["results"] = std::move(results);

    Json doc;
    doc["$schema"] = SarifSchema;
    doc["version"] = "2.1.0";
    doc["runs"] = Json::array({std::move(run)});
    return detail::dump(doc);
}

}  // namespace slate::vuln
