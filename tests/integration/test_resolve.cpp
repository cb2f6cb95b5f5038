// slate resolve against the fixture archive: what gets chosen, and every way
// the archive can be wrong.
#include <nlohmann/json.hpp>

#include <map>
#include <thread>

#include "integration/archive_test.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

std::map<std::string, nlohmann::json> by_name(const std::string& out) {
    auto doc = nlohmann::json::parse(out);
    std::map<std::string, nlohmann::json> m;
    for (const auto& p : doc.at("packages")) m[p.at("name").get<std::string>()] = p;
    return m;
}

std::size_t count_files(const fs::path& dir) {
    std::size_t n = 0;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
        if (entry.is_regular_file()) ++n;
    return n;
}

using ResolveCommand = ArchiveTest;

TEST_F(ResolveCommand, ResolvesAcrossSuitesWithSecurityAndUpdatesWinning) {
    auto r = slate({"resolve", "--suite", Suites, "--json", "app"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc.at("arch"), "amd64");
    auto pkgs = by_name(r.out);
    ASSERT_EQ(pkgs.size(), 4u) << r.out;
    EXPECT_EQ(pkgs.at("libc6").at("version"), "2.36-9+deb12u1");
    EXPECT_EQ(pkgs.at("libc6").at("suite"), "fixture-security");
    EXPECT_EQ(pkgs.at("hello").at("version"), "1.0-1+b1");
    EXPECT_EQ(pkgs.at("hello").at("suite"), "fixture-updates");
    EXPECT_EQ(pkgs.at("hello").at("source"), "hello");
    EXPECT_EQ(pkgs.at("hello").at("source_version"), "1.0-1");
    EXPECT_EQ(pkgs.at("data-common").at("arch"), "all");
    // Install order: dependencies first, the request last.
    EXPECT_EQ(doc.at("packages").back().at("name"), "app");
    EXPECT_EQ(doc.at("packages").front().at("name"), "data-common");
    // Every field is there and the hash is the .deb's real SHA-256.
    for (const auto& p : doc.at("packages")) {
        for (const char* key : {"name", "version", "arch", "source", "source_version", "suite", "filename", "size", "sha256"})
            EXPECT_TRUE(p.contains(key)) << key;
        auto deb = m_archive / (p.at("suite") == "fixture-security" ? "debian-security" : "debian") /
                   p.at("filename").get<std::string>();
        EXPECT_EQ(util::sha256_file_hex(deb), p.at("sha256")) << deb;
        EXPECT_EQ(fs::file_size(deb), p.at("size").get<std::uint64_t>());
    }
}

TEST_F(ResolveCommand, ArmSixtyFourHasItsOwnIndices) {
    auto r = slate({"resolve", "--suite", Suites, "--arch", "arm64", "--json", "hello", "uses-awk", "tool-any"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& [name, p] : by_name(r.out)) EXPECT_EQ(p.at("arch"), "arm64") << name;
    auto missing = slate({"resolve", "--suite", Suites, "--arch", "arm64", "amd64-only"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("unknown package amd64-only"), std::string::npos) << missing.err;
    auto bad_arch = slate({"resolve", "--suite", Suites, "--arch", "mips", "hello"});
    EXPECT_EQ(bad_arch.exit_code, 1);
    EXPECT_NE(bad_arch.err.find("has no architecture mips (it has: amd64, arm64)"), std::string::npos) << bad_arch.err;
}

TEST_F(ResolveCommand, TextOutputIsATable) {
    auto r = slate({"resolve", "--suite", Suites, "predep"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("NAME"), std::string::npos);
    EXPECT_NE(r.out.find("3 packages for amd64"), std::string::npos) << r.out;
}

TEST_F(ResolveCommand, UnknownPackageSuggestsACloseName) {
    auto r = slate({"resolve", "--suite", Suites, "helo"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("unknown package helo"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("did you mean hello"), std::string::npos) << r.err;
}

TEST_F(ResolveCommand, UnsatisfiableDependencyShowsChainAndCandidates) {
    auto r = slate({"resolve", "--suite", Suites, "chain-a"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot satisfy chain-c (>= 5.0), a dependency of chain-b 1.0-1, required by chain-a 1.0-1 (requested)"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("chain-c 1.0-1 (fixture): does not satisfy"), std::string::npos) << r.err;
    auto conflict = slate({"resolve", "--suite", Suites, "wants-both"});
    EXPECT_EQ(conflict.exit_code, 1);
    EXPECT_NE(conflict.err.find("conflicts with conflict-b"), std::string::npos) << conflict.err;
}

TEST_F(ResolveCommand, VirtualPackagesAndProvides) {
    auto r = slate({"resolve", "--suite", Suites, "--json", "mailer", "pyapp"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto pkgs = by_name(r.out);
    EXPECT_EQ(pkgs.count("python3-lite"), 1u);
    EXPECT_EQ(pkgs.count("exim-lite") + pkgs.count("postfix-lite"), 1u);
    auto virt = slate({"resolve", "--suite", Suites, "mail-transport-agent"});
    EXPECT_EQ(virt.exit_code, 1);
    EXPECT_NE(virt.err.find("virtual package provided by: exim-lite, postfix-lite"), std::string::npos) << virt.err;
}

TEST_F(ResolveCommand, ExcludeWarnsAboutWhatItLeftUnsatisfied) {
    auto r = slate({"resolve", "--suite", Suites, "--json", "--exclude", "dpkg-lite", "needs-dpkg"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(by_name(r.out).count("dpkg-lite"), 0u);
    EXPECT_NE(r.err.find("warning: amd64: dependency dpkg-lite of needs-dpkg left unsatisfied because dpkg-lite is excluded"),
              std::string::npos)
        << r.err;
}

TEST_F(ResolveCommand, SecondRunUsesConditionalRequestsAndTheCache) {
    ASSERT_EQ(slate({"resolve", "--suite", Suites, "hello"}).exit_code, 0);
    auto index_requests = m_server->request_log().size();
    auto r = slate({"resolve", "--suite", Suites, "hello"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto log = m_server->request_log();
    // Only the three InRelease files were asked for again, and each was unchanged.
    ASSERT_EQ(log.size(), index_requests + 3) << log.back();
    for (std::size_t i = index_requests; i < log.size(); ++i) {
        EXPECT_NE(log[i].find("InRelease"), std::string::npos) << log[i];
        EXPECT_NE(log[i].find(" 304"), std::string::npos) << log[i];
    }
}

TEST_F(ResolveCommand, OfflineWorksFromTheCacheAndOnlyFromIt) {
    auto cold = slate({"resolve", "--suite", Suites, "hello"}, {"--offline"});
    EXPECT_EQ(cold.exit_code, 1);
    EXPECT_NE(cold.err.find("is not in the cache (--offline)"), std::string::npos) << cold.err;
    ASSERT_EQ(slate({"resolve", "--suite", Suites, "hello"}).exit_code, 0);
    m_server.reset();  // the mirror is gone
    auto warm = slate({"resolve", "--suite", Suites, "--json", "hello"}, {"--offline"});
    ASSERT_EQ(warm.exit_code, 0) << warm.err;
    EXPECT_EQ(by_name(warm.out).at("libc6").at("version"), "2.36-9+deb12u1");
}

TEST_F(ResolveCommand, UnreachableMirrorIsAClearError) {
    util::ProcessOptions options;
    options.env = {{"SLATE_APT_ROOT", m_apt_root.path().string()}, {"SLATE_RETRIES", "0"}};
    auto r = util::run_process({slate_binary().string(), "--mirror", "http://127.0.0.1:1/debian", "--keyring",
                                keyring().string(), "--cache-dir", cache().string(), "resolve",
                                "--suite", "fixture", "hello"},
                               options);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot reach http://127.0.0.1:1/debian/dists/fixture/InRelease"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("hint:"), std::string::npos) << r.err;
}

TEST_F(ResolveCommand, UnknownSuiteIsAClearError) {
    auto r = slate({"resolve", "--suite", "no-such-suite", "hello"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("InRelease of no-such-suite"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("check the suite name"), std::string::npos) << r.err;
}

TEST_F(ResolveCommand, ExpiredReleaseIsRefusedUnlessAskedToIgnoreIt) {
    auto r = slate({"resolve", "--suite", "fixture-stale", "hello"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("InRelease of fixture-stale from " + mirror() + " expired on Tue, 21 Nov 2023 22:13:20 UTC"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("--ignore-valid-until"), std::string::npos) << r.err;
    auto ignored = slate({"resolve", "--suite", "fixture-stale", "hello"}, {"--ignore-valid-until"});
    EXPECT_EQ(ignored.exit_code, 0) << ignored.err;
    // apt's own switch is honoured too.
    util::write_file_atomic(m_apt_root.path() / "etc/apt/apt.conf.d/99valid", "Acquire::Check-Valid-Until \"false\";\n");
    EXPECT_EQ(slate({"resolve", "--suite", "fixture-stale", "hello"}).exit_code, 0);
}

TEST_F(ResolveCommand, WrongKeyringIsRefusedAndNothingIsCached) {
    auto r = slate({"resolve", "--suite", "fixture", "hello"},
                   {"--keyring", (m_archive / "wrong-keyring.gpg").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("InRelease of fixture"), std::string::npos) << r.err;
    EXPECT_EQ(count_files(cache() / "blobs"), 0u);
    EXPECT_EQ(count_files(cache() / "tmp"), 0u);
    EXPECT_EQ(count_files(cache() / "derived"), 0u);
}

TEST_F(ResolveCommand, TamperedInReleaseIsRefused) {
    // A mirror whose InRelease had one signed byte changed.
    TempDir evil;
    fs::create_directories(evil.path() / "debian/dists/fixture");
    auto text = util::read_file(m_archive / "debian/dists/fixture/InRelease");
    auto pos = text.find("Origin: Debian");
    ASSERT_NE(pos, std::string::npos);
    text[pos + 13] = 'm';
    util::write_file_atomic(evil.path() / "debian/dists/fixture/InRelease", text);
    HttpServer server(evil.path());
    auto r = slate({"resolve", "--suite", "fixture", "hello"}, {"--mirror", server.url() + "/debian"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("BAD signature"), std::string::npos) << r.err;
    EXPECT_EQ(count_files(cache() / "blobs"), 0u);
    EXPECT_EQ(count_files(cache() / "tmp"), 0u);

    // Mangled in transit so that it is not a signed message at all.
    m_server->corrupt_next("/debian/dists/fixture/InRelease");
    auto mangled = slate({"resolve", "--suite", "fixture", "hello"});
    EXPECT_EQ(mangled.exit_code, 1);
    EXPECT_NE(mangled.err.find("InRelease of fixture"), std::string::npos) << mangled.err;
    EXPECT_EQ(count_files(cache() / "blobs"), 0u);
}

TEST_F(ResolveCommand, InsecureSkipVerifyIsExplicitAndLoud) {
    auto r = slate({"resolve", "--suite", "fixture", "hello"},
                   {"--keyring", (m_archive / "wrong-keyring.gpg").string(), "--insecure-skip-verify"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("warning: NOT verifying the signature"), std::string::npos) << r.err;
    // The flag cannot come from the environment.
    util::ProcessOptions options;
    options.env = {{"SLATE_INSECURE_SKIP_VERIFY", "1"}, {"SLATE_APT_ROOT", m_apt_root.path().string()}};
    auto env = util::run_process({slate_binary().string(), "--mirror", mirror(), "--keyring",
                                  (m_archive / "wrong-keyring.gpg").string(), "--cache-dir", cache().string(), "resolve",
                                  "--suite", "fixture", "hello"},
                                 options);
    EXPECT_EQ(env.exit_code, 1) << env.err;
}

// The Packages index as served through by-hash.
std::string by_hash_path(const fs::path& archive, const std::string& suite) {
    auto release = util::read_file(archive / "debian/dists" / suite / "Release");
    auto pos = release.find("main/binary-amd64/Packages.xz", release.find("SHA256:"));
    auto line_start = release.rfind('\n', pos) + 1;
    auto sha = release.substr(line_start + 1, 64);
    return "/debian/dists/" + suite + "/main/binary-amd64/by-hash/SHA256/" + sha;
}

TEST_F(ResolveCommand, PackagesHashMismatchIsRefusedAndNotCached) {
    auto path = by_hash_path(m_archive, "fixture");
    m_server->corrupt_next(path, 1);
    auto r = slate({"resolve", "--suite", "fixture", "hello"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("does not match the signed Release: SHA-256"), std::string::npos) << r.err;
    EXPECT_EQ(count_files(cache() / "tmp"), 0u);
    EXPECT_EQ(count_files(cache() / "derived" / "packages-index-v1"), 0u);
    // The next run, with an honest mirror, succeeds.
    auto again = slate({"resolve", "--suite", "fixture", "hello"});
    EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST_F(ResolveCommand, TruncatedDownloadIsRefused) {
    auto path = by_hash_path(m_archive, "fixture");
    m_server->truncate_next(path, 100, /*honest_length=*/true, 5);
    auto r = slate({"resolve", "--suite", "fixture", "hello"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("does not match the signed Release: got 100 bytes"), std::string::npos) << r.err;
    EXPECT_EQ(count_files(cache() / "tmp"), 0u);
}

TEST_F(ResolveCommand, DroppedConnectionIsRetried) {
    auto path = by_hash_path(m_archive, "fixture");
    m_server->truncate_next(path, 100, /*honest_length=*/false, 1);
    m_server->fail_next("/debian/dists/fixture/InRelease", 503, 1);
    auto r = slate({"resolve", "--suite", "fixture", "hello"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(m_server->request_count(path), 2u);
    EXPECT_NE(r.err.find("retrying"), std::string::npos) << r.err;
}

TEST_F(ResolveCommand, CorruptedCacheFileIsDetectedAndFetchedAgain) {
    ASSERT_EQ(slate({"resolve", "--suite", "fixture", "hello"}).exit_code, 0);
    auto path = by_hash_path(m_archive, "fixture");
    auto sha = path.substr(path.rfind('/') + 1);
    // Damage both the parsed index and the downloaded blob.
    for (const auto& entry : fs::directory_iterator(cache() / "derived" / "packages-index-v1")) {
        auto bytes = util::read_file(entry.path());
        bytes[bytes.size() / 2] ^= 0x55;
        util::write_file_atomic(entry.path(), bytes);
    }
    auto blob = cache() / "blobs" / "sha256" / sha;
    auto bytes = util::read_file(blob);
    bytes[bytes.size() / 2] ^= 0x55;
    util::write_file_atomic(blob, bytes);

    auto before = m_server->request_count(path);
    auto r = slate({"resolve", "--suite", "fixture", "--json", "hello"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("was damaged; fetching it again"), std::string::npos) << r.err;
    EXPECT_EQ(m_server->request_count(path), before + 1);
    EXPECT_EQ(util::sha256_file_hex(blob), sha);
}

TEST_F(ResolveCommand, ConcurrentProcessesShareOneCache) {
    std::vector<std::thread> threads;
    std::vector<int> codes(4, -1);
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&, i] { codes[i] = slate({"resolve", "--suite", Suites, "app"}).exit_code; });
    for (auto& t : threads) t.join();
    for (int code : codes) EXPECT_EQ(code, 0);
    EXPECT_EQ(count_files(cache() / "tmp"), 0u);
}

}  // namespace
}  // namespace slate::test
