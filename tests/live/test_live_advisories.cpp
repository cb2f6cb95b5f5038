// LIVE: slate advisories mine against the real archive (the host's apt
// sources), for openssl, expat and glibc in bookworm. The facts checked were
// read from those packages' real changelogs (libssl3, libexpat1 and libc6's
// /usr/share/doc/*/changelog.Debian.gz); they are history, so newer uploads
// do not change them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "live/live_support.hpp"
#include "slate/deb/version.hpp"
#include "slate/util/fs.hpp"
#include "support/json_schema.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Fact {
    std::string source, cve, fixed, urgency, published, distribution;
};

// Security uploads (+deb12uN to bookworm-security), a point-release upload
// (~deb12u1 to bookworm) and an upload to unstable before bookworm's release.
const Fact Facts[] = {
    {"openssl", "CVE-2023-5363", "3.0.11-1~deb12u2", "medium", "2023-10-23T17:52:22Z", "bookworm-security"},
    {"openssl", "CVE-2023-5678", "3.0.13-1~deb12u1", "medium", "2024-03-03T09:47:43Z", "bookworm"},
    {"expat", "CVE-2024-45490", "2.5.0-1+deb12u1", "medium", "2024-09-08T06:44:19Z", "bookworm-security"},
    {"expat", "CVE-2022-43680", "2.5.0-1", "high", "2022-10-26T13:31:29Z", "unstable"},
    // Both also named by a later upload ("local-CVE-...patch: upstreamed"): the first one counts.
    {"glibc", "CVE-2023-4911", "2.36-9+deb12u3", "medium", "2023-09-30T08:31:05Z", "bookworm-security"},
    {"glibc", "CVE-2023-6246", "2.36-9+deb12u4", "medium", "2024-01-23T20:57:06Z", "bookworm-security"},
};

TEST(LiveAdvisories, MinesOpensslExpatAndGlibcForBookworm) {
    TempDir work;
    const fs::path out = work.path() / "advisories";
    // Binary and source names mixed: libexpat1 is a binary of expat, glibc a source.
    auto r = run_slate({"advisories", "mine", "--suite", "bookworm", "--packages", "openssl,libexpat1,glibc", "-o", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("for 3 source packages into " + out.string()), std::string::npos) << r.err;

    std::map<std::string, json> records;
    for (const auto& entry : fs::directory_iterator(out))
        records[entry.path().filename().string()] = json::parse(util::read_file(entry.path()));
    ASSERT_GT(records.size(), 50u);

    for (const auto& fact : Facts) {
        SCOPED_TRACE(fact.source + " " + fact.cve);
        auto it = records.find("x_SLATE-CL-" + fact.source + "-" + fact.cve + ".json");
        ASSERT_NE(it, records.end());
        const json& record = it->second;
        const json& affected = record["affected"][0];
        EXPECT_EQ(affected["package"]["name"], fact.source);
        EXPECT_EQ(affected["package"]["ecosystem"], "Debian:12");
        EXPECT_EQ(affected["ranges"][0]["events"][1]["fixed"], fact.fixed);
        EXPECT_EQ(affected["ecosystem_specific"]["urgency"], fact.urgency);
        EXPECT_EQ(record["published"], fact.published);
        EXPECT_EQ(record["database_specific"]["fixed_distributions"], json::array({fact.distribution}));
        EXPECT_NE(record["details"].get<std::string>().find(fact.cve), std::string::npos);
    }

    // Every record: valid OSV, one changelog version per source, never fixed
    // after the version whose changelog it came from.
    JsonSchemaValidator validator{shared_schemas() / "osv"};
    std::map<std::string, std::set<std::string>> changelog_versions;
    for (const auto& [name, record] : records) {
        SCOPED_TRACE(name);
        EXPECT_EQ(validator.errors("schema.json", record.dump()), "");
        std::string source = record["affected"][0]["package"]["name"];
        std::string newest = record["database_specific"]["changelog_version"];
        changelog_versions[source].insert(newest);
        std::string fixed = record["affected"][0]["ranges"][0]["events"][1]["fixed"];
        EXPECT_LE(deb::compare_versions(fixed, newest), 0) << fixed << " vs " << newest;
    }
    EXPECT_EQ(changelog_versions.size(), 3u);
    for (const auto& [source, versions] : changelog_versions) EXPECT_EQ(versions.size(), 1u) << source;
    // The newest versions come from the release's updates: at least the security uploads above.
    EXPECT_GE(deb::compare_versions(*changelog_versions["openssl"].begin(), "3.0.11-1~deb12u2"), 0);
    EXPECT_GE(deb::compare_versions(*changelog_versions["expat"].begin(), "2.5.0-1+deb12u1"), 0);
    EXPECT_GE(deb::compare_versions(*changelog_versions["glibc"].begin(), "2.36-9+deb12u4"), 0);
}

}  // namespace
}  // namespace slate::test
