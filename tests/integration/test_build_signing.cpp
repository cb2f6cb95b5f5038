// `slate build --key`: the built layout is signed (the index and every
// platform manifest) and carries SLSA provenance naming exactly the lock's
// .debs and suites, each platform's SPDX SBOM and, with a database, the scan;
// all of it verifies with the public key through `slate verify`.
#include <set>

#include <nlohmann/json.hpp>

#include "integration/build_test.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* Password = "correct horse";

class BuildSigning : public BuildCommand {
protected:
    void SetUp() override {
        BuildCommand::SetUp();
        auto made = slate({"keygen", "--output-prefix", (m_work.path() / "k").string()});
        ASSERT_EQ(made.exit_code, 0) << made.err;
    }

    util::ProcessResult slate(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {}) const {
        std::vector<std::string> argv{slate_binary().string(), "--cache-dir", cache().string()};
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.env = {{"SLATE_PASSWORD", Password}, {"SLATE_APT_ROOT", m_apt_root.path().string()}};
        options.env.insert(options.env.end(), env.begin(), env.end());
        options.cwd = m_work.path();
        options.timeout = std::chrono::seconds(300);
        return util::run_process(argv, options);
    }

    std::string key() const { return (m_work.path() / "k.key").string(); }
    std::string pub() const { return (m_work.path() / "k.pub").string(); }

    // The predicate of the verified attestation of `type` on `image`.
    Json predicate(const std::string& image, const std::string& type) const {
        auto verified = slate({"verify", image, "--key", pub(), "--attestation", type, "--print-predicate"});
        EXPECT_EQ(verified.exit_code, 0) << verified.err;
        return verified.exit_code == 0 ? Json::parse(verified.out) : Json();
    }
};

TEST_F(BuildSigning, TheLayoutIsSignedWithProvenanceAndSboms) {
    auto spec = write_spec("app");
    auto lock_path = m_work.path() / "app.lock.json";
    ASSERT_EQ(slate({"lock", spec.string()}).exit_code, 0);
    const auto lock = Json::parse(util::read_file(lock_path));
    auto out = m_work.path() / "out";
    auto built = build({spec.string(), "--lock", lock_path.string(), "-o", out.string(), "--key", key(), "--json"},
                       {{"SLATE_PASSWORD", Password}});
    ASSERT_EQ(built.exit_code, 0) << built.err;

    // The index and both platform manifests are signed.
    for (const std::string& image : {"oci:" + out.string(), "oci:" + out.string() + ":amd64", "oci:" + out.string() + ":arm64"}) {
        auto verified = slate({"verify", image, "--key", pub()});
        EXPECT_EQ(verified.exit_code, 0) << image << "\n" << verified.err;
    }

    // Provenance: the spec byte for byte, every .deb of both architectures and
    // every suite's InRelease, with their SHA-256.
    Json provenance = predicate("oci:" + out.string(), "slsaprovenance1");
    ASSERT_TRUE(provenance.is_object());
    const Json& definition = provenance.at("buildDefinition");
    EXPECT_EQ(definition.at("buildType"), "https://slate.dev/build/image/v1");
    EXPECT_EQ(definition.at("externalParameters").at("spec").at("content"), util::read_file(spec));
    EXPECT_EQ(definition.at("externalParameters").at("spec").at("digest").at("sha256"), util::sha256_file_hex(spec));
    EXPECT_EQ(definition.at("externalParameters").at("lock").at("digest").at("sha256"),
              util::sha256_file_hex(lock_path));
    std::set<std::string> expected, listed;
    for (const auto& suite : lock.at("suites")) expected.insert(suite.at("inrelease-sha256").get<std::string>());
    for (const char* arch : {"amd64", "arm64"})
        for (const auto& package : lock.at("archs").at(arch).at("packages"))
            expected.insert(package.at("sha256").get<std::string>());
    for (const auto& dependency : definition.at("resolvedDependencies")) {
        listed.insert(dependency.at("digest").at("sha256").get<std::string>());
        EXPECT_TRUE(dependency.at("uri").get<std::string>().starts_with("http")) << dependency.dump();
    }
    EXPECT_EQ(listed, expected);
    const Json& run = provenance.at("runDetails");
    EXPECT_EQ(run.at("builder").at("id"), "urn:slate:builder:local");
    EXPECT_EQ(run.at("metadata").at("invocationId").get<std::string>().size(), 36u);
    EXPECT_LE(run.at("metadata").at("startedOn").get<std::string>(), run.at("metadata").at("finishedOn").get<std::string>());

    // Each platform manifest carries its own SBOM, the one written beside the image.
    for (auto [arch, platform] : {std::pair{"amd64", "linux-amd64"}, std::pair{"arm64", "linux-arm64-v8"}}) {
        Json sbom = predicate("oci:" + out.string() + ":" + arch, "spdx");
        EXPECT_EQ(sbom, Json::parse(util::read_file(m_work.path() / ("out." + std::string(platform) + ".spdx.json"))))
            << arch;
    }
    // No database was configured: no scan attestation.
    auto scan = slate({"verify", "oci:" + out.string() + ":amd64", "--key", pub(), "--attestation", "vuln"});
    EXPECT_EQ(scan.exit_code, 3) << scan.err;
}

TEST_F(BuildSigning, WithADatabaseEachPlatformCarriesItsScan) {
    auto db = m_work.path() / "vuln.db";
    auto imported = slate({"db", "import", "--db", db.string(),
                           (source_dir() / "tests/unit/vuln/data/tracker.json").string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    auto spec = write_spec("app");
    auto out = m_work.path() / "out";
    auto built = build({spec.string(), "-o", out.string(), "--arch", "amd64", "--key", key(), "--db", db.string()},
                       {{"SLATE_PASSWORD", Password}});
    ASSERT_EQ(built.exit_code, 0) << built.err;
    // One architecture: the manifest is the image; it has the scan and the SBOM.
    Json scan = predicate("oci:" + out.string(), "vuln");
    ASSERT_TRUE(scan.is_object());
    EXPECT_EQ(scan.at("scanner").at("db").at("uri"), db.string());
    EXPECT_TRUE(scan.at("scanner").at("result").at("summary").contains("matches"));
    EXPECT_EQ(scan.at("scanner").at("result").at("target").at("digest").get<std::string>().substr(0, 7), "sha256:");
    EXPECT_TRUE(predicate("oci:" + out.string(), "spdx").contains("packages"));
}

TEST_F(BuildSigning, AWrongPasswordFailsBeforeBuilding) {
    auto spec = write_spec("app");
    auto out = m_work.path() / "out";
    auto built = build({spec.string(), "-o", out.string(), "--key", key()}, {{"SLATE_PASSWORD", "wrong"}});
    EXPECT_EQ(built.exit_code, 1);
    EXPECT_NE(built.err.find("wrong password"), std::string::npos) << built.err;
    expect_nothing_written(out);
}

TEST_F(BuildSigning, AMissingDatabaseFailsBeforeBuilding) {
    auto spec = write_spec("app");
    auto out = m_work.path() / "out";
    auto built = build({spec.string(), "-o", out.string(), "--key", key(), "--db", (m_work.path() / "none.db").string()},
                       {{"SLATE_PASSWORD", Password}});
    EXPECT_EQ(built.exit_code, 1);
    EXPECT_NE(built.err.find("none.db"), std::string::npos) << built.err;
    expect_nothing_written(out);
}

TEST_F(BuildSigning, SigningOptionsNeedAKey) {
    auto spec = write_spec("app");
    auto built = build({spec.string(), "-o", (m_work.path() / "out").string(), "--tlog", "http://127.0.0.1:1"});
    EXPECT_EQ(built.exit_code, 2);
    EXPECT_NE(built.err.find("--key"), std::string::npos) << built.err;
}

}  // namespace
}  // namespace slate::test
