// Records mined from changelogs: which entry fixes a CVE, what the OSV record
// says (checked against the official OSV schema), and writing a set of
// records so that nothing half-written is ever seen.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "slate/deb/changelog.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/vuln/mine.hpp"
#include "support/expect.hpp"
#include "support/json_schema.hpp"
#include "support/paths.hpp"

namespace slate::vuln {
namespace {
namespace fs = std::filesystem;

// Newest first. CVE-2023-5363 is named by the security upload that fixed it
// and again, later, when the patch went upstream: the older entry must win.
const std::string Changelog = R"(openssl (3.0.13-1~deb12u1) bookworm; urgency=medium

  * Import 3.0.13
   - CVE-2023-5678 (Fix excessive time spent in DH check / generation with
     large Q parameter value) (Closes: #1055473).
  * Drop the CVE-2023-5363 patch, applied upstream.

 -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Sun, 03 Mar 2024 10:47:43 +0100

openssl (3.0.11-1~deb12u2) bookworm-security; urgency=high

  * CVE-2023-5363 (Incorrect cipher key and IV length processing).
  * Fix the build on hppa.

 -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Mon, 23 Oct 2023 19:52:22 +0200

openssl (3.0.11-1~deb12u1) bookworm; urgency=medium

  * Import 3.0.11

 -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Tue, 26 Sep 2023 21:08:42 +0200

openssl (3.0.9-1) unstable;

  * New upstream version, fixes cve-2023-2650.

 -- Kurt Roeckx <kurt@roeckx.be>  Wed, 31 May 2023 22:53:04 -0400
)";

std::vector<MinedRecord> mined() { return mine_changelog(deb::parse_changelog(Changelog, "openssl"), "openssl", "12"); }

const MinedRecord& find(const std::vector<MinedRecord>& records, const std::string& cve) {
    for (const auto& r : records)
        if (r.cve == cve) return r;
    ADD_FAILURE() << "no record for " << cve;
    static MinedRecord none;
    return none;
}

std::set<std::string> listing(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
    return names;
}

TEST(MineChangelog, TheOldestEntryNamingACveFixesIt) {
    auto records = mined();
    ASSERT_EQ(records.size(), 3u);
    // Sorted by id.
    EXPECT_EQ(records[0].id, "x_SLATE-CL-openssl-CVE-2023-2650");
    EXPECT_EQ(records[1].id, "x_SLATE-CL-openssl-CVE-2023-5363");
    EXPECT_EQ(records[2].id, "x_SLATE-CL-openssl-CVE-2023-5678");

    const auto& security = find(records, "CVE-2023-5363");
    EXPECT_EQ(security.source, "openssl");
    EXPECT_EQ(security.fixed, "3.0.11-1~deb12u2");  // not 3.0.13-1~deb12u1, which names it later
    EXPECT_EQ(find(records, "CVE-2023-5678").fixed, "3.0.13-1~deb12u1");
    EXPECT_EQ(find(records, "CVE-2023-2650").fixed, "3.0.9-1");  // named in lower case
}

TEST(MineChangelog, TheRecordCarriesTheFixingEntry) {
    auto records = mined();
    const auto& record = find(records, "CVE-2023-5363");
    // The whole document, byte for byte: keys in a fixed order, two-space
    // indentation, a final newline.
    EXPECT_EQ(record_text(record), R"({
  "schema_version": "1.6.0",
  "id": "x_SLATE-CL-openssl-CVE-2023-5363",
  "modified": "2023-10-23T17:52:22Z",
  "published": "2023-10-23T17:52:22Z",
  "aliases": [
    "CVE-2023-5363"
  ],
  "upstream": [
    "CVE-2023-5363"
  ],
  "summary": "CVE-2023-5363 in openssl, fixed in 3.0.11-1~deb12u2",
  "details": "openssl (3.0.11-1~deb12u2) bookworm-security; urgency=high\n\n* CVE-2023-5363 (Incorrect cipher key and IV length processing).",
  "affected": [
    {
      "package": {
        "ecosystem": "Debian:12",
        "name": "openssl",
        "purl": "pkg:deb/debian/openssl?arch=source"
      },
      "ranges": [
        {
          "type": "ECOSYSTEM",
          "events": [
            {
              "introduced": "0"
            },
            {
              "fixed": "3.0.11-1~deb12u2"
            }
          ]
        }
      ],
      "ecosystem_specific": {
        "urgency": "high"
      }
    }
  ],
  "database_specific": {
    "source": "debian-changelog",
    "changelog_version": "3.0.13-1~deb12u1",
    "fixed_distributions": [
      "bookworm-security"
    ]
  }
}
)");
}

TEST(MineChangelog, DetailsQuoteTheItemsNamingTheCve) {
    auto records = mined();
    // A nested item with its continuation line; the other items of the entry are left out.
    EXPECT_EQ(find(records, "CVE-2023-5678").osv["details"],
              "openssl (3.0.13-1~deb12u1) bookworm; urgency=medium\n\n- CVE-2023-5678 (Fix excessive time spent in DH "
              "check / generation with\nlarge Q parameter value) (Closes: #1055473).");
    // An entry without an urgency: the record says "unknown".
    const auto& old = find(records, "CVE-2023-2650");
    EXPECT_EQ(old.osv["affected"][0]["ecosystem_specific"]["urgency"], "unknown");
    EXPECT_EQ(old.osv["published"], "2023-06-01T02:53:04Z");
    EXPECT_EQ(old.osv["details"], "openssl (3.0.9-1) unstable;\n\n* New upstream version, fixes cve-2023-2650.");
}

TEST(MineChangelog, RecordsValidateAgainstTheOsvSchema) {
    test::JsonSchemaValidator validator{test::shared_schemas() / "osv"};
    auto records = mined();
    // And a source name with the characters Debian allows (+ and .).
    auto more = mine_changelog(deb::parse_changelog("libstdc++.x (1.0-1) sid; urgency=low\n\n  * CVE-2024-0001\n\n"
                                                    " -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n",
                                                    "x"),
                               "libstdc++.x", "unstable");
    ASSERT_EQ(more.size(), 1u);
    records.push_back(more.front());
    for (const auto& record : records) EXPECT_EQ(validator.errors("schema.json", record_text(record)), "") << record.id;
    // The schema's id rule is why records are "x_"-prefixed: without it, it fails.
    auto unprefixed = records.front();
    unprefixed.osv["id"] = "SLATE-CL-openssl-CVE-2023-2650";
    EXPECT_NE(validator.errors("schema.json", record_text(unprefixed)), "");
}

TEST(MineChangelog, SameChangelogSameBytes) {
    auto a = mined();
    auto b = mined();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(record_text(a[i]), record_text(b[i]));
}

TEST(MineChangelog, NoCvesNoRecords) {
    EXPECT_TRUE(mine_changelog(deb::Changelog{}, "openssl", "12").empty());
    auto quiet = deb::parse_changelog("hello (2.10-3) bookworm; urgency=medium\n\n  * Rebuild.\n\n"
                                      " -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n",
                                      "hello");
    EXPECT_TRUE(mine_changelog(quiet, "hello", "12").empty());
}

// ---------------------------------------------------------------------------
// Writing

TEST(WriteRecords, OneFilePerRecordInANewDirectory) {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "a/b/advisories";
    auto records = mined();
    write_records(out, records);
    std::set<std::string> expected;
    for (const auto& r : records) {
        expected.insert(r.id + ".json");
        EXPECT_EQ(util::read_file(out / (r.id + ".json")), record_text(r));
    }
    EXPECT_EQ(listing(out), expected);
    EXPECT_EQ(listing(out.parent_path()), std::set<std::string>{"advisories"});  // no temporary left beside it
    struct stat st {};
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    // A trailing slash names the same directory.
    write_records(out.string() + "/", records);
    EXPECT_EQ(listing(out), expected);
}

TEST(WriteRecords, ReplacesAnEarlierSetAsAWhole) {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "advisories";
    auto records = mined();
    write_records(out, records);
    std::vector<MinedRecord> fewer{records[1]};
    write_records(out, fewer);
    EXPECT_EQ(listing(out), std::set<std::string>{records[1].id + ".json"});
    EXPECT_EQ(listing(tmp.path()), std::set<std::string>{"advisories"});
    write_records(out, {});
    EXPECT_TRUE(listing(out).empty());
}

TEST(WriteRecords, AFailureMidwayLeavesTheOldSet) {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "advisories";
    auto records = mined();
    write_records(out, records);
    // The third record cannot be written (its file name is longer than any
    // file system allows), after two were.
    auto broken = records;
    broken[2].id = "x_SLATE-CL-" + std::string(300, 'a') + "-CVE-2024-0001";
    auto e = test::error_from([&] { write_records(out, broken); });
    EXPECT_EQ(e.code(), ErrorCode::Io);
    std::set<std::string> before;
    for (const auto& r : records) before.insert(r.id + ".json");
    EXPECT_EQ(listing(out), before);
    EXPECT_EQ(util::read_file(out / (records[0].id + ".json")), record_text(records[0]));
    EXPECT_EQ(listing(tmp.path()), std::set<std::string>{"advisories"});
}

TEST(WriteRecords, IdsThatAreNotFileNamesAreRefused) {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "advisories";
    for (const std::string id : {"x_SLATE-CL-../../etc-CVE-2024-0001", "x_SLATE-CL-a/b-CVE-2024-0001", "..", ""}) {
        auto records = mined();
        records[1].id = id;
        auto e = test::error_from([&] { write_records(out, records); });
        EXPECT_EQ(e.code(), ErrorCode::Parse) << id;
        EXPECT_FALSE(fs::exists(out));
        EXPECT_TRUE(listing(tmp.path()).empty());
    }
}

TEST(WriteRecords, RefusesToReplaceWhatSlateDidNotWrite) {
    test::TempDir tmp;
    const fs::path out = tmp.path() / "docs";
    fs::create_directories(out);
    util::write_file_atomic(out / "notes.txt", "mine\n");
    auto e = test::error_from([&] { write_records(out, mined()); });
    EXPECT_EQ(e.code(), ErrorCode::Usage);
    EXPECT_EQ(e.message(), "refusing to replace " + out.string() + ": it holds notes.txt, which slate did not write");
    EXPECT_EQ(listing(out), std::set<std::string>{"notes.txt"});
    EXPECT_EQ(util::read_file(out / "notes.txt"), "mine\n");
    EXPECT_EQ(listing(tmp.path()), std::set<std::string>{"docs"});

    // A file, and a symlink to a directory.
    util::write_file_atomic(tmp.path() / "file", "x");
    EXPECT_EQ(test::error_from([&] { check_records_dir(tmp.path() / "file"); }).code(), ErrorCode::Usage);
    EXPECT_EQ(util::read_file(tmp.path() / "file"), "x");
    fs::create_directory(tmp.path() / "real");
    fs::create_directory_symlink("real", tmp.path() / "link");
    EXPECT_EQ(test::error_from([&] { check_records_dir(tmp.path() / "link"); }).code(), ErrorCode::Usage);
    EXPECT_EQ(test::error_from([&] { check_records_dir(""); }).code(), ErrorCode::Usage);
}

TEST(WriteRecords, AnUnwritablePlaceIsAnIoError) {
    test::TempDir tmp;
    util::write_file_atomic(tmp.path() / "file", "x");
    auto e = test::error_from([&] { check_records_dir(tmp.path() / "file/advisories"); });
    EXPECT_EQ(e.code(), ErrorCode::Io);
    EXPECT_NE(e.message().find("cannot create " + (tmp.path() / "file").string()), std::string::npos) << e.message();
    EXPECT_EQ(test::error_from([&] { write_records(tmp.path() / "file/advisories", mined()); }).code(), ErrorCode::Io);
    // An empty directory and an earlier output are fine.
    fs::create_directory(tmp.path() / "empty");
    check_records_dir(tmp.path() / "empty");
    write_records(tmp.path() / "earlier", mined());
    check_records_dir(tmp.path() / "earlier");
}

}  // namespace
}  // namespace slate::vuln
