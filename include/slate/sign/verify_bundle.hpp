#pragma once
// Offline verification of Sigstore bundles, as the Sigstore client
// specification and the sigstore-conformance suite define it:
//
//   1. the signature: a message signature over the artifact (or its
//      digest), or a DSSE envelope whose in-toto subject is the artifact;
//   2. the signer: a public key the caller gives, or a Fulcio certificate
//      that chains to a certificate authority of the trusted root at the
//      signing time, carries a valid embedded SCT from a CT log of the
//      trusted root, and names the expected identity (SAN) and OIDC issuer;
//   3. the transparency log entries: the body matches the bundle's content,
//      the inclusion proof leads to a checkpoint signed by the log, the
//      signed entry timestamp (when present) is the log's;
//   4. the signing time: the logs' integrated times (vouched for by a SET)
//      and RFC 3161 timestamps from a timestamp authority of the trusted
//      root, each inside the certificate's validity. A certificate needs at
//      least one; a timestamp that does not verify is ignored (reported in
//      BundleVerification::warnings), as sigstore-go does.
//
// Every failed check throws slate::Error (CheckFailed) whose message names
// the check.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/sign/bundle.hpp"
#include "slate/sign/keys.hpp"
#include "slate/sign/trusted_root.hpp"

namespace slate::sign {

// What was signed: the artifact's bytes, or only its digest.
struct Artifact {
    // Bytes of the artifact (SHA-256 is computed from them).
    static Artifact from_bytes(std::string bytes);
    // "sha256:<64 hex>". Throws slate::Error (Usage) for anything else.
    static Artifact from_digest(std::string_view digest);

    std::optional<std::string> bytes;  // absent when only the digest is known
    std::string sha256;                // raw 32 bytes
};

struct BundlePolicy {
    std::optional<PublicKey> key;  // verify with this key (the bundle must then carry a public key hint)
    std::string identity;          // expected SAN (URI, email, ...), exact match; certificates only
    std::string issuer;            // expected OIDC issuer, exact match; certificates only
    bool require_tlog = true;      // at least one transparency log entry
};

struct BundleVerification {
    std::string signer;                       // the identity, or the key's fingerprint
    std::string issuer;                       // the OIDC issuer ("" for a key)
    std::vector<std::int64_t> signing_times;  // verified times (Unix seconds): integrated times and RFC 3161
    std::size_t tlog_entries = 0;
    std::size_t timestamps = 0;               // RFC 3161 timestamps that verified
    // RFC 3161 timestamps that did not verify are ignored, as Sigstore's
    // clients do (the signing time must then come from elsewhere): why.
    std::vector<std::string> warnings;
    std::string summary;                      // one line for people
};

// `now` (Unix seconds) is the clock for "not in the future" checks.
BundleVerification verify_bundle(const Bundle& bundle, const Artifact& artifact, const TrustedRoot& root,
                                 const BundlePolicy& policy, std::int64_t now);

// Verifies ONE transparency log entry offline against the log's key: the
// inclusion proof (RFC 6962 hashing) leads to the checkpoint's root hash,
// the checkpoint (a signed note) is signed by `log_key` under
// `origin_hint` (when given) or under the checkpoint's origin or its first
// word (Rekor v1 names its key "rekor.sigstore.dev" in an origin
// "rekor.sigstore.dev - <tree id>"), and the signed entry timestamp, when
// present, is `log_key`'s signature. Also checks the entry's log id is the
// key's. Requires an inclusion proof with a checkpoint, or a SET.
// Returns true when a SET was verified (the integrated time is then
// vouched for by the log). Throws slate::Error (CheckFailed).
bool verify_tlog_entry(const TransparencyLogEntry& entry, const PublicKey& log_key, std::string_view origin_hint = {});

// The content a log entry should record.
struct EntryContent {
    // A message signature: the artifact's SHA-256 (raw). Unused for DSSE.
    std::string artifact_sha256;
    // A DSSE bundle: the envelope. A hashedrekord entry then records
    // SHA-256(PAE(payloadType, payload)) (Rekor v2's hashedrekord-over-DSSE).
    std::optional<Envelope> envelope;
    std::string signature;  // raw: the message signature, or the envelope's signature
    // The signer: a certificate (DER) or a public key.
    std::optional<std::string> certificate_der;
    std::optional<PublicKey> key;
};

// Checks that `entry.canonicalized_body` (hashedrekord 0.0.1/0.0.2, dsse
// 0.0.1/0.0.2, intoto 0.0.2) records `content`. Throws slate::Error
// (CheckFailed) naming the field that differs, or for an unknown kind.
void verify_entry_body(const TransparencyLogEntry& entry, const EntryContent& content);

}  // namespace slate::sign
