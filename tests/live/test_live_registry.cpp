// LIVE: a catalog image built from the real archive, pushed to Debian's
// docker-registry (started on 127.0.0.1 by the test) with `slate build --push`,
// and used from there: pulled, tested and run straight from the registry, and
// read back by skopeo.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live/live_support.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"
#include "support/registry_server.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// run_slate with a private DOCKER_CONFIG, so the developer's credentials are never read.
util::ProcessResult run_slate_isolated(const fs::path& docker_config, std::vector<std::string> args) {
    std::vector<std::string> argv{slate_binary().string(), "--cache-dir", live_cache_dir().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    util::ProcessOptions options;
    options.timeout = SlateTimeout;
    options.env = {{"DOCKER_CONFIG", docker_config.string()}, {"SLATE_PASSWORD", "live"}};
    options.unset_env = {"SLATE_REGISTRY_USERNAME", "SLATE_REGISTRY_PASSWORD"};
    return util::run_process(argv, options);
}

// The entry of a layout's index.json named `name`.
json layout_entry(const fs::path& dir, const std::string& name) {
    auto index = json::parse(util::read_file(dir / "index.json"));
    for (const auto& entry : index.at("manifests"))
        if (entry.value("annotations", json::object()).value("org.opencontainers.image.ref.name", "") == name)
            return entry;
    ADD_FAILURE() << dir << " has no entry named " << name << ": " << index.dump(2);
    return json::object();
}

std::set<std::string> blobs_of(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir / "blobs" / "sha256"))
        out.insert("sha256:" + entry.path().filename().string());
    return out;
}

TEST(LiveRegistry, BusyboxPushedByBuildIsPulledTestedAndRunFromTheRegistry) {
    RegistryServer registry;
    TempDir work;
    const fs::path docker_config = work.path() / "docker";
    fs::create_directories(docker_config);
    const std::string spec = (source_dir() / "images" / "busybox.yaml").string();
    const std::string ref = registry.host() + "/catalog/busybox:test";
    const fs::path built = work.path() / "built";

    const std::string key = (work.path() / "signer.key").string(), pub = (work.path() / "signer.pub").string();
    auto keygen = run_slate_isolated(docker_config, {"keygen", "--output-prefix", (work.path() / "signer").string()});
    ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
    auto build = run_slate_isolated(docker_config, {"build", spec, "-o", built.string(), "--push", ref, "--key", key});
    ASSERT_EQ(build.exit_code, 0) << build.err << registry.log_tail();
    json top = layout_entry(built, "latest");
    const std::string digest = top.value("digest", "");
    ASSERT_FALSE(digest.empty());
    EXPECT_EQ(top.value("mediaType", ""), "application/vnd.oci.image.index.v1+json");
    EXPECT_NE(build.out.find(registry.host() + "/catalog/busybox@" + digest), std::string::npos) << build.out;

    // Pulled into a new directory: the same index, and only blobs the build wrote.
    const fs::path pulled = work.path() / "pulled";
    auto pull = run_slate_isolated(docker_config, {"pull", ref, pulled.string()});
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    auto index = json::parse(util::read_file(pulled / "index.json"));
    ASSERT_EQ(index.at("manifests").size(), 1u) << index.dump(2);
    EXPECT_EQ(index["manifests"][0].at("digest"), digest);
    EXPECT_EQ(index["manifests"][0].at("size"), top.at("size"));
    auto built_index = oci::parse_index(util::read_file(oci::blob_path(built, digest)));
    ASSERT_EQ(built_index.manifests.size(), 2u);  // amd64 and arm64, as the spec says
    std::set<std::string> pulled_blobs = blobs_of(pulled);
    std::set<std::string> built_blobs = blobs_of(built);
    for (const auto& blob : pulled_blobs) EXPECT_TRUE(built_blobs.contains(blob)) << blob;
    for (const auto& manifest : built_index.manifests) {
        EXPECT_TRUE(pulled_blobs.contains(manifest.digest)) << manifest.digest;
        auto parsed = oci::parse_manifest(util::read_file(oci::blob_path(built, manifest.digest)));
        EXPECT_TRUE(pulled_blobs.contains(parsed.config.digest));
        for (const auto& layer : parsed.layers) EXPECT_TRUE(pulled_blobs.contains(layer.digest)) << layer.digest;
    }

    // skopeo reads the very bytes of the built index from the registry.
    util::ProcessOptions skopeo_options;
    skopeo_options.timeout = std::chrono::minutes(2);
    skopeo_options.env = {{"HOME", work.path().string()}, {"XDG_RUNTIME_DIR", work.path().string()}};
    auto raw = util::run_process({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref},
                                 skopeo_options);
    ASSERT_EQ(raw.exit_code, 0) << raw.err;
    EXPECT_EQ(raw.out, util::read_file(oci::blob_path(built, digest)));

    // The spec's tests pass on the pulled layout, and straight from the registry.
    auto test_pulled = run_slate_isolated(docker_config, {"test", spec, pulled.string()});
    EXPECT_EQ(test_pulled.exit_code, 0) << test_pulled.out << test_pulled.err;
    EXPECT_EQ(test_pulled.err.find("FAILED"), std::string::npos) << test_pulled.err;
    auto test_remote = run_slate_isolated(docker_config, {"test", spec, ref});
    EXPECT_EQ(test_remote.exit_code, 0) << test_remote.out << test_remote.err;
    EXPECT_EQ(test_remote.err.find("FAILED"), std::string::npos) << test_remote.err;

    // And a command from the spec's tests runs in the image from the registry.
    auto run = run_slate_isolated(docker_config,
                                  {"run", ref, "--", "/bin/busybox", "sh", "-c", "echo hello from busybox"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "hello from busybox\n") << run.err;
    auto fails = run_slate_isolated(docker_config, {"run", ref, "--", "/bin/busybox", "sh", "-c", "exit 7"});
    EXPECT_EQ(fails.exit_code, 7) << fails.err;

    // `--key`: the index and each platform manifest are signed in the
    // registry, with SLSA provenance naming every .deb the lock of this build
    // resolved, and each platform's SBOM on its own manifest.
    for (const std::string& image : {ref, registry.host() + "/catalog/busybox@" + built_index.manifests[1].digest}) {
        auto verified = run_slate_isolated(docker_config, {"verify", image, "--key", pub, "--no-cache"});
        EXPECT_EQ(verified.exit_code, 0) << image << "\n" << verified.err;
    }
    auto provenance = run_slate_isolated(
        docker_config, {"verify", ref, "--key", pub, "--attestation", "slsaprovenance1", "--print-predicate"});
    ASSERT_EQ(provenance.exit_code, 0) << provenance.err;
    auto predicate = json::parse(provenance.out);
    std::size_t debs = 0, inreleases = 0;
    for (const auto& dependency : predicate.at("buildDefinition").at("resolvedDependencies")) {
        const std::string uri = dependency.at("uri");
        EXPECT_EQ(dependency.at("digest").at("sha256").get<std::string>().size(), 64u) << uri;
        if (uri.ends_with(".deb")) ++debs;
        if (uri.ends_with("/InRelease")) ++inreleases;
    }
    EXPECT_GE(debs, 2u);  // busybox and libc6 at least, for two architectures
    EXPECT_GE(inreleases, 1u);
    auto sbom = run_slate_isolated(docker_config, {"verify", ref, "--key", pub, "--platform", "linux/arm64",
                                                   "--attestation", "spdx", "--print-predicate"});
    ASSERT_EQ(sbom.exit_code, 0) << sbom.err;
    EXPECT_NE(sbom.out.find("pkg:deb/debian/busybox"), std::string::npos);
    EXPECT_NE(sbom.out.find("arch=arm64"), std::string::npos);
}

}  // namespace
}  // namespace slate::test
