#include "slate/oci/image.hpp"

#include <ctime>
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <utility>

#include "slate/error.hpp"
#include "slate/util/hash.hpp"

namespace slate::oci {

using OrderedJson = nlohmann::ordered_json;
using Json = nlohmann::json;

namespace {

constexpr std::string_view CreatedBy = "slate build";

// ---------------------------------------------------------------- writing

std::string dump(const OrderedJson& doc, std::string_view what) {
    try {
        // No indent, no ASCII escaping: the bytes depend only on the values.
        return doc.dump(-1, ' ', false, OrderedJson::error_handler_t::strict);
    } catch (const OrderedJson::exception& e) {
        throw Error(ErrorCode::Config, "cannot write the " + std::string(what) + ": " + e.what(),
                    "labels, annotations, environment and commands must be valid UTF-8");
    }
}

OrderedJson string_map(const std::map<std::string, std::string>& map) {
    OrderedJson out = OrderedJson::object();
    for (const auto& [key, value] : map) out[key] = value;
    return out;
}

OrderedJson platform_json(const Platform& platform) {
    OrderedJson out = OrderedJson::object();
    out["architecture"] = platform.architecture;
    out["os"] = platform.os;
    if (!platform.variant.empty()) out["variant"] = platform.variant;
    return out;
}

OrderedJson descriptor_json(const Descriptor& descriptor) {
    if (!is_sha256_digest(descriptor.digest))
        throw Error(ErrorCode::Internal, "descriptor with a malformed digest: \"" + descriptor.digest + "\"");
    OrderedJson out = OrderedJson::object();
    out["mediaType"] = descriptor.media_type;
    out["digest"] = descriptor.digest;
    out["size"] = descriptor.size;
    if (!descriptor.artifact_type.empty()) out["artifactType"] = descriptor.artifact_type;
    if (descriptor.platform) out["platform"] = platform_json(*descriptor.platform);
    if (!descriptor.annotations.empty()) out["annotations"] = string_map(descriptor.annotations);
    return out;
}

// Keys in the order of the image spec's config documentation.
OrderedJson runtime_json(const RuntimeConfig& config) {
    OrderedJson out = OrderedJson::object();
    if (!config.user.empty()) out["User"] = config.user;
    if (!config.exposed_ports.empty()) {
        OrderedJson ports = OrderedJson::object();
        for (const auto& port : config.exposed_ports) ports[port] = OrderedJson::object();
        out["ExposedPorts"] = std::move(ports);
    }
    if (!config.env.empty()) out["Env"] = config.env;
    if (!config.entrypoint.empty()) out["Entrypoint"] = config.entrypoint;
    if (!config.cmd.empty()) out["Cmd"] = config.cmd;
    if (!config.working_dir.empty()) out["WorkingDir"] = config.working_dir;
    if (!config.labels.empty()) out["Labels"] = string_map(config.labels);
    if (!config.stop_signal.empty()) out["StopSignal"] = config.stop_signal;
    return out;
}

// ---------------------------------------------------------------- reading

[[noreturn]] void malformed(std::string_view what, const std::string& why) {
    throw Error(ErrorCode::Parse, "malformed " + std::string(what) + ": " + why,
                "the image layout is damaged or was not written by an OCI-conforming tool");
}

Json parse_object(std::string_view text, std::string_view what) {
    Json doc = Json::parse(text, nullptr, false);
    if (doc.is_discarded()) malformed(what, "not valid JSON");
    if (!doc.is_object()) malformed(what, "not a JSON object");
    return doc;
}

const Json* member(const Json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

std::string get_string(const Json& object, const char* key, std::string_view what, bool required = false) {
    const Json* value = member(object, key);
    if (!value) {
        if (required) malformed(what, std::string("\"") + key + "\" is missing");
        return {};
    }
    if (!value->is_string()) malformed(what, std::string("\"") + key + "\" is not a string");
    return value->get<std::string>();
}

std::vector<std::string> get_strings(const Json& object, const char* key, std::string_view what) {
    std::vector<std::string> out;
    const Json* value = member(object, key);
    if (!value) return out;
    if (!value->is_array()) malformed(what, std::string("\"") + key + "\" is not an array");
    for (const auto& item : *value) {
        if (!item.is_string()) malformed(what, std::string("\"") + key + "\" holds a value that is not a string");
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::map<std::string, std::string> get_string_map(const Json& object, const char* key, std::string_view what) {
    std::map<std::string, std::string> out;
    const Json* value = member(object, key);
    if (!value) return out;
    if (!value->is_object()) malformed(what, std::string("\"") + key + "\" is not an object");
    for (const auto& [k, v] : value->items()) {
        if (!v.is_string()) malformed(what, std::string("\"") + key + "\" maps \"" + k + "\" to a non-string");
        out[k] = v.get<std::string>();
    }
    return out;
}

std::int64_t get_time(const Json& object, const char* key, std::string_view what) {
    std::string text = get_string(object, key, what);
    if (text.empty()) return 0;
    auto seconds = parse_rfc3339(text);
    if (!seconds) malformed(what, std::string("\"") + key + "\" is not an RFC 3339 time: \"" + text + "\"");
    return *seconds;
}

Platform parse_platform(const Json& object, std::string_view what) {
    Platform platform;
    platform.architecture = get_string(object, "architecture", what, true);
    platform.os = get_string(object, "os", what, true);
    platform.variant = get_string(object, "variant", what);
    return platform;
}

Descriptor parse_descriptor(const Json& object, std::string_view what) {
    if (!object.is_object()) malformed(what, "a descriptor is not an object");
    Descriptor descriptor;
    descriptor.media_type = get_string(object, "mediaType", what, true);
    descriptor.digest = get_string(object, "digest", what, true);
    if (!is_sha256_digest(descriptor.digest))
        malformed(what, "unsupported or malformed digest \"" + descriptor.digest + "\" (slate reads sha256 digests)");
    const Json* size = member(object, "size");
    if (!size || !size->is_number_unsigned()) malformed(what, "descriptor " + descriptor.digest + " has no valid size");
    descriptor.size = size->get<std::uint64_t>();
    if (const Json* platform = member(object, "platform")) {
        if (!platform->is_object()) malformed(what, "\"platform\" is not an object");
        descriptor.platform = parse_platform(*platform, what);
    }
    descriptor.annotations = get_string_map(object, "annotations", what);
    descriptor.artifact_type = get_string(object, "artifactType", what);
    return descriptor;
}

void check_schema_version(const Json& doc, std::string_view what) {
    const Json* version = member(doc, "schemaVersion");
    if (!version || !version->is_number_integer() || version->get<std::int64_t>() != 2)
        malformed(what, "\"schemaVersion\" is not 2");
}

int parse_digits(std::string_view text, std::size_t pos, std::size_t count, bool& ok) {
    int value = 0;
    if (pos + count > text.size()) {
        ok = false;
        return 0;
    }
    auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + count, value);
    if (ec != std::errc() || end != text.data() + pos + count) ok = false;
    return value;
}

}  // namespace

// ---------------------------------------------------------------- platforms

Platform platform_for_debian_arch(std::string_view deb_arch) {
    struct Entry {
        std::string_view debian, architecture, variant;
    };
    static constexpr std::array<Entry, 10> Table{{
        {"amd64", "amd64", ""},
        {"arm64", "arm64", "v8"},
        {"armhf", "arm", "v7"},
        {"armel", "arm", "v5"},
        {"i386", "386", ""},
        {"ppc64el", "ppc64le", ""},
        {"s390x", "s390x", ""},
        {"riscv64", "riscv64", ""},
        {"mips64el", "mips64le", ""},
        {"loong64", "loong64", ""},
    }};
    for (const auto& entry : Table)
        if (entry.debian == deb_arch) return {std::string(entry.architecture), "linux", std::string(entry.variant)};
    throw Error(ErrorCode::Usage, "no OCI platform for the Debian architecture \"" + std::string(deb_arch) + "\"",
                "use a Debian architecture name such as amd64, arm64, armhf, i386, ppc64el, s390x or riscv64");
}

std::string to_string(const Platform& platform) {
    std::string text = platform.os + "/" + platform.architecture;
    if (!platform.variant.empty()) text += "/" + platform.variant;
    return text;
}

// ---------------------------------------------------------------- descriptors

std::string_view Descriptor::hex() const {
    std::string_view view = digest;
    auto colon = view.find(':');
    return colon == std::string_view::npos ? view : view.substr(colon + 1);
}

Descriptor describe(std::string_view media_type, std::string_view bytes) {
    Descriptor descriptor;
    descriptor.media_type = media_type;
    descriptor.digest = "sha256:" + util::sha256_hex(bytes);
    descriptor.size = bytes.size();
    return descriptor;
}

bool is_sha256_digest(std::string_view digest) {
    return digest.starts_with("sha256:") && util::is_sha256_hex(digest.substr(7));
}

std::string_view layer_media_type(Compression compression) {
    switch (compression) {
    case Compression::None: return media_type::LayerTar;
    case Compression::Gzip: return media_type::LayerGzip;
    case Compression::Zstd: return media_type::LayerZstd;
    }
    return media_type::LayerTar;
}

// ---------------------------------------------------------------- documents

ImageConfig make_image_config(Platform platform, std::int64_t created, RuntimeConfig config,
                              const std::vector<Layer>& layers) {
    ImageConfig image;
    image.platform = std::move(platform);
    image.created = created;
    image.config = std::move(config);
    for (const auto& layer : layers) {
        image.diff_ids.push_back(layer.diff_id);
        image.history.push_back({created, std::string(CreatedBy), layer.comment, false});
    }
    return image;
}

Manifest make_manifest(Descriptor config, const std::vector<Layer>& layers, Annotations annotations) {
    Manifest manifest;
    manifest.config = std::move(config);
    for (const auto& layer : layers) {
        Descriptor descriptor;
        descriptor.media_type = layer_media_type(layer.compression);
        descriptor.digest = layer.digest;
        descriptor.size = layer.size;
        manifest.layers.push_back(std::move(descriptor));
    }
    manifest.annotations = std::move(annotations);
    return manifest;
}

Annotations image_annotations(const ImageMetadata& metadata) {
    Annotations out;
    out[std::string(annotation::Created)] = format_rfc3339(metadata.created);
    auto put = [&](std::string_view key, const std::string& value) {
        if (!value.empty()) out[std::string(key)] = value;
    };
    put(annotation::Title, metadata.title);
    put(annotation::Description, metadata.description);
    put(annotation::Source, metadata.source);
    put(annotation::Revision, metadata.revision);
    put(annotation::Version, metadata.version);
    put(annotation::BaseName, metadata.base_name);
    return out;
}

std::string to_json(const ImageConfig& config) {
    OrderedJson doc = OrderedJson::object();
    doc["created"] = format_rfc3339(config.created);
    doc["architecture"] = config.platform.architecture;
    doc["os"] = config.platform.os;
    if (!config.platform.variant.empty()) doc["variant"] = config.platform.variant;
    doc["config"] = runtime_json(config.config);
    OrderedJson rootfs = OrderedJson::object();
    rootfs["type"] = "layers";
    rootfs["diff_ids"] = config.diff_ids;
    doc["rootfs"] = std::move(rootfs);
    OrderedJson history = OrderedJson::array();
    for (const auto& entry : config.history) {
        OrderedJson item = OrderedJson::object();
        item["created"] = format_rfc3339(entry.created);
        item["created_by"] = entry.created_by;
        if (!entry.comment.empty()) item["comment"] = entry.comment;
        if (entry.empty_layer) item["empty_layer"] = true;
        history.push_back(std::move(item));
    }
    doc["history"] = std::move(history);
    return dump(doc, "image config");
}

std::string to_json(const Manifest& manifest) {
    OrderedJson doc = OrderedJson::object();
    doc["schemaVersion"] = 2;
    doc["mediaType"] = manifest.media_type;
    if (!manifest.artifact_type.empty()) doc["artifactType"] = manifest.artifact_type;
    doc["config"] = descriptor_json(manifest.config);
    OrderedJson layers = OrderedJson::array();
    for (const auto& layer : manifest.layers) layers.push_back(descriptor_json(layer));
    doc["layers"] = std::move(layers);
    if (manifest.subject) doc["subject"] = descriptor_json(*manifest.subject);
    if (!manifest.annotations.empty()) doc["annotations"] = string_map(manifest.annotations);
    return dump(doc, "image manifest");
}

std::string to_json(const Index& index) {
    OrderedJson doc = OrderedJson::object();
    doc["schemaVersion"] = 2;
    doc["mediaType"] = index.media_type;
    OrderedJson manifests = OrderedJson::array();
    for (const auto& descriptor : index.manifests) manifests.push_back(descriptor_json(descriptor));
    doc["manifests"] = std::move(manifests);
    if (!index.annotations.empty()) doc["annotations"] = string_map(index.annotations);
    return dump(doc, "image index");
}

ImageConfig parse_image_config(std::string_view json, std::string_view what) {
    Json doc = parse_object(json, what);
    ImageConfig config;
    config.platform = parse_platform(doc, what);
    config.created = get_time(doc, "created", what);
    if (const Json* runtime = member(doc, "config")) {
        if (!runtime->is_object()) malformed(what, "\"config\" is not an object");
        RuntimeConfig& rc = config.config;
        rc.user = get_string(*runtime, "User", what);
        if (const Json* ports = member(*runtime, "ExposedPorts")) {
            if (!ports->is_object()) malformed(what, "\"ExposedPorts\" is not an object");
            for (const auto& item : ports->items()) rc.exposed_ports.insert(item.key());
        }
        rc.env = get_strings(*runtime, "Env", what);
        rc.entrypoint = get_strings(*runtime, "Entrypoint", what);
        rc.cmd = get_strings(*runtime, "Cmd", what);
        rc.working_dir = get_string(*runtime, "WorkingDir", what);
        rc.labels = get_string_map(*runtime, "Labels", what);
        rc.stop_signal = get_string(*runtime, "StopSignal", what);
    }
    const Json* rootfs = member(doc, "rootfs");
    if (!rootfs || !rootfs->is_object()) malformed(what, "\"rootfs\" is missing");
    if (get_string(*rootfs, "type", what, true) != "layers") malformed(what, "\"rootfs.type\" is not \"layers\"");
    config.diff_ids = get_strings(*rootfs, "diff_ids", what);
    for (const auto& diff_id : config.diff_ids)
        if (!is_sha256_digest(diff_id)) malformed(what, "unsupported or malformed diff_id \"" + diff_id + "\"");
    if (const Json* history = member(doc, "history")) {
        if (!history->is_array()) malformed(what, "\"history\" is not an array");
        for (const auto& item : *history) {
            if (!item.is_object()) malformed(what, "a history entry is not an object");
            HistoryEntry entry;
            entry.created = get_time(item, "created", what);
            entry.created_by = get_string(item, "created_by", what);
            entry.comment = get_string(item, "comment", what);
            if (const Json* empty = member(item, "empty_layer")) entry.empty_layer = empty->is_boolean() && empty->get<bool>();
            config.history.push_back(std::move(entry));
        }
    }
    return config;
}

Manifest parse_manifest(std::string_view json, std::string_view what) {
    Json doc = parse_object(json, what);
    check_schema_version(doc, what);
    Manifest manifest;
    // mediaType is optional in the spec; a manifest is what the caller asked for.
    std::string type = get_string(doc, "mediaType", what);
    if (!type.empty()) {
        if (type != media_type::ImageManifest && type != media_type::DockerManifest)
            malformed(what, "media type \"" + type + "\" is not an image manifest");
        manifest.media_type = type;
    }
    const Json* config = member(doc, "config");
    if (!config) malformed(what, "\"config\" is missing");
    manifest.config = parse_descriptor(*config, what);
    const Json* layers = member(doc, "layers");
    if (!layers || !layers->is_array()) malformed(what, "\"layers\" is missing");
    for (const auto& layer : *layers) manifest.layers.push_back(parse_descriptor(layer, what));
    manifest.artifact_type = get_string(doc, "artifactType", what);
    if (const Json* subject = member(doc, "subject")) manifest.subject = parse_descriptor(*subject, what);
    manifest.annotations = get_string_map(doc, "annotations", what);
    return manifest;
}

Index parse_index(std::string_view json, std::string_view what) {
    Json doc = parse_object(json, what);
    check_schema_version(doc, what);
    Index index;
    std::string type = get_string(doc, "mediaType", what);
    if (!type.empty()) {
        if (type != media_type::ImageIndex && type != media_type::DockerManifestList)
            malformed(what, "media type \"" + type + "\" is not an image index");
        index.media_type = type;
    }
    const Json* manifests = member(doc, "manifests");
    if (!manifests || !manifests->is_array()) malformed(what, "\"manifests\" is missing");
    for (const auto& item : *manifests) index.manifests.push_back(parse_descriptor(item, what));
    index.annotations = get_string_map(doc, "annotations", what);
    return index;
}

// ---------------------------------------------------------------- time

std::string format_rfc3339(std::int64_t epoch_seconds) {
    std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    if (!::gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        throw Error(ErrorCode::Usage, "time " + std::to_string(epoch_seconds) + " is outside the years 0000-9999",
                    "SOURCE_DATE_EPOCH is a number of seconds since 1970-01-01 UTC");
    std::array<char, 32> buffer{};
    std::strftime(buffer.data(), buffer.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer.data();
}

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
    bool ok = text.size() >= 20;
    std::tm tm{};
    tm.tm_year = parse_digits(text, 0, 4, ok) - 1900;
    tm.tm_mon = parse_digits(text, 5, 2, ok) - 1;
    tm.tm_mday = parse_digits(text, 8, 2, ok);
    tm.tm_hour = parse_digits(text, 11, 2, ok);
    tm.tm_min = parse_digits(text, 14, 2, ok);
    tm.tm_sec = parse_digits(text, 17, 2, ok);
    if (!ok || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
        text[16] != ':')
        return std::nullopt;
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return std::nullopt;
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t digits = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == digits) return std::nullopt;
    }
    std::int64_t offset = 0;
    std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
        bool zone_ok = true;
        int hours = parse_digits(zone, 1, 2, zone_ok);
        int minutes = parse_digits(zone, 4, 2, zone_ok);
        if (!zone_ok || hours > 23 || minutes > 59) return std::nullopt;
        offset = (hours * 60 + minutes) * 60;
        if (zone[0] == '-') offset = -offset;
    } else {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(::timegm(&tm)) - offset;
}

}  // namespace slate::oci
