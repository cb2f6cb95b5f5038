// End to end: the real `slate` binary pushing, pulling, copying, inspecting
// and listing images against Debian's docker-registry (support/registry_server.hpp),
// with skopeo as the independent client on the other side. Faults (a
// registry killed mid-push, a flaky proxy, a corrupted blob) are in
// test_cli_registry_faults.cpp.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/cli_support.hpp"
#include "slate/oci/image.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "support/oci_fixture.hpp"
#include "support/paths.hpp"
#include "support/registry_server.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string base64(const std::string& text) {
    static const char* Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < text.size(); i += 3) {
        unsigned n = (static_cast<unsigned char>(text[i]) << 16) | (static_cast<unsigned char>(text[i + 1]) << 8) |
                     static_cast<unsigned char>(text[i + 2]);
        for (int shift : {18, 12, 6, 0}) out += Alphabet[(n >> shift) & 63];
    }
    if (i < text.size()) {
        unsigned n = static_cast<unsigned char>(text[i]) << 16;
        if (i + 1 < text.size()) n |= static_cast<unsigned char>(text[i + 1]) << 8;
        out += Alphabet[(n >> 18) & 63];
        out += Alphabet[(n >> 12) & 63];
        out += i + 1 < text.size() ? Alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

// ------------------------------------------------------------ 1. push, read back by skopeo and inspect

TEST(CliRegistry, PushedImageReadsBackWithSkopeoAndInspect) {
    if (!have_skopeo()) GTEST_SKIP() << "skopeo is not installed";
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src");
    const std::string ref = registry.host() + "/test/img:v1";

    auto push = cli.slate({"push", "oci:" + image.dir.string(), ref});
    ASSERT_EQ(push.exit_code, 0) << push.err << registry.log_tail();
    EXPECT_EQ(trimmed(push.out), registry.host() + "/test/img@" + image.top.digest);
    EXPECT_NE(push.err.find("5 blobs: 5 copied"), std::string::npos) << push.err;

    // skopeo, an independent client, reads the same index and manifests back.
    fs::path out = work.path() / "skopeo-out";
    auto copy = cli.skopeo({"copy", "--all", "--src-tls-verify=false", "docker://" + ref, "oci:" + out.string() + ":x"});
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    auto entries = layout_index(out).at("manifests");
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].at("digest"), image.top.digest);
    EXPECT_EQ(entries[0].at("size"), image.top.size);
    EXPECT_EQ(layout_blobs(out), layout_blobs(image.dir));

    auto inspect = cli.slate({"inspect", ref, "--json"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    auto doc = json::parse(inspect.out);
    EXPECT_EQ(doc.at("digest"), image.top.digest);
    EXPECT_EQ(doc.at("mediaType"), "application/vnd.oci.image.index.v1+json");
    ASSERT_EQ(doc.at("images").size(), 2u) << doc.dump(2);
    const char* platforms[] = {"linux/amd64", "linux/arm64/v8"};
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& one = doc["images"][i];
        EXPECT_EQ(one.at("platform"), platforms[i]);
        EXPECT_EQ(one.at("digest"), image.manifests[i].digest);
        EXPECT_EQ(one.at("layers").size(), 2u);
    }
    // The shared first layer is the same in both.
    EXPECT_EQ(doc["images"][0]["layers"][0]["digest"], doc["images"][1]["layers"][0]["digest"]);
    EXPECT_NE(doc["images"][0]["layers"][1]["digest"], doc["images"][1]["layers"][1]["digest"]);
    EXPECT_TRUE(doc.at("artifacts").empty());

    // Pushing again finds everything there.
    auto again = cli.slate({"push", image.dir.string(), ref, "--json"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    auto report = json::parse(again.out);
    EXPECT_EQ(report.at("digest"), image.top.digest);
    EXPECT_EQ(report.at("blobs").at("existed"), 5);
    EXPECT_EQ(report.at("blobs").at("copied"), 0);
}

// ------------------------------------------------------------ 2. skopeo pushes, slate pulls

TEST(CliRegistry, PullsWhatSkopeoPushedWholeOrOnePlatform) {
    if (!have_skopeo()) GTEST_SKIP() << "skopeo is not installed";
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.seed = 2});
    const std::string ref = registry.host() + "/test/skopeo:v1";
    auto push = cli.skopeo({"copy", "--all", "--dest-tls-verify=false", "oci:" + image.dir.string() + ":latest",
                            "docker://" + ref});
    ASSERT_EQ(push.exit_code, 0) << push.err << registry.log_tail();

    fs::path all = work.path() / "all";
    auto pull = cli.slate({"pull", ref, all.string()});
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    EXPECT_EQ(only_entry_digest(all), image.top.digest);
    EXPECT_EQ(layout_index(all)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "v1");
    EXPECT_EQ(layout_blobs(all), layout_blobs(image.dir));

    // One platform: the layout's only entry is that platform's manifest.
    fs::path arm = work.path() / "arm64";
    auto one = cli.slate({"pull", ref, arm.string(), "--platform", "linux/arm64"});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_EQ(only_entry_digest(arm), image.manifests[1].digest);
    EXPECT_EQ(layout_index(arm)["manifests"][0]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    // The arm64 manifest, its config and two layers; nothing of amd64's own.
    EXPECT_EQ(layout_blobs(arm).size(), 4u);
    EXPECT_TRUE(layout_blobs(arm).contains(image.manifests[1].digest));
    EXPECT_FALSE(layout_blobs(arm).contains(image.manifests[0].digest));
    auto unpacked = cli.skopeo({"inspect", "oci:" + arm.string() + ":v1"});
    ASSERT_EQ(unpacked.exit_code, 0) << unpacked.err;
    EXPECT_EQ(json::parse(unpacked.out).at("Architecture"), "arm64");

    // A platform the image does not have: an error listing those it has, and no layout.
    fs::path none = work.path() / "s390x";
    auto missing = cli.slate({"pull", ref, none.string(), "--platform", "linux/s390x"});
    EXPECT_EQ(missing.exit_code, 1) << missing.err;
    EXPECT_NE(missing.err.find("linux/s390x"), std::string::npos) << missing.err;
    EXPECT_NE(missing.err.find("linux/amd64, linux/arm64"), std::string::npos) << missing.err;
    EXPECT_FALSE(fs::exists(none / "index.json"));

    auto bad_platform = cli.slate({"pull", ref, none.string(), "--platform", "arm64"});
    EXPECT_EQ(bad_platform.exit_code, 2);
    EXPECT_NE(bad_platform.err.find("OS/ARCH"), std::string::npos) << bad_platform.err;
}

// ------------------------------------------------------------ 3. copy

TEST(CliRegistry, CopyWithinARegistryMountsBlobs) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.seed = 3});
    const std::string src = registry.host() + "/team-a/img:v1";
    ASSERT_EQ(cli.slate({"push", image.dir.string(), src}).exit_code, 0);

    auto copy = cli.slate({"copy", src, registry.host() + "/team-b/img:v1", "--json"});
    ASSERT_EQ(copy.exit_code, 0) << copy.err << registry.log_tail();
    auto report = json::parse(copy.out);
    EXPECT_EQ(report.at("digest"), image.top.digest);
    EXPECT_EQ(report.at("blobs").at("total"), image.blobs.size());
    EXPECT_EQ(report.at("blobs").at("mounted"), image.blobs.size()) << report.dump(2);
    EXPECT_EQ(report.at("blobs").at("copied"), 0);
    EXPECT_EQ(report.at("blobs").at("bytes_copied"), 0);
    EXPECT_EQ(report.at("manifests"), 3);

    // The human report says the same on stderr.
    auto again = cli.slate({"copy", src, registry.host() + "/team-c/img:v1"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("5 blobs: 0 copied (0 B), 0 already there, 5 mounted; 3 manifests"), std::string::npos)
        << again.err;
    EXPECT_EQ(trimmed(again.out), registry.host() + "/team-c/img@" + image.top.digest);

    auto inspect = cli.slate({"inspect", registry.host() + "/team-c/img:v1", "--json"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(json::parse(inspect.out).at("digest"), image.top.digest);
}

TEST(CliRegistry, CopyThroughADockerArchiveAndBetweenLayouts) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.seed = 4});
    const std::string ref = registry.host() + "/test/img:v1";
    ASSERT_EQ(cli.slate({"push", image.dir.string(), ref}).exit_code, 0);

    // A docker-archive holds one platform: without --platform, a usage error naming them.
    fs::path archive = work.path() / "amd64.tar";
    auto ambiguous = cli.slate({"copy", ref, "docker-archive:" + archive.string()});
    EXPECT_EQ(ambiguous.exit_code, 2);
    EXPECT_NE(ambiguous.err.find("--platform"), std::string::npos) << ambiguous.err;
    EXPECT_NE(ambiguous.err.find("linux/amd64, linux/arm64"), std::string::npos) << ambiguous.err;
    EXPECT_FALSE(fs::exists(archive));

    auto out = cli.slate({"copy", ref, "docker-archive:" + archive.string(), "--platform", "linux/amd64"});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    ASSERT_TRUE(fs::is_regular_file(archive));
    if (have_skopeo()) {
        auto read = cli.skopeo({"inspect", "docker-archive:" + archive.string()});
        ASSERT_EQ(read.exit_code, 0) << read.err;
        auto info = json::parse(read.out);
        EXPECT_EQ(info.at("Architecture"), "amd64");
        EXPECT_EQ(info.at("Layers").size(), 2u);
    }

    // And back into the registry: slate's docker-archive keeps the
    // compressed layers and the config as they were, and reading it builds
    // the same OCI manifest again, so the platform manifest's digest survives
    // the round trip (skopeo's docker-archive would not: it stores
    // uncompressed layers).
    const std::string back = registry.host() + "/test/back:amd64";
    auto in = cli.slate({"copy", "docker-archive:" + archive.string(), back, "--json"});
    ASSERT_EQ(in.exit_code, 0) << in.err << registry.log_tail();
    auto pushed = json::parse(in.out);
    EXPECT_EQ(pushed.at("digest"), image.manifests[0].digest);
    EXPECT_EQ(pushed.at("mediaType"), "application/vnd.oci.image.manifest.v1+json");
    auto inspect = cli.slate({"inspect", back, "--json"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    auto doc = json::parse(inspect.out);
    EXPECT_EQ(doc.at("digest"), image.manifests[0].digest);
    ASSERT_EQ(doc.at("images").size(), 1u);
    EXPECT_EQ(doc["images"][0].at("platform"), "linux/amd64");
    oci::Manifest amd64 = oci::parse_manifest(util::read_file(oci::blob_path(image.dir, image.manifests[0].digest)));
    EXPECT_EQ(doc["images"][0]["config"]["digest"], amd64.config.digest);
    ASSERT_EQ(doc["images"][0]["layers"].size(), 2u);
    EXPECT_EQ(doc["images"][0]["layers"][1]["digest"], amd64.layers[1].digest);
    // Copying the archive's image again gives the same digest: the conversion is deterministic.
    auto twice = cli.slate({"copy", "docker-archive:" + archive.string(), registry.host() + "/test/back:again",
                            "--json"});
    ASSERT_EQ(twice.exit_code, 0) << twice.err;
    EXPECT_EQ(json::parse(twice.out).at("digest"), pushed.at("digest"));

    // Layout to layout: the same index and blobs, under the new name.
    fs::path copied = work.path() / "copied";
    auto local = cli.slate({"copy", "oci:" + image.dir.string() + ":latest", "oci:" + copied.string() + ":mine"});
    ASSERT_EQ(local.exit_code, 0) << local.err;
    EXPECT_EQ(only_entry_digest(copied), image.top.digest);
    EXPECT_EQ(layout_index(copied)["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "mine");
    EXPECT_EQ(layout_blobs(copied), layout_blobs(image.dir));
    EXPECT_TRUE(fs::exists(copied / "oci-layout"));
}

// ------------------------------------------------------------ 4. Basic auth, login and logout

TEST(CliRegistry, BasicAuthLoginStoresCheckedCredentials) {
    RegistryServer registry(RegistryAuth::Basic);
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.seed = 5});
    const std::string host = registry.host();
    const std::string ref = host + "/test/img:v1";

    auto anonymous = cli.slate({"push", image.dir.string(), ref});
    EXPECT_EQ(anonymous.exit_code, 1);
    EXPECT_NE(anonymous.err.find(host), std::string::npos) << anonymous.err;
    EXPECT_NE(anonymous.err.find("slate login " + host), std::string::npos) << anonymous.err;

    // A wrong password: refused, nothing stored, and the password is never echoed.
    const std::string wrong = "Wr0ng-" + registry.password().substr(0, 6) + "-secret";
    auto refused = cli.slate({"login", host, "-u", registry.username(), "--password-stdin"}, {}, wrong + "\n");
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find(host), std::string::npos) << refused.err;
    EXPECT_EQ(refused.out.find(wrong), std::string::npos);
    EXPECT_EQ(refused.err.find(wrong), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(cli.config_json()));

    auto login = cli.slate({"login", host, "-u", registry.username(), "--password-stdin"}, {},
                           registry.password() + "\n");
    ASSERT_EQ(login.exit_code, 0) << login.err;
    EXPECT_EQ(login.err.find(registry.password()), std::string::npos);
    EXPECT_EQ(login.out.find(registry.password()), std::string::npos);
    ASSERT_TRUE(fs::exists(cli.config_json()));
    EXPECT_EQ(file_mode(cli.config_json()), 0600u);
    auto config = json::parse(util::read_file(cli.config_json()));
    ASSERT_TRUE(config.at("auths").contains(host)) << config.dump(2);
    EXPECT_EQ(config["auths"][host].at("auth"), base64(registry.username() + ":" + registry.password()));

    auto push = cli.slate({"push", image.dir.string(), ref});
    ASSERT_EQ(push.exit_code, 0) << push.err;
    fs::path pulled = work.path() / "pulled";
    auto pull = cli.slate({"pull", ref, pulled.string()});
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    EXPECT_EQ(only_entry_digest(pulled), image.top.digest);
    auto tags = cli.slate({"tags", host + "/test/img"});
    ASSERT_EQ(tags.exit_code, 0) << tags.err;
    EXPECT_EQ(lines(tags.out), std::vector<std::string>{"v1"});

    auto logout = cli.slate({"logout", host});
    ASSERT_EQ(logout.exit_code, 0) << logout.err;
    EXPECT_FALSE(json::parse(util::read_file(cli.config_json())).value("auths", json::object()).contains(host));
    auto after = cli.slate({"tags", host + "/test/img"});
    EXPECT_EQ(after.exit_code, 1);
    EXPECT_NE(after.err.find("slate login " + host), std::string::npos) << after.err;
    auto twice = cli.slate({"logout", host});
    EXPECT_EQ(twice.exit_code, 1);
    EXPECT_NE(twice.err.find("no credentials stored for " + host), std::string::npos) << twice.err;

    // The environment's credentials work without any login.
    CliHome fresh;
    EnvList env{{"SLATE_REGISTRY_USERNAME", registry.username()}, {"SLATE_REGISTRY_PASSWORD", registry.password()}};
    auto env_push = fresh.slate({"push", image.dir.string(), host + "/test/env:v2"}, env);
    ASSERT_EQ(env_push.exit_code, 0) << env_push.err;
    auto env_tags = fresh.slate({"tags", host + "/test/env"}, env);
    ASSERT_EQ(env_tags.exit_code, 0) << env_tags.err;
    EXPECT_EQ(lines(env_tags.out), std::vector<std::string>{"v2"});
    EXPECT_FALSE(fs::exists(fresh.config_json()));
    // Wrong ones in the environment are refused, and the hint says where they came from.
    auto env_wrong = fresh.slate({"tags", host + "/test/env"},
                                 {{"SLATE_REGISTRY_USERNAME", registry.username()}, {"SLATE_REGISTRY_PASSWORD", wrong}});
    EXPECT_EQ(env_wrong.exit_code, 1);
    EXPECT_NE(env_wrong.err.find("SLATE_REGISTRY_PASSWORD"), std::string::npos) << env_wrong.err;
    EXPECT_EQ(env_wrong.err.find(wrong), std::string::npos) << env_wrong.err;
}

// ------------------------------------------------------------ 5. token auth

TEST(CliRegistry, TokenAuthPushAndPullReuseTokens) {
    RegistryServer registry(RegistryAuth::Token);
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.seed = 6});
    const std::string ref = registry.host() + "/test/img:v1";
    EnvList env{{"SLATE_REGISTRY_USERNAME", registry.username()}, {"SLATE_REGISTRY_PASSWORD", registry.password()}};

    auto anonymous = cli.slate({"push", image.dir.string(), ref});
    EXPECT_EQ(anonymous.exit_code, 1);
    EXPECT_NE(anonymous.err.find("slate login " + registry.host()), std::string::npos) << anonymous.err;
    const std::size_t before = registry.token_requests();

    auto push = cli.slate({"push", image.dir.string(), ref}, env);
    ASSERT_EQ(push.exit_code, 0) << push.err << registry.log_tail();
    // ~16 requests over 4 workers take 2 tokens: one for
    // repository:test/img:pull (the HEADs that look for blobs) and one for
    // repository:test/img:pull,push (uploads, manifests). The workers share
    // one Authenticator, so each scope's token is fetched once.
    const std::size_t push_tokens = registry.token_requests() - before;
    EXPECT_GE(push_tokens, 1u);
    EXPECT_LE(push_tokens, 2u);

    fs::path pulled = work.path() / "pulled";
    auto pull = cli.slate({"pull", ref, pulled.string()}, env);
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    EXPECT_EQ(only_entry_digest(pulled), image.top.digest);
    EXPECT_EQ(layout_blobs(pulled), layout_blobs(image.dir));
    // A pull needs only repository:test/img:pull: one token for 8 requests.
    const std::size_t pull_tokens = registry.token_requests() - before - push_tokens;
    EXPECT_EQ(pull_tokens, 1u);

    // login goes through the token server too.
    auto login = cli.slate({"login", registry.host(), "-u", registry.username(), "--password-stdin"}, {},
                           registry.password());
    ASSERT_EQ(login.exit_code, 0) << login.err;
    auto tags = cli.slate({"tags", registry.host() + "/test/img"});
    ASSERT_EQ(tags.exit_code, 0) << tags.err;
    EXPECT_EQ(lines(tags.out), std::vector<std::string>{"v1"});
}

// ------------------------------------------------------------ 6. tags

TEST(CliRegistry, TagsListsEveryTagWithAPageSize) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.archs = {"amd64"}, .seed = 7});
    std::vector<std::string> want{"1.0", "1.1", "2.0", "latest", "stable"};
    for (const auto& tag : want) {
        auto push = cli.slate({"push", image.dir.string(), registry.host() + "/test/img:" + tag});
        ASSERT_EQ(push.exit_code, 0) << push.err;
    }
    auto tags = cli.slate({"tags", registry.host() + "/test/img", "--page-size", "2"});
    ASSERT_EQ(tags.exit_code, 0) << tags.err;
    auto got = lines(tags.out);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
    // slate asked for pages of 2 (the registry's access log shows the request).
    EXPECT_NE(registry.log_tail(1 << 20).find("\"GET /v2/test/img/tags/list?n=2 HTTP/1.1\" 200"), std::string::npos)
        << registry.log_tail();
    // Debian's docker-registry (distribution 2.8) ignores n and answers every
    // tag at once, without a Link header: following Link pages is not
    // exercised here (RegistryClient tests would need a registry that pages).

    auto missing = cli.slate({"tags", registry.host() + "/test/none"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("NAME_UNKNOWN"), std::string::npos) << missing.err;
}

// ------------------------------------------------------------ 8. bad input

TEST(CliRegistry, BadInputFailsClearlyAndWritesNothing) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.archs = {"amd64"}, .seed = 8});

    auto upper = cli.slate({"push", image.dir.string(), registry.host() + "/Bad/Name:tag"});
    EXPECT_EQ(upper.exit_code, 2);
    EXPECT_NE(upper.err.find("lowercase"), std::string::npos) << upper.err;
    auto upper_no_host = cli.slate({"push", image.dir.string(), "Bad/Name:tag"});
    EXPECT_EQ(upper_no_host.exit_code, 2);
    EXPECT_NE(upper_no_host.err.find("lowercase"), std::string::npos) << upper_no_host.err;

    fs::path out = work.path() / "out";
    auto missing = cli.slate({"pull", registry.host() + "/none:missing", out.string()});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_TRUE(missing.err.find("MANIFEST_UNKNOWN") != std::string::npos ||
                missing.err.find("NAME_UNKNOWN") != std::string::npos ||
                missing.err.find("not found") != std::string::npos)
        << missing.err;
    EXPECT_NE(missing.err.find(registry.host() + "/none"), std::string::npos) << missing.err;
    EXPECT_FALSE(fs::exists(out / "index.json"));

    // A directory that is not an OCI layout.
    fs::path plain = work.path() / "plain";
    fs::create_directories(plain);
    util::write_file_atomic(plain / "hello.txt", "not an image\n");
    auto not_layout = cli.slate({"push", plain.string(), registry.host() + "/test/img:v1"});
    EXPECT_NE(not_layout.exit_code, 0);
    EXPECT_NE(not_layout.err.find(plain.string()), std::string::npos) << not_layout.err;
    EXPECT_NE(not_layout.err.find("layout"), std::string::npos) << not_layout.err;
    auto no_dir = cli.slate({"push", (work.path() / "nowhere").string(), registry.host() + "/test/img:v1"});
    EXPECT_NE(no_dir.exit_code, 0);
    EXPECT_NE(no_dir.err.find("nowhere"), std::string::npos) << no_dir.err;
    auto tags = cli.slate({"tags", registry.host() + "/test/img"});
    EXPECT_EQ(tags.exit_code, 1) << tags.out;  // nothing was pushed

    // A registry reference as the image to push, and a layout as the destination.
    auto wrong_way = cli.slate({"push", registry.host() + "/test/img:v1", registry.host() + "/test/other:v1"});
    EXPECT_EQ(wrong_way.exit_code, 2);
    EXPECT_NE(wrong_way.err.find("slate copy"), std::string::npos) << wrong_way.err;
    auto to_layout = cli.slate({"push", image.dir.string(), "oci:" + (work.path() / "elsewhere").string()});
    EXPECT_EQ(to_layout.exit_code, 2);
    EXPECT_NE(to_layout.err.find("registry reference"), std::string::npos) << to_layout.err;
    EXPECT_FALSE(fs::exists(work.path() / "elsewhere"));

    // Nothing listens there.
    registry.kill();
    auto down = cli.slate({"--retries", "0", "push", image.dir.string(), registry.host() + "/test/img:v1"});
    EXPECT_EQ(down.exit_code, 1);
    EXPECT_NE(down.err.find(registry.host()), std::string::npos) << down.err;
    EXPECT_NE(down.err.find("check that the registry is running"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace slate::test
