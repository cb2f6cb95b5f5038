// Sigstore bundles: reading every media type the conformance suite uses,
// writing v0.3 and reading it back, and malformed bundles.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/sign/bundle.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/expect.hpp"
#include "support/paths.hpp"

namespace slate::sign {
namespace {

namespace fs = std::filesystem;

std::string bundle_text(const std::string& name) {
    return util::read_file(test::shared_vectors() / "sigstore-conformance" / name / "bundle.sigstore.json");
}

TEST(Bundle, ReadsAV01BundleWithACertificateChain) {
    Bundle bundle = parse_bundle(bundle_text("happy-path-v0.1"));
    EXPECT_EQ(bundle.media_type, "application/vnd.dev.sigstore.bundle+json;version=0.1");
    const auto* chain = std::get_if<CertificateChain>(&bundle.verification_material.content);
    ASSERT_NE(chain, nullptr);
    EXPECT_FALSE(chain->certificates.empty());
    EXPECT_EQ(static_cast<unsigned char>(chain->certificates[0][0]), 0x30u);  // DER SEQUENCE
    ASSERT_EQ(bundle.verification_material.tlog_entries.size(), 1u);
    const auto& entry = bundle.verification_material.tlog_entries[0];
    EXPECT_EQ(entry.kind, "hashedrekord");
    EXPECT_EQ(entry.kind_version, "0.0.1");
    EXPECT_EQ(entry.integrated_time, 1689177396);
    EXPECT_EQ(entry.log_id.size(), 32u);
    ASSERT_TRUE(entry.signed_entry_timestamp.has_value());
    ASSERT_TRUE(entry.inclusion_proof.has_value());
    EXPECT_EQ(entry.inclusion_proof->root_hash.size(), 32u);
    EXPECT_FALSE(entry.inclusion_proof->checkpoint.empty());
    EXPECT_EQ(entry.canonicalized_body.front(), '{');
    const auto* message = std::get_if<MessageSignature>(&bundle.content);
    ASSERT_NE(message, nullptr);
    EXPECT_EQ(message->digest_algorithm, HashAlgorithm::Sha256);
    EXPECT_EQ(util::to_hex(message->digest),
              util::sha256_hex(util::read_file(test::shared_vectors() / "sigstore-conformance" / "a.txt")));
}

TEST(Bundle, ReadsBothV03MediaTypeSpellings) {
    for (const char* name : {"happy-path-v0.3", "happy-path-v0.3-new-mediaType"}) {
        Bundle bundle = parse_bundle(bundle_text(name));
        EXPECT_NE(std::get_if<Certificate>(&bundle.verification_material.content), nullptr) << name;
    }
    EXPECT_EQ(parse_bundle(bundle_text("happy-path-v0.3-new-mediaType")).media_type, BundleMediaTypeV03);
}

TEST(Bundle, MediaTypeVersions) {
    EXPECT_EQ(bundle_media_type_version("application/vnd.dev.sigstore.bundle+json;version=0.1"), 1);
    EXPECT_EQ(bundle_media_type_version("application/vnd.dev.sigstore.bundle+json;version=0.2"), 2);
    EXPECT_EQ(bundle_media_type_version("application/vnd.dev.sigstore.bundle+json;version=0.3"), 3);
    EXPECT_EQ(bundle_media_type_version(BundleMediaTypeV03), 3);
    EXPECT_FALSE(bundle_media_type_version("application/vnd.dev.sigstore.bundle+json;version=99.9").has_value());
    EXPECT_FALSE(bundle_media_type_version("application/vnd.dev.sigstore.bundle.v0.4+json").has_value());
    EXPECT_FALSE(bundle_media_type_version("application/json").has_value());
}

TEST(Bundle, ReadsDsseKeyAndRekorV2Bundles) {
    Bundle dsse = parse_bundle(bundle_text("happy-path-intoto-in-dsse-v3"));
    const auto* envelope = std::get_if<Envelope>(&dsse.content);
    ASSERT_NE(envelope, nullptr);
    EXPECT_EQ(envelope->payload_type, InTotoPayloadType);
    EXPECT_EQ(envelope->signatures.size(), 1u);

    Bundle keyed = parse_bundle(bundle_text("managed-key-happy-path"));
    const auto* hint = std::get_if<PublicKeyIdentifier>(&keyed.verification_material.content);
    ASSERT_NE(hint, nullptr);
    EXPECT_FALSE(hint->hint.empty());
    EXPECT_EQ(keyed.verification_material.rfc3161_timestamps.size(), 1u);

    Bundle v2 = parse_bundle(bundle_text("rekor2-happy-path"));
    const auto& entry = v2.verification_material.tlog_entries.at(0);
    EXPECT_EQ(entry.kind_version, "0.0.2");
    EXPECT_EQ(entry.integrated_time, 0);  // Rekor v2 has no integrated time
    EXPECT_FALSE(entry.signed_entry_timestamp.has_value());
    EXPECT_EQ(v2.verification_material.rfc3161_timestamps.size(), 1u);
}

void expect_same(const Bundle& a, const Bundle& b) {
    ASSERT_EQ(a.verification_material.tlog_entries.size(), b.verification_material.tlog_entries.size());
    for (std::size_t i = 0; i < a.verification_material.tlog_entries.size(); ++i) {
        const auto& x = a.verification_material.tlog_entries[i];
        const auto& y = b.verification_material.tlog_entries[i];
        EXPECT_EQ(x.log_index, y.log_index);
        EXPECT_EQ(x.log_id, y.log_id);
        EXPECT_EQ(x.kind, y.kind);
        EXPECT_EQ(x.kind_version, y.kind_version);
        EXPECT_EQ(x.integrated_time, y.integrated_time);
        EXPECT_EQ(x.signed_entry_timestamp, y.signed_entry_timestamp);
        EXPECT_EQ(x.canonicalized_body, y.canonicalized_body);
        ASSERT_EQ(x.inclusion_proof.has_value(), y.inclusion_proof.has_value());
        if (x.inclusion_proof) {
            EXPECT_EQ(x.inclusion_proof->log_index, y.inclusion_proof->log_index);
            EXPECT_EQ(x.inclusion_proof->tree_size, y.inclusion_proof->tree_size);
            EXPECT_EQ(x.inclusion_proof->root_hash, y.inclusion_proof->root_hash);
            EXPECT_EQ(x.inclusion_proof->hashes, y.inclusion_proof->hashes);
            EXPECT_EQ(x.inclusion_proof->checkpoint, y.inclusion_proof->checkpoint);
        }
    }
    EXPECT_EQ(a.verification_material.rfc3161_timestamps, b.verification_material.rfc3161_timestamps);
    EXPECT_EQ(a.content.index(), b.content.index());
}

TEST(Bundle, WritesV03AndReadsItBack) {
    for (const char* name : {"happy-path-v0.1", "happy-path-v0.3", "happy-path-intoto-in-dsse-v3", "managed-key-happy-path",
                             "rekor2-happy-path"}) {
        Bundle original = parse_bundle(bundle_text(name));
        const std::string written = bundle_to_string(original);
        auto json = nlohmann::json::parse(written);
        EXPECT_EQ(json["mediaType"], BundleMediaTypeV03) << name;
        // protobuf JSON: int64 as strings.
        EXPECT_TRUE(json["verificationMaterial"]["tlogEntries"][0]["logIndex"].is_string()) << name;
        Bundle back = parse_bundle(written);
        expect_same(original, back);
        // A v0.1 chain is written as v0.3's single leaf certificate.
        if (const auto* chain = std::get_if<CertificateChain>(&original.verification_material.content)) {
            const auto* leaf = std::get_if<Certificate>(&back.verification_material.content);
            ASSERT_NE(leaf, nullptr);
            EXPECT_EQ(leaf->der, chain->certificates.front());
        }
        // Writing is deterministic.
        EXPECT_EQ(bundle_to_string(back), written) << name;
    }
}

TEST(Bundle, TlogEntryJsonLeavesOutAZeroIntegratedTime) {
    Bundle v2 = parse_bundle(bundle_text("rekor2-happy-path"));
    auto json = tlog_entry_to_json(v2.verification_material.tlog_entries.at(0));
    EXPECT_FALSE(json.contains("integratedTime"));
    EXPECT_FALSE(json.contains("inclusionPromise"));
    TransparencyLogEntry back = tlog_entry_from_json(json);
    EXPECT_EQ(back.canonicalized_body, v2.verification_material.tlog_entries[0].canonicalized_body);
}

TEST(Bundle, AcceptsInt64AsNumbersAndSnakeCaseNames) {
    auto json = nlohmann::json::parse(bundle_text("happy-path-v0.3"));
    auto& entry = json["verificationMaterial"]["tlogEntries"][0];
    entry["logIndex"] = 79571823;
    entry["integrated_time"] = entry["integratedTime"];
    entry.erase("integratedTime");
    Bundle bundle = parse_bundle(json.dump());
    EXPECT_EQ(bundle.verification_material.tlog_entries[0].log_index, 79571823);
    EXPECT_EQ(bundle.verification_material.tlog_entries[0].integrated_time, 1710869186);
}

TEST(Bundle, MalformedBundlesAreParseErrorsNamingTheFile) {
    for (const char* name : {"bundle-malformed-json_fail", "bundle-unknown-version_fail", "bundle-negative-log-index_fail",
                             "bundle-invalid-base64-signature_fail", "bundle-empty-certificate-chain_fail"}) {
        Error e = test::error_from([&] { parse_bundle(bundle_text(name), "my.sigstore.json"); });
        EXPECT_EQ(e.code(), ErrorCode::Parse) << name;
        EXPECT_NE(e.message().find("my.sigstore.json"), std::string::npos) << e.message();
    }
    EXPECT_NE(test::error_from([&] { parse_bundle(bundle_text("bundle-unknown-version_fail")); }).message().find("99.9"),
              std::string::npos);
    EXPECT_NE(test::error_from([&] { parse_bundle(bundle_text("bundle-negative-log-index_fail")); }).message().find("negative"),
              std::string::npos);

    auto json = nlohmann::json::parse(bundle_text("happy-path-v0.3"));
    auto without = [&](const char* field) {
        auto copy = json;
        copy.erase(field);
        return copy.dump();
    };
    EXPECT_EQ(test::error_from([&] { parse_bundle(without("verificationMaterial")); }).code(), ErrorCode::Parse);
    EXPECT_EQ(test::error_from([&] { parse_bundle(without("messageSignature")); }).code(), ErrorCode::Parse);
    EXPECT_EQ(test::error_from([&] { parse_bundle(without("mediaType")); }).code(), ErrorCode::Parse);
    auto both = json;
    both["dsseEnvelope"] = {{"payload", ""}, {"payloadType", "x"}, {"signatures", nlohmann::json::array()}};
    EXPECT_EQ(test::error_from([&] { parse_bundle(both.dump()); }).code(), ErrorCode::Parse);
    auto bad_proof = json;
    bad_proof["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["treeSize"] = "12x";
    EXPECT_EQ(test::error_from([&] { parse_bundle(bad_proof.dump()); }).code(), ErrorCode::Parse);
    auto bad_algorithm = json;
    bad_algorithm["messageSignature"]["messageDigest"]["algorithm"] = "MD5";
    EXPECT_EQ(test::error_from([&] { parse_bundle(bad_algorithm.dump()); }).code(), ErrorCode::Parse);
}

}  // namespace
}  // namespace slate::sign
