#pragma once
// OCI image layout directories (image spec 1.1, image-layout.md):
//
//   DIR/oci-layout              {"imageLayoutVersion":"1.0.0"}
//   DIR/index.json              the entry point: one descriptor per reference
//   DIR/blobs/sha256/<hex>      every config, manifest, index and layer
//
// LayoutWriter fills a directory; index.json is written last, so a layout
// without index.json is an unfinished one. Making the whole directory appear
// atomically (build in a temporary directory, rename) is the caller's job.
// read_layout() reads one back, checking every JSON blob against its digest.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/oci/image.hpp"
#include "slate/util/hash.hpp"

namespace slate::oci {

inline constexpr std::string_view OciLayoutContent = R"({"imageLayoutVersion":"1.0.0"})";

// DIR/blobs/sha256/<hex> for a "sha256:<hex>" digest. Throws slate::Error
// (Parse) for any other digest, so a hostile index cannot name a path
// outside the layout.
std::filesystem::path blob_path(const std::filesystem::path& layout_dir, std::string_view digest);

// A blob being streamed into a layout (a compressed layer): the bytes go to a
// temporary file in blobs/sha256 and are hashed as they arrive; commit()
// fsyncs the file and renames it to its digest. A writer dropped without
// commit() removes its temporary file.
class BlobWriter {
public:
    BlobWriter(BlobWriter&& other) noexcept;
    BlobWriter& operator=(BlobWriter&& other) noexcept;
    BlobWriter(const BlobWriter&) = delete;
    BlobWriter& operator=(const BlobWriter&) = delete;
    ~BlobWriter();

    void write(std::string_view bytes);
    std::uint64_t size() const { return m_size; }
    // Names the blob by the SHA-256 of what was written. When
    // `expected_digest` is given (the digest the compressor computed), a
    // mismatch throws slate::Error (Integrity) and nothing is stored.
    Descriptor commit(std::string_view media_type, std::string_view expected_digest = {});

private:
    friend class LayoutWriter;
    explicit BlobWriter(std::filesystem::path blobs_dir);
    void discard() noexcept;

    std::filesystem::path m_dir;
    std::filesystem::path m_temp;
    int m_fd = -1;
    util::Sha256 m_hash;
    std::uint64_t m_size = 0;
};

class LayoutWriter {
public:
    // Creates `dir` (and its parents) if needed, oci-layout and blobs/sha256.
    // `dir` may already hold blobs (they are content-addressed); an existing
    // index.json is replaced by write_index_json(). Throws slate::Error (Io).
    explicit LayoutWriter(std::filesystem::path dir);

    const std::filesystem::path& dir() const { return m_dir; }
    std::filesystem::path blob_path(std::string_view digest) const { return oci::blob_path(m_dir, digest); }
    // True when the blob is present with the descriptor's size.
    bool has_blob(const Descriptor& descriptor) const;

    BlobWriter begin_blob() const;
    // Stores bytes held in memory (configs, manifests, small layers).
    Descriptor write_blob(std::string_view media_type, std::string_view bytes) const;

    // Writes one platform's config and manifest. The layer blobs must already
    // be in the layout with the sizes `layers` gives, and config.diff_ids must
    // be the layers' diff_ids (make_image_config does that): otherwise
    // slate::Error (Internal). Returns the manifest's descriptor with the
    // config's platform, ready for an index.
    Descriptor write_image(const ImageConfig& config, const std::vector<Layer>& layers,
                           const Annotations& manifest_annotations) const;

    // Writes an image index over per-platform manifest descriptors (as
    // write_image returned them) and returns its descriptor.
    Descriptor write_index(const std::vector<Descriptor>& manifests, const Annotations& annotations = {}) const;

    // Writes index.json, atomically, listing `top` (the image index, or the
    // manifest of a single-platform image) under the reference `ref_name`
    // ("latest", "3.11", "python-3.11"), and each of `also` under its own
    // name. Call it last. Throws slate::Error (Usage) for a reference the
    // image-layout grammar does not allow.
    void write_index_json(const Descriptor& top, std::string_view ref_name,
                          const std::vector<std::pair<Descriptor, std::string>>& also = {}) const;

private:
    std::filesystem::path m_dir;
};

// True when `ref_name` matches the image-layout grammar for
// org.opencontainers.image.ref.name: components of [A-Za-z0-9] joined by
// one of "-._:@+" or "--", separated by "/".
bool is_valid_ref_name(std::string_view ref_name);

// One platform's image in a layout.
struct LayoutImage {
    Platform platform;      // from the index; from the config for a single-platform layout
    Descriptor manifest_descriptor;
    Manifest manifest;
    Descriptor config_descriptor;
    ImageConfig config;
};

struct Layout {
    std::filesystem::path dir;
    std::string ref_name;      // the chosen entry's org.opencontainers.image.ref.name ("" when it has none)
    Descriptor top;            // the chosen entry of index.json
    std::optional<Index> index;  // when `top` is an image index
    std::vector<LayoutImage> images;  // one per platform, in the index's order

    // The image for `platform`: architecture and os must match, and the
    // variant too when `platform.variant` is not empty. nullptr when absent.
    const LayoutImage* find(const Platform& platform) const;
    std::filesystem::path blob_path(std::string_view digest) const { return oci::blob_path(dir, digest); }
};

// The entry of DIR/index.json named `ref_name`; with an empty name the only
// entry, else the one named "latest". Throws slate::Error: NotFound (no
// layout, or no such entry: the message lists the names there are), Parse.
Descriptor select_layout_entry(const std::filesystem::path& dir, std::string_view ref_name = {});

// Reads the layout in `dir`. With an empty `ref_name` index.json must list
// exactly one entry. Manifests in an index whose platform os is "unknown"
// (attestations) are skipped. Throws slate::Error: NotFound (no layout, or
// no such reference: the message lists the references there are), Parse
// (malformed JSON), Integrity (a config, manifest or index whose bytes do not
// match its digest or size, or a layer blob missing or of the wrong size).
Layout read_layout(const std::filesystem::path& dir, std::string_view ref_name = {});

// Hashes every layer blob of every image; throws slate::Error (Integrity)
// naming the first blob whose SHA-256 differs from its digest.
void verify_layer_blobs(const Layout& layout);

}  // namespace slate::oci
