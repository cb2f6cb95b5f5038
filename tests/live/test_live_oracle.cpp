// LIVE: slate's resolver against apt's, on the real archive, for amd64.
//
// For each request, `slate resolve --json PKG` must give exactly the package
// names and versions that `apt-get install -s PKG` installs onto an empty
// system (an empty dpkg status file, no Recommends). apt reads the host's own
// lists (filled by `apt-get update`); slate fetches the same suites itself
// through the host's apt sources into a cache under the build tree. Before
// comparing, the test checks that both saw the same Packages indices, so a
// stale `apt-get update` is reported as such rather than as a resolver bug.
//
// apt is run so that it changes nothing on the host: no lock, no dpkg status,
// and no pkgcache.bin/srcpkgcache.bin written (the cache is built in memory).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slate/deb/apt_sources.hpp"
#include "slate/deb/archive.hpp"
#include "slate/deb/sources.hpp"
#include "slate/error.hpp"
#include "slate/util/cache.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/http.hpp"
#include "slate/util/log.hpp"
#include "slate/util/subprocess.hpp"
#include "live/live_support.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

constexpr auto AptTimeout = std::chrono::minutes(2);
constexpr const char* ArchiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

// name -> version; both tools install at most one version of a name here.
using Closure = std::map<std::string, std::string>;

Closure closure_from_slate_json(const std::string& text) {
    Closure closure;
    auto doc = nlohmann::json::parse(text);
    for (const auto& p : doc.at("packages")) closure[p.at("name").get<std::string>()] = p.at("version").get<std::string>();
    return closure;
}

// "Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64]) []"
Closure closure_from_apt_simulation(const std::string& text) {
    static const std::regex inst(R"(^Inst (\S+) (?:\[\S+\] )?\((\S+) )");
    Closure closure;
    std::istringstream lines(text);
    std::string line;
    std::smatch m;
    while (std::getline(lines, line))
        if (std::regex_search(line, m, inst)) closure[m[1].str()] = m[2].str();
    return closure;
}

util::ProcessResult apt_simulate_install(const std::string& package, const fs::path& empty_status) {
    util::ProcessOptions options;
    options.env = {{"LC_ALL", "C"}};
    options.timeout = AptTimeout;
    return util::run_process({"apt-get", "install", "-s", "-o", "Dir::State::status=" + empty_status.string(),
                              "-o", "APT::Install-Recommends=false", "-o", "Debug::NoLocking=1", "-o",
                              "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=", package},
                             options);
}

// ---------------------------------------------------------------------------
// Intended differences between apt and slate, one entry per package and name.
// An entry says which side has `name` that the other lacks (or, for
// Side::Version, that the versions differ), and why that is right. Every
// entry must still be observed: an entry that no longer matches fails the
// test, so the list cannot silently outlive its reason.
//
// Currently EMPTY: on bookworm (main, -updates, -security) all 20 requests
// agree exactly with apt, names and versions.
enum class Side { OnlyInApt, OnlyInSlate, Version };
struct KnownDifference {
    std::string_view package;  // the request
    std::string_view name;     // the package that differs
    Side side;
    std::string_view reason;
};
const std::vector<KnownDifference> known_differences = {};
// ---------------------------------------------------------------------------

struct Difference {
    std::string name;
    Side side;
    std::string apt_version, slate_version;
};

std::vector<Difference> differences(const Closure& apt, const Closure& slate) {
    std::vector<Difference> out;
    for (const auto& [name, version] : apt) {
        auto it = slate.find(name);
        if (it == slate.end()) out.push_back({name, Side::OnlyInApt, version, ""});
        else if (it->second != version) out.push_back({name, Side::Version, version, it->second});
    }
    for (const auto& [name, version] : slate)
        if (!apt.contains(name)) out.push_back({name, Side::OnlyInSlate, "", version});
    return out;
}

std::string describe(const std::vector<Difference>& diffs) {
    std::string only_apt, only_slate, versions;
    for (const auto& d : diffs) {
        if (d.side == Side::OnlyInApt) only_apt += fmt::format("    {} {}\n", d.name, d.apt_version);
        if (d.side == Side::OnlyInSlate) only_slate += fmt::format("    {} {}\n", d.name, d.slate_version);
        if (d.side == Side::Version)
            versions += fmt::format("    {}: apt {}, slate {}\n", d.name, d.apt_version, d.slate_version);
    }
    std::string text;
    if (!only_apt.empty()) text += "  only in apt:\n" + only_apt;
    if (!only_slate.empty()) text += "  only in slate:\n" + only_slate;
    if (!versions.empty()) text += "  different versions:\n" + versions;
    return text;
}

// ---- same data on both sides ------------------------------------------------

// apt's name for a list file: the URL without its scheme, '/' -> '_'
// (apt-pkg's URItoFileName, for URLs without user, port or '%').
std::string apt_list_file_name(std::string url) {
    if (auto scheme = url.find("://"); scheme != std::string::npos) url.erase(0, scheme + 3);
    std::replace(url.begin(), url.end(), '/', '_');
    return url;
}

// The SHA256 the Release text gives for `path`, "" when absent.
std::string release_sha256(const std::string& text, std::string_view path) {
    std::istringstream lines(text);
    std::string line;
    bool in_sha256 = false;
    while (std::getline(lines, line)) {
        if (!line.empty() && line[0] != ' ') {
            in_sha256 = line == "SHA256:";
            continue;
        }
        if (!in_sha256) continue;
        std::istringstream fields(line);
        std::string sha, size, name;
        if (fields >> sha >> size >> name && name == path) return sha;
    }
    return "";
}

fs::path apt_lists_dir() {
    auto r = util::run_process({"apt-config", "shell", "DIR", "Dir::State::lists/d"});
    static const std::regex assignment(R"(DIR='([^']*)')");
    std::smatch m;
    if (r.exit_code == 0 && std::regex_search(r.out, m, assignment)) return m[1].str();
    return "/var/lib/apt/lists";
}

// Empty when apt's lists hold the very Packages indices that slate resolved
// from (same SHA-256 in both InRelease files, for every suite); otherwise why not.
std::string compare_index_snapshots(const std::string& arch) {
    auto host = deb::read_apt_sources("/");
    auto suites = deb::plan_suite_sources({}, host, deb::host_codename("/"));
    util::BlobCache cache(live_cache_dir());
    util::NullLog log;
    util::NullProgress progress;
    util::CurlHttpClient http({}, log, progress);
    deb::ArchiveOptions options;
    options.keyrings = {ArchiveKeyring};
    options.offline = true;  // what slate has just used, from its cache
    options.check_valid_until = deb::apt_checks_valid_until("/");
    deb::ArchiveClient archive(cache, http, log, options);

    const auto lists = apt_lists_dir();
    std::string problems;
    for (const auto& source : suites) {
        auto slate_release = archive.fetch_release(source);
        for (const auto& component : source.components) {
            const std::string path = component + "/binary-" + arch + "/Packages";
            const auto* entry = slate_release.release.find(path);
            const auto list = lists / apt_list_file_name(source.mirror + "/dists/" + source.suite + "/InRelease");
            if (!fs::exists(list)) {
                problems += fmt::format("  {}: apt has no list {}\n", source.suite, list.string());
                continue;
            }
            auto apt_sha = release_sha256(util::read_file(list), path);
            if (!entry || apt_sha != entry->sha256)
                problems += fmt::format("  {} {}: apt's lists have {}, the archive now has {}\n", source.suite, path,
                                        apt_sha.empty() ? "none" : apt_sha, entry ? entry->sha256 : "none");
        }
    }
    return problems;
}

// ---- the oracle ---------------------------------------------------------------

class AptOracleAmd64 : public ::testing::TestWithParam<std::string> {
protected:
    static void SetUpTestSuite() {
        auto arch = util::run_process({"dpkg", "--print-architecture"});
        s_host_is_amd64 = arch.exit_code == 0 && arch.out == "amd64\n";
    }
    static inline bool s_host_is_amd64 = false;
};

TEST_P(AptOracleAmd64, SameClosureAsAptOnAnEmptySystem) {
    if (!s_host_is_amd64) GTEST_SKIP() << "apt simulates only the host's architecture; this oracle needs an amd64 host";
    const std::string& package = GetParam();

    auto slate = run_slate({"resolve", "--json", "--arch", "amd64", package});
    ASSERT_EQ(slate.exit_code, 0) << "slate resolve " << package << " failed:\n" << slate.err;

    // Only now is slate's cache sure to hold what it resolved from.
    std::string skew;
    try {
        skew = compare_index_snapshots("amd64");
    } catch (const Error& e) {
        FAIL() << "cannot compare apt's lists with slate's cache: " << e.describe();
    }
    ASSERT_TRUE(skew.empty()) << "apt's lists and the archive slate fetched differ, so apt cannot serve as the "
                                 "oracle:\n"
                              << skew << "Run `apt-get update` and run the live suite again.";

    TempDir tmp;
    const auto empty_status = tmp.path() / "status";
    util::write_file_atomic(empty_status, "");
    auto apt = apt_simulate_install(package, empty_status);
    ASSERT_EQ(apt.exit_code, 0) << "apt-get install -s " << package << " failed:\n" << apt.out << apt.err;

    const auto apt_closure = closure_from_apt_simulation(apt.out);
    const auto slate_closure = closure_from_slate_json(slate.out);
    ASSERT_FALSE(apt_closure.empty()) << "apt installed nothing for " << package << ":\n" << apt.out;
    ASSERT_TRUE(apt_closure.contains(package)) << apt.out;

    std::vector<Difference> unexplained;
    std::set<const KnownDifference*> used;
    for (const auto& d : differences(apt_closure, slate_closure)) {
        auto known = std::find_if(known_differences.begin(), known_differences.end(), [&](const KnownDifference& k) {
            return k.package == package && k.name == d.name && k.side == d.side;
        });
        if (known == known_differences.end()) unexplained.push_back(d);
        else used.insert(&*known);
    }
    EXPECT_TRUE(unexplained.empty()) << "slate resolve " << package << " differs from apt-get install -s ("
                                     << apt_closure.size() << " packages in apt, " << slate_closure.size()
                                     << " in slate):\n"
                                     << describe(unexplained);
    for (const auto& k : known_differences)
        if (k.package == package && !used.contains(&k))
            ADD_FAILURE() << "allow-list entry for " << package << " / " << k.name
                          << " no longer matches a difference; remove it (reason was: " << k.reason << ")";
}

INSTANTIATE_TEST_SUITE_P(Live, AptOracleAmd64,
                         ::testing::Values("python3", "nginx-light", "nodejs", "openjdk-17-jre-headless",
                                           "ca-certificates", "curl", "git", "postgresql-15", "redis-server", "ruby",
                                           "perl", "busybox-static", "libstdc++6", "openssl", "tzdata", "bash",
                                           "coreutils", "php8.2-cli", "golang-go", "gcc-12"),
                         test_name);

// The parsers the oracle relies on, on apt's and slate's real output shapes.
TEST(LiveOracleParsing, ReadsAptInstLines) {
    auto closure = closure_from_apt_simulation(
        "NOTE: This is only a simulation!\n"
        "Inst gcc-12-base (12.2.0-14+deb12u1 Debian:12.15/oldstable [amd64])\n"
        "Inst libgcc-s1 (12.2.0-14+deb12u1 Debian:12.15/oldstable [amd64]) []\n"
        "Inst zlib1g [1:1.2.11] (1:1.2.13.dfsg-1 Debian:12.15/oldstable [amd64])\n"
        "Conf gcc-12-base (12.2.0-14+deb12u1 Debian:12.15/oldstable [amd64])\n");
    EXPECT_EQ(closure, (Closure{{"gcc-12-base", "12.2.0-14+deb12u1"},
                                {"libgcc-s1", "12.2.0-14+deb12u1"},
                                {"zlib1g", "1:1.2.13.dfsg-1"}}));
}

TEST(LiveOracleParsing, DescribesEachKindOfDifference) {
    auto diffs = differences({{"a", "1"}, {"b", "2"}, {"c", "3"}}, {{"b", "2"}, {"c", "4"}, {"d", "5"}});
    auto text = describe(diffs);
    EXPECT_NE(text.find("only in apt:\n    a 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("only in slate:\n    d 5\n"), std::string::npos) << text;
    EXPECT_NE(text.find("different versions:\n    c: apt 3, slate 4\n"), std::string::npos) << text;
    EXPECT_EQ(diffs.size(), 3u);
}

}  // namespace
}  // namespace slate::test
