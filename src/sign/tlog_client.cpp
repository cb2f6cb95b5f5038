#include "slate/sign/tlog_client.hpp"

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

nlohmann::json parse_json(std::string_view text, std::string_view what) {
    nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded())
        throw Error(ErrorCode::Parse, fmt::format("the transparency log's answer to {} is not JSON", what),
                    "check that the URL points at a Rekor v1 compatible log (e.g. `slate tlog serve`)");
    return json;
}

// The "message" of a Rekor error answer {"code": N, "message": "..."}, or the raw text.
std::string error_message(std::string_view body) {
    nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
    if (!json.is_discarded() && json.is_object() && json.contains("message") && json["message"].is_string())
        return json["message"].get<std::string>();
    std::string text(body.substr(0, 300));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text.empty() ? "(no message)" : text;
}

std::string hex_field(const nlohmann::json& json, const char* name, std::string_view what) {
    auto it = json.find(name);
    auto raw = it != json.end() && it->is_string() ? util::from_hex(it->get_ref<const std::string&>()) : std::nullopt;
    if (!raw)
        throw Error(ErrorCode::Parse, fmt::format("the transparency log's {} has no hex \"{}\"", what, name),
                    "check that the URL points at a Rekor v1 compatible log");
    return std::move(*raw);
}

}  // namespace

TlogClient::TlogClient(std::string base_url, util::HttpClient& http) : m_base_url(std::move(base_url)), m_http(http) {
    while (!m_base_url.empty() && m_base_url.back() == '/') m_base_url.pop_back();
    if (m_base_url.empty()) throw Error(ErrorCode::Usage, "no transparency log URL given", "give the log's http:// URL");
}

TransparencyLogEntry TlogClient::submit(const std::string& proposed_entry) {
    util::HttpPostRequest request;
    request.url = m_base_url + "/api/v1/log/entries";
    request.body = proposed_entry;
    std::string body;
    util::HttpResponse response = m_http.post(request, body);
    const std::string shown = util::redact_url(request.url);
    if (response.status == 201 || response.status == 409) {
        nlohmann::json json = parse_json(body, "a submission");
        if (response.status == 409 && json.is_object() && json.contains("code")) {
            // Rekor answers a duplicate with an error naming the existing
            // entry's UUID as the message's last word: fetch that entry.
            std::string message = error_message(body);
            std::string uuid = message.substr(message.find_last_of(' ') + 1);
            if ((uuid.size() != 64 && uuid.size() != 80) || !util::from_hex(uuid))
                throw Error(ErrorCode::Network, fmt::format("{}: the entry already exists: {}", shown, message));
            return rekor_entry_from_json(parse_json(get_text("/api/v1/log/entries/" + uuid, "the existing entry"),
                                                    "the existing entry"),
                                         "the existing log entry");
        }
        return rekor_entry_from_json(json, "the transparency log's entry");
    }
    if (response.status == 400 || response.status == 413 || response.status == 422)
        throw Error(ErrorCode::Usage,
                    fmt::format("the transparency log refused the entry (HTTP {}): {}", response.status,
                                error_message(body)),
                    "check the signature, key and artifact digest");
    throw Error(ErrorCode::Network,
                fmt::format("cannot record the entry at {}: HTTP {}: {}", shown, response.status, error_message(body)),
                "check the log's URL, and that the log is running");
}

TransparencyLogEntry TlogClient::submit_hashedrekord(std::string_view artifact_sha256, std::string_view signature,
                                                     const PublicKey& key) {
    return submit(hashedrekord_proposed_entry(artifact_sha256, signature, key));
}

TransparencyLogEntry TlogClient::submit_dsse(const Envelope& envelope, const PublicKey& key) {
    return submit(dsse_proposed_entry(envelope, key));
}

std::string TlogClient::get_text(const std::string& path_and_query, std::string_view what) {
    util::HttpRequest request;
    request.url = m_base_url + path_and_query;
    std::string body;
    try {
        m_http.get(request, body);
    } catch (Error& e) {
        e.add_context(fmt::format("while reading {} from the transparency log", what));
        throw;
    }
    return body;
}

TransparencyLogEntry TlogClient::entry(std::uint64_t log_index) {
    std::string body = get_text(fmt::format("/api/v1/log/entries?logIndex={}", log_index), "an entry");
    return rekor_entry_from_json(parse_json(body, "an entry request"), fmt::format("log entry {}", log_index));
}

LogInfo TlogClient::log_info() {
    nlohmann::json json = parse_json(get_text("/api/v1/log", "the log's state"), "/api/v1/log");
    if (!json.is_object() || !json.contains("treeSize") || !json["treeSize"].is_number_unsigned() ||
        !json.contains("signedTreeHead") || !json["signedTreeHead"].is_string())
        throw Error(ErrorCode::Parse, "the transparency log's state lacks treeSize or signedTreeHead",
                    "check that the URL points at a Rekor v1 compatible log");
    LogInfo info;
    info.root_hash = hex_field(json, "rootHash", "state");
    info.tree_size = json["treeSize"].get<std::uint64_t>();
    info.signed_tree_head = json["signedTreeHead"].get<std::string>();
    return info;
}

std::string TlogClient::checkpoint() { return log_info().signed_tree_head; }

ConsistencyProof TlogClient::consistency_proof(std::uint64_t first_size, std::uint64_t last_size) {
    std::string body = get_text(fmt::format("/api/v1/log/proof?firstSize={}&lastSize={}", first_size, last_size),
                                "a consistency proof");
    nlohmann::json json = parse_json(body, "a consistency proof request");
    if (!json.is_object() || !json.contains("hashes") || !json["hashes"].is_array())
        throw Error(ErrorCode::Parse, "the transparency log's consistency proof has no hashes",
                    "check that the URL points at a Rekor v1 compatible log");
    ConsistencyProof proof;
    proof.first_size = first_size;
    proof.last_size = last_size;
    proof.root_hash = hex_field(json, "rootHash", "consistency proof");
    for (const auto& hash : json["hashes"]) {
        auto raw = hash.is_string() ? util::from_hex(hash.get_ref<const std::string&>()) : std::nullopt;
        if (!raw || raw->size() != 32)
            throw Error(ErrorCode::Parse, "the transparency log's consistency proof holds a malformed hash");
        proof.hashes.push_back(std::move(*raw));
    }
    return proof;
}

PublicKey TlogClient::public_key() {
    return PublicKey::from_pem(get_text("/api/v1/log/publicKey", "the log's public key"), "the log's public key");
}

}  // namespace slate::sign
