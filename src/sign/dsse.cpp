#include "slate/sign/dsse.hpp"

#include <array>
#include <utility>

#include "slate/error.hpp"
#include "slate/util/base64.hpp"

namespace slate::sign {
namespace {

// DSSE allows standard or URL-safe base64 (protocol.md), padded or not.
std::optional<std::string> decode_dsse_base64(std::string text) {
    for (char& c : text) {
        if (c == '-') c = '+';
        else if (c == '_') c = '/';
    }
    return util::base64_decode(text);
}

[[noreturn]] void malformed(std::string_view display_name, const std::string& what) {
    throw Error(ErrorCode::Parse, std::string(display_name) + " is malformed: " + what,
                "A DSSE envelope is {\"payload\": base64, \"payloadType\": string, "
                "\"signatures\": [{\"keyid\": string, \"sig\": base64}]}.");
}

std::string base64_field(const nlohmann::json& object, const char* name, std::string_view display_name,
                         const std::string& where) {
    auto it = object.find(name);
    if (it == object.end()) malformed(display_name, where + "\"" + name + "\" is missing");
    if (!it->is_string()) malformed(display_name, where + "\"" + name + "\" is not a string");
    auto decoded = decode_dsse_base64(it->get<std::string>());
    if (!decoded) malformed(display_name, where + "\"" + name + "\" is not base64");
    return std::move(*decoded);
}

[[noreturn]] void bad_statement(std::string_view display_name, const std::string& what) {
    throw Error(ErrorCode::Parse, std::string(display_name) + " is not an in-toto statement: " + what,
                "An in-toto Statement is {\"_type\": \"https://in-toto.io/Statement/v1\", \"subject\": [...], "
                "\"predicateType\": URI, \"predicate\": {...}}.");
}

constexpr std::string_view InTotoStatementV01 = "https://in-toto.io/Statement/v0.1";

// cosign's `attest --type` names (cosign's pkg/cosign/attestation).
constexpr std::array<std::pair<std::string_view, std::string_view>, 10> PredicateTypes{{
    {"slsaprovenance", "https://slsa.dev/provenance/v0.2"},
    {"slsaprovenance02", "https://slsa.dev/provenance/v0.2"},
    {"slsaprovenance1", "https://slsa.dev/provenance/v1"},
    {"spdx", "https://spdx.dev/Document"},
    {"spdxjson", "https://spdx.dev/Document"},
    {"cyclonedx", "https://cyclonedx.org/bom"},
    {"link", "https://in-toto.io/Link/v1"},
    {"vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"},
    {"openvex", "https://openvex.dev/ns"},
    {"custom", "https://cosign.sigstore.dev/attestation/v1"},
}};

}  // namespace

std::string pae(std::string_view payload_type, std::string_view payload) {
    std::string out = "DSSEv1 ";
    out += std::to_string(payload_type.size());
    out += ' ';
    out += payload_type;
    out += ' ';
    out += std::to_string(payload.size());
    out += ' ';
    out += payload;
    return out;
}

Envelope sign_envelope(std::string_view payload_type, std::string_view payload, const PrivateKey& key) {
    Envelope envelope;
    envelope.payload_type = payload_type;
    envelope.payload = payload;
    envelope.signatures.push_back({"", key.sign(pae(payload_type, payload))});
    return envelope;
}

bool verify_envelope(const Envelope& envelope, const PublicKey& key) {
    const std::string message = pae(envelope.payload_type, envelope.payload);
    for (const auto& signature : envelope.signatures)
        if (key.verify(message, signature.signature)) return true;
    return false;
}

nlohmann::ordered_json envelope_to_json(const Envelope& envelope) {
    nlohmann::ordered_json signatures = nlohmann::ordered_json::array();
    // keyid is written even when empty, as cosign (go-securesystemslib) does.
    for (const auto& signature : envelope.signatures)
        signatures.push_back({{"keyid", signature.keyid}, {"sig", util::base64_encode(signature.signature)}});
    return {
        {"payload", util::base64_encode(envelope.payload)},
        {"payloadType", envelope.payload_type},
        {"signatures", std::move(signatures)},
    };
}

std::string envelope_to_string(const Envelope& envelope) { return envelope_to_json(envelope).dump(); }

Envelope envelope_from_json(const nlohmann::json& json, std::string_view display_name) {
    if (!json.is_object()) malformed(display_name, "not a JSON object");
    Envelope envelope;
    envelope.payload = base64_field(json, "payload", display_name, "");
    auto type = json.find("payloadType");
    if (type == json.end() || !type->is_string()) malformed(display_name, "\"payloadType\" is missing or not a string");
    envelope.payload_type = type->get<std::string>();
    auto signatures = json.find("signatures");
    if (signatures == json.end() || !signatures->is_array())
        malformed(display_name, "\"signatures\" is missing or not an array");
    if (signatures->empty()) malformed(display_name, "\"signatures\" is empty");
    for (std::size_t i = 0; i < signatures->size(); ++i) {
        const auto& entry = (*signatures)[i];
        const std::string where = "signature " + std::to_string(i + 1) + ": ";
        if (!entry.is_object()) malformed(display_name, where + "not a JSON object");
        DsseSignature signature;
        signature.signature = base64_field(entry, "sig", display_name, where);
        if (signature.signature.empty()) malformed(display_name, where + "\"sig\" is empty");
        auto keyid = entry.find("keyid");
        if (keyid != entry.end() && !keyid->is_null()) {
            if (!keyid->is_string()) malformed(display_name, where + "\"keyid\" is not a string");
            signature.keyid = keyid->get<std::string>();
        }
        envelope.signatures.push_back(std::move(signature));
    }
    return envelope;
}

Envelope parse_envelope(std::string_view text, std::string_view display_name) {
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        malformed(display_name, std::string("not JSON (") + e.what() + ")");
    }
    return envelope_from_json(json, display_name);
}

// ------------------------------------------------------------------ in-toto

std::string statement_to_string(const Statement& statement) {
    nlohmann::ordered_json subjects = nlohmann::ordered_json::array();
    for (const auto& subject : statement.subjects) {
        nlohmann::ordered_json digest = nlohmann::ordered_json::object();
        for (const auto& [algorithm, hex] : subject.digest) digest[algorithm] = hex;
        subjects.push_back({{"name", subject.name}, {"digest", std::move(digest)}});
    }
    nlohmann::ordered_json out = {
        {"_type", InTotoStatementV1},
        {"subject", std::move(subjects)},
        {"predicateType", statement.predicate_type},
        {"predicate", statement.predicate.is_null() ? nlohmann::ordered_json::object() : statement.predicate},
    };
    return out.dump();
}

Statement parse_statement(std::string_view text, std::string_view display_name) {
    nlohmann::ordered_json json;
    try {
        json = nlohmann::ordered_json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        bad_statement(display_name, std::string("not JSON (") + e.what() + ")");
    }
    if (!json.is_object()) bad_statement(display_name, "not a JSON object");
    auto type = json.find("_type");
    if (type == json.end() || !type->is_string()) bad_statement(display_name, "\"_type\" is missing");
    const std::string type_uri = type->get<std::string>();
    if (type_uri != InTotoStatementV1 && type_uri != InTotoStatementV01)
        bad_statement(display_name, "unknown \"_type\" \"" + type_uri + "\" (slate reads Statement v0.1 and v1)");

    Statement statement;
    auto subjects = json.find("subject");
    if (subjects == json.end() || !subjects->is_array() || subjects->empty())
        bad_statement(display_name, "\"subject\" is missing, empty or not an array");
    for (const auto& entry : *subjects) {
        if (!entry.is_object()) bad_statement(display_name, "a subject is not a JSON object");
        Subject subject;
        auto name = entry.find("name");
        if (name != entry.end()) {
            if (!name->is_string()) bad_statement(display_name, "a subject's \"name\" is not a string");
            subject.name = name->get<std::string>();
        }
        auto digest = entry.find("digest");
        if (digest == entry.end() || !digest->is_object() || digest->empty())
            bad_statement(display_name, "subject \"" + subject.name + "\" has no \"digest\" object");
        for (const auto& [algorithm, value] : digest->items()) {
            if (!value.is_string())
                bad_statement(display_name, "subject \"" + subject.name + "\": digest " + algorithm + " is not a string");
            subject.digest[algorithm] = value.get<std::string>();
        }
        statement.subjects.push_back(std::move(subject));
    }
    auto predicate_type = json.find("predicateType");
    if (predicate_type == json.end() || !predicate_type->is_string() || predicate_type->get<std::string>().empty())
        bad_statement(display_name, "\"predicateType\" is missing or not a string");
    statement.predicate_type = predicate_type->get<std::string>();
    auto predicate = json.find("predicate");
    statement.predicate = predicate == json.end() ? nlohmann::ordered_json::object() : *predicate;
    return statement;
}

std::string predicate_type_uri(std::string_view name_or_uri) {
    if (name_or_uri.find(':') != std::string_view::npos) return std::string(name_or_uri);
    for (const auto& [name, uri] : PredicateTypes)
        if (name == name_or_uri) return std::string(uri);
    std::string names;
    for (const auto& [name, uri] : PredicateTypes) names += (names.empty() ? "" : ", ") + std::string(name);
    throw Error(ErrorCode::Usage, "unknown predicate type \"" + std::string(name_or_uri) + "\"",
                "Use one of " + names + ", or a URI such as https://example.com/my-predicate/v1.");
}

}  // namespace slate::sign
