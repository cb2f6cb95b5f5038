#pragma once
// Sigstore bundles (protobuf-specs dev.sigstore.bundle.v1.Bundle in its
// JSON form): media types v0.1, v0.2 and v0.3
//   application/vnd.dev.sigstore.bundle+json;version=0.1 | 0.2 | 0.3
//   application/vnd.dev.sigstore.bundle.v0.3+json
// Reading accepts every one of them; writing produces v0.3.
//
// Bytes fields are held raw; the JSON carries them in base64 (std encoding),
// and int64 fields as decimal strings, as protobuf's JSON mapping does.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/sign/dsse.hpp"
#include "slate/sign/keys.hpp"

namespace slate::sign {

inline constexpr std::string_view BundleMediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json";

struct InclusionProof {
    std::int64_t log_index = 0;        // the leaf's index in the tree (for sharded logs: in this shard)
    std::string root_hash;             // raw 32 bytes
    std::int64_t tree_size = 0;
    std::vector<std::string> hashes;   // raw 32 bytes each, leaf to root
    std::string checkpoint;            // the signed note, as text ("" when absent)
};

struct TransparencyLogEntry {
    std::int64_t log_index = 0;
    std::string log_id;                // raw key id (SHA-256 of the log's public key DER)
    std::string kind;                  // "hashedrekord", "dsse", "intoto"
    std::string kind_version;          // "0.0.1", "0.0.2"
    std::int64_t integrated_time = 0;  // Unix seconds; 0 when absent (Rekor v2)
    std::optional<std::string> signed_entry_timestamp;  // raw inclusion promise signature
    std::optional<InclusionProof> inclusion_proof;
    std::string canonicalized_body;    // raw bytes (JSON of the entry)
};

// How the verifier learns the signer's key.
struct PublicKeyIdentifier {
    std::string hint;  // may be empty
};
struct CertificateChain {
    std::vector<std::string> certificates;  // DER, leaf first (v0.1/v0.2 x509CertificateChain)
};
struct Certificate {
    std::string der;  // v0.3 certificate: the leaf alone
};
using VerificationMaterialContent = std::variant<PublicKeyIdentifier, CertificateChain, Certificate>;

struct VerificationMaterial {
    VerificationMaterialContent content;
    std::vector<TransparencyLogEntry> tlog_entries;
    std::vector<std::string> rfc3161_timestamps;  // DER TimeStampResponse or TimeStampToken bytes
};

struct MessageSignature {
    HashAlgorithm digest_algorithm = HashAlgorithm::Sha256;
    std::string digest;     // raw; may be empty (it is optional in the spec)
    std::string signature;  // raw
};

struct Bundle {
    std::string media_type;
    VerificationMaterial verification_material;
    std::variant<MessageSignature, Envelope> content;
};

// The minor version a bundle media type names (1, 2 or 3 for v0.1 to v0.3,
// either spelling); nullopt for anything else.
std::optional<int> bundle_media_type_version(std::string_view media_type);

// Throws slate::Error (Parse) naming `display_name` for malformed JSON, an
// unknown media type, missing required fields, bad base64 or a negative
// log index.
Bundle parse_bundle(std::string_view text, std::string_view display_name = "bundle");
nlohmann::ordered_json bundle_to_json(const Bundle& bundle);
std::string bundle_to_string(const Bundle& bundle);  // compact JSON, media type v0.3
// One tlog entry in the bundle's JSON shape (also what `slate tlog serve`
// returns for a submission).
nlohmann::ordered_json tlog_entry_to_json(const TransparencyLogEntry& entry);
TransparencyLogEntry tlog_entry_from_json(const nlohmann::json& json, std::string_view display_name = "tlog entry");

}  // namespace slate::sign
