// slate lock: deterministic lock files from image specs, and --check.
#include <nlohmann/json.hpp>

#include "integration/archive_test.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

class LockCommand : public ArchiveTest {
protected:
    fs::path write_spec(const std::string& name, const std::string& packages, const std::string& extra = "") {
        auto path = m_work.path() / (name + ".yaml");
        util::write_file_atomic(path, spec_head(name, packages) +
                                          "  exclude: [dpkg-lite]\n"
                                          "archs: [amd64, arm64]\n" + extra);
        return path;
    }

    // Without --mirror: the spec names the mirror.
    util::ProcessResult lock(std::vector<std::string> args) const {
        std::vector<std::string> argv{slate_binary().string(), "--cache-dir", cache().string(), "lock"};
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.env = {{"SLATE_APT_ROOT", m_apt_root.path().string()}, {"SLATE_RETRIES", "1"}};
        options.unset_env = {"SLATE_MIRROR", "SLATE_CACHE", "SLATE_KEYRING", "SLATE_OFFLINE"};
        return util::run_process(argv, options);
    }

    TempDir m_work;
};

TEST_F(LockCommand, WritesADeterministicLockPerArchitecture) {
    auto spec = write_spec("web", "app, needs-dpkg");
    auto r = lock({spec.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lock_path = m_work.path() / "web.lock.json";
    auto first = util::read_file(lock_path);
    EXPECT_NE(r.err.find("dependency dpkg-lite of needs-dpkg left unsatisfied because dpkg-lite is excluded"),
              std::string::npos)
        << r.err;

    auto doc = nlohmann::json::parse(first);
    EXPECT_EQ(doc.at("lockfile-version"), 1);
    EXPECT_EQ(doc.at("spec").at("name"), "web");
    EXPECT_EQ(doc.at("spec").at("digest"), "sha256:" + util::sha256_file_hex(spec));
    ASSERT_EQ(doc.at("suites").size(), 3u);
    for (const auto& s : doc.at("suites")) {
        EXPECT_EQ(s.at("inrelease-sha256").get<std::string>().size(), 64u);
        EXPECT_EQ(s.at("date"), "Tue, 14 Nov 2023 22:13:20 UTC");
    }
    EXPECT_EQ(doc.at("suites")[2].at("mirror"), m_server->url() + "/debian-security");
    for (const char* arch : {"amd64", "arm64"}) {
        const auto& packages = doc.at("archs").at(arch).at("packages");
        ASSERT_EQ(packages.size(), 5u) << arch;  // app, data-common, hello, libc6, needs-dpkg
        EXPECT_EQ(packages.back().at("name"), "needs-dpkg");
        for (const auto& p : packages)
            EXPECT_TRUE(p.at("arch") == arch || p.at("arch") == "all") << p.dump();
        const auto& excluded = doc.at("archs").at(arch).at("excluded-dependencies");
        ASSERT_EQ(excluded.size(), 1u);
        EXPECT_EQ(excluded[0].at("excluded"), "dpkg-lite");
    }

    // Same inputs, same bytes: also from a cold cache.
    ASSERT_EQ(lock({spec.string()}).exit_code, 0);
    EXPECT_EQ(util::read_file(lock_path), first);
    fs::remove_all(cache());
    ASSERT_EQ(lock({spec.string()}).exit_code, 0);
    EXPECT_EQ(util::read_file(lock_path), first);
}

TEST_F(LockCommand, CheckPassesWhenUpToDateAndFailsWithADiffWhenNot) {
    auto spec = write_spec("svc", "hello");
    auto lock_path = m_work.path() / "svc.lock.json";
    auto missing = lock({"--check", spec.string()});
    EXPECT_EQ(missing.exit_code, 3);
    EXPECT_NE(missing.err.find("no lock file"), std::string::npos) << missing.err;
    EXPECT_FALSE(fs::exists(lock_path));

    ASSERT_EQ(lock({spec.string()}).exit_code, 0);
    auto fresh = lock({"--check", spec.string()});
    EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
    EXPECT_NE(fresh.out.find("up to date"), std::string::npos) << fresh.out;

    auto before = util::read_file(lock_path);
    write_spec("svc", "hello, pyapp");
    auto stale = lock({"--check", spec.string()});
    EXPECT_EQ(stale.exit_code, 3);
    EXPECT_NE(stale.out.find("out of date"), std::string::npos) << stale.out;
    EXPECT_NE(stale.out.find("amd64: + pyapp 1.0-1"), std::string::npos) << stale.out;
    EXPECT_NE(stale.out.find("amd64: + python3-lite 3.11.2-1"), std::string::npos) << stale.out;
    EXPECT_NE(stale.out.find("the spec changed"), std::string::npos) << stale.out;
    EXPECT_EQ(util::read_file(lock_path), before);  // --check writes nothing
}

TEST_F(LockCommand, AFailedResolveLeavesTheOldLockAlone) {
    auto spec = write_spec("app", "hello");
    ASSERT_EQ(lock({spec.string()}).exit_code, 0);
    auto before = util::read_file(m_work.path() / "app.lock.json");
    write_spec("app", "hello, chain-a");
    auto r = lock({spec.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("while resolving image app for amd64"), std::string::npos) << r.err;
    EXPECT_EQ(util::read_file(m_work.path() / "app.lock.json"), before);
}

TEST_F(LockCommand, BadSpecsAreRejectedWithTheirPosition) {
    auto malformed = m_work.path() / "bad.yaml";
    util::write_file_atomic(malformed, "name: bad\ncontents:\n  packages: [hello\n");
    auto r = lock({malformed.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("bad.yaml:"), std::string::npos) << r.err;

    auto unknown = m_work.path() / "unknown.yaml";
    util::write_file_atomic(unknown, "name: x\ncontents:\n  packages: [hello]\n  pakages: [x]\n");
    auto u = lock({unknown.string()});
    EXPECT_EQ(u.exit_code, 1);
    EXPECT_NE(u.err.find("unknown.yaml:4:3"), std::string::npos) << u.err;
    EXPECT_NE(u.err.find("pakages"), std::string::npos) << u.err;
    EXPECT_FALSE(fs::exists(m_work.path() / "unknown.lock.json"));

    auto missing = lock({(m_work.path() / "nope.yaml").string()});
    EXPECT_EQ(missing.exit_code, 2);  // the CLI checks the file exists
}

}  // namespace
}  // namespace slate::test
