#pragma once
// OCI image documents (image spec 1.1): image configs, manifests, image
// indexes and the descriptors that link them, written deterministically and
// read back.
//
// Determinism: every document is serialised with a fixed key order, no
// whitespace and annotations/labels sorted by key, so the same values always
// give the same bytes and therefore the same digests. Timestamps are RFC 3339
// UTC with whole seconds ("2024-05-01T12:00:00Z"), taken from
// SOURCE_DATE_EPOCH, never from the clock.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "slate/oci/compress.hpp"

namespace slate::oci {

namespace media_type {
inline constexpr std::string_view ImageIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view ImageManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view ImageConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view LayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view LayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view LayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// Docker's schema 2 equivalents: never written, accepted when reading a
// layout another tool produced.
inline constexpr std::string_view DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view DockerConfig = "application/vnd.docker.container.image.v1+json";
// The empty JSON object "{}": the config of artifacts that have none (image spec 1.1).
inline constexpr std::string_view Empty = "application/vnd.oci.empty.v1+json";
}  // namespace media_type

namespace annotation {
inline constexpr std::string_view Created = "org.opencontainers.image.created";
inline constexpr std::string_view Title = "org.opencontainers.image.title";
inline constexpr std::string_view Description = "org.opencontainers.image.description";
inline constexpr std::string_view Source = "org.opencontainers.image.source";
inline constexpr std::string_view Revision = "org.opencontainers.image.revision";
inline constexpr std::string_view Version = "org.opencontainers.image.version";
inline constexpr std::string_view BaseName = "org.opencontainers.image.base.name";
inline constexpr std::string_view RefName = "org.opencontainers.image.ref.name";
}  // namespace annotation

// Sorted by key, which keeps serialised documents deterministic.
using Annotations = std::map<std::string, std::string>;

// Where an image runs, with Go's names (GOARCH) as OCI uses them.
struct Platform {
    std::string architecture;  // amd64, arm64, arm, 386, ppc64le, s390x, riscv64, mips64le
    std::string os = "linux";
    std::string variant;       // "v8" for arm64, "v7"/"v5" for arm; empty when there is none

    bool operator==(const Platform&) const = default;
};

// The platform of a Debian architecture: amd64 -> linux/amd64, arm64 ->
// linux/arm64/v8, armhf -> linux/arm/v7, i386 -> linux/386, ppc64el ->
// linux/ppc64le, ... Throws slate::Error (Usage) for an architecture OCI has
// no name for.
Platform platform_for_debian_arch(std::string_view deb_arch);
// "linux/arm64/v8", "linux/amd64".
std::string to_string(const Platform& platform);

// A reference to a blob by digest and size.
struct Descriptor {
    std::string media_type;
    std::string digest;        // "sha256:" and 64 lowercase hex digits
    std::uint64_t size = 0;
    std::optional<Platform> platform;  // only in an index's list of manifests
    Annotations annotations;
    std::string artifact_type;  // an artifact's type (signatures, attestations, SBOMs); empty for images

    // The digest's hex part: the blob's file name under blobs/sha256.
    std::string_view hex() const;
};

// The descriptor of `bytes` (their SHA-256 and size).
Descriptor describe(std::string_view media_type, std::string_view bytes);
// True for "sha256:" followed by 64 lowercase hex digits, the only digests
// slate writes or reads.
bool is_sha256_digest(std::string_view digest);

std::string_view layer_media_type(Compression compression);

// A layer blob as the layer compressor reports it: the compressed blob's
// digest and size (what the manifest lists) and the uncompressed tar's digest
// and size (the config's diff_id).
struct Layer {
    std::string digest;                 // "sha256:..." of the compressed blob
    std::uint64_t size = 0;             // bytes of the compressed blob
    std::string diff_id;                // "sha256:..." of the uncompressed tar
    std::uint64_t uncompressed_size = 0;
    Compression compression = Compression::Gzip;
    std::string comment;                // the history entry's comment (what the layer holds); optional
};

// The "config" object of an image config: how a runtime starts the image.
// Empty fields are left out of the JSON.
struct RuntimeConfig {
    std::string user;                    // "65532", "nonroot", "65532:65532"
    std::set<std::string> exposed_ports; // "8080/tcp"
    std::vector<std::string> env;        // "KEY=value", in the order given
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;             // "SIGQUIT"

    bool operator==(const RuntimeConfig&) const = default;
};

struct HistoryEntry {
    std::int64_t created = 0;  // seconds since the epoch
    std::string created_by;
    std::string comment;
    bool empty_layer = false;

    bool operator==(const HistoryEntry&) const = default;
};

struct ImageConfig {
    Platform platform;
    std::int64_t created = 0;            // seconds since the epoch (SOURCE_DATE_EPOCH)
    RuntimeConfig config;
    std::vector<std::string> diff_ids;   // "sha256:...", bottom layer first
    std::vector<HistoryEntry> history;

    bool operator==(const ImageConfig&) const = default;
};

// The config of an image made of `layers` (bottom first): their diff_ids,
// and one history entry per layer created at `created` by "slate build".
ImageConfig make_image_config(Platform platform, std::int64_t created, RuntimeConfig config,
                              const std::vector<Layer>& layers);

struct Manifest {
    std::string media_type{media_type::ImageManifest};
    std::string artifact_type;         // set for artifacts (image spec 1.1), empty for images
    Descriptor config;
    std::vector<Descriptor> layers;
    std::optional<Descriptor> subject;  // the manifest this artifact refers to (referrers API)
    Annotations annotations;
};

// The manifest of an image whose config blob is `config` (media type
// ImageConfig) and whose layers are `layers`, bottom first.
Manifest make_manifest(Descriptor config, const std::vector<Layer>& layers, Annotations annotations = {});

struct Index {
    std::string media_type{media_type::ImageIndex};
    std::vector<Descriptor> manifests;
    Annotations annotations;
};

// What the manifest's org.opencontainers.image.* annotations say about an
// image. Empty strings are left out; created is always written.
struct ImageMetadata {
    std::int64_t created = 0;  // SOURCE_DATE_EPOCH
    std::string title;
    std::string description;
    std::string source;        // URL of the source (the spec's repository)
    std::string revision;      // the source's revision (VCS commit)
    std::string version;
    std::string base_name;     // the image this one is based on, when there is one
};
Annotations image_annotations(const ImageMetadata& metadata);

// Deterministic JSON: fixed key order, no whitespace, UTF-8 as is. Throws
// slate::Error (Config) when a string is not valid UTF-8.
std::string to_json(const ImageConfig& config);
std::string to_json(const Manifest& manifest);
std::string to_json(const Index& index);

// Parsers for documents written by slate or other tools (unknown fields are
// ignored; Docker's schema 2 media types are accepted). Throw slate::Error
// (Parse) naming `what` (e.g. "manifest sha256:...") for malformed JSON,
// missing required fields, wrong types or digests other than sha256.
ImageConfig parse_image_config(std::string_view json, std::string_view what = "image config");
Manifest parse_manifest(std::string_view json, std::string_view what = "image manifest");
Index parse_index(std::string_view json, std::string_view what = "image index");

// "2024-05-01T12:00:00Z". Throws slate::Error (Usage) for a time outside the
// years 0000-9999.
std::string format_rfc3339(std::int64_t epoch_seconds);
// Seconds since the epoch of an RFC 3339 date-time ("Z" or "+hh:mm" offsets,
// fractions of a second dropped); nullopt when malformed.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace slate::oci
