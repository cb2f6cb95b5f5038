// TLS to registries: verification is on by default (the system CA bundle,
// plus --ca-file / SLATE_CA_FILE / ClientOptions::ca_file), --insecure skips
// it, and a loopback registry without TLS still works without flags. Against
// Debian's docker-registry serving HTTPS with a certificate from a throwaway
// CA (support/registry_server.hpp), through the library and the real binary.

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "registry/cli_support.hpp"
#include "registry/client_support.hpp"
#include "slate/error.hpp"
#include "slate/oci/layout.hpp"
#include "slate/registry/client.hpp"
#include "slate/registry/transfer.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/subprocess.hpp"
#include "support/expect.hpp"
#include "support/oci_fixture.hpp"
#include "support/paths.hpp"
#include "support/registry_server.hpp"

namespace slate::test {
namespace {
namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// True when the registry stores no repository at all: nothing was pushed.
bool registry_is_empty(const RegistryServer& server) {
    return !fs::exists(server.storage() / "docker" / "registry" / "v2" / "repositories");
}

// ------------------------------------------------------------ the TLS test registry itself

TEST(RegistryTls, ServerSpeaksHttpsWithACertificateFromItsOwnCa) {
    RegistryServer server(RegistryAuth::Anonymous, true);
    EXPECT_EQ(server.url(), "https://" + server.host());
    ASSERT_FALSE(server.ca_file().empty());
    EXPECT_TRUE(fs::is_regular_file(server.ca_file()));

    // curl, an independent client, trusts the certificate through the CA only.
    if (!util::find_program("curl")) GTEST_SKIP() << "needs the curl command";
    auto trusted = util::run_process({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                                      server.ca_file().string(), server.url() + "/v2/"});
    EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
    EXPECT_EQ(trusted.out, "200");
    auto by_name = util::run_process({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                                      server.ca_file().string(),
                                      "https://localhost:" + std::to_string(server.port()) + "/v2/"});
    EXPECT_EQ(by_name.out, "200") << by_name.err;
    auto untrusted = util::run_process({"curl", "-sS", "-o", "/dev/null", server.url() + "/v2/"});
    EXPECT_NE(untrusted.exit_code, 0);
}

// ------------------------------------------------------------ library

TEST(RegistryTls, DefaultOptionsRefuseAnUnknownCaAndSayHowToTrustIt) {
    RegistryServer server(RegistryAuth::Anonymous, true);
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    Session session(std::nullopt, fast_options());
    Error e = error_from([&] { session.push(image.dir, server.host() + "/test/tls:v1"); });
    EXPECT_EQ(e.code(), ErrorCode::Network) << e.describe();
    EXPECT_TRUE(contains(e.message(), "certificate")) << e.describe();
    EXPECT_TRUE(contains(e.message(), server.host())) << e.describe();
    EXPECT_TRUE(contains(e.hint(), "--ca-file")) << e.describe();
    EXPECT_TRUE(registry_is_empty(server));

    // Another registry's CA does not make this one trusted either.
    RegistryServer other(RegistryAuth::Anonymous, true);
    Session wrong_ca(std::nullopt, fast_options(other.ca_file().string()));
    Error wrong = error_from([&] { wrong_ca.push(image.dir, server.host() + "/test/tls:v1"); });
    EXPECT_EQ(wrong.code(), ErrorCode::Network) << wrong.describe();
    EXPECT_TRUE(contains(wrong.hint(), "--ca-file")) << wrong.describe();
    EXPECT_TRUE(registry_is_empty(server));
}

TEST(RegistryTls, CaFilePushesAndPullsWithDigestsKept) {
    RegistryServer server(RegistryAuth::Anonymous, true);
    TempDir work;
    TestImage image = make_test_image(work.path() / "image");
    Session session(std::nullopt, fast_options(server.ca_file().string()));
    const std::string ref = server.host() + "/test/tls:v1";
    auto pushed = session.push(image.dir, ref);
    EXPECT_EQ(pushed.top.digest, image.top.digest);
    EXPECT_EQ(pushed.blobs_copied, image.blobs.size());

    auto pulled = session.pull(ref, work.path() / "pulled");
    EXPECT_EQ(pulled.top.digest, image.top.digest);
    EXPECT_EQ(only_entry_digest(work.path() / "pulled"), image.top.digest);
    EXPECT_EQ(layout_blobs(work.path() / "pulled"), layout_blobs(image.dir));

    // The certificate also names localhost, and the CA verifies it there too.
    Session by_name(std::nullopt, fast_options(server.ca_file().string()));
    registry::Client& client = by_name.pool.client("localhost:" + std::to_string(server.port()));
    EXPECT_EQ(client.get_manifest("test/tls", "v1").digest, image.top.digest);
}

TEST(RegistryTls, InsecureWorksWithoutTheCa) {
    RegistryServer server(RegistryAuth::Anonymous, true);
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}, .seed = 3});
    Session session(std::nullopt, fast_options({}, true));
    const std::string ref = server.host() + "/test/insecure:v1";
    EXPECT_EQ(session.push(image.dir, ref).top.digest, image.top.digest);
    EXPECT_EQ(session.pull(ref, work.path() / "pulled").top.digest, image.top.digest);
    EXPECT_EQ(layout_blobs(work.path() / "pulled"), layout_blobs(image.dir));
}

TEST(RegistryTls, TokenAuthBehindTls) {
    RegistryServer server(RegistryAuth::Token, true);
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}, .seed = 4});
    Session session(registry::Credentials{server.username(), server.password(), {}},
                    fast_options(server.ca_file().string()));
    auto report = session.push(image.dir, server.host() + "/test/token:v1");
    EXPECT_EQ(report.top.digest, image.top.digest);
    EXPECT_GT(server.token_requests(), 0u);
}

TEST(RegistryTls, LoopbackRegistryWithoutTlsNeedsNoFlags) {
    RegistryServer server;
    EXPECT_EQ(server.url(), "http://" + server.host());
    EXPECT_TRUE(server.ca_file().empty());
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}, .seed = 5});
    Session session(std::nullopt, fast_options());
    EXPECT_EQ(session.push(image.dir, server.host() + "/test/plain:v1").top.digest, image.top.digest);
}

// ------------------------------------------------------------ the slate binary

TEST(RegistryTlsCli, PushNeedsTheCaThenPullAndInspectWork) {
    RegistryServer server(RegistryAuth::Anonymous, true);
    CliHome cli;
    TempDir work;
    TestImage image = make_test_image(work.path() / "src", {.seed = 6});
    const std::string ref = server.host() + "/test/cli-tls:v1";
    const std::string ca = server.ca_file().string();

    auto refused = cli.slate({"push", "oci:" + image.dir.string(), ref});
    EXPECT_EQ(refused.exit_code, 1) << refused.err;
    EXPECT_TRUE(contains(refused.err, "--ca-file")) << refused.err;
    EXPECT_TRUE(contains(refused.err, "certificate")) << refused.err;
    EXPECT_TRUE(registry_is_empty(server));

    auto push = cli.slate({"--ca-file", ca, "push", "oci:" + image.dir.string(), ref});
    ASSERT_EQ(push.exit_code, 0) << push.err << server.log_tail();
    EXPECT_EQ(trimmed(push.out), server.host() + "/test/cli-tls@" + image.top.digest);

    fs::path pulled = work.path() / "pulled";
    auto pull = cli.slate({"pull", ref, pulled.string()}, {{"SLATE_CA_FILE", ca}});
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    EXPECT_EQ(only_entry_digest(pulled), image.top.digest);
    EXPECT_EQ(layout_blobs(pulled), layout_blobs(image.dir));

    auto inspect = cli.slate({"--insecure", "inspect", ref, "--json"});
    ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
    EXPECT_EQ(nlohmann::json::parse(inspect.out).at("digest"), image.top.digest);
    EXPECT_TRUE(contains(inspect.err, "--insecure")) << inspect.err;

    // Without either, pull fails the same way as push did and writes nothing.
    fs::path refused_pull = work.path() / "refused";
    auto no_ca = cli.slate({"pull", ref, refused_pull.string()});
    EXPECT_EQ(no_ca.exit_code, 1) << no_ca.err;
    EXPECT_TRUE(contains(no_ca.err, "--ca-file")) << no_ca.err;
    EXPECT_FALSE(fs::exists(refused_pull / "index.json"));
}

}  // namespace
}  // namespace slate::test
