// The two places signatures live: a registry repository and an OCI layout.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "slate/error.hpp"
#include "slate/oci/layout.hpp"
#include "slate/registry/client.hpp"
#include "slate/sign/image_signing.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

// Opens `path` (a file, created when missing, or a directory) and takes an
// exclusive flock on it; the returned lock closes it.
StoreLock flock_path(const fs::path& path, bool directory) {
    int fd = directory ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                       : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(ErrorCode::Io, fmt::format("cannot open the lock {}: {}", path.string(), std::strerror(errno)),
                    "check that the directory exists and is writable");
    while (::flock(fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        throw Error(ErrorCode::Io, fmt::format("cannot lock {}: {}", path.string(), std::strerror(err)));
    }
    return StoreLock([fd] { ::close(fd); });
}

// The media type a manifest or index names, or the one its shape implies.
std::string media_type_of(std::string_view bytes) {
    nlohmann::json doc = nlohmann::json::parse(bytes, nullptr, false);
    if (doc.is_object()) {
        if (auto it = doc.find("mediaType"); it != doc.end() && it->is_string()) return it->get<std::string>();
        if (doc.contains("manifests")) return std::string(oci::media_type::ImageIndex);
    }
    return std::string(oci::media_type::ImageManifest);
}

// ------------------------------------------------------------ registry

class RegistryStore final : public ArtifactStore {
public:
    RegistryStore(registry::Client& client, registry::Reference reference, fs::path lock_dir)
        : m_client(client), m_reference(std::move(reference)), m_lock_dir(std::move(lock_dir)) {}

    std::string display_name() const override { return m_reference.name(); }
    std::string cache_identity() const override { return "registry:" + m_reference.name(); }

    std::string resolve_digest() override {
        if (!m_reference.digest.empty()) return m_reference.digest;
        auto head = m_client.head_manifest(m_reference.repository, m_reference.tag);
        if (!head)
            throw Error(ErrorCode::NotFound, fmt::format("{} has no tag {}", m_reference.name(), m_reference.tag),
                        fmt::format("list the tags with: slate tags {}", m_reference.name()));
        return head->digest;
    }

    StoredManifest get_manifest(std::string_view digest) override {
        registry::ManifestBytes manifest = m_client.get_manifest(m_reference.repository, digest);
        return {manifest.descriptor(), std::move(manifest.bytes)};
    }

    std::optional<StoredManifest> get_tagged(std::string_view tag) override {
        try {
            registry::ManifestBytes manifest = m_client.get_manifest(m_reference.repository, tag);
            return StoredManifest{manifest.descriptor(), std::move(manifest.bytes)};
        } catch (const Error& e) {
            if (e.code() == ErrorCode::NotFound) return std::nullopt;
            throw;
        }
    }

    std::string get_blob(const oci::Descriptor& blob) override {
        return m_client.get_blob_bytes(m_reference.repository, blob);
    }
    void put_blob(const oci::Descriptor& blob, std::string_view bytes) override {
        m_client.put_blob_bytes(m_reference.repository, blob, bytes);
    }
    void put_tagged(std::string_view tag, std::string_view bytes, std::string_view media_type) override {
        m_client.put_manifest(m_reference.repository, tag, bytes, media_type);
    }
    std::vector<oci::Descriptor> referrers(std::string_view digest) override {
        return m_client.referrers(m_reference.repository, digest);
    }
    oci::Descriptor put_referrer(const oci::Manifest& manifest) override {
        return m_client.put_referrer(m_reference.repository, manifest);
    }

    StoreLock lock() override {
        if (m_lock_dir.empty()) return {};
        fs::path dir = m_lock_dir / "locks";
        std::error_code ec;
        fs::create_directories(dir, ec);
        // One lock per registry/repository: the name is hashed, so any
        // repository name makes a valid file name.
        return flock_path(dir / (util::sha256_hex(m_reference.name()) + ".lock"), false);
    }

    void check_content(std::string_view) override {}
    bool cacheable() const override { return true; }

private:
    registry::Client& m_client;
    registry::Reference m_reference;
    fs::path m_lock_dir;
};

// ------------------------------------------------------------ layout

class LayoutStore final : public ArtifactStore {
public:
    LayoutStore(fs::path dir, std::string ref_name) : m_dir(std::move(dir)), m_ref(std::move(ref_name)) {}

    std::string display_name() const override {
        return "oci:" + m_dir.string() + (m_ref.empty() ? "" : ":" + m_ref);
    }
    std::string cache_identity() const override {
        return "oci:" + fs::absolute(m_dir).lexically_normal().string() + ":" + m_ref;
    }

    std::string resolve_digest() override { return oci::select_layout_entry(m_dir, m_ref).digest; }

    StoredManifest get_manifest(std::string_view digest) override {
        std::string bytes = read_checked(digest, "manifest");
        StoredManifest out;
        out.descriptor = oci::describe(media_type_of(bytes), bytes);
        out.bytes = std::move(bytes);
        return out;
    }

    std::optional<StoredManifest> get_tagged(std::string_view tag) override {
        OrderedJson index = read_index();
        for (const auto& entry : index["manifests"]) {
            auto name = entry.value("annotations", OrderedJson::object())
                            .value(std::string(oci::annotation::RefName), std::string());
            if (name == tag) return get_manifest(entry.at("digest").get<std::string>());
        }
        return std::nullopt;
    }

    std::string get_blob(const oci::Descriptor& blob) override {
        std::string bytes = read_checked(blob.digest, "blob");
        if (bytes.size() != blob.size)
            throw Error(ErrorCode::Integrity,
                        fmt::format("blob {} in {} has {} bytes, not {}", blob.digest, m_dir.string(), bytes.size(),
                                    blob.size),
                        "the layout was modified or damaged");
        return bytes;
    }

    void put_blob(const oci::Descriptor& blob, std::string_view bytes) override {
        fs::path path = oci::blob_path(m_dir, blob.digest);
        std::error_code ec;
        if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == bytes.size() &&
            "sha256:" + util::sha256_hex(util::read_file(path)) == blob.digest)
            return;
        fs::create_directories(path.parent_path());
        util::write_file_atomic(path, bytes);
    }

    void put_tagged(std::string_view tag, std::string_view bytes, std::string_view media_type) override {
        oci::Descriptor descriptor = oci::describe(media_type, bytes);
        put_blob(descriptor, bytes);
        StoreLock held = lock();
        OrderedJson index = read_index();
        OrderedJson kept = OrderedJson::array();
        for (auto& entry : index["manifests"])
            if (entry.value("annotations", OrderedJson::object()).value(std::string(oci::annotation::RefName), "") !=
                tag)
                kept.push_back(std::move(entry));
        OrderedJson entry = OrderedJson::object();
        entry["mediaType"] = descriptor.media_type;
        entry["digest"] = descriptor.digest;
        entry["size"] = descriptor.size;
        entry["annotations"] = OrderedJson{{std::string(oci::annotation::RefName), std::string(tag)}};
        kept.push_back(std::move(entry));
        index["manifests"] = std::move(kept);
        write_index(index);
    }

    std::vector<oci::Descriptor> referrers(std::string_view digest) override {
        std::vector<oci::Descriptor> out;
        OrderedJson index = read_index();
        for (const auto& entry : index["manifests"]) {
            // Referrers are the entries with an artifactType; the manifest
            // itself says which image it refers to.
            if (!entry.contains("artifactType")) continue;
            oci::Descriptor descriptor = descriptor_of(entry);
            oci::Manifest manifest =
                oci::parse_manifest(get_manifest(descriptor.digest).bytes, "referrer " + descriptor.digest);
            if (manifest.subject && manifest.subject->digest == digest) out.push_back(std::move(descriptor));
        }
        return out;
    }

    oci::Descriptor put_referrer(const oci::Manifest& manifest) override {
        if (!manifest.subject) throw Error(ErrorCode::Internal, "put_referrer: the manifest has no subject");
        std::string bytes = oci::to_json(manifest);
        oci::Descriptor descriptor = oci::describe(manifest.media_type, bytes);
        descriptor.artifact_type = manifest.artifact_type.empty() ? manifest.config.media_type : manifest.artifact_type;
        descriptor.annotations = manifest.annotations;
        put_blob(descriptor, bytes);
        StoreLock held = lock();
        OrderedJson index = read_index();
        for (const auto& entry : index["manifests"])
            if (entry.value("digest", "") == descriptor.digest) return descriptor;
        OrderedJson entry = OrderedJson::object();
        entry["mediaType"] = descriptor.media_type;
        entry["digest"] = descriptor.digest;
        entry["size"] = descriptor.size;
        entry["artifactType"] = descriptor.artifact_type;
        if (!descriptor.annotations.empty()) {
            OrderedJson annotations = OrderedJson::object();
            for (const auto& [key, value] : descriptor.annotations) annotations[key] = value;
            entry["annotations"] = std::move(annotations);
        }
        index["manifests"].push_back(std::move(entry));
        write_index(index);
        return descriptor;
    }

    StoreLock lock() override {
        // flock locks belong to an open file: a second lock by this process
        // on another descriptor would wait for itself, so nested calls share
        // the one already held.
        if (m_depth++ > 0) return StoreLock([this] { --m_depth; });
        try {
            StoreLock directory = flock_path(m_dir, true);
            auto shared = std::make_shared<StoreLock>(std::move(directory));
            return StoreLock([this, shared]() mutable {
                --m_depth;
                shared.reset();
            });
        } catch (...) {
            --m_depth;
            throw;
        }
    }

    void check_content(std::string_view digest) override { check_graph(digest, 0); }
    bool cacheable() const override { return false; }

private:
    void check_graph(std::string_view digest, int depth) {
        StoredManifest stored = get_manifest(digest);
        if (stored.descriptor.media_type == oci::media_type::ImageIndex ||
            stored.descriptor.media_type == oci::media_type::DockerManifestList) {
            if (depth > 4) throw Error(ErrorCode::Parse, fmt::format("{} nests indexes too deep", m_dir.string()));
            const oci::Index index = oci::parse_index(stored.bytes, "image index " + std::string(digest));
            for (const auto& child : index.manifests) check_graph(child.digest, depth + 1);
            return;
        }
        oci::Manifest manifest = oci::parse_manifest(stored.bytes, "manifest " + std::string(digest));
        get_blob(manifest.config);
        for (const auto& layer : manifest.layers) {
            fs::path path = oci::blob_path(m_dir, layer.digest);
            std::error_code ec;
            if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) != layer.size ||
                "sha256:" + util::sha256_file_hex(path) != layer.digest)
                throw Error(ErrorCode::Integrity,
                            fmt::format("layer {} of {} in {} does not match its digest", layer.digest, digest,
                                        m_dir.string()),
                            "the layout was modified or damaged after it was signed");
        }
    }

    std::string read_checked(std::string_view digest, std::string_view what) {
        fs::path path = oci::blob_path(m_dir, digest);
        std::string bytes = util::read_file(path);
        if ("sha256:" + util::sha256_hex(bytes) != digest)
            throw Error(ErrorCode::Integrity,
                        fmt::format("the {} {} in {} does not match its digest", what, digest, m_dir.string()),
                        "the layout was modified or damaged: it was not used");
        return bytes;
    }

    OrderedJson read_index() const {
        fs::path path = m_dir / "index.json";
        OrderedJson index = OrderedJson::parse(util::read_file(path), nullptr, false);
        if (!index.is_object())
            throw Error(ErrorCode::Parse, fmt::format("{} is not a JSON object", path.string()),
                        "the layout is damaged");
        if (!index.contains("manifests") || !index["manifests"].is_array()) index["manifests"] = OrderedJson::array();
        for (const auto& entry : index["manifests"])
            if (!entry.is_object() || !entry.contains("digest") || !entry["digest"].is_string())
                throw Error(ErrorCode::Parse, fmt::format("{} lists an entry without a digest", path.string()));
        return index;
    }

    void write_index(const OrderedJson& index) const {
        util::write_file_atomic(m_dir / "index.json", index.dump());
    }

    static oci::Descriptor descriptor_of(const OrderedJson& entry) {
        oci::Descriptor out;
        out.media_type = entry.value("mediaType", std::string(oci::media_type::ImageManifest));
        out.digest = entry.at("digest").get<std::string>();
        out.size = entry.value("size", std::uint64_t{0});
        out.artifact_type = entry.value("artifactType", std::string());
        if (auto it = entry.find("annotations"); it != entry.end() && it->is_object())
            for (const auto& [key, value] : it->items())
                if (value.is_string()) out.annotations[key] = value.get<std::string>();
        return out;
    }

    fs::path m_dir;
    std::string m_ref;
    int m_depth = 0;  // how many StoreLocks of this store are alive
};

}  // namespace

std::unique_ptr<ArtifactStore> make_registry_store(registry::Client& client, registry::Reference reference,
                                                   fs::path lock_dir) {
    return std::make_unique<RegistryStore>(client, std::move(reference), std::move(lock_dir));
}

std::unique_ptr<ArtifactStore> make_layout_store(fs::path dir, std::string ref_name) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / "index.json", ec))
        throw Error(ErrorCode::NotFound, fmt::format("{} is not an OCI image layout (no index.json)", dir.string()),
                    "give the directory `slate build` or `slate pull` wrote");
    return std::make_unique<LayoutStore>(std::move(dir), std::move(ref_name));
}

}  // namespace slate::sign
