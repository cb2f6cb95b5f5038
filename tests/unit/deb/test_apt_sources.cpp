#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "slate/deb/apt_sources.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/expect.hpp"
#include "support/paths.hpp"

namespace slate::deb {
namespace {

using test::error_from;
namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

// A fake root with an etc/apt tree.
class AptRoot {
public:
    void write(const std::string& relative, const std::string& text) {
        util::write_file_atomic(m_dir.path() / "etc/apt" / relative, text);
    }
    const fs::path& path() const { return m_dir.path(); }
    std::string file(const std::string& relative) const { return (m_dir.path() / "etc/apt" / relative).string(); }

private:
    test::TempDir m_dir;
};

TEST(ReadAptSources, NoAptDirectoryMeansNoSources) {
    test::TempDir root;
    EXPECT_TRUE(read_apt_sources(root.path()).empty());
    EXPECT_TRUE(apt_checks_valid_until(root.path()));
}

TEST(ReadAptSources, OneLineFormat) {
    AptRoot root;
    root.write("sources.list",
               "# the main archive\n"
               "\n"
               "deb http://mirror.invalid/debian bookworm main contrib non-free-firmware # trailing comment\n"
               "deb-src http://mirror.invalid/debian bookworm main\n"
               "  deb [ arch=amd64,arm64 signed-by=/usr/share/keyrings/a.gpg trusted=no ] http://sec.invalid/debian-security bookworm-security main\n"
               "deb [arch=amd64] file:/srv/repo ./\n"
               "#deb http://old.invalid/debian buster main\n");
    auto sources = read_apt_sources(root.path());
    ASSERT_EQ(sources.size(), 4u);
    EXPECT_EQ(sources[0].types, Strings{"deb"});
    EXPECT_EQ(sources[0].uris, Strings{"http://mirror.invalid/debian"});
    EXPECT_EQ(sources[0].suites, Strings{"bookworm"});
    EXPECT_EQ(sources[0].components, (Strings{"main", "contrib", "non-free-firmware"}));
    EXPECT_TRUE(sources[0].architectures.empty());
    EXPECT_TRUE(sources[0].signed_by.empty());
    EXPECT_TRUE(sources[0].enabled);
    EXPECT_EQ(sources[0].origin_file, root.file("sources.list"));
    EXPECT_EQ(sources[1].types, Strings{"deb-src"});
    EXPECT_EQ(sources[2].architectures, (Strings{"amd64", "arm64"}));
    EXPECT_EQ(sources[2].signed_by, Strings{"/usr/share/keyrings/a.gpg"});
    EXPECT_EQ(sources[2].suites, Strings{"bookworm-security"});
    EXPECT_EQ(sources[3].suites, Strings{"./"});
    EXPECT_TRUE(sources[3].components.empty());
}

TEST(ReadAptSources, Deb822Format) {
    AptRoot root;
    root.write("sources.list.d/debian.sources",
               "# leading comment\n"
               "Types: deb deb-src\n"
               "# a comment inside the stanza\n"
               "URIs: http://mirror.invalid/debian\n"
               "Suites: bookworm bookworm-updates\n"
               "Components: main contrib\n"
               "Architectures: amd64 arm64\n"
               "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
               "\n"
               "\n"
               "types: deb\n"
               "uris: http://sec.invalid/debian-security\n"
               "suites: bookworm-security\n"
               "components: main\n"
               "enabled: no\n");
    auto sources = read_apt_sources(root.path());
    ASSERT_EQ(sources.size(), 2u);
    EXPECT_EQ(sources[0].types, (Strings{"deb", "deb-src"}));
    EXPECT_EQ(sources[0].uris, Strings{"http://mirror.invalid/debian"});
    EXPECT_EQ(sources[0].suites, (Strings{"bookworm", "bookworm-updates"}));
    EXPECT_EQ(sources[0].components, (Strings{"main", "contrib"}));
    EXPECT_EQ(sources[0].architectures, (Strings{"amd64", "arm64"}));
    EXPECT_EQ(sources[0].signed_by, Strings{"/usr/share/keyrings/debian-archive-keyring.gpg"});
    EXPECT_TRUE(sources[0].enabled);
    EXPECT_EQ(sources[0].origin_file, root.file("sources.list.d/debian.sources"));
    EXPECT_EQ(sources[1].uris, Strings{"http://sec.invalid/debian-security"});
    EXPECT_FALSE(sources[1].enabled);
}

TEST(ReadAptSources, CommentLinesInsideMultiLineValuesAreDropped) {
    AptRoot root;
    root.write("sources.list.d/multi.sources",
               "Types: deb\n"
               "URIs: http://a.invalid/debian\n"
               "# http://commented.invalid/debian\n"
               " http://b.invalid/debian\n"
               "Suites: stable\n"
               "Components: main\n");
    auto sources = read_apt_sources(root.path());
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources[0].uris, (Strings{"http://a.invalid/debian", "http://b.invalid/debian"}));
}

TEST(ReadAptSources, InlineSignedByKeyIsKeptWhole) {
    AptRoot root;
    root.write("sources.list.d/inline.sources",
               "Types: deb\n"
               "URIs: http://a.invalid/debian\n"
               "Suites: stable\n"
               "Components: main\n"
               "Signed-By:\n"
               " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
               " .\n"
               " mDMEZVAAABYJKwYBBAHaRw8BAQdA\n"
               " -----END PGP PUBLIC KEY BLOCK-----\n");
    auto sources = read_apt_sources(root.path());
    ASSERT_EQ(sources.size(), 1u);
    EXPECT_EQ(sources[0].signed_by, Strings{"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZVAAABYJKwYBBAHaRw8BAQdA\n"
                                            "-----END PGP PUBLIC KEY BLOCK-----\n"});
}

TEST(ReadAptSources, FilesAreReadInAptsOrderAndOthersIgnored) {
    AptRoot root;
    const std::string entry = " http://x.invalid/debian stable main\n";
    root.write("sources.list", "deb" + entry);
    root.write("sources.list.d/b.list", "deb" + entry);
    root.write("sources.list.d/a.sources", "Types: deb\nURIs: http://x.invalid/debian\nSuites: stable\nComponents: main\n");
    root.write("sources.list.d/c.list", "deb" + entry);
    // apt ignores all of these:
    for (const auto* ignored : {"google-cloud-sdk.list.disabled-by-farm", "d.list.save", "e.sources.bak", "bad name.list",
                                ".hidden.list", "f.list~", "README"})
        root.write(std::string("sources.list.d/") + ignored, "this is not a sources file\n");
    fs::create_directories(root.path() / "etc/apt/sources.list.d/dir.list");

    Strings files;
    for (const auto& source : read_apt_sources(root.path())) files.push_back(fs::path(source.origin_file).filename());
    EXPECT_EQ(files, (Strings{"sources.list", "a.sources", "b.list", "c.list"}));
}

TEST(ReadAptSources, MalformedEntriesNameFileAndLine) {
    struct Case {
        std::string file, text, where;
    };
    const std::vector<Case> cases = {
        {"sources.list", "# ok\n\ndeb http://x.invalid/debian\n", "sources.list:3"},
        {"sources.list", "deb http://x.invalid/debian stable\n", "sources.list:1"},  // no component
        {"sources.list", "rpm http://x.invalid/debian stable main\n", "sources.list:1"},
        {"sources.list", "deb [arch=amd64 http://x.invalid/debian stable main\n", "sources.list:1"},
        {"sources.list", "deb [arch] http://x.invalid/debian stable main\n", "sources.list:1"},
        {"sources.list.d/x.list", "\n\ndeb http://x.invalid/debian ./ main\n", "x.list:3"},
        {"sources.list.d/y.sources",
         "Types: deb\nURIs: http://x.invalid/debian\nSuites: stable\nComponents: main\n\n"
         "Types: deb\nSuites: stable\nComponents: main\n",
         "y.sources:6"},  // the second stanza has no URIs
        {"sources.list.d/z.sources", "Types: deb\nURIs: http://x.invalid/debian\nSuites: stable\n", "z.sources:1"},
        {"sources.list.d/w.sources",
         "Types: deb\nURIs: http://x.invalid/debian\nSuites: stable\nComponents: main\nEnabled: maybe\n", "w.sources:1"},
        {"sources.list.d/v.sources", "Types: deb\nthis line is not a field\n", "v.sources:2"},
    };
    for (const auto& c : cases) {
        AptRoot root;
        root.write(c.file, c.text);
        auto error = error_from([&] { read_apt_sources(root.path()); });
        EXPECT_EQ(error.code(), ErrorCode::Parse) << c.text;
        EXPECT_NE(error.message().find(c.where), std::string::npos) << "expected " << c.where << " in: " << error.message();
    }
}

// apt itself is the reference: the (URI, suite, component) triples of enabled
// deb entries must be exactly those apt would fetch Packages files for.
TEST(ReadAptSources, AgreesWithApt) {
    if (!util::find_program("apt-get")) GTEST_SKIP() << "apt-get is not installed";
    AptRoot root;
    root.write("sources.list",
               "deb [arch=amd64] http://a.invalid/debian stable main contrib # comment\n"
               "deb-src http://a.invalid/debian stable main\n");
    root.write("sources.list.d/b.sources",
               "Types: deb\nURIs: http://b.invalid/debian\n# comment\nSuites: x y\nComponents: main non-free\n\n"
               "Types: deb\nEnabled: no\nURIs: http://c.invalid/debian\nSuites: z\nComponents: main\n");
    root.write("sources.list.d/d.list.disabled", "deb http://d.invalid/debian stable main\n");
    root.write("sources.list.d/e.list", "deb http://e.invalid/debian/ sid main\n");

    std::set<std::tuple<std::string, std::string, std::string>> ours, apts;
    for (const auto& source : read_apt_sources(root.path())) {
        if (!source.enabled || std::find(source.types.begin(), source.types.end(), "deb") == source.types.end()) continue;
        for (auto uri : source.uris) {
            if (!uri.ends_with('/')) uri += '/';
            for (const auto& suite : source.suites)
                for (const auto& component : source.components) ours.emplace(uri, suite, component);
        }
    }
    auto result = util::run_process({"apt-get", "indextargets", "-o", "Dir=" + root.path().string(),
                                     "-o", "Dir::Etc::parts=/nonexistent", "--no-release-info", "--format",
                                     "$(REPO_URI) $(RELEASE) $(COMPONENT)", "Identifier: Packages"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::istringstream lines(result.out);
    std::string uri, suite, component;
    while (lines >> uri >> suite >> component) apts.emplace(uri, suite, component);
    EXPECT_EQ(ours.size(), 7u);
    EXPECT_EQ(ours, apts);
}

TEST(ReadAptSources, HostConfigurationIsReadable) {
    // Host-specific content is not asserted; reading it must simply work.
    EXPECT_NO_THROW(read_apt_sources("/"));
    EXPECT_NO_THROW(apt_checks_valid_until("/"));
}

TEST(AptChecksValidUntil, SettingsInAptConfD) {
    struct Case {
        std::string text;
        bool expected;
    };
    const std::vector<Case> cases = {
        {"Acquire::Check-Valid-Until \"false\";\n", false},
        {"Acquire::Check-Date \"false\";\nAPT::Get::Assume-Yes \"true\";\n", true},
        {"acquire::check-valid-until \"0\";\n", false},
        {"Acquire::Check-Valid-Until false;\n", false},
        {"Acquire { Check-Valid-Until \"no\"; };\n", false},
        {"Acquire {\n  http { Proxy \"none\"; };\n  Check-Valid-Until \"off\";\n}\n", false},
        {"Acquire::Check-Valid-Until \"true\";\n", true},
        {"// Acquire::Check-Valid-Until \"false\";\n", true},
        {"# Acquire::Check-Valid-Until \"false\";\n", true},
        {"/* Acquire::Check-Valid-Until \"false\";\n */\n", true},
        {"Acquire::Check-Valid-Until \"false\"; // why not\n#clear Acquire::Check-Valid-Until;\n", true},
        {"DPkg::Post-Invoke { \"rm -f /x || true\"; };\nAcquire::Check-Valid-Until \"false\";\n", false},
        {"Acquire::http::Check-Valid-Until \"false\";\n", true},
    };
    for (const auto& c : cases) {
        AptRoot root;
        root.write("apt.conf.d/99test", c.text);
        EXPECT_EQ(apt_checks_valid_until(root.path()), c.expected) << c.text;
    }
}

TEST(AptChecksValidUntil, FileOrderAndNamesFollowApt) {
    AptRoot root;
    root.write("apt.conf.d/10off", "Acquire::Check-Valid-Until \"false\";\n");
    EXPECT_FALSE(apt_checks_valid_until(root.path()));
    root.write("apt.conf.d/20on.conf", "Acquire::Check-Valid-Until \"true\";\n");
    EXPECT_TRUE(apt_checks_valid_until(root.path())) << "a later file wins";
    root.write("apt.conf.d/30off.disabled", "Acquire::Check-Valid-Until \"false\";\n");
    EXPECT_TRUE(apt_checks_valid_until(root.path())) << "other extensions are ignored";
    root.write("apt.conf", "Acquire::Check-Valid-Until \"false\";\n");
    EXPECT_FALSE(apt_checks_valid_until(root.path())) << "apt.conf is read after apt.conf.d";
}

TEST(AptChecksValidUntil, MalformedConfigurationNamesFileAndLine) {
    for (const std::string text : {"Acquire::Check-Valid-Until \"false\"\n", "Acquire {\n  Check-Valid-Until \"no\";\n",
                                   "\n};\n", "Acquire::Check-Valid-Until \"false\n"}) {
        AptRoot root;
        root.write("apt.conf.d/50bad", text);
        auto error = error_from([&] { apt_checks_valid_until(root.path()); });
        EXPECT_EQ(error.code(), ErrorCode::Parse) << text;
        EXPECT_NE(error.message().find("50bad:"), std::string::npos) << error.message();
    }
}

}  // namespace
}  // namespace slate::deb
