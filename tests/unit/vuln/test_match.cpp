// The matching rules against hand-written tracker and OSV fixtures
// (tests/unit/vuln/data): epochs, binNMUs, ~ backports, +debNuM updates,
// Debian's triage states, several releases in one record, withdrawn records,
// merged duplicates, VEX and ignore rules.

#include <gtest/gtest.h>

#include "support/expect.hpp"
#include "slate/vuln/match.hpp"
#include "vuln_fixture.hpp"

namespace slate::vuln {
namespace {

namespace fs = std::filesystem;
using test::bookworm_catalog;
using test::vuln_data;

constexpr std::int64_t Now = 1795000000;  // 2026-11-18

class VulnMatch : public ::testing::Test {
protected:
    void SetUp() override {
        m_db_path = m_dir.path() / "vuln.db";
        import_feeds(m_db_path, {{.path = vuln_data() / "tracker.json"}, {.path = vuln_data() / "osv"}}, Now);
    }
    ScanReport scan(const sbom::Catalog& catalog, ScanOptions options = {}, const std::vector<VexStatement>& vex = {},
                    const IgnoreRules& ignore = {}) {
        Database db(m_db_path);
        if (options.now == 0) options.now = Now;
        return scan_catalog(db, catalog, options, vex, ignore);
    }
    static const Finding* find(const std::vector<Finding>& findings, const std::string& id, const std::string& package) {
        for (const auto& f : findings)
            if (f.vulnerability == id && f.package == package) return &f;
        return nullptr;
    }
    static std::vector<std::string> ids_of(const ScanReport& report, const std::string& package) {
        std::vector<std::string> out;
        for (const auto& f : report.matches)
            if (f.package == package) out.push_back(f.vulnerability);
        std::sort(out.begin(), out.end());
        return out;
    }

    test::TempDir m_dir;
    fs::path m_db_path;
};

TEST_F(VulnMatch, MatchesTheSourceVersionNotTheBinaryEpochOrBinNmu) {
    ScanReport report = scan(bookworm_catalog());
    // bsdutils 1:2.38.1-5+b1 is built from util-linux 2.38.1-5: compared as
    // the binary, its epoch would hide the fix in 2.38.1-5+deb12u1.
    const Finding* wall = find(report.matches, "CVE-2024-28085", "bsdutils");
    ASSERT_NE(wall, nullptr);
    EXPECT_EQ(wall->version, "1:2.38.1-5+b1");
    EXPECT_EQ(wall->source, "util-linux");
    EXPECT_EQ(wall->source_version, "2.38.1-5");
    EXPECT_EQ(wall->state, FixState::Fixed);
    EXPECT_EQ(wall->fixed_version, "2.38.1-5+deb12u1");  // bookworm's, not bullseye's or sid's
    EXPECT_EQ(wall->severity, Severity::Low);
    EXPECT_EQ(wall->advisories, std::vector<std::string>{"CVE-2024-28085"});
    ASSERT_NE(find(report.matches, "CVE-2024-28085", "libblkid1"), nullptr);

    // An OSV range with last_affected that contains the installed version.
    const Finding* ranged = find(report.matches, "CVE-2024-5555", "libblkid1");
    ASSERT_NE(ranged, nullptr);
    EXPECT_EQ(ranged->state, FixState::NotFixed);
    ASSERT_TRUE(ranged->cvss);
    EXPECT_DOUBLE_EQ(*ranged->cvss, 5.5);
    EXPECT_EQ(ranged->severity, Severity::Medium);
}

TEST_F(VulnMatch, TheSourceFixedInABinNmuRebuildIsNotAffected) {
    sbom::Catalog catalog = bookworm_catalog();
    catalog.packages = {test::deb_package("bsdutils", "1:2.38.1-5+deb12u1+b1", "util-linux", "2.38.1-5+deb12u1")};
    ScanReport report = scan(catalog);
    EXPECT_EQ(find(report.matches, "CVE-2024-28085", "bsdutils"), nullptr);
    // 2.38.1-5+deb12u1 is above last_affected 2.38.1-5.
    EXPECT_EQ(find(report.matches, "CVE-2024-5555", "bsdutils"), nullptr);
}

TEST_F(VulnMatch, BackportVersionsWithTildeOrderAsDpkgDoes) {
    ScanReport report = scan(bookworm_catalog());
    // 3.0.11-1~deb12u1 < 3.0.11-1~deb12u2: affected, fixed by the security upload.
    const Finding* f = find(report.matches, "CVE-2024-1111", "libssl3");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->fixed_version, "3.0.11-1~deb12u2");
    // Fixed in 3.0.9-1, which is older than 3.0.11-1~deb12u1: not affected.
    EXPECT_EQ(find(report.matches, "CVE-2023-0002", "libssl3"), nullptr);

    sbom::Catalog later = bookworm_catalog();
    later.packages = {test::deb_package("libssl3", "3.0.11-1~deb12u2", "openssl")};
    EXPECT_TRUE(scan(later).matches.empty());
    // 3.0.11-1 (no ~) sorts after 3.0.11-1~deb12u2: the fix is in it.
    later.packages = {test::deb_package("libssl3", "3.0.11-1", "openssl")};
    EXPECT_TRUE(scan(later).matches.empty());
}

TEST_F(VulnMatch, StableUpdatesWithDebNuMAreFixes) {
    ScanReport report = scan(bookworm_catalog());
    const Finding* f = find(report.matches, "CVE-2023-52425", "libexpat1");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->state, FixState::Fixed);
    EXPECT_EQ(f->fixed_version, "2.5.0-1+deb12u1");
    EXPECT_EQ(f->severity, Severity::Medium);
    // The withdrawn record about expat and the malformed one do not apply.
    EXPECT_EQ(ids_of(report, "libexpat1"), std::vector<std::string>{"CVE-2023-52425"});
}

TEST_F(VulnMatch, DebiansTriageStatesBecomeFixStates) {
    ScanReport report = scan(bookworm_catalog());
    EXPECT_EQ(find(report.matches, "CVE-2025-0001", "libc6")->state, FixState::NotFixed);
    EXPECT_EQ(find(report.matches, "CVE-2023-45853", "zlib1g")->state, FixState::WontFix);
    EXPECT_EQ(find(report.matches, "CVE-2023-39804", "tar")->state, FixState::FixDeferred);
    const Finding* eol = find(report.matches, "CVE-2023-27102", "libde265-0");
    ASSERT_NE(eol, nullptr);
    EXPECT_EQ(eol->state, FixState::EndOfLife);
    EXPECT_EQ(eol->severity, Severity::Unknown);
    // fixed_version "0": bookworm never had the bug, so it is never reported.
    EXPECT_EQ(find(report.matches, "CVE-2023-0001", "libc6"), nullptr);
    // A CVE whose releases list is empty says nothing about bookworm.
    EXPECT_TRUE(ids_of(report, "nginx").empty());
    // Negligible and undetermined findings are hidden and counted.
    EXPECT_EQ(find(report.matches, "CVE-2010-4756", "libc6"), nullptr);
    EXPECT_EQ(find(report.matches, "CVE-2025-0009", "libc6"), nullptr);
    EXPECT_EQ(report.summary.hidden, 2u);
    EXPECT_EQ(ids_of(report, "libc6"), std::vector<std::string>{"CVE-2025-0001"});

    ScanOptions all;
    all.show_negligible = true;
    all.show_undetermined = true;
    ScanReport full = scan(bookworm_catalog(), all);
    const Finding* negligible = find(full.matches, "CVE-2010-4756", "libc6");
    ASSERT_NE(negligible, nullptr);
    EXPECT_EQ(negligible->severity, Severity::Negligible);
    ASSERT_NE(find(full.matches, "CVE-2025-0009", "libc6"), nullptr);
    EXPECT_EQ(find(full.matches, "CVE-2025-0009", "libc6")->state, FixState::Undetermined);
    EXPECT_EQ(full.summary.hidden, 0u);

    ScanOptions fixable;
    fixable.ignore_unfixed = true;
    for (const auto& finding : scan(bookworm_catalog(), fixable).matches)
        EXPECT_EQ(finding.state, FixState::Fixed) << finding.vulnerability;
}

TEST_F(VulnMatch, OnlyTheImagesReleaseApplies) {
    ScanReport report = scan(bookworm_catalog());
    // DLA-3999-1's Debian:11 range would match zlib 1:1.2.13; its Debian:12 one does not.
    EXPECT_EQ(ids_of(report, "zlib1g"), std::vector<std::string>{"CVE-2023-45853"});

    sbom::Catalog bullseye = bookworm_catalog();
    bullseye.os = {"debian", "11", "bullseye", ""};
    ScanReport old = scan(bullseye);
    EXPECT_NE(find(old.matches, "CVE-2024-3333", "zlib1g"), nullptr);
    EXPECT_NE(find(old.matches, "CVE-2023-0001", "libc6"), nullptr);  // open in bullseye
    EXPECT_EQ(find(old.matches, "CVE-2024-1111", "libssl3"), nullptr);  // only bookworm/trixie statements
    EXPECT_EQ(old.distro.version, "11");
}

TEST_F(VulnMatch, OneFindingPerCveAndPackageListingEveryAdvisory) {
    ScanReport report = scan(bookworm_catalog());
    std::size_t count = 0;
    for (const auto& f : report.matches)
        if (f.vulnerability == "CVE-2024-1111" && f.package == "libssl3") ++count;
    EXPECT_EQ(count, 1u);
    const Finding* f = find(report.matches, "CVE-2024-1111", "libssl3");
    EXPECT_EQ(f->advisories, (std::vector<std::string>{"CVE-2024-1111", "DEBIAN-CVE-2024-1111", "DSA-5679-1"}));
    // The DSA's other CVE is not an alias of this one.
    EXPECT_EQ(f->aliases, (std::vector<std::string>{"DEBIAN-CVE-2024-1111", "DSA-5679-1"}));
    // The DSA's CVSS vector decides the severity; the tracker's text the description.
    EXPECT_EQ(f->severity, Severity::Critical);
    EXPECT_EQ(f->urgency, "high");
    EXPECT_EQ(f->description, "A hand-written openssl issue fixed by a stable security upload.");
    // The DSA's second CVE is its own finding, for both binaries of openssl.
    const Finding* second = find(report.matches, "CVE-2024-2222", "openssl");
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(second->advisories, std::vector<std::string>{"DSA-5679-1"});
    EXPECT_EQ(second->source, "openssl");
    EXPECT_EQ(ids_of(report, "openssl"), ids_of(report, "libssl3"));
}

TEST_F(VulnMatch, VexStatementsSuppressNotAffectedFindings) {
    auto vex = read_openvex_file((vuln_data() / "vex.json").string());
    ScanReport report = scan(bookworm_catalog(), {}, vex);
    EXPECT_EQ(find(report.matches, "CVE-2025-0001", "libc6"), nullptr);
    ASSERT_EQ(report.suppressed.size(), 1u);
    const Suppression& s = report.suppressed[0];
    EXPECT_EQ(s.finding.vulnerability, "CVE-2025-0001");
    EXPECT_EQ(s.by, "vex");
    EXPECT_EQ(s.status, "not_affected");
    EXPECT_EQ(s.justification, "vulnerable_code_not_in_execute_path");
    EXPECT_EQ(s.origin, "https://example.com/vex/slate-test-1");
    // under_investigation suppresses nothing.
    EXPECT_NE(find(report.matches, "CVE-2023-52425", "libexpat1"), nullptr);
    EXPECT_EQ(report.summary.suppressed, 1u);
}

TEST_F(VulnMatch, VexProductsMatchByPurl) {
    EXPECT_TRUE(purl_covers("pkg:deb/debian/libc6", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"));
    EXPECT_TRUE(purl_covers("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4", "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64"));
    EXPECT_FALSE(purl_covers("pkg:deb/debian/libc6@2.36-9", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"));
    EXPECT_TRUE(purl_covers("pkg:deb/debian/libc6?arch=amd64", "pkg:deb/debian/libc6@1?arch=amd64&distro=debian-12"));
    EXPECT_FALSE(purl_covers("pkg:deb/debian/libc6?arch=arm64", "pkg:deb/debian/libc6@1?arch=amd64"));
    EXPECT_FALSE(purl_covers("pkg:deb/ubuntu/libc6", "pkg:deb/debian/libc6@1"));
    EXPECT_FALSE(purl_covers("pkg:deb/debian/libc", "pkg:deb/debian/libc6@1"));

    // The source package's purl covers every binary built from it; an image
    // product covers its subcomponents.
    auto vex = parse_openvex(R"({
      "@context": "https://openvex.dev/ns/v0.2.0", "@id": "doc", "timestamp": "2026-01-01T00:00:00Z",
      "statements": [
        {"vulnerability": {"name": "CVE-2024-1111"}, "products": [{"@id": "pkg:deb/debian/openssl?arch=source"}],
         "status": "fixed"},
        {"vulnerability": {"name": "CVE-2023-45853"},
         "products": [{"@id": "pkg:oci/fixture@sha256%3Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                       "subcomponents": [{"@id": "pkg:deb/debian/zlib1g"}]}],
         "status": "not_affected", "justification": "vulnerable_code_not_present"}
      ]})",
                             "inline");
    ScanReport report = scan(bookworm_catalog(), {}, vex);
    EXPECT_EQ(find(report.matches, "CVE-2024-1111", "libssl3"), nullptr);
    EXPECT_EQ(find(report.matches, "CVE-2024-1111", "openssl"), nullptr);
    EXPECT_EQ(find(report.matches, "CVE-2023-45853", "zlib1g"), nullptr);
    EXPECT_EQ(report.suppressed.size(), 3u);

    // The same image statement for another image digest does not apply.
    sbom::Catalog other = bookworm_catalog();
    other.subject.digest = "sha256:" + std::string(64, 'b');
    EXPECT_NE(find(scan(other, {}, vex).matches, "CVE-2023-45853", "zlib1g"), nullptr);
}

TEST_F(VulnMatch, LaterVexStatementsSupersedeEarlierOnes) {
    auto vex = parse_openvex(R"({
      "@context": "https://openvex.dev/ns/v0.2.0", "@id": "doc",
      "statements": [
        {"vulnerability": {"name": "CVE-2025-0001"}, "products": [{"@id": "pkg:deb/debian/libc6"}],
         "status": "not_affected", "justification": "component_not_present", "timestamp": "2026-01-01T00:00:00Z"},
        {"vulnerability": {"name": "CVE-2025-0001"}, "products": [{"@id": "pkg:deb/debian/libc6"}],
         "status": "affected", "timestamp": "2026-02-01T00:00:00Z"}
      ]})",
                             "inline");
    EXPECT_NE(find(scan(bookworm_catalog(), {}, vex).matches, "CVE-2025-0001", "libc6"), nullptr);
}

TEST_F(VulnMatch, IgnoreRulesApplyUntilTheyExpire) {
    IgnoreRules rules = parse_ignore_rules(R"(ignore:
  - id: CVE-2023-39804
    reason: tar is never run on untrusted archives here
    expires: 2027-01-31
  - package: zlib
    state: wont-fix
    reason: accepted until the next review
    expires: 2026-11-01
  - id: DSA-5679-1
    package: libssl3
    reason: an advisory id covers the CVEs it names
)",
                                           ".slateignore.yaml");
    ScanReport report = scan(bookworm_catalog(), {}, {}, rules);
    EXPECT_EQ(find(report.matches, "CVE-2023-39804", "tar"), nullptr);
    EXPECT_EQ(find(report.matches, "CVE-2024-1111", "libssl3"), nullptr);
    EXPECT_EQ(find(report.matches, "CVE-2024-2222", "libssl3"), nullptr);
    EXPECT_NE(find(report.matches, "CVE-2024-1111", "openssl"), nullptr);  // the rule names libssl3 only
    // The expired rule no longer applies, and the report says so.
    EXPECT_NE(find(report.matches, "CVE-2023-45853", "zlib1g"), nullptr);
    ASSERT_EQ(report.warnings.size(), 1u);
    EXPECT_NE(report.warnings[0].find(".slateignore.yaml:5"), std::string::npos) << report.warnings[0];
    EXPECT_NE(report.warnings[0].find("expired on 2026-11-01"), std::string::npos) << report.warnings[0];
    ASSERT_EQ(report.suppressed.size(), 3u);
    for (const auto& s : report.suppressed) EXPECT_EQ(s.by, "ignore");

    // The day an expiry names still counts; the next day it does not.
    ScanOptions on_the_day;
    on_the_day.now = 1785542399;  // 2026-07-31T23:59:59Z
    IgnoreRules one = parse_ignore_rules("ignore:\n  - id: CVE-2023-39804\n    reason: r\n    expires: 2026-07-31\n", "f");
    EXPECT_EQ(find(scan(bookworm_catalog(), on_the_day, {}, one).matches, "CVE-2023-39804", "tar"), nullptr);
    on_the_day.now += 1;
    EXPECT_NE(find(scan(bookworm_catalog(), on_the_day, {}, one).matches, "CVE-2023-39804", "tar"), nullptr);
}

TEST_F(VulnMatch, MalformedIgnoreFilesNameTheLine) {
    auto message = [](const char* yaml) {
        return test::error_from([&] { parse_ignore_rules(yaml, "ign.yaml"); }).message();
    };
    EXPECT_NE(message("ignore:\n  - id: CVE-1\n").find("ign.yaml:2: the rule for CVE-1 has no reason"), std::string::npos)
        << message("ignore:\n  - id: CVE-1\n");
    EXPECT_NE(message("ignore:\n  - reason: r\n").find("at least one of id, package and state"), std::string::npos);
    EXPECT_NE(message("ignore:\n  - id: X\n    reason: r\n    expires: 2026-02-30\n").find("ign.yaml:4"), std::string::npos);
    EXPECT_NE(message("ignore:\n  - id: X\n    reason: r\n    state: maybe\n").find("unknown state \"maybe\""),
              std::string::npos);
    EXPECT_NE(message("ignore:\n  - id: X\n    reason: r\n    packge: y\n").find("unknown key \"packge\""),
              std::string::npos);
    EXPECT_NE(message("rules: []\n").find("unknown key \"rules\""), std::string::npos);
    EXPECT_TRUE(parse_ignore_rules("", "f").empty());
}

TEST_F(VulnMatch, ImagesThatAreNotDebianGetAWarningNotFalseMatches) {
    sbom::Catalog alpine = bookworm_catalog();
    alpine.os = {"alpine", "3.20", "", ""};
    ScanReport report = scan(alpine);
    EXPECT_TRUE(report.matches.empty());
    ASSERT_EQ(report.warnings.size(), 1u);
    EXPECT_NE(report.warnings[0].find("not Debian"), std::string::npos);

    sbom::Catalog unknown = bookworm_catalog();
    unknown.os = {};
    EXPECT_TRUE(scan(unknown).matches.empty());
    ScanOptions forced;
    forced.release = "12";
    EXPECT_FALSE(scan(unknown, forced).matches.empty());
}

TEST(VulnEvaluate, OsvRangesFollowTheSpecificationsAlgorithm) {
    Affected statement;
    statement.ranges = {{{RangeEvent::Kind::Introduced, "1.0-1"}, {RangeEvent::Kind::Fixed, "1.0-3"},
                         {RangeEvent::Kind::Introduced, "2.0-1"}, {RangeEvent::Kind::Fixed, "2.0-2"}}};
    EXPECT_FALSE(evaluate(statement, "0.9-1").affected);
    EXPECT_TRUE(evaluate(statement, "1.0-2").affected);
    EXPECT_EQ(evaluate(statement, "1.0-2").fixed, "1.0-3");
    EXPECT_FALSE(evaluate(statement, "1.0-3").affected);
    EXPECT_TRUE(evaluate(statement, "2.0-1+b1").affected);
    EXPECT_EQ(evaluate(statement, "2.0-1+b1").fixed, "2.0-2");
    EXPECT_FALSE(evaluate(statement, "2.0-2").affected);
    // Events in any order: evaluation sorts them.
    std::reverse(statement.ranges[0].begin(), statement.ranges[0].end());
    EXPECT_TRUE(evaluate(statement, "1.0-2").affected);
    EXPECT_FALSE(evaluate(statement, "1.5-1").affected);

    Affected epoch;
    epoch.ranges = {{{RangeEvent::Kind::Introduced, "0"}, {RangeEvent::Kind::Fixed, "1:1.0-1"}}};
    EXPECT_TRUE(evaluate(epoch, "9.9-1").affected);    // no epoch is epoch 0
    EXPECT_FALSE(evaluate(epoch, "1:1.0-1").affected);
    EXPECT_TRUE(evaluate(epoch, "0~pre1").affected);   // "introduced 0" is below everything, even ~

    Affected listed;
    listed.versions = {"1.2-3", "1.2-4"};
    EXPECT_TRUE(evaluate(listed, "1.2-3").affected);
    EXPECT_EQ(evaluate(listed, "1.2-3").state, FixState::NotFixed);
    EXPECT_FALSE(evaluate(listed, "1.2-3+b1").affected);
}

}  // namespace
}  // namespace slate::vuln
