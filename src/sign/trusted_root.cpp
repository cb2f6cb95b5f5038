// Sigstore trusted roots: the JSON form of dev.sigstore.trustedroot.v1.

#include "slate/sign/trusted_root.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <charconv>
#include <memory>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/util/base64.hpp"

namespace slate::sign {
namespace {

using Json = nlohmann::json;

struct X509Deleter {
    void operator()(X509* certificate) const { X509_free(certificate); }
};

class RootReader {
public:
    explicit RootReader(std::string_view display_name) : m_name(display_name) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(ErrorCode::Parse, fmt::format("{}: {}", m_name, what),
                    "a trusted root is the JSON form of dev.sigstore.trustedroot.v1.TrustedRoot "
                    "(Sigstore distributes it as trusted_root.json)");
    }
    const Json* find(const Json& object, const char* camel, const char* snake) const {
        if (!object.is_object()) return nullptr;
        auto it = object.find(camel);
        if (it == object.end()) it = object.find(snake);
        if (it == object.end() || it->is_null()) return nullptr;
        return &*it;
    }
    std::string string(const Json& value, const std::string& path) const {
        if (!value.is_string()) fail(path + " is not a string");
        return value.get<std::string>();
    }
    std::string bytes(const Json& value, const std::string& path) const {
        auto decoded = util::base64_decode(string(value, path));
        if (!decoded) fail(path + " is not valid base64");
        return std::move(*decoded);
    }
    std::int64_t time(const Json& value, const std::string& path) const {
        auto parsed = parse_rfc3339(string(value, path));
        if (!parsed) fail(path + " is not an RFC 3339 time");
        return *parsed;
    }

    // A TimeRange. `start_required`: an absent range is unbounded, but a
    // present one must have a start (the field is REQUIRED in the proto).
    TimeRange range(const Json* value, const std::string& path) const {
        TimeRange range;
        if (!value) return range;
        if (!value->is_object()) fail(path + " is not an object");
        const Json* start = find(*value, "start", "start");
        if (!start) fail(path + ".start is missing: a validity range must say when it starts");
        range.start = time(*start, path + ".start");
        if (const Json* end = find(*value, "end", "end")) range.end = time(*end, path + ".end");
        if (range.end && *range.end < *range.start) fail(path + " ends before it starts");
        return range;
    }

    PublicKey key(const Json& value, const std::string& path) const {
        if (!value.is_object()) fail(path + " is not an object");
        const Json* raw = find(value, "rawBytes", "raw_bytes");
        if (!raw) fail(path + ".rawBytes is missing");
        std::string der = bytes(*raw, path + ".rawBytes");
        std::string details;
        if (const Json* key_details = find(value, "keyDetails", "key_details")) details = string(*key_details, path + ".keyDetails");
        if (details.starts_with("PKCS1_RSA")) {
            // A bare PKCS#1 RSAPublicKey rather than a SubjectPublicKeyInfo.
            const auto* p = reinterpret_cast<const unsigned char*>(der.data());
            EVP_PKEY* pkey = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
            if (!pkey) fail(path + " is not a PKCS#1 RSA public key");
            return PublicKey(pkey);
        }
        try {
            return PublicKey::from_der(der);
        } catch (const Error& e) {
            fail(fmt::format("{} ({}): {}", path, details.empty() ? "no keyDetails" : details, e.message()));
        }
    }

    std::vector<TransparencyLogInstance> logs(const Json& root, const char* field) const {
        std::vector<TransparencyLogInstance> out;
        const Json* list = find(root, field, field);
        if (!list) return out;
        if (!list->is_array()) fail(std::string(field) + " is not an array");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const Json& log = (*list)[i];
            const std::string path = fmt::format("{}[{}]", field, i);
            if (!log.is_object()) fail(path + " is not an object");
            const Json* key_json = find(log, "publicKey", "public_key");
            if (!key_json) fail(path + ".publicKey is missing");
            const Json* log_id = find(log, "logId", "log_id");
            if (!log_id || !log_id->is_object()) fail(path + ".logId is missing");
            const Json* key_id = find(*log_id, "keyId", "key_id");
            if (!key_id) fail(path + ".logId.keyId is missing");
            std::string base_url;
            if (const Json* url = find(log, "baseUrl", "base_url")) base_url = string(*url, path + ".baseUrl");
            out.push_back(TransparencyLogInstance{
                base_url, key(*key_json, path + ".publicKey"),
                range(find(*key_json, "validFor", "valid_for"), path + ".publicKey.validFor"),
                bytes(*key_id, path + ".logId.keyId")});
        }
        return out;
    }

    std::vector<CertificateAuthority> authorities(const Json& root, const char* camel, const char* snake) const {
        std::vector<CertificateAuthority> out;
        const Json* list = find(root, camel, snake);
        if (!list) return out;
        if (!list->is_array()) fail(std::string(camel) + " is not an array");
        for (std::size_t i = 0; i < list->size(); ++i) {
            const Json& authority = (*list)[i];
            const std::string path = fmt::format("{}[{}]", camel, i);
            if (!authority.is_object()) fail(path + " is not an object");
            CertificateAuthority ca;
            if (const Json* uri = find(authority, "uri", "uri")) ca.uri = string(*uri, path + ".uri");
            const Json* chain = find(authority, "certChain", "cert_chain");
            const Json* certificates = chain ? find(*chain, "certificates", "certificates") : nullptr;
            if (!certificates || !certificates->is_array() || certificates->empty())
                fail(path + ".certChain has no certificates");
            for (std::size_t j = 0; j < certificates->size(); ++j) {
                const std::string at = fmt::format("{}.certChain.certificates[{}]", path, j);
                const Json* raw = find((*certificates)[j], "rawBytes", "raw_bytes");
                if (!raw) fail(at + ".rawBytes is missing");
                std::string der = bytes(*raw, at + ".rawBytes");
                const auto* p = reinterpret_cast<const unsigned char*>(der.data());
                std::unique_ptr<X509, X509Deleter> parsed(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
                if (!parsed) fail(at + " is not a DER X.509 certificate");
                ca.chain.push_back(std::move(der));
            }
            ca.valid_for = range(find(authority, "validFor", "valid_for"), path + ".validFor");
            out.push_back(std::move(ca));
        }
        return out;
    }

private:
    std::string m_name;
};

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + count, out);
    return ec == std::errc() && end == text.data() + pos + count;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    year -= month <= 2;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto yoe = static_cast<unsigned>(year - era * 400);
    const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

bool TimeRange::contains(std::int64_t time) const {
    if (start && time < *start) return false;
    if (end && time > *end) return false;
    return true;
}

const TransparencyLogInstance* TrustedRoot::find_tlog(std::string_view log_id) const {
    for (const auto& log : tlogs)
        if (log.log_id == log_id) return &log;
    return nullptr;
}

const TransparencyLogInstance* TrustedRoot::find_ctlog(std::string_view log_id) const {
    for (const auto& log : ctlogs)
        if (log.log_id == log_id) return &log;
    return nullptr;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' || !digits(text, 5, 2, month) ||
        text[7] != '-' || !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
        !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
        !digits(text, 17, 2, second))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t first = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == first) return std::nullopt;
    }
    std::int64_t offset = 0;
    std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
        int zone_hour = 0, zone_minute = 0;
        if (!digits(zone, 1, 2, zone_hour) || !digits(zone, 4, 2, zone_minute)) return std::nullopt;
        offset = (zone_hour * 60 + zone_minute) * 60 * (zone[0] == '+' ? 1 : -1);
    } else {
        return std::nullopt;
    }
    std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    return days * 86400 + hour * 3600 + minute * 60 + second - offset;
}

TrustedRoot parse_trusted_root(std::string_view text, std::string_view display_name) {
    RootReader r(display_name);
    Json json = Json::parse(text, nullptr, false);
    if (json.is_discarded()) r.fail("not valid JSON");
    if (!json.is_object()) r.fail("not a JSON object");
    TrustedRoot root;
    if (const Json* media_type = r.find(json, "mediaType", "media_type")) {
        root.media_type = r.string(*media_type, "mediaType");
        if (!root.media_type.starts_with("application/vnd.dev.sigstore.trustedroot"))
            r.fail(fmt::format("unsupported media type \"{}\"", root.media_type));
    }
    root.tlogs = r.logs(json, "tlogs");
    root.ctlogs = r.logs(json, "ctlogs");
    root.certificate_authorities = r.authorities(json, "certificateAuthorities", "certificate_authorities");
    root.timestamp_authorities = r.authorities(json, "timestampAuthorities", "timestamp_authorities");
    return root;
}

}  // namespace slate::sign
