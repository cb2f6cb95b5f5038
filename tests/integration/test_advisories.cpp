// slate advisories mine against a signed archive served on 127.0.0.1 whose
// packages' changelogs name CVEs (tests/fixtures/make-changelog-archive.sh):
// fixed versions from the release's newest changelogs, doc directories that
// are symlinks, packages without changelogs, and every bad input the command
// names.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "slate/build/image_spec.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/http_server.hpp"
#include "support/json_schema.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class AdvisoriesMine : public ::testing::Test {
protected:
    // The archive is built once for all tests of this suite (about 2 s).
    static void SetUpTestSuite() {
        s_archive = std::make_unique<TempDir>();
        util::ProcessOptions options;
        options.timeout = std::chrono::minutes(2);
        auto built = util::run_process(
            {"bash", (source_dir() / "tests/fixtures/make-changelog-archive.sh").string(), s_archive->path().string()},
            options);
        ASSERT_EQ(built.exit_code, 0) << built.out << built.err;
    }
    static void TearDownTestSuite() { s_archive.reset(); }

    void SetUp() override {
        ASSERT_TRUE(s_archive && fs::exists(s_archive->path() / "keyring.gpg")) << "the fixture archive was not built";
        m_server = std::make_unique<HttpServer>(s_archive->path());
        m_mirror = m_server->url() + "/debian";
        fs::create_directories(m_apt_root.path() / "etc/apt");  // no host sources
    }

    // slate with the fixture's keyring and a private cache; `mirror` adds --mirror.
    util::ProcessResult slate(std::vector<std::string> args, bool mirror = true) const {
        std::vector<std::string> argv{slate_binary().string(), "--keyring", (s_archive->path() / "keyring.gpg").string(),
                                      "--cache-dir", m_cache.path().string()};
        if (mirror) argv.insert(argv.end(), {"--mirror", m_mirror});
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.env = {{"SLATE_APT_ROOT", m_apt_root.path().string()}, {"SLATE_RETRIES", "1"}};
        options.unset_env = {"SLATE_MIRROR", "SLATE_CACHE", "SLATE_KEYRING", "SLATE_OFFLINE", "SLATE_SECURITY_MIRROR"};
        options.timeout = std::chrono::seconds(120);
        return util::run_process(argv, options);
    }

    util::ProcessResult mine(const std::string& packages, const fs::path& out, std::vector<std::string> more = {}) const {
        std::vector<std::string> args{"advisories", "mine", "--suite", "clfix", "--packages", packages, "-o", out.string()};
        args.insert(args.begin(), more.begin(), more.end());
        return slate(args);
    }

    static std::set<std::string> listing(const fs::path& dir) {
        std::set<std::string> names;
        for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
        return names;
    }

    static json record(const fs::path& dir, const std::string& source, const std::string& cve) {
        return json::parse(util::read_file(dir / ("x_SLATE-CL-" + source + "-" + cve + ".json")));
    }

    static std::string fixed_of(const json& r) { return r["affected"][0]["ranges"][0]["events"][1]["fixed"]; }
    static std::string urgency_of(const json& r) { return r["affected"][0]["ecosystem_specific"]["urgency"]; }

    static inline std::unique_ptr<TempDir> s_archive;
    std::unique_ptr<HttpServer> m_server;
    std::string m_mirror;
    TempDir m_cache;
    TempDir m_apt_root;
    TempDir m_work;
};

TEST_F(AdvisoriesMine, FixedVersionsComeFromTheNewestChangelogOfTheRelease) {
    const fs::path out = m_work.path() / "advisories";
    // sslfix by its source name (its smallest binary, sslfix-dev, has its doc
    // directory as a symlink to libsslfix3's); xmlfix through xmlfix-tools,
    // whose changelog.Debian.gz is a symlink to xmlfix's.
    auto r = mine("sslfix,xmlfix-tools", out, {"-v"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("mined 7 advisories for 2 source packages into " + out.string() + "\n"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("sslfix-dev 1.0-1+deb12u1 (" + build::default_architecture() + "): its changelog is in libsslfix3's"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("its changelog is in xmlfix's"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("has no suite clfix-updates; mining without it"), std::string::npos) << r.err;
    // The malformed entry and the 1996 free-form text are reported, and what they name is not read.
    EXPECT_NE(r.err.find("warning: xmlfix changelog (xmlfix):17: malformed entry header"), std::string::npos) << r.err;

    EXPECT_EQ(listing(out), (std::set<std::string>{
                                "x_SLATE-CL-sslfix-CVE-2023-0001.json", "x_SLATE-CL-sslfix-CVE-2024-1111.json",
                                "x_SLATE-CL-sslfix-CVE-2024-2222.json", "x_SLATE-CL-xmlfix-CVE-2022-12345.json",
                                "x_SLATE-CL-xmlfix-CVE-2022-40674.json", "x_SLATE-CL-xmlfix-CVE-2022-43680.json",
                                "x_SLATE-CL-xmlfix-CVE-2022-99999.json"}));

    // The security suite's upload fixed these: its version, its urgency, its date.
    auto cve1111 = record(out, "sslfix", "CVE-2024-1111");
    EXPECT_EQ(fixed_of(cve1111), "1.0-1+deb12u1");
    EXPECT_EQ(urgency_of(cve1111), "high");
    EXPECT_EQ(cve1111["published"], "2024-02-05T17:30:00Z");
    EXPECT_EQ(cve1111["affected"][0]["package"]["ecosystem"], "Debian:12");  // the Release's Version: 12.0
    EXPECT_EQ(cve1111["affected"][0]["package"]["name"], "sslfix");
    EXPECT_EQ(cve1111["database_specific"]["changelog_version"], "1.0-1+deb12u1");
    EXPECT_EQ(cve1111["database_specific"]["source"], "debian-changelog");
    EXPECT_EQ(fixed_of(record(out, "sslfix", "CVE-2024-2222")), "1.0-1+deb12u1");
    // Named again by the security upload, fixed by the older one.
    auto cve0001 = record(out, "sslfix", "CVE-2023-0001");
    EXPECT_EQ(fixed_of(cve0001), "1.0-1");
    EXPECT_EQ(urgency_of(cve0001), "medium");
    // xmlfix: a CVE fixed in 2.4.9-1 and mentioned again in 2.5.0-1; a lower-case mention.
    EXPECT_EQ(fixed_of(record(out, "xmlfix", "CVE-2022-40674")), "2.4.9-1");
    auto lower = record(out, "xmlfix", "CVE-2022-12345");
    EXPECT_EQ(fixed_of(lower), "2.5.0-1");
    EXPECT_EQ(urgency_of(lower), "high");  // "HIGH (security fixes)"

    JsonSchemaValidator validator{shared_schemas() / "osv"};
    for (const auto& name : listing(out)) EXPECT_EQ(validator.errors("schema.json", util::read_file(out / name)), "") << name;

    // The same run from the cache alone gives the same bytes.
    const fs::path again = m_work.path() / "again";
    auto offline = mine("sslfix,xmlfix-tools", again, {"--offline"});
    ASSERT_EQ(offline.exit_code, 0) << offline.err;
    for (const auto& name : listing(out)) EXPECT_EQ(util::read_file(again / name), util::read_file(out / name)) << name;
}

TEST_F(AdvisoriesMine, ABinaryNamedIsReadFirst) {
    const fs::path out = m_work.path() / "advisories";
    auto r = mine("libsslfix3", out, {"-v"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("its changelog is in"), std::string::npos) << r.err;  // no detour through sslfix-dev
    EXPECT_NE(r.err.find("from /usr/share/doc/libsslfix3/changelog.Debian.gz of libsslfix3 1.0-1+deb12u1"), std::string::npos)
        << r.err;
    EXPECT_EQ(listing(out).size(), 3u);
}

TEST_F(AdvisoriesMine, ASourceWithoutAChangelogIsAWarning) {
    const fs::path out = m_work.path() / "advisories";
    auto r = mine("nodocs,xmlfix", out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: no changelog found for source package nodocs 1.0-1 (tried nodocs); skipped"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("mined 4 advisories for 1 source packages into"), std::string::npos) << r.err;
    EXPECT_EQ(listing(out).size(), 4u);
}

TEST_F(AdvisoriesMine, AnImageSpecsPackagesAcrossTheWholeRelease) {
    // The image is built from clfix alone, but advisories come from the
    // release's newest changelogs (clfix-security's sslfix).
    const fs::path spec = m_work.path() / "app.yaml";
    util::write_file_atomic(spec, "name: app\narchive:\n  mirror: " + m_mirror + "\n  suites: [clfix]\n  keyring: [" +
                                      (s_archive->path() / "keyring.gpg").string() +
                                      "]\ncontents:\n  packages: [sslfix-dev, xmlfix]\n");
    const fs::path out = m_work.path() / "advisories";
    auto r = slate({"advisories", "mine", "--suite", "clfix", "--image", spec.string(), "-o", out.string()}, false);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(spec.string() + ": 2 packages resolved"), std::string::npos) << r.err;
    EXPECT_EQ(listing(out).size(), 7u);
    EXPECT_EQ(fixed_of(record(out, "sslfix", "CVE-2024-1111")), "1.0-1+deb12u1");

    // With a current lock file next to the spec, its packages are used.
    auto locked = slate({"lock", spec.string()}, false);
    ASSERT_EQ(locked.exit_code, 0) << locked.err;
    auto again = slate({"advisories", "mine", "--suite", "clfix", "--image", spec.string(), "-o", out.string()}, false);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find(spec.string() + ": 2 packages from " + (m_work.path() / "app.lock.json").string()),
              std::string::npos)
        << again.err;
    EXPECT_EQ(listing(out).size(), 7u);
}

TEST_F(AdvisoriesMine, ARerunReplacesTheWholeSet) {
    const fs::path out = m_work.path() / "advisories";
    ASSERT_EQ(mine("xmlfix", out).exit_code, 0);
    EXPECT_EQ(listing(out).size(), 4u);
    auto r = mine("sslfix", out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(listing(out), (std::set<std::string>{"x_SLATE-CL-sslfix-CVE-2023-0001.json", "x_SLATE-CL-sslfix-CVE-2024-1111.json",
                                                   "x_SLATE-CL-sslfix-CVE-2024-2222.json"}));
    EXPECT_EQ(listing(m_work.path()), std::set<std::string>{"advisories"});  // nothing temporary left beside it
}

TEST_F(AdvisoriesMine, UnknownPackagesAndSuites) {
    const fs::path out = m_work.path() / "advisories";
    auto typo = mine("xmlfx", out);
    EXPECT_EQ(typo.exit_code, 1);
    EXPECT_NE(typo.err.find("error: unknown package xmlfx: neither a binary nor a source package in the release's suites"),
              std::string::npos)
        << typo.err;
    EXPECT_NE(typo.err.find("hint: did you mean xmlfix?"), std::string::npos) << typo.err;

    auto suite = slate({"advisories", "mine", "--suite", "clfx", "--packages", "xmlfix", "-o", out.string()});
    EXPECT_EQ(suite.exit_code, 1);
    EXPECT_NE(suite.err.find("error: unknown suite clfx: "), std::string::npos) << suite.err;
    EXPECT_NE(suite.err.find("HTTP 404"), std::string::npos) << suite.err;

    // Without a mirror, the (empty) apt sources are all there is.
    auto no_sources = slate({"advisories", "mine", "--suite", "bookwrom", "--packages", "xmlfix", "-o", out.string()}, false);
    EXPECT_EQ(no_sources.exit_code, 1);
    EXPECT_NE(no_sources.err.find("unknown suite bookwrom: the host's apt sources name no suite of that release"),
              std::string::npos)
        << no_sources.err;
    EXPECT_NE(no_sources.err.find("did you mean bookworm?"), std::string::npos) << no_sources.err;

    auto not_a_release = slate({"advisories", "mine", "--suite", "clfix-security", "--packages", "xmlfix", "-o", out.string()});
    EXPECT_EQ(not_a_release.exit_code, 2);
    EXPECT_NE(not_a_release.err.find("--suite clfix-security names a suite, not a release"), std::string::npos)
        << not_a_release.err;
    EXPECT_NE(not_a_release.err.find("--suite clfix:"), std::string::npos) << not_a_release.err;

    auto nothing = slate({"advisories", "mine", "--suite", "clfix", "-o", out.string()});
    EXPECT_EQ(nothing.exit_code, 2);
    EXPECT_NE(nothing.err.find("nothing to mine"), std::string::npos) << nothing.err;

    EXPECT_FALSE(fs::exists(out));
    EXPECT_TRUE(listing(m_work.path()).empty());
}

TEST_F(AdvisoriesMine, OutputsItRefusesToWrite) {
    // A file.
    const fs::path file = m_work.path() / "notes.txt";
    util::write_file_atomic(file, "keep me\n");
    auto on_file = mine("xmlfix", file);
    EXPECT_EQ(on_file.exit_code, 2);
    EXPECT_NE(on_file.err.find(file.string() + " exists and is not a directory"), std::string::npos) << on_file.err;
    EXPECT_EQ(util::read_file(file), "keep me\n");

    // A directory of other files.
    const fs::path docs = m_work.path() / "docs";
    fs::create_directory(docs);
    util::write_file_atomic(docs / "README", "mine\n");
    auto on_docs = mine("xmlfix", docs);
    EXPECT_EQ(on_docs.exit_code, 2);
    EXPECT_NE(on_docs.err.find("refusing to replace " + docs.string() + ": it holds README, which slate did not write"),
              std::string::npos)
        << on_docs.err;
    EXPECT_EQ(listing(docs), std::set<std::string>{"README"});

    // Below a file: nothing can be created there. Refused before any download.
    auto unwritable = mine("xmlfix", file / "advisories");
    EXPECT_EQ(unwritable.exit_code, 1);
    EXPECT_NE(unwritable.err.find("cannot create " + file.string()), std::string::npos) << unwritable.err;
    EXPECT_EQ(m_server->request_count("/debian/dists/clfix/InRelease"), 0u);
    EXPECT_EQ(listing(m_work.path()), (std::set<std::string>{"notes.txt", "docs"}));
}

TEST_F(AdvisoriesMine, ADamagedDownloadWritesNothing) {
    const std::string deb = "/debian/pool/main/x/xmlfix/xmlfix_2.5.0-1_" + build::default_architecture() + ".deb";
    m_server->corrupt_next(deb, 10);
    const fs::path out = m_work.path() / "advisories";
    auto r = mine("xmlfix", out);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("xmlfix 2.5.0-1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("SHA-256"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_TRUE(listing(m_work.path()).empty());
}

}  // namespace
}  // namespace slate::test
