#include "slate/registry/transfer.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/oci/docker_archive.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/parallel.hpp"

namespace slate::registry {
namespace fs = std::filesystem;

namespace {

bool is_index_type(std::string_view type) {
    return type == oci::media_type::ImageIndex || type == oci::media_type::DockerManifestList;
}

bool is_image_config_type(std::string_view type) {
    return type == oci::media_type::ImageConfig || type == oci::media_type::DockerConfig;
}

bool platform_matches(const oci::Platform& have, const oci::Platform& want) {
    return have.os == want.os && have.architecture == want.architecture &&
           (want.variant.empty() || have.variant == want.variant);
}

std::string platform_list(const std::vector<oci::Platform>& platforms) {
    std::string out;
    for (const auto& platform : platforms) out += (out.empty() ? "" : ", ") + oci::to_string(platform);
    return out.empty() ? "none" : out;
}

// index.json of the layout in `dir` with `top` listed under `name`, replacing
// any entry of that name and keeping the others.
void add_layout_entry(const fs::path& dir, oci::Descriptor top, const std::string& name) {
    oci::Index index;
    if (fs::exists(dir / "index.json"))
        index = oci::parse_index(util::read_file(dir / "index.json"), (dir / "index.json").string());
    std::erase_if(index.manifests, [&](const oci::Descriptor& entry) {
        auto it = entry.annotations.find(std::string(oci::annotation::RefName));
        return it != entry.annotations.end() && it->second == name;
    });
    top.annotations[std::string(oci::annotation::RefName)] = name;
    index.manifests.push_back(std::move(top));
    util::write_file_atomic(dir / "index.json", oci::to_json(index));
}

}  // namespace

// ------------------------------------------------------------ ClientPool

struct ClientPool::Registry {
    std::string name;
    std::shared_ptr<Authenticator> auth;
    std::vector<std::unique_ptr<Client>> clients;
};

ClientPool::ClientPool(ClientOptions options, CredentialSource& credentials, util::LogSink& log,
                       util::ProgressSink& progress)
    : m_options(std::move(options)), m_credentials(credentials), m_log(log), m_progress(progress) {}

ClientPool::~ClientPool() = default;

Client& ClientPool::client(const std::string& registry, unsigned worker) {
    std::lock_guard lock(m_mutex);
    Registry* entry = nullptr;
    for (auto& known : m_registries)
        if (known->name == registry) entry = known.get();
    if (!entry) {
        auto added = std::make_unique<Registry>();
        added->name = registry;
        added->auth = std::make_shared<Authenticator>(registry, m_credentials.lookup(registry));
        entry = m_registries.emplace_back(std::move(added)).get();
    }
    while (entry->clients.size() <= worker)
        entry->clients.push_back(std::make_unique<Client>(entry->auth, m_options, m_log, m_progress));
    return *entry->clients[worker];
}

// ------------------------------------------------------------ ImageGraph / ImageSource

std::uint64_t ImageGraph::blob_bytes() const {
    std::uint64_t total = 0;
    for (const auto& blob : blobs) total += blob.size;
    return total;
}

ImageSource::ImageSource(const ImageLocation& location, ClientPool& pool, const fs::path& scratch)
    : m_location(location), m_pool(pool) {
    switch (location.kind) {
        case ImageLocation::Kind::Layout:
            m_layout_dir = location.path;
            m_layout_ref = location.layout_ref;
            break;
        case ImageLocation::Kind::DockerArchive: {
            m_layout_dir = scratch / "docker-archive";
            oci::Layout layout = oci::read_docker_archive(location.path, m_layout_dir);
            m_layout_ref = layout.ref_name;
            break;
        }
        case ImageLocation::Kind::Registry:
            break;
    }
}

std::string ImageSource::read(const oci::Descriptor& descriptor) {
    if (m_location.kind != ImageLocation::Kind::Registry) {
        fs::path path = oci::blob_path(m_layout_dir, descriptor.digest);
        if (!fs::exists(path))
            throw Error(ErrorCode::Integrity,
                        fmt::format("{} lacks blob {}", m_location.to_string(), descriptor.digest),
                        "the layout is incomplete: build or pull the image again");
        std::string bytes = util::read_file(path);
        if (bytes.size() != descriptor.size || "sha256:" + util::sha256_hex(bytes) != descriptor.digest)
            throw Error(ErrorCode::Integrity,
                        fmt::format("blob {} in {} does not match its digest", descriptor.digest,
                                    m_location.to_string()),
                        "the layout was modified or damaged: build or pull the image again");
        return bytes;
    }
    const Reference& ref = m_location.reference;
    Client& client = m_pool.client(ref.registry);
    if (is_index_type(descriptor.media_type) || descriptor.media_type == oci::media_type::ImageManifest ||
        descriptor.media_type == oci::media_type::DockerManifest) {
        ManifestBytes manifest = client.get_manifest(ref.repository, descriptor.digest);
        if (manifest.bytes.size() != descriptor.size)
            throw Error(ErrorCode::Integrity,
                        fmt::format("manifest {} of {} has {} bytes; its descriptor says {}", descriptor.digest,
                                    ref.name(), manifest.bytes.size(), descriptor.size));
        return std::move(manifest.bytes);
    }
    return client.get_blob_bytes(ref.repository, descriptor);
}

std::optional<fs::path> ImageSource::local_blob(const oci::Descriptor& descriptor) const {
    if (m_location.kind == ImageLocation::Kind::Registry) return std::nullopt;
    return oci::blob_path(m_layout_dir, descriptor.digest);
}

void ImageSource::fetch_blob(const oci::Descriptor& descriptor, const fs::path& out, unsigned worker) {
    if (auto local = local_blob(descriptor)) {
        std::error_code ec;
        fs::copy_file(*local, out, fs::copy_options::overwrite_existing, ec);
        if (ec)
            throw Error(ErrorCode::Io, fmt::format("cannot copy {} to {}: {}", local->string(), out.string(),
                                                   ec.message()));
        return;
    }
    const Reference& ref = m_location.reference;
    m_pool.client(ref.registry, worker).get_blob(ref.repository, descriptor, out);
}

ImageGraph ImageSource::graph(const std::optional<oci::Platform>& platform) {
    ImageGraph graph;
    if (m_location.kind == ImageLocation::Kind::Registry) {
        const Reference& ref = m_location.reference;
        ManifestBytes top = m_pool.client(ref.registry).get_manifest(ref.repository, ref.identifier());
        graph.top = top.descriptor();
    } else {
        graph.top = oci::select_layout_entry(m_layout_dir, m_layout_ref);
        graph.top.annotations.clear();
        graph.top.platform.reset();
    }

    std::set<std::string> seen_blobs;
    std::set<std::string> seen_documents;
    auto add_manifest = [&](const oci::Descriptor& descriptor) {
        if (!seen_documents.insert(descriptor.digest).second) return;
        std::string bytes = read(descriptor);
        oci::Manifest manifest = oci::parse_manifest(bytes, "manifest " + descriptor.digest);
        if (seen_blobs.insert(manifest.config.digest).second) graph.blobs.push_back(manifest.config);
        for (const auto& layer : manifest.layers)
            if (seen_blobs.insert(layer.digest).second) graph.blobs.push_back(layer);
        if (descriptor.platform) graph.platforms.push_back(*descriptor.platform);
        graph.documents.push_back({descriptor, std::move(bytes)});
    };
    // Indexes may nest (an index of indexes); children are copied first.
    std::function<void(const oci::Descriptor&, int)> add_index = [&](const oci::Descriptor& descriptor, int depth) {
        if (depth > 8)
            throw Error(ErrorCode::Parse, fmt::format("image indexes nest deeper than 8 levels at {}", descriptor.digest));
        if (!seen_documents.insert(descriptor.digest).second) return;
        std::string bytes = read(descriptor);
        oci::Index index = oci::parse_index(bytes, "image index " + descriptor.digest);
        for (const auto& child : index.manifests) {
            if (is_index_type(child.media_type)) {
                add_index(child, depth + 1);
            } else {
                add_manifest(child);
            }
        }
        graph.documents.push_back({descriptor, std::move(bytes)});
    };

    if (is_index_type(graph.top.media_type) && platform) {
        oci::Index index = oci::parse_index(read(graph.top), "image index " + graph.top.digest);
        std::vector<oci::Platform> available;
        const oci::Descriptor* chosen = nullptr;
        for (const auto& child : index.manifests) {
            if (!child.platform || child.platform->os == "unknown") continue;
            available.push_back(*child.platform);
            if (!chosen && platform_matches(*child.platform, *platform)) chosen = &child;
        }
        if (!chosen)
            throw Error(ErrorCode::NotFound,
                        fmt::format("{} has no image for {}", m_location.to_string(), oci::to_string(*platform)),
                        "platforms there: " + platform_list(available));
        graph.top = *chosen;
        add_manifest(graph.top);
        graph.top.platform.reset();
    } else if (is_index_type(graph.top.media_type)) {
        add_index(graph.top, 0);
    } else {
        add_manifest(graph.top);
    }
    return graph;
}

// ------------------------------------------------------------ copy

namespace {

// Pushes one manifest or index. A registry may refuse it with
// MANIFEST_BLOB_UNKNOWN although every blob it names was checked or uploaded
// just before: distribution 2.8's filesystem driver rewrites a repository's
// blob link in place when a concurrent push of the same blob commits, and a
// manifest PUT that reads the link at that moment sees no blob (registries on
// eventually consistent storage do the same). That is retried a few times
// after a short wait; a blob that is really missing fails the same way again.
TransferReport copy_to_registry(ImageSource& source, const ImageGraph& graph, const Reference& destination,
                                ClientPool& pool) {
    TransferReport report;
    report.top = graph.top;
    report.blobs = graph.blobs.size();
    const ImageLocation& from = source.location();
    const bool same_registry = from.kind == ImageLocation::Kind::Registry &&
                               from.reference.registry == destination.registry &&
                               from.reference.repository != destination.repository;
    std::atomic<std::size_t> existed{0}, mounted{0}, copied{0};
    std::atomic<std::uint64_t> bytes{0};
    util::TempDir scratch(fs::temp_directory_path(), "slate-copy-");
    util::parallel_for(graph.blobs.size(), pool.options().jobs, [&](std::size_t i, unsigned worker) {
            const oci::Descriptor& blob = graph.blobs[i];
            Client& client = pool.client(destination.registry, worker);
            BlobPush outcome;
            if (auto local = source.local_blob(blob)) {
                outcome = client.put_blob(destination.repository, blob, *local);
            } else if (client.has_blob(destination.repository, blob)) {
                outcome = BlobPush::Existed;
            } else if (same_registry && client.mount_blob(destination.repository, blob, from.reference.repository)) {
                outcome = BlobPush::Mounted;
            } else {
                fs::path temp = scratch.path() / std::string(blob.hex());
                source.fetch_blob(blob, temp, worker);
                try {
                    outcome = client.put_blob(destination.repository, blob, temp);
                } catch (...) {
                    fs::remove(temp);
                    throw;
                }
                fs::remove(temp);
            }
            switch (outcome) {
                case BlobPush::Existed: ++existed; break;
                case BlobPush::Mounted: ++mounted; break;
                case BlobPush::Uploaded:
                    ++copied;
                    bytes += blob.size;
                    break;
            }
    });

    Client& client = pool.client(destination.registry);
    for (const auto& node : graph.documents) {
        const bool is_top = node.descriptor.digest == graph.top.digest;
        // The top goes last, under the tag when there is one: a tag never
        // points at an image whose parts are still missing.
        std::string reference = is_top && !destination.tag.empty() ? destination.tag : node.descriptor.digest;
        client.put_manifest(destination.repository, reference, node.bytes, node.descriptor.media_type);
        ++report.documents;
    }
    report.blobs_existed = existed;
    report.blobs_mounted = mounted;
    report.blobs_copied = copied;
    report.bytes_copied = bytes;
    return report;
}

TransferReport copy_to_layout(ImageSource& source, const ImageGraph& graph, const fs::path& dir,
                              const std::string& ref_name, ClientPool& pool) {
    if (!oci::is_valid_ref_name(ref_name))
        throw Error(ErrorCode::Usage, fmt::format("\"{}\" is not a valid name for an image in a layout", ref_name),
                    "use letters, digits and - . _ : @ + (e.g. oci:DIR:latest)");
    TransferReport report;
    report.top = graph.top;
    report.blobs = graph.blobs.size();
    oci::LayoutWriter writer(dir);
    std::atomic<std::size_t> existed{0}, copied{0};
    std::atomic<std::uint64_t> bytes{0};
    util::parallel_for(graph.blobs.size(), pool.options().jobs, [&](std::size_t i, unsigned worker) {
        const oci::Descriptor& blob = graph.blobs[i];
        if (writer.has_blob(blob)) {
            ++existed;
            return;
        }
        // Written beside its final name and renamed: a layout never holds a partial blob.
        util::AtomicFile file(writer.blob_path(blob.digest));
        source.fetch_blob(blob, file.temp_path(), worker);
        file.commit();
        ++copied;
        bytes += blob.size;
    });
    for (const auto& node : graph.documents) {
        writer.write_blob(node.descriptor.media_type, node.bytes);
        ++report.documents;
    }
    add_layout_entry(dir, graph.top, ref_name);
    report.blobs_existed = existed;
    report.blobs_copied = copied;
    report.bytes_copied = bytes;
    return report;
}

}  // namespace

TransferReport copy_image(ImageSource& source, const ImageLocation& destination, ClientPool& pool,
                          const TransferOptions& options, util::LogSink& log) {
    ImageGraph graph = source.graph(options.platform);
    const ImageLocation& from = source.location();
    switch (destination.kind) {
        case ImageLocation::Kind::Registry: {
            const Reference& to = destination.reference;
            if (!to.digest.empty() && to.digest != graph.top.digest)
                throw Error(ErrorCode::Usage,
                            fmt::format("{} names digest {}, but the image is {}", to.to_string(), to.digest,
                                        graph.top.digest),
                            "push to a tag, or to the image's own digest");
            log.info(fmt::format("copying {} ({} blobs, {} bytes) to {}", from.to_string(), graph.blobs.size(),
                                 graph.blob_bytes(), to.to_string()));
            return copy_to_registry(source, graph, to, pool);
        }
        case ImageLocation::Kind::Layout: {
            std::string name = options.ref_name;
            if (name.empty()) name = destination.layout_ref;
            if (name.empty() && from.kind == ImageLocation::Kind::Registry) name = from.reference.tag;
            if (name.empty()) name = "latest";
            return copy_to_layout(source, graph, destination.path, name, pool);
        }
        case ImageLocation::Kind::DockerArchive: {
            if (is_index_type(graph.top.media_type)) {
                if (graph.platforms.size() != 1)
                    throw Error(ErrorCode::Usage,
                                fmt::format("a docker-archive holds one platform, and {} has {}", from.to_string(),
                                            graph.platforms.size()),
                                "choose one with --platform (there: " + platform_list(graph.platforms) + ")");
                TransferOptions single = options;
                single.platform = graph.platforms.front();
                graph = source.graph(single.platform);
            }
            util::TempDir staging(fs::temp_directory_path(), "slate-archive-");
            TransferReport report = copy_to_layout(source, graph, staging.path(), "latest", pool);
            oci::Layout layout = oci::read_layout(staging.path(), "latest");
            std::string repo_tag;
            if (from.kind == ImageLocation::Kind::Registry && !from.reference.tag.empty())
                repo_tag = from.reference.name() + ":" + from.reference.tag;
            oci::write_docker_archive(staging.path(), layout.images.front().platform, destination.path, repo_tag);
            return report;
        }
    }
    throw Error(ErrorCode::Internal, "unknown image location kind");
}

// ------------------------------------------------------------ inspect

Inspection inspect_image(ImageSource& source) {
    Inspection out;
    out.name = source.location().to_string();
    ImageGraph graph = source.graph();
    out.top = graph.top;
    std::map<std::string, oci::Platform> platform_of;
    for (const auto& node : graph.documents) {
        if (!is_index_type(node.descriptor.media_type)) continue;
        for (const auto& child : oci::parse_index(node.bytes, "image index " + node.descriptor.digest).manifests)
            if (child.platform) platform_of[child.digest] = *child.platform;
    }
    for (const auto& node : graph.documents) {
        if (is_index_type(node.descriptor.media_type)) continue;
        oci::Manifest manifest = oci::parse_manifest(node.bytes, "manifest " + node.descriptor.digest);
        auto platform = platform_of.find(node.descriptor.digest);
        if (!is_image_config_type(manifest.config.media_type) ||
            (platform != platform_of.end() && platform->second.os == "unknown")) {
            oci::Descriptor other = node.descriptor;
            other.artifact_type = manifest.artifact_type.empty() ? manifest.config.media_type : manifest.artifact_type;
            out.other.push_back(std::move(other));
            continue;
        }
        InspectedImage image;
        image.manifest = node.descriptor;
        image.config = manifest.config;
        image.layers = manifest.layers;
        image.image_config = oci::parse_image_config(source.read(manifest.config), "config " + manifest.config.digest);
        image.platform = platform != platform_of.end() ? platform->second : image.image_config.platform;
        image.size = manifest.config.size;
        for (const auto& layer : manifest.layers) image.size += layer.size;
        out.images.push_back(std::move(image));
    }
    return out;
}

}  // namespace slate::registry
