#include <gtest/gtest.h>

#include <fstream>

#include "support/expect.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "slate/vuln/database.hpp"
#include "vuln_fixture.hpp"

namespace slate::vuln {
namespace {

namespace fs = std::filesystem;
using test::vuln_data;

std::vector<std::string> dir_entries(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir)) out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(VulnDatabase, ImportsTheTrackerAndOsvAndCountsWhatItSkipped) {
    test::TempDir dir;
    fs::path db_path = dir.path() / "vuln.db";
    auto records = import_feeds(db_path, {{.path = vuln_data() / "tracker.json"}, {.path = vuln_data() / "osv"}}, 1000);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].kind, FeedKind::DebianTracker);
    EXPECT_EQ(records[0].stats.records, 12u);  // CVE entries, including one with "releases": []
    EXPECT_EQ(records[0].stats.skipped, 2u);   // "releases" a string; an entry that is not an object
    EXPECT_EQ(records[0].stats.warnings.size(), 2u);
    EXPECT_EQ(records[1].kind, FeedKind::Osv);
    EXPECT_EQ(records[1].stats.records, 4u);
    EXPECT_EQ(records[1].stats.withdrawn, 1u);
    EXPECT_EQ(records[1].stats.out_of_scope, 1u);  // the PyPI record
    EXPECT_EQ(records[1].stats.skipped, 1u);       // an event with two keys
    EXPECT_EQ(records[1].stats.newest, "2024-08-01T00:00:00Z");
    EXPECT_EQ(dir_entries(dir.path()), std::vector<std::string>{"vuln.db"});

    Database db(db_path);
    EXPECT_EQ(db.built(), 1000);
    auto openssl = db.advisories_for("Debian:12", "openssl");
    std::vector<std::string> ids;
    for (const auto& a : openssl) ids.push_back(a.id);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"CVE-2023-0002", "CVE-2024-1111", "DEBIAN-CVE-2024-1111", "DSA-5679-1"}));
    for (const auto& a : openssl) {
        ASSERT_EQ(a.affected.size(), 1u) << a.id;  // only the Debian:12 statement, not Debian:13's
        EXPECT_EQ(a.affected[0].ecosystem, "Debian:12");
        if (a.id == "DSA-5679-1") {
            ASSERT_TRUE(a.cvss_score);
            EXPECT_DOUBLE_EQ(*a.cvss_score, 9.8);
            EXPECT_EQ(a.aliases, (std::vector<std::string>{"CVE-2024-1111", "CVE-2024-2222"}));
            ASSERT_EQ(a.affected[0].ranges.size(), 1u);
            ASSERT_EQ(a.affected[0].ranges[0].size(), 2u);
            EXPECT_EQ(a.affected[0].ranges[0][1].kind, RangeEvent::Kind::Fixed);
            EXPECT_EQ(a.affected[0].ranges[0][1].version, "3.0.11-1~deb12u2");
        }
    }
    EXPECT_TRUE(db.advisories_for("Debian:12", "requests").empty());
    EXPECT_EQ(db.advisories_for("Debian:11", "zlib").size(), 1u);

    DatabaseStatus status = db.status();
    EXPECT_EQ(status.feeds.size(), 2u);
    EXPECT_EQ(status.schema_version, DatabaseSchemaVersion);
    EXPECT_GT(status.counts.affected, status.counts.advisories - 1);
}

TEST(VulnDatabase, ReimportingAFeedReplacesItsRecordsAndKeepsTheOthers) {
    test::TempDir dir;
    fs::path db_path = dir.path() / "vuln.db";
    import_feeds(db_path, {{.path = vuln_data() / "tracker.json"}, {.path = vuln_data() / "osv"}}, 1000);
    auto before = Database(db_path).status().counts;
    import_feeds(db_path, {{.path = vuln_data() / "osv"}}, 2000);
    Database db(db_path);
    auto after = db.status().counts;
    EXPECT_EQ(after.advisories, before.advisories);
    EXPECT_EQ(after.affected, before.affected);
    EXPECT_EQ(db.built(), 2000);
    EXPECT_EQ(db.feeds().size(), 2u);
}

TEST(VulnDatabase, AFailedImportLeavesTheWorkingDatabaseUntouched) {
    test::TempDir dir;
    fs::path db_path = dir.path() / "vuln.db";
    import_feeds(db_path, {{.path = vuln_data() / "tracker.json"}}, 1000);
    std::string original = util::read_file(db_path);

    // A tracker feed cut off in the middle (a partial download).
    std::string tracker = util::read_file(vuln_data() / "tracker.json");
    fs::path truncated = dir.path() / "truncated.json";
    util::write_file_atomic(truncated, tracker.substr(0, tracker.size() / 2));
    Error error = test::error_from([&] {
        import_feeds(db_path, {{.path = vuln_data() / "osv"}, {.path = truncated, .kind = FeedKind::DebianTracker}}, 2000);
    });
    EXPECT_EQ(error.code(), ErrorCode::Parse);
    EXPECT_NE(error.describe().find("truncated.json"), std::string::npos) << error.describe();
    EXPECT_NE(error.describe().find("the database was not changed"), std::string::npos) << error.describe();
    EXPECT_EQ(util::read_file(db_path), original);
    EXPECT_EQ(dir_entries(dir.path()), (std::vector<std::string>{"truncated.json", "vuln.db"}));

    // A file that is no feed at all is refused before anything is written.
    fs::path junk = dir.path() / "junk.json";
    util::write_file_atomic(junk, "[1, 2, 3]");
    error = test::error_from([&] { import_feeds(db_path, {{.path = junk}}, 3000); });
    EXPECT_EQ(error.code(), ErrorCode::Parse);
    EXPECT_NE(error.message().find("not a vulnerability feed"), std::string::npos) << error.message();
    EXPECT_EQ(util::read_file(db_path), original);
    EXPECT_EQ(Database(db_path).built(), 1000);
}

TEST(VulnDatabase, ReadsOsvRecordsFromAZip) {
    test::TempDir dir;
    fs::path zip = dir.path() / "all.zip";
    auto result = util::run_process({"python3", "-c",
                                     "import sys, zipfile, pathlib\n"
                                     "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n"
                                     "    for p in sorted(pathlib.Path(sys.argv[2]).glob('*.json')):\n"
                                     "        z.write(p, p.name)\n",
                                     zip.string(), (vuln_data() / "osv").string()});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(detect_feed(zip), FeedKind::Osv);
    auto records = import_feeds(dir.path() / "vuln.db", {{.path = zip}}, 1000);
    EXPECT_EQ(records[0].stats.records, 4u);
    EXPECT_EQ(records[0].stats.withdrawn, 1u);
    EXPECT_EQ(records[0].stats.skipped, 1u);

    // A zip cut short is a damaged feed: refused, nothing written.
    std::string bytes = util::read_file(zip);
    fs::path cut = dir.path() / "cut.zip";
    util::write_file_atomic(cut, bytes.substr(0, bytes.size() - 200));
    fs::path fresh = dir.path() / "fresh.db";
    EXPECT_THROW(import_feeds(fresh, {{.path = cut}}, 1000), Error);
    EXPECT_FALSE(fs::exists(fresh));
}

TEST(VulnDatabase, DetectsFeedKindsFromTheirContent) {
    EXPECT_EQ(detect_feed(vuln_data() / "tracker.json"), FeedKind::DebianTracker);
    EXPECT_EQ(detect_feed(vuln_data() / "osv"), FeedKind::Osv);
    EXPECT_EQ(detect_feed(vuln_data() / "osv" / "DSA-5679-1.json"), FeedKind::Osv);
    EXPECT_EQ(detect_feed(vuln_data() / "vex.json"), FeedKind::OpenVex);
    test::TempDir dir;
    util::write_file_atomic(dir.path() / "empty.json", "");
    EXPECT_EQ(test::error_from([&] { detect_feed(dir.path() / "empty.json"); }).code(), ErrorCode::Parse);
    EXPECT_EQ(test::error_from([&] { detect_feed(dir.path() / "missing.json"); }).code(), ErrorCode::NotFound);
}

TEST(VulnDatabase, OpeningSomethingElseSaysWhatToDo) {
    test::TempDir dir;
    Error missing = test::error_from([&] { Database db(dir.path() / "none.db"); });
    EXPECT_EQ(missing.code(), ErrorCode::NotFound);
    EXPECT_NE(missing.hint().find("slate db import"), std::string::npos);

    util::write_file_atomic(dir.path() / "text.db", "this is not sqlite at all, just text that is long enough to matter");
    Error junk = test::error_from([&] { Database db(dir.path() / "text.db"); });
    EXPECT_EQ(junk.code(), ErrorCode::Parse) << junk.describe();
}

TEST(VulnDatabase, KeepsImportedVexDocuments) {
    test::TempDir dir;
    fs::path db_path = dir.path() / "vuln.db";
    import_feeds(db_path, {{.path = vuln_data() / "vex.json"}}, 1000);
    Database db(db_path);
    auto documents = db.vex_documents();
    ASSERT_EQ(documents.size(), 1u);
    EXPECT_NE(documents[0].find("CVE-2025-0001"), std::string::npos);
}

}  // namespace
}  // namespace slate::vuln
