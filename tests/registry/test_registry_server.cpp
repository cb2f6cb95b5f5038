// The registry test infrastructure itself: Debian's docker-registry started by
// RegistryServer in each auth mode (driven with the curl CLI and skopeo), and
// FaultProxy in front of it.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/fault_proxy.hpp"
#include "support/paths.hpp"
#include "support/registry_server.hpp"
#include "support/socket_util.hpp"

namespace slate::test {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Response {
    int curl_exit = -1;  // 0 when curl got an HTTP answer
    int status = 0;      // 0 when it did not
    std::string headers;  // the final response's header block
    std::string body;
    std::string curl_error;

    // A header of the final response ("" when absent); `name` in lowercase.
    std::string header(const std::string& name) const { return header_value(headers, name); }
};

// The curl CLI: an independent HTTP client with captured headers and body.
class Curl {
public:
    Response run(const std::vector<std::string>& args) {
        fs::path headers = m_dir.path() / "headers";
        fs::path body = m_dir.path() / "body";
        fs::remove(headers);
        fs::remove(body);
        std::vector<std::string> argv = {"curl", "-sS", "--max-time", "30", "-D", headers.string(),
                                         "-o", body.string(), "-w", "%{http_code}"};
        argv.insert(argv.end(), args.begin(), args.end());
        util::ProcessOptions options;
        options.timeout = 60s;
        auto result = util::run_process(argv, options);
        Response response;
        response.curl_exit = result.exit_code;
        response.curl_error = result.err;
        response.status = result.out.empty() ? 0 : std::stoi(result.out);
        if (fs::exists(headers)) {
            // Keep the last header block (after any "100 Continue").
            std::string all = util::read_file(headers);
            while (all.ends_with("\r\n")) all.resize(all.size() - 2);
            std::size_t last = all.rfind("\r\n\r\n");
            response.headers = last == std::string::npos ? all : all.substr(last + 4);
        }
        if (fs::exists(body)) response.body = util::read_file(body);
        return response;
    }
    const fs::path& dir() const { return m_dir.path(); }

private:
    TempDir m_dir;
};

struct Blob {
    fs::path file;
    std::string content;
    std::string digest;
};

Blob make_blob(const fs::path& dir, std::string content) {
    Blob blob{dir / ("blob-" + util::sha256_hex(content)), std::move(content), {}};
    blob.digest = "sha256:" + util::sha256_hex(blob.content);
    util::write_file_atomic(blob.file, blob.content);
    return blob;
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// A monolithic blob upload (POST, then PUT ?digest=) as the distribution API
// describes it; returns the PUT's response, or the POST's when that failed.
Response upload_blob(Curl& curl, const std::string& base_url, const std::string& repository, const Blob& blob,
                     const std::vector<std::string>& auth = {}) {
    Response post = curl.run(with(auth, {"-X", "POST", base_url + "/v2/" + repository + "/blobs/uploads/"}));
    if (post.status != 202) return post;
    std::string location = post.header("location");
    if (location.starts_with("/")) location = base_url + location;
    location += (location.find('?') == std::string::npos ? "?" : "&");
    return curl.run(with(auth, {"-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary",
                                "@" + blob.file.string(), location + "digest=" + blob.digest}));
}

std::vector<std::string> basic(const RegistryServer& registry) {
    return {"-u", registry.username() + ":" + registry.password()};
}
std::vector<std::string> bearer(const std::string& token) { return {"-H", "Authorization: Bearer " + token}; }

// Asks the token server for a token; the scope goes into the query as is.
Response request_token(Curl& curl, const RegistryServer& registry, const std::string& scope,
                       const std::string& password) {
    return curl.run({"-u", registry.username() + ":" + password,
                     registry.token_realm() + "?service=" + registry.token_service() + "&scope=" + scope});
}

std::string token_for(Curl& curl, const RegistryServer& registry, const std::string& scope) {
    Response response = request_token(curl, registry, scope, registry.password());
    EXPECT_EQ(response.status, 200) << response.body;
    return nlohmann::json::parse(response.body).at("token").get<std::string>();
}

// Throws std::bad_optional_access for text outside the base64url alphabet.
std::string base64url_decode(const std::string& text) { return base64_decode(text, Base64Alphabet::Url).value(); }

TEST(RegistryServer, AnonymousAnswersTheApiBase) {
    RegistryServer registry;
    EXPECT_TRUE(registry.running());
    EXPECT_EQ(registry.host(), "127.0.0.1:" + std::to_string(registry.port()));
    EXPECT_EQ(registry.url(), "http://" + registry.host());
    EXPECT_TRUE(fs::is_directory(registry.storage()));
    EXPECT_TRUE(registry.username().empty());

    Curl curl;
    Response response = curl.run({registry.url() + "/v2/"});
    EXPECT_EQ(response.status, 200) << response.curl_error << registry.log_tail();
    EXPECT_EQ(response.header("docker-distribution-api-version"), "registry/2.0");
}

TEST(RegistryServer, UploadedBlobLandsAtBlobDataPath) {
    RegistryServer registry;
    Curl curl;
    Blob blob = make_blob(curl.dir(), "a blob stored by the real registry\n");
    Response put = upload_blob(curl, registry.url(), "test", blob);
    ASSERT_EQ(put.status, 201) << put.body << registry.log_tail();
    EXPECT_EQ(put.header("docker-content-digest"), blob.digest);

    Response head = curl.run({"-I", registry.url() + "/v2/test/blobs/" + blob.digest});
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("content-length"), std::to_string(blob.content.size()));
    ASSERT_TRUE(fs::exists(registry.blob_data_path(blob.digest)));
    EXPECT_EQ(util::read_file(registry.blob_data_path(blob.digest)), blob.content);
    EXPECT_THROW((void)registry.blob_data_path("sha256:xyz"), std::invalid_argument);
    EXPECT_THROW((void)registry.blob_data_path(util::sha256_hex("x")), std::invalid_argument);
}

TEST(RegistryServer, BasicAuthNeedsTheConfiguredPassword) {
    RegistryServer registry(RegistryAuth::Basic);
    ASSERT_FALSE(registry.username().empty());
    ASSERT_FALSE(registry.password().empty());
    Curl curl;

    Response anonymous = curl.run({registry.url() + "/v2/"});
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_TRUE(anonymous.header("www-authenticate").starts_with("Basic realm=")) << anonymous.headers;
    EXPECT_EQ(curl.run({"-u", registry.username() + ":wrong", registry.url() + "/v2/"}).status, 401);
    EXPECT_EQ(curl.run(with(basic(registry), {registry.url() + "/v2/"})).status, 200);

    Blob blob = make_blob(curl.dir(), "basic auth blob");
    EXPECT_EQ(upload_blob(curl, registry.url(), "test", blob).status, 401);
    EXPECT_EQ(upload_blob(curl, registry.url(), "test", blob, basic(registry)).status, 201);
}

TEST(RegistryServer, TokenChallengeNamesTheRealmAndService) {
    RegistryServer registry(RegistryAuth::Token);
    EXPECT_TRUE(registry.token_realm().starts_with("http://127.0.0.1:"));
    EXPECT_TRUE(registry.token_realm().ends_with("/token"));
    Curl curl;
    Response response = curl.run({registry.url() + "/v2/"});
    EXPECT_EQ(response.status, 401);
    EXPECT_EQ(response.header("www-authenticate"),
              "Bearer realm=\"" + registry.token_realm() + "\",service=\"slate-test-registry\"");

    Response scoped = curl.run({"-I", registry.url() + "/v2/test/blobs/sha256:" + util::sha256_hex("x")});
    EXPECT_EQ(scoped.status, 401);
    EXPECT_NE(scoped.header("www-authenticate").find("scope=\"repository:test:pull\""), std::string::npos)
        << scoped.headers;
}

TEST(RegistryServer, TokenFromTheRealmAllowsAnUploadAndHead) {
    RegistryServer registry(RegistryAuth::Token);
    Curl curl;
    Response response = request_token(curl, registry, "repository:test:pull,push", registry.password());
    ASSERT_EQ(response.status, 200) << response.body;
    auto body = nlohmann::json::parse(response.body);
    std::string token = body.at("token");
    EXPECT_EQ(body.at("access_token"), token);
    EXPECT_EQ(body.at("expires_in"), 300);
    EXPECT_TRUE(std::regex_match(body.at("issued_at").get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
    EXPECT_EQ(registry.token_requests(), 1u);

    // The JWT names a libtrust key id and grants exactly what was asked for.
    std::size_t dot1 = token.find('.');
    std::size_t dot2 = token.find('.', dot1 + 1);
    auto header = nlohmann::json::parse(base64url_decode(token.substr(0, dot1)));
    auto claims = nlohmann::json::parse(base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1)));
    EXPECT_EQ(header.at("alg"), "ES256");
    EXPECT_TRUE(std::regex_match(header.at("kid").get<std::string>(), std::regex("([A-Z2-7]{4}:){11}[A-Z2-7]{4}")));
    EXPECT_EQ(base64url_decode(token.substr(dot2 + 1)).size(), 64u);  // raw R||S
    EXPECT_EQ(claims.at("sub"), registry.username());
    EXPECT_EQ(claims.at("access"), nlohmann::json::parse(
                                       R"([{"type":"repository","name":"test","actions":["pull","push"]}])"));

    Blob blob = make_blob(curl.dir(), "uploaded with a bearer token");
    EXPECT_EQ(upload_blob(curl, registry.url(), "test", blob).status, 401);
    Response put = upload_blob(curl, registry.url(), "test", blob, bearer(token));
    ASSERT_EQ(put.status, 201) << put.body << registry.log_tail();
    EXPECT_EQ(curl.run(with(bearer(token), {"-I", registry.url() + "/v2/test/blobs/" + blob.digest})).status, 200);
    EXPECT_EQ(util::read_file(registry.blob_data_path(blob.digest)), blob.content);
}

TEST(RegistryServer, RegistryEnforcesTheTokensGrantsAndSignature) {
    RegistryServer registry(RegistryAuth::Token);
    Curl curl;
    Blob blob = make_blob(curl.dir(), "not allowed");

    // A pull-only token cannot start an upload.
    std::string pull_only = token_for(curl, registry, "repository:test:pull");
    EXPECT_EQ(upload_blob(curl, registry.url(), "test", blob, bearer(pull_only)).status, 401);
    // A token for another repository does not cover this one.
    std::string other = token_for(curl, registry, "repository:other:pull,push");
    EXPECT_EQ(upload_blob(curl, registry.url(), "test", blob, bearer(other)).status, 401);
    EXPECT_EQ(upload_blob(curl, registry.url(), "other", blob, bearer(other)).status, 201);

    // A flipped signature character makes the registry reject the token.
    std::string token = token_for(curl, registry, "repository:test:pull,push");
    EXPECT_EQ(curl.run(with(bearer(token), {registry.url() + "/v2/"})).status, 200);
    std::size_t middle = token.rfind('.') + 20;
    token[middle] = token[middle] == 'A' ? 'B' : 'A';
    EXPECT_EQ(curl.run(with(bearer(token), {registry.url() + "/v2/"})).status, 401);
    EXPECT_EQ(registry.token_requests(), 3u);
}

TEST(RegistryServer, TokenServerRejectsWrongCredentials) {
    RegistryServer registry(RegistryAuth::Token);
    Curl curl;
    Response wrong = request_token(curl, registry, "repository:test:pull", registry.password() + "x");
    EXPECT_EQ(wrong.status, 401);
    EXPECT_TRUE(wrong.header("www-authenticate").starts_with("Basic")) << wrong.headers;
    Response missing = curl.run({registry.token_realm() + "?service=slate-test-registry&scope=repository:test:pull"});
    EXPECT_EQ(missing.status, 401);
    EXPECT_EQ(registry.token_requests(), 0u);
    Response wrong_service = curl.run(with(basic(registry), {registry.token_realm() + "?service=elsewhere"}));
    EXPECT_EQ(wrong_service.status, 400);
}

TEST(RegistryServer, CatalogScopeIsGranted) {
    RegistryServer registry(RegistryAuth::Token);
    Curl curl;
    Blob blob = make_blob(curl.dir(), "catalog");
    std::string push = token_for(curl, registry, "repository:listed/repo:pull,push");
    ASSERT_EQ(upload_blob(curl, registry.url(), "listed/repo", blob, bearer(push)).status, 201);
    std::string catalog = token_for(curl, registry, "registry:catalog:*");
    Response response = curl.run(with(bearer(catalog), {registry.url() + "/v2/_catalog"}));
    ASSERT_EQ(response.status, 200) << response.body;
    // Only repositories with a manifest are listed; the grant is what this checks.
    EXPECT_TRUE(nlohmann::json::parse(response.body).contains("repositories"));
}

TEST(RegistryServer, KillAndRestartKeepStorageAndAuth) {
    RegistryServer registry(RegistryAuth::Basic);
    Curl curl;
    Blob blob = make_blob(curl.dir(), "survives a crash");
    ASSERT_EQ(upload_blob(curl, registry.url(), "test", blob, basic(registry)).status, 201);
    std::string host = registry.host();

    registry.kill();
    EXPECT_FALSE(registry.running());
    Response down = curl.run(with(basic(registry), {registry.url() + "/v2/"}));
    EXPECT_EQ(down.status, 0);
    EXPECT_EQ(down.curl_exit, 7) << down.curl_error;  // couldn't connect

    registry.restart();
    EXPECT_TRUE(registry.running());
    EXPECT_EQ(registry.host(), host);
    EXPECT_EQ(curl.run({"-I", registry.url() + "/v2/test/blobs/" + blob.digest}).status, 401);
    EXPECT_EQ(curl.run(with(basic(registry), {"-I", registry.url() + "/v2/test/blobs/" + blob.digest})).status, 200);

    registry.restart();  // a restart of a running registry stops it first
    EXPECT_TRUE(registry.running());
    EXPECT_EQ(curl.run(with(basic(registry), {registry.url() + "/v2/"})).status, 200);
}

TEST(RegistryServer, DestructorStopsTheRegistryAndRemovesItsFiles) {
    std::string url;
    fs::path storage;
    {
        RegistryServer registry;
        url = registry.url();
        storage = registry.storage();
        ASSERT_TRUE(fs::exists(storage));
    }
    Curl curl;
    EXPECT_EQ(curl.run({url + "/v2/"}).curl_exit, 7);
    EXPECT_FALSE(fs::exists(storage));
}

TEST(RegistryServer, SkopeoPushesThroughTheTokenFlow) {
    if (!util::find_program("skopeo")) GTEST_SKIP() << "skopeo is not installed";
    RegistryServer registry(RegistryAuth::Token);
    TempDir dir;

    // A one-layer OCI image layout, with a real gzip-compressed tar layer.
    fs::create_directories(dir.path() / "root");
    util::write_file_atomic(dir.path() / "root" / "hello.txt", "hello from the layer\n");
    fs::path tar = dir.path() / "layer.tar";
    ASSERT_EQ(util::run_process({"tar", "-C", (dir.path() / "root").string(), "-cf", tar.string(), "hello.txt"})
                  .exit_code,
              0);
    std::string diff_id = "sha256:" + util::sha256_file_hex(tar);
    ASSERT_EQ(util::run_process({"gzip", "-n", tar.string()}).exit_code, 0);
    std::string layer = util::read_file(tar.string() + ".gz");

    fs::path layout = dir.path() / "layout";
    fs::create_directories(layout / "blobs" / "sha256");
    auto add_blob = [&](const std::string& content) {
        std::string hex = util::sha256_hex(content);
        util::write_file_atomic(layout / "blobs" / "sha256" / hex, content);
        return "sha256:" + hex;
    };
    std::string config = nlohmann::json{{"architecture", "amd64"},
                                        {"os", "linux"},
                                        {"config", nlohmann::json::object()},
                                        {"rootfs", {{"type", "layers"}, {"diff_ids", {diff_id}}}}}
                             .dump();
    std::string manifest =
        nlohmann::json{{"schemaVersion", 2},
                       {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                       {"config",
                        {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                         {"digest", add_blob(config)},
                         {"size", config.size()}}},
                       {"layers",
                        {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                          {"digest", add_blob(layer)},
                          {"size", layer.size()}}}}}
            .dump();
    std::string manifest_digest = add_blob(manifest);
    util::write_file_atomic(layout / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    util::write_file_atomic(
        layout / "index.json",
        nlohmann::json{{"schemaVersion", 2},
                       {"manifests",
                        {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                          {"digest", manifest_digest},
                          {"size", manifest.size()},
                          {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}}}}}
            .dump());

    util::ProcessOptions options;
    options.timeout = 120s;
    options.env = {{"HOME", dir.path().string()}, {"XDG_RUNTIME_DIR", dir.path().string()}};
    auto copy = util::run_process({"skopeo", "copy", "--insecure-policy", "--dest-tls-verify=false", "--dest-creds",
                                   registry.username() + ":" + registry.password(),
                                   "oci:" + layout.string() + ":latest",
                                   "docker://" + registry.host() + "/test/image:latest"},
                                  options);
    ASSERT_EQ(copy.exit_code, 0) << copy.out << copy.err << registry.log_tail();
    EXPECT_GE(registry.token_requests(), 1u);

    // The registry now serves the same manifest, and stored the layer's bytes.
    Curl curl;
    std::string token = token_for(curl, registry, "repository:test/image:pull");
    Response got = curl.run(with(bearer(token), {"-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                                                 registry.url() + "/v2/test/image/manifests/latest"}));
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.header("docker-content-digest"), manifest_digest);
    EXPECT_EQ(got.body, manifest);
    auto blob_path = registry.blob_data_path("sha256:" + util::sha256_hex(layer));
    EXPECT_EQ(util::read_file(blob_path), layer);
}

TEST(FaultProxy, ServesFailuresThenForwards) {
    RegistryServer registry;
    FaultProxy proxy(registry.host());
    proxy.fail_next(2, 503, 7);
    Curl curl;
    for (int i = 0; i < 2; ++i) {
        Response failed = curl.run({proxy.url() + "/v2/"});
        EXPECT_EQ(failed.status, 503) << failed.curl_error;
        EXPECT_EQ(failed.header("retry-after"), "7");
        EXPECT_EQ(lower(failed.header("connection")), "close");
        EXPECT_NE(failed.body.find("UNAVAILABLE"), std::string::npos) << failed.body;
    }
    Response ok = curl.run({proxy.url() + "/v2/"});
    EXPECT_EQ(ok.status, 200) << ok.curl_error;
    EXPECT_EQ(ok.header("docker-distribution-api-version"), "registry/2.0");
    EXPECT_EQ(proxy.connections(), 3u);
    EXPECT_EQ(proxy.faults_served(), 2u);
}

TEST(FaultProxy, FailureIsReadableAfterALargeRequestBody) {
    RegistryServer registry;
    FaultProxy proxy(registry.host());
    Curl curl;
    Blob blob = make_blob(curl.dir(), std::string(3 * 1024 * 1024, 'x'));
    proxy.fail_next(2, 500);
    std::string target = proxy.url() + "/v2/test/blobs/uploads/?digest=" + blob.digest;
    // The whole body is sent first (no Expect), or the client waits for 100-continue.
    Response plain = curl.run({"-X", "POST", "-H", "Expect:", "--data-binary", "@" + blob.file.string(), target});
    EXPECT_EQ(plain.status, 500) << plain.curl_error;
    Response expect = curl.run(
        {"-X", "POST", "-H", "Expect: 100-continue", "--data-binary", "@" + blob.file.string(), target});
    EXPECT_EQ(expect.status, 500) << expect.curl_error;
    EXPECT_EQ(proxy.faults_served(), 2u);
    EXPECT_FALSE(fs::exists(registry.blob_data_path(blob.digest)));

    // Forwarded: the registry answers with upload Locations on the proxy.
    Response post = curl.run({"-X", "POST", proxy.url() + "/v2/test/blobs/uploads/"});
    ASSERT_EQ(post.status, 202);
    EXPECT_TRUE(post.header("location").starts_with(proxy.url())) << post.header("location");
    EXPECT_EQ(upload_blob(curl, proxy.url(), "test", blob).status, 201);
    EXPECT_EQ(util::read_file(registry.blob_data_path(blob.digest)), blob.content);
}

TEST(FaultProxy, DropAfterCutsAnUpload) {
    RegistryServer registry;
    FaultProxy proxy(registry.host());
    Curl curl;
    Blob blob = make_blob(curl.dir(), std::string(1024 * 1024, 'y'));

    Response post = curl.run({"-X", "POST", proxy.url() + "/v2/test/blobs/uploads/"});
    ASSERT_EQ(post.status, 202);
    proxy.drop_after(4096);
    Response cut = curl.run({"-X", "PUT", "-H", "Expect:", "-H", "Content-Type: application/octet-stream",
                             "--data-binary", "@" + blob.file.string(),
                             post.header("location") + "&digest=" + blob.digest});
    EXPECT_NE(cut.curl_exit, 0);
    EXPECT_EQ(cut.status, 0);
    EXPECT_EQ(proxy.faults_served(), 1u);
    EXPECT_EQ(curl.run({"-I", registry.url() + "/v2/test/blobs/" + blob.digest}).status, 404);

    // The next connection is forwarded again: a fresh upload succeeds.
    EXPECT_EQ(upload_blob(curl, proxy.url(), "test", blob).status, 201);
    EXPECT_EQ(curl.run({"-I", registry.url() + "/v2/test/blobs/" + blob.digest}).status, 200);
    EXPECT_EQ(proxy.faults_served(), 1u);
}

}  // namespace
}  // namespace slate::test
