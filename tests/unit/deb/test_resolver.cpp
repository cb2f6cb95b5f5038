#include <gtest/gtest.h>

#include <deque>
#include <map>

#include "slate/deb/resolver.hpp"
#include "slate/error.hpp"

namespace slate::deb {
namespace {

// Builds Packages text: one stanza per entry, "Package: name\nVersion: ...".
std::string stanza(const std::string& name, const std::string& version, const std::string& extra = "",
                   const std::string& arch = "amd64") {
    return "Package: " + name + "\nVersion: " + version + "\nArchitecture: " + arch + "\n" + extra +
           "Filename: pool/main/" + name + "_" + version + ".deb\nSize: 100\nSHA256: "
           "aa00000000000000000000000000000000000000000000000000000000000000\n\n";
}

class ResolverTest : public ::testing::Test {
protected:
    void add_suite(const std::string& suite, const std::string& packages) {
        m_indices.push_back(LoadedIndex{suite, "main", "amd64", "http://mirror.invalid/debian",
                                        "main/binary-amd64/Packages", "", PackageIndex::parse(packages, suite)});
    }

    ResolveResult resolve(std::vector<std::string> packages, std::vector<std::string> exclude = {},
                          bool recommends = false) {
        std::vector<const LoadedIndex*> pointers;
        for (const auto& index : m_indices) pointers.push_back(&index);
        m_universe = std::make_unique<PackageUniverse>(pointers, "amd64");
        Resolver resolver(*m_universe, m_log);
        ResolveRequest request;
        request.packages = std::move(packages);
        request.exclude = std::move(exclude);
        request.recommends = recommends;
        return resolver.resolve(request);
    }

    static std::map<std::string, std::string> versions(const ResolveResult& result) {
        std::map<std::string, std::string> out;
        for (const auto& p : result.packages) out[p.name] = p.version;
        return out;
    }

    static std::size_t position(const ResolveResult& result, const std::string& name) {
        for (std::size_t i = 0; i < result.packages.size(); ++i)
            if (result.packages[i].name == name) return i;
        ADD_FAILURE() << name << " not in the result";
        return 0;
    }

    Error resolve_error(std::vector<std::string> packages, std::vector<std::string> exclude = {}) {
        try {
            resolve(std::move(packages), std::move(exclude));
        } catch (const Error& e) {
            return e;
        }
        ADD_FAILURE() << "expected resolution to fail";
        return Error(ErrorCode::Internal, "none");
    }

    std::deque<LoadedIndex> m_indices;
    std::unique_ptr<PackageUniverse> m_universe;
    util::NullLog m_log;
};

TEST_F(ResolverTest, ClosureInInstallOrderDependenciesFirst) {
    add_suite("stable", stanza("app", "1", "Depends: libfoo, data\n") + stanza("libfoo", "2", "Pre-Depends: libc6\n") +
                            stanza("libc6", "2.36") + stanza("data", "1", "", "all") + stanza("unrelated", "1"));
    auto r = resolve({"app"});
    EXPECT_EQ(versions(r), (std::map<std::string, std::string>{
                               {"app", "1"}, {"libfoo", "2"}, {"libc6", "2.36"}, {"data", "1"}}));
    EXPECT_LT(position(r, "libc6"), position(r, "libfoo"));
    EXPECT_LT(position(r, "libfoo"), position(r, "app"));
    EXPECT_LT(position(r, "data"), position(r, "app"));
    EXPECT_EQ(r.packages[position(r, "data")].arch, "all");
    EXPECT_EQ(r.packages[position(r, "libfoo")].required_by, "app");
}

TEST_F(ResolverTest, HighestVersionAcrossSuitesWinsSoSecurityUpdatesWin) {
    add_suite("bookworm", stanza("libc6", "2.36-9") + stanza("hello", "1.0-1", "Depends: libc6 (>= 2.34)\n"));
    add_suite("bookworm-security", stanza("libc6", "2.36-9+deb12u1"));
    auto r = resolve({"hello"});
    EXPECT_EQ(versions(r)["libc6"], "2.36-9+deb12u1");
    EXPECT_EQ(r.packages[position(r, "libc6")].suite, "bookworm-security");
}

TEST_F(ResolverTest, EpochBeatsHigherLookingVersion) {
    add_suite("a", stanza("epochpkg", "1:0.9-1"));
    add_suite("b", stanza("epochpkg", "1.0-1"));
    EXPECT_EQ(versions(resolve({"epochpkg"}))["epochpkg"], "1:0.9-1");
}

TEST_F(ResolverTest, RequestedVersionIsHonoured) {
    add_suite("a", stanza("tool", "1.0-1"));
    add_suite("b", stanza("tool", "2.0-1"));
    EXPECT_EQ(versions(resolve({"tool"}))["tool"], "2.0-1");
    EXPECT_EQ(versions(resolve({"tool=1.0-1"}))["tool"], "1.0-1");
    auto e = resolve_error({"tool=3.0"});
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(e.message().find("2.0-1"), std::string::npos) << e.message();
}

TEST_F(ResolverTest, FirstSatisfiableAlternative) {
    add_suite("s", stanza("mailer", "1", "Depends: default-mta | exim (>= 5) | postfix\n") + stanza("exim", "4") +
                       stanza("postfix", "3"));
    auto r = resolve({"mailer"});
    EXPECT_EQ(versions(r).count("postfix"), 1u);
    EXPECT_EQ(versions(r).count("exim"), 0u);
}

TEST_F(ResolverTest, AlreadySelectedAlternativeWins) {
    add_suite("s", stanza("app", "1", "Depends: b, a | b\n") + stanza("a", "1") + stanza("b", "1"));
    auto r = resolve({"app"});
    EXPECT_EQ(versions(r).count("a"), 0u);
    EXPECT_EQ(versions(r).count("b"), 1u);
}

TEST_F(ResolverTest, VirtualPackagesThroughProvides) {
    add_suite("s", stanza("mua", "1", "Depends: mail-transport-agent\n") +
                       stanza("postfix-lite", "1", "Provides: mail-transport-agent\nPriority: optional\n") +
                       stanza("exim-lite", "1", "Provides: mail-transport-agent\nPriority: standard\n") +
                       stanza("only", "1", "Provides: solo\n"));
    // Among providers, the more important priority wins (as apt prefers).
    auto r = resolve({"mua"});
    EXPECT_EQ(versions(r).count("exim-lite"), 1u);
    EXPECT_EQ(versions(r).count("postfix-lite"), 0u);
    // Asking for a virtual package with one provider selects it.
    EXPECT_EQ(versions(resolve({"solo"})).count("only"), 1u);
    // With several it is an error that lists them.
    auto e = resolve_error({"mail-transport-agent"});
    EXPECT_NE(e.message().find("exim-lite, postfix-lite"), std::string::npos) << e.message();
}

TEST_F(ResolverTest, VersionedProvides) {
    add_suite("s", stanza("python3-lite", "3.11.2-1", "Provides: python3-abi (= 3.11)\n") +
                       stanza("pyapp", "1", "Depends: python3-abi (>= 3.11)\n") +
                       stanza("oldpyapp", "1", "Depends: python3-abi (>= 3.12)\n") +
                       stanza("unversioned", "1", "Provides: thing\n") + stanza("wants-thing", "1", "Depends: thing (>= 1)\n"));
    EXPECT_EQ(versions(resolve({"pyapp"})).count("python3-lite"), 1u);
    auto e = resolve_error({"oldpyapp"});
    EXPECT_EQ(e.code(), ErrorCode::Unsatisfiable);
    EXPECT_NE(e.message().find("python3-abi (>= 3.12)"), std::string::npos) << e.message();
    EXPECT_NE(e.hint().find("python3-lite 3.11.2-1 (s) provides python3-abi but not"), std::string::npos) << e.hint();
    // An unversioned Provides never satisfies a versioned dependency.
    EXPECT_EQ(resolve_error({"wants-thing"}).code(), ErrorCode::Unsatisfiable);
}

TEST_F(ResolverTest, MultiArchQualifiers) {
    add_suite("s", stanza("perl-lite", "1", "Multi-Arch: allowed\n") + stanza("tool-any", "1", "Depends: perl-lite:any\n") +
                       stanza("plain", "1") + stanza("wants-plain-any", "1", "Depends: plain:any\n") +
                       stanza("cross", "1", "Depends: libc6:amd64\n") + stanza("libc6", "2.36", "Multi-Arch: same\n") +
                       stanza("cross-arm", "1", "Depends: libc6:arm64\n"));
    EXPECT_EQ(versions(resolve({"tool-any"})).count("perl-lite"), 1u);
    // ":any" needs Multi-Arch: allowed (or foreign).
    EXPECT_EQ(resolve_error({"wants-plain-any"}).code(), ErrorCode::Unsatisfiable);
    EXPECT_EQ(versions(resolve({"cross"})).count("libc6"), 1u);
    EXPECT_EQ(resolve_error({"cross-arm"}).code(), ErrorCode::Unsatisfiable);
    EXPECT_EQ(versions(resolve({"plain:amd64"})).count("plain"), 1u);
    EXPECT_EQ(resolve_error({"plain:arm64"}).code(), ErrorCode::Usage);
}

TEST_F(ResolverTest, ConflictsAndBreaksAreReported) {
    add_suite("s", stanza("conflict-a", "1", "Conflicts: conflict-b\n") + stanza("conflict-b", "1") +
                       stanza("wants-both", "1", "Depends: conflict-a, conflict-b\n") +
                       stanza("libfoo1", "1.2") + stanza("breaker", "1", "Breaks: libfoo1 (<< 2.0)\n") +
                       stanza("wants-breaker", "1", "Depends: breaker, libfoo1\n") +
                       stanza("newbreaker", "1", "Breaks: libfoo1 (<< 1.0)\n"));
    auto e = resolve_error({"wants-both"});
    EXPECT_EQ(e.code(), ErrorCode::Unsatisfiable);
    EXPECT_NE(e.message().find("conflict-a 1 conflicts with conflict-b"), std::string::npos) << e.message();
    auto b = resolve_error({"wants-breaker"});
    EXPECT_NE(b.message().find("breaker 1 breaks libfoo1"), std::string::npos) << b.message();
    // A Breaks whose version range does not match is no problem.
    EXPECT_EQ(resolve({"newbreaker", "libfoo1"}).packages.size(), 2u);
}

TEST_F(ResolverTest, AlternativeThatConflictsIsSkipped) {
    add_suite("s", stanza("app", "1", "Depends: base, impl-a | impl-b\n") + stanza("base", "1", "Conflicts: impl-a\n") +
                       stanza("impl-a", "1") + stanza("impl-b", "1"));
    auto r = resolve({"app"});
    EXPECT_EQ(versions(r).count("impl-a"), 0u);
    EXPECT_EQ(versions(r).count("impl-b"), 1u);
}

TEST_F(ResolverTest, RecommendsOnlyWhenAsked) {
    add_suite("s", stanza("rec", "1", "Recommends: rec-extra, missing-extra\nSuggests: sug-extra\n") +
                       stanza("rec-extra", "1") + stanza("sug-extra", "1"));
    EXPECT_EQ(resolve({"rec"}).packages.size(), 1u);
    auto with = resolve({"rec"}, {}, true);
    EXPECT_EQ(versions(with).count("rec-extra"), 1u);
    EXPECT_EQ(versions(with).count("sug-extra"), 0u);
}

TEST_F(ResolverTest, EssentialPackagesAreNotAddedUnlessNeeded) {
    add_suite("s", stanza("dpkg-lite", "1", "Essential: yes\n") + stanza("hello", "1") +
                       stanza("needs-dpkg", "1", "Depends: dpkg-lite, hello\n"));
    EXPECT_EQ(versions(resolve({"hello"})).size(), 1u);
    EXPECT_EQ(versions(resolve({"needs-dpkg"})).count("dpkg-lite"), 1u);
}

TEST_F(ResolverTest, ExcludeLeavesDependencyUnsatisfiedAndSaysSo) {
    add_suite("s", stanza("dpkg-lite", "1", "Essential: yes\n") + stanza("hello", "1") +
                       stanza("needs-dpkg", "1", "Depends: dpkg-lite (>= 1), hello\n"));
    auto r = resolve({"needs-dpkg"}, {"dpkg-lite"});
    EXPECT_EQ(versions(r).count("dpkg-lite"), 0u);
    EXPECT_EQ(versions(r).count("hello"), 1u);
    ASSERT_EQ(r.excluded.size(), 1u);
    EXPECT_EQ(r.excluded[0].package, "needs-dpkg");
    EXPECT_EQ(r.excluded[0].dependency, "dpkg-lite (>= 1)");
    EXPECT_EQ(r.excluded[0].excluded, "dpkg-lite");
    EXPECT_EQ(resolve_error({"dpkg-lite"}, {"dpkg-lite"}).code(), ErrorCode::Config);
}

TEST_F(ResolverTest, ExcludedChoiceIsNotReplacedByAnotherAlternative) {
    add_suite("s", stanza("base", "1", "Pre-Depends: mawk | awk\n") + stanza("mawk", "1", "Provides: awk\n") +
                       stanza("gawk", "1", "Provides: awk\n"));
    auto r = resolve({"base"}, {"mawk"});
    EXPECT_EQ(versions(r), (std::map<std::string, std::string>{{"base", "1"}}));
    ASSERT_EQ(r.excluded.size(), 1u);
    EXPECT_EQ(r.excluded[0].dependency, "mawk | awk");
    EXPECT_EQ(r.excluded[0].excluded, "mawk");
}

TEST_F(ResolverTest, UnknownPackageSuggestsNames) {
    add_suite("s", stanza("python3", "3.11") + stanza("python3-minimal", "3.11") + stanza("perl", "5"));
    auto e = resolve_error({"pyhton3"});
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(e.message().find("unknown package pyhton3"), std::string::npos) << e.message();
    EXPECT_NE(e.hint().find("did you mean python3"), std::string::npos) << e.hint();
}

TEST_F(ResolverTest, UnsatisfiableShowsTheChainAndCandidates) {
    add_suite("s", stanza("chain-a", "1", "Depends: chain-b\n") + stanza("chain-b", "1", "Depends: chain-c (>= 5.0)\n") +
                       stanza("chain-c", "1.0-1") + stanza("broken", "1", "Depends: libdoesnotexist\n"));
    auto e = resolve_error({"chain-a"});
    EXPECT_EQ(e.code(), ErrorCode::Unsatisfiable);
    EXPECT_NE(e.message().find("cannot satisfy chain-c (>= 5.0), a dependency of chain-b 1, required by chain-a 1 (requested)"),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.hint().find("chain-c 1.0-1 (s): does not satisfy chain-c (>= 5.0)"), std::string::npos) << e.hint();
    auto missing = resolve_error({"broken"});
    EXPECT_NE(missing.message().find("libdoesnotexist"), std::string::npos);
    EXPECT_NE(missing.hint().find("no package of that name"), std::string::npos) << missing.hint();
}

TEST_F(ResolverTest, DeterministicAcrossRuns) {
    add_suite("s", stanza("app", "1", "Depends: x, y | z, w\n") + stanza("x", "1", "Depends: w\n") + stanza("y", "1") +
                       stanza("z", "1") + stanza("w", "1", "Depends: x\n"));  // a cycle x <-> w
    auto first = resolve({"app"});
    for (int i = 0; i < 5; ++i) {
        auto again = resolve({"app"});
        ASSERT_EQ(again.packages.size(), first.packages.size());
        for (std::size_t j = 0; j < first.packages.size(); ++j) EXPECT_EQ(again.packages[j].name, first.packages[j].name);
    }
    EXPECT_EQ(first.packages.back().name, "app");
}

}  // namespace
}  // namespace slate::deb
