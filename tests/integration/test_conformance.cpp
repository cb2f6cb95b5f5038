// The sigstore-conformance verification suite, run the way its harness runs
// a client (CLI_PROTOCOL.md and README.md in the vectors): one test per case
// directory; "*_fail" cases must fail, the others pass. Then the
// verify-bundle command's own behaviour: digests, the trusted root's
// sources, usage errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* DefaultIdentity =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main";
constexpr const char* DefaultIssuer = "https://token.actions.githubusercontent.com";

fs::path suite() { return shared_vectors() / "sigstore-conformance"; }

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(suite(), ec))
        if (entry.is_directory()) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::string file_or(const fs::path& path, const std::string& fallback) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return fallback;
    std::string text = util::read_file(path);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

// The protocol's command line for one case directory.
std::vector<std::string> command_for(const fs::path& dir, const std::string& artifact_override = {}) {
    std::vector<std::string> argv = {slate_binary().string(), "verify-bundle", "--bundle",
                                     (dir / "bundle.sigstore.json").string()};
    std::error_code ec;
    if (fs::exists(dir / "key.pub", ec)) {
        argv.insert(argv.end(), {"--key", (dir / "key.pub").string()});
    } else {
        argv.insert(argv.end(), {"--certificate-identity", file_or(dir / "identity", DefaultIdentity),
                                 "--certificate-oidc-issuer", file_or(dir / "issuer", DefaultIssuer)});
    }
    fs::path root = fs::exists(dir / "trusted_root.json", ec) ? dir / "trusted_root.json" : suite() / "trusted_root.public_good.json";
    argv.insert(argv.end(), {"--trusted-root", root.string()});
    if (!artifact_override.empty()) {
        argv.push_back(artifact_override);
    } else {
        argv.push_back((fs::exists(dir / "artifact", ec) ? dir / "artifact" : suite() / "a.txt").string());
    }
    return argv;
}

class Conformance : public testing::TestWithParam<std::string> {};

TEST_P(Conformance, Verify) {
    const std::string name = GetParam();
    const fs::path dir = suite() / name;
    const bool must_fail = name.ends_with("_fail");
    auto r = util::run_process(command_for(dir));
    if (must_fail) {
        // A failed check exits 3; a bundle, key or root that cannot be read exits 1. Never a usage error or a crash.
        EXPECT_TRUE(r.exit_code == 3 || r.exit_code == 1) << "exit " << r.exit_code << "\n" << r.out << r.err;
        EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
        EXPECT_EQ(r.out.find("OK:"), std::string::npos) << r.out;
    } else {
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out.rfind("OK: ", 0), 0u) << r.out;
    }
}

std::string test_name(const testing::TestParamInfo<std::string>& info) {
    std::string name = info.param;
    std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(SigstoreConformance, Conformance, testing::ValuesIn(case_names()), test_name);

TEST(ConformanceSuite, IsPresent) {
    // The parameterised tests above are only as good as the directory listing.
    EXPECT_GE(case_names().size(), 70u);
}

// ------------------------------------------------------- the command itself

TEST(VerifyBundle, AcceptsTheArtifactsDigestInsteadOfTheFile) {
    const std::string digest = "sha256:" + util::sha256_hex(util::read_file(suite() / "a.txt"));
    auto r = util::run_process(command_for(suite() / "happy-path-v0.3", digest));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // Another digest is another artifact.
    const std::string other = "sha256:" + util::sha256_hex("not a.txt");
    r = util::run_process(command_for(suite() / "happy-path-v0.3", other));
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("message digest"), std::string::npos) << r.err;
}

TEST(VerifyBundle, TakesTheTrustedRootFromTheEnvironment) {
    auto argv = command_for(suite() / "happy-path-v0.1");
    auto at = std::find(argv.begin(), argv.end(), "--trusted-root");
    argv.erase(at, at + 2);
    util::ProcessOptions options;
    options.env = {{"SLATE_TRUSTED_ROOT", (suite() / "trusted_root.public_good.json").string()}};
    auto r = util::run_process(argv, options);
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(VerifyBundle, WithoutATrustedRootSaysWhereToGetOne) {
    auto argv = command_for(suite() / "happy-path-v0.1");
    auto at = std::find(argv.begin(), argv.end(), "--trusted-root");
    argv.erase(at, at + 2);
    util::ProcessOptions options;
    options.unset_env = {"SLATE_TRUSTED_ROOT"};
    auto r = util::run_process(argv, options);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--trusted-root"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("SLATE_TRUSTED_ROOT"), std::string::npos) << r.err;

    argv.insert(argv.begin() + 2, "--staging");
    r = util::run_process(argv, options);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("staging"), std::string::npos) << r.err;
}

TEST(VerifyBundle, KeyAndIdentityTogetherIsAUsageError) {
    auto argv = command_for(suite() / "managed-key-happy-path");
    argv.insert(argv.begin() + 2, {"--certificate-identity", DefaultIdentity});
    auto r = util::run_process(argv);
    EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(VerifyBundle, NeitherKeyNorIdentityIsAUsageError) {
    auto r = util::run_process({slate_binary().string(), "verify-bundle", "--bundle",
                                (suite() / "happy-path-v0.1" / "bundle.sigstore.json").string(), "--trusted-root",
                                (suite() / "trusted_root.public_good.json").string(), (suite() / "a.txt").string()});
    EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(VerifyBundle, AMissingBundleIsAnError) {
    auto argv = command_for(suite() / "happy-path-v0.1");
    argv[3] = (suite() / "no-such-bundle.json").string();
    auto r = util::run_process(argv);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("no-such-bundle.json"), std::string::npos) << r.err;
}

TEST(VerifyBundle, TheWrongIdentityOrIssuerFailsTheCheck) {
    auto argv = command_for(suite() / "happy-path-v0.2");
    auto identity = std::find(argv.begin(), argv.end(), "--certificate-identity") + 1;
    *identity = "https://github.com/someone/else/.github/workflows/release.yml@refs/heads/main";
    auto r = util::run_process(argv);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("identity"), std::string::npos) << r.err;

    argv = command_for(suite() / "happy-path-v0.2");
    *(std::find(argv.begin(), argv.end(), "--certificate-oidc-issuer") + 1) = "https://accounts.google.com";
    r = util::run_process(argv);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_NE(r.err.find("OIDC issuer"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace slate::test
