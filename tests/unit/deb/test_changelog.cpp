// Debian changelogs: the parser against real-looking text and against
// dpkg-parsechangelog (dpkg-dev), dates against GNU date, and reading the
// changelog out of .debs built by dpkg-deb and by support/hostile_deb.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "slate/deb/changelog.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/expect.hpp"
#include "support/hostile_deb.hpp"
#include "support/paths.hpp"

namespace slate::deb {
namespace {
namespace fs = std::filesystem;
using test::DebCompression;
using test::DebSpec;
using test::TarItem;

// Three uploads the way openssl's bookworm changelog has them: a security
// upload, a point-release upload with a nested CVE list, and an old unstable
// upload to two distributions with an urgency comment.
const std::string OpensslLike = R"(openssl (3.0.11-1~deb12u2) bookworm-security; urgency=medium

  * CVE-2023-5363 (Incorrect cipher key and IV length processing).

 -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Mon, 23 Oct 2023 19:52:22 +0200

openssl (3.0.11-1~deb12u1) bookworm; urgency=medium

  * Import 3.0.11
   - CVE-2023-2975 (AES-SIV implementation ignores empty associated data
     entries) (Closes: #1041817).
   - CVE-2023-3446, CVE-2023-3817 (Excessive time spent checking DH keys
     and parameters).

 -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Tue, 26 Sep 2023 21:08:42 +0200

openssl (3.0.9-1) unstable experimental; urgency=HIGH (CVE-2023-2650 is bad)

  * New upstream version.
    - (CVE-2023-2650) Possible DoS translating ASN.1 object identifiers.
  * Fix regression of CVE-2023-2975... no: of CVE-2022-4304.

 -- Kurt Roeckx <kurt@roeckx.be>  Wed, 31 May 2023 22:53:04 -0400

# Older entries have been removed from this changelog.
# To read the complete changelog use `apt changelog libssl3`.
)";

std::string gzip(const std::string& data) {
    util::ProcessOptions options;
    options.stdin_data = data;
    auto result = util::run_process({"gzip", "-9nc"}, options);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out;
}

// Seconds since the epoch according to GNU date, an independent RFC 2822 reader.
std::int64_t gnu_date(const std::string& text) {
    auto result = util::run_process({"date", "-u", "-d", text, "+%s"});
    EXPECT_EQ(result.exit_code, 0) << text << ": " << result.err;
    return std::stoll(result.out);
}

// dpkg-parsechangelog --all: one field map per entry.
std::vector<std::map<std::string, std::string>> dpkg_entries(const std::string& text) {
    test::TempDir dir;
    const fs::path file = dir.path() / "changelog";
    util::write_file_atomic(file, text);
    auto result = util::run_process({"dpkg-parsechangelog", "--all", "--format", "rfc822", "-l", file.string()});
    EXPECT_EQ(result.exit_code, 0) << "dpkg-parsechangelog (dpkg-dev) must be installed: " << result.err;
    std::vector<std::map<std::string, std::string>> entries;
    std::map<std::string, std::string> current;
    std::size_t pos = 0;
    const std::string& out = result.out;
    while (pos <= out.size()) {
        auto end = out.find('\n', pos);
        if (end == std::string::npos) end = out.size();
        std::string line = out.substr(pos, end - pos);
        pos = end + 1;
        if (line.empty()) {
            if (!current.empty()) entries.push_back(std::move(current));
            current.clear();
        } else if (line.front() != ' ') {
            auto colon = line.find(':');
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            current[line.substr(0, colon)] = value;
        }
    }
    if (!current.empty()) entries.push_back(std::move(current));
    return entries;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : " ") + item;
    return out;
}

// ---------------------------------------------------------------------------
// Entries

TEST(Changelog, ReadsEveryFieldOfEachEntry) {
    auto changelog = parse_changelog(OpensslLike, "openssl changelog");
    EXPECT_TRUE(changelog.warnings.empty()) << changelog.warnings.front();
    ASSERT_EQ(changelog.entries.size(), 3u);

    const auto& security = changelog.entries[0];
    EXPECT_EQ(security.source, "openssl");
    EXPECT_EQ(security.version, "3.0.11-1~deb12u2");
    EXPECT_EQ(security.distributions, std::vector<std::string>{"bookworm-security"});
    EXPECT_EQ(security.urgency, "medium");
    EXPECT_EQ(security.maintainer, "Sebastian Andrzej Siewior <sebastian@breakpoint.cc>");
    EXPECT_EQ(security.date, 1698083542);  // 2023-10-23T17:52:22Z
    EXPECT_EQ(security.text, "  * CVE-2023-5363 (Incorrect cipher key and IV length processing).");
    EXPECT_EQ(security.cves, std::vector<std::string>{"CVE-2023-5363"});
    EXPECT_EQ(security.line, 1u);

    const auto& point = changelog.entries[1];
    EXPECT_EQ(point.version, "3.0.11-1~deb12u1");
    EXPECT_EQ(point.cves, (std::vector<std::string>{"CVE-2023-2975", "CVE-2023-3446", "CVE-2023-3817"}));
    EXPECT_TRUE(point.text.starts_with("  * Import 3.0.11\n   - CVE-2023-2975")) << point.text;
    EXPECT_TRUE(point.text.ends_with("and parameters).")) << point.text;

    const auto& old = changelog.entries[2];
    EXPECT_EQ(old.distributions, (std::vector<std::string>{"unstable", "experimental"}));
    EXPECT_EQ(old.urgency, "high");  // lowercase, without "(CVE-2023-2650 is bad)"
    EXPECT_EQ(old.maintainer, "Kurt Roeckx <kurt@roeckx.be>");
    EXPECT_EQ(old.date, 1685587984);  // 22:53:04 -0400 is 02:53:04 UTC the next day
    // Named in the text only (the header's comment is not the text); each once.
    EXPECT_EQ(old.cves, (std::vector<std::string>{"CVE-2023-2650", "CVE-2023-2975", "CVE-2022-4304"}));
}

TEST(Changelog, AgreesWithDpkgParsechangelog) {
    const std::string more = R"(expat (2.5.0-1+deb12u1) bookworm-security; urgency=medium

  * Backport security fix for CVE-2024-45490: reject negative len for
    XML_ParseBuffer() (closes: #1080149).

 -- Laszlo Boszormenyi (GCS) <gcs@debian.org>  Sun, 08 Sep 2024 08:44:19 +0200

expat (2.5.0-1) unstable; urgency=high, binary-only=yes

  * New upstream release.

 -- Laszlo Boszormenyi (GCS) <gcs@debian.org>  Wed, 26 Oct 2022 15:31:29 +0200

expat (2.4.9-1) unstable; urgency=low

  * New upstream release.

 -- Laszlo Boszormenyi (GCS) <gcs@debian.org>  Thu,  1 Sep 2022 06:02:03 -0930
)";
    for (const std::string* text : {&OpensslLike, &more}) {
        auto ours = parse_changelog(*text, "changelog");
        auto theirs = dpkg_entries(*text);
        ASSERT_EQ(ours.entries.size(), theirs.size());
        for (std::size_t i = 0; i < theirs.size(); ++i) {
            const auto& e = ours.entries[i];
            auto& d = theirs[i];
            SCOPED_TRACE(d["Version"]);
            EXPECT_EQ(e.source, d["Source"]);
            EXPECT_EQ(e.version, d["Version"]);
            EXPECT_EQ(joined(e.distributions), d["Distribution"]);
            std::string urgency = d["Urgency"].substr(0, d["Urgency"].find(' '));
            for (auto& c : urgency) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            EXPECT_EQ(e.urgency, urgency);
            EXPECT_EQ(e.maintainer, d["Maintainer"]);
            EXPECT_EQ(std::to_string(e.date), d["Timestamp"]);
        }
    }
}

TEST(Changelog, AcceptsCrLfLineEnds) {
    std::string text;
    for (char c : OpensslLike) {
        if (c == '\n') text += '\r';
        text += c;
    }
    auto changelog = parse_changelog(text, "crlf");
    ASSERT_EQ(changelog.entries.size(), 3u);
    EXPECT_EQ(changelog.entries[0].date, 1698083542);
    EXPECT_EQ(changelog.entries[2].urgency, "high");
    EXPECT_TRUE(changelog.warnings.empty());
}

// ---------------------------------------------------------------------------
// CVE mentions

TEST(Changelog, FindsCveIdsTheWayMaintainersWriteThem) {
    using V = std::vector<std::string>;
    EXPECT_EQ(find_cve_ids("CVE-2023-1234, CVE-2023-5678"), (V{"CVE-2023-1234", "CVE-2023-5678"}));
    EXPECT_EQ(find_cve_ids("Fix a crash (CVE-2023-1234)."), V{"CVE-2023-1234"});
    EXPECT_EQ(find_cve_ids("CVE-2023-1234/CVE-2023-5678;CVE-2023-9999:"),
              (V{"CVE-2023-1234", "CVE-2023-5678", "CVE-2023-9999"}));
    EXPECT_EQ(find_cve_ids("debian/patches/CVE-2021-3999.patch"), V{"CVE-2021-3999"});
    EXPECT_EQ(find_cve_ids("any/local-CVE-2023-4911.patch"), V{"CVE-2023-4911"});
    EXPECT_EQ(find_cve_ids("fix_CVE-2020-12345-part2"), V{"CVE-2020-12345"});
    EXPECT_EQ(find_cve_ids("CVE-2024-1234567 has seven digits"), V{"CVE-2024-1234567"});
    // Lower and mixed case name the CVE too; the id is written uppercase.
    EXPECT_EQ(find_cve_ids("cve-2022-12345.patch and Cve-2019-0001"), (V{"CVE-2022-12345", "CVE-2019-0001"}));
    // Each id once, in order of first mention.
    EXPECT_EQ(find_cve_ids("CVE-2023-2 CVE-2023-5678 CVE-2023-1234 cve-2023-5678"), (V{"CVE-2023-5678", "CVE-2023-1234"}));
    // Not ids: glued to a word, too few digits, a year that is not four digits, no dash.
    EXPECT_EQ(find_cve_ids("XCVE-2023-1234 CVE-2023-123 CVE-23-1234 CVE-20231-1234 CVE2023-1234 CVE-2023_1234"), V{});
    EXPECT_EQ(find_cve_ids(""), V{});
    EXPECT_EQ(find_cve_ids("CVE-2023-"), V{});
}

// ---------------------------------------------------------------------------
// Dates

TEST(Changelog, DatesAgreeWithGnuDate) {
    for (const std::string text : {"Mon, 23 Oct 2023 19:52:22 +0200", "Thu,  1 Sep 2022 06:02:03 -0930",
                                   "Sat, 29 Feb 2020 23:59:59 +1400", "Wed, 31 Dec 1997 23:00:00 -0100",
                                   "Fri, 01 Jan 2038 00:00:00 +0000", "Sun, 08 Sep 2024 08:44:19 GMT"}) {
        EXPECT_EQ(parse_changelog_date(text), gnu_date(text)) << text;
    }
}

TEST(Changelog, DatesToleratedAndRefused) {
    // No day name, a full month name, minutes only, obsolete zones, a comment.
    EXPECT_EQ(parse_changelog_date("23 Oct 2023 19:52:22 +0200"), 1698083542);
    EXPECT_EQ(parse_changelog_date("Monday, 23 October 2023 19:52:22 +0200"), 1698083542);
    EXPECT_EQ(parse_changelog_date("Mon, 23 Oct 2023 17:52 UT"), 1698083520);
    EXPECT_EQ(parse_changelog_date("Mon, 23 Oct 2023 13:52:22 EDT"), 1698083542);
    EXPECT_EQ(parse_changelog_date("Mon, 23 Oct 2023 17:52:22 +0000 (UTC)"), 1698083542);
    for (const std::string bad : {"", "yesterday", "Mon, 30 Feb 2023 10:00:00 +0000", "Mon, 23 Oct 2023 24:00:00 +0000",
                                  "Mon, 23 Foo 2023 10:00:00 +0000", "Mon, 23 Oct 2023 10:00:00", "Mon, 23 Oct 2023 10:00:00 +2400",
                                  "Mon, 23 Oct 2023 10:00:00 CEST", "Mon, 23 Oct 2023 10.00.00 +0000", "Mon Oct 23 10:00:00 2023"}) {
        EXPECT_EQ(parse_changelog_date(bad), std::nullopt) << bad;
    }
}

// ---------------------------------------------------------------------------
// What real changelogs contain besides entries

TEST(Changelog, SkipsMalformedEntriesWithAWarning) {
    const std::string text = R"(pkg (4.0-1) unstable; urgency=low

  * Good (CVE-2024-0004).

 -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000

pkg (3.0-1) unstable urgency=low

  * No semicolon in the header (CVE-2024-0003).

 -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000

pkg (2.0-1) unstable; urgency=low

  * A trailer whose date is nonsense (CVE-2024-0002).

 -- A <a@b.c>  sometime last week

pkg (1.5-1) unstable; urgency=low

  * No trailer at all (CVE-2024-0015).

pkg (1.0-1) unstable; urgency=low

  * The oldest, good one.

 -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000
)";
    auto changelog = parse_changelog(text, "pkg changelog");
    ASSERT_EQ(changelog.entries.size(), 2u);
    EXPECT_EQ(changelog.entries[0].version, "4.0-1");
    EXPECT_EQ(changelog.entries[1].version, "1.0-1");
    EXPECT_EQ(changelog.entries[1].text, "  * The oldest, good one.");
    ASSERT_EQ(changelog.warnings.size(), 3u);
    EXPECT_EQ(changelog.warnings[0],
              "pkg changelog:7: malformed entry header \"pkg (3.0-1) unstable urgency=low\" (expected \"source (version) "
              "distribution; urgency=...\"); entry skipped");
    EXPECT_EQ(changelog.warnings[1],
              "pkg changelog:17: entry pkg 2.0-1 skipped: its trailer's date \"sometime last week\" is not an RFC 2822 date");
    EXPECT_EQ(changelog.warnings[2], "pkg changelog:19: entry pkg 1.5-1 has no trailer before the next entry; skipped");
}

TEST(Changelog, StopsAtEmacsBlocksAndOldChangelogs) {
    const std::string entry = "pkg (1.0-1) unstable; urgency=low\n\n  * Fix CVE-2020-0001.\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n\n";
    const std::string later = "pkg (0.9-1) unstable; urgency=low\n\n  * CVE-2019-0001\n\n -- A <a@b.c>  Mon, 01 Jan 2019 00:00:00 +0000\n";
    for (const std::string stop : {"Local variables:\nmode: debian-changelog\nEnd:\n", ";; Local Variables:\n",
                                   "Old Changelog:\n", "vim: set ft=debchangelog:\n"}) {
        auto changelog = parse_changelog(entry + stop + later, "pkg");
        ASSERT_EQ(changelog.entries.size(), 1u) << stop;
        EXPECT_EQ(changelog.entries[0].cves, std::vector<std::string>{"CVE-2020-0001"});
        EXPECT_TRUE(changelog.warnings.empty()) << changelog.warnings.front();
    }
    // An unfinished entry before the stop is reported.
    auto unfinished = parse_changelog("pkg (1.0-1) unstable; urgency=low\n\n  * x\n\nLocal variables:\n", "pkg");
    EXPECT_TRUE(unfinished.entries.empty());
    ASSERT_EQ(unfinished.warnings.size(), 1u);
    EXPECT_EQ(unfinished.warnings[0], "pkg:1: entry pkg 1.0-1 has no trailer before line 5; skipped");
}

TEST(Changelog, IgnoresCommentsAndWarnsOnceForOldFreeFormText) {
    const std::string text = R"($Id: changelog,v 1.4 1998/01/01 $
# a comment
gzip (1.12-1) unstable; urgency=medium

  * New upstream release.

 -- Milan Kupcevic <milan@debian.org>  Sun, 10 Apr 2022 12:30:05 -0400

Thu Jul 18 01:30:22 MDT 1996	Bdale Garbee	<bdale@gag.com>

	* added a Debian changelog (CVE-1996-0001)

Tue Jul  2 1996  Someone Else
	* an older change

gzip (1.2.4-9) unstable; urgency=low

  * Real entries are read again after free-form text.

 -- Bdale Garbee <bdale@gag.com>  Mon, 01 Jul 1996 12:00:00 -0600
vim:set ai tw=78 et sw=2 sts=2:
gzip (1.2.4-8) unstable; urgency=low

  * Not read: after the modeline.

 -- Bdale Garbee <bdale@gag.com>  Mon, 01 Jun 1996 12:00:00 -0600
)";
    auto changelog = parse_changelog(text, "gzip");
    ASSERT_EQ(changelog.entries.size(), 2u);
    EXPECT_EQ(changelog.entries[1].version, "1.2.4-9");
    for (const auto& e : changelog.entries) EXPECT_TRUE(e.cves.empty());
    // One warning for the free-form run; the vim modeline ends the changelog quietly.
    ASSERT_EQ(changelog.warnings.size(), 1u);
    EXPECT_TRUE(changelog.warnings[0].starts_with("gzip:9: unexpected text outside an entry ignored: \"Thu Jul 18"))
        << changelog.warnings[0];
}

TEST(Changelog, NeverThrowsOnDamagedText) {
    // Every prefix of a real-looking changelog, and the same text with bytes
    // replaced by a fixed pseudo-random sequence: parsing never fails and every
    // entry it keeps is whole.
    auto check = [](const std::string& text) {
        auto changelog = parse_changelog(text, "damaged");
        for (const auto& e : changelog.entries) {
            EXPECT_FALSE(e.source.empty());
            EXPECT_FALSE(e.version.empty());
            EXPECT_FALSE(e.distributions.empty());
            EXPECT_FALSE(e.maintainer.empty());
        }
        return changelog.entries.size();
    };
    std::size_t whole = 0;
    for (std::size_t n = 0; n <= OpensslLike.size(); ++n) whole = check(OpensslLike.substr(0, n));
    EXPECT_EQ(whole, 3u);
    std::uint32_t state = 12345;
    for (int round = 0; round < 2000; ++round) {
        std::string text = OpensslLike;
        for (int flips = 0; flips < 4; ++flips) {
            state = state * 1664525u + 1013904223u;
            text[state % text.size()] = static_cast<char>(state >> 24);
        }
        check(text);
    }
    EXPECT_TRUE(parse_changelog(std::string(1000, '\0'), "zeros").entries.empty());
    EXPECT_TRUE(parse_changelog(std::string(" -- \n(\n;\n"), "junk").entries.empty());
}

// ---------------------------------------------------------------------------
// Changelogs in .deb files

DebSpec doc_spec(std::vector<TarItem> data) {
    DebSpec spec;
    spec.package = "libfoo1";
    spec.version = "1.0-1";
    spec.data = {TarItem::directory("./usr/"), TarItem::directory("./usr/share/"), TarItem::directory("./usr/share/doc/")};
    spec.data.insert(spec.data.end(), data.begin(), data.end());
    return spec;
}

DebChangelog read_spec(const DebSpec& spec, const std::string& package, bool native = false) {
    test::TempDir dir;
    auto path = test::write_deb(dir.path() / "pkg.deb", spec);
    return read_deb_changelog(path, package, native, "libfoo1 1.0-1 (amd64)");
}

TEST(DebChangelogFile, ReadsTheChangelogOfADebBuiltByDpkgDeb) {
    test::TempDir dir;
    const fs::path root = dir.path() / "root";
    fs::create_directories(root / "DEBIAN");
    fs::create_directories(root / "usr/share/doc/libssl3");
    util::write_file_atomic(root / "DEBIAN/control",
                            "Package: libssl3\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\nMaintainer: A <a@b.c>\n"
                            "Description: test\n");
    util::write_file_atomic(root / "usr/share/doc/libssl3/changelog.Debian.gz", gzip(OpensslLike));
    util::write_file_atomic(root / "usr/share/doc/libssl3/copyright", "x\n");
    auto built = util::run_process({"dpkg-deb", "--root-owner-group", "-Zxz", "--build", root.string(),
                                    (dir.path() / "libssl3.deb").string()});
    ASSERT_EQ(built.exit_code, 0) << built.err;

    auto found = read_deb_changelog(dir.path() / "libssl3.deb", "libssl3", false, "libssl3");
    ASSERT_EQ(found.status, DebChangelog::Status::Found);
    EXPECT_EQ(found.path, "/usr/share/doc/libssl3/changelog.Debian.gz");
    EXPECT_EQ(found.text, OpensslLike);
    // Another package's name finds nothing in it.
    EXPECT_EQ(read_deb_changelog(dir.path() / "libssl3.deb", "openssl", false, "libssl3").status,
              DebChangelog::Status::Missing);
}

TEST(DebChangelogFile, EveryDataCompression) {
    for (auto compression : {DebCompression::None, DebCompression::Gzip, DebCompression::Xz, DebCompression::Zstd,
                             DebCompression::Bzip2}) {
        auto spec = doc_spec({TarItem::directory("./usr/share/doc/libfoo1/"),
                              TarItem::file("./usr/share/doc/libfoo1/changelog.Debian.gz", gzip(OpensslLike))});
        spec.data_compression = compression;
        auto found = read_spec(spec, "libfoo1");
        ASSERT_EQ(found.status, DebChangelog::Status::Found) << test::compression_suffix(compression);
        EXPECT_EQ(found.text, OpensslLike);
    }
}

TEST(DebChangelogFile, FollowsSymlinksIntoOtherDocDirectories) {
    // The whole doc directory, relative and absolute.
    auto relative = read_spec(doc_spec({TarItem::symlink("./usr/share/doc/libfoo-dev", "libfoo1")}), "libfoo-dev");
    EXPECT_EQ(relative.status, DebChangelog::Status::Elsewhere);
    EXPECT_EQ(relative.elsewhere, "libfoo1");
    auto absolute = read_spec(doc_spec({TarItem::symlink("./usr/share/doc/libfoo-dev", "/usr/share/doc/libfoo1/")}), "libfoo-dev");
    EXPECT_EQ(absolute.status, DebChangelog::Status::Elsewhere);
    EXPECT_EQ(absolute.elsewhere, "libfoo1");
    // Only the changelog.
    auto file = read_spec(doc_spec({TarItem::directory("./usr/share/doc/foo-tools/"),
                                    TarItem::symlink("./usr/share/doc/foo-tools/changelog.Debian.gz",
                                                     "../libfoo1/changelog.Debian.gz")}),
                          "foo-tools");
    EXPECT_EQ(file.status, DebChangelog::Status::Elsewhere);
    EXPECT_EQ(file.elsewhere, "libfoo1");
    // Links that lead nowhere useful: out of /usr/share/doc, to another file, above the root.
    for (const std::string target : {"../../lib/foo", "../libfoo1/NEWS.gz", "../../../../../etc"}) {
        auto nowhere = read_spec(doc_spec({TarItem::directory("./usr/share/doc/foo-tools/"),
                                           TarItem::symlink("./usr/share/doc/foo-tools/changelog.Debian.gz", target)}),
                                 "foo-tools");
        EXPECT_EQ(nowhere.status, DebChangelog::Status::Missing) << target;
    }
}

TEST(DebChangelogFile, NativePackagesKeepItInChangelogGz) {
    const std::string native = "base-files (12.4+deb12u5) bookworm; urgency=medium\n\n  * x\n\n -- A <a@b.c>  Mon, 01 Jan 2024 00:00:00 +0000\n";
    auto spec = doc_spec({TarItem::directory("./usr/share/doc/base-files/"),
                          TarItem::file("./usr/share/doc/base-files/changelog.gz", gzip(native))});
    EXPECT_EQ(read_spec(spec, "base-files", false).status, DebChangelog::Status::Missing);
    auto found = read_spec(spec, "base-files", true);
    ASSERT_EQ(found.status, DebChangelog::Status::Found);
    EXPECT_EQ(found.path, "/usr/share/doc/base-files/changelog.gz");
    EXPECT_EQ(found.text, native);
    // changelog.Debian.gz wins when both are there, whatever their order.
    auto both = doc_spec({TarItem::directory("./usr/share/doc/base-files/"),
                          TarItem::file("./usr/share/doc/base-files/changelog.gz", gzip("upstream notes\n")),
                          TarItem::file("./usr/share/doc/base-files/changelog.Debian.gz", gzip(native))});
    EXPECT_EQ(read_spec(both, "base-files", true).text, native);
    EXPECT_EQ(is_native_version("12.4+deb12u5"), true);
    EXPECT_EQ(is_native_version("1:2.0"), true);
    EXPECT_EQ(is_native_version("3.0.11-1~deb12u2"), false);
}

TEST(DebChangelogFile, MissingWhenThereIsNone) {
    EXPECT_EQ(read_spec(doc_spec({TarItem::directory("./usr/share/doc/libfoo1/"),
                                  TarItem::file("./usr/share/doc/libfoo1/copyright", "x")}),
                        "libfoo1")
                  .status,
              DebChangelog::Status::Missing);
    EXPECT_EQ(read_spec(doc_spec({}), "libfoo1").status, DebChangelog::Status::Missing);
    // A directory where the file should be.
    EXPECT_EQ(read_spec(doc_spec({TarItem::directory("./usr/share/doc/libfoo1/"),
                                  TarItem::directory("./usr/share/doc/libfoo1/changelog.Debian.gz/")}),
                        "libfoo1")
                  .status,
              DebChangelog::Status::Missing);
}

TEST(DebChangelogFile, DamagedInputIsAParseError) {
    auto bad_gzip = doc_spec({TarItem::directory("./usr/share/doc/libfoo1/"),
                              TarItem::file("./usr/share/doc/libfoo1/changelog.Debian.gz", "not gzip at all")});
    auto e = test::error_from([&] { read_spec(bad_gzip, "libfoo1"); });
    EXPECT_EQ(e.code(), ErrorCode::Parse);
    EXPECT_NE(e.message().find("libfoo1 1.0-1 (amd64): /usr/share/doc/libfoo1/changelog.Debian.gz is not valid gzip data"),
              std::string::npos)
        << e.message();

    std::string gz = gzip(OpensslLike);
    auto truncated = doc_spec({TarItem::directory("./usr/share/doc/libfoo1/"),
                               TarItem::file("./usr/share/doc/libfoo1/changelog.Debian.gz", gz.substr(0, gz.size() / 2))});
    EXPECT_EQ(test::error_from([&] { read_spec(truncated, "libfoo1"); }).code(), ErrorCode::Parse);

    test::TempDir dir;
    util::write_file_atomic(dir.path() / "x.deb", "this is not a Debian package");
    auto not_deb = test::error_from([&] { read_deb_changelog(dir.path() / "x.deb", "x", false, "x 1.0"); });
    EXPECT_EQ(not_deb.code(), ErrorCode::Parse);
    EXPECT_NE(not_deb.message().find("cannot read x 1.0"), std::string::npos) << not_deb.message();

    auto deb = test::make_deb(doc_spec({}));
    util::write_file_atomic(dir.path() / "cut.deb", deb.substr(0, deb.size() / 2));
    EXPECT_EQ(test::error_from([&] { read_deb_changelog(dir.path() / "cut.deb", "libfoo1", false, "cut"); }).code(),
              ErrorCode::Parse);

    EXPECT_EQ(test::error_from([&] { read_deb_changelog(dir.path() / "absent.deb", "x", false, "x"); }).code(),
              ErrorCode::NotFound);
}

}  // namespace
}  // namespace slate::deb
