#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "slate/build/provenance.hpp"
#include "slate/error.hpp"

namespace slate::build {
namespace {

constexpr std::string_view SpecText = "name: demo\ncontents:\n  packages: [libc6]\n";
const std::string Hex1(64, 'a'), Hex2(64, 'b'), Hex3(64, 'c'), Hex4(64, 'd');

deb::ResolvedPackage package(std::string name, std::string arch, std::string sha256) {
    deb::ResolvedPackage p;
    p.name = name;
    p.version = "1.0-1";
    p.arch = arch;
    p.source = name + "-src";
    p.source_version = "1.0-1";
    p.suite = "bookworm";
    p.mirror = "http://mirror.invalid/debian";
    p.filename = "pool/main/" + name.substr(0, 1) + "/" + name + "/" + name + "_1.0-1_" + arch + ".deb";
    p.sha256 = std::move(sha256);
    return p;
}

struct Fixture {
    ImageSpec spec = parse_image_spec(SpecText, "images/demo.yaml");
    Lock lock;
    BuildResult result;
    ProvenanceInputs inputs;

    Fixture() {
        spec.digest = "sha256:" + Hex1;
        lock.spec_name = "demo";
        lock.spec_digest = spec.digest;
        lock.suites.push_back({"bookworm", "http://mirror.invalid/debian", {"main"}, Hex2, "Sat, 10 Jun 2023 08:00:00 UTC"});
        // tzdata is arch:all: in both architectures' lists, listed once.
        lock.archs["amd64"].packages = {package("libc6", "amd64", Hex3), package("tzdata", "all", Hex4)};
        lock.archs["arm64"].packages = {package("libc6", "arm64", std::string(64, 'e')), package("tzdata", "all", Hex4)};
        result.digest = "sha256:" + std::string(64, 'f');
        for (auto [arch, digit] : {std::pair{"amd64", '1'}, std::pair{"arm64", '3'}}) {
            BuiltImage image;
            image.arch = arch;
            image.manifest_digest = "sha256:" + std::string(64, digit);
            result.images.push_back(image);
        }
        inputs.spec = &spec;
        inputs.spec_text = std::string(SpecText);
        inputs.lock = &lock;
        inputs.result = &result;
        inputs.archs = {"amd64", "arm64"};
        inputs.source_date_epoch = 1686384000;
        inputs.compression = "gzip";
        inputs.invocation_id = "0b6f4c2e-0000-4000-8000-000000000000";
        inputs.started_on = 1700000000;
        inputs.finished_on = 1700000042;
    }
};

TEST(Provenance, DescribesTheSpecTheDependenciesAndTheRun) {
    Fixture f;
    auto p = slsa_provenance(f.inputs);
    const auto& def = p.at("buildDefinition");
    EXPECT_EQ(def.at("buildType"), SlateBuildType);
    EXPECT_EQ(def.at("externalParameters").at("spec").at("content"), SpecText);
    EXPECT_EQ(def.at("externalParameters").at("spec").at("digest").at("sha256"), Hex1);
    EXPECT_EQ(def.at("externalParameters").at("spec").at("path"), "images/demo.yaml");
    EXPECT_EQ(def.at("externalParameters").at("archs"), nlohmann::json({"amd64", "arm64"}));
    EXPECT_FALSE(def.at("externalParameters").contains("lock"));

    const auto& deps = def.at("resolvedDependencies");
    ASSERT_EQ(deps.size(), 4u);  // InRelease, libc6 x2, tzdata once
    EXPECT_EQ(deps[0].at("uri"), "http://mirror.invalid/debian/dists/bookworm/InRelease");
    EXPECT_EQ(deps[0].at("digest").at("sha256"), Hex2);
    EXPECT_EQ(deps[1].at("uri"), "http://mirror.invalid/debian/pool/main/l/libc6/libc6_1.0-1_amd64.deb");
    EXPECT_EQ(deps[1].at("digest").at("sha256"), Hex3);
    EXPECT_EQ(deps[1].at("name"), "libc6_1.0-1_amd64.deb");
    EXPECT_EQ(deps[2].at("name"), "tzdata_1.0-1_all.deb");
    EXPECT_EQ(deps[3].at("name"), "libc6_1.0-1_arm64.deb");

    const auto& run = p.at("runDetails");
    EXPECT_EQ(run.at("builder").at("id"), DefaultBuilderId);
    EXPECT_EQ(run.at("metadata").at("invocationId"), f.inputs.invocation_id);
    EXPECT_EQ(run.at("metadata").at("startedOn"), "2023-11-14T22:13:20Z");
    EXPECT_EQ(run.at("metadata").at("finishedOn"), "2023-11-14T22:14:02Z");
    ASSERT_EQ(run.at("byproducts").size(), 2u);
    EXPECT_EQ(run.at("byproducts")[1].at("digest").at("sha256"), std::string(64, '3'));
}

TEST(Provenance, NamesTheLockWhenTheBuildUsedOne) {
    Fixture f;
    f.inputs.lock_digest = "sha256:" + Hex4;
    auto p = slsa_provenance(f.inputs);
    EXPECT_EQ(p.at("buildDefinition").at("externalParameters").at("lock").at("digest").at("sha256"), Hex4);
}

TEST(Provenance, OnlyTheArchitecturesBuilt) {
    Fixture f;
    f.inputs.archs = {"arm64"};
    auto deps = slsa_provenance(f.inputs).at("buildDefinition").at("resolvedDependencies");
    ASSERT_EQ(deps.size(), 3u);
    EXPECT_EQ(deps[1].at("name"), "libc6_1.0-1_arm64.deb");
}

TEST(Provenance, IsDeterministic) {
    Fixture f;
    EXPECT_EQ(slsa_provenance(f.inputs).dump(), slsa_provenance(f.inputs).dump());
}

TEST(Provenance, AnArchitectureMissingFromTheLockIsABug) {
    Fixture f;
    f.inputs.archs = {"riscv64"};
    try {
        slsa_provenance(f.inputs);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Internal);
        EXPECT_NE(e.message().find("riscv64"), std::string::npos);
    }
}

TEST(Provenance, RandomUuidsAreVersion4AndDiffer) {
    std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto id = random_uuid();
        EXPECT_TRUE(std::regex_match(id, shape)) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace slate::build
