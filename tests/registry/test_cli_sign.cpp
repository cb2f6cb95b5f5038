// `slate sign`, `attest` and `verify` against Debian's docker-registry
// (distribution 2.8, which has no referrers API: the referrers tag schema is
// used), including documents built by hand in cosign's formats, concurrent
// attestations, the verification cache and the transparency log.
#include <gtest/gtest.h>

#include <future>

#include "slate/sign/dsse.hpp"
#include "test_cli_sign_support.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

TEST(CliSign, SignAttestVerifyEndToEnd) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    KeyPair keys = make_keys(cli, work.path(), "signer");
    PushedImage image = push_image(cli, registry, work.path(), "sign/app");

    auto sign = cli.slate({"sign", image.tag_ref, "--key", keys.key.string(), "-a", "build=42", "--json"},
                          password_env());
    ASSERT_EQ(sign.exit_code, 0) << sign.err;
    auto report = nlohmann::json::parse(sign.out);
    ASSERT_EQ(report["manifests"].size(), 1u);
    EXPECT_EQ(report["manifests"][0]["digest"], image.image.top.digest);
    EXPECT_EQ(report["manifests"][0]["legacyTag"], sig_tag(image.image.top.digest));
    EXPECT_TRUE(report["manifests"][0]["legacyAdded"].get<bool>());

    // Both stores are found: the bundle referrer (through the referrers tag
    // schema) and the legacy .sig tag.
    auto result = verify_json(cli, {image.tag_ref, "--key", keys.pub.string()});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(result["digest"], image.image.top.digest);
    EXPECT_EQ(result["policy"], "signature");
    EXPECT_FALSE(result["tlogChecked"].get<bool>());
    auto locations = verified_locations(result);
    EXPECT_EQ(count_prefix(locations, "referrer sha256:"), 1u) << result.dump(2);
    EXPECT_EQ(count_prefix(locations, "tag " + sig_tag(image.image.top.digest)), 1u) << result.dump(2);

    // The text output says no log was consulted.
    auto text = cli.slate({"verify", image.tag_ref, "--key", keys.pub.string()});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_NE(text.out.find("No transparency log was checked"), std::string::npos) << text.out;

    // What is in the registry is cosign's layout: the payload with -a in "optional".
    Session session;
    registry::Client& client = session.pool.client(registry.host());
    oci::Manifest sig = oci::parse_manifest(client.get_manifest("sign/app", sig_tag(image.image.top.digest)).bytes);
    ASSERT_EQ(sig.layers.size(), 1u);
    EXPECT_EQ(sig.layers[0].media_type, "application/vnd.dev.cosign.simplesigning.v1+json");
    EXPECT_FALSE(sig.layers[0].annotations.at("dev.cosignproject.cosign/signature").empty());
    auto payload = nlohmann::json::parse(client.get_blob_bytes("sign/app", sig.layers[0]));
    EXPECT_EQ(payload["critical"]["image"]["docker-manifest-digest"], image.image.top.digest);
    EXPECT_EQ(payload["critical"]["identity"]["docker-reference"], registry.host() + "/sign/app");
    EXPECT_EQ(payload["optional"], nlohmann::json({{"build", "42"}}));
    auto referrers = nlohmann::json::parse(client.get_manifest("sign/app", referrers_tag(image.image.top.digest)).bytes);
    ASSERT_EQ(referrers["manifests"].size(), 1u);
    EXPECT_EQ(referrers["manifests"][0]["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    EXPECT_EQ(referrers["manifests"][0]["annotations"]["dev.sigstore.bundle.predicateType"],
              "https://sigstore.dev/cosign/sign/v1");

    // Signing the same payload again adds no second .sig layer (cosign's
    // duplicate detection); the bundle referrer is a new artifact.
    auto again = cli.slate({"sign", image.tag_ref, "--key", keys.key.string(), "-a", "build=42", "--json"},
                           password_env());
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_FALSE(nlohmann::json::parse(again.out)["manifests"][0]["legacyAdded"].get<bool>());
    EXPECT_EQ(oci::parse_manifest(client.get_manifest("sign/app", sig_tag(image.image.top.digest)).bytes).layers.size(),
              1u);

    // Attest, then verify the attestation and print its predicate.
    fs::path predicate = work.path() / "provenance.json";
    util::write_file_atomic(predicate, R"({"buildDefinition":{"buildType":"https://slate.dev/build/v1"}})");
    auto attest = cli.slate({"attest", image.digest_ref, "--key", keys.key.string(), "--type", "slsaprovenance1",
                             "--predicate", predicate.string()},
                            password_env());
    ASSERT_EQ(attest.exit_code, 0) << attest.err;
    auto attested = verify_json(cli, {image.digest_ref, "--key", keys.pub.string(), "--attestation", "slsaprovenance1"});
    ASSERT_TRUE(attested.is_object());
    EXPECT_EQ(attested["policy"], "attestation https://slsa.dev/provenance/v1");
    auto attestation_locations = verified_locations(attested);
    EXPECT_EQ(count_prefix(attestation_locations, "referrer "), 1u) << attested.dump(2);
    EXPECT_EQ(count_prefix(attestation_locations, "tag " + att_tag(image.image.top.digest)), 1u) << attested.dump(2);
    EXPECT_EQ(attested["signatures"][0]["predicate"]["buildDefinition"]["buildType"], "https://slate.dev/build/v1");
    auto printed = cli.slate({"verify", image.digest_ref, "--key", keys.pub.string(), "--attestation",
                              "slsaprovenance1", "--print-predicate"});
    ASSERT_EQ(printed.exit_code, 0) << printed.err;
    EXPECT_EQ(nlohmann::json::parse(printed.out),
              nlohmann::json::parse(R"({"buildDefinition":{"buildType":"https://slate.dev/build/v1"}})"));
    // Attestations are not signatures: a signature check still sees only the two signatures.
    auto signatures = verify_json(cli, {image.digest_ref, "--key", keys.pub.string(), "--no-cache"});
    EXPECT_EQ(verified_locations(signatures).size(), 3u);  // two referrers (signed twice) + one .sig layer

    // Another predicate type was never attested: exit 3, saying what was looked for.
    auto spdx = cli.slate({"verify", image.digest_ref, "--key", keys.pub.string(), "--attestation", "spdx"});
    EXPECT_EQ(spdx.exit_code, 3) << spdx.err;
    EXPECT_NE(spdx.err.find("no attestation of type https://spdx.dev/Document found"), std::string::npos) << spdx.err;
}

TEST(CliSign, ExitCodes) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    KeyPair keys = make_keys(cli, work.path(), "signer");
    KeyPair other = make_keys(cli, work.path(), "other");
    PushedImage image = push_image(cli, registry, work.path(), "sign/codes");

    // 3: nothing signed yet, and then signed with another key.
    auto unsigned_image = cli.slate({"verify", image.digest_ref, "--key", keys.pub.string()});
    EXPECT_EQ(unsigned_image.exit_code, 3);
    EXPECT_NE(unsigned_image.err.find("no signature found for " + image.digest_ref), std::string::npos)
        << unsigned_image.err;
    ASSERT_EQ(cli.slate({"sign", image.digest_ref, "--key", keys.key.string()}, password_env()).exit_code, 0);
    auto wrong_key = cli.slate({"verify", image.digest_ref, "--key", other.pub.string()});
    EXPECT_EQ(wrong_key.exit_code, 3);
    EXPECT_NE(wrong_key.err.find("does not verify"), std::string::npos) << wrong_key.err;
    // 0: the right key.
    EXPECT_EQ(cli.slate({"verify", image.digest_ref, "--key", keys.pub.string()}).exit_code, 0);
    // 2: usage (no --key; --print-predicate without --attestation; a bad -a).
    EXPECT_EQ(cli.slate({"verify", image.digest_ref}).exit_code, 2);
    EXPECT_EQ(cli.slate({"verify", image.digest_ref, "--key", keys.pub.string(), "--print-predicate"}).exit_code, 2);
    EXPECT_EQ(cli.slate({"sign", image.digest_ref, "--key", keys.key.string(), "-a", "novalue"}, password_env())
                  .exit_code,
              2);
    // 1: errors (a missing key file; a private key given to verify; no registry there).
    EXPECT_EQ(cli.slate({"verify", image.digest_ref, "--key", (work.path() / "missing.pub").string()}).exit_code, 1);
    auto private_key = cli.slate({"verify", image.digest_ref, "--key", keys.key.string()});
    EXPECT_NE(private_key.exit_code, 0);
    EXPECT_NE(private_key.exit_code, 3);
    auto nothing_there = cli.slate({"--retries", "0", "verify", "127.0.0.1:1/none/app:1", "--key", keys.pub.string()});
    EXPECT_EQ(nothing_there.exit_code, 1) << nothing_there.err;
}

TEST(CliSign, RecursiveSignsEveryPlatformOfAnIndex) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    KeyPair keys = make_keys(cli, work.path(), "signer");
    PushedImage image = push_image(cli, registry, work.path(), "sign/multi", {"amd64", "arm64"});
    ASSERT_EQ(image.image.manifests.size(), 2u);

    auto sign = cli.slate({"sign", image.tag_ref, "--key", keys.key.string(), "--recursive", "--json"}, password_env());
    ASSERT_EQ(sign.exit_code, 0) << sign.err;
    auto report = nlohmann::json::parse(sign.out);
    ASSERT_EQ(report["manifests"].size(), 3u);  // the index and both platform manifests
    std::set<std::string> signed_digests;
    for (const auto& entry : report["manifests"]) signed_digests.insert(entry["digest"].get<std::string>());
    EXPECT_TRUE(signed_digests.contains(image.image.top.digest));
    for (const auto& manifest : image.image.manifests) EXPECT_TRUE(signed_digests.contains(manifest.digest));

    EXPECT_EQ(cli.slate({"verify", image.tag_ref, "--key", keys.pub.string()}).exit_code, 0);
    auto arm = verify_json(cli, {image.tag_ref, "--key", keys.pub.string(), "--platform", "linux/arm64"});
    ASSERT_TRUE(arm.is_object());
    EXPECT_EQ(arm["digest"], image.image.manifests[1].digest);
    EXPECT_EQ(verified_locations(arm).size(), 2u);

    // Without --recursive only the index is signed.
    PushedImage other = push_image(cli, registry, work.path(), "sign/multi2", {"amd64", "arm64"}, 2);
    ASSERT_EQ(cli.slate({"sign", other.tag_ref, "--key", keys.key.string()}, password_env()).exit_code, 0);
    EXPECT_EQ(cli.slate({"verify", other.tag_ref, "--key", keys.pub.string()}).exit_code, 0);
    auto platform = cli.slate({"verify", other.tag_ref, "--key", keys.pub.string(), "--platform", "linux/arm64"});
    EXPECT_EQ(platform.exit_code, 3);
    EXPECT_NE(platform.err.find("no signature found for " + registry.host() + "/sign/multi2@" +
                                other.image.manifests[1].digest),
              std::string::npos)
        << platform.err;
}

// ------------------------------------------------------------ cosign's own documents

TEST(CliSign, VerifiesACosignV2SignatureImage) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    PushedImage image = push_image(cli, registry, work.path(), "cosign/v2");
    Session session;
    registry::Client& client = session.pool.client(registry.host());
    const std::string digest = image.image.top.digest;

    // Exactly what `cosign sign --key cosign.key` (v2) pushes: the payload
    // sigstore marshals, its signature in the layer annotation.
    const std::string payload = R"({"critical":{"identity":{"docker-reference":")" + registry.host() +
                                R"(/cosign/v2"},"image":{"docker-manifest-digest":")" + digest +
                                R"("},"type":"cosign container image signature"},"optional":null})";
    const std::string signature = cosign_vector_key().sign(payload);
    oci::Descriptor layer = put_blob(client, "cosign/v2", "application/vnd.dev.cosign.simplesigning.v1+json", payload);
    std::string manifest = cosign_v2_image(
        client, "cosign/v2", layer.digest,
        descriptor_json(layer, R"(,"annotations":{"dev.cosignproject.cosign/signature":")" + b64(signature) + "\"}"));
    client.put_manifest("cosign/v2", sig_tag(digest), manifest, oci::media_type::ImageManifest);

    auto result = verify_json(cli, {image.tag_ref, "--key", cosign_vector_pub().string()});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(verified_locations(result), std::vector<std::string>{"tag " + sig_tag(digest) + " layer 0"});
    EXPECT_EQ(result["signatures"][0]["format"], "simple signing");

    // slate appends its own signature to cosign's image, keeping cosign's.
    KeyPair keys = make_keys(cli, work.path(), "slate");
    ASSERT_EQ(cli.slate({"sign", image.tag_ref, "--key", keys.key.string()}, password_env()).exit_code, 0);
    auto layers = oci::parse_manifest(client.get_manifest("cosign/v2", sig_tag(digest)).bytes).layers;
    ASSERT_EQ(layers.size(), 2u);
    EXPECT_EQ(layers[0].digest, layer.digest);
    EXPECT_EQ(cli.slate({"verify", image.tag_ref, "--key", cosign_vector_pub().string(), "--no-cache"}).exit_code, 0);
    EXPECT_EQ(cli.slate({"verify", image.tag_ref, "--key", keys.pub.string(), "--no-cache"}).exit_code, 0);
}

TEST(CliSign, VerifiesACosignV3BundleReferrer) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    PushedImage image = push_image(cli, registry, work.path(), "cosign/v3");
    Session session;
    registry::Client& client = session.pool.client(registry.host());
    const std::string digest = image.image.top.digest;
    sign::PrivateKey key = cosign_vector_key();

    // `cosign sign --new-bundle-format --tlog-upload=false`: a DSSE statement
    // with predicate type https://sigstore.dev/cosign/sign/v1 in a bundle v0.3.
    const std::string statement = R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":")" +
                                  digest.substr(7) +
                                  R"("}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}})";
    const std::string signature = key.sign(dsse_pae("application/vnd.in-toto+json", statement));
    const std::string hint = b64(sign::digest(sign::HashAlgorithm::Sha256, key.public_key().der()));
    const std::string bundle =
        R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":")" +
        hint + R"("}},"dsseEnvelope":{"payload":")" + b64(statement) +
        R"(","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":")" + b64(signature) + R"("}]}})";
    oci::Descriptor layer = put_blob(client, "cosign/v3", "application/vnd.dev.sigstore.bundle.v0.3+json", bundle);
    oci::Descriptor config = put_blob(client, "cosign/v3", "application/vnd.oci.empty.v1+json", "{}");
    const std::string annotations =
        R"({"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1","org.opencontainers.image.created":"2025-06-01T12:00:00Z"})";
    const std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
        descriptor_json(config, R"(,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json")") +
        R"(,"layers":[)" + descriptor_json(layer) + R"(],"annotations":)" + annotations + R"(,"subject":)" +
        descriptor_json(image.image.top) + R"(,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"})";
    oci::Descriptor referrer = oci::describe(oci::media_type::ImageManifest, manifest);
    client.put_manifest("cosign/v3", referrer.digest, manifest, oci::media_type::ImageManifest);
    // The registry has no referrers API, so the referrers tag schema index
    // is written as go-containerregistry does.
    const std::string index =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)" +
        descriptor_json(referrer, R"(,"annotations":)" + annotations +
                                      R"(,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json")") +
        "]}";
    client.put_manifest("cosign/v3", referrers_tag(digest), index, oci::media_type::ImageIndex);

    auto result = verify_json(cli, {image.digest_ref, "--key", cosign_vector_pub().string()});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(verified_locations(result), std::vector<std::string>{"referrer " + referrer.digest});
    EXPECT_EQ(result["signatures"][0]["format"], "bundle (dsse)");
}

TEST(CliSign, ReadsAMessageSignatureBundle) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    PushedImage image = push_image(cli, registry, work.path(), "bundle/message");
    Session session;
    registry::Client& client = session.pool.client(registry.host());
    const std::string digest = image.image.top.digest;
    sign::PrivateKey key = cosign_vector_key();

    // The other content the bundle spec allows: a message signature. For an
    // image given by digest (sigstore-go's WithArtifactDigest) the message is
    // the manifest itself.
    const std::string manifest_bytes = client.get_manifest("bundle/message", digest).bytes;
    auto push_bundle = [&](const std::string& message_digest, const std::string& signature) {
        const std::string bundle =
            R"({"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"messageSignature":{"messageDigest":{"algorithm":"SHA2_256","digest":")" +
            b64(message_digest) + R"("},"signature":")" + b64(signature) + R"("}})";
        oci::Descriptor layer = put_blob(client, "bundle/message", "application/vnd.dev.sigstore.bundle.v0.3+json", bundle);
        oci::Descriptor config = put_blob(client, "bundle/message", "application/vnd.oci.empty.v1+json", "{}");
        oci::Manifest referrer;
        referrer.artifact_type = "application/vnd.dev.sigstore.bundle.v0.3+json";
        referrer.config = config;
        referrer.layers = {layer};
        referrer.subject = oci::describe(image.image.top.media_type, manifest_bytes);
        referrer.annotations["dev.sigstore.bundle.content"] = "message-signature";
        return client.put_referrer("bundle/message", referrer).digest;
    };
    const std::string raw_digest = sign::digest(sign::HashAlgorithm::Sha256, manifest_bytes);
    const std::string good = push_bundle(raw_digest, key.sign(manifest_bytes));
    auto result = verify_json(cli, {image.digest_ref, "--key", cosign_vector_pub().string(), "--no-cache"});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(verified_locations(result), std::vector<std::string>{"referrer " + good});
    EXPECT_EQ(result["signatures"][0]["format"], "bundle (message signature)");

    // A message signature over something else names another digest.
    (void)push_bundle(sign::digest(sign::HashAlgorithm::Sha256, "another manifest"), key.sign("another manifest"));
    result = verify_json(cli, {image.digest_ref, "--key", cosign_vector_pub().string(), "--no-cache"});
    ASSERT_TRUE(result.is_object());
    ASSERT_EQ(result["signatures"].size(), 2u);
    EXPECT_FALSE(result["signatures"][1]["verified"].get<bool>());
    EXPECT_NE(result["signatures"][1]["failure"].get<std::string>().find("the message signature is over sha256:"),
              std::string::npos)
        << result.dump(2);
}

TEST(CliSign, VerifiesACosignAttestation) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    PushedImage image = push_image(cli, registry, work.path(), "cosign/att");
    Session session;
    registry::Client& client = session.pool.client(registry.host());
    const std::string digest = image.image.top.digest;

    // `cosign attest --type slsaprovenance1` (v2): an in-toto statement in a
    // DSSE envelope (the dsse library's JSON) under the .att tag.
    const std::string statement =
        R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":")" + registry.host() +
        R"(/cosign/att","digest":{"sha256":")" + digest.substr(7) +
        R"("}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://example.com/cosign-made"}}})";
    const std::string signature = cosign_vector_key().sign(dsse_pae("application/vnd.in-toto+json", statement));
    const std::string envelope = R"({"payloadType":"application/vnd.in-toto+json","payload":")" + b64(statement) +
                                 R"(","signatures":[{"keyid":"","sig":")" + b64(signature) + R"("}]})";
    oci::Descriptor layer = put_blob(client, "cosign/att", "application/vnd.dsse.envelope.v1+json", envelope);
    std::string manifest = cosign_v2_image(
        client, "cosign/att", layer.digest,
        descriptor_json(layer,
                        R"(,"annotations":{"dev.cosignproject.cosign/signature":"","predicateType":"https://slsa.dev/provenance/v1"})"));
    client.put_manifest("cosign/att", att_tag(digest), manifest, oci::media_type::ImageManifest);

    auto printed = cli.slate({"verify", image.tag_ref, "--key", cosign_vector_pub().string(), "--attestation",
                              "slsaprovenance1", "--print-predicate"});
    ASSERT_EQ(printed.exit_code, 0) << printed.err;
    EXPECT_EQ(nlohmann::json::parse(printed.out)["buildDefinition"]["buildType"], "https://example.com/cosign-made");
    EXPECT_NE(printed.err.find("tag " + att_tag(digest) + " layer 0"), std::string::npos) << printed.err;
    // Another type is not this attestation.
    EXPECT_EQ(cli.slate({"verify", image.tag_ref, "--key", cosign_vector_pub().string(), "--attestation", "spdx"})
                  .exit_code,
              3);
}

// ------------------------------------------------------------ concurrency

TEST(CliSign, ConcurrentAttestationsAreAllKept) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    KeyPair keys = make_keys(cli, work.path(), "signer");
    PushedImage image = push_image(cli, registry, work.path(), "sign/race");
    constexpr int Writers = 6;
    std::vector<std::future<util::ProcessResult>> running;
    for (int i = 0; i < Writers; ++i) {
        fs::path predicate = work.path() / ("predicate-" + std::to_string(i) + ".json");
        util::write_file_atomic(predicate, R"({"writer":)" + std::to_string(i) + "}");
        running.push_back(cli.slate_async({"attest", image.digest_ref, "--key", keys.key.string(), "--type",
                                           "https://example.com/race/v1", "--predicate", predicate.string()},
                                          password_env()));
    }
    for (auto& writer : running) {
        auto result = writer.get();
        EXPECT_EQ(result.exit_code, 0) << result.err;
    }

    Session session;
    registry::Client& client = session.pool.client(registry.host());
    const std::string digest = image.image.top.digest;
    auto att = oci::parse_manifest(client.get_manifest("sign/race", att_tag(digest)).bytes);
    EXPECT_EQ(att.layers.size(), static_cast<std::size_t>(Writers));
    EXPECT_EQ(client.referrers("sign/race", digest).size(), static_cast<std::size_t>(Writers));

    // Every writer's predicate verifies, from both places.
    auto result = verify_json(cli, {image.digest_ref, "--key", keys.pub.string(), "--attestation",
                                    "https://example.com/race/v1"});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(count_prefix(verified_locations(result), "referrer "), static_cast<std::size_t>(Writers));
    EXPECT_EQ(count_prefix(verified_locations(result), "tag "), static_cast<std::size_t>(Writers));
    std::set<int> writers;
    for (const auto& signature : result["signatures"]) writers.insert(signature["predicate"]["writer"].get<int>());
    EXPECT_EQ(writers.size(), static_cast<std::size_t>(Writers));
}

// ------------------------------------------------------------ the cache

TEST(CliSign, CachedVerificationNeedsNoRegistryForADigest) {
    RegistryServer registry;
    CliHome cli;
    TempDir work;
    KeyPair keys = make_keys(cli, work.path(), "signer");
    KeyPair other = make_keys(cli, work.path(), "other");
    PushedImage image = push_image(cli, registry, work.path(), "sign/cache");
    ASSERT_EQ(cli.slate({"sign", image.digest_ref, "--key", keys.key.string()}, password_env()).exit_code, 0);

    // A failure is never cached: `other` fails now, and passes once it has signed.
    EXPECT_EQ(cli.slate({"verify", image.digest_ref, "--key", other.pub.string()}).exit_code, 3);
    auto first = verify_json(cli, {image.digest_ref, "--key", keys.pub.string()});
    ASSERT_TRUE(first.is_object());
    EXPECT_FALSE(first["cached"].get<bool>());
    auto second = verify_json(cli, {image.digest_ref, "--key", keys.pub.string()});
    ASSERT_TRUE(second.is_object());
    EXPECT_TRUE(second["cached"].get<bool>());
    EXPECT_EQ(second["signatures"], first["signatures"]);
    EXPECT_TRUE(fs::is_directory(cli.home() / "cache" / "slate" / "verify"));

    // With the registry gone, the cached result is all there is: a digest
    // reference with the same key and policy still verifies...
    registry.kill();
    auto offline = verify_json(cli, {image.digest_ref, "--key", keys.pub.string()});
    ASSERT_TRUE(offline.is_object());
    EXPECT_TRUE(offline["cached"].get<bool>());
    // ...and anything else misses: another key, another policy, a tag (one
    // HEAD to resolve it), --no-cache.
    auto miss = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--retries", "0", "verify"});
        auto result = cli.slate(args);
        EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
    };
    miss({image.digest_ref, "--key", other.pub.string()});
    miss({image.digest_ref, "--key", keys.pub.string(), "--attestation", "spdx"});
    miss({image.tag_ref, "--key", keys.pub.string()});
    miss({image.digest_ref, "--key", keys.pub.string(), "--no-cache"});

    registry.restart();
    ASSERT_EQ(cli.slate({"sign", image.digest_ref, "--key", other.key.string()}, password_env()).exit_code, 0);
    EXPECT_EQ(cli.slate({"verify", image.digest_ref, "--key", other.pub.string()}).exit_code, 0);
    // A tag hits the cache after its one HEAD.
    auto tagged = verify_json(cli, {image.tag_ref, "--key", keys.pub.string()});
    ASSERT_TRUE(tagged.is_object());
    EXPECT_TRUE(tagged["cached"].get<bool>());
}

}  // namespace
}  // namespace slate::test
