#pragma once
// DSSE envelopes (secure-systems-lab/dsse, protocol.md and envelope.md) and
// the in-toto Statement v1 they usually carry.
//
//   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// with LEN the decimal byte count. The envelope's JSON is
//   {"payload": base64(body), "payloadType": type,
//    "signatures": [{"keyid": "...", "sig": base64(signature)}]}

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/sign/keys.hpp"

namespace slate::sign {

inline constexpr std::string_view InTotoPayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view InTotoStatementV1 = "https://in-toto.io/Statement/v1";

// Pre-Authentication Encoding: the bytes that are signed.
std::string pae(std::string_view payload_type, std::string_view payload);

struct DsseSignature {
    std::string keyid;      // may be empty
    std::string signature;  // raw bytes (base64 only in JSON)
};

struct Envelope {
    std::string payload_type;
    std::string payload;  // raw bytes
    std::vector<DsseSignature> signatures;
};

// Signs PAE(payload_type, payload) with `key`; keyid left empty as cosign does.
Envelope sign_envelope(std::string_view payload_type, std::string_view payload, const PrivateKey& key);
// True when at least one signature verifies with `key`.
bool verify_envelope(const Envelope& envelope, const PublicKey& key);

nlohmann::ordered_json envelope_to_json(const Envelope& envelope);
std::string envelope_to_string(const Envelope& envelope);  // compact JSON
// Throws slate::Error (Parse) naming `display_name`: not JSON, a field
// missing or of the wrong type, base64 that does not decode.
Envelope envelope_from_json(const nlohmann::json& json, std::string_view display_name = "DSSE envelope");
Envelope parse_envelope(std::string_view text, std::string_view display_name = "DSSE envelope");

// ---------------------------------------------------------------- in-toto

struct Subject {
    std::string name;
    std::map<std::string, std::string> digest;  // algorithm -> lowercase hex, e.g. {"sha256": "..."}
};

struct Statement {
    std::vector<Subject> subjects;
    std::string predicate_type;
    nlohmann::ordered_json predicate;
};

// {"_type": InTotoStatementV1, "subject": [...], "predicateType": ..., "predicate": ...}
std::string statement_to_string(const Statement& statement);
// Accepts Statement v0.1 and v1. Throws slate::Error (Parse).
Statement parse_statement(std::string_view text, std::string_view display_name = "in-toto statement");

// cosign's predicate type names (`cosign attest --type`): slsaprovenance
// (v0.2), slsaprovenance02, slsaprovenance1, spdx, spdxjson, cyclonedx,
// link, vuln, openvex, custom; anything containing ':' is taken as the URI
// itself. Throws slate::Error (Usage) listing the names for anything else.
std::string predicate_type_uri(std::string_view name_or_uri);

}  // namespace slate::sign
