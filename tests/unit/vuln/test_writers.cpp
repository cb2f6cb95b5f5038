// The scan report writers: the table (grouping, alignment, width, colours only
// when asked, nothing a terminal would obey), slate's JSON (every field, fixed
// key order), SARIF (the properties the spec and GitHub require), CycloneDX
// and OpenVEX (valid against the official schemas, and saying the right
// things), and determinism (same report, same bytes).
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/vuln/writers.hpp"
#include "support/json_schema.hpp"

namespace slate::vuln {
namespace {

using nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

const std::string Digest = "sha256:" + std::string(64, 'a');
constexpr std::int64_t Built = 1700000000;      // 2023-11-14T22:13:20Z
constexpr std::int64_t Scanned = 1700003600;    // 2023-11-14T23:13:20Z
constexpr std::int64_t Timestamp = 1795392000;  // 2026-11-23T00:00:00Z

std::string purl(const std::string& name, const std::string& version, const std::string& source = {}) {
    std::string encoded;
    for (char c : version) encoded += c == '+' ? std::string("%2B") : std::string(1, c);
    return "pkg:deb/debian/" + name + "@" + encoded + "?arch=amd64&distro=debian-12" +
           (source.empty() ? "" : "&upstream=" + source);
}

Finding finding(std::string id, std::string package, std::string version, std::string source, Severity severity,
                FixState state, std::string fixed) {
    Finding f;
    f.vulnerability = std::move(id);
    f.package = std::move(package);
    f.version = std::move(version);
    f.source = std::move(source);
    f.source_version = f.version;
    f.purl = purl(f.package, f.version, f.source == f.package ? "" : f.source);
    f.severity = severity;
    f.state = state;
    f.fixed_version = std::move(fixed);
    f.advisories = {"DEBIAN-" + f.vulnerability, f.vulnerability};
    return f;
}

// An image with openssl (libssl3: a critical and a medium, both fixed), glibc
// (libc6: a fixed high, an open low), zlib (a critical Debian will not fix),
// a finding a VEX statement suppressed, one an ignore rule suppressed, and
// three negligible findings hidden.
ScanReport realistic_report() {
    ScanReport report;
    report.target = {"127.0.0.1:5000/app:1.0", Digest, "linux/amd64", "image"};
    report.distro = {"debian", "12", "bookworm"};
    report.database = {"/var/cache/slate/vuln/vuln.db", Built, {"debian-tracker", "osv"}};
    report.scanned_at = Scanned;

    Finding glibc_high = finding("CVE-2023-4911", "libc6", "2.36-9+deb12u1", "glibc", Severity::High, FixState::Fixed,
                                 "2.36-9+deb12u3");
    glibc_high.cvss = 7.8;
    glibc_high.cvss_vector = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H";
    glibc_high.urgency = "high";
    glibc_high.advisories.insert(glibc_high.advisories.begin(), "DSA-5514-1");
    glibc_high.description = "buffer overflow in ld.so leading to privilege escalation (Looney Tunables)";
    glibc_high.published = "2023-10-03T18:15:10.983+00:00";
    Finding glibc_low = finding("CVE-2025-4802", "libc6", "2.36-9+deb12u1", "glibc", Severity::Low,
                                FixState::NotFixed, "");
    glibc_low.urgency = "low";
    glibc_low.description = "static setuid binaries may use LD_LIBRARY_PATH";

    Finding ssl_critical = finding("CVE-2024-5535", "libssl3", "3.0.11-1~deb12u1", "openssl", Severity::Critical,
                                   FixState::Fixed, "3.0.14-1~deb12u1");
    ssl_critical.cvss = 9.1;
    ssl_critical.cvss_vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H";
    ssl_critical.aliases = {"GHSA-4fh2-3m9p-5q6r"};
    ssl_critical.description = "SSL_select_next_proto buffer overread";
    Finding ssl_medium = finding("CVE-2023-5678", "libssl3", "3.0.11-1~deb12u1", "openssl", Severity::Medium,
                                 FixState::Fixed, "3.0.11-1~deb12u2");
    ssl_medium.cvss = 5.3;
    ssl_medium.cvss_vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L";
    ssl_medium.urgency = "medium";
    ssl_medium.advisories.insert(ssl_medium.advisories.begin(), "DSA-5532-1");
    ssl_medium.description = "excessive time spent in DH check / generation with large Q parameter value";

    Finding zlib = finding("CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "zlib", Severity::Critical,
                           FixState::WontFix, "");
    zlib.cvss = 9.8;
    zlib.cvss_vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    zlib.urgency = "unimportant";
    zlib.description = "integer overflow in zipOpenNewFileInZip4_64 of minizip";

    report.matches = {glibc_high, glibc_low, ssl_critical, ssl_medium, zlib};

    Suppression vex;
    vex.finding = finding("CVE-2023-5156", "libc6", "2.36-9+deb12u1", "glibc", Severity::High, FixState::Fixed,
                          "2.36-9+deb12u3");
    vex.by = "vex";
    vex.status = "not_affected";
    vex.justification = "vulnerable_code_not_in_execute_path";
    vex.statement = "The application never calls getaddrinfo with AF_UNSPEC.";
    vex.origin = "https://example.com/vex/app-1.0.openvex.json";
    Suppression ignored;
    ignored.finding = finding("CVE-2023-31484", "perl-base", "5.36.0-7+deb12u1", "perl", Severity::High,
                              FixState::FixDeferred, "");
    ignored.by = "ignore";
    ignored.status = "ignored";
    ignored.justification = "CPAN is never used in production";
    ignored.statement = "CVE-2023-31484 in perl-base until 2027-01-01";
    ignored.origin = ".slate-ignore.yaml";
    report.suppressed = {vex, ignored};
    report.warnings = {"ignore rule for CVE-2022-0001 expired on 2026-01-01"};

    report.summary.packages = 87;
    report.summary.matches = 5;
    report.summary.suppressed = 2;
    report.summary.hidden = 3;
    report.summary.by_severity = {{Severity::Critical, 2}, {Severity::High, 1}, {Severity::Medium, 1},
                                  {Severity::Low, 1}};
    report.summary.by_state = {{FixState::Fixed, 3}, {FixState::NotFixed, 1}, {FixState::WontFix, 1}};
    return report;
}

ScanReport empty_report() {
    ScanReport report;
    report.target = {"rootfs/", "", "", "directory"};
    report.distro = {"debian", "12", "bookworm"};
    report.database = {"/var/cache/slate/vuln/vuln.db", Built, {"debian-tracker"}};
    report.scanned_at = Scanned;
    report.summary.packages = 42;
    return report;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::size_t columns(const std::string& line) {
    return std::count_if(line.begin(), line.end(),
                         [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// ---------------------------------------------------------------- table

TEST(ScanTable, GroupsByPackageWithAlignedColumnsAndSummary) {
    std::string table = to_table(realistic_report(), {false, 0});
    auto lines = lines_of(table);
    EXPECT_EQ(table.find('\033'), std::string::npos) << "colour codes without color";

    // One heading per package, the source in parentheses when it differs.
    for (std::string heading : {"libc6 2.36-9+deb12u1 (glibc)", "libssl3 3.0.11-1~deb12u1 (openssl)",
                                "zlib1g 1:1.2.13.dfsg-1 (zlib)"})
        EXPECT_EQ(std::count(lines.begin(), lines.end(), heading), 1) << heading << "\n" << table;

    // Every finding line has each column at the header's offset.
    const std::string& header = lines.at(0);
    auto at = [&](const std::string& label) { return header.find(label); };
    ASSERT_NE(at("VULNERABILITY"), std::string::npos) << table;
    std::size_t severity = at("SEVERITY"), state = at("STATE"), fixed = at("FIXED IN"), advisories = at("ADVISORIES"),
                description = at("DESCRIPTION");
    ASSERT_TRUE(severity < state && state < fixed && fixed < advisories && advisories < description) << header;
    int finding_lines = 0;
    for (const auto& line : lines) {
        if (!line.starts_with("  CVE-")) continue;
        if (line.find(" vex ") != std::string::npos || line.find(" ignore ") != std::string::npos) continue;
        ++finding_lines;
        EXPECT_EQ(line[severity - 1], ' ') << line;
        EXPECT_NE(line[severity], ' ') << line;
        EXPECT_EQ(line[state - 1], ' ') << line;
        EXPECT_NE(line[state], ' ') << line;
        EXPECT_NE(line[fixed], ' ') << line;
        EXPECT_EQ(line[description - 1], ' ') << line;
        EXPECT_NE(line[description], ' ') << line;
    }
    EXPECT_EQ(finding_lines, 5);

    auto line_of = [&](const std::string& id) {
        for (const auto& line : lines)
            if (line.starts_with("  " + id + " ")) return line;
        return std::string();
    };
    std::string medium = line_of("CVE-2023-5678");
    EXPECT_EQ(medium.substr(severity, 6), "medium");
    EXPECT_EQ(medium.substr(state, 5), "fixed");
    EXPECT_EQ(medium.substr(fixed, 17), "3.0.11-1~deb12u2 ");
    EXPECT_EQ(medium.substr(advisories, 11), "DSA-5532-1 ");
    EXPECT_EQ(line_of("CVE-2023-4911").substr(advisories, 11), "DSA-5514-1 ");
    EXPECT_EQ(medium.find("DEBIAN-CVE-2023-5678"), std::string::npos) << "the CVE's own ids are not repeated";
    EXPECT_NE(medium.find("excessive time spent in DH check"), std::string::npos);
    std::string open = line_of("CVE-2025-4802");
    EXPECT_EQ(open.substr(state, 10), "not-fixed ");
    EXPECT_EQ(open.substr(fixed, 2), "- ");

    // Within libssl3, the report's order (most severe first) is kept.
    EXPECT_LT(table.find("CVE-2024-5535"), table.find("CVE-2023-5678"));

    // Suppressed section, then the summary.
    auto suppressed = std::find(lines.begin(), lines.end(), "Suppressed (2)");
    ASSERT_NE(suppressed, lines.end()) << table;
    std::string vex = line_of("CVE-2023-5156");
    EXPECT_NE(vex.find("libc6 2.36-9+deb12u1"), std::string::npos);
    EXPECT_NE(vex.find(" vex "), std::string::npos);
    EXPECT_NE(vex.find(" not_affected "), std::string::npos);
    EXPECT_TRUE(vex.ends_with("vulnerable_code_not_in_execute_path")) << vex;
    std::string ignored = line_of("CVE-2023-31484");
    EXPECT_NE(ignored.find(" ignore "), std::string::npos) << ignored;
    EXPECT_NE(ignored.find(" ignored "), std::string::npos) << ignored;
    EXPECT_TRUE(ignored.ends_with(" CPAN is never used in production")) << ignored;
    EXPECT_EQ(lines.at(lines.size() - 2),
              "5 vulnerabilities in 3 packages (2 critical, 1 high, 1 medium, 1 low), 3 fixable, 2 suppressed");
    EXPECT_EQ(lines.back(), "3 hidden as negligible or undetermined: --show-negligible, --show-undetermined");
    for (const auto& line : lines) EXPECT_FALSE(line.ends_with(" ")) << "trailing blanks: '" << line << "'";
}

TEST(ScanTable, GroupsWhateverTheInputOrder) {
    ScanReport report = realistic_report();
    std::rotate(report.matches.begin(), report.matches.begin() + 1, report.matches.end());  // libc6 split in two
    auto lines = lines_of(to_table(report, {}));
    EXPECT_EQ(std::count(lines.begin(), lines.end(), "libc6 2.36-9+deb12u1 (glibc)"), 1);
}

TEST(ScanTable, FitsTheWidthByCuttingDescriptionsNeverIds) {
    ScanReport report = realistic_report();
    report.matches[3].description = std::string(300, 'x') + " tail";
    report.matches[3].advisories = {"DSA-5532-1", "DLA-3684-1", "DLA-3685-1", "DEBIAN-CVE-2023-5678"};
    for (std::size_t width : {120u, 100u, 80u, 72u}) {
        std::string table = to_table(report, {false, width});
        for (const auto& line : lines_of(table)) EXPECT_LE(columns(line), width) << line;
        EXPECT_NE(table.find("CVE-2023-5678"), std::string::npos);
        EXPECT_NE(table.find("3.0.11-1~deb12u2"), std::string::npos) << "versions are never cut";
        EXPECT_EQ(table.find(" tail"), std::string::npos);
    }
    // At 100 columns the description is cut with "...", the advisory list shortened with "+N".
    std::string table = to_table(report, {false, 100});
    EXPECT_NE(table.find("xxx..."), std::string::npos) << table;
    EXPECT_TRUE(std::regex_search(table, std::regex("DSA-5532-1(, DLA-3684-1)? \\+[0-9]"))) << table;
    // Without a limit nothing is cut.
    std::string unlimited = to_table(report, {false, 0});
    EXPECT_NE(unlimited.find(std::string(300, 'x') + " tail"), std::string::npos);
    EXPECT_NE(unlimited.find("DSA-5532-1, DLA-3684-1, DLA-3685-1  xxx"), std::string::npos) << unlimited;
}

TEST(ScanTable, ColoursSeveritiesOnlyWhenAsked) {
    std::string table = to_table(realistic_report(), {true, 0});
    EXPECT_NE(table.find("\033[1;31mcritical\033[0m"), std::string::npos) << "critical: bold red";
    EXPECT_NE(table.find("\033[31mhigh\033[0m"), std::string::npos) << "high: red";
    EXPECT_NE(table.find("\033[33mmedium\033[0m"), std::string::npos) << "medium: yellow";
    EXPECT_NE(table.find("\033[36mlow\033[0m"), std::string::npos) << "low: cyan";
    ScanReport report = realistic_report();
    report.matches[1].severity = Severity::Negligible;
    EXPECT_NE(to_table(report, {true, 0}).find("\033[2mnegligible\033[0m"), std::string::npos) << "negligible: dim";
    // Colour codes do not count towards alignment: stripped, the table is the plain one.
    std::string stripped = std::regex_replace(table, std::regex("\033\\[[0-9;]*m"), "");
    EXPECT_EQ(stripped, to_table(realistic_report(), {false, 0}));
}

TEST(ScanTable, NeverPassesControlCharactersToTheTerminal) {
    ScanReport report = realistic_report();
    report.matches[0].description = "evil \033]0;owned\007 \033[2J\r\nnext \xC2\x9B" "31m \xff end";
    report.matches[0].package = "libc6\033[8m";
    std::string table = to_table(report, {false, 0});
    EXPECT_EQ(table.find('\033'), std::string::npos);
    EXPECT_EQ(table.find('\007'), std::string::npos);
    EXPECT_EQ(table.find('\r'), std::string::npos);
    EXPECT_EQ(table.find("\xC2\x9B"), std::string::npos) << "C1 CSI";
    EXPECT_NE(table.find("evil  ]0;owned"), std::string::npos) << table;
    EXPECT_NE(table.find("? end"), std::string::npos) << "invalid UTF-8 replaced";
}

TEST(ScanTable, EmptyReport) {
    EXPECT_EQ(to_table(empty_report(), {}), "No vulnerabilities found in 42 packages\n");
    ScanReport report = empty_report();
    report.summary.hidden = 1;
    report.summary.packages = 1;
    EXPECT_EQ(to_table(report, {true, 80}),
              "No vulnerabilities found in 1 package\n"
              "1 hidden as negligible or undetermined: --show-negligible, --show-undetermined\n");
    // Everything suppressed: the section is still shown.
    report.suppressed = realistic_report().suppressed;
    std::string table = to_table(report, {});
    EXPECT_NE(table.find("Suppressed (2)"), std::string::npos);
    EXPECT_NE(table.find("No vulnerabilities found in 1 package, 2 suppressed\n"), std::string::npos) << table;
}

// ---------------------------------------------------------------- JSON

std::vector<std::string> keys_of(const OrderedJson& object) {
    std::vector<std::string> keys;
    for (const auto& item : object.items()) keys.push_back(item.key());
    return keys;
}

TEST(ScanJson, DocumentedShapeWithFixedKeyOrder) {
    std::string text = to_json(realistic_report());
    EXPECT_TRUE(text.starts_with("{\n  \"target\": {\n    \"name\": \"127.0.0.1:5000/app:1.0\","))
        << text.substr(0, 80);
    EXPECT_TRUE(text.ends_with("}\n"));
    auto doc = OrderedJson::parse(text);

    EXPECT_EQ(keys_of(doc), (std::vector<std::string>{"target", "distro", "database", "matches", "suppressed",
                                                      "warnings", "summary"}));
    EXPECT_EQ(doc["target"], OrderedJson::parse(R"({"name": "127.0.0.1:5000/app:1.0", "digest": ")" + Digest +
                                                R"(", "platform": "linux/amd64", "kind": "image"})"));
    EXPECT_EQ(keys_of(doc["distro"]), (std::vector<std::string>{"id", "version", "codename"}));
    EXPECT_EQ(doc["distro"]["codename"], "bookworm");
    EXPECT_EQ(doc["database"]["built"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(doc["database"]["feeds"], json::parse(R"(["debian-tracker", "osv"])"));

    const std::vector<std::string> FindingKeys{"vulnerability", "aliases",      "package",     "version",
                                               "source",        "source_version", "purl",      "fixed_version",
                                               "state",         "severity",     "cvss",        "cvss_vector",
                                               "urgency",       "advisories",   "description"};
    ASSERT_EQ(doc["matches"].size(), 5u);
    for (const auto& match : doc["matches"]) EXPECT_EQ(keys_of(match), FindingKeys);
    const auto& glibc = doc["matches"][0];
    EXPECT_EQ(glibc["vulnerability"], "CVE-2023-4911");
    EXPECT_EQ(glibc["source"], "glibc");
    EXPECT_EQ(glibc["fixed_version"], "2.36-9+deb12u3");
    EXPECT_EQ(glibc["state"], "fixed");
    EXPECT_EQ(glibc["severity"], "high");
    EXPECT_TRUE(glibc["cvss"].is_number());
    EXPECT_DOUBLE_EQ(glibc["cvss"].get<double>(), 7.8);
    EXPECT_EQ(glibc["advisories"], json::parse(R"(["DSA-5514-1", "DEBIAN-CVE-2023-4911", "CVE-2023-4911"])"));
    const auto& open = doc["matches"][1];
    EXPECT_TRUE(open["cvss"].is_null()) << "no score is null, not 0";
    EXPECT_EQ(open["state"], "not-fixed");
    EXPECT_EQ(open["fixed_version"], "");
    EXPECT_EQ(doc["matches"][4]["state"], "wont-fix");
    EXPECT_EQ(doc["matches"][2]["aliases"], json::parse(R"(["GHSA-4fh2-3m9p-5q6r"])"));

    ASSERT_EQ(doc["suppressed"].size(), 2u);
    auto suppressed_keys = FindingKeys;
    suppressed_keys.push_back("suppression");
    EXPECT_EQ(keys_of(doc["suppressed"][0]), suppressed_keys);
    EXPECT_EQ(keys_of(doc["suppressed"][0]["suppression"]),
              (std::vector<std::string>{"by", "status", "justification", "statement", "origin"}));
    EXPECT_EQ(doc["suppressed"][0]["suppression"]["status"], "not_affected");
    EXPECT_EQ(doc["suppressed"][1]["suppression"]["origin"], ".slate-ignore.yaml");
    EXPECT_EQ(doc["warnings"][0], "ignore rule for CVE-2022-0001 expired on 2026-01-01");

    const auto& summary = doc["summary"];
    EXPECT_EQ(keys_of(summary), (std::vector<std::string>{"packages", "matches", "suppressed", "hidden", "by_severity",
                                                          "by_state"}));
    EXPECT_EQ(summary["packages"], 87);
    EXPECT_EQ(summary["hidden"], 3);
    EXPECT_EQ(summary["by_severity"], OrderedJson::parse(R"({"critical": 2, "high": 1, "medium": 1, "low": 1,
                                                             "negligible": 0, "unknown": 0})"));
    EXPECT_EQ(keys_of(summary["by_severity"]),
              (std::vector<std::string>{"critical", "high", "medium", "low", "negligible", "unknown"}));
    EXPECT_EQ(keys_of(summary["by_state"]), (std::vector<std::string>{"fixed", "not-fixed", "wont-fix",
                                                                       "fix-deferred", "end-of-life", "undetermined"}));
    EXPECT_EQ(summary["by_state"]["wont-fix"], 1);
    EXPECT_EQ(summary["by_state"]["end-of-life"], 0);
}

TEST(ScanJson, EmptyReportKeepsTheShape) {
    ScanReport report = empty_report();
    report.database.built = 0;
    auto doc = OrderedJson::parse(to_json(report));
    EXPECT_EQ(doc["matches"], OrderedJson::array());
    EXPECT_EQ(doc["suppressed"], OrderedJson::array());
    EXPECT_EQ(doc["warnings"], OrderedJson::array());
    EXPECT_TRUE(doc["database"]["built"].is_null()) << "unknown build time";
    EXPECT_EQ(doc["summary"]["by_severity"].size(), 6u);
    EXPECT_EQ(doc["summary"]["by_state"].size(), 6u);
    EXPECT_EQ(doc["summary"]["packages"], 42);
}

TEST(CosignVuln, WrapsTheJsonReportInCosignsPredicate) {
    ScanReport report = realistic_report();
    auto predicate = OrderedJson::parse(to_cosign_vuln(report, 1700000000, 1700000002));
    EXPECT_EQ(keys_of(predicate), (std::vector<std::string>{"invocation", "scanner", "metadata"}));
    EXPECT_EQ(predicate["scanner"]["version"], SLATE_VERSION);
    EXPECT_EQ(predicate["scanner"]["db"]["uri"], report.database.path);
    EXPECT_EQ(predicate["scanner"]["result"], OrderedJson::parse(to_json(report)));
    EXPECT_EQ(predicate["metadata"]["scanStartedOn"], "2023-11-14T22:13:20Z");
    EXPECT_EQ(predicate["metadata"]["scanFinishedOn"], "2023-11-14T22:13:22Z");
    EXPECT_TRUE(predicate["invocation"]["parameters"].is_null());
}

TEST(ScanJson, InvalidUtf8IsRepairedNotFatal) {
    ScanReport report = realistic_report();
    report.matches[0].description = "bad \xff byte";
    auto doc = json::parse(to_json(report));
    EXPECT_EQ(doc["matches"][0]["description"], "bad \xEF\xBF\xBD byte");
}

// ---------------------------------------------------------------- SARIF

TEST(ScanSarif, RequiredPropertiesRulesAndResults) {
    ScanReport report = realistic_report();
    auto doc = json::parse(to_sarif(report));
    EXPECT_EQ(doc["version"], "2.1.0");
    EXPECT_EQ(doc["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
    ASSERT_EQ(doc["runs"].size(), 1u);
    const auto& run = doc["runs"][0];
    const auto& driver = run["tool"]["driver"];
    EXPECT_EQ(driver["name"], "slate");
    EXPECT_EQ(driver["version"], std::string(ToolVersion));

    // One rule per vulnerability id, each once.
    std::set<std::string> rule_ids;
    for (const auto& rule : driver["rules"]) {
        EXPECT_TRUE(rule_ids.insert(rule["id"].get<std::string>()).second) << rule["id"];
        EXPECT_FALSE(rule["shortDescription"]["text"].get<std::string>().empty());
        EXPECT_EQ(rule["helpUri"], advisory_url(rule["id"].get<std::string>()));
        EXPECT_TRUE(rule["properties"]["tags"].is_array());
    }
    EXPECT_EQ(rule_ids, (std::set<std::string>{"CVE-2023-4911", "CVE-2025-4802", "CVE-2024-5535", "CVE-2023-5678",
                                               "CVE-2023-45853"}));

    // One result per shown finding; suppressed ones are left out.
    ASSERT_EQ(run["results"].size(), 5u);
    for (const auto& result : run["results"]) {
        std::string id = result["ruleId"];
        EXPECT_TRUE(rule_ids.contains(id));
        EXPECT_EQ(driver["rules"][result["ruleIndex"].get<std::size_t>()]["id"], id);
        EXPECT_FALSE(result["message"]["text"].get<std::string>().empty());
        const auto& location = result["locations"][0];
        EXPECT_EQ(location["physicalLocation"]["artifactLocation"]["uri"], "127.0.0.1%3A5000/app%3A1.0");
        EXPECT_EQ(location["physicalLocation"]["region"]["startLine"], 1);
        EXPECT_TRUE(location["logicalLocations"][0]["fullyQualifiedName"].get<std::string>().starts_with("pkg:deb/"));
    }
    auto result_for = [&](const std::string& id) {
        for (const auto& result : run["results"])
            if (result["ruleId"] == id) return result;
        return json();
    };
    auto rule_for = [&](const std::string& id) {
        for (const auto& rule : driver["rules"])
            if (rule["id"] == id) return rule;
        return json();
    };
    EXPECT_EQ(result_for("CVE-2024-5535")["level"], "error");
    EXPECT_EQ(result_for("CVE-2023-4911")["level"], "error");
    EXPECT_EQ(result_for("CVE-2023-5678")["level"], "warning");
    EXPECT_EQ(result_for("CVE-2025-4802")["level"], "note");

    std::string message = result_for("CVE-2023-5678")["message"]["text"];
    EXPECT_NE(message.find("libssl3 3.0.11-1~deb12u1"), std::string::npos) << message;
    EXPECT_NE(message.find("3.0.11-1~deb12u2"), std::string::npos) << message;
    std::string unfixed = result_for("CVE-2023-45853")["message"]["text"];
    EXPECT_NE(unfixed.find("No fix available in Debian 12 (bookworm): wont-fix"), std::string::npos) << unfixed;
    EXPECT_EQ(result_for("CVE-2023-5678")["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
              report.matches[3].purl);

    EXPECT_EQ(rule_for("CVE-2023-45853")["properties"]["security-severity"], "9.8");
    EXPECT_EQ(rule_for("CVE-2025-4802")["properties"]["security-severity"], "1.0") << "low, without a CVSS score";
    EXPECT_NE(rule_for("CVE-2023-5678")["help"]["markdown"].get<std::string>().find("[DSA-5532-1]("),
              std::string::npos);
}

TEST(ScanSarif, EmptyReportIsAValidRunWithNoResults) {
    auto doc = json::parse(to_sarif(empty_report()));
    EXPECT_EQ(doc["runs"][0]["results"], json::array());
    EXPECT_EQ(doc["runs"][0]["tool"]["driver"]["rules"], json::array());
    EXPECT_EQ(doc["runs"][0]["tool"]["driver"]["name"], "slate");
}

TEST(ScanAdvisoryUrl, PointsAtTheRightDatabase) {
    for (std::string id : {"CVE-2023-5678", "DSA-5532-1", "DLA-3684-1"}) {
        std::string url = advisory_url(id);
        EXPECT_TRUE(url.starts_with("https://security-tracker.")) << url;
        EXPECT_TRUE(url.ends_with("/tracker/" + id)) << url;
    }
    EXPECT_EQ(advisory_url("GHSA-4fh2-3m9p-5q6r"), "https://github.com/advisories/GHSA-4fh2-3m9p-5q6r");
    EXPECT_EQ(advisory_url("DEBIAN-CVE-2023-5678"), "https://osv.dev/vulnerability/DEBIAN-CVE-2023-5678");
}

// ---------------------------------------------------------------- CycloneDX

class ScanVexOutput : public ::testing::Test {
protected:
    void expect_valid_cyclonedx(const std::string& text) {
        EXPECT_EQ(m_cyclonedx.errors("bom-1.6.schema.json", text), "") << text.substr(0, 3000);
    }
    void expect_valid_openvex(const std::string& text) {
        EXPECT_EQ(m_openvex.errors("openvex_json_schema.json", text), "") << text.substr(0, 3000);
    }
    test::JsonSchemaValidator m_cyclonedx{test::shared_schemas() / "cyclonedx-1.6"};
    test::JsonSchemaValidator m_openvex{test::shared_schemas() / "openvex"};
};

TEST_F(ScanVexOutput, CycloneDxIsValidAndSaysWhatWasFound) {
    ScanReport report = realistic_report();
    std::string text = to_cyclonedx(report, Timestamp);
    expect_valid_cyclonedx(text);
    auto doc = json::parse(text);
    EXPECT_EQ(doc["specVersion"], "1.6");
    const std::regex Uuid5("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(std::regex_match(doc["serialNumber"].get<std::string>(), Uuid5))
        << doc["serialNumber"];
    EXPECT_EQ(doc["metadata"]["timestamp"], "2026-11-23T00:00:00Z");
    EXPECT_EQ(doc["metadata"]["tools"]["components"][0]["name"], "slate");
    EXPECT_EQ(doc["metadata"]["component"]["type"], "container");
    EXPECT_EQ(doc["metadata"]["component"]["version"], Digest);
    EXPECT_TRUE(doc["metadata"]["component"]["purl"].get<std::string>().starts_with("pkg:oci/app@sha256:"));

    // Each affected package once, bom-ref = purl.
    std::set<std::string> refs;
    for (const auto& component : doc["components"]) {
        EXPECT_EQ(component["bom-ref"], component["purl"]);
        refs.insert(component["bom-ref"].get<std::string>());
    }
    EXPECT_EQ(refs.size(), 4u) << "libc6, libssl3, zlib1g, perl-base";
    EXPECT_TRUE(refs.contains(report.matches[2].purl));

    ASSERT_EQ(doc["vulnerabilities"].size(), 7u);
    for (const auto& v : doc["vulnerabilities"]) {
        EXPECT_TRUE(refs.contains(v["affects"][0]["ref"].get<std::string>())) << v["affects"];
        EXPECT_EQ(v["source"]["name"], "Debian");
    }
    auto vuln = [&](const std::string& id) {
        for (const auto& v : doc["vulnerabilities"])
            if (v["id"] == id) return v;
        return json();
    };
    const auto ssl = vuln("CVE-2023-5678");
    EXPECT_EQ(ssl["ratings"][0], json::parse(R"({"score": 5.3, "severity": "medium", "method": "CVSSv31",
                                                 "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"})"));
    EXPECT_EQ(ssl["ratings"][1]["source"]["name"], "Debian");
    EXPECT_EQ(ssl["ratings"][1]["severity"], "medium");
    EXPECT_EQ(ssl["ratings"][1]["method"], "other");
    EXPECT_EQ(ssl["recommendation"], "Upgrade libssl3 to 3.0.11-1~deb12u2");
    std::set<std::string> titles;
    for (const auto& advisory : ssl["advisories"]) titles.insert(advisory["title"].get<std::string>());
    EXPECT_EQ(titles, (std::set<std::string>{"DSA-5532-1", "DEBIAN-CVE-2023-5678", "CVE-2023-5678"}));
    EXPECT_EQ(ssl["affects"][0]["versions"][0],
              json::parse(R"({"version": "3.0.11-1~deb12u1", "status": "affected"})"));
    EXPECT_FALSE(ssl.contains("analysis"));
    EXPECT_EQ(vuln("CVE-2024-5535")["references"][0]["id"], "GHSA-4fh2-3m9p-5q6r");
    EXPECT_EQ(vuln("CVE-2023-45853")["ratings"][1]["severity"], "info") << "unimportant";
    EXPECT_FALSE(vuln("CVE-2023-45853").contains("recommendation")) << "no fix, no recommendation";
    EXPECT_EQ(vuln("CVE-2023-4911")["published"], "2023-10-03T18:15:10Z");

    const auto vex = vuln("CVE-2023-5156");
    EXPECT_EQ(vex["analysis"]["state"], "not_affected");
    EXPECT_EQ(vex["analysis"]["justification"], "code_not_reachable");
    EXPECT_EQ(vex["analysis"]["detail"], "The application never calls getaddrinfo with AF_UNSPEC.");
    EXPECT_EQ(vex["affects"][0]["versions"][0]["status"], "unaffected");
    const auto ignored = vuln("CVE-2023-31484");
    EXPECT_FALSE(ignored["analysis"].contains("state")) << "an ignore rule says nothing about exploitability";
    EXPECT_NE(ignored["analysis"]["detail"].get<std::string>().find(".slate-ignore.yaml"), std::string::npos);
    EXPECT_EQ(ignored["affects"][0]["versions"][0]["status"], "affected");
}

TEST_F(ScanVexOutput, CycloneDxIsDeterministicAndSerialsDiffer) {
    ScanReport report = realistic_report();
    std::string first = to_cyclonedx(report, Timestamp);
    EXPECT_EQ(first, to_cyclonedx(report, Timestamp));
    auto serial = [](const std::string& text) { return json::parse(text)["serialNumber"].get<std::string>(); };
    ScanReport later = report;
    later.scanned_at += 60;
    EXPECT_NE(serial(first), serial(to_cyclonedx(later, Timestamp)));
    ScanReport arm = report;
    arm.target.platform = "linux/arm64";
    EXPECT_NE(serial(first), serial(to_cyclonedx(arm, Timestamp)));
    ScanReport fewer = report;
    fewer.matches.pop_back();
    EXPECT_NE(serial(first), serial(to_cyclonedx(fewer, Timestamp)));
}

TEST_F(ScanVexOutput, CycloneDxOfAnEmptyScanOrOddInputIsValid) {
    std::string text = to_cyclonedx(empty_report(), Timestamp);
    expect_valid_cyclonedx(text);
    auto doc = json::parse(text);
    EXPECT_EQ(doc["vulnerabilities"], json::array());
    EXPECT_EQ(doc["metadata"]["component"]["name"], "rootfs/");
    EXPECT_FALSE(doc["metadata"]["component"].contains("purl")) << "a directory has no image purl";

    // No purl from the matcher, a CVSS v2 and a v4 vector, a CycloneDX
    // justification, a malformed published date.
    ScanReport report = realistic_report();
    report.matches[0].purl.clear();
    report.matches[0].published = "yesterday";
    report.matches[2].cvss_vector = "AV:N/AC:L/Au:N/C:P/I:P/A:P";
    report.matches[2].cvss = 7.5;
    report.matches[4].cvss_vector = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
    report.suppressed[0].justification = "protected_at_runtime";
    report.suppressed[0].status = "fixed";
    text = to_cyclonedx(report, Timestamp);
    expect_valid_cyclonedx(text);
    doc = json::parse(text);
    EXPECT_EQ(doc["vulnerabilities"][0]["affects"][0]["ref"],
              "pkg:deb/debian/libc6@2.36-9%2Bdeb12u1?distro=debian-12&upstream=glibc");
    EXPECT_FALSE(doc["vulnerabilities"][0].contains("published"));
    EXPECT_EQ(doc["vulnerabilities"][2]["ratings"][0]["method"], "CVSSv2");
    EXPECT_EQ(doc["vulnerabilities"][2]["ratings"][0]["severity"], "high");
    EXPECT_EQ(doc["vulnerabilities"][4]["ratings"][0]["method"], "CVSSv4");
    EXPECT_EQ(doc["vulnerabilities"][5]["analysis"]["state"], "resolved");
    EXPECT_EQ(doc["vulnerabilities"][5]["analysis"]["justification"], "protected_at_runtime");
}

// ---------------------------------------------------------------- OpenVEX

TEST_F(ScanVexOutput, OpenVexIsValidWithTheImageAsProduct) {
    ScanReport report = realistic_report();
    std::string text = to_openvex(report, Timestamp, "Security Team <security@example.com>");
    expect_valid_openvex(text);
    auto doc = json::parse(text);
    EXPECT_EQ(doc["@context"], "https://openvex.dev/ns/v0.2.0");
    EXPECT_TRUE(std::regex_match(doc["@id"].get<std::string>(),
                                 std::regex("https://openvex\\.dev/docs/public/vex-[0-9a-f]{64}")));
    EXPECT_EQ(doc["author"], "Security Team <security@example.com>");
    EXPECT_EQ(doc["timestamp"], "2026-11-23T00:00:00Z");
    EXPECT_EQ(doc["version"], 1);
    ASSERT_EQ(doc["statements"].size(), 7u);

    const std::string image =
        "pkg:oci/app@sha256:" + std::string(64, 'a') + "?arch=amd64&repository_url=127.0.0.1:5000/app&tag=1.0";
    auto statement = [&](const std::string& id) {
        for (const auto& s : doc["statements"])
            if (s["vulnerability"]["name"] == id) return s;
        return json();
    };
    const auto ssl = statement("CVE-2023-5678");
    EXPECT_EQ(ssl["status"], "affected");
    EXPECT_EQ(ssl["action_statement"], "Upgrade libssl3 to 3.0.11-1~deb12u2");
    EXPECT_EQ(ssl["products"], json::parse(R"([{"@id": ")" + image + R"(", "subcomponents": [{"@id": ")" +
                                           report.matches[3].purl + R"("}]}])"));
    EXPECT_EQ(ssl["vulnerability"]["@id"], advisory_url("CVE-2023-5678"));
    EXPECT_EQ(statement("CVE-2024-5535")["vulnerability"]["aliases"], json::parse(R"(["GHSA-4fh2-3m9p-5q6r"])"));
    EXPECT_EQ(statement("CVE-2023-45853")["action_statement"], "No fix available in Debian 12 (bookworm): wont-fix");

    const auto vex = statement("CVE-2023-5156");
    EXPECT_EQ(vex["status"], "not_affected");
    EXPECT_EQ(vex["justification"], "vulnerable_code_not_in_execute_path");
    EXPECT_EQ(vex["impact_statement"], "The application never calls getaddrinfo with AF_UNSPEC.");
    EXPECT_FALSE(vex.contains("action_statement"));
    const auto ignored = statement("CVE-2023-31484");
    EXPECT_EQ(ignored["status"], "affected") << "ignoring is not a VEX statement";
    EXPECT_NE(ignored["status_notes"].get<std::string>().find("CPAN is never used in production"), std::string::npos);
    EXPECT_FALSE(ignored["action_statement"].get<std::string>().empty());
}

TEST_F(ScanVexOutput, OpenVexWithoutAnImageNamesThePackage) {
    ScanReport report = realistic_report();
    report.target = {"rootfs/", "", "", "directory"};
    report.suppressed[0].justification = "code_not_present";  // a CycloneDX justification
    report.suppressed[0].statement.clear();
    std::string text = to_openvex(report, Timestamp, "");
    expect_valid_openvex(text);
    auto doc = json::parse(text);
    EXPECT_EQ(doc["author"], "Unknown Author");
    EXPECT_EQ(doc["statements"][0]["products"], json::parse(R"([{"@id": ")" + report.matches[0].purl + R"("}])"));
    EXPECT_EQ(doc["statements"][5]["justification"], "vulnerable_code_not_present");

    // A free-text justification becomes the impact statement.
    report.suppressed[0].justification = "we patched it ourselves";
    doc = json::parse(to_openvex(report, Timestamp, ""));
    EXPECT_FALSE(doc["statements"][5].contains("justification"));
    EXPECT_EQ(doc["statements"][5]["impact_statement"], "we patched it ourselves");
    expect_valid_openvex(doc.dump());
}

TEST_F(ScanVexOutput, OpenVexIsDeterministicAndNeedsAStatement) {
    ScanReport report = realistic_report();
    std::string first = to_openvex(report, Timestamp, "me");
    EXPECT_EQ(first, to_openvex(report, Timestamp, "me"));
    EXPECT_NE(json::parse(first)["@id"], json::parse(to_openvex(report, Timestamp, "you"))["@id"]);
    EXPECT_NE(json::parse(first)["@id"], json::parse(to_openvex(report, Timestamp + 1, "me"))["@id"]);

    try {
        to_openvex(empty_report(), Timestamp, "me");
        FAIL() << "an OpenVEX document without statements";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Usage);
        EXPECT_NE(e.message().find("rootfs/"), std::string::npos) << e.message();
        EXPECT_NE(e.message().find("at least one statement"), std::string::npos) << e.message();
        EXPECT_FALSE(e.hint().empty());
    }
}

TEST(ScanWriters, EveryFormatGivesTheSameBytes) {
    const ScanReport report = realistic_report();
    EXPECT_EQ(to_table(report, {true, 100}), to_table(realistic_report(), {true, 100}));
    EXPECT_EQ(to_json(report), to_json(realistic_report()));
    EXPECT_EQ(to_sarif(report), to_sarif(realistic_report()));
    EXPECT_EQ(to_cyclonedx(report, Timestamp), to_cyclonedx(realistic_report(), Timestamp));
    EXPECT_EQ(to_openvex(report, Timestamp, "me"), to_openvex(realistic_report(), Timestamp, "me"));
}

}  // namespace
}  // namespace slate::vuln
