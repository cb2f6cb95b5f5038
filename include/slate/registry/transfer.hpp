#pragma once
// Moving whole images between OCI layouts, docker-archive tarballs and
// registries: `slate push`, `pull`, `copy`, `inspect` and `build --push`.
//
// An image is copied as the graph its top descriptor roots: an index, its
// manifests (any media type, artifacts included), their configs and layers.
// Manifests and indexes are copied byte for byte, so digests are preserved;
// blobs are streamed through files, never held whole in memory, and
// transferred in parallel (ClientOptions::jobs). Blobs the destination has
// are skipped; between repositories of one registry they are mounted.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "slate/oci/image.hpp"
#include "slate/registry/client.hpp"
#include "slate/registry/reference.hpp"
#include "slate/util/log.hpp"

namespace slate::registry {

// Makes the Clients a transfer needs: one per registry and worker thread, all
// clients of a registry sharing one Authenticator.
class ClientPool {
public:
    ClientPool(ClientOptions options, CredentialSource& credentials, util::LogSink& log, util::ProgressSink& progress);
    ~ClientPool();

    const ClientOptions& options() const { return m_options; }
    // The client of `registry` for worker `worker` (0 for single-threaded use).
    Client& client(const std::string& registry, unsigned worker = 0);

private:
    struct Registry;
    ClientOptions m_options;
    CredentialSource& m_credentials;
    util::LogSink& m_log;
    util::ProgressSink& m_progress;
    std::mutex m_mutex;
    std::vector<std::unique_ptr<Registry>> m_registries;
};

// One manifest or index of an image graph, byte for byte.
struct GraphNode {
    oci::Descriptor descriptor;
    std::string bytes;
};

// Everything an image consists of, ready to copy.
struct ImageGraph {
    oci::Descriptor top;
    std::vector<GraphNode> documents;    // manifests and indexes, children before parents; top last
    std::vector<oci::Descriptor> blobs;  // configs and layers, each once
    std::vector<oci::Platform> platforms;  // of the image manifests (empty for a single manifest without one)

    std::uint64_t blob_bytes() const;
};

struct TransferOptions {
    // Copy only this platform's manifest (the top becomes that manifest), as
    // `skopeo copy --override-os/--override-arch` or `docker pull --platform`.
    std::optional<oci::Platform> platform;
    // Layout destinations: the org.opencontainers.image.ref.name of the entry
    // written to index.json (default: the layout ref, the source tag, "latest").
    std::string ref_name;
};

struct TransferReport {
    oci::Descriptor top;
    std::size_t blobs = 0;          // blobs in the image
    std::size_t blobs_existed = 0;  // already at the destination
    std::size_t blobs_mounted = 0;  // mounted from another repository
    std::size_t blobs_copied = 0;   // transferred
    std::uint64_t bytes_copied = 0;
    std::size_t documents = 0;      // manifests and indexes written
};

// Reads the graph rooted at `location` (an OCI layout, a docker-archive
// tarball or a registry reference). `scratch` is a directory the caller owns
// and removes afterwards, for a docker-archive's unpacked layout. Throws
// slate::Error: NotFound, Parse, Integrity, Network, Auth.
class ImageSource {
public:
    ImageSource(const ImageLocation& location, ClientPool& pool, const std::filesystem::path& scratch);

    const ImageLocation& location() const { return m_location; }
    // The graph, restricted to `platform` when given.
    ImageGraph graph(const std::optional<oci::Platform>& platform = std::nullopt);
    // A manifest, index or config by descriptor, checked against its digest.
    std::string read(const oci::Descriptor& descriptor);
    // Where a blob's bytes are, when they are already in a local file (layouts).
    std::optional<std::filesystem::path> local_blob(const oci::Descriptor& descriptor) const;
    // Downloads a blob into `out` (registries), checked.
    void fetch_blob(const oci::Descriptor& descriptor, const std::filesystem::path& out, unsigned worker);

private:
    ImageLocation m_location;
    ClientPool& m_pool;
    std::filesystem::path m_layout_dir;  // Layout and DockerArchive
    std::string m_layout_ref;
};

// Copies the image at `source` to `destination` (an OCI layout directory, a
// docker-archive tarball, or a registry reference with a tag or digest).
// A layout destination gains the image under its ref name (other entries of
// index.json are kept); a docker-archive destination needs a single platform.
TransferReport copy_image(ImageSource& source, const ImageLocation& destination, ClientPool& pool,
                          const TransferOptions& options, util::LogSink& log);

// What `slate inspect` shows.
struct InspectedImage {
    oci::Platform platform;
    oci::Descriptor manifest;
    oci::Descriptor config;
    std::vector<oci::Descriptor> layers;
    std::uint64_t size = 0;            // config + layers, compressed
    oci::ImageConfig image_config;
};
struct Inspection {
    std::string name;                  // the location as given, normalised
    oci::Descriptor top;
    std::vector<InspectedImage> images;  // one per platform
    std::vector<oci::Descriptor> other;  // index entries that are not images (attestations, artifacts)
};
Inspection inspect_image(ImageSource& source);

}  // namespace slate::registry
