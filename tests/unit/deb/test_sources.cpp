#include <gtest/gtest.h>

#include "slate/deb/sources.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "support/paths.hpp"

namespace slate::deb {
namespace {

// What a Debian 12 host's debian.sources says (the URIs are placeholders).
std::vector<AptSource> bookworm_host() {
    AptSource main;
    main.types = {"deb"};
    main.uris = {"http://mirror.invalid/debian/"};
    main.suites = {"bookworm", "bookworm-updates"};
    main.components = {"main"};
    AptSource security;
    security.types = {"deb"};
    security.uris = {"http://mirror.invalid/debian-security"};
    security.suites = {"bookworm-security"};
    security.components = {"main"};
    AptSource third_party;  // e.g. a vendor repository: not part of the Debian release
    third_party.types = {"deb"};
    third_party.uris = {"https://vendor.invalid/apt"};
    third_party.suites = {"nodistro"};
    third_party.components = {"main"};
    AptSource disabled = main;
    disabled.enabled = false;
    disabled.suites = {"bookworm-backports"};
    return {main, security, third_party, disabled};
}

TEST(PlanSuiteSources, DefaultsComeFromTheHostsAptSources) {
    auto suites = plan_suite_sources({}, bookworm_host(), "bookworm");
    ASSERT_EQ(suites.size(), 3u);
    EXPECT_EQ(suites[0].suite, "bookworm");
    EXPECT_EQ(suites[0].mirror, "http://mirror.invalid/debian");
    EXPECT_EQ(suites[1].suite, "bookworm-updates");
    EXPECT_EQ(suites[2].suite, "bookworm-security");
    EXPECT_EQ(suites[2].mirror, "http://mirror.invalid/debian-security");
    EXPECT_EQ(suites[2].components, (std::vector<std::string>{"main"}));
}

TEST(PlanSuiteSources, ExplicitMirrorWinsAndSecurityLivesBesideIt) {
    SourceSettings settings;
    settings.mirror = "http://local.invalid/debian/";
    settings.suites = {"bookworm", "bookworm-security"};
    auto suites = plan_suite_sources(settings, {}, "bookworm");
    ASSERT_EQ(suites.size(), 2u);
    EXPECT_EQ(suites[0].mirror, "http://local.invalid/debian");
    EXPECT_EQ(suites[1].mirror, "http://local.invalid/debian-security");
    settings.security_mirror = "http://sec.invalid/ds";
    EXPECT_EQ(plan_suite_sources(settings, {}, "bookworm")[1].mirror, "http://sec.invalid/ds");
}

TEST(PlanSuiteSources, ErrorsSayWhatToSet) {
    try {
        plan_suite_sources({}, {}, "bookworm");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Config);
        EXPECT_NE(e.hint().find("--suite"), std::string::npos);
    }
    SourceSettings unknown;
    unknown.suites = {"trixie"};
    try {
        plan_suite_sources(unknown, bookworm_host(), "bookworm");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(e.message().find("no mirror for suite trixie"), std::string::npos);
        EXPECT_NE(e.hint().find("--mirror"), std::string::npos);
    }
    SourceSettings bad;
    bad.mirror = "ftp.invalid/debian";
    bad.suites = {"bookworm"};
    EXPECT_THROW(plan_suite_sources(bad, {}, "bookworm"), Error);
}

TEST(HostCodename, ReadsOsRelease) {
    test::TempDir root;
    util::write_file_atomic(root.path() / "etc/os-release",
                            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\n"
                            "VERSION_CODENAME=bookworm\nID=debian\n");
    EXPECT_EQ(host_codename(root.path()), "bookworm");
    util::write_file_atomic(root.path() / "etc/os-release", "VERSION=\"11 (bullseye)\"\n");
    EXPECT_EQ(host_codename(root.path()), "bullseye");
    test::TempDir empty;
    EXPECT_EQ(host_codename(empty.path()), "");
}

}  // namespace
}  // namespace slate::deb
