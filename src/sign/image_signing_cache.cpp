// The verification cache and the JSON shape of a verification result.
#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/sign/image_signing.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {

using OrderedJson = nlohmann::ordered_json;

OrderedJson to_json(const VerificationResult& result) {
    OrderedJson doc = OrderedJson::object();
    doc["image"] = result.image;
    doc["digest"] = result.digest;
    doc["key"] = result.key;
    doc["policy"] = result.policy;
    doc["verified"] = result.verified_count() > 0;
    doc["cached"] = result.cached;
    doc["tlogChecked"] = result.tlog_checked;
    OrderedJson signatures = OrderedJson::array();
    for (const auto& signature : result.signatures) {
        OrderedJson entry = OrderedJson::object();
        entry["location"] = signature.location;
        entry["format"] = signature.format;
        entry["verified"] = signature.verified;
        if (!signature.failure.empty()) entry["failure"] = signature.failure;
        entry["checks"] = signature.checks;
        if (!signature.predicate_type.empty()) entry["predicateType"] = signature.predicate_type;
        if (!signature.predicate.is_null()) entry["predicate"] = signature.predicate;
        if (signature.tlog_index) entry["tlogIndex"] = *signature.tlog_index;
        signatures.push_back(std::move(entry));
    }
    doc["signatures"] = std::move(signatures);
    return doc;
}

VerificationResult verification_result_from_json(const nlohmann::json& json) {
    try {
        VerificationResult result;
        result.image = json.at("image").get<std::string>();
        result.digest = json.at("digest").get<std::string>();
        result.key = json.at("key").get<std::string>();
        result.policy = json.at("policy").get<std::string>();
        result.cached = json.value("cached", false);
        result.tlog_checked = json.value("tlogChecked", false);
        for (const auto& entry : json.at("signatures")) {
            CheckedSignature signature;
            signature.location = entry.at("location").get<std::string>();
            signature.format = entry.at("format").get<std::string>();
            signature.verified = entry.at("verified").get<bool>();
            signature.failure = entry.value("failure", std::string());
            signature.checks = entry.value("checks", std::vector<std::string>());
            signature.predicate_type = entry.value("predicateType", std::string());
            if (auto it = entry.find("predicate"); it != entry.end()) signature.predicate = OrderedJson(*it);
            if (auto it = entry.find("tlogIndex"); it != entry.end()) signature.tlog_index = it->get<std::int64_t>();
            result.signatures.push_back(std::move(signature));
        }
        return result;
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCode::Parse, fmt::format("malformed verification result: {}", e.what()));
    }
}

std::filesystem::path VerificationCache::path_for(const std::string& store, const std::string& digest,
                                                  const std::string& key, const std::string& policy) const {
    // Newlines cannot occur in any of the parts, so the joined text is unambiguous.
    return m_dir / (util::sha256_hex(fmt::format("{}\n{}\n{}\n{}", store, digest, key, policy)) + ".json");
}

std::optional<VerificationResult> VerificationCache::find(const std::string& store, const std::string& digest,
                                                          const std::string& key, const std::string& policy) const {
    std::filesystem::path path = path_for(store, digest, key, policy);
    std::string text;
    try {
        text = util::read_file(path);
    } catch (const Error&) {
        return std::nullopt;  // absent or unreadable: a miss
    }
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object() || doc.value("store", "") != store || doc.value("resolved", "") != digest ||
        !doc.contains("result"))
        return std::nullopt;
    try {
        VerificationResult result = verification_result_from_json(doc["result"]);
        // Only successes are written; anything else is a damaged file.
        if (result.key != key || result.policy != policy || result.verified_count() == 0) return std::nullopt;
        result.cached = true;
        return result;
    } catch (const Error&) {
        return std::nullopt;
    }
}

void VerificationCache::store(const std::string& store, const std::string& digest,
                              const VerificationResult& result) const {
    if (result.verified_count() == 0) return;  // a failure is never cached
    OrderedJson doc = OrderedJson::object();
    doc["store"] = store;
    doc["resolved"] = digest;
    doc["result"] = to_json(result);
    try {
        std::filesystem::create_directories(m_dir);
        util::write_file_atomic(path_for(store, digest, result.key, result.policy), doc.dump());
    } catch (const std::exception&) {
        // A cache that cannot be written only costs time on the next run.
    }
}

}  // namespace slate::sign
