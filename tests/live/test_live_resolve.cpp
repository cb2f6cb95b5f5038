// LIVE: resolving for a foreign architecture (arm64) and from the cache.
//
// apt on this host cannot simulate arm64 (that would need
// `dpkg --add-architecture`, which changes the host), so for arm64 the test
// checks that slate's answer is self-consistent against the real arm64
// Packages indices: every package is arm64 or all and appears once, every
// Pre-Depends and Depends of every package is satisfied inside the set (by
// name and version, or through Provides), no package Conflicts with or Breaks
// another, and each Pre-Depends is met by a package installed before it.
// The indices are read from the cache slate filled, through the library, not
// through slate's resolver.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slate/deb/apt_sources.hpp"
#include "slate/deb/archive.hpp"
#include "slate/deb/relation.hpp"
#include "slate/deb/sources.hpp"
#include "slate/deb/version.hpp"
#include "slate/util/cache.hpp"
#include "slate/util/http.hpp"
#include "slate/util/log.hpp"
#include "slate/util/subprocess.hpp"
#include "live/live_support.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* ArchiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

// Every Packages index of `arch` for the host's suites, from the live cache.
class CachedIndices {
public:
    explicit CachedIndices(const std::string& arch)
        : m_cache(live_cache_dir()), m_http({}, m_log, m_progress) {
        deb::ArchiveOptions options;
        options.keyrings = {ArchiveKeyring};
        options.offline = true;
        options.check_valid_until = deb::apt_checks_valid_until("/");
        deb::ArchiveClient archive(m_cache, m_http, m_log, options);
        auto suites = deb::plan_suite_sources({}, deb::read_apt_sources("/"), deb::host_codename("/"));
        for (const auto& source : suites)
            for (auto& index : archive.load_packages(archive.fetch_release(source), arch))
                m_indices.push_back(std::move(index));
    }

    std::optional<deb::PackageRecord> find(const std::string& name, const std::string& version,
                                           const std::string& arch) const {
        for (const auto& loaded : m_indices)
            for (auto id : loaded.index.find(name)) {
                auto record = loaded.index.record(id);
                if (record.version == version && record.architecture == arch) return record;
            }
        return std::nullopt;
    }

    // Some record named `name` for `arch` (the first found), for building test sets.
    std::optional<deb::PackageRecord> any(const std::string& name, const std::string& arch) const {
        for (const auto& loaded : m_indices)
            for (auto id : loaded.index.find(name))
                if (auto record = loaded.index.record(id); record.architecture == arch) return record;
        return std::nullopt;
    }

private:
    util::BlobCache m_cache;
    util::NullLog m_log;
    util::NullProgress m_progress;
    util::CurlHttpClient m_http;
    std::vector<deb::LoadedIndex> m_indices;
};

struct Installed {
    std::string name, version, arch;
    deb::PackageRecord record;
    std::size_t position = 0;  // in slate's install order
};

bool provides_match(const Installed& p, const deb::Relation& wanted, const std::string& arch) {
    for (const auto& group : deb::parse_relations(p.record.provides, arch, p.name + " Provides"))
        for (const auto& provided : group) {
            if (provided.name != wanted.name) continue;
            if (wanted.op == deb::VersionOp::Any) return true;
            // Only a versioned Provides satisfies a versioned relation (policy 7.5).
            if (provided.op == deb::VersionOp::Eq && deb::satisfies(provided.version, wanted.op, wanted.version))
                return true;
        }
    return false;
}

bool real_match(const Installed& p, const deb::Relation& wanted) {
    if (p.name != wanted.name) return false;
    // "name:any" is satisfied only by a Multi-Arch: allowed package.
    if (wanted.arch_qualifier == "any" && p.record.multi_arch != deb::MultiArch::Allowed) return false;
    return deb::satisfies(p.version, wanted.op, wanted.version);
}

// The installed packages that satisfy `wanted` (excluding `self` when given).
std::vector<const Installed*> satisfiers(const std::vector<Installed>& set, const deb::Relation& wanted,
                                         const std::string& arch, const Installed* self = nullptr) {
    std::vector<const Installed*> out;
    for (const auto& p : set)
        if (&p != self && (real_match(p, wanted) || provides_match(p, wanted, arch))) out.push_back(&p);
    return out;
}

// Every way `set` is not a valid installation for `arch`, one line each.
std::vector<std::string> consistency_problems(const std::vector<Installed>& set, const std::string& arch) {
    std::vector<std::string> problems;
    std::map<std::string, int> seen;
    for (const auto& p : set) {
        if (++seen[p.name] == 2) problems.push_back(fmt::format("{} appears more than once", p.name));
        if (p.arch != arch && p.arch != "all") problems.push_back(fmt::format("{} is for {}", p.name, p.arch));
    }
    for (const auto& p : set) {
        for (const auto& [field, text, ordered] : {std::tuple{"Pre-Depends", p.record.pre_depends, true},
                                                   std::tuple{"Depends", p.record.depends, false}})
            for (const auto& group : deb::parse_relations(text, arch, p.name + " " + field)) {
                std::vector<const Installed*> found;
                for (const auto& alternative : group)
                    for (const auto* s : satisfiers(set, alternative, arch)) found.push_back(s);
                std::string relation;
                for (const auto& alternative : group) relation += (relation.empty() ? "" : " | ") + alternative.to_string();
                if (found.empty()) {
                    problems.push_back(fmt::format("{} {}: {} is not satisfied", p.name, field, relation));
                } else if (ordered && std::none_of(found.begin(), found.end(), [&](const Installed* s) {
                               return s->position < p.position;
                           })) {
                    problems.push_back(fmt::format("{} Pre-Depends: {} is installed after it", p.name, relation));
                }
            }
        for (const auto& [field, text] : {std::pair{"Conflicts", p.record.conflicts}, std::pair{"Breaks", p.record.breaks}})
            for (const auto& group : deb::parse_relations(text, arch, p.name + " " + field))
                for (const auto& relation : group)
                    for (const auto* other : satisfiers(set, relation, arch, &p))
                        if (other->name != p.name)
                            problems.push_back(fmt::format("{} {}: {} but {} {} is installed", p.name, field,
                                                           relation.to_string(), other->name, other->version));
    }
    return problems;
}

// slate's JSON result as an installation, each entry joined with its record
// in `indices` (which must hold exactly the record the JSON describes).
std::vector<Installed> installed_from_json(const nlohmann::json& doc, const CachedIndices& indices) {
    std::vector<Installed> set;
    for (const auto& p : doc.at("packages")) {
        Installed item{p.at("name"), p.at("version"), p.at("arch"), {}, set.size()};
        auto record = indices.find(item.name, item.version, item.arch);
        EXPECT_TRUE(record) << item.name << " " << item.version << " " << item.arch
                            << " is not in the indices slate resolved from";
        if (!record) continue;
        item.record = *record;
        EXPECT_EQ(p.at("filename"), std::string(record->filename)) << item.name;
        EXPECT_EQ(p.at("sha256"), std::string(record->sha256)) << item.name;
        EXPECT_EQ(p.at("size"), record->size) << item.name;
        set.push_back(std::move(item));
    }
    return set;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += "  " + line + "\n";
    return text;
}

class ForeignArchArm64 : public ::testing::TestWithParam<std::string> {};

TEST_P(ForeignArchArm64, ResolvesASelfConsistentArm64Closure) {
    const std::string& package = GetParam();
    const std::string arch = "arm64";
    auto r = run_slate({"resolve", "--json", "--arch", arch, package});
    ASSERT_EQ(r.exit_code, 0) << "slate resolve --arch arm64 " << package << " failed:\n" << r.err;
    auto doc = nlohmann::json::parse(r.out);
    EXPECT_EQ(doc.at("arch"), arch);

    CachedIndices indices(arch);
    auto set = installed_from_json(doc, indices);
    ASSERT_EQ(set.size(), doc.at("packages").size());
    ASSERT_TRUE(std::any_of(set.begin(), set.end(), [&](const Installed& p) { return p.name == package; }))
        << package << " itself is not in the result";

    auto problems = consistency_problems(set, arch);
    EXPECT_TRUE(problems.empty()) << "slate resolve --arch arm64 " << package << " (" << set.size()
                                  << " packages) is not a consistent installation:\n"
                                  << joined(problems);
}

// The checker above must catch broken sets, or the arm64 tests prove nothing.
// Each case breaks slate's real arm64 closure of bash in one way.
TEST(LiveConsistencyCheck, RejectsBrokenArm64Sets) {
    const std::string arch = "arm64";
    auto r = run_slate({"resolve", "--json", "--arch", arch, "bash"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    CachedIndices indices(arch);
    const auto good = installed_from_json(nlohmann::json::parse(r.out), indices);
    ASSERT_TRUE(consistency_problems(good, arch).empty());
    auto contains = [](const std::vector<std::string>& problems, const std::string& text) {
        return std::any_of(problems.begin(), problems.end(),
                           [&](const std::string& p) { return p.find(text) != std::string::npos; });
    };
    auto renumbered = [](std::vector<Installed> set) {
        for (std::size_t i = 0; i < set.size(); ++i) set[i].position = i;
        return set;
    };

    auto without_libc = good;  // libc6 is a Pre-Depends of bash
    std::erase_if(without_libc, [](const Installed& p) { return p.name == "libc6"; });
    auto problems = consistency_problems(renumbered(without_libc), arch);
    EXPECT_TRUE(contains(problems, "bash Pre-Depends: libc6")) << joined(problems);

    auto bash_first = good;  // bash before the libraries it pre-depends on
    std::stable_partition(bash_first.begin(), bash_first.end(), [](const Installed& p) { return p.name == "bash"; });
    problems = consistency_problems(renumbered(bash_first), arch);
    EXPECT_TRUE(contains(problems, "is installed after it")) << joined(problems);

    auto twice = good;
    twice.push_back(twice.front());
    problems = consistency_problems(renumbered(twice), arch);
    EXPECT_TRUE(contains(problems, "appears more than once")) << joined(problems);

    auto foreign = good;  // an amd64 package in an arm64 set
    foreign.back().arch = "amd64";
    EXPECT_TRUE(contains(consistency_problems(foreign, arch), "is for amd64"));

    // busybox-static Conflicts: busybox.
    auto conflicting = good;
    for (const auto* name : {"busybox", "busybox-static"}) {
        auto record = indices.any(name, arch);
        ASSERT_TRUE(record) << name;
        conflicting.push_back({name, std::string(record->version), arch, *record, conflicting.size()});
    }
    problems = consistency_problems(conflicting, arch);
    EXPECT_TRUE(contains(problems, "busybox-static Conflicts: busybox")) << joined(problems);
}

INSTANTIATE_TEST_SUITE_P(Live, ForeignArchArm64, ::testing::Values("python3", "curl", "bash"), test_name);

// ---- the cache ------------------------------------------------------------------

TEST(LiveCache, WarmResolveFetchesNoIndexAndGivesTheSameAnswer) {
    auto first = run_slate({"resolve", "--json", "python3"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    auto warm = run_slate({"resolve", "--json", "python3"});
    ASSERT_EQ(warm.exit_code, 0) << warm.err;
    EXPECT_EQ(warm.out, first.out);
    // Index downloads are logged as "Fetching <index> ..."; a warm run has none.
    EXPECT_EQ(warm.err.find("Fetching"), std::string::npos) << warm.err;
}

TEST(LiveCache, OfflineResolveFromTheFilledCacheMatchesOnline) {
    auto online = run_slate({"resolve", "--json", "python3"});
    ASSERT_EQ(online.exit_code, 0) << online.err;
    auto offline = run_slate({"--offline", "resolve", "--json", "python3"});
    ASSERT_EQ(offline.exit_code, 0) << offline.err;
    EXPECT_EQ(offline.out, online.out);
}

TEST(LiveCache, OfflineWithAnEmptyCacheFailsWithAHint) {
    TempDir empty;
    auto r = util::run_process(
        {slate_binary().string(), "--cache-dir", empty.path().string(), "--offline", "resolve", "python3"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("not in the cache"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("without --offline"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace slate::test
