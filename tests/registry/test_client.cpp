// registry::Client, ClientPool and copy_image against Debian's real
// docker-registry (distribution 2.8) on 127.0.0.1, and a FaultProxy in front
// of it. The referrers API itself, which distribution 2.8 lacks, is checked
// against a plain HTTP server that serves a referrers index.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>

#include "slate/error.hpp"
#include "slate/oci/layout.hpp"
#include "slate/registry/client.hpp"
#include "slate/registry/transfer.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "registry/client_support.hpp"
#include "support/expect.hpp"
#include "support/fault_proxy.hpp"
#include "support/http_server.hpp"
#include "support/oci_fixture.hpp"
#include "support/paths.hpp"
#include "support/registry_server.hpp"

namespace slate::test {
namespace {
namespace fs = std::filesystem;
using registry::BlobPush;
using registry::ImageLocation;

// Runs `f`, which must throw slate::Error of `code` mentioning `needle`.
template <typename F>
void expect_error(F&& f, ErrorCode code, const std::string& needle) {
    Error e = error_from(std::forward<F>(f));
    EXPECT_EQ(e.code(), code) << e.describe();
    EXPECT_NE(e.describe().find(needle), std::string::npos) << e.describe();
}

// Runs `f`, which must fail with an Auth error mentioning `needle` and
// never showing the password `secret`.
template <typename F>
void expect_refused(F&& f, const std::string& needle, const std::string& secret) {
    Error e = error_from(std::forward<F>(f));
    EXPECT_EQ(e.code(), ErrorCode::Auth) << e.describe();
    EXPECT_NE(e.describe().find(needle), std::string::npos) << e.describe();
    EXPECT_EQ(e.describe().find(secret), std::string::npos) << e.describe();
}

oci::Descriptor bytes_descriptor(std::string_view media_type, std::string_view bytes) {
    return oci::describe(media_type, bytes);
}

// An artifact manifest about `subject`, as a signature or an attestation is.
oci::Manifest artifact_about(registry::Client& client, const std::string& repository, const oci::Descriptor& subject,
                             const std::string& artifact_type, const std::string& payload) {
    const std::string empty = "{}";
    oci::Manifest manifest;
    manifest.artifact_type = artifact_type;
    manifest.config = bytes_descriptor(oci::media_type::Empty, empty);
    client.put_blob_bytes(repository, manifest.config, empty);
    oci::Descriptor layer = bytes_descriptor("application/octet-stream", payload);
    client.put_blob_bytes(repository, layer, payload);
    manifest.layers.push_back(layer);
    oci::Descriptor about = subject;
    about.platform.reset();
    about.annotations.clear();
    manifest.subject = about;
    manifest.annotations["org.example.note"] = payload;
    return manifest;
}

TEST(RegistryClient, PushedImageReadsBackByteForByte) {
    RegistryServer server;
    TempDir work;
    TestImage image = make_test_image(work.path() / "image");
    Session session;
    auto report = session.push(image.dir, server.host() + "/test/app:v1");
    EXPECT_EQ(report.top.digest, image.top.digest);
    EXPECT_EQ(report.blobs, image.blobs.size());
    EXPECT_EQ(report.blobs_copied, image.blobs.size());
    EXPECT_EQ(report.documents, 3u);  // two manifests and the index

    registry::Client& client = session.pool.client(server.host());
    registry::ManifestBytes top = client.get_manifest("test/app", "v1");
    EXPECT_EQ(top.digest, image.top.digest);
    EXPECT_EQ(top.media_type, oci::media_type::ImageIndex);
    EXPECT_EQ(top.bytes, util::read_file(oci::blob_path(image.dir, image.top.digest)));
    auto head = client.head_manifest("test/app", "v1");
    ASSERT_TRUE(head);
    EXPECT_EQ(head->digest, image.top.digest);
    EXPECT_EQ(head->size, top.bytes.size());
    EXPECT_FALSE(client.head_manifest("test/app", "nope"));
    for (const auto& blob : image.blobs) {
        EXPECT_TRUE(client.has_blob("test/app", blob)) << blob.digest;
        TempDir out;
        client.get_blob("test/app", blob, out.path() / "blob");
        EXPECT_EQ(util::read_file(out.path() / "blob"), util::read_file(oci::blob_path(image.dir, blob.digest)));
    }

    // A second push finds everything there.
    auto again = session.push(image.dir, server.host() + "/test/app:v2");
    EXPECT_EQ(again.blobs_existed, image.blobs.size());
    EXPECT_EQ(again.blobs_copied, 0u);
}

TEST(RegistryClient, MountsBlobsBetweenRepositoriesOfOneRegistry) {
    RegistryServer server;
    TempDir work;
    TestImage image = make_test_image(work.path() / "image");
    Session session;
    session.push(image.dir, server.host() + "/team-a/app:1");
    TempDir scratch;
    registry::ImageSource source(registry_location(server.host() + "/team-a/app:1"), session.pool, scratch.path());
    auto report = registry::copy_image(source, registry_location(server.host() + "/team-b/app:1"), session.pool, {},
                                       session.log);
    EXPECT_EQ(report.blobs_mounted, image.blobs.size());
    EXPECT_EQ(report.blobs_copied, 0u);
    EXPECT_EQ(session.pool.client(server.host()).get_manifest("team-b/app", "1").digest, image.top.digest);
}

TEST(RegistryClient, ListsTagsAcrossPages) {
    RegistryServer server;
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    Session session;
    for (const char* tag : {"a", "b", "c", "d", "e"}) session.push(image.dir, server.host() + "/test/tags:" + tag);
    auto tags = session.pool.client(server.host()).list_tags("test/tags", 2);
    std::sort(tags.begin(), tags.end());
    EXPECT_EQ(tags, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
    expect_error([&] { session.pool.client(server.host()).list_tags("test/none"); }, ErrorCode::NotFound,
                 "NAME_UNKNOWN");
}

TEST(RegistryClient, DeletesManifests) {
    RegistryServer server;
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    Session session;
    session.push(image.dir, server.host() + "/test/del:v1");
    registry::Client& client = session.pool.client(server.host());
    client.delete_manifest("test/del", image.top.digest);
    EXPECT_FALSE(client.head_manifest("test/del", image.top.digest));
    expect_error([&] { client.get_manifest("test/del", "v1"); }, ErrorCode::NotFound, "test/del");
}

TEST(RegistryClient, ReferrersThroughTheTagFallback) {
    RegistryServer server;  // distribution 2.8: no referrers API
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    Session session;
    session.push(image.dir, server.host() + "/test/signed:v1");
    registry::Client& client = session.pool.client(server.host());
    EXPECT_TRUE(client.referrers("test/signed", image.top.digest).empty());

    auto signature = artifact_about(client, "test/signed", image.top, "application/vnd.example.signature", "sig");
    auto sbom = artifact_about(client, "test/signed", image.top, "application/vnd.example.sbom", "sbom");
    oci::Descriptor signature_descriptor = client.put_referrer("test/signed", signature);
    oci::Descriptor sbom_descriptor = client.put_referrer("test/signed", sbom);
    client.put_referrer("test/signed", signature);  // again: listed once

    auto all = client.referrers("test/signed", image.top.digest);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].digest, signature_descriptor.digest);
    EXPECT_EQ(all[0].artifact_type, "application/vnd.example.signature");
    EXPECT_EQ(all[0].annotations.at("org.example.note"), "sig");
    EXPECT_EQ(all[1].digest, sbom_descriptor.digest);
    auto sboms = client.referrers("test/signed", image.top.digest, "application/vnd.example.sbom");
    ASSERT_EQ(sboms.size(), 1u);
    EXPECT_EQ(sboms[0].digest, sbom_descriptor.digest);
    EXPECT_TRUE(client.referrers("test/signed", image.top.digest, "application/other").empty());

    // The fallback is an ordinary tag holding an image index.
    std::string tag = "sha256-" + std::string(image.top.hex());
    auto tags = client.list_tags("test/signed");
    EXPECT_NE(std::find(tags.begin(), tags.end(), tag), tags.end());
    EXPECT_EQ(client.get_manifest("test/signed", tag).media_type, oci::media_type::ImageIndex);
    // The artifact itself names its subject.
    oci::Manifest stored = oci::parse_manifest(client.get_manifest("test/signed", signature_descriptor.digest).bytes);
    ASSERT_TRUE(stored.subject);
    EXPECT_EQ(stored.subject->digest, image.top.digest);
}

TEST(RegistryClient, ReferrersFromTheApi) {
    // A server that answers GET /v2/<name>/referrers/<digest> with an index.
    TempDir root;
    const std::string subject = "sha256:" + std::string(64, 'a');
    oci::Index index;
    for (const char* type : {"application/vnd.example.signature", "application/vnd.example.sbom"}) {
        oci::Descriptor entry = oci::describe(oci::media_type::ImageManifest, type);
        entry.artifact_type = type;
        index.manifests.push_back(entry);
    }
    fs::create_directories(root.path() / "v2" / "test" / "api" / "referrers");
    util::write_file_atomic(root.path() / "v2" / "test" / "api" / "referrers" / subject, oci::to_json(index));
    HttpServer server(root.path());
    Session session;
    registry::Client& client = session.pool.client("127.0.0.1:" + std::to_string(server.port()));
    auto all = client.referrers("test/api", subject);
    ASSERT_EQ(all.size(), 2u);
    // The server ignores ?artifactType= (and does not say it filtered): slate filters.
    auto sboms = client.referrers("test/api", subject, "application/vnd.example.sbom");
    ASSERT_EQ(sboms.size(), 1u);
    EXPECT_EQ(sboms[0].artifact_type, "application/vnd.example.sbom");
    // The API was used: the fallback tag was never asked for.
    EXPECT_EQ(server.request_count("/v2/test/api/manifests/sha256-" + std::string(64, 'a')), 0u);
    expect_error([&] { client.referrers("test/api", "latest"); }, ErrorCode::Usage, "not a sha256 digest");
}

TEST(RegistryClient, RefusesAManifestThatDoesNotMatchItsDigest) {
    RegistryServer server;
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    Session session;
    session.push(image.dir, server.host() + "/test/tamper:v1");
    // The registry stores manifests as blobs: change one byte of it on disk.
    fs::path stored = server.blob_data_path(image.top.digest);
    std::string bytes = util::read_file(stored);
    bytes[bytes.size() / 2] ^= 0x01;
    { std::ofstream(stored, std::ios::binary | std::ios::trunc) << bytes; }
    registry::Client& client = session.pool.client(server.host());
    expect_error([&] { client.get_manifest("test/tamper", "v1"); }, ErrorCode::Integrity, "does not match");
    expect_error([&] { client.get_manifest("test/tamper", image.top.digest); }, ErrorCode::Integrity,
                 "does not match its digest");
}

TEST(RegistryClient, RefusesABlobThatDoesNotMatchItsDigest) {
    RegistryServer server;
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    Session session;
    session.push(image.dir, server.host() + "/test/blob:v1");
    const oci::Descriptor& config = image.blobs.front();
    fs::path stored = server.blob_data_path(config.digest);
    std::string bytes = util::read_file(stored);
    bytes[0] ^= 0x20;
    { std::ofstream(stored, std::ios::binary | std::ios::trunc) << bytes; }
    registry::Client& client = session.pool.client(server.host());
    TempDir out;
    expect_error([&] { client.get_blob("test/blob", config, out.path() / "config"); }, ErrorCode::Integrity,
                 "does not match its digest");
    EXPECT_FALSE(fs::exists(out.path() / "config"));
    expect_error([&] { client.get_blob_bytes("test/blob", config); }, ErrorCode::Integrity, "does not match");
}

TEST(RegistryClient, BasicAuthentication) {
    RegistryServer server(RegistryAuth::Basic);
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    {
        Session anonymous;
        expect_error([&] { anonymous.push(image.dir, server.host() + "/test/auth:v1"); }, ErrorCode::Auth,
                     "slate login " + server.host());
    }
    {
        Session wrong(registry::Credentials{server.username(), "not-the-password-4711", {}});
        expect_refused([&] { wrong.push(image.dir, server.host() + "/test/auth:v1"); }, "401",
                       "not-the-password-4711");
    }
    Session right(registry::Credentials{server.username(), server.password(), {}});
    EXPECT_EQ(right.push(image.dir, server.host() + "/test/auth:v1").top.digest, image.top.digest);
    right.pool.client(server.host()).ping();
}

TEST(RegistryClient, BearerTokensAreFetchedPerScopeAndCached) {
    RegistryServer server(RegistryAuth::Token);
    TempDir work;
    TestImage image = make_test_image(work.path() / "image");
    Session session(registry::Credentials{server.username(), server.password(), {}});
    EXPECT_EQ(session.push(image.dir, server.host() + "/test/token:v1").top.digest, image.top.digest);
    // One token for repository:test/token:pull,push serves every blob and
    // manifest of the push (a second scope, "pull", for the HEADs).
    const std::size_t after_push = server.token_requests();
    EXPECT_GE(after_push, 1u);
    EXPECT_LE(after_push, 2u);
    TempDir out;
    registry::ImageSource source(registry_location(server.host() + "/test/token:v1"), session.pool, out.path());
    ImageLocation destination = layout_location(out.path() / "pulled");
    auto report = registry::copy_image(source, destination, session.pool, {}, session.log);
    EXPECT_EQ(report.top.digest, image.top.digest);
    EXPECT_EQ(server.token_requests(), after_push);  // the pull scope's token was cached

    Session wrong(registry::Credentials{server.username(), "wrong-secret-0815", {}});
    expect_refused([&] { wrong.push(image.dir, server.host() + "/test/token:v2"); }, "token server",
                   "wrong-secret-0815");
}

TEST(RegistryClient, RetriesServerErrorsAndHonoursRetryAfter) {
    RegistryServer server;
    FaultProxy proxy(server.host());
    TempDir work;
    TestImage image = make_test_image(work.path() / "image", {.archs = {"amd64"}});
    Session session;
    proxy.fail_next(2, 500);
    proxy.fail_next(1, 429, 1);
    auto started = std::chrono::steady_clock::now();
    auto report = session.push(image.dir, proxy.host() + "/test/retry:v1");
    EXPECT_EQ(report.top.digest, image.top.digest);
    EXPECT_EQ(proxy.faults_served(), 3u);
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(1)) << session.log.text();  // Retry-After: 1
    EXPECT_NE(session.log.text().find("retrying"), std::string::npos) << session.log.text();

    // Failures beyond the retries end with an error that says so.
    registry::ClientOptions once = fast_options();
    once.retries = 1;
    Session impatient(std::nullopt, once);
    proxy.fail_next(4, 503);
    expect_error([&] { impatient.pool.client(proxy.host()).get_manifest("test/retry", "v1"); }, ErrorCode::Network,
                 "503");
}

TEST(RegistryClient, ResumesAChunkedUploadCutOffMidway) {
    RegistryServer server;
    FaultProxy proxy(server.host());
    TempDir work;
    const std::string payload = pseudo_random_bytes(5u << 20, 7);
    util::write_file_atomic(work.path() / "blob", payload);
    oci::Descriptor blob = oci::describe("application/octet-stream", payload);

    registry::ClientOptions options = fast_options();
    options.chunk_size = 1u << 20;
    Session session(std::nullopt, options);
    registry::Client& client = session.pool.client(proxy.host());
    // The client keeps one connection alive for its requests: it dies 1.5 MiB
    // into the upload, in the second chunk.
    proxy.drop_after((3u << 20) / 2);
    EXPECT_EQ(client.put_blob("test/chunks", blob, work.path() / "blob"), BlobPush::Uploaded) << session.log.text();
    EXPECT_EQ(proxy.faults_served(), 1u);
    // slate asks the registry how much it has and resumes there; distribution
    // drops a session whose chunk arrived in part (its upload state no longer
    // matches), and then slate starts a new one. Which happens depends on
    // where the cut falls. Rarely (about 1 run in 20) the cut hits a reused
    // connection before any answer and libcurl itself sends the chunk again
    // on a fresh one (it rewinds the file), so slate sees no error at all and
    // logs nothing: the cut still happened and the blob must still be whole.
    const std::string log = session.log.text();
    if (!log.empty()) {
        EXPECT_TRUE(log.find("resuming the upload of " + blob.digest) != std::string::npos ||
                    log.find("starting the upload of " + blob.digest) != std::string::npos)
            << log;
    }
    EXPECT_EQ(client.get_blob_bytes("test/chunks", blob), payload);
}

TEST(RegistryClient, ReadsDockerSchema2ManifestListsAsTheyAre) {
    RegistryServer server;
    TempDir work;
    TestImage image = make_test_image(work.path() / "image");
    // skopeo converts the OCI image to Docker's manifest list and schema 2 manifests.
    auto pushed = util::run_process({"skopeo", "copy", "--all", "--format", "v2s2", "--dest-tls-verify=false",
                                     "oci:" + image.dir.string() + ":latest",
                                     "docker://" + server.host() + "/test/docker:v1"});
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
    Session session;
    registry::Client& client = session.pool.client(server.host());
    registry::ManifestBytes top = client.get_manifest("test/docker", "v1");
    EXPECT_EQ(top.media_type, oci::media_type::DockerManifestList);

    TempDir out;
    registry::ImageSource source(registry_location(server.host() + "/test/docker:v1"), session.pool, out.path());
    auto report = registry::copy_image(source, layout_location(out.path() / "pulled"), session.pool, {}, session.log);
    EXPECT_EQ(report.top.digest, top.digest);  // byte for byte: the same digest
    oci::Layout layout = oci::read_layout(out.path() / "pulled");
    ASSERT_EQ(layout.images.size(), 2u);
    EXPECT_EQ(layout.images[0].manifest.media_type, oci::media_type::DockerManifest);
    EXPECT_EQ(layout.images[0].config.diff_ids.size(), 2u);
    oci::verify_layer_blobs(layout);
}

TEST(RegistryClient, ExplainsAnUnreachableRegistry) {
    Session session(std::nullopt, [] {
        auto options = fast_options();
        options.retries = 0;
        return options;
    }());
    // A port nothing listens on (the proxy's, after it is gone).
    std::string host;
    {
        RegistryServer server;
        host = server.host();
    }
    expect_error([&] { session.pool.client(host).get_manifest("test/app", "v1"); }, ErrorCode::Network,
                 "cannot fetch manifest v1 of " + host + "/test/app");
}

}  // namespace
}  // namespace slate::test
