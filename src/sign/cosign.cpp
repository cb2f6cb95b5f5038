#include "slate/sign/cosign.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "slate/error.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/text.hpp"

namespace slate::sign::cosign {

using OrderedJson = nlohmann::ordered_json;
using Json = nlohmann::json;

namespace {

// go-containerregistry writes a zero time.Time as this.
constexpr std::string_view ZeroTime = "0001-01-01T00:00:00Z";

void append_go_string(std::string& out, std::string_view text) {
    static constexpr char Hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                // Control characters, and the HTML-sensitive <, > and & that
                // Go's encoder escapes unless told otherwise.
                if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                    out += "\\u00";
                    out += Hex[c >> 4];
                    out += Hex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
            }
            ++i;
            continue;
        }
        const std::size_t length = util::utf8_sequence_length(text, i);
        if (length == 0)
            throw Error(ErrorCode::Usage, "a value to sign is not valid UTF-8",
                        "annotations and identities must be UTF-8 text");
        std::string_view sequence = text.substr(i, length);
        if (sequence == "\xE2\x80\xA8") out += "\\u2028";
        else if (sequence == "\xE2\x80\xA9") out += "\\u2029";
        else out += sequence;
        i += length;
    }
    out += '"';
}

void append_go_json(std::string& out, const OrderedJson& value) {
    switch (value.type()) {
    case OrderedJson::value_t::object: {
        out += '{';
        bool first = true;
        for (const auto& [key, member] : value.items()) {
            if (!first) out += ',';
            first = false;
            append_go_string(out, key);
            out += ':';
            append_go_json(out, member);
        }
        out += '}';
        break;
    }
    case OrderedJson::value_t::array: {
        out += '[';
        bool first = true;
        for (const auto& element : value) {
            if (!first) out += ',';
            first = false;
            append_go_json(out, element);
        }
        out += ']';
        break;
    }
    case OrderedJson::value_t::string: append_go_string(out, value.get_ref<const std::string&>()); break;
    default: out += value.dump(); break;  // null, booleans, numbers
    }
}

OrderedJson sorted_map(const std::map<std::string, std::string>& map) {
    OrderedJson out = OrderedJson::object();
    for (const auto& [key, value] : map) out[key] = value;  // std::map: byte order, as Go sorts
    return out;
}

// go-containerregistry's v1.Descriptor field order.
OrderedJson ggcr_descriptor(const oci::Descriptor& descriptor) {
    OrderedJson out = OrderedJson::object();
    out["mediaType"] = descriptor.media_type;
    out["size"] = descriptor.size;
    out["digest"] = descriptor.digest;
    if (!descriptor.annotations.empty()) out["annotations"] = sorted_map(descriptor.annotations);
    if (!descriptor.artifact_type.empty()) out["artifactType"] = descriptor.artifact_type;
    return out;
}

std::string tag_for(std::string_view digest, std::string_view suffix) {
    if (!oci::is_sha256_digest(digest))
        throw Error(ErrorCode::Usage, fmt::format("\"{}\" is not a sha256 digest", digest));
    return fmt::format("sha256-{}.{}", digest.substr(7), suffix);
}

const Json* member(const Json& object, std::string_view key) {
    if (!object.is_object()) return nullptr;
    auto it = object.find(std::string(key));
    return it == object.end() ? nullptr : &*it;
}

}  // namespace

std::string go_json(const OrderedJson& value) {
    std::string out;
    append_go_json(out, value);
    return out;
}

// ------------------------------------------------------------ simple signing

std::string make_payload(std::string_view docker_reference, std::string_view manifest_digest,
                         const std::map<std::string, std::string>& optional) {
    OrderedJson critical = OrderedJson::object();
    critical["identity"] = OrderedJson{{"docker-reference", docker_reference}};
    critical["image"] = OrderedJson{{"docker-manifest-digest", manifest_digest}};
    critical["type"] = SignaturePayloadType;
    OrderedJson doc = OrderedJson::object();
    doc["critical"] = std::move(critical);
    // A nil Go map marshals as null, which is what cosign signs without -a.
    doc["optional"] = optional.empty() ? OrderedJson(nullptr) : sorted_map(optional);
    return go_json(doc);
}

SimpleSigning parse_payload(std::string_view bytes, std::string_view what) {
    Json doc = Json::parse(bytes, nullptr, false);
    auto fail = [&](std::string_view why) -> SimpleSigning {
        throw Error(ErrorCode::Parse, fmt::format("malformed {}: {}", what, why),
                    "it is not a cosign simple-signing payload");
    };
    if (doc.is_discarded() || !doc.is_object()) return fail("not a JSON object");
    const Json* critical = member(doc, "critical");
    if (!critical || !critical->is_object()) return fail("no \"critical\" object");
    SimpleSigning out;
    const Json* type = member(*critical, "type");
    if (!type || !type->is_string()) return fail("no critical.type");
    out.type = type->get<std::string>();
    const Json* image = member(*critical, "image");
    const Json* digest = image ? member(*image, "docker-manifest-digest") : nullptr;
    if (!digest || !digest->is_string()) return fail("no critical.image.docker-manifest-digest");
    out.manifest_digest = digest->get<std::string>();
    const Json* identity = member(*critical, "identity");
    if (const Json* reference = identity ? member(*identity, "docker-reference") : nullptr;
        reference && reference->is_string())
        out.docker_reference = reference->get<std::string>();
    if (const Json* optional = member(doc, "optional")) out.optional = *optional;
    return out;
}

std::string docker_reference(std::string_view registry, std::string_view repository) {
    return fmt::format("{}/{}", registry == "docker.io" ? "index.docker.io" : registry, repository);
}

// ------------------------------------------------------------ tags

std::string signature_tag(std::string_view digest) { return tag_for(digest, "sig"); }
std::string attestation_tag(std::string_view digest) { return tag_for(digest, "att"); }

// ------------------------------------------------------------ legacy images

SignatureImage SignatureImage::parse(std::string_view manifest_bytes, std::string_view what) {
    oci::Manifest manifest = oci::parse_manifest(manifest_bytes, what);
    SignatureImage image;
    image.m_layers = std::move(manifest.layers);
    return image;
}

bool SignatureImage::add(oci::Descriptor layer) {
    for (const auto& existing : m_layers)
        if (existing.digest == layer.digest && existing.annotations == layer.annotations) return false;
    m_layers.push_back(std::move(layer));
    return true;
}

std::string SignatureImage::config_json() const {
    OrderedJson history = OrderedJson::array();
    OrderedJson diff_ids = OrderedJson::array();
    for (const auto& layer : m_layers) {
        history.push_back(OrderedJson{{"created", ZeroTime}});
        diff_ids.push_back(layer.digest);  // the blobs are stored uncompressed: diff_id == digest
    }
    OrderedJson doc = OrderedJson::object();
    doc["architecture"] = "";
    doc["created"] = ZeroTime;
    if (!history.empty()) doc["history"] = std::move(history);
    doc["os"] = "";
    doc["rootfs"] = OrderedJson{{"type", "layers"}, {"diff_ids", std::move(diff_ids)}};
    doc["config"] = OrderedJson::object();
    return go_json(doc);
}

oci::Descriptor SignatureImage::config_descriptor() const {
    return oci::describe(oci::media_type::ImageConfig, config_json());
}

std::string SignatureImage::manifest_json() const {
    OrderedJson layers = OrderedJson::array();
    for (const auto& layer : m_layers) layers.push_back(ggcr_descriptor(layer));
    OrderedJson doc = OrderedJson::object();
    doc["schemaVersion"] = 2;
    doc["mediaType"] = oci::media_type::ImageManifest;
    doc["config"] = ggcr_descriptor(config_descriptor());
    doc["layers"] = std::move(layers);
    return go_json(doc);
}

oci::Descriptor signature_layer(std::string_view payload, std::string_view signature,
                                const std::optional<std::string>& rekor_bundle) {
    oci::Descriptor layer = oci::describe(SimpleSigningMediaType, payload);
    layer.annotations[std::string(SignatureAnnotation)] = util::base64_encode(signature);
    if (rekor_bundle) layer.annotations[std::string(RekorBundleAnnotation)] = *rekor_bundle;
    return layer;
}

oci::Descriptor attestation_layer(std::string_view envelope_json, std::string_view predicate_type,
                                  const std::optional<std::string>& rekor_bundle) {
    oci::Descriptor layer = oci::describe(DsseEnvelopeMediaType, envelope_json);
    // cosign makes attestations with an empty signature annotation: the
    // signature is inside the envelope.
    layer.annotations[std::string(SignatureAnnotation)] = "";
    layer.annotations[std::string(PredicateTypeAnnotation)] = std::string(predicate_type);
    if (rekor_bundle) layer.annotations[std::string(RekorBundleAnnotation)] = *rekor_bundle;
    return layer;
}

// ------------------------------------------------------------ Rekor bundles

std::optional<std::string> rekor_bundle_annotation(const TransparencyLogEntry& entry) {
    if (!entry.signed_entry_timestamp) return std::nullopt;
    OrderedJson payload = OrderedJson::object();
    payload["body"] = util::base64_encode(entry.canonicalized_body);
    payload["integratedTime"] = entry.integrated_time;
    payload["logIndex"] = entry.log_index;
    payload["logID"] = util::to_hex(entry.log_id);
    OrderedJson doc = OrderedJson::object();
    doc["SignedEntryTimestamp"] = util::base64_encode(*entry.signed_entry_timestamp);
    doc["Payload"] = std::move(payload);
    return go_json(doc);
}

TransparencyLogEntry parse_rekor_bundle_annotation(std::string_view json) {
    auto fail = [](std::string_view why) -> TransparencyLogEntry {
        throw Error(ErrorCode::Parse, fmt::format("malformed {} annotation: {}", RekorBundleAnnotation, why));
    };
    Json doc = Json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return fail("not a JSON object");
    const Json* set = member(doc, "SignedEntryTimestamp");
    const Json* payload = member(doc, "Payload");
    if (!set || !set->is_string() || !payload || !payload->is_object())
        return fail("SignedEntryTimestamp or Payload missing");
    const Json* body = member(*payload, "body");
    const Json* time = member(*payload, "integratedTime");
    const Json* index = member(*payload, "logIndex");
    const Json* log_id = member(*payload, "logID");
    if (!body || !body->is_string() || !time || !time->is_number_integer() || !index ||
        !index->is_number_integer() || !log_id || !log_id->is_string())
        return fail("Payload needs body, integratedTime, logIndex and logID");
    TransparencyLogEntry entry;
    auto set_bytes = util::base64_decode(set->get<std::string>());
    auto body_bytes = util::base64_decode(body->get<std::string>());
    auto id_bytes = util::from_hex(log_id->get<std::string>());
    if (!set_bytes || !body_bytes || !id_bytes) return fail("bad base64 or hex");
    entry.signed_entry_timestamp = std::move(*set_bytes);
    entry.canonicalized_body = std::move(*body_bytes);
    entry.log_id = std::move(*id_bytes);
    entry.integrated_time = time->get<std::int64_t>();
    entry.log_index = index->get<std::int64_t>();
    if (entry.log_index < 0) return fail("negative logIndex");
    Json entry_body = Json::parse(entry.canonicalized_body, nullptr, false);
    if (const Json* kind = member(entry_body, "kind"); kind && kind->is_string()) entry.kind = kind->get<std::string>();
    if (const Json* version = member(entry_body, "apiVersion"); version && version->is_string())
        entry.kind_version = version->get<std::string>();
    return entry;
}

// ------------------------------------------------------------ referrers

std::string make_sign_statement(std::string_view manifest_digest, const std::map<std::string, std::string>& annotations) {
    if (!oci::is_sha256_digest(manifest_digest))
        throw Error(ErrorCode::Usage, fmt::format("\"{}\" is not a sha256 digest", manifest_digest));
    OrderedJson subject = OrderedJson::object();
    subject["digest"] = OrderedJson{{"sha256", manifest_digest.substr(7)}};
    if (!annotations.empty()) subject["annotations"] = sorted_map(annotations);
    OrderedJson doc = OrderedJson::object();
    doc["_type"] = "https://in-toto.io/Statement/v1";
    doc["subject"] = OrderedJson::array({std::move(subject)});
    doc["predicateType"] = SignPredicateType;
    doc["predicate"] = OrderedJson::object();
    return go_json(doc);
}

oci::Descriptor empty_config_descriptor() { return oci::describe(oci::media_type::Empty, EmptyJson); }

oci::Manifest bundle_referrer(const oci::Descriptor& subject, const oci::Descriptor& bundle_layer,
                              std::string_view content, std::string_view predicate_type, std::int64_t created) {
    oci::Manifest manifest;
    manifest.artifact_type = std::string(BundleMediaTypeV03);
    manifest.config = empty_config_descriptor();
    oci::Descriptor layer = bundle_layer;
    layer.annotations.clear();
    layer.platform.reset();
    manifest.layers.push_back(std::move(layer));
    oci::Descriptor subject_descriptor;
    subject_descriptor.media_type = subject.media_type;
    subject_descriptor.digest = subject.digest;
    subject_descriptor.size = subject.size;
    manifest.subject = std::move(subject_descriptor);
    manifest.annotations[std::string(BundleContentAnnotation)] = std::string(content);
    if (!predicate_type.empty())
        manifest.annotations[std::string(BundlePredicateTypeAnnotation)] = std::string(predicate_type);
    manifest.annotations[std::string(oci::annotation::Created)] = oci::format_rfc3339(created);
    return manifest;
}

}  // namespace slate::sign::cosign
