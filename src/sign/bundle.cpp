// Sigstore bundles in protobuf's JSON mapping: camelCase field names (the
// proto's snake_case names are accepted too, as protobuf parsers do), int64
// as decimal strings (numbers accepted), bytes as standard base64.

#include "slate/sign/bundle.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "slate/error.hpp"
#include "slate/util/base64.hpp"

namespace slate::sign {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Reads one JSON document's fields, naming the document and the field's path
// in every error.
class Reader {
public:
    explicit Reader(std::string_view display_name) : m_name(display_name) {}

    [[noreturn]] void fail(std::string_view what) const {
        throw Error(ErrorCode::Parse, fmt::format("{}: {}", m_name, what),
                    "a Sigstore bundle is the JSON form of dev.sigstore.bundle.v1.Bundle");
    }

    // The member `camel` (or its snake_case spelling) of `object`; null when absent.
    const Json* find(const Json& object, std::string_view camel, std::string_view snake = {}) const {
        if (!object.is_object()) return nullptr;
        auto it = object.find(std::string(camel));
        if (it == object.end() && !snake.empty()) it = object.find(std::string(snake));
        if (it == object.end() || it->is_null()) return nullptr;
        return &*it;
    }
    const Json& require(const Json& object, std::string_view path, std::string_view camel,
                        std::string_view snake = {}) const {
        const Json* value = find(object, camel, snake);
        if (!value) fail(fmt::format("{}{} is missing", path, camel));
        return *value;
    }
    const Json& object(const Json& value, std::string_view path) const {
        if (!value.is_object()) fail(fmt::format("{} is not a JSON object", path));
        return value;
    }
    std::string string(const Json& value, std::string_view path) const {
        if (!value.is_string()) fail(fmt::format("{} is not a string", path));
        return value.get<std::string>();
    }
    std::string bytes(const Json& value, std::string_view path) const {
        auto decoded = util::base64_decode(string(value, path));
        if (!decoded) fail(fmt::format("{} is not valid base64", path));
        return std::move(*decoded);
    }
    std::int64_t int64(const Json& value, std::string_view path) const {
        if (value.is_number_integer()) return value.get<std::int64_t>();
        if (value.is_number_unsigned()) {
            auto number = value.get<std::uint64_t>();
            if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                fail(fmt::format("{} is out of range", path));
            return static_cast<std::int64_t>(number);
        }
        if (value.is_string()) {
            const auto& text = value.get_ref<const std::string&>();
            std::int64_t number = 0;
            auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
            if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return number;
        }
        fail(fmt::format("{} is not a 64-bit integer", path));
    }
    std::int64_t non_negative(const Json& value, std::string_view path) const {
        std::int64_t number = int64(value, path);
        if (number < 0) fail(fmt::format("{} is negative ({})", path, number));
        return number;
    }

private:
    std::string m_name;
};

HashAlgorithm hash_algorithm(const Reader& reader, const std::string& name) {
    if (name == "SHA2_256") return HashAlgorithm::Sha256;
    if (name == "SHA2_384") return HashAlgorithm::Sha384;
    if (name == "SHA2_512") return HashAlgorithm::Sha512;
    reader.fail(fmt::format("unsupported message digest algorithm \"{}\"", name));
}

const char* hash_algorithm_name(HashAlgorithm algorithm) {
    switch (algorithm) {
    case HashAlgorithm::Sha384: return "SHA2_384";
    case HashAlgorithm::Sha512: return "SHA2_512";
    case HashAlgorithm::Sha256: break;
    }
    return "SHA2_256";
}

TransparencyLogEntry read_tlog_entry(const Reader& r, const Json& json, const std::string& path) {
    r.object(json, path);
    TransparencyLogEntry entry;
    entry.log_index = r.non_negative(r.require(json, path + ".", "logIndex", "log_index"), path + ".logIndex");
    const Json& log_id = r.object(r.require(json, path + ".", "logId", "log_id"), path + ".logId");
    entry.log_id = r.bytes(r.require(log_id, path + ".logId.", "keyId", "key_id"), path + ".logId.keyId");
    const Json& kind_version = r.object(r.require(json, path + ".", "kindVersion", "kind_version"), path + ".kindVersion");
    entry.kind = r.string(r.require(kind_version, path + ".kindVersion.", "kind"), path + ".kindVersion.kind");
    entry.kind_version = r.string(r.require(kind_version, path + ".kindVersion.", "version"), path + ".kindVersion.version");
    if (const Json* time = r.find(json, "integratedTime", "integrated_time"))
        entry.integrated_time = r.non_negative(*time, path + ".integratedTime");
    if (const Json* promise = r.find(json, "inclusionPromise", "inclusion_promise")) {
        r.object(*promise, path + ".inclusionPromise");
        entry.signed_entry_timestamp =
            r.bytes(r.require(*promise, path + ".inclusionPromise.", "signedEntryTimestamp", "signed_entry_timestamp"),
                    path + ".inclusionPromise.signedEntryTimestamp");
    }
    if (const Json* proof_json = r.find(json, "inclusionProof", "inclusion_proof")) {
        const std::string at = path + ".inclusionProof";
        r.object(*proof_json, at);
        InclusionProof proof;
        proof.log_index = r.non_negative(r.require(*proof_json, at + ".", "logIndex", "log_index"), at + ".logIndex");
        proof.root_hash = r.bytes(r.require(*proof_json, at + ".", "rootHash", "root_hash"), at + ".rootHash");
        proof.tree_size = r.non_negative(r.require(*proof_json, at + ".", "treeSize", "tree_size"), at + ".treeSize");
        if (const Json* hashes = r.find(*proof_json, "hashes")) {
            if (!hashes->is_array()) r.fail(at + ".hashes is not an array");
            for (const auto& hash : *hashes) proof.hashes.push_back(r.bytes(hash, at + ".hashes[]"));
        }
        if (const Json* checkpoint = r.find(*proof_json, "checkpoint")) {
            r.object(*checkpoint, at + ".checkpoint");
            if (const Json* envelope = r.find(*checkpoint, "envelope"))
                proof.checkpoint = r.string(*envelope, at + ".checkpoint.envelope");
        }
        entry.inclusion_proof = std::move(proof);
    }
    entry.canonicalized_body =
        r.bytes(r.require(json, path + ".", "canonicalizedBody", "canonicalized_body"), path + ".canonicalizedBody");
    return entry;
}

VerificationMaterial read_material(const Reader& r, const Json& json) {
    r.object(json, "verificationMaterial");
    VerificationMaterial material;
    if (const Json* key = r.find(json, "publicKey", "public_key")) {
        r.object(*key, "verificationMaterial.publicKey");
        PublicKeyIdentifier identifier;
        if (const Json* hint = r.find(*key, "hint")) identifier.hint = r.string(*hint, "verificationMaterial.publicKey.hint");
        material.content = identifier;
    } else if (const Json* chain_json = r.find(json, "x509CertificateChain", "x509_certificate_chain")) {
        r.object(*chain_json, "verificationMaterial.x509CertificateChain");
        const Json* certificates = r.find(*chain_json, "certificates");
        if (!certificates || !certificates->is_array() || certificates->empty())
            r.fail("verificationMaterial.x509CertificateChain has no certificates");
        CertificateChain chain;
        for (const auto& certificate : *certificates) {
            const std::string at = "verificationMaterial.x509CertificateChain.certificates[]";
            r.object(certificate, at);
            chain.certificates.push_back(r.bytes(r.require(certificate, at + ".", "rawBytes", "raw_bytes"), at + ".rawBytes"));
        }
        material.content = std::move(chain);
    } else if (const Json* certificate = r.find(json, "certificate")) {
        r.object(*certificate, "verificationMaterial.certificate");
        material.content = Certificate{r.bytes(r.require(*certificate, "verificationMaterial.certificate.", "rawBytes", "raw_bytes"),
                                               "verificationMaterial.certificate.rawBytes")};
    } else {
        r.fail("verificationMaterial has no publicKey, x509CertificateChain or certificate");
    }
    if (const Json* entries = r.find(json, "tlogEntries", "tlog_entries")) {
        if (!entries->is_array()) r.fail("verificationMaterial.tlogEntries is not an array");
        for (std::size_t i = 0; i < entries->size(); ++i)
            material.tlog_entries.push_back(read_tlog_entry(r, (*entries)[i], fmt::format("verificationMaterial.tlogEntries[{}]", i)));
    }
    if (const Json* data = r.find(json, "timestampVerificationData", "timestamp_verification_data")) {
        r.object(*data, "verificationMaterial.timestampVerificationData");
        if (const Json* timestamps = r.find(*data, "rfc3161Timestamps", "rfc3161_timestamps")) {
            if (!timestamps->is_array()) r.fail("verificationMaterial.timestampVerificationData.rfc3161Timestamps is not an array");
            for (const auto& timestamp : *timestamps) {
                const std::string at = "verificationMaterial.timestampVerificationData.rfc3161Timestamps[]";
                r.object(timestamp, at);
                material.rfc3161_timestamps.push_back(
                    r.bytes(r.require(timestamp, at + ".", "signedTimestamp", "signed_timestamp"), at + ".signedTimestamp"));
            }
        }
    }
    return material;
}

MessageSignature read_message_signature(const Reader& r, const Json& json) {
    r.object(json, "messageSignature");
    MessageSignature signature;
    if (const Json* digest = r.find(json, "messageDigest", "message_digest")) {
        r.object(*digest, "messageSignature.messageDigest");
        signature.digest_algorithm = hash_algorithm(
            r, r.string(r.require(*digest, "messageSignature.messageDigest.", "algorithm"), "messageSignature.messageDigest.algorithm"));
        signature.digest = r.bytes(r.require(*digest, "messageSignature.messageDigest.", "digest"), "messageSignature.messageDigest.digest");
    }
    signature.signature = r.bytes(r.require(json, "messageSignature.", "signature"), "messageSignature.signature");
    if (signature.signature.empty()) r.fail("messageSignature.signature is empty");
    return signature;
}

}  // namespace

std::optional<int> bundle_media_type_version(std::string_view media_type) {
    constexpr std::string_view Old = "application/vnd.dev.sigstore.bundle+json;version=";
    constexpr std::string_view NewPrefix = "application/vnd.dev.sigstore.bundle.v";
    std::string_view version;
    if (media_type.starts_with(Old)) {
        version = media_type.substr(Old.size());
    } else if (media_type.starts_with(NewPrefix) && media_type.ends_with("+json")) {
        version = media_type.substr(NewPrefix.size(), media_type.size() - NewPrefix.size() - 5);
    } else {
        return std::nullopt;
    }
    if (version == "0.1") return 1;
    if (version == "0.2") return 2;
    if (version == "0.3") return 3;
    return std::nullopt;
}

Bundle parse_bundle(std::string_view text, std::string_view display_name) {
    Json json = Json::parse(text, nullptr, false);
    Reader r(display_name);
    if (json.is_discarded()) r.fail("not valid JSON");
    r.object(json, "the bundle");
    Bundle bundle;
    bundle.media_type = r.string(r.require(json, "", "mediaType", "media_type"), "mediaType");
    if (!bundle_media_type_version(bundle.media_type))
        throw Error(ErrorCode::Parse,
                    fmt::format("{}: unsupported bundle media type \"{}\"", display_name, bundle.media_type),
                    "slate reads Sigstore bundles v0.1, v0.2 and v0.3");
    bundle.verification_material =
        read_material(r, r.require(json, "", "verificationMaterial", "verification_material"));
    const Json* message = r.find(json, "messageSignature", "message_signature");
    const Json* envelope = r.find(json, "dsseEnvelope", "dsse_envelope");
    if (message && envelope) r.fail("the bundle has both a messageSignature and a dsseEnvelope");
    if (message) {
        bundle.content = read_message_signature(r, *message);
    } else if (envelope) {
        bundle.content = envelope_from_json(*envelope, std::string(display_name) + " (dsseEnvelope)");
    } else {
        r.fail("the bundle has neither a messageSignature nor a dsseEnvelope");
    }
    return bundle;
}

OrderedJson tlog_entry_to_json(const TransparencyLogEntry& entry) {
    OrderedJson json;
    json["logIndex"] = std::to_string(entry.log_index);
    json["logId"] = {{"keyId", util::base64_encode(entry.log_id)}};
    json["kindVersion"] = {{"kind", entry.kind}, {"version", entry.kind_version}};
    // proto3 leaves a zero int64 out: Rekor v2 entries have no integrated time.
    if (entry.integrated_time != 0) json["integratedTime"] = std::to_string(entry.integrated_time);
    if (entry.signed_entry_timestamp)
        json["inclusionPromise"] = {{"signedEntryTimestamp", util::base64_encode(*entry.signed_entry_timestamp)}};
    if (entry.inclusion_proof) {
        const InclusionProof& proof = *entry.inclusion_proof;
        OrderedJson hashes = OrderedJson::array();
        for (const auto& hash : proof.hashes) hashes.push_back(util::base64_encode(hash));
        OrderedJson proof_json;
        proof_json["logIndex"] = std::to_string(proof.log_index);
        proof_json["rootHash"] = util::base64_encode(proof.root_hash);
        proof_json["treeSize"] = std::to_string(proof.tree_size);
        proof_json["hashes"] = std::move(hashes);
        if (!proof.checkpoint.empty()) proof_json["checkpoint"] = {{"envelope", proof.checkpoint}};
        json["inclusionProof"] = std::move(proof_json);
    }
    json["canonicalizedBody"] = util::base64_encode(entry.canonicalized_body);
    return json;
}

TransparencyLogEntry tlog_entry_from_json(const Json& json, std::string_view display_name) {
    return read_tlog_entry(Reader(display_name), json, "tlog entry");
}

OrderedJson bundle_to_json(const Bundle& bundle) {
    const VerificationMaterial& material = bundle.verification_material;
    OrderedJson verification;
    if (const auto* key = std::get_if<PublicKeyIdentifier>(&material.content)) {
        verification["publicKey"] = {{"hint", key->hint}};
    } else if (const auto* chain = std::get_if<CertificateChain>(&material.content)) {
        // v0.3 carries the leaf alone; the chain comes from the trusted root.
        if (chain->certificates.empty())
            throw Error(ErrorCode::Internal, "cannot write a bundle whose certificate chain is empty");
        verification["certificate"] = {{"rawBytes", util::base64_encode(chain->certificates.front())}};
    } else {
        verification["certificate"] = {{"rawBytes", util::base64_encode(std::get<Certificate>(material.content).der)}};
    }
    OrderedJson entries = OrderedJson::array();
    for (const auto& entry : material.tlog_entries) entries.push_back(tlog_entry_to_json(entry));
    verification["tlogEntries"] = std::move(entries);
    if (!material.rfc3161_timestamps.empty()) {
        OrderedJson timestamps = OrderedJson::array();
        for (const auto& timestamp : material.rfc3161_timestamps)
            timestamps.push_back({{"signedTimestamp", util::base64_encode(timestamp)}});
        verification["timestampVerificationData"] = {{"rfc3161Timestamps", std::move(timestamps)}};
    }

    OrderedJson json;
    json["mediaType"] = std::string(BundleMediaTypeV03);
    json["verificationMaterial"] = std::move(verification);
    if (const auto* message = std::get_if<MessageSignature>(&bundle.content)) {
        OrderedJson signature;
        if (!message->digest.empty())
            signature["messageDigest"] = {{"algorithm", hash_algorithm_name(message->digest_algorithm)},
                                          {"digest", util::base64_encode(message->digest)}};
        signature["signature"] = util::base64_encode(message->signature);
        json["messageSignature"] = std::move(signature);
    } else {
        json["dsseEnvelope"] = envelope_to_json(std::get<Envelope>(bundle.content));
    }
    return json;
}

std::string bundle_to_string(const Bundle& bundle) { return bundle_to_json(bundle).dump(); }

}  // namespace slate::sign
