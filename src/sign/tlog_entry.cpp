// One transparency log entry, checked offline: its inclusion proof and
// checkpoint, its signed entry timestamp, and what its body records.

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/sign/note.hpp"
#include "slate/sign/verify_bundle.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"
#include "x509.hpp"

namespace slate::sign {
namespace {

using Json = nlohmann::json;

[[noreturn]] void fail(const std::string& message, std::string hint = {}) {
    throw Error(ErrorCode::CheckFailed, message, std::move(hint));
}

std::string sha256_raw(std::string_view data) { return digest(HashAlgorithm::Sha256, data); }

// The names a log may sign its checkpoints under.
std::vector<std::string> checkpoint_names(std::string_view origin_hint, std::string_view origin) {
    std::vector<std::string> names;
    auto add = [&](std::string_view name) {
        if (name.empty()) return;
        for (const auto& known : names)
            if (known == name) return;
        names.emplace_back(name);
    };
    add(origin_hint);
    add(origin);
    add(origin.substr(0, origin.find(' ')));  // Rekor v1: "rekor.sigstore.dev - 2605736670972794746"
    return names;
}

void verify_checkpoint(const InclusionProof& proof, const PublicKey& log_key, std::string_view origin_hint) {
    if (proof.checkpoint.empty())
        fail("the inclusion proof has no checkpoint: nothing vouches for its root hash",
             "bundles from v0.2 on carry the log's signed checkpoint with the proof");
    Note note;
    Checkpoint checkpoint;
    try {
        note = parse_note(proof.checkpoint);
        checkpoint = parse_checkpoint(note.text);
    } catch (const Error& e) {
        fail("the checkpoint is malformed: " + e.message());
    }
    bool signed_by_log = false;
    for (const auto& name : checkpoint_names(origin_hint, checkpoint.origin))
        signed_by_log = signed_by_log || verify_note(note, name, log_key);
    if (!signed_by_log)
        fail(fmt::format("the checkpoint of {} is not signed by the log's key", checkpoint.origin),
             "no signature line has the log's key hash and a valid signature");
    if (checkpoint.tree_size != static_cast<std::uint64_t>(proof.tree_size) || checkpoint.root_hash != proof.root_hash)
        fail("the inclusion proof does not lead to the checkpoint's root hash",
             fmt::format("the checkpoint is for a tree of {} entries, the proof for {}", checkpoint.tree_size, proof.tree_size));
}

void verify_inclusion_proof(const TransparencyLogEntry& entry) {
    const InclusionProof& proof = *entry.inclusion_proof;
    if (proof.log_index < 0 || proof.tree_size <= 0 || proof.log_index >= proof.tree_size)
        fail(fmt::format("the inclusion proof's index {} is outside its tree of {} entries", proof.log_index, proof.tree_size));
    auto root = root_from_inclusion_proof(static_cast<std::uint64_t>(proof.log_index), static_cast<std::uint64_t>(proof.tree_size),
                                          leaf_hash(entry.canonicalized_body), proof.hashes);
    if (!root) fail(fmt::format("the inclusion proof has the wrong number of hashes ({}) for index {} in a tree of {}",
                                proof.hashes.size(), proof.log_index, proof.tree_size));
    if (*root != proof.root_hash) fail("the inclusion proof does not lead to its root hash: the entry is not in the log");
}

// Rekor's inclusion promise: the log's signature over the canonical JSON
// {"body","integratedTime","logID","logIndex"} (sorted keys, no spaces).
void verify_signed_entry_timestamp(const TransparencyLogEntry& entry, const PublicKey& log_key) {
    Json payload;  // std::map-backed: keys come out sorted
    payload["body"] = util::base64_encode(entry.canonicalized_body);
    payload["integratedTime"] = entry.integrated_time;
    payload["logID"] = util::to_hex(entry.log_id);
    payload["logIndex"] = entry.log_index;
    if (!log_key.verify(payload.dump(), *entry.signed_entry_timestamp))
        fail("the signed entry timestamp (inclusion promise) is not the log's signature over this entry");
}

// ------------------------------------------------------------- entry bodies

const Json& at(const Json& json, std::initializer_list<const char*> path, std::string_view kind) {
    const Json* node = &json;
    std::string where;
    for (const char* key : path) {
        where += where.empty() ? key : std::string(".") + key;
        if (!node->is_object() || !node->contains(key)) fail(fmt::format("the {} log entry has no {}", kind, where));
        node = &(*node)[key];
    }
    return *node;
}

std::string text(const Json& json, std::initializer_list<const char*> path, std::string_view kind) {
    const Json& node = at(json, path, kind);
    if (!node.is_string()) fail(fmt::format("the {} log entry's {} is not a string", kind, *std::prev(path.end())));
    return node.get<std::string>();
}

std::string bytes(const Json& json, std::initializer_list<const char*> path, std::string_view kind) {
    auto decoded = util::base64_decode(text(json, path, kind));
    if (!decoded) fail(fmt::format("the {} log entry's {} is not base64", kind, *std::prev(path.end())));
    return *decoded;
}

// A verifier recorded as PEM (certificate or public key).
bool pem_verifier_matches(std::string_view pem, const EntryContent& content) {
    if (content.certificate_der) {
        auto der = detail::certificate_pem_to_der(pem);
        return der && *der == *content.certificate_der;
    }
    if (content.key) {
        try {
            return PublicKey::from_pem(pem).der() == content.key->der();
        } catch (const Error&) {
            return false;
        }
    }
    return false;
}

// A Rekor v2 verifier: {"x509Certificate": {"rawBytes"}} or {"publicKey": {"rawBytes"}}.
bool v2_verifier_matches(const Json& verifier, std::string_view kind, const EntryContent& content) {
    if (content.certificate_der && verifier.contains("x509Certificate"))
        return bytes(verifier, {"x509Certificate", "rawBytes"}, kind) == *content.certificate_der;
    if (content.key && verifier.contains("publicKey"))
        return bytes(verifier, {"publicKey", "rawBytes"}, kind) == content.key->der();
    return false;
}

void expect(bool condition, std::string_view kind, std::string_view what) {
    if (!condition)
        fail(fmt::format("the {} log entry does not match the bundle: {}", kind, what),
             "the transparency log recorded a different signing event than the one this bundle describes");
}

void check_hashedrekord(const Json& body, const std::string& version, const EntryContent& content) {
    const std::string digest = content.envelope ? sha256_raw(pae(content.envelope->payload_type, content.envelope->payload))
                                                : content.artifact_sha256;
    const std::string_view kind = "hashedrekord";
    if (version == "0.0.1") {
        expect(text(body, {"spec", "data", "hash", "algorithm"}, kind) == "sha256", kind, "its hash algorithm is not sha256");
        expect(text(body, {"spec", "data", "hash", "value"}, kind) == util::to_hex(digest), kind,
               "it records a different artifact digest");
        expect(bytes(body, {"spec", "signature", "content"}, kind) == content.signature, kind, "it records a different signature");
        expect(pem_verifier_matches(bytes(body, {"spec", "signature", "publicKey", "content"}, kind), content), kind,
               "it records a different certificate or public key");
    } else if (version == "0.0.2") {
        const Json& spec = at(body, {"spec", "hashedRekordV002"}, kind);
        expect(text(spec, {"data", "algorithm"}, kind) == "SHA2_256", kind, "its digest algorithm is not SHA2_256");
        expect(bytes(spec, {"data", "digest"}, kind) == digest, kind, "it records a different artifact digest");
        expect(bytes(spec, {"signature", "content"}, kind) == content.signature, kind, "it records a different signature");
        expect(v2_verifier_matches(at(spec, {"signature", "verifier"}, kind), kind, content), kind,
               "it records a different certificate or public key");
    } else {
        fail(fmt::format("unsupported hashedrekord entry version {}", version));
    }
}

void check_dsse(const Json& body, const std::string& version, const EntryContent& content) {
    const std::string_view kind = "dsse";
    if (!content.envelope) fail("the log entry is a DSSE entry but the bundle carries a message signature");
    const std::string payload_hash = sha256_raw(content.envelope->payload);
    if (version == "0.0.1") {
        expect(text(body, {"spec", "payloadHash", "algorithm"}, kind) == "sha256", kind, "its payload hash is not sha256");
        expect(text(body, {"spec", "payloadHash", "value"}, kind) == util::to_hex(payload_hash), kind,
               "it records a different payload");
        const Json& signatures = at(body, {"spec", "signatures"}, kind);
        expect(signatures.is_array() && signatures.size() == 1, kind, "it records a different number of signatures");
        expect(bytes(signatures[0], {"signature"}, kind) == content.signature, kind, "it records a different signature");
        expect(pem_verifier_matches(bytes(signatures[0], {"verifier"}, kind), content), kind,
               "it records a different certificate or public key");
    } else if (version == "0.0.2") {
        const Json& spec = at(body, {"spec", "dsseV002"}, kind);
        expect(text(spec, {"payloadHash", "algorithm"}, kind) == "SHA2_256", kind, "its payload hash is not SHA2_256");
        expect(bytes(spec, {"payloadHash", "digest"}, kind) == payload_hash, kind, "it records a different payload");
        const Json& signatures = at(spec, {"signatures"}, kind);
        expect(signatures.is_array() && signatures.size() == 1, kind, "it records a different number of signatures");
        expect(bytes(signatures[0], {"content"}, kind) == content.signature, kind, "it records a different signature");
        expect(v2_verifier_matches(at(signatures[0], {"verifier"}, kind), kind, content), kind,
               "it records a different certificate or public key");
    } else {
        fail(fmt::format("unsupported dsse entry version {}", version));
    }
}

// intoto 0.0.2 stores the envelope with its payload and signatures base64
// encoded twice (Rekor's quirk) and the verifier as base64 PEM.
void check_intoto(const Json& body, const std::string& version, const EntryContent& content) {
    const std::string_view kind = "intoto";
    if (version != "0.0.2") fail(fmt::format("unsupported intoto entry version {}", version));
    if (!content.envelope) fail("the log entry is an in-toto entry but the bundle carries a message signature");
    const Json& envelope = at(body, {"spec", "content", "envelope"}, kind);
    expect(text(envelope, {"payloadType"}, kind) == content.envelope->payload_type, kind, "it records a different payload type");
    auto payload = util::base64_decode(bytes(envelope, {"payload"}, kind));
    expect(payload && *payload == content.envelope->payload, kind, "it records a different payload");
    expect(text(body, {"spec", "content", "payloadHash", "algorithm"}, kind) == "sha256", kind, "its payload hash is not sha256");
    expect(text(body, {"spec", "content", "payloadHash", "value"}, kind) == util::to_hex(sha256_raw(content.envelope->payload)),
           kind, "it records a different payload hash");
    const Json& signatures = at(envelope, {"signatures"}, kind);
    expect(signatures.is_array() && signatures.size() == 1, kind, "it records a different number of signatures");
    auto signature = util::base64_decode(bytes(signatures[0], {"sig"}, kind));
    expect(signature && *signature == content.signature, kind, "it records a different signature");
    expect(pem_verifier_matches(bytes(signatures[0], {"publicKey"}, kind), content), kind,
           "it records a different certificate or public key");
}

}  // namespace

bool verify_tlog_entry(const TransparencyLogEntry& entry, const PublicKey& log_key, std::string_view origin_hint) {
    if (!entry.inclusion_proof && !entry.signed_entry_timestamp)
        fail(fmt::format("transparency log entry {} has neither an inclusion proof nor a signed entry timestamp",
                         entry.log_index));
    if (entry.inclusion_proof) {
        verify_inclusion_proof(entry);
        verify_checkpoint(*entry.inclusion_proof, log_key, origin_hint);
    }
    if (entry.signed_entry_timestamp) {
        verify_signed_entry_timestamp(entry, log_key);
        return true;
    }
    return false;
}

void verify_entry_body(const TransparencyLogEntry& entry, const EntryContent& content) {
    Json body = Json::parse(entry.canonicalized_body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) fail("the transparency log entry's body is not JSON");
    const std::string kind = text(body, {"kind"}, "transparency");
    const std::string version = text(body, {"apiVersion"}, "transparency");
    if (kind != entry.kind || version != entry.kind_version)
        fail(fmt::format("the transparency log entry says it is {} {} but its body is {} {}", entry.kind,
                         entry.kind_version, kind, version));
    if (kind == "hashedrekord") return check_hashedrekord(body, version, content);
    if (kind == "dsse") return check_dsse(body, version, content);
    if (kind == "intoto") return check_intoto(body, version, content);
    fail(fmt::format("unsupported transparency log entry kind \"{}\"", kind),
         "slate checks hashedrekord, dsse and intoto entries");
}

}  // namespace slate::sign
