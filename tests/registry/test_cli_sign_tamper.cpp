// What `slate verify` rejects, and why: one byte changed in a layer, the
// manifest, the payload, the signature or a DSSE envelope. Also: the
// referrers API is used in preference to the tag schema when a registry has
// it, and transparency-log entries are embedded by `sign --tlog` and checked
// offline by `verify --tlog-key`.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/http_server.hpp"
#include "test_cli_sign_support.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// A signed image and a client to tamper with what the registry holds.
struct SignedImage {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    KeyPair keys;
    PushedImage image;
    Session session;
    registry::Client* client = nullptr;

    explicit SignedImage(const std::string& repository) {
        keys = make_keys(cli, work.path(), "signer");
        image = push_image(cli, registry, work.path(), repository);
        auto sign = cli.slate({"sign", image.digest_ref, "--key", keys.key.string()}, password_env());
        EXPECT_EQ(sign.exit_code, 0) << sign.err;
        client = &session.pool.client(registry.host());
    }
    const std::string& repo() const { return image.repository; }
    const std::string& digest() const { return image.image.top.digest; }

    // Removes the manifest `reference` names (and so every tag on it).
    void remove(const std::string& reference) {
        client->delete_manifest(repo(), client->get_manifest(repo(), reference).digest);
    }
    // `slate verify` that must fail with exit 3 and a message containing `expected`.
    void expect_rejected(const std::vector<std::string>& more, const std::string& expected,
                         const std::string& ref = {}) {
        std::vector<std::string> args{"verify", ref.empty() ? image.digest_ref : ref, "--key", keys.pub.string()};
        args.insert(args.end(), more.begin(), more.end());
        auto result = cli.slate(args);
        EXPECT_EQ(result.exit_code, 3) << result.out << result.err;
        EXPECT_NE(result.err.find(expected), std::string::npos) << result.err;
    }
    // Replaces layer 0 of the legacy image under `tag` with `blob`, and
    // `annotations` when given.
    void replace_legacy_layer(const std::string& tag, const std::string& blob, const Json& annotations = nullptr) {
        Json manifest = Json::parse(client->get_manifest(repo(), tag).bytes);
        oci::Descriptor layer = put_blob(*client, repo(), manifest["layers"][0]["mediaType"].get<std::string>(), blob);
        manifest["layers"][0]["digest"] = layer.digest;
        manifest["layers"][0]["size"] = layer.size;
        if (!annotations.is_null()) manifest["layers"][0]["annotations"] = annotations;
        client->put_manifest(repo(), tag, manifest.dump(), oci::media_type::ImageManifest);
    }
};

// One byte of `text` changed at `at`.
std::string flip(std::string text, std::size_t at) {
    text.at(at) = static_cast<char>(text.at(at) ^ 0x01);
    return text;
}

TEST(CliSignTamper, ALayerChangedInTheRegistryFailsThePullByDigest) {
    SignedImage signed_image("tamper/layer");
    oci::Manifest manifest =
        oci::parse_manifest(signed_image.client->get_manifest(signed_image.repo(), signed_image.digest()).bytes);
    fs::path data = signed_image.registry.blob_data_path(manifest.layers.at(0).digest);
    std::string bytes = util::read_file(data);
    util::write_file_atomic(data, flip(bytes, bytes.size() / 2));

    // The signature covers the manifest, which names the layer's digest: the
    // manifest is unchanged, so the signature still verifies (verification
    // downloads no layer, as cosign's)...
    EXPECT_EQ(signed_image.cli.slate({"verify", signed_image.image.digest_ref, "--key", signed_image.keys.pub.string()})
                  .exit_code,
              0);
    // ...and pulling by digest refuses the changed layer.
    auto pull = signed_image.cli.slate({"pull", signed_image.image.digest_ref,
                                        (signed_image.work.path() / "pulled").string()});
    EXPECT_EQ(pull.exit_code, 1);
    EXPECT_NE(pull.err.find(manifest.layers.at(0).digest + " from"), std::string::npos) << pull.err;
    EXPECT_NE(pull.err.find("does not match its digest"), std::string::npos) << pull.err;
}

TEST(CliSignTamper, AChangedManifestIsNotTheSignedOne) {
    SignedImage signed_image("tamper/manifest");
    const std::string old_digest = signed_image.digest();
    Json manifest = Json::parse(signed_image.client->get_manifest(signed_image.repo(), old_digest).bytes);
    manifest["annotations"]["org.example.changed"] = "1";
    const std::string changed = manifest.dump();
    oci::Descriptor moved =
        signed_image.client->put_manifest(signed_image.repo(), "1", changed, oci::media_type::ImageManifest);
    ASSERT_NE(moved.digest, old_digest);

    // The tag now names a manifest nobody signed.
    signed_image.expect_rejected({}, "no signature found for " + signed_image.registry.host() + "/tamper/manifest@" +
                                         moved.digest,
                                 signed_image.image.tag_ref);
    // Replaying the old signatures under the new digest's tags does not help:
    // they name the old manifest.
    auto sig = signed_image.client->get_manifest(signed_image.repo(), sig_tag(old_digest));
    signed_image.client->put_manifest(signed_image.repo(), sig_tag(moved.digest), sig.bytes, sig.media_type);
    auto referrers = signed_image.client->get_manifest(signed_image.repo(), referrers_tag(old_digest));
    signed_image.client->put_manifest(signed_image.repo(), referrers_tag(moved.digest), referrers.bytes,
                                      referrers.media_type);
    signed_image.expect_rejected({}, "the payload names " + old_digest + ", not this image's manifest " + moved.digest,
                                 signed_image.image.tag_ref);
    signed_image.expect_rejected({}, "the referrer's subject is " + old_digest + ", not " + moved.digest,
                                 signed_image.image.tag_ref);
}

TEST(CliSignTamper, AChangedPayloadOrSignatureDoesNotVerify) {
    SignedImage signed_image("tamper/payload");
    signed_image.remove(referrers_tag(signed_image.digest()));  // only the .sig is left to check
    const std::string tag = sig_tag(signed_image.digest());
    Json original = Json::parse(signed_image.client->get_manifest(signed_image.repo(), tag).bytes);
    oci::Descriptor layer = oci::parse_manifest(original.dump()).layers.at(0);
    const std::string payload = signed_image.client->get_blob_bytes(signed_image.repo(), layer);

    // One byte of the payload (inside docker-reference, which verifiers do
    // not otherwise look at): the signature no longer matches it.
    signed_image.replace_legacy_layer(tag, flip(payload, payload.find("docker-reference") + 20));
    signed_image.expect_rejected({}, "the signature does not verify over the payload with key");

    // One byte of the signature, over the original payload.
    std::string signature =
        *util::base64_decode(original["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"].get<std::string>());
    Json annotations = original["layers"][0]["annotations"];
    annotations["dev.cosignproject.cosign/signature"] = b64(flip(signature, signature.size() / 2));
    signed_image.replace_legacy_layer(tag, payload, annotations);
    signed_image.expect_rejected({}, "the signature does not verify over the payload with key");

    // Put back as it was, it verifies again.
    signed_image.client->put_manifest(signed_image.repo(), tag, original.dump(), oci::media_type::ImageManifest);
    EXPECT_EQ(signed_image.cli.slate({"verify", signed_image.image.digest_ref, "--key", signed_image.keys.pub.string()})
                  .exit_code,
              0);
}

TEST(CliSignTamper, AChangedEnvelopeDoesNotVerify) {
    SignedImage signed_image("tamper/envelope");
    const std::string digest = signed_image.digest();

    // The bundle referrer's DSSE envelope (the .sig tag removed first).
    signed_image.remove(sig_tag(digest));
    Json index = Json::parse(signed_image.client->get_manifest(signed_image.repo(), referrers_tag(digest)).bytes);
    const std::string referrer_digest = index["manifests"][0]["digest"].get<std::string>();
    Json referrer = Json::parse(signed_image.client->get_manifest(signed_image.repo(), referrer_digest).bytes);
    oci::Descriptor bundle_layer = oci::parse_manifest(referrer.dump()).layers.at(0);
    Json bundle = Json::parse(signed_image.client->get_blob_bytes(signed_image.repo(), bundle_layer));
    std::string statement = *util::base64_decode(bundle["dsseEnvelope"]["payload"].get<std::string>());
    bundle["dsseEnvelope"]["payload"] = b64(flip(statement, statement.find("predicateType") + 2));
    oci::Descriptor changed = put_blob(*signed_image.client, signed_image.repo(), bundle_layer.media_type, bundle.dump());
    referrer["layers"][0]["digest"] = changed.digest;
    referrer["layers"][0]["size"] = changed.size;
    oci::Descriptor new_referrer = oci::describe(oci::media_type::ImageManifest, referrer.dump());
    signed_image.client->put_manifest(signed_image.repo(), new_referrer.digest, referrer.dump(),
                                      oci::media_type::ImageManifest);
    index["manifests"][0]["digest"] = new_referrer.digest;
    index["manifests"][0]["size"] = new_referrer.size;
    signed_image.client->put_manifest(signed_image.repo(), referrers_tag(digest), index.dump(),
                                      oci::media_type::ImageIndex);
    signed_image.expect_rejected({}, "the DSSE signature does not verify with key");

    // An attestation's envelope in the .att tag.
    fs::path predicate = signed_image.work.path() / "predicate.json";
    util::write_file_atomic(predicate, R"({"value":"original"})");
    ASSERT_EQ(signed_image.cli
                  .slate({"attest", signed_image.image.digest_ref, "--key", signed_image.keys.key.string(), "--type",
                          "openvex", "--predicate", predicate.string()},
                         password_env())
                  .exit_code,
              0);
    signed_image.remove(referrers_tag(digest));
    const std::string tag = att_tag(digest);
    oci::Descriptor att_layer =
        oci::parse_manifest(signed_image.client->get_manifest(signed_image.repo(), tag).bytes).layers.at(0);
    Json envelope = Json::parse(signed_image.client->get_blob_bytes(signed_image.repo(), att_layer));
    std::string payload = *util::base64_decode(envelope["payload"].get<std::string>());
    envelope["payload"] = b64(flip(payload, payload.find("original")));
    signed_image.replace_legacy_layer(tag, envelope.dump());
    signed_image.expect_rejected({"--attestation", "openvex"}, "the DSSE signature does not verify with key");
}

// ------------------------------------------------------------ referrers API

TEST(CliSignReferrers, TheApiIsUsedWhenTheRegistryHasIt) {
    CliHome cli;
    TempDir work;
    KeyPair keys = make_keys(cli, work.path(), "signer");
    TestImage image = make_test_image(work.path() / "layout", {.archs = {"amd64"}});
    ASSERT_EQ(cli.slate({"sign", "oci:" + image.dir.string() + ":latest", "--key", keys.key.string()}, password_env())
                  .exit_code,
              0);
    // Serve the signed layout's referrer through a referrers API (an
    // in-process HTTP server over a directory tree).
    Json index_json = layout_index(image.dir);
    Json referrer_entry;
    for (const auto& entry : index_json["manifests"])
        if (entry.contains("artifactType")) referrer_entry = entry;
    ASSERT_TRUE(referrer_entry.is_object()) << index_json.dump(2);
    const std::string digest = image.top.digest;
    const std::string referrer_digest = referrer_entry["digest"].get<std::string>();
    TempDir root;
    fs::path v2 = root.path() / "v2" / "test" / "api";
    fs::create_directories(v2 / "referrers");
    fs::create_directories(v2 / "manifests");
    fs::create_directories(v2 / "blobs");
    auto blob = [&](const std::string& d) { return util::read_file(oci::blob_path(image.dir, d)); };
    util::write_file_atomic(v2 / "manifests" / referrer_digest, blob(referrer_digest));
    for (const auto& layer : oci::parse_manifest(blob(referrer_digest)).layers)
        util::write_file_atomic(v2 / "blobs" / layer.digest, blob(layer.digest));
    Json api_index = {{"schemaVersion", 2}, {"mediaType", oci::media_type::ImageIndex}, {"manifests", {referrer_entry}}};
    util::write_file_atomic(v2 / "referrers" / digest, api_index.dump());
    // A referrers tag schema index that names something else: were it read,
    // verification would look at an artifact that is not there.
    Json bogus = referrer_entry;
    bogus["digest"] = "sha256:" + std::string(64, 'b');
    Json tag_index = {{"schemaVersion", 2}, {"mediaType", oci::media_type::ImageIndex}, {"manifests", {bogus}}};
    util::write_file_atomic(v2 / "manifests" / referrers_tag(digest), tag_index.dump());
    HttpServer server(root.path());

    auto result = verify_json(cli, {"127.0.0.1:" + std::to_string(server.port()) + "/test/api@" + digest, "--key",
                                    keys.pub.string()});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(verified_locations(result), std::vector<std::string>{"referrer " + referrer_digest});
    EXPECT_EQ(result["signatures"].size(), 1u) << result.dump(2);
    EXPECT_EQ(server.request_count("/v2/test/api/referrers/" + digest), 1u);
    EXPECT_EQ(server.request_count("/v2/test/api/manifests/" + referrers_tag(digest)), 0u);
}

// ------------------------------------------------------------ transparency log

// `slate tlog serve` on a free port for the length of a test; it exits by
// itself once idle.
class LogServer {
public:
    LogServer(const CliHome& cli, const fs::path& dir, const KeyPair& keys) {
        fs::path port_file = dir / "port";
        m_process = cli.slate_async({"tlog", "serve", "--data", (dir / "data").string(), "--key", keys.key.string(),
                                     "--port-file", port_file.string(), "--idle-exit", "3"},
                                    password_env());
        for (int i = 0; i < 200 && !fs::exists(port_file); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::string port = trimmed(util::read_file(port_file));
        m_url = "http://127.0.0.1:" + port;
    }
    ~LogServer() {
        auto result = m_process.get();
        EXPECT_EQ(result.exit_code, 0) << result.err;
    }
    const std::string& url() const { return m_url; }

private:
    std::future<util::ProcessResult> m_process;
    std::string m_url;
};

TEST(CliSignTlog, EntriesAreEmbeddedAndCheckedOffline) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    KeyPair keys = make_keys(cli, work.path(), "signer");
    KeyPair log_keys = make_keys(cli, work.path(), "log");
    KeyPair other_log = make_keys(cli, work.path(), "otherlog");
    PushedImage logged = push_image(cli, registry, work.path(), "tlog/logged");
    PushedImage unlogged = push_image(cli, registry, work.path(), "tlog/unlogged", {"amd64"}, 2);
    fs::path predicate = work.path() / "sbom.json";
    util::write_file_atomic(predicate, R"({"spdxVersion":"SPDX-2.3"})");
    {
        LogServer log(cli, work.path() / "log", log_keys);
        auto sign = cli.slate({"sign", logged.digest_ref, "--key", keys.key.string(), "--tlog", log.url(), "--json"},
                              password_env());
        ASSERT_EQ(sign.exit_code, 0) << sign.err;
        EXPECT_EQ(Json::parse(sign.out)["manifests"][0]["tlogIndexes"].size(), 2u);  // payload and envelope
        ASSERT_EQ(cli.slate({"attest", logged.digest_ref, "--key", keys.key.string(), "--type", "spdxjson",
                             "--predicate", predicate.string(), "--tlog", log.url()},
                            password_env())
                      .exit_code,
                  0);
    }
    ASSERT_EQ(cli.slate({"sign", unlogged.digest_ref, "--key", keys.key.string()}, password_env()).exit_code, 0);

    // Checked offline, with the log's key: the log server is gone by now.
    auto result = verify_json(cli, {logged.digest_ref, "--key", keys.pub.string(), "--tlog-key", log_keys.pub.string()});
    ASSERT_TRUE(result.is_object());
    EXPECT_TRUE(result["tlogChecked"].get<bool>());
    EXPECT_EQ(verified_locations(result).size(), 2u) << result.dump(2);
    for (const auto& signature : result["signatures"]) EXPECT_TRUE(signature.contains("tlogIndex")) << signature;
    auto attested = verify_json(cli, {logged.digest_ref, "--key", keys.pub.string(), "--tlog-key",
                                      log_keys.pub.string(), "--attestation", "spdxjson"});
    EXPECT_EQ(verified_locations(attested).size(), 2u) << attested.dump(2);

    // cosign's legacy annotation carries the entry in Rekor-bundle form.
    Session session;
    auto sig = oci::parse_manifest(session.pool.client(registry.host()).get_manifest("tlog/logged",
                                                                                      sig_tag(logged.image.top.digest))
                                       .bytes);
    Json rekor = Json::parse(sig.layers.at(0).annotations.at("dev.sigstore.cosign/bundle"));
    EXPECT_TRUE(rekor.contains("SignedEntryTimestamp"));
    EXPECT_TRUE(rekor["Payload"].contains("logIndex"));

    // Another log's key, or no entry at all: rejected when a log is required...
    auto wrong_log = cli.slate({"verify", logged.digest_ref, "--key", keys.pub.string(), "--tlog-key",
                                other_log.pub.string()});
    EXPECT_EQ(wrong_log.exit_code, 3);
    EXPECT_NE(wrong_log.err.find("transparency log entry: "), std::string::npos) << wrong_log.err;
    auto no_entry = cli.slate({"verify", unlogged.digest_ref, "--key", keys.pub.string(), "--tlog-key",
                               log_keys.pub.string()});
    EXPECT_EQ(no_entry.exit_code, 3);
    EXPECT_NE(no_entry.err.find("no transparency log entry"), std::string::npos) << no_entry.err;
    // ...and fine without --tlog-key, which the output says.
    auto air_gapped = cli.slate({"verify", unlogged.digest_ref, "--key", keys.pub.string()});
    EXPECT_EQ(air_gapped.exit_code, 0);
    EXPECT_NE(air_gapped.out.find("No transparency log was checked"), std::string::npos);
}

}  // namespace
}  // namespace slate::test
