// cosign's documents, byte for byte: the simple-signing payload (golden
// strings from sigstore's own payload tests), the .sig/.att images as
// go-containerregistry writes them, the Rekor bundle annotation, the v3
// signing statement and the bundle referrer manifest.
#include "slate/sign/cosign.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign::cosign {
namespace {

constexpr const char* Digest = "sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f";

template <typename F>
void expect_error(F&& f, ErrorCode code, const std::string& fragment) {
    try {
        f();
        ADD_FAILURE() << "no error; expected one containing: " << fragment;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.describe();
        EXPECT_NE(e.describe().find(fragment), std::string::npos) << e.describe();
    }
}

TEST(CosignPayload, MatchesSigstoresMarshalling) {
    // sigstore/sigstore pkg/signature/payload/payload_test.go, "no claims".
    EXPECT_EQ(make_payload("example.com/test/image", Digest),
              R"({"critical":{"identity":{"docker-reference":"example.com/test/image"},"image":{"docker-manifest-digest":"sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f"},"type":"cosign container image signature"},"optional":null})");
    // -a values are strings; Go sorts the map's keys.
    EXPECT_EQ(make_payload("example.com/atomic/test/image", Digest, {{"timestamp", "1458239713"}, {"creator", "atomic"}}),
              R"({"critical":{"identity":{"docker-reference":"example.com/atomic/test/image"},"image":{"docker-manifest-digest":"sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f"},"type":"cosign container image signature"},"optional":{"creator":"atomic","timestamp":"1458239713"}})");
}

TEST(CosignPayload, EscapesAsGoDoes) {
    std::string payload = make_payload("r", Digest, {{"html", "<a&b>"}, {"ctl", "\x01\t\"\\"}, {"sep", "\xE2\x80\xA8"},
                                                     {"utf8", "caf\xC3\xA9"}});
    EXPECT_NE(payload.find(R"("html":"\u003ca\u0026b\u003e")"), std::string::npos) << payload;
    EXPECT_NE(payload.find(R"("ctl":"\u0001\t\"\\")"), std::string::npos) << payload;
    EXPECT_NE(payload.find(R"("sep":"\u2028")"), std::string::npos) << payload;
    EXPECT_NE(payload.find("\"utf8\":\"caf\xC3\xA9\""), std::string::npos) << payload;  // UTF-8 stays as is
    // The keys come out sorted by bytes.
    EXPECT_LT(payload.find("\"ctl\""), payload.find("\"html\""));
    EXPECT_LT(payload.find("\"sep\""), payload.find("\"utf8\""));
    expect_error([] { make_payload("r", Digest, {{"bad", "\xC3"}}); }, ErrorCode::Usage, "not valid UTF-8");
}

TEST(CosignPayload, ParsesWhatCosignSigns) {
    SimpleSigning parsed = parse_payload(make_payload("example.com/x", Digest, {{"k", "v"}}));
    EXPECT_EQ(parsed.docker_reference, "example.com/x");
    EXPECT_EQ(parsed.manifest_digest, Digest);
    EXPECT_EQ(parsed.type, SignaturePayloadType);
    EXPECT_EQ(parsed.optional, nlohmann::json({{"k", "v"}}));
    EXPECT_TRUE(parse_payload(make_payload("r", Digest)).optional.is_null());
    expect_error([] { parse_payload("not json"); }, ErrorCode::Parse, "not a JSON object");
    expect_error([] { parse_payload(R"({"critical":{"type":"cosign container image signature"}})"); },
                 ErrorCode::Parse, "docker-manifest-digest");
    expect_error([] { parse_payload(R"({"critical":{"image":{"docker-manifest-digest":"sha256:1"}}})"); },
                 ErrorCode::Parse, "critical.type");
}

TEST(CosignNames, ReferencesAndTags) {
    EXPECT_EQ(docker_reference("docker.io", "library/alpine"), "index.docker.io/library/alpine");
    EXPECT_EQ(docker_reference("127.0.0.1:5000", "app"), "127.0.0.1:5000/app");
    EXPECT_EQ(signature_tag(Digest), "sha256-d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f.sig");
    EXPECT_EQ(attestation_tag(Digest), "sha256-d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f.att");
    expect_error([] { signature_tag("sha512:abcd"); }, ErrorCode::Usage, "not a sha256 digest");
}

TEST(CosignSignatureImage, ConfigAndManifestAsGoContainerregistryWritesThem) {
    const std::string payload = make_payload("example.com/test/image", Digest);
    SignatureImage image;
    EXPECT_TRUE(image.add(signature_layer(payload, "sig-bytes")));
    const std::string layer_digest = "sha256:" + util::sha256_hex(payload);
    const std::string config = image.config_json();
    EXPECT_EQ(config, R"({"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[")" +
                          layer_digest + R"("]},"config":{}})");
    EXPECT_EQ(image.config_descriptor().digest, "sha256:" + util::sha256_hex(config));
    const std::string expected_manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":)" +
        std::to_string(config.size()) + R"(,"digest":"sha256:)" + util::sha256_hex(config) +
        R"("},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":)" +
        std::to_string(payload.size()) + R"(,"digest":")" + layer_digest +
        R"(","annotations":{"dev.cosignproject.cosign/signature":")" + util::base64_encode("sig-bytes") + R"("}}]})";
    EXPECT_EQ(image.manifest_json(), expected_manifest);
}

TEST(CosignSignatureImage, AppendsAndSkipsIdenticalLayers) {
    const std::string payload = make_payload("r", Digest);
    SignatureImage image;
    ASSERT_TRUE(image.add(signature_layer(payload, "one")));
    EXPECT_FALSE(image.add(signature_layer(payload, "one")));  // identical: not added twice
    EXPECT_TRUE(image.add(signature_layer(payload, "two")));   // another signature of the same payload
    ASSERT_EQ(image.layers().size(), 2u);

    // What is read back from a registry appends in order, and keeps the annotations.
    SignatureImage again = SignatureImage::parse(image.manifest_json(), "tag");
    ASSERT_EQ(again.layers().size(), 2u);
    EXPECT_EQ(again.layers()[1].annotations.at(std::string(SignatureAnnotation)), util::base64_encode("two"));
    EXPECT_TRUE(again.add(attestation_layer(R"({"payloadType":"x"})", "https://slsa.dev/provenance/v1")));
    EXPECT_EQ(again.layers().size(), 3u);
    EXPECT_NE(again.config_json().find("\"history\":[{\"created\":\"0001-01-01T00:00:00Z\"},{\"created\""),
              std::string::npos);
    expect_error([] { SignatureImage::parse("[]", "sha256-x.sig"); }, ErrorCode::Parse, "sha256-x.sig");
}

TEST(CosignSignatureImage, AttestationLayerAnnotations) {
    oci::Descriptor layer = attestation_layer("{}", "https://spdx.dev/Document", std::string("{\"rekor\":1}"));
    EXPECT_EQ(layer.media_type, DsseEnvelopeMediaType);
    EXPECT_EQ(layer.annotations.at("predicateType"), "https://spdx.dev/Document");
    EXPECT_EQ(layer.annotations.at(std::string(SignatureAnnotation)), "");  // cosign leaves it empty
    EXPECT_EQ(layer.annotations.at(std::string(RekorBundleAnnotation)), "{\"rekor\":1}");
}

TEST(CosignRekorBundle, WritesAndReadsTheAnnotation) {
    TransparencyLogEntry entry;
    entry.log_index = 5179;
    entry.log_id = *util::from_hex("c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d");
    entry.integrated_time = 1624396085;
    entry.signed_entry_timestamp = "set-bytes";
    entry.canonicalized_body = R"({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}})";
    auto annotation = rekor_bundle_annotation(entry);
    ASSERT_TRUE(annotation);
    EXPECT_EQ(*annotation, R"({"SignedEntryTimestamp":")" + util::base64_encode("set-bytes") +
                               R"(","Payload":{"body":")" + util::base64_encode(entry.canonicalized_body) +
                               R"(","integratedTime":1624396085,"logIndex":5179,"logID":"c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"}})");
    TransparencyLogEntry back = parse_rekor_bundle_annotation(*annotation);
    EXPECT_EQ(back.log_index, 5179);
    EXPECT_EQ(back.log_id, entry.log_id);
    EXPECT_EQ(back.integrated_time, 1624396085);
    EXPECT_EQ(back.signed_entry_timestamp, entry.signed_entry_timestamp);
    EXPECT_EQ(back.canonicalized_body, entry.canonicalized_body);
    EXPECT_EQ(back.kind, "hashedrekord");
    EXPECT_EQ(back.kind_version, "0.0.1");

    entry.signed_entry_timestamp.reset();
    EXPECT_FALSE(rekor_bundle_annotation(entry));
    expect_error([] { parse_rekor_bundle_annotation(R"({"SignedEntryTimestamp":"AA=="})"); }, ErrorCode::Parse,
                 "Payload missing");
}

TEST(CosignReferrer, SignStatementIsWhatCosignV3Signs) {
    std::string statement = make_sign_statement(Digest);
    EXPECT_EQ(statement, R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}})");
    Statement parsed = parse_statement(make_sign_statement(Digest, {{"build", "7"}}));
    EXPECT_EQ(parsed.predicate_type, SignPredicateType);
    ASSERT_EQ(parsed.subjects.size(), 1u);
    EXPECT_EQ(parsed.subjects[0].digest.at("sha256"), std::string(Digest).substr(7));
    EXPECT_NE(make_sign_statement(Digest, {{"build", "7"}}).find(R"("annotations":{"build":"7"})"), std::string::npos);
}

TEST(CosignReferrer, BundleManifestFollowsTheBundleSpec) {
    oci::Descriptor subject = oci::describe(oci::media_type::ImageIndex, R"({"manifests":[]})");
    subject.annotations["x"] = "dropped";
    oci::Descriptor layer = oci::describe(BundleMediaTypeV03, R"({"mediaType":"..."})");
    oci::Manifest manifest = bundle_referrer(subject, layer, BundleContentDsse, "https://slsa.dev/provenance/v1", 1700000000);
    nlohmann::json doc = nlohmann::json::parse(oci::to_json(manifest));
    EXPECT_EQ(doc["artifactType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    EXPECT_EQ(doc["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
    EXPECT_EQ(doc["config"]["digest"], "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    EXPECT_EQ(doc["config"]["size"], 2);
    ASSERT_EQ(doc["layers"].size(), 1u);
    EXPECT_EQ(doc["layers"][0]["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    EXPECT_EQ(doc["layers"][0]["digest"], layer.digest);
    EXPECT_EQ(doc["subject"], nlohmann::json({{"mediaType", subject.media_type},
                                              {"digest", subject.digest},
                                              {"size", subject.size}}));
    EXPECT_EQ(doc["annotations"], nlohmann::json({{"dev.sigstore.bundle.content", "dsse-envelope"},
                                                  {"dev.sigstore.bundle.predicateType", "https://slsa.dev/provenance/v1"},
                                                  {"org.opencontainers.image.created", "2023-11-14T22:13:20Z"}}));
}

}  // namespace
}  // namespace slate::sign::cosign
