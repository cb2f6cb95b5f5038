// Bundle verification, one tampering at a time: each changes one thing in a
// valid bundle (or in the trusted root, or the policy) and the error must
// name the check that caught it.

#include <gtest/gtest.h>

#include "slate/error.hpp"
#include "slate/sign/bundle.hpp"
#include "slate/sign/trusted_root.hpp"
#include "slate/sign/verify_bundle.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/expect.hpp"
#include "support/paths.hpp"

namespace slate::sign {
namespace {

namespace fs = std::filesystem;

constexpr const char* Identity =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main";
constexpr const char* Issuer = "https://token.actions.githubusercontent.com";
constexpr std::int64_t Now = 1790000000;  // 2026-09

fs::path suite() { return test::shared_vectors() / "sigstore-conformance"; }

struct Case {
    Bundle bundle;
    TrustedRoot root;
    Artifact artifact;
    BundlePolicy policy;
};

Case load(const std::string& name) {
    const fs::path dir = suite() / name;
    std::error_code ec;
    const fs::path root = fs::exists(dir / "trusted_root.json", ec) ? dir / "trusted_root.json" : suite() / "trusted_root.public_good.json";
    Case c{parse_bundle(util::read_file(dir / "bundle.sigstore.json")), parse_trusted_root(util::read_file(root)),
           Artifact::from_bytes(util::read_file(fs::exists(dir / "artifact", ec) ? dir / "artifact" : suite() / "a.txt")), {}};
    if (fs::exists(dir / "key.pub", ec)) {
        c.policy.key = PublicKey::from_pem(util::read_file(dir / "key.pub"));
    } else {
        c.policy.identity = Identity;
        c.policy.issuer = Issuer;
    }
    return c;
}

BundleVerification verify(const Case& c, std::int64_t now = Now) {
    return verify_bundle(c.bundle, c.artifact, c.root, c.policy, now);
}

// The check that failed, as the error's message says it.
std::string failure(const Case& c, std::int64_t now = Now) {
    Error e = test::error_from([&] { verify(c, now); });
    EXPECT_EQ(e.code(), ErrorCode::CheckFailed) << e.describe();
    return e.message();
}

#define EXPECT_FAILS_WITH(c, text) EXPECT_NE(failure(c).find(text), std::string::npos) << failure(c)

TransparencyLogEntry& entry(Case& c) { return c.bundle.verification_material.tlog_entries.at(0); }
MessageSignature& message(Case& c) { return std::get<MessageSignature>(c.bundle.content); }

TEST(VerifyBundle, HappyPathsVerify) {
    for (const char* name : {"happy-path-v0.1", "happy-path-v0.2", "happy-path-v0.3", "happy-path-intoto-in-dsse-v3",
                             "rekor2-happy-path", "rekor2-dsse-happy-path", "managed-key-happy-path",
                             "intoto-with-custom-trust-root", "bundle-with-sct-with-extensions"}) {
        Case c = load(name);
        BundleVerification result = verify(c);
        EXPECT_FALSE(result.summary.empty()) << name;
        if (!c.policy.key) {
            EXPECT_EQ(result.signer, Identity) << name;
            EXPECT_FALSE(result.signing_times.empty()) << name;
        }
    }
    // Only the digest of the artifact is known: a message signature still verifies.
    Case c = load("happy-path-v0.3");
    c.artifact = Artifact::from_digest("sha256:" + util::to_hex(c.artifact.sha256));
    EXPECT_NO_THROW(verify(c));
}

TEST(VerifyBundle, TheSignatureMustBeOverTheArtifact) {
    Case c = load("happy-path-v0.3");
    message(c).signature[10] ^= 0x01;
    EXPECT_FAILS_WITH(c, "signature does not verify over the artifact");

    c = load("happy-path-v0.3");
    c.artifact = Artifact::from_bytes("another artifact");
    EXPECT_FAILS_WITH(c, "message digest is not the artifact's digest");
    message(c).digest.clear();  // the digest is only a hint: the signature decides
    EXPECT_FAILS_WITH(c, "signature does not verify");
}

TEST(VerifyBundle, TheLogEntryMustRecordThisSignature) {
    Case c = load("happy-path-v0.3");
    std::string& body = entry(c).canonicalized_body;
    auto at = body.find("\"value\":\"") + 9;
    body[at] = body[at] == 'a' ? 'b' : 'a';
    EXPECT_FAILS_WITH(c, "log entry does not match the bundle: it records a different artifact digest");
}

TEST(VerifyBundle, TheInclusionProofMustLeadToTheSignedCheckpoint) {
    Case c = load("happy-path-v0.3");
    entry(c).inclusion_proof->hashes[3][5] ^= 0x20;
    EXPECT_FAILS_WITH(c, "the inclusion proof does not lead to its root hash");

    c = load("happy-path-v0.3");
    entry(c).inclusion_proof->hashes.pop_back();
    EXPECT_FAILS_WITH(c, "wrong number of hashes");

    c = load("happy-path-v0.3");
    std::string& checkpoint = entry(c).inclusion_proof->checkpoint;
    checkpoint[checkpoint.size() - 10] = checkpoint[checkpoint.size() - 10] == 'A' ? 'B' : 'A';
    EXPECT_FAILS_WITH(c, "not signed by the log's key");

    c = load("happy-path-v0.3");
    entry(c).inclusion_proof->checkpoint.clear();
    EXPECT_FAILS_WITH(c, "no checkpoint");

    c = load("happy-path-v0.3");
    entry(c).inclusion_proof.reset();
    EXPECT_FAILS_WITH(c, "no inclusion proof");
}

TEST(VerifyBundle, TheSignedEntryTimestampMustBeTheLogs) {
    Case c = load("happy-path-v0.1");
    (*entry(c).signed_entry_timestamp)[12] ^= 0x01;
    EXPECT_FAILS_WITH(c, "signed entry timestamp");

    c = load("happy-path-v0.1");
    entry(c).integrated_time += 1;  // the SET covers the time
    EXPECT_FAILS_WITH(c, "signed entry timestamp");

    c = load("happy-path-v0.1");
    entry(c).signed_entry_timestamp.reset();
    EXPECT_FAILS_WITH(c, "no signed entry timestamp");
}

TEST(VerifyBundle, TheLogMustBeTrustedAtTheIntegratedTime) {
    Case c = load("happy-path-v0.1");
    entry(c).log_id[0] ^= 0x01;
    EXPECT_FAILS_WITH(c, "not in the trusted root");

    c = load("happy-path-v0.1");
    c.root.tlogs.at(0).valid_for.end = entry(c).integrated_time - 1;
    EXPECT_FAILS_WITH(c, "outside the log key's validity");
    c.root.tlogs.at(0).valid_for.end = entry(c).integrated_time;  // the end is inclusive
    EXPECT_NO_THROW(verify(c));

    c = load("happy-path-v0.1");
    EXPECT_NE(failure(c, entry(c).integrated_time - 3600).find("in the future"), std::string::npos);

    c = load("happy-path-v0.1");
    c.bundle.verification_material.tlog_entries.clear();
    EXPECT_FAILS_WITH(c, "no transparency log entry");
}

TEST(VerifyBundle, TheCertificateMustChainToAFulcioCaAtTheSigningTime) {
    Case c = load("happy-path-v0.3");
    c.root.certificate_authorities.clear();
    EXPECT_FAILS_WITH(c, "does not chain to a certificate authority");

    c = load("happy-path-v0.3");
    for (auto& authority : c.root.certificate_authorities) authority.valid_for.end = entry(c).integrated_time - 1;
    EXPECT_FAILS_WITH(c, "no certificate authority of the trusted root is valid");

    // The certificate lives ten minutes: a log time after it is rejected.
    c = load("intoto-set-outside-signing-cert-validity_fail");
    EXPECT_FAILS_WITH(c, "outside the signing certificate's validity");
}

TEST(VerifyBundle, TheCertificateNeedsAnSctFromATrustedCtLog) {
    Case c = load("happy-path-v0.3");
    c.root.ctlogs.clear();
    EXPECT_FAILS_WITH(c, "no valid SCT");

    c = load("happy-path-v0.3");
    for (auto& log : c.root.ctlogs) log.key = PrivateKey::generate_p256().public_key();
    EXPECT_FAILS_WITH(c, "SCT's signature does not verify");
}

TEST(VerifyBundle, TheIdentityAndIssuerMustBeTheExpectedOnes) {
    Case c = load("happy-path-v0.3");
    c.policy.identity = "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main";
    EXPECT_FAILS_WITH(c, "identity is not");
    c = load("happy-path-v0.3");
    c.policy.issuer = "https://accounts.google.com";
    EXPECT_FAILS_WITH(c, "OIDC issuer is not");
    c = load("happy-path-v0.3");
    c.policy.identity.clear();
    EXPECT_EQ(test::error_from([&] { verify(c); }).code(), ErrorCode::Usage);
}

TEST(VerifyBundle, KeysAreCheckedAgainstTheGivenKey) {
    Case c = load("managed-key-happy-path");
    c.policy.key = PrivateKey::generate_p256().public_key();
    EXPECT_FAILS_WITH(c, "signature does not verify");

    c = load("managed-key-happy-path");
    c.policy.key.reset();
    c.policy.identity = Identity;
    c.policy.issuer = Issuer;
    EXPECT_FAILS_WITH(c, "no key was given");

    c = load("happy-path-v0.3");
    c.policy.key = PrivateKey::generate_p256().public_key();
    EXPECT_FAILS_WITH(c, "carries a signing certificate but a public key was given");
}

TEST(VerifyBundle, DsseEnvelopesMustNameTheArtifactAndVerify) {
    Case c = load("happy-path-intoto-in-dsse-v3");
    c.artifact = Artifact::from_bytes("not the subject");
    EXPECT_FAILS_WITH(c, "is not a subject of the in-toto statement");

    c = load("happy-path-intoto-in-dsse-v3");
    std::get<Envelope>(c.bundle.content).payload += " ";
    EXPECT_FAILS_WITH(c, "DSSE envelope's signature does not verify");

    c = load("happy-path-intoto-in-dsse-v3");
    std::get<Envelope>(c.bundle.content).signatures.push_back(std::get<Envelope>(c.bundle.content).signatures[0]);
    EXPECT_FAILS_WITH(c, "exactly one");
}

TEST(VerifyBundle, RekorV2NeedsAVerifiedTimestamp) {
    Case c = load("rekor2-happy-path");
    BundleVerification result = verify(c);
    EXPECT_EQ(result.timestamps, 1u);
    EXPECT_TRUE(result.warnings.empty());

    c.bundle.verification_material.rfc3161_timestamps.clear();
    EXPECT_FAILS_WITH(c, "no verified signing time");

    // A timestamp that does not verify is ignored, and then there is no time.
    c = load("rekor2-happy-path");
    c.root.timestamp_authorities.clear();
    EXPECT_FAILS_WITH(c, "no verified signing time");

    c = load("rekor2-happy-path");
    message(c).signature[8] ^= 0x01;  // the timestamp is over the signature; so is the signature check
    EXPECT_FAILS_WITH(c, "signature does not verify");

    c = load("rekor2-happy-path");
    c.bundle.verification_material.rfc3161_timestamps[0][60] ^= 0x01;
    EXPECT_FAILS_WITH(c, "no verified signing time");
}

TEST(VerifyTlogEntry, ChecksOneEntryAgainstALogKey) {
    Case c = load("happy-path-v0.1");
    const PublicKey& log_key = c.root.tlogs.at(0).key;
    EXPECT_TRUE(verify_tlog_entry(entry(c), log_key));  // with a SET
    auto without_set = entry(c);
    without_set.signed_entry_timestamp.reset();
    EXPECT_FALSE(verify_tlog_entry(without_set, log_key));  // the proof and checkpoint alone
    Error e = test::error_from([&] { verify_tlog_entry(entry(c), PrivateKey::generate_p256().public_key()); });
    EXPECT_EQ(e.code(), ErrorCode::CheckFailed);
    EXPECT_NE(e.message().find("not signed by the log's key"), std::string::npos) << e.message();
    without_set.inclusion_proof.reset();
    EXPECT_NE(test::error_from([&] { verify_tlog_entry(without_set, log_key); }).message().find("neither"), std::string::npos);
}

TEST(VerifyEntryBody, ComparesWhatTheLogRecorded) {
    Case c = load("managed-key-happy-path");
    EntryContent content;
    content.artifact_sha256 = c.artifact.sha256;
    content.signature = message(c).signature;
    content.key = c.policy.key;
    EXPECT_NO_THROW(verify_entry_body(entry(c), content));
    auto other_key = content;
    other_key.key = PrivateKey::generate_p256().public_key();
    EXPECT_NE(test::error_from([&] { verify_entry_body(entry(c), other_key); }).message().find("different certificate or public key"),
              std::string::npos);
    auto other_kind = entry(c);
    other_kind.kind = "rekord";
    EXPECT_EQ(test::error_from([&] { verify_entry_body(other_kind, content); }).code(), ErrorCode::CheckFailed);
}

TEST(Artifact, DigestsMustBeSha256Hex) {
    EXPECT_EQ(Artifact::from_digest("sha256:" + std::string(64, 'a')).sha256, std::string(32, '\xaa'));
    EXPECT_EQ(test::error_from([] { Artifact::from_digest("sha512:" + std::string(64, 'a')); }).code(), ErrorCode::Usage);
    EXPECT_EQ(test::error_from([] { Artifact::from_digest("sha256:abc"); }).code(), ErrorCode::Usage);
}

TEST(TrustedRoot, ValidityRanges) {
    EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_rfc3339("2021-01-12T11:53:27Z"), 1610452407);
    EXPECT_EQ(parse_rfc3339("2021-01-12T11:53:27.999Z"), 1610452407);
    EXPECT_EQ(parse_rfc3339("2021-01-12T12:53:27+01:00"), 1610452407);
    EXPECT_FALSE(parse_rfc3339("2021-01-12").has_value());
    EXPECT_FALSE(parse_rfc3339("2021-13-12T11:53:27Z").has_value());
    TimeRange range{10, 20};
    EXPECT_TRUE(range.contains(10));
    EXPECT_TRUE(range.contains(20));
    EXPECT_FALSE(range.contains(21));
    EXPECT_FALSE(range.contains(9));
    EXPECT_TRUE(TimeRange{}.contains(0));

    Error e = test::error_from([] {
        parse_trusted_root(util::read_file(suite() / "trust-root-tlog-missing-validity-start_fail" / "trusted_root.json"));
    });
    EXPECT_EQ(e.code(), ErrorCode::Parse);
    EXPECT_NE(e.message().find("validFor.start"), std::string::npos) << e.message();
    EXPECT_EQ(test::error_from([] { parse_trusted_root("{"); }).code(), ErrorCode::Parse);
}

}  // namespace
}  // namespace slate::sign
