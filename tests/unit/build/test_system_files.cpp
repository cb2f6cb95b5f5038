#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "slate/build/system_files.hpp"
#include "slate/deb/deb_file.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/expect.hpp"
#include "support/fixture_archive.hpp"
#include "support/paths.hpp"

namespace slate::build {
namespace {

using test::file_entry;
using test::link_entry;

namespace fs = std::filesystem;
using deb::EntryType;

// ---------------------------------------------------------------------------
// Helpers

// A host directory tree as a package's data entries (paths relative to "/"),
// so tests can assemble images from real files: the host's CA certificates,
// zoneinfo, os-release.
deb::DebFile host_tree(const fs::path& dir) {
    deb::DebFile deb;
    std::vector<fs::path> paths{dir};
    for (const auto& item : fs::recursive_directory_iterator(dir)) paths.push_back(item.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
        deb::DebEntry e;
        e.path = p.relative_path().string();
        auto status = fs::symlink_status(p);
        if (fs::is_symlink(status)) {
            e.type = EntryType::Symlink;
            e.mode = 0777;
            e.link_target = fs::read_symlink(p).string();
        } else if (fs::is_directory(status)) {
            e.type = EntryType::Directory;
            e.mode = 0755;
        } else if (fs::is_regular_file(status)) {
            e.type = EntryType::File;
            e.mode = 0644;
            e.content = std::make_shared<const std::string>(util::read_file(p));
        } else {
            continue;
        }
        deb.entries.push_back(std::move(e));
    }
    return deb;
}

std::string read_text(const RootFs& root, std::string_view path) {
    auto content = root.read(path);
    return content ? std::string(*content) : std::string("<missing " + std::string(path) + ">");
}

// Runs `f` expecting a slate::Error; returns it.
template <typename F>
Error expect_error(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected a slate::Error";
    return Error(ErrorCode::Internal, "none");
}

util::ProcessResult run(const std::vector<std::string>& argv, const util::ProcessOptions& options = {}) {
    auto result = util::run_process(argv, options);
    EXPECT_EQ(result.exit_code, 0) << argv[0] << ": " << result.err;
    return result;
}

// ---------------------------------------------------------------------------
// 1. Accounts

TEST(Accounts, DefaultsAreRootNobodyAndNonroot) {
    RootFs root;
    RunAs run_as = write_accounts(root, {});
    EXPECT_EQ(run_as.user, "");
    EXPECT_EQ(run_as.uid, 0u);
    EXPECT_EQ(read_text(root, "/etc/passwd"),
              "root:x:0:0:root:/root:/sbin/nologin\n"
              "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
              "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
    EXPECT_EQ(read_text(root, "/etc/group"), "root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n");
    std::string nsswitch = read_text(root, "/etc/nsswitch.conf");
    EXPECT_NE(nsswitch.find("\npasswd:         files\n"), std::string::npos);
    EXPECT_NE(nsswitch.find("\nhosts:          files dns\n"), std::string::npos);
    EXPECT_EQ(nsswitch.find("systemd"), std::string::npos);
    EXPECT_EQ(nsswitch.find("nis"), std::string::npos);
    EXPECT_EQ(root.find("etc/shadow"), nullptr);

    ASSERT_NE(root.find("root"), nullptr);
    EXPECT_EQ(root.find("root")->mode, 0700u);
    const FsEntry* home = root.find("home/nonroot");
    ASSERT_NE(home, nullptr);
    EXPECT_EQ(home->type, EntryType::Directory);
    EXPECT_EQ(home->mode, 0755u);
    EXPECT_EQ(home->uid, 65532u);
    EXPECT_EQ(home->gid, 65532u);
    EXPECT_EQ(root.find("nonexistent"), nullptr);
}

// glibc's own parsers read the generated files as a container's libc would.
TEST(Accounts, GlibcParsesTheGeneratedFiles) {
    AccountsSpec spec;
    spec.users.push_back({"app", 1000, 1000, "/srv/app", "/bin/sh"});
    spec.groups.push_back({"staff", 50, {"app", "nonroot"}});
    RootFs root;
    write_accounts(root, spec);
    test::TempDir dir;
    util::write_file_atomic(dir.path() / "passwd", read_text(root, "/etc/passwd"));
    util::write_file_atomic(dir.path() / "group", read_text(root, "/etc/group"));

    std::map<std::string, std::tuple<uid_t, gid_t, std::string, std::string>> users;
    FILE* f = std::fopen((dir.path() / "passwd").c_str(), "r");
    ASSERT_NE(f, nullptr);
    while (passwd* pw = fgetpwent(f)) users[pw->pw_name] = {pw->pw_uid, pw->pw_gid, pw->pw_dir, pw->pw_shell};
    std::fclose(f);
    EXPECT_EQ(users.size(), 4u);
    EXPECT_EQ(users["app"], std::make_tuple(uid_t(1000), gid_t(1000), std::string("/srv/app"), std::string("/bin/sh")));
    EXPECT_EQ(std::get<0>(users["nonroot"]), 65532u);

    std::map<std::string, std::pair<gid_t, std::vector<std::string>>> groups;
    f = std::fopen((dir.path() / "group").c_str(), "r");
    ASSERT_NE(f, nullptr);
    while (group* gr = fgetgrent(f)) {
        std::vector<std::string> members;
        for (char** m = gr->gr_mem; *m; ++m) members.emplace_back(*m);
        groups[gr->gr_name] = {gr->gr_gid, members};
    }
    std::fclose(f);
    EXPECT_EQ(groups.size(), 5u);  // root, nogroup, nonroot, staff, app (the user's own group)
    EXPECT_EQ(groups["staff"], std::make_pair(gid_t(50), std::vector<std::string>{"app", "nonroot"}));
    EXPECT_EQ(groups["app"].first, 1000u);
}

TEST(Accounts, SpecUsersGroupsHomesAndRunAs) {
    // The docs/image-spec.md example: the spec's own nonroot replaces the built-in one.
    AccountsSpec spec;
    spec.users.push_back({"nonroot", 65532, 65532, "/home/nonroot", "/sbin/nologin"});
    spec.users.push_back({"web", 33, 33, "/var/www", "/sbin/nologin"});
    spec.groups.push_back({"nonroot", 65532, {"nonroot"}});
    spec.groups.push_back({"www-data", 33, {}});
    spec.run_as = "web";
    RootFs root;
    root.put_directory("/var/www", 0750, 0, 0);  // as a package would ship it
    RunAs run_as = write_accounts(root, spec);
    EXPECT_EQ(run_as.user, "web");
    EXPECT_EQ(run_as.uid, 33u);
    EXPECT_EQ(run_as.gid, 33u);
    EXPECT_EQ(read_text(root, "/etc/passwd"),
              "root:x:0:0:root:/root:/sbin/nologin\n"
              "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
              "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
              "web:x:33:33:web:/var/www:/sbin/nologin\n");
    EXPECT_EQ(read_text(root, "/etc/group"),
              "root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:nonroot\nwww-data:x:33:\n");
    // An existing home is left alone, as useradd -m does.
    EXPECT_EQ(root.find("var/www")->mode, 0750u);
    EXPECT_EQ(root.find("var/www")->uid, 0u);

    spec.run_as = "4242";
    EXPECT_EQ(write_accounts(root, spec).gid, 0u);  // unknown uid: group 0, as runtimes do
    spec.run_as = "33";
    EXPECT_EQ(write_accounts(root, spec).gid, 33u);
    spec.run_as = "10:20";
    RunAs ids = write_accounts(root, spec);
    EXPECT_EQ(ids.uid, 10u);
    EXPECT_EQ(ids.gid, 20u);
    spec.run_as = "nobody";
    EXPECT_EQ(write_accounts(root, spec).uid, 65534u);
}

TEST(Accounts, CollidingIdsAndNamesAreRefusedAndNothingIsWritten) {
    struct Case {
        AccountsSpec spec;
        std::vector<std::string> words;  // the message names the accounts involved
    };
    std::vector<Case> cases;
    cases.push_back({{{{"admin", 0, 0, "/home/admin", "/sbin/nologin"}}, {}, ""}, {"'admin'", "uid 0", "'root'"}});
    cases.push_back({{{{"svc", 65532, 65532, "/home/svc", "/sbin/nologin"}}, {}, ""}, {"'svc'", "65532", "'nonroot'"}});
    cases.push_back({{{{"nob", 65534, 1, "/home/nob", "/sbin/nologin"}}, {}, ""}, {"'nob'", "'nobody'"}});
    cases.push_back({{{}, {{"nogrp", 65534, {}}}, ""}, {"'nogrp'", "gid 65534", "'nogroup'"}});
    cases.push_back({{{}, {{"apps", 65532, {}}}, ""}, {"'apps'", "'nonroot'"}});
    cases.push_back({{{}, {{"wheel", 0, {}}}, ""}, {"'wheel'", "'root'"}});
    cases.push_back({{{{"root", 0, 0, "/root", "/bin/sh"}}, {}, ""}, {"'root'", "built-in"}});
    cases.push_back({{{}, {{"nogroup", 99, {}}}, ""}, {"'nogroup'", "built-in"}});
    for (const auto& c : cases) {
        RootFs root;
        Error e = expect_error([&] { write_accounts(root, c.spec); });
        EXPECT_EQ(e.code(), ErrorCode::Config) << e.describe();
        for (const auto& word : c.words) EXPECT_NE(e.message().find(word), std::string::npos) << e.message();
        EXPECT_FALSE(e.hint().empty());
        EXPECT_EQ(root.find("etc/passwd"), nullptr);
        EXPECT_EQ(root.find("etc/group"), nullptr);
    }
    // Once the spec redeclares nonroot with another uid, 65532 is free.
    AccountsSpec moved{{{"nonroot", 2000, 2000, "/home/nonroot", "/sbin/nologin"},
                        {"svc", 65532, 65532, "/home/svc", "/sbin/nologin"}},
                       {},
                       ""};
    RootFs root;
    EXPECT_NO_THROW(write_accounts(root, moved));
    EXPECT_NE(read_text(root, "/etc/passwd").find("svc:x:65532:65532:"), std::string::npos);
}

TEST(Accounts, RunAsAndMembersMustNameUsers) {
    RootFs root;
    AccountsSpec spec;
    spec.run_as = "nonrot";
    Error e = expect_error([&] { write_accounts(root, spec); });
    EXPECT_EQ(e.code(), ErrorCode::Config);
    EXPECT_NE(e.message().find("did you mean 'nonroot'?"), std::string::npos) << e.message();
    spec.run_as = "nonroot";
    EXPECT_EQ(write_accounts(root, spec).uid, 65532u);

    spec.groups.push_back({"team", 700, {"nonroot", "ghost"}});
    e = expect_error([&] { write_accounts(root, spec); });
    EXPECT_EQ(e.code(), ErrorCode::Config);
    EXPECT_NE(e.message().find("'ghost'"), std::string::npos) << e.message();
}

TEST(Accounts, HomeThatIsAFileIsRefused) {
    RootFs root;
    root.add_package({"p", "1", ""}, deb::DebFile{"", {}, {file_entry("srv/data", "x")}, {}});
    AccountsSpec spec;
    spec.users.push_back({"data", 1500, 1500, "/srv/data", "/sbin/nologin"});
    Error e = expect_error([&] { write_accounts(root, spec); });
    EXPECT_EQ(e.code(), ErrorCode::Config);
    EXPECT_NE(e.message().find("/srv/data"), std::string::npos);
    EXPECT_NE(e.message().find("from p"), std::string::npos) << e.message();
    EXPECT_EQ(root.find("etc/passwd"), nullptr);  // checked before anything is written
}

// A package-shipped /etc/passwd (none in Debian does; base-passwd ships
// templates) is replaced by slate's.
TEST(Accounts, ReplacePackagePasswd) {
    RootFs root;
    root.add_package({"base-passwd", "3.6.1", ""},
                     deb::DebFile{"", {},
                                  {file_entry("etc/passwd", "root:*:0:0:root:/root:/bin/bash\n"),
                                   file_entry("usr/share/base-passwd/passwd.master", "root:*:0:0:root:/root:/bin/bash\n")},
                                  {}});
    write_accounts(root, {});
    EXPECT_EQ(read_text(root, "/etc/passwd").substr(0, 36), "root:x:0:0:root:/root:/sbin/nologin\n");
    EXPECT_EQ(root.find("etc/passwd")->package, "");
    EXPECT_NE(root.find("usr/share/base-passwd/passwd.master"), nullptr);
}

// ---------------------------------------------------------------------------
// 2. Base layout

TEST(BaseLayout, TmpRootAndOsReleaseFromBaseFiles) {
    RootFs root;
    EXPECT_FALSE(write_base_layout(root).os_release);  // no base-files: nothing to check
    EXPECT_EQ(root.find("tmp")->mode, 01777u);
    EXPECT_EQ(root.find("root")->mode, 0700u);

    const fs::path os_release = "/usr/lib/os-release";
    if (!fs::exists(os_release)) GTEST_SKIP() << "the host has no " << os_release;
    // base-files's layout: /usr/lib/os-release and the symlink /etc/os-release -> ../usr/lib/os-release.
    RootFs with;
    with.add_package({"base-files", "12", ""},
                     deb::DebFile{"", {},
                                  {file_entry("usr/lib/os-release", util::read_file(os_release)),
                                   link_entry("etc/os-release", "../usr/lib/os-release")},
                                  {}});
    EXPECT_TRUE(write_base_layout(with).os_release);
    EXPECT_NE(read_text(with, "/etc/os-release").find("ID="), std::string::npos);

    RootFs broken;
    broken.add_package({"base-files", "12", ""},
                       deb::DebFile{"", {}, {link_entry("etc/os-release", "../usr/lib/os-release")}, {}});
    Error e = expect_error([&] { write_base_layout(broken); });
    EXPECT_EQ(e.code(), ErrorCode::Integrity);
    EXPECT_NE(e.message().find("/etc/os-release"), std::string::npos);
}

// ---------------------------------------------------------------------------
// 3. CA certificates

// The host's bundle was made by update-ca-certificates from the same
// ca-certificates package: the files under /usr/share/ca-certificates, then
// any under /usr/local/share/ca-certificates.
TEST(CaCertificates, MatchesTheHostsUpdateCaCertificatesByteForByte) {
    const fs::path shared = "/usr/share/ca-certificates", etc = "/etc/ssl/certs", local = "/usr/local/share/ca-certificates";
    if (!fs::is_directory(shared) || !fs::exists(etc / "ca-certificates.crt"))
        GTEST_SKIP() << "ca-certificates is not installed on the host";
    RootFs root;
    root.add_package({"ca-certificates", "1", ""}, host_tree(shared));
    if (fs::is_directory(local))  // as a spec's paths entries would add them
        for (const auto& item : fs::recursive_directory_iterator(local))
            if (item.is_regular_file()) root.put_file(item.path().string(), util::read_file(item.path()));

    CaCertificates result = write_ca_certificates(root);
    ASSERT_TRUE(result.generated);
    EXPECT_GT(result.certificates, 100u);
    EXPECT_TRUE(result.notes.empty()) << result.notes.front();
    EXPECT_TRUE(read_text(root, std::string(CaBundlePath)) == util::read_file(etc / "ca-certificates.crt"))
        << "the bundle differs from the host's " << etc / "ca-certificates.crt";
    if (fs::exists("/etc/ca-certificates.conf")) {
        EXPECT_EQ(read_text(root, "/etc/ca-certificates.conf"), util::read_file("/etc/ca-certificates.conf"));
    }

    // Every link the host has, with the same target; and no hash link more.
    std::size_t host_hash_links = 0;
    for (const auto& item : fs::directory_iterator(etc)) {
        std::string name = item.path().filename().string();
        if (!name.ends_with(".pem") && name.find('.') != 8) continue;
        const FsEntry* mine = root.find("etc/ssl/certs/" + name);
        ASSERT_NE(mine, nullptr) << name;
        if (name.find('.') == 8) ++host_hash_links;
        if (!item.is_symlink()) continue;  // a file someone copied there: only its name can be compared
        EXPECT_EQ(mine->type, EntryType::Symlink) << name;
        EXPECT_EQ(mine->link_target, fs::read_symlink(item.path()).string()) << name;
    }
    std::size_t my_hash_links = 0;
    for (const auto& path : root.list("etc/ssl/certs"))
        if (path.substr(std::string("etc/ssl/certs/").size()).find('.') == 8) ++my_hash_links;
    EXPECT_EQ(my_hash_links, host_hash_links);
}

struct CertTree {
    test::TempDir dir;
    fs::path share() const { return dir.path() / "share"; }
    fs::path local() const { return dir.path() / "local"; }

    // A self-signed certificate made by the openssl command.
    std::string make_cert(const std::string& subject) {
        fs::path key = dir.path() / "key.pem", out = dir.path() / "cert.pem";
        run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             key.string(), "-out", out.string(), "-subj", subject, "-days", "3650"});
        return util::read_file(out);
    }
    // Writes the certificate into the scratch tree (for the oracle) and into the
    // image: under /usr/share as the package ships it, or under /usr/local as a
    // spec's paths entry would put it.
    void add(bool shipped, const std::string& relative, const std::string& content, RootFs& root) {
        fs::path path = (shipped ? share() : local()) / relative;
        fs::create_directories(path.parent_path());
        util::write_file_atomic(path, content);
        if (shipped)
            root.add_package({"ca-certificates", "1", ""},
                             deb::DebFile{"", {}, {file_entry("usr/share/ca-certificates/" + relative, content)}, {}});
        else
            root.put_file("/usr/local/share/ca-certificates/" + relative, content);
    }
};

// update-ca-certificates itself, pointed at a scratch tree, is the oracle for
// the tricky cases: names with spaces, parentheses and commas, a file without
// a final newline, two certificates with the same subject (hash .0 and .1), a
// duplicate certificate (one link), a file that is not a certificate, local
// certificates.
TEST(CaCertificates, AgreesWithUpdateCaCertificatesOnTrickyInputs) {
    if (!util::find_program("update-ca-certificates") || !util::find_program("openssl"))
        GTEST_SKIP() << "update-ca-certificates and openssl are needed";
    CertTree tree;
    RootFs root;
    std::string same1 = tree.make_cert("/CN=Same Subject"), same2 = tree.make_cert("/CN=Same Subject");
    std::string other = tree.make_cert("/O=Slate Tests/CN=Other CA");
    std::string no_newline = tree.make_cert("/CN=No Newline");
    while (no_newline.ends_with('\n')) no_newline.pop_back();
    tree.add(true, "mozilla/Same (one), A.crt", same1, root);
    tree.add(true, "mozilla/Same_two.crt", same2, root);
    tree.add(true, "mozilla/Same_two_copy.crt", same2, root);
    tree.add(true, "extra/Other.crt", other, root);
    tree.add(true, "mozilla/no newline.crt", no_newline, root);
    tree.add(true, "mozilla/junk.crt", "not a certificate\n", root);
    tree.add(false, "site/local ca.crt", tree.make_cert("/CN=Local CA"), root);

    CaCertificates result = write_ca_certificates(root);
    ASSERT_TRUE(result.generated);
    EXPECT_EQ(result.certificates, 7u);
    ASSERT_EQ(result.notes.size(), 1u);
    EXPECT_NE(result.notes[0].find("junk.pem"), std::string::npos) << result.notes[0];

    fs::path etc = tree.dir.path() / "etc", conf = tree.dir.path() / "ca-certificates.conf";
    fs::create_directories(etc);
    util::write_file_atomic(conf, read_text(root, "/etc/ca-certificates.conf"));
    util::ProcessOptions options;
    options.env = {{"TMPDIR", tree.dir.path().string()}, {"LC_ALL", "C"}};
    run({"update-ca-certificates", "--certsconf", conf.string(), "--certsdir", tree.share().string(), "--localcertsdir",
         tree.local().string(), "--etccertsdir", etc.string(), "--hooksdir", ""},
        options);

    EXPECT_TRUE(read_text(root, std::string(CaBundlePath)) == util::read_file(etc / "ca-certificates.crt"));
    std::set<std::string> theirs, mine;
    for (const auto& item : fs::directory_iterator(etc)) {
        if (!item.is_symlink()) continue;
        std::string target = fs::read_symlink(item.path()).string();
        if (target.starts_with(tree.share().string()))
            target = "/usr/share/ca-certificates" + target.substr(tree.share().string().size());
        if (target.starts_with(tree.local().string()))
            target = "/usr/local/share/ca-certificates" + target.substr(tree.local().string().size());
        theirs.insert(item.path().filename().string() + " -> " + target);
    }
    for (const auto& path : root.list("etc/ssl/certs"))
        if (root.find(path)->type == EntryType::Symlink)
            mine.insert(fs::path(path).filename().string() + " -> " + root.find(path)->link_target);
    EXPECT_EQ(mine, theirs);
    // The cases the comparison is meant to cover are really there.
    EXPECT_EQ(root.find("etc/ssl/certs/Same_=one=__A.pem")->link_target,
              "/usr/share/ca-certificates/mozilla/Same (one), A.crt");
    std::size_t same_subject_links = 0;
    for (const auto& line : mine)
        if (line.find(".1 -> ") != std::string::npos) ++same_subject_links;
    EXPECT_EQ(same_subject_links, 1u);
    EXPECT_EQ(mine.size(), 7u + 5u);  // 7 .pem links; 5 hash links (junk and the duplicate get none)
}

TEST(CaCertificates, NothingWithoutTheCaCertificatesPackage) {
    RootFs root;
    root.add_package({"other", "1", ""},
                     deb::DebFile{"", {}, {file_entry("usr/share/ca-certificates/x/y.crt", "-----BEGIN")}, {}});
    CaCertificates result = write_ca_certificates(root);
    EXPECT_FALSE(result.generated);
    EXPECT_EQ(root.find("etc/ssl/certs/ca-certificates.crt"), nullptr);
    EXPECT_EQ(root.find("etc/ca-certificates.conf"), nullptr);
}

// ---------------------------------------------------------------------------
// 4. Time zone

class TimeZoneTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (fs::exists("/usr/share/zoneinfo/Europe/Paris"))
            s_tzdata = std::make_unique<deb::DebFile>(host_tree("/usr/share/zoneinfo"));
    }
    static void TearDownTestSuite() { s_tzdata.reset(); }
    void SetUp() override {
        if (!s_tzdata) GTEST_SKIP() << "the host has no tzdata";
        m_root.add_package({"tzdata", "1", ""}, *s_tzdata);
    }
    static std::unique_ptr<deb::DebFile> s_tzdata;
    RootFs m_root;
};
std::unique_ptr<deb::DebFile> TimeZoneTest::s_tzdata;

TEST_F(TimeZoneTest, DefaultIsDebiansEtcUtc) {
    TimeZone tz = write_time_zone(m_root, {});
    EXPECT_TRUE(tz.configured);
    EXPECT_EQ(tz.zone, "Etc/UTC");
    EXPECT_EQ(m_root.find("etc/localtime")->link_target, "/usr/share/zoneinfo/Etc/UTC");
    EXPECT_EQ(read_text(m_root, "/etc/timezone"), "Etc/UTC\n");
    EXPECT_EQ(read_text(m_root, "/etc/localtime"), util::read_file("/usr/share/zoneinfo/Etc/UTC"));
}

TEST_F(TimeZoneTest, ZoneFromTheSpecEnvironment) {
    TimeZone tz = write_time_zone(m_root, {{"TZ", ":Europe/Paris"}});
    EXPECT_EQ(tz.zone, "Europe/Paris");
    EXPECT_EQ(m_root.find("etc/localtime")->link_target, "/usr/share/zoneinfo/Europe/Paris");
    EXPECT_EQ(read_text(m_root, "/etc/timezone"), "Europe/Paris\n");
    EXPECT_EQ(write_time_zone(m_root, {{"TZ", "/usr/share/zoneinfo/America/New_York"}}).zone, "America/New_York");
    EXPECT_EQ(write_time_zone(m_root, {{"TZ", "UTC"}}).zone, "UTC");  // a symlink in tzdata
    // A POSIX rule needs no zone file; the files keep Debian's default.
    EXPECT_EQ(write_time_zone(m_root, {{"TZ", "CET-1CEST,M3.5.0,M10.5.0/3"}}).zone, "Etc/UTC");
}

TEST_F(TimeZoneTest, UnknownZoneIsAClearError) {
    for (std::string bad : {"Europe/Pariss", "europe/paris", "Europe", "../../etc/passwd"}) {
        Error e = expect_error([&] { write_time_zone(m_root, {{"TZ", bad}}); });
        EXPECT_EQ(e.code(), ErrorCode::Config) << bad;
        EXPECT_NE(e.message().find("unknown time zone '" + bad + "'"), std::string::npos) << e.message();
        EXPECT_NE(e.hint().find("zone1970.tab"), std::string::npos);
        if (bad != "Europe" && bad != "../../etc/passwd") {
            EXPECT_NE(e.message().find("did you mean 'Europe/Paris'?"), std::string::npos) << e.message();
        }
    }
    EXPECT_EQ(m_root.find("etc/localtime"), nullptr);
}

TEST(TimeZone, WithoutTzdata) {
    RootFs root;
    EXPECT_FALSE(write_time_zone(root, {}).configured);
    EXPECT_FALSE(write_time_zone(root, {{"TZ", "UTC"}}).configured);
    EXPECT_EQ(root.find("etc/localtime"), nullptr);
    Error e = expect_error([&] { write_time_zone(root, {{"TZ", "Asia/Tokyo"}}); });
    EXPECT_EQ(e.code(), ErrorCode::Config);
    EXPECT_NE(e.message().find("needs tzdata"), std::string::npos);
}

// ---------------------------------------------------------------------------
// 5. Package database

fs::path fixture_deb(const std::string& relative) { return test::fixture_archive() / "debian/pool/main" / relative; }

// A real .deb with an md5sums member, built by dpkg-deb.
fs::path build_deb_with_md5sums(const fs::path& dir) {
    fs::path root = dir / "pkg";
    fs::create_directories(root / "DEBIAN");
    fs::create_directories(root / "usr/bin");
    util::write_file_atomic(root / "usr/bin/tool", "#!/bin/sh\necho tool\n", 0755);
    util::write_file_atomic(root / "DEBIAN/control",
                            "Package: libtool-x\nSource: tool\nVersion: 2.0-1\nArchitecture: amd64\n"
                            "Multi-Arch: same\nMaintainer: Slate Tests <tests@slate.invalid>\n"
                            "Description: a test package\n with a long description\n .\n and a paragraph\n");
    util::write_file_atomic(root / "DEBIAN/md5sums", "0f4d2b2a7a1d0c1f0f7a0d5f4f2c9b11  usr/bin/tool\n");
    fs::path out = dir / "libtool-x_2.0-1_amd64.deb";
    run({"dpkg-deb", "--root-owner-group", "--build", root.string(), out.string()});
    return out;
}

TEST(PackageDatabase, StatusFilesAsDistrolessWritesThem) {
    test::TempDir dir;
    std::vector<InstalledPackage> packages;
    packages.push_back(installed_package(deb::read_deb(fixture_deb("h/hello/hello_1.0-1_amd64.deb"), "hello")));
    packages.push_back(installed_package(deb::read_deb(fixture_deb("libc/libc6/libc6_2.36-9_amd64.deb"), "libc6")));
    packages.push_back(installed_package(deb::read_deb(build_deb_with_md5sums(dir.path()), "libtool-x")));
    RootFs root;
    write_package_database(root, packages);

    std::string hello = read_text(root, "/var/lib/dpkg/status.d/hello");
    EXPECT_TRUE(hello.starts_with("Package: hello\nStatus: install ok installed\nVersion: 1.0-1\n")) << hello;
    EXPECT_TRUE(hello.ends_with(" files only, plus a shell script for some packages.\n")) << hello;
    EXPECT_EQ(root.find("var/lib/dpkg/status.d/hello.md5sums"), nullptr);  // the fixture .debs have none
    // Multi-Arch: same packages use the plain name.
    EXPECT_NE(root.find("var/lib/dpkg/status.d/libc6"), nullptr);
    EXPECT_EQ(read_text(root, "/var/lib/dpkg/status.d/libtool-x.md5sums"),
              "0f4d2b2a7a1d0c1f0f7a0d5f4f2c9b11  usr/bin/tool\n");
    EXPECT_EQ(root.list("var/lib/dpkg/status.d"),
              (std::vector<std::string>{"var/lib/dpkg/status.d/hello", "var/lib/dpkg/status.d/libc6",
                                        "var/lib/dpkg/status.d/libtool-x",
                                        "var/lib/dpkg/status.d/libtool-x.md5sums"}));

    // dpkg itself reads the stanzas as an installed-package database.
    fs::path admin = dir.path() / "admin";
    fs::create_directories(admin / "info");
    std::string status;
    for (const auto& name : {"hello", "libc6", "libtool-x"})
        status += read_text(root, std::string("/var/lib/dpkg/status.d/") + name) + "\n";
    util::write_file_atomic(admin / "status", status);
    auto listed = run({"dpkg-query", "--admindir=" + admin.string(), "-W", "-f=${Package} ${Version} ${db:Status-Abbrev}|"});
    EXPECT_EQ(listed.out, "hello 1.0-1 ii |libc6 2.36-9 ii |libtool-x 2.0-1 ii |");
    auto description = run({"dpkg-query", "--admindir=" + admin.string(), "-W", "-f=${Description}", "libtool-x"});
    EXPECT_EQ(description.out, "a test package\n with a long description\n .\n and a paragraph");
}

TEST(PackageDatabase, ExistingStatusIsReplacedAndBadControlRefused) {
    RootFs root;
    write_package_database(root, {{"Status: purge ok not-installed\nPackage: x1\nVersion: 1\n\n\n", ""}});
    EXPECT_EQ(read_text(root, "/var/lib/dpkg/status.d/x1"), "Package: x1\nStatus: install ok installed\nVersion: 1\n");
    EXPECT_EQ(expect_error([&] { write_package_database(root, {{"Version: 1\n", ""}}); }).code(), ErrorCode::Parse);
    EXPECT_EQ(expect_error([&] { write_package_database(root, {{"Package: ../etc\n", ""}}); }).code(), ErrorCode::Parse);
    EXPECT_EQ(expect_error([&] {
                  write_package_database(root, {{"Package: twice\n", ""}, {"Package: twice\n", ""}});
              }).code(),
              ErrorCode::Internal);
}

// ---------------------------------------------------------------------------
// 6. paths

PathSpec path_entry(std::string path, PathType type, std::uint32_t mode = 0755) {
    PathSpec p;
    p.path = std::move(path);
    p.type = type;
    p.mode = mode;
    return p;
}

TEST(Paths, AppliedInOrder) {
    RootFs root;
    root.add_package({"p", "1", ""}, deb::DebFile{"", {}, {file_entry("usr/lib/p/data", "d"), file_entry("bin/p", "ELF")}, {}});
    std::vector<PathSpec> paths;
    paths.push_back(path_entry("/app", PathType::Directory));
    paths.back().uid = 65532;
    paths.back().gid = 65532;
    paths.push_back(path_entry("/app/main.py", PathType::File, 0644));
    paths.back().content = "print('hello')\n";
    paths.push_back(path_entry("/usr/local/bin/p", PathType::Symlink, 0777));
    paths.back().source = "/bin/p";
    paths.push_back(path_entry("/usr/lib/p", PathType::Permissions, 0700));
    paths.back().uid = 10;
    paths.back().recursive = true;
    paths.push_back(path_entry("/app", PathType::Permissions, 0750));  // after the directory entry
    apply_paths(root, paths);

    EXPECT_EQ(root.find("app")->mode, 0750u);
    EXPECT_EQ(root.find("app")->uid, 65532u);
    EXPECT_EQ(read_text(root, "/app/main.py"), "print('hello')\n");
    EXPECT_EQ(root.find("app/main.py")->uid, 0u);
    EXPECT_EQ(read_text(root, "/usr/local/bin/p"), "ELF");  // through the link and merged /usr
    EXPECT_EQ(root.find("usr/lib/p/data")->mode, 0700u);
    EXPECT_EQ(root.find("usr/lib/p/data")->uid, 10u);
    EXPECT_EQ(root.find("usr/lib/p/data")->gid, 0u);  // unchanged

    // A directory entry over a symlink to a directory reuses it (mkdir -p).
    apply_paths(root, {path_entry("/bin", PathType::Directory, 0711)});
    EXPECT_EQ(root.find("bin")->type, EntryType::Symlink);
    EXPECT_EQ(root.find("usr/bin")->mode, 0711u);
}

TEST(Paths, ClearErrors) {
    RootFs root;
    root.add_package({"p", "1", ""}, deb::DebFile{"", {}, {file_entry("etc/p.conf", "x"), file_entry("usr/share/p/a", "a")}, {}});
    auto error_of = [&](PathSpec p) { return expect_error([&] { apply_paths(root, {p}); }); };

    Error e = error_of(path_entry("/usr/share/p", PathType::Symlink, 0777));
    EXPECT_EQ(e.code(), ErrorCode::Config);
    EXPECT_NE(e.message().find("a symlink must not replace a directory"), std::string::npos) << e.message();
    e = error_of(path_entry("/usr/share/nothing", PathType::Permissions, 0600));
    EXPECT_EQ(e.code(), ErrorCode::Config);
    EXPECT_NE(e.message().find("paths[0]"), std::string::npos);
    EXPECT_NE(e.message().find("does not exist"), std::string::npos);
    e = error_of(path_entry("/etc/p.conf", PathType::Directory));
    EXPECT_NE(e.message().find("is a file from p"), std::string::npos) << e.message();
    e = error_of(path_entry("/usr/share/p", PathType::File, 0644));
    EXPECT_NE(e.message().find("a file cannot replace a directory"), std::string::npos);
    // An empty directory is still a directory.
    root.put_directory("/srv/empty");
    EXPECT_EQ(error_of(path_entry("/srv/empty", PathType::Symlink, 0777)).code(), ErrorCode::Config);
    // Nothing was changed by the refused entries.
    EXPECT_EQ(root.find("usr/share/p")->type, EntryType::Directory);
    EXPECT_EQ(read_text(root, "/etc/p.conf"), "x");
}

// ---------------------------------------------------------------------------
// 7. paths-exclude

RootFs documented_image() {
    RootFs root;
    for (std::string name : {"alpha", "beta"})
        root.add_package({name, "1", ""},
                         deb::DebFile{"", {},
                                      {file_entry("usr/share/doc/" + name + "/copyright", "licence"),
                                       file_entry("usr/share/doc/" + name + "/changelog.Debian.gz", "z"),
                                       file_entry("usr/share/man/man1/" + name + ".1.gz", "m"),
                                       file_entry("usr/share/locale/de/LC_MESSAGES/" + name + ".mo", "mo"),
                                       file_entry("usr/bin/" + name, "ELF")},
                                      {}});
    root.add_package({"libc-bin", "1", ""},
                     deb::DebFile{"", {},
                                  {file_entry("usr/lib/locale/C.utf8/LC_CTYPE", "ctype"),
                                   file_entry("usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES", "msg"),
                                   file_entry("usr/lib/locale/de_DE.utf8/LC_CTYPE", "de"),
                                   file_entry("lib/x86_64-linux-gnu/libz.a", "ar")},
                                  {}});
    return root;
}

TEST(PathsExclude, DocsManLocalesButCopyrightAndCUtf8Stay) {
    RootFs root = documented_image();
    std::size_t before = root.entries().size();
    std::size_t removed = apply_paths_exclude(
        root, {"/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/lib/locale/*"});
    EXPECT_EQ(root.entries().size(), before - removed);
    for (std::string name : {"alpha", "beta"}) {
        EXPECT_NE(root.find("usr/share/doc/" + name + "/copyright"), nullptr);
        EXPECT_EQ(root.find("usr/share/doc/" + name + "/changelog.Debian.gz"), nullptr);
        EXPECT_NE(root.find("usr/bin/" + name), nullptr);
    }
    EXPECT_EQ(root.find("usr/share/man/man1"), nullptr);
    EXPECT_NE(root.find("usr/share/man"), nullptr);  // the pattern names what is inside it
    EXPECT_EQ(root.find("usr/share/locale/de"), nullptr);
    EXPECT_EQ(root.find("usr/lib/locale/de_DE.utf8"), nullptr);
    EXPECT_EQ(read_text(root, "/usr/lib/locale/C.utf8/LC_MESSAGES/SYS_LC_MESSAGES"), "msg");
    // changelogs 2, man1 + 2 pages, locale/de + LC_MESSAGES + 2 .mo, de_DE.utf8 + LC_CTYPE
    EXPECT_EQ(removed, 2u + 3u + 4u + 2u);
}

TEST(PathsExclude, LastMatchingPatternDecides) {
    RootFs root = documented_image();
    // Keep beta's docs, then exclude all changelogs again.
    apply_paths_exclude(root, {"/usr/share/doc/*", "!/usr/share/doc/beta", "/usr/share/doc/*/changelog.*"});
    EXPECT_EQ(root.find("usr/share/doc/alpha/changelog.Debian.gz"), nullptr);
    EXPECT_EQ(root.find("usr/share/doc/beta/changelog.Debian.gz"), nullptr);
    EXPECT_NE(root.find("usr/share/doc/beta/copyright"), nullptr);

    RootFs other = documented_image();
    apply_paths_exclude(other, {"/usr/share/doc/*/changelog.*", "!/usr/share/doc/beta"});
    EXPECT_EQ(other.find("usr/share/doc/alpha/changelog.Debian.gz"), nullptr);
    EXPECT_NE(other.find("usr/share/doc/beta/changelog.Debian.gz"), nullptr);  // kept: the keep came last
}

TEST(PathsExclude, PatternsFollowMergedUsrAndMustBeAbsolute) {
    RootFs root = documented_image();
    EXPECT_EQ(apply_paths_exclude(root, {"/lib/*/*.a"}), 1u);
    EXPECT_EQ(root.find("usr/lib/x86_64-linux-gnu/libz.a"), nullptr);
    EXPECT_EQ(apply_paths_exclude(root, {}), 0u);
    Error e = expect_error([&] { apply_paths_exclude(root, {"usr/share/doc/*"}); });
    EXPECT_EQ(e.code(), ErrorCode::Config);
    EXPECT_NE(e.message().find("paths-exclude[0]"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Everything together

TEST(SystemFiles, BuildOrderLetsPathsAddALocalCertificate) {
    if (!fs::is_directory("/usr/share/ca-certificates/mozilla")) GTEST_SKIP() << "the host has no ca-certificates";
    RootFs root;
    root.add_package({"ca-certificates", "1", ""}, host_tree("/usr/share/ca-certificates/mozilla"));
    ImageSpec spec;
    spec.accounts.run_as = "nonroot";
    PathSpec local = path_entry("/usr/local/share/ca-certificates/corp.crt", PathType::File, 0644);
    local.content = util::read_file(*fs::directory_iterator("/usr/share/ca-certificates/mozilla"));
    spec.paths.push_back(local);
    spec.paths.push_back(path_entry("/etc/passwd", PathType::Permissions, 0600));
    spec.paths_exclude = {"/usr/local/share/ca-certificates/*"};
    SystemFiles out = write_system_files(root, spec, {{"Package: ca-certificates\nVersion: 1\n", ""}});
    EXPECT_EQ(out.run_as.uid, 65532u);
    EXPECT_TRUE(out.ca_certificates.generated);
    EXPECT_TRUE(read_text(root, std::string(CaBundlePath)).ends_with(local.content.ends_with('\n') ? local.content
                                                                                                  : local.content + "\n"));
    EXPECT_NE(root.find("etc/ssl/certs/corp.pem"), nullptr);
    EXPECT_EQ(root.find("etc/passwd")->mode, 0600u);
    EXPECT_NE(root.find("var/lib/dpkg/status.d/ca-certificates"), nullptr);
    EXPECT_EQ(root.find("tmp")->mode, 01777u);
    EXPECT_EQ(out.excluded, 1u);
}

}  // namespace
}  // namespace slate::build
