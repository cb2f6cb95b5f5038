// `slate db` and `slate scan` end to end: the real binary, the hand-written
// feeds of tests/unit/vuln/data (tracker.json, osv/, vex.json), feeds served
// on 127.0.0.1 by tests/support/http_server, and targets made here: a root
// file system with a dpkg status, SBOMs `slate sbom` writes of it, and an OCI
// layout holding the same files.
//
// The matches expected are the ones tests/unit/vuln/test_match.cpp derives
// for the same packages; here they must come out of the command line, through
// the database file, the catalogers and the writers.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/oci_fixture.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/http_server.hpp"
#include "support/json_schema.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path vuln_data() { return source_dir() / "tests" / "unit" / "vuln" / "data"; }

// One installed package in /var/lib/dpkg/status.
struct Installed {
    std::string name, version, source;  // source as dpkg writes it: "util-linux (2.38.1-5)", or ""
};

// The packages of tests/unit/vuln/vuln_fixture.hpp's bookworm_catalog():
// util-linux binaries with an epoch and a binNMU, openssl's ~deb12uN
// versions, one package per Debian triage state, and one nothing names.
const std::vector<Installed> BookwormPackages = {
    {"bsdutils", "1:2.38.1-5+b1", "util-linux (2.38.1-5)"},
    {"libblkid1", "2.38.1-5+b1", "util-linux (2.38.1-5)"},
    {"libssl3", "3.0.11-1~deb12u1", "openssl"},
    {"openssl", "3.0.11-1~deb12u1", ""},
    {"libexpat1", "2.5.0-1", "expat"},
    {"libc6", "2.36-9+deb12u4", "glibc"},
    {"zlib1g", "1:1.2.13.dfsg-1", "zlib"},
    {"tar", "1.34+dfsg-1.2", ""},
    {"libde265-0", "1.0.11-1", "libde265"},
    {"nginx", "1.22.1-9", ""},
};

constexpr const char* BookwormOsRelease =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
    "VERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

std::string dpkg_status(const std::vector<Installed>& packages) {
    std::string out;
    for (const auto& p : packages) {
        out += "Package: " + p.name + "\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\n";
        if (!p.source.empty()) out += "Source: " + p.source + "\n";
        out += "Version: " + p.version + "\nMaintainer: Someone <someone@example.org>\nDescription: " + p.name + "\n\n";
    }
    return out;
}

// The files of a root file system: relative path -> content.
std::map<std::string, std::string> rootfs_files(const std::vector<Installed>& packages, bool os_release = true) {
    std::map<std::string, std::string> files{{"var/lib/dpkg/status", dpkg_status(packages)}};
    if (os_release) files["etc/os-release"] = BookwormOsRelease;
    return files;
}

void write_rootfs(const fs::path& root, const std::map<std::string, std::string>& files) {
    for (const auto& [path, content] : files) {
        fs::create_directories((root / path).parent_path());
        util::write_file_atomic(root / path, content);
    }
}

// (vulnerability, package) of every finding in a list of the JSON report.
using Key = std::pair<std::string, std::string>;
std::set<Key> keys_of(const json& findings) {
    std::set<Key> out;
    for (const auto& f : findings) out.emplace(f.at("vulnerability"), f.at("package"));
    return out;
}
// The finding about `id` in `package`, or null.
json finding(const json& findings, const std::string& id, const std::string& package) {
    for (const auto& f : findings)
        if (f.at("vulnerability") == id && f.at("package") == package) return f;
    return nullptr;
}

// What the bookworm packages must match with the tracker and the OSV records
// (test_match.cpp): negligible (CVE-2010-4756) and undetermined
// (CVE-2025-0009) findings are hidden by default.
const std::set<Key> BookwormMatches = {
    {"CVE-2024-28085", "bsdutils"},   {"CVE-2024-5555", "bsdutils"},  {"CVE-2024-28085", "libblkid1"},
    {"CVE-2024-5555", "libblkid1"},   {"CVE-2025-0001", "libc6"},     {"CVE-2023-27102", "libde265-0"},
    {"CVE-2023-52425", "libexpat1"},  {"CVE-2024-1111", "libssl3"},   {"CVE-2024-2222", "libssl3"},
    {"CVE-2024-1111", "openssl"},     {"CVE-2024-2222", "openssl"},   {"CVE-2023-39804", "tar"},
    {"CVE-2023-45853", "zlib1g"},
};

std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
    return names;
}

class ScanCli : public ::testing::Test {
protected:
    // One database of the tracker and the OSV records (no VEX, which would
    // suppress findings in every scan) for the tests that only scan.
    static void SetUpTestSuite() {
        s_shared = std::make_unique<TempDir>();
        auto r = run({"db", "import", (vuln_data() / "tracker.json").string(), (vuln_data() / "osv").string(), "--db",
                      shared_db().string()},
                     s_shared->path() / "cache");
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    static void TearDownTestSuite() { s_shared.reset(); }
    static fs::path shared_db() { return s_shared->path() / "vuln.db"; }

    void SetUp() override {
        ASSERT_TRUE(s_shared && fs::exists(shared_db())) << "the shared database was not built";
        m_rootfs = m_work.path() / "rootfs";
        write_rootfs(m_rootfs, rootfs_files(BookwormPackages));
    }

    // slate with a private cache, no colour settings from the environment, and
    // `cwd` as its working directory (the work directory by default).
    static util::ProcessResult run(std::vector<std::string> args, const fs::path& cache,
                                   const std::optional<fs::path>& cwd = std::nullopt) {
        std::vector<std::string> argv{slate_binary().string(), "--cache-dir", cache.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.unset_env = {"SLATE_CACHE", "SLATE_MIRROR", "SLATE_OFFLINE", "NO_COLOR", "COLUMNS"};
        options.env = {{"SLATE_RETRIES", "0"}};
        options.cwd = cwd;
        options.timeout = std::chrono::seconds(120);
        return util::run_process(argv, options);
    }
    util::ProcessResult slate(std::vector<std::string> args, const std::optional<fs::path>& cwd = std::nullopt) const {
        return run(std::move(args), m_cache.path(), cwd ? cwd : std::optional<fs::path>(m_work.path()));
    }
    // `slate scan SOURCE --db <shared> --format json ...`, which must exit `code`; the parsed report.
    json scan_json(const std::string& source, std::vector<std::string> more = {}, int code = 0,
                   const std::optional<fs::path>& cwd = std::nullopt) const {
        std::vector<std::string> args{"scan", source, "--db", shared_db().string(), "--format", "json"};
        args.insert(args.end(), more.begin(), more.end());
        auto r = slate(args, cwd);
        EXPECT_EQ(r.exit_code, code) << source << "\n" << r.err;
        if (r.out.empty()) return json::object();
        return json::parse(r.out);
    }

    static std::unique_ptr<TempDir> s_shared;
    TempDir m_work;
    TempDir m_cache;
    fs::path m_rootfs;
};

std::unique_ptr<TempDir> ScanCli::s_shared;

// ---- slate db -------------------------------------------------------------

TEST_F(ScanCli, DbImportThenStatusReportsFeedsCountsAndTheNewestRecord) {
    fs::path db = m_work.path() / "db" / "vuln.db";
    auto imported = slate({"db", "import", (vuln_data() / "tracker.json").string(), (vuln_data() / "osv").string(),
                           (vuln_data() / "vex.json").string(), "--db", db.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    // What each feed held, and the malformed records named.
    EXPECT_NE(imported.err.find("(debian-tracker): 12 records, 2 skipped as malformed"), std::string::npos) << imported.err;
    EXPECT_NE(imported.err.find("(osv): 4 records, 1 skipped as malformed, 1 withdrawn, 1 about no Debian release"),
              std::string::npos)
        << imported.err;
    EXPECT_NE(imported.err.find("CVE-2025-9999"), std::string::npos) << imported.err;
    EXPECT_NE(imported.err.find("bad-events.json"), std::string::npos) << imported.err;
    ASSERT_TRUE(fs::is_regular_file(db));

    // The counts the status reports are the database's: ask SQLite directly.
    auto counted = util::run_process(
        {"python3", "-c",
         "import sqlite3, sys\n"
         "c = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n"
         "print(*(c.execute('SELECT count(*) FROM ' + t).fetchone()[0] for t in ('advisory', 'affected', 'vex')))\n",
         db.string()});
    ASSERT_EQ(counted.exit_code, 0) << counted.err;
    int advisories = 0, statements = 0, vex_documents = 0;
    ASSERT_EQ(std::sscanf(counted.out.c_str(), "%d %d %d", &advisories, &statements, &vex_documents), 3) << counted.out;
    // 11 tracker entries (one per CVE and source package; nginx's says nothing
    // about any release) and 4 OSV records; the tracker's 14 release
    // statements and the OSV records' 6.
    EXPECT_EQ(advisories, 15);
    EXPECT_EQ(statements, 20);
    EXPECT_EQ(vex_documents, 1);

    auto status = slate({"db", "status", "--db", db.string(), "--json"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    json s = json::parse(status.out);
    EXPECT_EQ(s["path"], db.string());
    EXPECT_EQ(s["schema_version"], 1);
    EXPECT_EQ(s["advisories"], advisories);
    EXPECT_EQ(s["statements"], statements);
    EXPECT_EQ(s["vex_documents"], 1);
    EXPECT_GE(s["age_seconds"].get<long>(), 0);
    EXPECT_LT(s["age_seconds"].get<long>(), 600);
    EXPECT_EQ(s["newest_record"], "2024-08-01T00:00:00Z");  // DEBIAN-CVE-2024-5555's "modified"
    std::map<std::string, json> feeds;
    for (const auto& feed : s["feeds"]) feeds[feed["kind"].get<std::string>()] = feed;
    ASSERT_EQ(feeds.size(), 3u) << status.out;
    EXPECT_EQ(feeds["debian-tracker"]["location"], (vuln_data() / "tracker.json").string());
    EXPECT_EQ(feeds["debian-tracker"]["records"], 12);
    EXPECT_EQ(feeds["debian-tracker"]["skipped"], 2);
    EXPECT_EQ(feeds["osv"]["location"], (vuln_data() / "osv").string());
    EXPECT_EQ(feeds["osv"]["records"], 4);
    EXPECT_EQ(feeds["osv"]["withdrawn"], 1);
    EXPECT_EQ(feeds["osv"]["newest_record"], "2024-08-01T00:00:00Z");
    ASSERT_TRUE(feeds.count("openvex")) << status.out;
    EXPECT_EQ(feeds["openvex"]["location"], (vuln_data() / "vex.json").string());

    auto text = slate({"db", "status", "--db", db.string()});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("database      " + db.string()), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("advisories    " + std::to_string(advisories) + " (" + std::to_string(statements) +
                            " package statements, 1 VEX documents)"),
              std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("newest record 2024-08-01T00:00:00Z"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find((vuln_data() / "tracker.json").string()), std::string::npos) << text.out;
    EXPECT_NE(text.out.find((vuln_data() / "vex.json").string()), std::string::npos) << text.out;

    // The VEX document imported with the feeds applies to every scan.
    auto scanned = slate({"scan", "dir:" + m_rootfs.string(), "--db", db.string(), "--format", "json"});
    ASSERT_EQ(scanned.exit_code, 0) << scanned.err;
    json report = json::parse(scanned.out);
    EXPECT_EQ(keys_of(report["suppressed"]), (std::set<Key>{{"CVE-2025-0001", "libc6"}}));
    EXPECT_TRUE(finding(report["matches"], "CVE-2025-0001", "libc6").is_null());
    EXPECT_EQ(report["database"]["feeds"], json({"debian-tracker", "openvex", "osv"}));

    auto missing = slate({"db", "status", "--db", (m_work.path() / "none.db").string()});
    EXPECT_EQ(missing.exit_code, 1) << missing.err;
    EXPECT_NE(missing.err.find("slate db import"), std::string::npos) << missing.err;
}

TEST_F(ScanCli, AFailedImportNamesTheFileAndLeavesTheDatabaseAsItWas) {
    fs::path dir = m_work.path() / "db";
    fs::path db = dir / "vuln.db";
    auto first = slate({"db", "import", (vuln_data() / "tracker.json").string(), "--db", db.string()});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    const std::string before = util::read_file(db);
    const auto files_before = listing(dir);

    // The tracker cut in the middle of a record, imported with a good feed:
    // all or nothing.
    std::string tracker = util::read_file(vuln_data() / "tracker.json");
    fs::path truncated = m_work.path() / "truncated-tracker.json";
    util::write_file_atomic(truncated, tracker.substr(0, tracker.size() / 2));
    auto failed = slate({"db", "import", (vuln_data() / "osv").string(), truncated.string(), "--db", db.string()});
    EXPECT_EQ(failed.exit_code, 1) << failed.err;
    EXPECT_NE(failed.err.find("error: "), std::string::npos) << failed.err;
    EXPECT_NE(failed.err.find(truncated.string()), std::string::npos) << failed.err;
    EXPECT_EQ(util::read_file(db), before);
    EXPECT_EQ(listing(dir), files_before);  // no temporary file left behind

    // A database that did not exist is not created by a failed import.
    fs::path fresh = m_work.path() / "fresh" / "vuln.db";
    auto none = slate({"db", "import", truncated.string(), "--db", fresh.string()});
    EXPECT_EQ(none.exit_code, 1) << none.err;
    EXPECT_FALSE(fs::exists(fresh));
    if (fs::exists(fresh.parent_path())) {
        EXPECT_TRUE(listing(fresh.parent_path()).empty());
    }

    // The status still reads the old database.
    auto status = slate({"db", "status", "--db", db.string(), "--json"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_EQ(json::parse(status.out)["feeds"].size(), 1u) << status.out;
}

TEST_F(ScanCli, DbUpdateFetchesConditionallyAndNeverDamagesTheDatabase) {
    HttpServer server(m_work.path() / "www");
    fs::path served = server.root() / "tracker.json";
    util::write_file_atomic(served, util::read_file(vuln_data() / "tracker.json"));
    const std::string url = server.url() + "/tracker.json";
    fs::path dir = m_work.path() / "db";
    fs::path db = dir / "vuln.db";
    auto feed_status = [&] {
        auto r = slate({"db", "status", "--db", db.string(), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        json s = json::parse(r.out);
        EXPECT_EQ(s["feeds"].size(), 1u) << r.out;
        return s["feeds"][0];
    };

    auto first = slate({"db", "update", "--source", url, "--db", db.string()});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_EQ(server.request_log().back(), "GET /tracker.json 200");
    json feed = feed_status();
    EXPECT_EQ(feed["location"], url);
    EXPECT_EQ(feed["kind"], "debian-tracker");
    EXPECT_EQ(feed["records"], 12);
    const std::string imported = util::read_file(db);
    const auto files = listing(dir);

    // The same content with a newer mtime: only If-None-Match (the ETag) can
    // make the server answer 304 now; If-Modified-Since alone would get a 200.
    fs::last_write_time(served, fs::last_write_time(served) + std::chrono::hours(1));
    auto second = slate({"db", "update", "--source", url, "--db", db.string()});
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(server.request_log().back(), "GET /tracker.json 304");
    EXPECT_NE(second.err.find("not modified"), std::string::npos) << second.err;
    EXPECT_EQ(util::read_file(db), imported);

    // Without --source: the URL the database remembers.
    auto again = slate({"db", "update", "--db", db.string()});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_EQ(server.request_count("/tracker.json"), 3u);
    EXPECT_EQ(server.request_log().back(), "GET /tracker.json 304");
    EXPECT_EQ(util::read_file(db), imported);

    // A 404, a corrupt body, a body cut short: errors, and the database untouched.
    server.fail_next("/tracker.json", 404);
    auto missing = slate({"db", "update", "--db", db.string()});
    EXPECT_EQ(missing.exit_code, 1) << missing.err;
    EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
    EXPECT_EQ(util::read_file(db), imported);
    EXPECT_EQ(listing(dir), files);

    // New content, so that the server sends a body (the faults apply to 200s only).
    json changed = json::parse(util::read_file(vuln_data() / "tracker.json"));
    changed["curl"] = json::parse(R"({"CVE-2024-7777": {"description": "A new issue.", "releases": {"bookworm":
        {"status": "open", "repositories": {"bookworm": "7.88.1-10"}, "urgency": "low"}}}})");
    util::write_file_atomic(served, changed.dump(1));
    server.corrupt_next("/tracker.json");
    auto corrupt = slate({"db", "update", "--db", db.string()});
    EXPECT_EQ(corrupt.exit_code, 1) << corrupt.err;
    EXPECT_NE(corrupt.err.find(url), std::string::npos) << corrupt.err;
    EXPECT_EQ(util::read_file(db), imported);
    EXPECT_EQ(listing(dir), files);

    server.truncate_next("/tracker.json", 100, /*honest_length=*/false);
    auto cut = slate({"db", "update", "--db", db.string()});
    EXPECT_EQ(cut.exit_code, 1) << cut.err;
    EXPECT_EQ(util::read_file(db), imported);
    EXPECT_EQ(listing(dir), files);

    // Then the real new content is imported, replacing the feed's old records.
    auto updated = slate({"db", "update", "--db", db.string()});
    ASSERT_EQ(updated.exit_code, 0) << updated.err;
    EXPECT_EQ(server.request_log().back(), "GET /tracker.json 200");
    EXPECT_EQ(feed_status()["records"], 13);
    EXPECT_EQ(listing(dir), files);
}

TEST_F(ScanCli, DbUpdateTakesFileUrlsAndRefusesOtherSources) {
    fs::path db = m_work.path() / "vuln.db";
    const std::string url = "file://" + (vuln_data() / "tracker.json").string();
    auto r = slate({"db", "update", "--source", url, "--db", db.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto status = slate({"db", "status", "--db", db.string(), "--json"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    json s = json::parse(status.out);
    ASSERT_EQ(s["feeds"].size(), 1u);
    EXPECT_EQ(s["feeds"][0]["location"], url);
    EXPECT_EQ(s["feeds"][0]["records"], 12);
    const std::string before = util::read_file(db);

    // A path is not a URL: a usage error that points at `db import`.
    auto path = slate({"db", "update", "--source", (vuln_data() / "tracker.json").string(), "--db", db.string()});
    EXPECT_EQ(path.exit_code, 2) << path.err;
    EXPECT_NE(path.err.find("not an http(s):// or file:// URL"), std::string::npos) << path.err;
    EXPECT_NE(path.err.find("slate db import"), std::string::npos) << path.err;
    EXPECT_EQ(util::read_file(db), before);

    // A --db relative to the working directory, as people type it.
    fs::copy_file(db, m_work.path() / "relative.db");
    auto relative = slate({"db", "update", "--source", url, "--db", "relative.db"});
    EXPECT_EQ(relative.exit_code, 0) << relative.err;

    // Nothing to update from.
    auto nothing = slate({"db", "update", "--db", (m_work.path() / "empty.db").string()});
    EXPECT_EQ(nothing.exit_code, 2) << nothing.err;
    EXPECT_NE(nothing.err.find("--source"), std::string::npos) << nothing.err;
    EXPECT_FALSE(fs::exists(m_work.path() / "empty.db"));
}

// ---- slate scan: matches and outputs --------------------------------------

TEST_F(ScanCli, ScanningARootFileSystemFindsExactlyTheFixturesMatches) {
    json report = scan_json("dir:" + m_rootfs.string());
    EXPECT_EQ(keys_of(report["matches"]), BookwormMatches) << report["matches"].dump(1);
    const json& found = report["matches"];

    // bsdutils 1:2.38.1-5+b1 is util-linux 2.38.1-5: bookworm's fix applies,
    // not bullseye's or sid's, and the binary's epoch does not hide it.
    json wall = finding(found, "CVE-2024-28085", "bsdutils");
    ASSERT_FALSE(wall.is_null()) << report["matches"].dump(1);
    EXPECT_EQ(wall["version"], "1:2.38.1-5+b1");
    EXPECT_EQ(wall["source"], "util-linux");
    EXPECT_EQ(wall["source_version"], "2.38.1-5");
    EXPECT_EQ(wall["state"], "fixed");
    EXPECT_EQ(wall["fixed_version"], "2.38.1-5+deb12u1");
    EXPECT_EQ(wall["severity"], "low");
    EXPECT_EQ(wall["advisories"], json({"CVE-2024-28085"}));
    // An OSV range ending in last_affected, with a CVSS vector.
    json ranged = finding(found, "CVE-2024-5555", "libblkid1");
    ASSERT_FALSE(ranged.is_null()) << report["matches"].dump(1);
    EXPECT_EQ(ranged["state"], "not-fixed");
    EXPECT_EQ(ranged["fixed_version"], "");
    EXPECT_EQ(ranged["cvss"], 5.5);
    EXPECT_EQ(ranged["severity"], "medium");
    EXPECT_EQ(ranged["advisories"], json({"DEBIAN-CVE-2024-5555"}));
    // The tracker, a DEBIAN-CVE record and a DSA about one CVE: one finding.
    json ssl = finding(found, "CVE-2024-1111", "libssl3");
    ASSERT_FALSE(ssl.is_null()) << report["matches"].dump(1);
    EXPECT_EQ(ssl["state"], "fixed");
    EXPECT_EQ(ssl["fixed_version"], "3.0.11-1~deb12u2");
    EXPECT_EQ(ssl["advisories"], json({"CVE-2024-1111", "DEBIAN-CVE-2024-1111", "DSA-5679-1"}));
    EXPECT_EQ(ssl["aliases"], json({"DEBIAN-CVE-2024-1111", "DSA-5679-1"}));
    EXPECT_EQ(ssl["severity"], "critical");  // the DSA's CVSS vector
    EXPECT_EQ(ssl["cvss_vector"], "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    EXPECT_EQ(ssl["urgency"], "high");
    EXPECT_EQ(ssl["description"], "A hand-written openssl issue fixed by a stable security upload.");
    EXPECT_EQ(finding(found, "CVE-2024-2222", "openssl")["advisories"], json({"DSA-5679-1"}));
    EXPECT_EQ(finding(found, "CVE-2024-2222", "openssl")["source"], "openssl");
    json expat = finding(found, "CVE-2023-52425", "libexpat1");
    ASSERT_FALSE(expat.is_null()) << report["matches"].dump(1);
    EXPECT_EQ(expat["state"], "fixed");
    EXPECT_EQ(expat["fixed_version"], "2.5.0-1+deb12u1");
    EXPECT_EQ(expat["severity"], "medium");
    // Debian's triage states.
    EXPECT_EQ(finding(found, "CVE-2025-0001", "libc6")["state"], "not-fixed");
    EXPECT_EQ(finding(found, "CVE-2023-45853", "zlib1g")["state"], "wont-fix");
    EXPECT_EQ(finding(found, "CVE-2023-39804", "tar")["state"], "fix-deferred");
    EXPECT_EQ(finding(found, "CVE-2023-27102", "libde265-0")["state"], "end-of-life");
    EXPECT_EQ(finding(found, "CVE-2023-27102", "libde265-0")["severity"], "unknown");

    // Sorted by package, then severity (most severe first), then id.
    std::vector<Key> order;
    for (const auto& f : report["matches"]) order.emplace_back(f["package"], f["vulnerability"]);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end(), [](const Key& a, const Key& b) { return a.first < b.first; }));
    EXPECT_EQ(report["matches"][0]["vulnerability"], "CVE-2024-5555");  // bsdutils: medium before low

    EXPECT_EQ(report["target"]["kind"], "directory");
    EXPECT_EQ(report["target"]["digest"], "");
    EXPECT_EQ(report["distro"], json({{"id", "debian"}, {"version", "12"}, {"codename", "bookworm"}}));
    EXPECT_EQ(report["database"]["path"], shared_db().string());
    EXPECT_EQ(report["database"]["feeds"], json({"debian-tracker", "osv"}));
    EXPECT_TRUE(report["suppressed"].empty());
    json summary = report["summary"];
    EXPECT_EQ(summary["packages"], 10);
    EXPECT_EQ(summary["matches"], 13);
    EXPECT_EQ(summary["suppressed"], 0);
    EXPECT_EQ(summary["hidden"], 2);  // libc6's negligible and undetermined CVEs
    EXPECT_EQ(summary["by_severity"],
              json({{"critical", 4}, {"high", 0}, {"medium", 4}, {"low", 4}, {"negligible", 0}, {"unknown", 1}}));
    EXPECT_EQ(summary["by_state"], json({{"fixed", 7}, {"not-fixed", 3}, {"wont-fix", 1}, {"fix-deferred", 1},
                                         {"end-of-life", 1}, {"undetermined", 0}}));

    // Hidden findings on request; only fixable ones on request.
    json all = scan_json("dir:" + m_rootfs.string(), {"--show-negligible", "--show-undetermined"});
    const json& all_found = all["matches"];
    EXPECT_EQ(all_found.size(), BookwormMatches.size() + 2);
    EXPECT_EQ(finding(all_found, "CVE-2010-4756", "libc6")["severity"], "negligible");
    EXPECT_EQ(finding(all_found, "CVE-2025-0009", "libc6")["state"], "undetermined");
    EXPECT_EQ(all["summary"]["hidden"], 0);
    json fixable = scan_json("dir:" + m_rootfs.string(), {"--ignore-unfixed"});
    EXPECT_EQ(fixable["matches"].size(), 7u);
    for (const auto& f : fixable["matches"]) EXPECT_EQ(f["state"], "fixed") << f.dump();
}

TEST_F(ScanCli, TheTableHasNoColourOffATerminalAndEndsWithASummary) {
    auto r = slate({"scan", "dir:" + m_rootfs.string(), "--db", shared_db().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("libssl3 3.0.11-1~deb12u1 (openssl)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("bsdutils 1:2.38.1-5+b1 (util-linux"), std::string::npos) << r.out;
    for (const auto& [id, package] : BookwormMatches) EXPECT_NE(r.out.find(id), std::string::npos) << id;
    EXPECT_EQ(r.out.find("nginx"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("13 vulnerabilities in 9 packages (4 critical, 4 medium, 4 low, 1 unknown)"), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("hidden"), std::string::npos) << r.out;  // the two hidden libc6 findings are mentioned
}

TEST_F(ScanCli, SarifCycloneDxAndOpenVexOutputsAreValid) {
    const std::string source = "dir:" + m_rootfs.string();
    auto sarif = slate({"scan", source, "--db", shared_db().string(), "--format", "sarif"});
    ASSERT_EQ(sarif.exit_code, 0) << sarif.err;
    json s = json::parse(sarif.out);
    EXPECT_EQ(s["version"], "2.1.0");
    ASSERT_EQ(s["runs"].size(), 1u);
    EXPECT_EQ(s["runs"][0]["tool"]["driver"]["name"], "slate");
    std::set<std::string> rule_ids, result_ids;
    for (const auto& rule : s["runs"][0]["tool"]["driver"]["rules"]) rule_ids.insert(rule["id"]);
    for (const auto& result : s["runs"][0]["results"]) result_ids.insert(result["ruleId"]);
    EXPECT_EQ(s["runs"][0]["results"].size(), BookwormMatches.size());
    std::set<std::string> expected_ids;
    for (const auto& [id, package] : BookwormMatches) expected_ids.insert(id);
    EXPECT_EQ(result_ids, expected_ids);
    EXPECT_EQ(rule_ids, expected_ids);

    JsonSchemaValidator cyclonedx(shared_schemas() / "cyclonedx-1.6");
    auto bom = slate({"scan", source, "--db", shared_db().string(), "--format", "cyclonedx"});
    ASSERT_EQ(bom.exit_code, 0) << bom.err;
    EXPECT_EQ(cyclonedx.errors("bom-1.6.schema.json", bom.out), "") << bom.out.substr(0, 3000);
    std::set<std::string> bom_ids;
    json bom_doc = json::parse(bom.out);
    for (const auto& v : bom_doc["vulnerabilities"]) bom_ids.insert(v["id"]);
    EXPECT_EQ(bom_ids, expected_ids);

    // With --vex, the suppressed finding keeps its status and justification.
    JsonSchemaValidator openvex(shared_schemas() / "openvex");
    auto vex = slate({"scan", source, "--db", shared_db().string(), "--format", "openvex", "--vex",
                      (vuln_data() / "vex.json").string()});
    ASSERT_EQ(vex.exit_code, 0) << vex.err;
    EXPECT_EQ(openvex.errors("openvex_json_schema.json", vex.out), "") << vex.out.substr(0, 3000);
    std::map<std::string, json> statements;
    json vex_doc = json::parse(vex.out);
    for (const auto& st : vex_doc["statements"]) statements[st["vulnerability"]["name"]] = st;
    ASSERT_TRUE(statements.count("CVE-2025-0001")) << vex.out;
    EXPECT_EQ(statements["CVE-2025-0001"]["status"], "not_affected");
    EXPECT_EQ(statements["CVE-2025-0001"]["justification"], "vulnerable_code_not_in_execute_path");
    EXPECT_EQ(statements["CVE-2024-1111"]["status"], "affected");

    // -o FILE: the same bytes in the file, nothing on stdout.
    auto printed = slate({"scan", source, "--db", shared_db().string(), "--format", "json"});
    fs::path out = m_work.path() / "out" / "report.json";
    fs::create_directories(out.parent_path());
    auto written = slate({"scan", source, "--db", shared_db().string(), "--format", "json", "-o", out.string()});
    ASSERT_EQ(written.exit_code, 0) << written.err;
    EXPECT_EQ(written.out, "");
    EXPECT_EQ(util::read_file(out), printed.out);
    EXPECT_EQ(listing(out.parent_path()), std::set<std::string>{"report.json"});
}

// ---- exit codes -----------------------------------------------------------

TEST_F(ScanCli, FailOnExitsThreeOnlyWhenAFindingReachesTheThreshold) {
    const std::string source = "dir:" + m_rootfs.string();
    // The fixture has 4 critical findings (openssl's two CVEs, for both binaries) and no high one.
    auto high = slate({"scan", source, "--db", shared_db().string(), "--fail-on", "high"});
    EXPECT_EQ(high.exit_code, 3) << high.err;
    EXPECT_NE(high.err.find("4 vulnerabilities at or above high"), std::string::npos) << high.err;
    EXPECT_NE(high.out.find("CVE-2024-1111"), std::string::npos);  // the report is still printed

    // openssl at the fixed version: nothing critical is left, but medium is.
    std::vector<Installed> patched = BookwormPackages;
    for (auto& p : patched)
        if (p.name == "libssl3" || p.name == "openssl") p.version = "3.0.11-1~deb12u2";
    fs::path patched_root = m_work.path() / "patched";
    write_rootfs(patched_root, rootfs_files(patched));
    json report = scan_json("dir:" + patched_root.string(), {"--fail-on", "critical"}, 0);
    EXPECT_EQ(report["summary"]["by_severity"]["critical"], 0);
    EXPECT_EQ(report["summary"]["matches"], 9);
    auto medium = slate({"scan", "dir:" + patched_root.string(), "--db", shared_db().string(), "--fail-on", "medium"});
    EXPECT_EQ(medium.exit_code, 3) << medium.err;
    EXPECT_NE(medium.err.find("4 vulnerabilities at or above medium"), std::string::npos) << medium.err;
}

TEST_F(ScanCli, BadFlagsAndAMissingDatabaseAreClearErrors) {
    const std::string source = "dir:" + m_rootfs.string();
    auto format = slate({"scan", source, "--db", shared_db().string(), "--format", "xml"});
    EXPECT_EQ(format.exit_code, 2) << format.err;
    EXPECT_NE(format.err.find("unknown --format \"xml\""), std::string::npos) << format.err;
    EXPECT_EQ(format.out, "");
    auto severity = slate({"scan", source, "--db", shared_db().string(), "--fail-on", "severe"});
    EXPECT_EQ(severity.exit_code, 2) << severity.err;
    EXPECT_NE(severity.err.find("--fail-on severe is not a severity"), std::string::npos) << severity.err;
    auto distro = slate({"scan", source, "--db", shared_db().string(), "--distro", "ubuntu:22.04"});
    EXPECT_EQ(distro.exit_code, 2) << distro.err;

    fs::path none = m_work.path() / "no" / "vuln.db";
    auto missing = slate({"scan", source, "--db", none.string()});
    EXPECT_EQ(missing.exit_code, 1) << missing.err;
    EXPECT_NE(missing.err.find(none.string()), std::string::npos) << missing.err;
    EXPECT_NE(missing.err.find("slate db import"), std::string::npos) << missing.err;
    EXPECT_FALSE(fs::exists(none.parent_path()));
    // The default database lives in the cache, which is empty here.
    auto default_db = slate({"scan", source});
    EXPECT_EQ(default_db.exit_code, 1) << default_db.err;
    EXPECT_NE(default_db.err.find("slate db import"), std::string::npos) << default_db.err;
}

// ---- suppressing findings -------------------------------------------------

TEST_F(ScanCli, IgnoreFilesSuppressFindingsAndWarnAboutExpiredRules) {
    const std::string source = "dir:" + m_rootfs.string();
    fs::path project = m_work.path() / "project";
    fs::create_directories(project);
    util::write_file_atomic(project / ".slateignore.yaml",
                            "ignore:\n"
                            "  - id: CVE-2023-39804\n"
                            "    reason: tar never reads untrusted archives here\n"
                            "  # reviewed last year\n"
                            "  - package: zlib\n"
                            "    state: wont-fix\n"
                            "    reason: accepted until the review\n"
                            "    expires: 2020-01-31\n");
    auto r = slate({"scan", source, "--db", shared_db().string(), "--format", "json"}, project);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json report = json::parse(r.out);
    EXPECT_EQ(keys_of(report["suppressed"]), (std::set<Key>{{"CVE-2023-39804", "tar"}}));
    json suppression = report["suppressed"][0]["suppression"];
    EXPECT_EQ(suppression["by"], "ignore");
    EXPECT_EQ(suppression["status"], "ignored");
    EXPECT_EQ(suppression["justification"], "tar never reads untrusted archives here");
    EXPECT_NE(suppression["origin"].get<std::string>().find(".slateignore.yaml"), std::string::npos);
    EXPECT_EQ(report["summary"]["suppressed"], 1);
    // The expired rule no longer applies, and says so with its file and line.
    EXPECT_FALSE(finding(report["matches"], "CVE-2023-45853", "zlib1g").is_null());
    EXPECT_NE(r.err.find("warning: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(".slateignore.yaml:5"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("expired on 2020-01-31"), std::string::npos) << r.err;
    ASSERT_EQ(report["warnings"].size(), 1u);

    // Without the file in the working directory, nothing is suppressed.
    json elsewhere = scan_json(source);
    EXPECT_TRUE(elsewhere["suppressed"].empty());

    // --ignore-file replaces the working directory's file.
    fs::path other = m_work.path() / "other-ignore.yaml";
    util::write_file_atomic(other, "ignore:\n  - package: libde265-0\n    reason: not shipped in production\n");
    json replaced = scan_json(source, {"--ignore-file", other.string()}, 0, project);
    EXPECT_EQ(keys_of(replaced["suppressed"]), (std::set<Key>{{"CVE-2023-27102", "libde265-0"}}));
    EXPECT_FALSE(finding(replaced["matches"], "CVE-2023-39804", "tar").is_null());
    EXPECT_EQ(replaced["suppressed"][0]["suppression"]["origin"], other.string() + ":2");  // the file and the rule's line

    // A malformed file is an error naming the line; nothing is printed as a report.
    util::write_file_atomic(other, "ignore:\n  - id: CVE-2023-39804\n    reason: r\n    state: maybe\n");
    auto bad = slate({"scan", source, "--db", shared_db().string(), "--ignore-file", other.string()});
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
    EXPECT_NE(bad.err.find(other.string() + ":4"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("unknown state \"maybe\""), std::string::npos) << bad.err;
    EXPECT_EQ(bad.out, "");
    util::write_file_atomic(project / ".slateignore.yaml", "ignore:\n  - id: CVE-2023-39804\n");
    auto no_reason = slate({"scan", source, "--db", shared_db().string()}, project);
    EXPECT_EQ(no_reason.exit_code, 1) << no_reason.err;
    EXPECT_NE(no_reason.err.find(".slateignore.yaml:2"), std::string::npos) << no_reason.err;
}

TEST_F(ScanCli, VexDocumentsSuppressFindingsWithTheirJustification) {
    json report = scan_json("dir:" + m_rootfs.string(), {"--vex", (vuln_data() / "vex.json").string()});
    EXPECT_EQ(keys_of(report["suppressed"]), (std::set<Key>{{"CVE-2025-0001", "libc6"}}));
    json s = report["suppressed"][0];
    EXPECT_EQ(s["state"], "not-fixed");  // every field of the finding is kept
    EXPECT_EQ(s["suppression"]["by"], "vex");
    EXPECT_EQ(s["suppression"]["status"], "not_affected");
    EXPECT_EQ(s["suppression"]["justification"], "vulnerable_code_not_in_execute_path");
    EXPECT_EQ(s["suppression"]["statement"], "The image never calls the affected function.");
    EXPECT_EQ(s["suppression"]["origin"], "https://example.com/vex/slate-test-1");
    // under_investigation suppresses nothing.
    EXPECT_FALSE(finding(report["matches"], "CVE-2023-52425", "libexpat1").is_null());
    EXPECT_EQ(report["summary"]["matches"], 12);

    fs::path broken = m_work.path() / "broken.openvex.json";
    util::write_file_atomic(broken, "{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"statements\": [");
    auto bad = slate({"scan", "dir:" + m_rootfs.string(), "--db", shared_db().string(), "--vex", broken.string()});
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
    EXPECT_NE(bad.err.find(broken.string()), std::string::npos) << bad.err;
}

// ---- other sources --------------------------------------------------------

TEST_F(ScanCli, ScanningAnSbomOfTheRootFileSystemGivesTheSameMatches) {
    json direct = scan_json("dir:" + m_rootfs.string());
    for (const std::string format : {"spdx-json", "cyclonedx-json"}) {
        SCOPED_TRACE(format);
        fs::path sbom = m_work.path() / ("rootfs." + format + ".json");
        auto written = slate({"sbom", "dir:" + m_rootfs.string(), "--format", format, "-o", sbom.string()});
        ASSERT_EQ(written.exit_code, 0) << written.err;
        for (const std::string& source : {sbom.string(), "sbom:" + sbom.string()}) {
            json report = scan_json(source);
            EXPECT_EQ(report["target"]["kind"], "sbom");
            EXPECT_EQ(report["distro"], direct["distro"]);
            EXPECT_EQ(keys_of(report["matches"]), BookwormMatches);
            // Every field of every finding, source versions included.
            EXPECT_EQ(report["matches"], direct["matches"]) << report["matches"].dump(1);
            EXPECT_EQ(report["summary"], direct["summary"]);
        }
    }
}

// An OCI layout with one amd64 image whose single layer holds `files`.
oci::Descriptor write_image_layout(const fs::path& dir, const std::map<std::string, std::string>& files) {
    oci::LayoutWriter writer(dir);
    oci::Layer layer = write_gzip_layer(writer, {files.begin(), files.end()});
    auto config = oci::make_image_config(oci::platform_for_debian_arch("amd64"), 1700000000, {}, {layer});
    oci::Descriptor manifest = writer.write_image(config, {layer}, {});
    writer.write_index_json(manifest, "latest");
    return manifest;
}

TEST_F(ScanCli, ScanningAnImageCachesItsCatalogByManifestDigest) {
    fs::path layout = m_work.path() / "image";
    oci::Descriptor manifest = write_image_layout(layout, rootfs_files(BookwormPackages));
    const std::string hex = manifest.digest.substr(manifest.digest.find(':') + 1);
    fs::path cached = m_cache.path() / "catalogs" / (hex + ".json");
    const std::string source = "oci:" + layout.string();
    auto scan = [&](std::vector<std::string> more = {}) {
        std::vector<std::string> args{"scan", source, "--db", shared_db().string(), "--format", "json"};
        args.insert(args.end(), more.begin(), more.end());
        return slate(args);
    };

    auto first = scan();
    ASSERT_EQ(first.exit_code, 0) << first.err;
    json report = json::parse(first.out);
    EXPECT_EQ(keys_of(report["matches"]), BookwormMatches);
    EXPECT_EQ(report["target"]["kind"], "image");
    EXPECT_EQ(report["target"]["digest"], manifest.digest);
    EXPECT_EQ(report["target"]["platform"], "linux/amd64");
    json direct = scan_json("dir:" + m_rootfs.string());
    EXPECT_EQ(report["matches"], direct["matches"]);
    EXPECT_EQ(report["summary"], direct["summary"]);
    ASSERT_TRUE(fs::is_regular_file(cached)) << cached;
    struct stat before {};
    ASSERT_EQ(::stat(cached.c_str(), &before), 0);

    // The second scan gives the same report from the cache entry, which it
    // does not write again.
    auto second = scan();
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_EQ(second.out, first.out);
    struct stat after {};
    ASSERT_EQ(::stat(cached.c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino);

    // Proof that the entry is what the scan reads: an entry saying libexpat1
    // is at the fixed version drops expat's finding; --no-cache reads the
    // layer again and finds it.
    json entry = json::parse(util::read_file(cached));
    bool edited = false;
    for (auto& package : entry["packages"])
        if (package["name"] == "libexpat1") {
            package["version"] = "2.5.0-1+deb12u1";
            edited = true;
        }
    ASSERT_TRUE(edited) << entry.dump(1);
    util::write_file_atomic(cached, entry.dump());
    auto from_cache = scan();
    ASSERT_EQ(from_cache.exit_code, 0) << from_cache.err;
    EXPECT_TRUE(finding(json::parse(from_cache.out)["matches"], "CVE-2023-52425", "libexpat1").is_null());
    auto uncached = scan({"--no-cache"});
    ASSERT_EQ(uncached.exit_code, 0) << uncached.err;
    EXPECT_EQ(uncached.out, first.out);
    EXPECT_EQ(json::parse(util::read_file(cached)), entry);  // --no-cache neither reads nor writes the cache

    // A damaged entry is ignored and replaced.
    util::write_file_atomic(cached, "{\"format\": 1, \"packages\": [");
    auto repaired = scan();
    ASSERT_EQ(repaired.exit_code, 0) << repaired.err;
    EXPECT_EQ(repaired.out, first.out);
    EXPECT_EQ(json::parse(util::read_file(cached))["packages"].size(), BookwormPackages.size());

    // With --no-cache and an empty cache: the same report, and no cache entry.
    TempDir other_cache;
    auto fresh = run({"scan", source, "--db", shared_db().string(), "--format", "json", "--no-cache"}, other_cache.path(),
                     m_work.path());
    ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
    EXPECT_EQ(fresh.out, first.out);
    EXPECT_FALSE(fs::exists(other_cache.path() / "catalogs"));
}

TEST_F(ScanCli, ARootFileSystemWithoutOsReleaseNeedsDistro) {
    fs::path bare = m_work.path() / "bare";
    write_rootfs(bare, rootfs_files(BookwormPackages, /*os_release=*/false));
    auto r = slate({"scan", "dir:" + bare.string(), "--db", shared_db().string(), "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--distro"), std::string::npos) << r.err;
    json report = json::parse(r.out);
    EXPECT_TRUE(report["matches"].empty()) << r.out;
    EXPECT_EQ(report["warnings"].size(), 1u);

    for (const std::string distro : {"debian:12", "bookworm"}) {
        json forced = scan_json("dir:" + bare.string(), {"--distro", distro});
        EXPECT_EQ(keys_of(forced["matches"]), BookwormMatches) << distro;
        EXPECT_EQ(forced["distro"]["version"], "12") << distro;
    }
}

}  // namespace
}  // namespace slate::test
