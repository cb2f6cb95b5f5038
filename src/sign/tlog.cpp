// The entry formats of slate's transparency log: Rekor v1's proposed entries
// and canonical bodies for hashedrekord 0.0.1 and dsse 0.0.1, the signed
// entry timestamp's payload, and Rekor's LogEntry JSON.
//
// Rekor stores the JSON its types' Canonicalize() produce, passed through
// RFC 8785 (JCS): keys sorted, no whitespace. The bodies hold only ASCII
// strings, for which nlohmann::json's compact dump with its (sorted) std::map
// objects is byte-for-byte JCS.

#include "slate/sign/tlog.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

using Json = nlohmann::json;

[[noreturn]] void refuse(std::string message, std::string hint = {}) {
    throw Error(ErrorCode::Usage, std::move(message), std::move(hint));
}

// The member `name` of `object`, which must be an object, or a refusal naming `where`.
const Json& member(const Json& object, const char* name, std::string_view where) {
    if (!object.is_object()) refuse(fmt::format("{} must be a JSON object", where));
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) refuse(fmt::format("{} has no \"{}\"", where, name));
    return *it;
}

const std::string& string_member(const Json& object, const char* name, std::string_view where) {
    const Json& value = member(object, name, where);
    if (!value.is_string()) refuse(fmt::format("{}.{} must be a string", where, name));
    return value.get_ref<const std::string&>();
}

std::string base64_member(const Json& object, const char* name, std::string_view where) {
    const std::string& text = string_member(object, name, where);
    auto decoded = util::base64_decode(text);
    if (!decoded || decoded->empty()) refuse(fmt::format("{}.{} is not base64 (or is empty)", where, name));
    return std::move(*decoded);
}

PublicKey pem_public_key(std::string_view pem, std::string_view where) {
    try {
        return PublicKey::from_pem(pem, where);
    } catch (const Error& e) {
        refuse(fmt::format("{} is not a PEM public key: {}", where, e.message()),
               "give the signer's public key as PKIX PEM (\"-----BEGIN PUBLIC KEY-----\"), base64-encoded");
    }
}

std::string dump_canonical(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::strict); }

std::optional<HashAlgorithm> hash_algorithm(std::string_view name) {
    if (name == "sha256") return HashAlgorithm::Sha256;
    if (name == "sha384") return HashAlgorithm::Sha384;
    if (name == "sha512") return HashAlgorithm::Sha512;
    return std::nullopt;
}

std::size_t digest_size(HashAlgorithm algorithm) {
    switch (algorithm) {
        case HashAlgorithm::Sha384: return 48;
        case HashAlgorithm::Sha512: return 64;
        default: return 32;
    }
}

CanonicalEntry canonical_hashedrekord(const Json& spec) {
    const Json& signature = member(spec, "signature", "spec");
    std::string signature_bytes = base64_member(signature, "content", "spec.signature");
    std::string pem = base64_member(member(signature, "publicKey", "spec.signature"), "content",
                                    "spec.signature.publicKey");
    PublicKey key = pem_public_key(pem, "spec.signature.publicKey.content");

    const Json& hash = member(member(spec, "data", "spec"), "hash", "spec.data");
    const std::string& algorithm_name = string_member(hash, "algorithm", "spec.data.hash");
    const std::string& value = string_member(hash, "value", "spec.data.hash");
    auto algorithm = hash_algorithm(algorithm_name);
    if (!algorithm)
        refuse(fmt::format("spec.data.hash.algorithm \"{}\" is not supported", algorithm_name),
               "use sha256, sha384 or sha512");
    auto digest_bytes = util::from_hex(value);
    if (!digest_bytes || digest_bytes->size() != digest_size(*algorithm))
        refuse(fmt::format("spec.data.hash.value is not a {} digest in hex", algorithm_name));
    if (!key.verify_digest(*digest_bytes, *algorithm, signature_bytes))
        refuse("the signature does not verify with the public key over the given digest",
               key.type() == KeyType::Ed25519 ? "hashedrekord entries need an ECDSA or RSA key"
                                              : "check that the signature, key and artifact digest belong together");

    Json body = {{"apiVersion", "0.0.1"},
                 {"kind", "hashedrekord"},
                 {"spec",
                  {{"data", {{"hash", {{"algorithm", algorithm_name}, {"value", value}}}}},
                   {"signature",
                    {{"content", util::base64_encode(signature_bytes)},
                     {"publicKey", {{"content", util::base64_encode(key.pem())}}}}}}}};
    return CanonicalEntry{"hashedrekord", "0.0.1", dump_canonical(body)};
}

CanonicalEntry canonical_dsse(const Json& spec) {
    const Json& proposed = member(spec, "proposedContent", "spec");
    if (spec.contains("envelopeHash") || spec.contains("payloadHash") || spec.contains("signatures"))
        refuse("a proposed dsse entry must not set envelopeHash, payloadHash or signatures",
               "send only spec.proposedContent; the log computes the rest");
    const std::string& envelope_text = string_member(proposed, "envelope", "spec.proposedContent");
    const Json& verifiers_json = member(proposed, "verifiers", "spec.proposedContent");
    if (!verifiers_json.is_array() || verifiers_json.empty())
        refuse("spec.proposedContent.verifiers must be a non-empty array of base64 PEM public keys");
    std::vector<PublicKey> verifiers;
    for (std::size_t i = 0; i < verifiers_json.size(); ++i) {
        const Json& item = verifiers_json[i];
        std::string where = fmt::format("spec.proposedContent.verifiers[{}]", i);
        auto pem = item.is_string() ? util::base64_decode(item.get_ref<const std::string&>()) : std::nullopt;
        if (!pem || pem->empty()) refuse(fmt::format("{} is not a base64 string", where));
        verifiers.push_back(pem_public_key(*pem, where));
    }

    Json envelope = Json::parse(envelope_text, nullptr, false);
    if (envelope.is_discarded() || !envelope.is_object())
        refuse("spec.proposedContent.envelope is not a JSON DSSE envelope");
    const std::string& payload_type = string_member(envelope, "payloadType", "the envelope");
    const std::string& payload_b64 = string_member(envelope, "payload", "the envelope");
    auto payload = util::base64_decode(payload_b64);
    if (!payload) refuse("the envelope's payload is not base64");
    const Json& signatures = member(envelope, "signatures", "the envelope");
    if (!signatures.is_array() || signatures.empty()) refuse("the envelope must carry at least one signature");

    const std::string message = pae(payload_type, *payload);
    // Keyed by the signature as written in the envelope, as Rekor does: the
    // body lists each distinct signature once, sorted, with the key it verifies with.
    std::map<std::string, std::string> verifier_by_signature;
    for (std::size_t i = 0; i < signatures.size(); ++i) {
        std::string where = fmt::format("the envelope's signatures[{}]", i);
        const std::string& sig_b64 = string_member(signatures[i], "sig", where);
        auto sig = util::base64_decode(sig_b64);
        if (!sig || sig->empty()) refuse(fmt::format("{}.sig is not base64", where));
        auto key = std::find_if(verifiers.begin(), verifiers.end(),
                                [&](const PublicKey& candidate) { return candidate.verify(message, *sig); });
        if (key == verifiers.end())
            refuse(fmt::format("{} does not verify with any of the verifiers", where),
                   "every signature of the envelope needs its public key in spec.proposedContent.verifiers");
        verifier_by_signature[sig_b64] = util::base64_encode(key->pem());
    }
    Json listed = Json::array();
    for (const auto& [sig_b64, verifier] : verifier_by_signature)
        listed.push_back({{"signature", sig_b64}, {"verifier", verifier}});

    Json body = {{"apiVersion", "0.0.1"},
                 {"kind", "dsse"},
                 {"spec",
                  {{"envelopeHash", {{"algorithm", "sha256"}, {"value", util::sha256_hex(envelope_text)}}},
                   {"payloadHash", {{"algorithm", "sha256"}, {"value", util::sha256_hex(*payload)}}},
                   {"signatures", std::move(listed)}}}};
    return CanonicalEntry{"dsse", "0.0.1", dump_canonical(body)};
}

std::string hex_to_raw(const Json& value, std::string_view what, std::string_view display_name) {
    auto raw = value.is_string() ? util::from_hex(value.get_ref<const std::string&>()) : std::nullopt;
    if (!raw) throw Error(ErrorCode::Parse, fmt::format("malformed {}: {} is not hex", display_name, what));
    return std::move(*raw);
}

std::int64_t integer(const Json& object, const char* name, std::string_view display_name) {
    auto it = object.find(name);
    if (it == object.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0)
        throw Error(ErrorCode::Parse, fmt::format("malformed {}: {} is missing or not a non-negative integer",
                                                  display_name, name));
    return it->get<std::int64_t>();
}

}  // namespace

CanonicalEntry canonicalize_proposed_entry(std::string_view proposed_entry) {
    Json json = Json::parse(proposed_entry, nullptr, false);
    if (json.is_discarded()) refuse("the proposed entry is not JSON", "send Rekor's proposed-entry JSON");
    if (!json.is_object()) refuse("the proposed entry must be a JSON object");
    const std::string& kind = string_member(json, "kind", "the proposed entry");
    const std::string& version = string_member(json, "apiVersion", "the proposed entry");
    const Json& spec = member(json, "spec", "the proposed entry");
    if (kind != "hashedrekord" && kind != "dsse")
        refuse(fmt::format("entries of kind \"{}\" are not accepted", kind), "this log takes hashedrekord and dsse");
    if (version != "0.0.1")
        refuse(fmt::format("{} version \"{}\" is not supported", kind, version), "use apiVersion 0.0.1");
    return kind == "hashedrekord" ? canonical_hashedrekord(spec) : canonical_dsse(spec);
}

std::string hashedrekord_proposed_entry(std::string_view artifact_sha256, std::string_view signature,
                                        const PublicKey& key) {
    if (artifact_sha256.size() != 32)
        throw Error(ErrorCode::Usage, fmt::format("an artifact's SHA-256 digest is 32 bytes, not {}", artifact_sha256.size()));
    nlohmann::ordered_json entry = {
        {"apiVersion", "0.0.1"},
        {"kind", "hashedrekord"},
        {"spec",
         {{"data", {{"hash", {{"algorithm", "sha256"}, {"value", util::to_hex(artifact_sha256)}}}}},
          {"signature",
           {{"content", util::base64_encode(signature)}, {"publicKey", {{"content", util::base64_encode(key.pem())}}}}}}}};
    return entry.dump();
}

std::string dsse_proposed_entry(const Envelope& envelope, const PublicKey& key) {
    nlohmann::ordered_json entry = {
        {"apiVersion", "0.0.1"},
        {"kind", "dsse"},
        {"spec",
         {{"proposedContent",
           {{"envelope", envelope_to_string(envelope)},
            {"verifiers", nlohmann::ordered_json::array({util::base64_encode(key.pem())})}}}}}};
    return entry.dump();
}

std::string entry_uuid(std::string_view canonical_body) { return util::to_hex(leaf_hash(canonical_body)); }

std::string signed_entry_timestamp_payload(std::string_view canonical_body, std::int64_t integrated_time,
                                           std::string_view log_id, std::int64_t log_index) {
    Json payload = {{"body", util::base64_encode(canonical_body)},
                    {"integratedTime", integrated_time},
                    {"logID", util::to_hex(log_id)},
                    {"logIndex", log_index}};
    return dump_canonical(payload);
}

nlohmann::ordered_json rekor_entry_to_json(const TransparencyLogEntry& entry) {
    nlohmann::ordered_json verification = nlohmann::ordered_json::object();
    if (entry.inclusion_proof) {
        const InclusionProof& proof = *entry.inclusion_proof;
        nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
        for (const auto& hash : proof.hashes) hashes.push_back(util::to_hex(hash));
        verification["inclusionProof"] = {{"checkpoint", proof.checkpoint},
                                          {"hashes", std::move(hashes)},
                                          {"logIndex", proof.log_index},
                                          {"rootHash", util::to_hex(proof.root_hash)},
                                          {"treeSize", proof.tree_size}};
    }
    if (entry.signed_entry_timestamp)
        verification["signedEntryTimestamp"] = util::base64_encode(*entry.signed_entry_timestamp);
    nlohmann::ordered_json inner = {{"body", util::base64_encode(entry.canonicalized_body)},
                                    {"integratedTime", entry.integrated_time},
                                    {"logID", util::to_hex(entry.log_id)},
                                    {"logIndex", entry.log_index},
                                    {"verification", std::move(verification)}};
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    out[entry_uuid(entry.canonicalized_body)] = std::move(inner);
    return out;
}

TransparencyLogEntry rekor_entry_from_json(const nlohmann::json& json, std::string_view display_name) {
    auto malformed = [&](std::string_view what) {
        return Error(ErrorCode::Parse, fmt::format("malformed {}: {}", display_name, what),
                     "the server does not answer like a Rekor v1 log; check the URL");
    };
    if (!json.is_object() || json.size() != 1) throw malformed("expected an object with one entry UUID");
    const std::string& uuid = json.begin().key();
    const Json& inner = json.begin().value();
    if (!inner.is_object()) throw malformed("the entry is not an object");

    TransparencyLogEntry entry;
    auto body_it = inner.find("body");
    auto body = body_it != inner.end() && body_it->is_string()
                    ? util::base64_decode(body_it->get_ref<const std::string&>())
                    : std::nullopt;
    if (!body || body->empty()) throw malformed("body is missing or not base64");
    entry.canonicalized_body = std::move(*body);
    // Rekor's UUID may carry a 16-hex-digit tree ID before the leaf hash.
    const std::string leaf = entry_uuid(entry.canonicalized_body);
    if (uuid.size() < leaf.size() || uuid.compare(uuid.size() - leaf.size(), leaf.size(), leaf) != 0)
        throw malformed("the entry UUID is not the leaf hash of its body");
    Json body_json = Json::parse(entry.canonicalized_body, nullptr, false);
    if (body_json.is_discarded() || !body_json.is_object() || !body_json.contains("kind") ||
        !body_json["kind"].is_string() || !body_json.contains("apiVersion") || !body_json["apiVersion"].is_string())
        throw malformed("the body is not an entry with kind and apiVersion");
    entry.kind = body_json["kind"].get<std::string>();
    entry.kind_version = body_json["apiVersion"].get<std::string>();
    entry.integrated_time = integer(inner, "integratedTime", display_name);
    entry.log_index = integer(inner, "logIndex", display_name);
    if (!inner.contains("logID")) throw malformed("logID is missing");
    entry.log_id = hex_to_raw(inner["logID"], "logID", display_name);

    auto verification = inner.find("verification");
    if (verification != inner.end() && verification->is_object()) {
        if (auto set = verification->find("signedEntryTimestamp"); set != verification->end()) {
            auto raw = set->is_string() ? util::base64_decode(set->get_ref<const std::string&>()) : std::nullopt;
            if (!raw) throw malformed("signedEntryTimestamp is not base64");
            entry.signed_entry_timestamp = std::move(*raw);
        }
        if (auto proof_it = verification->find("inclusionProof"); proof_it != verification->end()) {
            const Json& proof_json = *proof_it;
            if (!proof_json.is_object()) throw malformed("inclusionProof is not an object");
            InclusionProof proof;
            proof.log_index = integer(proof_json, "logIndex", display_name);
            proof.tree_size = integer(proof_json, "treeSize", display_name);
            if (!proof_json.contains("rootHash")) throw malformed("inclusionProof.rootHash is missing");
            proof.root_hash = hex_to_raw(proof_json["rootHash"], "inclusionProof.rootHash", display_name);
            auto hashes = proof_json.find("hashes");
            if (hashes == proof_json.end() || !hashes->is_array()) throw malformed("inclusionProof.hashes is missing");
            for (const auto& hash : *hashes) proof.hashes.push_back(hex_to_raw(hash, "an inclusion proof hash", display_name));
            if (auto checkpoint = proof_json.find("checkpoint"); checkpoint != proof_json.end()) {
                if (!checkpoint->is_string()) throw malformed("inclusionProof.checkpoint is not a string");
                proof.checkpoint = checkpoint->get<std::string>();
            }
            entry.inclusion_proof = std::move(proof);
        }
    }
    return entry;
}

}  // namespace slate::sign
