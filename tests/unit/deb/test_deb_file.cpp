// read_deb against real .debs (the fixture archive's, the host's apt cache),
// checked against dpkg-deb and GNU tar, and against hostile and malformed
// .debs made by support/hostile_deb.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "slate/deb/deb822.hpp"
#include "slate/deb/deb_file.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/fixture_archive.hpp"
#include "support/hostile_deb.hpp"
#include "support/paths.hpp"

namespace slate::deb {
namespace {
namespace fs = std::filesystem;
using test::DebCompression;
using test::DebSpec;
using test::TarItem;

// ---------------------------------------------------------------------------
// Helpers

// The error read_deb throws for `bytes`, which the test expects to be refused.
Error refusal(const std::string& bytes, const std::string& name = "hostile 1.0-1") {
    try {
        parse_deb(bytes, name);
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected " << name << " to be refused";
    return Error(ErrorCode::Internal, "not refused");
}

DebFile read_spec(const DebSpec& spec) { return parse_deb(test::make_deb(spec), "hostile 1.0-1"); }

const DebEntry* find_entry(const DebFile& deb, const std::string& path) {
    for (const DebEntry& e : deb.entries) {
        if (e.path == path) return &e;
    }
    return nullptr;
}

std::string utc_time(std::int64_t t) {
    std::time_t time = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&time, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
    return buffer;
}

std::string strip_tar_name(std::string name) {
    while (name.starts_with("./")) name.erase(0, 2);
    while (name.size() > 1 && name.ends_with('/')) name.pop_back();
    return name;
}

// "-rwsr-xr-x" -> 04755 (GNU tar's rendering of the mode bits).
unsigned mode_from_perm(const std::string& perm) {
    unsigned mode = 0;
    const unsigned bits[9] = {0400, 0200, 0100, 040, 020, 010, 04, 02, 01};
    for (int i = 0; i < 9; ++i) {
        char c = perm.at(static_cast<std::size_t>(i) + 1);
        if (c != '-' && c != 'S' && c != 'T') mode |= bits[i];
    }
    if (perm[3] == 's' || perm[3] == 'S') mode |= 04000;
    if (perm[6] == 's' || perm[6] == 'S') mode |= 02000;
    if (perm[9] == 't' || perm[9] == 'T') mode |= 01000;
    return mode;
}

// One line per entry, the same shape for both implementations:
// "<type> <mode> <uid>/<gid> <size> <mtime> <path>[ -> <target>]".
std::string render(char type, unsigned mode, std::string owner, std::size_t size, const std::string& mtime,
                   const std::string& path, const std::string& target) {
    return fmt::format("{} {:04o} {} {} {} {}{}", type, mode, owner, size, mtime, path,
                       target.empty() ? "" : " -> " + target);
}

std::vector<std::string> slate_listing(const DebFile& deb) {
    std::vector<std::string> lines;
    for (const DebEntry& e : deb.entries) {
        char type = e.type == EntryType::File        ? '-'
                    : e.type == EntryType::Directory ? 'd'
                    : e.type == EntryType::Symlink   ? 'l'
                                                     : 'h';
        std::size_t size = e.type == EntryType::File ? e.content->size() : 0;
        lines.push_back(render(type, e.mode, fmt::format("{}/{}", e.uid, e.gid), size, utc_time(e.mtime), e.path,
                               e.link_target));
    }
    return lines;
}

// What `dpkg-deb --contents` shows (it runs GNU tar on --fsys-tarfile), with
// numeric owners and full times so that every field can be compared.
std::vector<std::string> dpkg_listing(const fs::path& deb) {
    auto tar = util::run_process({"dpkg-deb", "--fsys-tarfile", deb.string()});
    EXPECT_EQ(tar.exit_code, 0) << tar.err;
    util::ProcessOptions options;
    options.stdin_data = tar.out;
    options.env = {{"TZ", "UTC"}, {"LC_ALL", "C"}};
    auto list = util::run_process(
        {"tar", "--numeric-owner", "--full-time", "--quoting-style=literal", "-tvf", "-"}, options);
    EXPECT_EQ(list.exit_code, 0) << list.err;
    std::vector<std::string> lines;
    std::istringstream in(list.out);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string perm, owner, size, date, time, rest;
        fields >> perm >> owner >> size >> date >> time;
        std::getline(fields, rest);
        rest.erase(0, 1);
        std::string name = rest, target;
        char type = perm[0];
        if (type == 'l') {
            auto arrow = rest.find(" -> ");
            name = rest.substr(0, arrow);
            target = rest.substr(arrow + 4);
        } else if (type == 'h') {
            auto link = rest.find(" link to ");
            name = rest.substr(0, link);
            target = strip_tar_name(rest.substr(link + 9));
        }
        name = strip_tar_name(name);
        if (name == "." || name.empty()) continue;  // the root, which read_deb does not return
        lines.push_back(render(type, mode_from_perm(perm), owner, std::stoul(size), date + " " + time, name, target));
    }
    return lines;
}

// Compares everything read_deb returns for `path` with dpkg-deb's view of it:
// the listing, every control member (dpkg-deb -e), the Package field
// (dpkg-deb -f), every file's bytes and every symlink (dpkg-deb -x).
void expect_matches_dpkg(const fs::path& path) {
    SCOPED_TRACE(path.string());
    DebFile deb = read_deb(path, path.filename().string());
    EXPECT_EQ(slate_listing(deb), dpkg_listing(path));

    test::TempDir dir;
    auto control = util::run_process({"dpkg-deb", "-e", path.string(), (dir.path() / "control").string()});
    ASSERT_EQ(control.exit_code, 0) << control.err;
    std::map<std::string, std::string> expected_control;
    for (const auto& file : fs::directory_iterator(dir.path() / "control")) {
        expected_control[file.path().filename().string()] = util::read_file(file.path());
    }
    EXPECT_EQ(deb.control_files, expected_control);
    EXPECT_EQ(deb.control, expected_control["control"]);
    auto package = util::run_process({"dpkg-deb", "-f", path.string(), "Package"});
    Deb822Reader reader(deb.control, "control");
    Paragraph paragraph;
    ASSERT_TRUE(reader.next(paragraph));
    EXPECT_EQ(std::string(paragraph.get_or("Package", "")) + "\n", package.out);

    auto extract = util::run_process({"dpkg-deb", "-x", path.string(), (dir.path() / "root").string()});
    ASSERT_EQ(extract.exit_code, 0) << extract.err;
    std::size_t on_disk = 0;
    for (auto it = fs::recursive_directory_iterator(dir.path() / "root"); it != fs::recursive_directory_iterator();
         ++it) {
        ++on_disk;
    }
    EXPECT_EQ(deb.entries.size(), on_disk);
    for (const DebEntry& e : deb.entries) {
        fs::path extracted = dir.path() / "root" / e.path;
        switch (e.type) {
        case EntryType::File:
        case EntryType::Hardlink:
            ASSERT_TRUE(e.content) << e.path;
            EXPECT_TRUE(*e.content == util::read_file(extracted)) << e.path;
            break;
        case EntryType::Symlink: EXPECT_EQ(fs::read_symlink(extracted).string(), e.link_target) << e.path; break;
        case EntryType::Directory: EXPECT_TRUE(fs::is_directory(fs::symlink_status(extracted))) << e.path; break;
        }
    }
}

std::vector<fs::path> fixture_debs() {
    std::vector<fs::path> debs;
    for (const auto& file : fs::recursive_directory_iterator(test::fixture_archive())) {
        // arm64 builds of the same packages add nothing but time.
        std::string name = file.path().filename().string();
        if (name.ends_with("_amd64.deb") || name.ends_with("_all.deb")) debs.push_back(file.path());
    }
    std::sort(debs.begin(), debs.end());
    return debs;
}

// ---------------------------------------------------------------------------
// Real packages

TEST(ReadDeb, FixtureHello) {
    fs::path path = test::fixture_archive() / "debian/pool/main/h/hello/hello_1.0-1_amd64.deb";
    DebFile deb = read_deb(path, "hello 1.0-1 (amd64)");
    EXPECT_TRUE(deb.control.starts_with("Package: hello\nVersion: 1.0-1\nArchitecture: amd64\n")) << deb.control;
    EXPECT_EQ(deb.control_files.size(), 1u);
    EXPECT_TRUE(deb.notes.empty());

    const DebEntry* hello = find_entry(deb, "usr/bin/hello");
    ASSERT_NE(hello, nullptr);
    EXPECT_EQ(hello->type, EntryType::File);
    EXPECT_EQ(hello->mode, 0755u);
    EXPECT_EQ(hello->uid, 0u);
    EXPECT_EQ(hello->gid, 0u);
    EXPECT_EQ(hello->mtime, 1700000000);
    EXPECT_EQ(*hello->content, "#!/bin/sh\necho \"hello 1.0-1\"\n");

    const DebEntry* copyright = find_entry(deb, "usr/share/doc/hello/copyright");
    ASSERT_NE(copyright, nullptr);
    EXPECT_EQ(copyright->mode, 0644u);
    EXPECT_TRUE(copyright->content->starts_with("Upstream-Name: hello\n"));

    const DebEntry* usr = find_entry(deb, "usr");
    ASSERT_NE(usr, nullptr);
    EXPECT_EQ(usr->type, EntryType::Directory);
    EXPECT_EQ(usr->content, nullptr);
    EXPECT_EQ(find_entry(deb, ""), nullptr);  // the root is not an entry
    // Parents come before children, as in the tar.
    EXPECT_LT(usr - deb.entries.data(), hello - deb.entries.data());
}

TEST(ReadDeb, EveryFixtureDebMatchesDpkgDeb) {
    auto debs = fixture_debs();
    ASSERT_GE(debs.size(), 40u);
    for (const fs::path& deb : debs) {
        // The fixture's hostile package ships a symlink that climbs out of the root.
        if (deb.filename().string().starts_with("escaper_")) {
            EXPECT_THROW(read_deb(deb, deb.filename().string()), Error) << deb;
            continue;
        }
        expect_matches_dpkg(deb);
    }
}

// Real Debian packages from the host's apt cache: hardlinks (perl-base),
// setuid/setgid and non-root groups (passwd, login), many entries (apt).
TEST(ReadDeb, HostDebsMatchDpkgDeb) {
    const fs::path cache = "/var/cache/apt/archives";
    std::vector<fs::path> chosen;
    std::vector<fs::path> all;
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(cache, ec)) {
        if (file.path().extension() == ".deb") all.push_back(file.path());
    }
    if (all.empty()) GTEST_SKIP() << "no .deb files in " << cache;
    std::sort(all.begin(), all.end());
    for (const char* prefix : {"perl-base_", "passwd_", "login_", "apt_"}) {
        for (const fs::path& p : all) {
            if (p.filename().string().starts_with(prefix)) {
                chosen.push_back(p);
                break;
            }
        }
    }
    if (chosen.empty()) chosen.assign(all.begin(), all.begin() + static_cast<long>(std::min<std::size_t>(3, all.size())));
    for (const fs::path& deb : chosen) expect_matches_dpkg(deb);
}

TEST(ReadDeb, MissingFileIsNotFound) {
    test::TempDir dir;
    try {
        read_deb(dir.path() / "nope.deb", "nope");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
    }
}

// ---------------------------------------------------------------------------
// Compressions and formats

class Compressions : public ::testing::TestWithParam<std::tuple<DebCompression, DebCompression>> {};

TEST_P(Compressions, ReadsDataAndControl) {
    auto [data, control] = GetParam();
    DebSpec spec;
    spec.data_compression = data;
    spec.control_compression = control;
    spec.extra_control = {TarItem::file("./md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/bin/tool\n"),
                          TarItem::file("./postinst", "#!/bin/sh\nexit 0\n", 0755)};
    std::string big(300000, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
    spec.data = {TarItem::directory("./usr/"), TarItem::directory("./usr/bin/"),
                 TarItem::file("./usr/bin/tool", big, 0755), TarItem::symlink("./usr/bin/t", "tool")};
    test::TempDir dir;
    fs::path path = test::write_deb(dir.path() / "x.deb", spec);
    DebFile deb = read_deb(path, "hostile 1.0-1");
    EXPECT_EQ(deb.control, spec.control_text());
    EXPECT_EQ(deb.control_files.at("postinst"), "#!/bin/sh\nexit 0\n");
    EXPECT_EQ(deb.control_files.size(), 3u);
    ASSERT_EQ(deb.entries.size(), 4u);
    EXPECT_EQ(*deb.entries[2].content, big);
    EXPECT_EQ(deb.entries[3].link_target, "tool");
    // dpkg-deb reads the same file (bzip2 only for data.tar, as dpkg allows).
    expect_matches_dpkg(path);
}

INSTANTIATE_TEST_SUITE_P(
    DataAndControl, Compressions,
    ::testing::Values(std::tuple{DebCompression::Xz, DebCompression::Xz},
                      std::tuple{DebCompression::Zstd, DebCompression::Zstd},
                      std::tuple{DebCompression::Gzip, DebCompression::Gzip},
                      std::tuple{DebCompression::Bzip2, DebCompression::Gzip},
                      std::tuple{DebCompression::None, DebCompression::None}),
    [](const auto& case_info) {
        auto name = [](DebCompression c) { return c == DebCompression::None ? std::string("none") : test::compression_suffix(c).substr(1); };
        return name(std::get<0>(case_info.param)) + "_" + name(std::get<1>(case_info.param));
    });

TEST(ReadDeb, ControlTarBzip2IsRefusedAsDpkgDoes) {
    DebSpec spec;
    spec.control_compression = DebCompression::Bzip2;
    Error e = refusal(test::make_deb(spec));
    EXPECT_EQ(e.code(), ErrorCode::Parse);
    EXPECT_EQ(e.message(), "cannot read hostile 1.0-1: expected a control.tar member, found \"control.tar.bz2\"");
}

// Names are kept byte for byte, whatever the tar flavour and the locale
// (the C locale here): ca-certificates ships such names.
TEST(ReadDeb, NonAsciiNamesKeepTheirBytes) {
    const std::string name = "usr/share/ca-certificates/mozilla/NetLock_Arany_=Class_Gold=_F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.crt";
    for (auto format : {test::TarFormat::Gnu, test::TarFormat::Pax}) {
        DebSpec spec;
        spec.format = format;
        spec.data = {TarItem::file("./" + name, "cert"), TarItem::symlink("./usr/link-\xc3\xba", name)};
        DebFile deb = read_spec(spec);
        ASSERT_EQ(deb.entries.size(), 2u);
        EXPECT_EQ(deb.entries[0].path, name);
        EXPECT_EQ(deb.entries[1].path, "usr/link-\xc3\xba");
        EXPECT_EQ(deb.entries[1].link_target, name);
    }
}

TEST(ReadDeb, KeepsOwnersModesAndTimes) {
    DebSpec spec;
    TarItem chage = TarItem::file("./usr/bin/chage", "x", 02755);
    chage.gid = 42;
    chage.mtime = 1234567890;
    TarItem tmp = TarItem::directory("./tmp/", 01777);
    TarItem home = TarItem::directory("./home/user/", 0700);
    home.uid = 65532;
    home.gid = 65532;
    spec.data = {TarItem::file("./usr/bin/su", "y", 04755), chage, tmp, home};
    DebFile deb = read_spec(spec);
    ASSERT_EQ(deb.entries.size(), 4u);
    EXPECT_EQ(deb.entries[0].mode, 04755u);
    EXPECT_EQ(deb.entries[1].mode, 02755u);
    EXPECT_EQ(deb.entries[1].gid, 42u);
    EXPECT_EQ(deb.entries[1].mtime, 1234567890);
    EXPECT_EQ(deb.entries[2].mode, 01777u);
    EXPECT_EQ(deb.entries[3].uid, 65532u);
    EXPECT_EQ(deb.entries[3].path, "home/user");
}

TEST(ReadDeb, NormalisesPaths) {
    DebSpec spec;
    spec.data = {TarItem::directory("./usr//share/./doc/"), TarItem::file("usr/bin-without-dot-slash", ""),
                 TarItem::file("././usr/x", "x")};
    DebFile deb = read_spec(spec);
    ASSERT_EQ(deb.entries.size(), 3u);
    EXPECT_EQ(deb.entries[0].path, "usr/share/doc");
    EXPECT_EQ(deb.entries[1].path, "usr/bin-without-dot-slash");
    EXPECT_EQ(*deb.entries[1].content, "");
    EXPECT_EQ(deb.entries[2].path, "usr/x");
}

TEST(ReadDeb, HardlinksShareTheirTargetsContent) {
    DebSpec spec;
    spec.data = {TarItem::file("./usr/bin/perl", "perl binary", 0755), TarItem::hardlink("./usr/bin/perl5", "./usr/bin/perl"),
                 TarItem::hardlink("./usr/bin/perl5.36", "./usr/bin/perl5")};
    DebFile deb = read_spec(spec);
    ASSERT_EQ(deb.entries.size(), 3u);
    EXPECT_EQ(deb.entries[1].type, EntryType::Hardlink);
    EXPECT_EQ(deb.entries[1].link_target, "usr/bin/perl");
    EXPECT_EQ(deb.entries[1].content, deb.entries[0].content);  // the same bytes, not a copy
    // A link to a link names the file itself.
    EXPECT_EQ(deb.entries[2].link_target, "usr/bin/perl");
    EXPECT_EQ(deb.entries[2].content, deb.entries[0].content);
}

TEST(ReadDeb, AcceptsSymlinksThatStayInside) {
    DebSpec spec;
    spec.data = {TarItem::symlink("./usr/bin/x", "../../etc/alternatives/x"),  // climbs to the root, not above
                 TarItem::symlink("./usr/bin/y", "/etc/passwd"),              // absolute: resolved inside the image
                 TarItem::symlink("./usr/lib/z", "./a/../b")};
    DebFile deb = read_spec(spec);
    ASSERT_EQ(deb.entries.size(), 3u);
    EXPECT_EQ(deb.entries[0].link_target, "../../etc/alternatives/x");
    EXPECT_EQ(deb.entries[1].link_target, "/etc/passwd");
}

TEST(ReadDeb, DropsDevicesFifosAndSocketsWithANote) {
    DebSpec spec;
    spec.data = {TarItem::directory("./dev/"),
                 TarItem::special(TarItem::Kind::CharDevice, "./dev/null", 1, 3),
                 TarItem::special(TarItem::Kind::BlockDevice, "./dev/sda", 8, 0),
                 TarItem::special(TarItem::Kind::Fifo, "./run/initctl"),
                 TarItem::file("./etc/hostname", "box\n")};
    DebFile deb = read_spec(spec);
    ASSERT_EQ(deb.entries.size(), 2u);
    EXPECT_EQ(deb.entries[0].path, "dev");
    EXPECT_EQ(deb.entries[1].path, "etc/hostname");
    EXPECT_EQ(deb.notes, (std::vector<std::string>{"dropped character device dev/null", "dropped block device dev/sda",
                                                    "dropped FIFO run/initctl"}));
}

TEST(ReadDeb, IgnoresReservedAndTrailingMembers) {
    DebSpec spec;
    spec.data = {TarItem::file("./etc/x", "x")};
    auto members = test::deb_members(spec);
    members.insert(members.begin() + 1, {"_gpgorigin", "signature"});
    members.push_back({"extra-member", "ignored, as deb(5) says"});
    DebFile deb = parse_deb(test::make_ar(members), "hostile 1.0-1");
    ASSERT_EQ(deb.entries.size(), 1u);
    EXPECT_EQ(*deb.entries[0].content, "x");
}

// ---------------------------------------------------------------------------
// Hostile content: every case with its exact message.

struct HostileCase {
    const char* name;
    std::vector<TarItem> data;
    const char* message;
};

class Hostile : public ::testing::TestWithParam<HostileCase> {};

TEST_P(Hostile, IsRefusedWithAClearError) {
    DebSpec spec;
    spec.data = GetParam().data;
    Error e = refusal(test::make_deb(spec));
    EXPECT_EQ(e.code(), ErrorCode::Integrity);
    EXPECT_EQ(e.message(), GetParam().message);
    EXPECT_NE(e.hint().find("refuses to install it"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Hostile,
    ::testing::Values(
        HostileCase{"AbsolutePath", {TarItem::file("/etc/passwd", "root::0:0::/:/bin/sh\n")},
                    "hostile 1.0-1: data.tar.xz contains the absolute path /etc/passwd"},
        HostileCase{"AbsoluteAfterDotSlash", {TarItem::file(".//etc/shadow", "")},
                    "hostile 1.0-1: data.tar.xz contains the absolute path .//etc/shadow"},
        HostileCase{"DotDot", {TarItem::file("./usr/../../etc/passwd", "")},
                    "hostile 1.0-1: data.tar.xz contains the path ./usr/../../etc/passwd with a \"..\" segment"},
        HostileCase{"DotDotInside", {TarItem::file("./usr/lib/../bin/x", "")},
                    "hostile 1.0-1: data.tar.xz contains the path ./usr/lib/../bin/x with a \"..\" segment"},
        HostileCase{"SymlinkEscapes", {TarItem::symlink("./usr/bin/x", "../../../etc")},
                    "hostile 1.0-1: symlink usr/bin/x -> ../../../etc escapes the image root"},
        HostileCase{"SymlinkEscapesAfterDescending", {TarItem::symlink("./x", "a/b/../../../y")},
                    "hostile 1.0-1: symlink x -> a/b/../../../y escapes the image root"},
        HostileCase{"SymlinkEmpty", {TarItem::symlink("./x", "")}, "hostile 1.0-1: symlink x has an empty target"},
        HostileCase{"HardlinkAbsolute", {TarItem::hardlink("./usr/bin/x", "/etc/shadow")},
                    "hostile 1.0-1: hardlink usr/bin/x -> /etc/shadow escapes the image root"},
        HostileCase{"HardlinkDotDot", {TarItem::hardlink("./usr/bin/x", "./usr/../../etc/shadow")},
                    "hostile 1.0-1: hardlink usr/bin/x -> ./usr/../../etc/shadow escapes the image root"},
        HostileCase{"HardlinkToMissing", {TarItem::hardlink("./usr/bin/x", "./etc/shadow")},
                    "hostile 1.0-1: hardlink usr/bin/x -> ./etc/shadow does not point to an earlier file of the package"},
        HostileCase{"HardlinkToLaterEntry",
                    {TarItem::hardlink("./usr/bin/x", "./usr/bin/y"), TarItem::file("./usr/bin/y", "y")},
                    "hostile 1.0-1: hardlink usr/bin/x -> ./usr/bin/y does not point to an earlier file of the package"},
        HostileCase{"HardlinkToDirectory", {TarItem::directory("./etc/"), TarItem::hardlink("./x", "./etc")},
                    "hostile 1.0-1: hardlink x -> ./etc points to a directory, not a regular file"},
        HostileCase{"HardlinkToSymlink", {TarItem::symlink("./s", "/etc/shadow"), TarItem::hardlink("./x", "./s")},
                    "hostile 1.0-1: hardlink x -> ./s points to a symlink, not a regular file"},
        HostileCase{"WriteThroughOwnSymlink",
                    {TarItem::symlink("./usr/lib/x", "/etc"), TarItem::file("./usr/lib/x/passwd", "")},
                    "hostile 1.0-1: usr/lib/x/passwd lies below usr/lib/x, which the package ships as a symlink, not "
                    "a directory"},
        HostileCase{"BelowAFile", {TarItem::file("./etc/x", ""), TarItem::file("./etc/x/y", "")},
                    "hostile 1.0-1: etc/x/y lies below etc/x, which the package ships as a file, not a directory"},
        HostileCase{"SamePathTwice", {TarItem::file("./etc/x", "a"), TarItem::symlink("./etc/x", "/etc/shadow")},
                    "hostile 1.0-1: data.tar contains etc/x twice"}),
    [](const auto& case_info) { return std::string(case_info.param.name); });

TEST(ReadDeb, ControlTarPathsAreChecked) {
    DebSpec spec;
    spec.extra_control = {TarItem::file("./../postinst", "#!/bin/sh\n")};
    Error e = refusal(test::make_deb(spec));
    EXPECT_EQ(e.code(), ErrorCode::Integrity);
    EXPECT_EQ(e.message(), "hostile 1.0-1: control.tar.xz contains the path ./../postinst, which is outside the "
                           "control area");
}

// ---------------------------------------------------------------------------
// Malformed archives: clear Parse errors.

std::string valid_deb() {
    DebSpec spec;
    std::string noise;
    for (int i = 0; i < 20000; ++i) noise += std::to_string(i * 2654435761u);
    spec.data = {TarItem::file("./usr/share/noise", noise)};
    return test::make_deb(spec);
}

TEST(ReadDeb, TruncatedDebIsAParseError) {
    std::string deb = valid_deb();
    ASSERT_NO_THROW(parse_deb(deb, "hostile 1.0-1"));
    // Cuts: inside data.tar.xz (twice), inside the first ar header, inside
    // debian-binary, and exactly after control.tar.xz.
    auto members = test::deb_members(DebSpec{});
    std::size_t after_control = 8 + 60 + 4 + 60 + members[1].data.size() + members[1].data.size() % 2;
    std::vector<std::string> truncated = {deb.substr(0, deb.size() - 1), deb.substr(0, deb.size() / 2),
                                          deb.substr(0, 8 + 30), deb.substr(0, 8 + 62),
                                          test::make_ar(members).substr(0, after_control)};
    test::TempDir dir;
    for (const std::string& bytes : truncated) {
        SCOPED_TRACE(bytes.size());
        fs::path path = dir.path() / "truncated.deb";
        util::write_file_atomic(path, bytes);
        try {
            read_deb(path, "hostile 1.0-1");
            FAIL() << "expected an error";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::Parse);
            EXPECT_TRUE(e.message().starts_with("cannot read hostile 1.0-1: ")) << e.message();
            EXPECT_EQ(e.message().find("not a Debian package"), std::string::npos) << e.message();
            EXPECT_NE(e.hint().find("Delete it from the cache"), std::string::npos);
            ASSERT_EQ(e.context().size(), 1u);
            EXPECT_EQ(e.context()[0], "while reading " + path.string());
        }
    }
    EXPECT_EQ(refusal(truncated[4]).message(), "cannot read hostile 1.0-1: no data.tar member (the file may be truncated)");
    EXPECT_TRUE(refusal(truncated[1]).message().starts_with(
        "cannot read hostile 1.0-1: truncated or corrupt member data.tar.xz"))
        << refusal(truncated[1]).message();
}

TEST(ReadDeb, NonArFileIsAParseError) {
    for (const std::string& bytes : {std::string("Package: hello\nVersion: 1.0\n"), std::string(),
                                     test::make_tar({TarItem::file("./x", "x")}, DebCompression::Gzip)}) {
        Error e = refusal(bytes);
        EXPECT_EQ(e.code(), ErrorCode::Parse);
        EXPECT_TRUE(e.message().starts_with("cannot read hostile 1.0-1: not a Debian package")) << e.message();
    }
}

TEST(ReadDeb, WrongFormatVersionIsAParseError) {
    auto members = test::deb_members(DebSpec{});
    members[0].data = "3.0\n";
    EXPECT_EQ(refusal(test::make_ar(members)).message(),
              "cannot read hostile 1.0-1: unsupported .deb format version \"3.0\" in debian-binary (slate reads 2.x)");
    members[0].data = "2.1\nfuture line\n";  // a newer minor version is read, as deb(5) asks
    EXPECT_NO_THROW(parse_deb(test::make_ar(members), "hostile 1.0-1"));
}

TEST(ReadDeb, MisorderedOrMissingMembersAreParseErrors) {
    auto members = test::deb_members(DebSpec{});
    auto swapped = members;
    std::swap(swapped[1], swapped[2]);
    EXPECT_EQ(refusal(test::make_ar(swapped)).message(),
              "cannot read hostile 1.0-1: expected a control.tar member, found \"data.tar.xz\"");
    auto no_binary = std::vector<test::ArMember>(members.begin() + 1, members.end());
    EXPECT_EQ(refusal(test::make_ar(no_binary)).message(),
              "cannot read hostile 1.0-1: the first member is \"control.tar.xz\", not debian-binary: not a Debian "
              "package");
    auto unknown = members;
    unknown[2].name = "data.tar.lz4";
    EXPECT_EQ(refusal(test::make_ar(unknown)).message(),
              "cannot read hostile 1.0-1: expected a data.tar member, found \"data.tar.lz4\"");
}

TEST(ReadDeb, MislabelledCompressionIsAParseError) {
    auto members = test::deb_members(DebSpec{});
    members[2].name = "data.tar.zst";  // xz bytes under a zstd name
    Error e = refusal(test::make_ar(members));
    EXPECT_EQ(e.code(), ErrorCode::Parse);
    EXPECT_TRUE(e.message().starts_with("cannot read hostile 1.0-1: corrupt or truncated data.tar.zst")) << e.message();
}

TEST(ReadDeb, ControlTarWithoutControlIsAParseError) {
    auto members = test::deb_members(DebSpec{});
    members[1].data = test::make_tar({TarItem::directory("./"), TarItem::file("./md5sums", "")}, DebCompression::Xz);
    EXPECT_EQ(refusal(test::make_ar(members)).message(), "cannot read hostile 1.0-1: control.tar.xz has no control file");
}

}  // namespace
}  // namespace slate::deb
