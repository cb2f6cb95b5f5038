// The scan report as VEX: a CycloneDX 1.6 BOM with vulnerabilities and an
// OpenVEX 0.2.0 document. Both validate against the official schemas.
#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <vector>

#include "slate/error.hpp"
#include "slate/oci/image.hpp"
#include "slate/sbom/spdx.hpp"  // name_based_uuid
#include "slate/util/hash.hpp"
#include "slate/vuln/cvss.hpp"
#include "slate/vuln/writers.hpp"
#include "writer_support.hpp"

namespace slate::vuln {
namespace {

using detail::Json;

// ---------------------------------------------------------------- CVSS

// CycloneDX's scoring method for a CVSS vector (read by cvss.hpp's parser);
// "other" when it is not one.
std::string cvss_method(std::string_view vector) {
    auto score = score_cvss(vector);
    if (!score) return "other";
    switch (score->major) {
        case 2: return "CVSSv2";
        case 3: return score->minor == 1 ? "CVSSv31" : "CVSSv3";
        case 4: return "CVSSv4";
        default: return "other";
    }
}

// The specification's qualitative rating of a score, in CycloneDX's words
// ("none" for 0.0 in v3 and v4).
std::string cvss_severity(double score, std::string_view method) {
    int major = method == "CVSSv2" ? 2 : method == "CVSSv4" ? 4 : 3;
    switch (cvss_rating(score, major)) {
        case Severity::Critical: return "critical";
        case Severity::High: return "high";
        case Severity::Medium: return "medium";
        case Severity::Low: return "low";
        case Severity::Negligible: return "none";
        case Severity::Unknown: return "unknown";
    }
    return "unknown";
}

// CycloneDX's severities: Debian's "unimportant" (negligible) is "info".
std::string cyclonedx_severity(Severity severity) {
    switch (severity) {
        case Severity::Critical: return "critical";
        case Severity::High: return "high";
        case Severity::Medium: return "medium";
        case Severity::Low: return "low";
        case Severity::Negligible: return "info";
        case Severity::Unknown: return "unknown";
    }
    return "unknown";
}

// ---------------------------------------------------------------- justifications

constexpr std::array<std::string_view, 5> OpenVexJustifications{
    "component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist"};

constexpr std::array<std::string_view, 4> OpenVexStatuses{"not_affected", "affected", "fixed", "under_investigation"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& values, std::string_view value) {
    return std::find(values.begin(), values.end(), value) != values.end();
}

// An OpenVEX justification as CycloneDX's impactAnalysisJustification (the
// pairs CycloneDX's own VEX guide draws), a CycloneDX name as itself; "" when
// there is no counterpart.
std::string cyclonedx_justification(std::string_view justification) {
    static const std::map<std::string_view, std::string_view> FromOpenVex{
        {"component_not_present", "code_not_present"},
        {"vulnerable_code_not_present", "code_not_present"},
        {"vulnerable_code_not_in_execute_path", "code_not_reachable"},
        {"vulnerable_code_cannot_be_controlled_by_adversary", "requires_environment"},
        {"inline_mitigations_already_exist", "protected_by_mitigating_control"}};
    static const std::set<std::string_view> CycloneDx{
        "code_not_present",       "code_not_reachable",    "requires_configuration",
        "requires_dependency",    "requires_environment",  "protected_by_compiler",
        "protected_at_runtime",   "protected_at_perimeter", "protected_by_mitigating_control"};
    if (auto found = FromOpenVex.find(justification); found != FromOpenVex.end()) return std::string(found->second);
    if (CycloneDx.contains(justification)) return std::string(justification);
    return {};
}

// And back: a CycloneDX justification (a VEX document may have been
// CycloneDX) as OpenVEX's; "" when there is no counterpart.
std::string openvex_justification(std::string_view justification) {
    if (one_of(OpenVexJustifications, justification)) return std::string(justification);
    static const std::map<std::string_view, std::string_view> FromCycloneDx{
        {"code_not_present", "vulnerable_code_not_present"},
        {"code_not_reachable", "vulnerable_code_not_in_execute_path"},
        {"requires_configuration", "vulnerable_code_cannot_be_controlled_by_adversary"},
        {"requires_dependency", "vulnerable_code_cannot_be_controlled_by_adversary"},
        {"requires_environment", "vulnerable_code_cannot_be_controlled_by_adversary"},
        {"protected_by_compiler", "inline_mitigations_already_exist"},
        {"protected_at_runtime", "inline_mitigations_already_exist"},
        {"protected_at_perimeter", "inline_mitigations_already_exist"},
        {"protected_by_mitigating_control", "inline_mitigations_already_exist"}};
    auto found = FromCycloneDx.find(justification);
    return found == FromCycloneDx.end() ? std::string() : std::string(found->second);
}

// A suppression made by a VEX statement with a status OpenVEX knows; anything
// else (an ignore rule) leaves the finding affected.
bool is_vex_statement(const Suppression& s) { return s.by == "vex" && one_of(OpenVexStatuses, s.status); }

// ---------------------------------------------------------------- CycloneDX

std::string source_name(std::string_view id) { return id.starts_with("GHSA-") ? "GitHub Advisories" : "Debian"; }

Json property(const std::string& name, const std::string& value) { return {{"name", name}, {"value", value}}; }

Json ratings_of(const Finding& f) {
    Json ratings = Json::array();
    if (f.cvss || !f.cvss_vector.empty()) {
        std::string method = cvss_method(f.cvss_vector);
        Json rating;
        if (f.cvss) {
            rating["score"] = *f.cvss;
            rating["severity"] = cvss_severity(*f.cvss, method);
        }
        rating["method"] = method;
        if (!f.cvss_vector.empty()) rating["vector"] = f.cvss_vector;
        ratings.push_back(std::move(rating));
    }
    if (!f.urgency.empty()) {
        ratings.push_back({{"source", {{"name", "Debian"}, {"url", advisory_url(f.vulnerability)}}},
                           {"severity", cyclonedx_severity(severity_of_urgency(f.urgency))},
                           {"method", "other"},
                           {"justification", "Debian urgency: " + f.urgency}});
    } else if (ratings.empty() && f.severity != Severity::Unknown) {
        ratings.push_back({{"severity", cyclonedx_severity(f.severity)}, {"method", "other"}});
    }
    return ratings;
}

// The analysis of a suppressed finding: a VEX status as CycloneDX's state,
// its justification when CycloneDX has one, the rest as detail.
Json analysis_of(const Suppression& s) {
    Json analysis = Json::object();
    std::string detail = s.statement;
    if (is_vex_statement(s)) {
        static const std::map<std::string_view, std::string_view> States{{"not_affected", "not_affected"},
                                                                         {"fixed", "resolved"},
                                                                         {"affected", "exploitable"},
                                                                         {"under_investigation", "in_triage"}};
        analysis["state"] = States.at(s.status);
        std::string justification = cyclonedx_justification(s.justification);
        if (!justification.empty()) analysis["justification"] = justification;
        else if (!s.justification.empty()) detail = s.justification + (detail.empty() ? "" : ": " + detail);
    } else {
        // An ignore rule says nothing about exploitability: no state.
        detail = "Ignored by " + (s.origin.empty() ? s.by : s.origin) +
                 (s.justification.empty() ? "" : ": " + s.justification) +
                 (s.statement.empty() ? "" : " (" + s.statement + ")");
    }
    if (!detail.empty()) analysis["detail"] = detail;
    return analysis;
}

Json vulnerability_json(const Finding& f, const Suppression* suppression, const ScanReport& report) {
    Json v;
    v["id"] = f.vulnerability;
    v["source"] = {{"name", source_name(f.vulnerability)}, {"url", advisory_url(f.vulnerability)}};
    if (!f.aliases.empty()) {
        Json references = Json::array();
        for (const auto& alias : std::set<std::string>(f.aliases.begin(), f.aliases.end()))
            if (alias != f.vulnerability)
                references.push_back(
                    {{"id", alias}, {"source", {{"name", source_name(alias)}, {"url", advisory_url(alias)}}}});
        if (!references.empty()) v["references"] = std::move(references);
    }
    if (Json ratings = ratings_of(f); !ratings.empty()) v["ratings"] = std::move(ratings);
    if (!f.description.empty()) v["description"] = f.description;
    bool unaffected = suppression && is_vex_statement(*suppression) &&
                      (suppression->status == "not_affected" || suppression->status == "fixed");
    if (!f.fixed_version.empty() && !unaffected) v["recommendation"] = detail::remedy(f, report.distro, true);
    if (!f.advisories.empty()) {
        Json advisories = Json::array();
        for (const auto& id : std::set<std::string>(f.advisories.begin(), f.advisories.end()))
            advisories.push_back({{"title", id}, {"url", advisory_url(id)}});
        v["advisories"] = std::move(advisories);
    }
    if (auto published = detail::normalized_time(f.published); !published.empty()) v["published"] = published;
    if (suppression) v["analysis"] = analysis_of(*suppression);
    v["affects"] = Json::array({{{"ref", detail::package_purl(f, report.distro)},
                                 {"versions", Json::array({{{"version", f.version},
                                                            {"status", unaffected ? "unaffected" : "affected"}}})}}});
    Json properties = Json::array({property("slate:vuln:state", to_string(f.state)),
                                   property("slate:vuln:severity", to_string(f.severity))});
    if (!f.fixed_version.empty()) properties.push_back(property("slate:vuln:fixed-version", f.fixed_version));
    if (suppression) {
        properties.push_back(property("slate:vuln:suppressed-by", suppression->by));
        if (!suppression->origin.empty())
            properties.push_back(property("slate:vuln:suppression-origin", suppression->origin));
    }
    v["properties"] = std::move(properties);
    return v;
}

Json component_json(const Finding& f, const std::string& purl) {
    Json component{{"type", "library"}, {"bom-ref", purl}, {"name", f.package}};
    if (!f.version.empty()) component["version"] = f.version;
    component["purl"] = purl;
    Json properties = Json::array();
    properties.push_back(property("slate:deb:source", f.source.empty() ? f.package : f.source));
    properties.push_back(property("slate:deb:source-version", f.source_version.empty() ? f.version : f.source_version));
    component["properties"] = std::move(properties);
    return component;
}

Json target_component(const ScanTarget& target) {
    std::string purl = detail::target_purl(target);
    Json component{{"type", "container"},
                   {"bom-ref", purl.empty() ? "slate:target" : purl},
                   {"name", target.name.empty() ? "unknown" : target.name}};
    if (!target.digest.empty()) component["version"] = target.digest;
    if (!purl.empty()) component["purl"] = purl;
    Json properties = Json::array();
    if (!target.kind.empty()) properties.push_back(property("slate:target:kind", target.kind));
    if (!target.platform.empty()) properties.push_back(property("slate:image:platform", target.platform));
    if (!properties.empty()) component["properties"] = std::move(properties);
    return component;
}

// ---------------------------------------------------------------- OpenVEX

Json openvex_statement(const Finding& f, const Suppression* suppression, const ScanReport& report,
                       const std::string& image) {
    Json vulnerability{{"@id", advisory_url(f.vulnerability)}, {"name", f.vulnerability}};
    if (!f.description.empty()) vulnerability["description"] = f.description;
    std::set<std::string> aliases(f.aliases.begin(), f.aliases.end());
    aliases.erase(f.vulnerability);
    if (!aliases.empty()) vulnerability["aliases"] = Json(std::vector<std::string>(aliases.begin(), aliases.end()));

    // The product is what the statement is about: the image, with the
    // vulnerable package as the subcomponent where the vulnerability lives
    // (OpenVEX spec, "Product" and "Subcomponent"). Without an image
    // identity, the package itself is the product.
    std::string package = detail::package_purl(f, report.distro);
    Json product = image.empty() ? Json{{"@id", package}}
                                 : Json{{"@id", image}, {"subcomponents", Json::array({{{"@id", package}}})}};

    Json statement;
    statement["vulnerability"] = std::move(vulnerability);
    statement["products"] = Json::array({std::move(product)});
    if (suppression && is_vex_statement(*suppression)) {
        const Suppression& s = *suppression;
        statement["status"] = s.status;
        statement["status_notes"] = "Stated by " + (s.origin.empty() ? std::string("a VEX document") : s.origin);
        std::string justification = openvex_justification(s.justification);
        if (s.status == "not_affected" && !justification.empty()) statement["justification"] = justification;
        std::string impact = s.statement;
        if (justification.empty() && !s.justification.empty())
            impact = s.justification + (impact.empty() ? "" : ": " + impact);
        // not_affected needs a justification or an impact statement.
        if (s.status == "not_affected" && justification.empty() && impact.empty())
            impact = "Not affected according to " + (s.origin.empty() ? std::string("a VEX document") : s.origin);
        if (!impact.empty()) statement["impact_statement"] = impact;
        if (s.status == "affected") statement["action_statement"] = detail::remedy(f, report.distro, true);
        return statement;
    }
    statement["status"] = "affected";
    if (suppression)
        statement["status_notes"] = "Ignored by " +
                                    (suppression->origin.empty() ? suppression->by : suppression->origin) +
                                    (suppression->justification.empty() ? "" : ": " + suppression->justification);
    statement["action_statement"] = detail::remedy(f, report.distro, true);
    return statement;
}

}  // namespace

std::string to_cyclonedx(const ScanReport& report, std::int64_t timestamp) {
    Json doc;
    doc["$schema"] = "http://cyclonedx.org/schema/bom-1.6.schema.json";
    doc["bomFormat"] = "CycloneDX";
    doc["specVersion"] = "1.6";
    doc["serialNumber"] = "";  // set below, from the content
    doc["version"] = 1;

    Json metadata;
    metadata["timestamp"] = oci::format_rfc3339(timestamp);
    metadata["tools"] = {{"components", Json::array({{{"type", "application"},
                                                      {"name", ToolName},
                                                      {"version", ToolVersion}}})}};
    metadata["component"] = target_component(report.target);
    Json properties = Json::array();
    if (!report.distro.id.empty()) properties.push_back(property("slate:distro:id", report.distro.id));
    if (!report.distro.version.empty()) properties.push_back(property("slate:distro:version", report.distro.version));
    if (!report.distro.codename.empty())
        properties.push_back(property("slate:distro:codename", report.distro.codename));
    if (report.scanned_at) properties.push_back(property("slate:scan:time", oci::format_rfc3339(report.scanned_at)));
    if (report.database.built)
        properties.push_back(property("slate:database:built", oci::format_rfc3339(report.database.built)));
    if (!properties.empty()) metadata["properties"] = std::move(properties);
    doc["metadata"] = std::move(metadata);

    // Components sorted by purl, each once however many findings name it.
    std::map<std::string, Json> components;
    Json vulnerabilities = Json::array();
    auto add = [&](const Finding& f, const Suppression* suppression) {
        std::string purl = detail::package_purl(f, report.distro);
        if (!components.contains(purl)) components.emplace(purl, component_json(f, purl));
        vulnerabilities.push_back(vulnerability_json(f, suppression, report));
    };
    for (const auto& f : report.matches) add(f, nullptr);
    for (const auto& s : report.suppressed) add(s.finding, &s);
    doc["components"] = Json::array();
    for (auto& [purl, component] : components) doc["components"].push_back(std::move(component));
    doc["vulnerabilities"] = std::move(vulnerabilities);

    // The serial number names this BOM: the target, the scan time and a
    // digest of everything the BOM says, so the same scan gives the same
    // serial and two different ones never share one.
    std::string identity = "slate-scan-cyclonedx\n" + report.target.name + "\n" + report.target.digest + "\n" +
                           report.target.platform + "\n" + std::to_string(report.scanned_at) + "\n" +
                           util::sha256_hex(detail::dump(doc));
    doc["serialNumber"] = "urn:uuid:" + sbom::name_based_uuid(identity);
    return detail::dump(doc);
}

std::string to_openvex(const ScanReport& report, std::int64_t timestamp, const std::string& author) {
    if (report.matches.empty() && report.suppressed.empty())
        throw Error(ErrorCode::Usage,
                    "cannot write an OpenVEX document for " +
                        (report.target.name.empty() ? std::string("the scan") : report.target.name) +
                        ": no vulnerability was found, and an OpenVEX document needs at least one statement",
                    "Write the clean result in another format (json, cyclonedx-json).");

    std::string image = detail::target_purl(report.target);
    Json statements = Json::array();
    std::set<std::pair<std::string, std::string>> seen;  // (vulnerability, package purl)
    auto add = [&](const Finding& f, const Suppression* suppression) {
        if (!seen.emplace(f.vulnerability, detail::package_purl(f, report.distro)).second) return;
        statements.push_back(openvex_statement(f, suppression, report, image));
    };
    for (const auto& f : report.matches) add(f, nullptr);
    for (const auto& s : report.suppressed) add(s.finding, &s);

    Json doc;
    doc["@context"] = "https://openvex.dev/ns/v0.2.0";
    doc["@id"] = "";  // set below, from the content
    doc["author"] = author.empty() ? "Unknown Author" : author;
    doc["timestamp"] = oci::format_rfc3339(timestamp);
    doc["version"] = 1;
    doc["tooling"] = std::string(ToolName) + " " + std::string(ToolVersion);
    doc["statements"] = std::move(statements);
    // Like vexctl, the @id is a digest of the document itself.
    doc["@id"] = "https://openvex.dev/docs/public/vex-" + util::sha256_hex(detail::dump(doc));
    return detail::dump(doc);
}

}  // namespace slate::vuln
