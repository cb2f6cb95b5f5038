#include "slate/oci/layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"

namespace slate::oci {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_io(const std::string& what, const fs::path& path, int err) {
    throw Error(ErrorCode::Io, what + " " + path.string() + ": " + std::strerror(err),
                "check that the output directory is writable and that the disk is not full");
}

void fsync_directory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename already happened
    ::fsync(fd);
    ::close(fd);
}

std::optional<std::uint64_t> regular_file_size(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return static_cast<std::uint64_t>(st.st_size);
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// component ::= alphanum (separator alphanum)*; separator ::= [-._:@+] | "--"
bool is_valid_component(std::string_view text) {
    std::size_t i = 0;
    auto alnums = [&] {
        std::size_t start = i;
        while (i < text.size() && is_alnum(text[i])) ++i;
        return i > start;
    };
    if (!alnums()) return false;
    while (i < text.size()) {
        if (text.substr(i, 2) == "--") i += 2;
        else if (std::string_view("-._:@+").find(text[i]) != std::string_view::npos) ++i;
        else return false;
        if (!alnums()) return false;
    }
    return true;
}

bool is_index_type(std::string_view type) {
    return type == media_type::ImageIndex || type == media_type::DockerManifestList;
}
bool is_manifest_type(std::string_view type) {
    return type == media_type::ImageManifest || type == media_type::DockerManifest;
}

// Reads a JSON blob and checks it is exactly what its descriptor promises.
std::string read_verified_blob(const fs::path& dir, const Descriptor& descriptor, std::string_view what) {
    fs::path path = blob_path(dir, descriptor.digest);
    std::string bytes;
    try {
        bytes = util::read_file(path);
    } catch (Error& e) {
        if (e.code() != ErrorCode::NotFound) throw;
        throw Error(ErrorCode::Integrity,
                    "the " + std::string(what) + " " + descriptor.digest + " is missing from the image layout " +
                        dir.string(),
                    "the layout is incomplete: build or copy the image again");
    }
    if (bytes.size() != descriptor.size || "sha256:" + util::sha256_hex(bytes) != descriptor.digest)
        throw Error(ErrorCode::Integrity,
                    "the " + std::string(what) + " blob " + path.string() + " does not match its digest " +
                        descriptor.digest + " and size " + std::to_string(descriptor.size),
                    "the layout was modified or damaged: build or copy the image again");
    return bytes;
}

LayoutImage read_image(const fs::path& dir, const Descriptor& descriptor) {
    LayoutImage image;
    image.manifest_descriptor = descriptor;
    std::string what = "manifest " + descriptor.digest;
    image.manifest = parse_manifest(read_verified_blob(dir, descriptor, "manifest"), what);
    image.config_descriptor = image.manifest.config;
    std::string config_what = "image config " + image.config_descriptor.digest;
    image.config = parse_image_config(read_verified_blob(dir, image.config_descriptor, "image config"), config_what);
    image.platform = descriptor.platform ? *descriptor.platform : image.config.platform;
    if (image.config.diff_ids.size() != image.manifest.layers.size())
        throw Error(ErrorCode::Parse,
                    "malformed image " + descriptor.digest + ": the manifest lists " +
                        std::to_string(image.manifest.layers.size()) + " layers but the config has " +
                        std::to_string(image.config.diff_ids.size()) + " diff_ids");
    for (const auto& layer : image.manifest.layers) {
        auto size = regular_file_size(blob_path(dir, layer.digest));
        if (!size || *size != layer.size)
            throw Error(ErrorCode::Integrity,
                        "layer " + layer.digest + " of the " + to_string(image.platform) + " image in " + dir.string() +
                            (size ? " has " + std::to_string(*size) + " bytes instead of " + std::to_string(layer.size)
                                  : " is missing"),
                        "the layout is incomplete or damaged: build or copy the image again");
    }
    return image;
}

}  // namespace

fs::path blob_path(const fs::path& layout_dir, std::string_view digest) {
    if (!is_sha256_digest(digest))
        throw Error(ErrorCode::Parse, "unsupported or malformed digest \"" + std::string(digest) + "\"",
                    "slate reads and writes sha256 digests only");
    return layout_dir / "blobs" / "sha256" / std::string(digest.substr(7));
}

bool is_valid_ref_name(std::string_view ref_name) {
    if (ref_name.empty()) return false;
    std::size_t start = 0;
    for (;;) {
        std::size_t slash = ref_name.find('/', start);
        if (!is_valid_component(ref_name.substr(start, slash - start))) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

// ---------------------------------------------------------------- BlobWriter

BlobWriter::BlobWriter(fs::path blobs_dir) : m_dir(std::move(blobs_dir)) {
    std::string templ = (m_dir / ".partial-XXXXXX").string();
    m_fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (m_fd < 0) throw_io("cannot create a temporary blob in", m_dir, errno);
    m_temp = templ;
    ::fchmod(m_fd, 0644);
}

BlobWriter::BlobWriter(BlobWriter&& other) noexcept
    : m_dir(std::move(other.m_dir)), m_temp(std::exchange(other.m_temp, {})), m_fd(std::exchange(other.m_fd, -1)),
      m_hash(std::move(other.m_hash)), m_size(std::exchange(other.m_size, 0)) {}

BlobWriter& BlobWriter::operator=(BlobWriter&& other) noexcept {
    if (this != &other) {
        discard();
        m_dir = std::move(other.m_dir);
        m_temp = std::exchange(other.m_temp, {});
        m_fd = std::exchange(other.m_fd, -1);
        m_hash = std::move(other.m_hash);
        m_size = std::exchange(other.m_size, 0);
    }
    return *this;
}

BlobWriter::~BlobWriter() { discard(); }

void BlobWriter::discard() noexcept {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
    if (!m_temp.empty()) ::unlink(m_temp.c_str());
    m_temp.clear();
}

void BlobWriter::write(std::string_view bytes) {
    if (m_fd < 0) throw Error(ErrorCode::Internal, "write to a blob that was already committed");
    m_hash.update(bytes);
    m_size += bytes.size();
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        ssize_t n = ::write(m_fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_io("cannot write", m_temp, errno);
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

Descriptor BlobWriter::commit(std::string_view media_type, std::string_view expected_digest) {
    if (m_fd < 0) throw Error(ErrorCode::Internal, "a blob was committed twice");
    Descriptor descriptor;
    descriptor.media_type = media_type;
    descriptor.digest = "sha256:" + m_hash.finish_hex();
    descriptor.size = m_size;
    if (!expected_digest.empty() && expected_digest != descriptor.digest) {
        discard();
        throw Error(ErrorCode::Integrity,
                    "a blob written to the image layout has digest " + descriptor.digest + ", not the expected " +
                        std::string(expected_digest),
                    "this is a bug in slate: please report it");
    }
    if (::fsync(m_fd) != 0) throw_io("cannot fsync", m_temp, errno);
    int fd = std::exchange(m_fd, -1);
    if (::close(fd) != 0) throw_io("cannot close", m_temp, errno);
    // Content-addressed: an existing blob of this name has the same bytes, so
    // replacing it is harmless and keeps the code free of races.
    fs::path target = m_dir / std::string(descriptor.hex());
    if (::rename(m_temp.c_str(), target.c_str()) != 0) throw_io("cannot rename into place", target, errno);
    m_temp.clear();
    fsync_directory(m_dir);
    return descriptor;
}

// ---------------------------------------------------------------- LayoutWriter

LayoutWriter::LayoutWriter(fs::path dir) : m_dir(std::move(dir)) {
    std::error_code ec;
    fs::create_directories(m_dir / "blobs" / "sha256", ec);
    if (ec) throw_io("cannot create the image layout", m_dir, ec.value());
    util::write_file_atomic(m_dir / "oci-layout", OciLayoutContent);
}

bool LayoutWriter::has_blob(const Descriptor& descriptor) const {
    auto size = regular_file_size(blob_path(descriptor.digest));
    return size && *size == descriptor.size;
}

BlobWriter LayoutWriter::begin_blob() const { return BlobWriter(m_dir / "blobs" / "sha256"); }

Descriptor LayoutWriter::write_blob(std::string_view media_type, std::string_view bytes) const {
    Descriptor descriptor = describe(media_type, bytes);
    util::write_file_atomic(blob_path(descriptor.digest), bytes);
    return descriptor;
}

Descriptor LayoutWriter::write_image(const ImageConfig& config, const std::vector<Layer>& layers,
                                     const Annotations& manifest_annotations) const {
    if (config.diff_ids.size() != layers.size())
        throw Error(ErrorCode::Internal, "image config with " + std::to_string(config.diff_ids.size()) +
                                             " diff_ids for " + std::to_string(layers.size()) + " layers");
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Layer& layer = layers[i];
        if (config.diff_ids[i] != layer.diff_id || !is_sha256_digest(layer.diff_id))
            throw Error(ErrorCode::Internal, "layer " + std::to_string(i) + " has diff_id \"" + layer.diff_id +
                                                 "\" but the image config lists \"" + config.diff_ids[i] + "\"");
        Descriptor blob;
        blob.media_type = std::string(layer_media_type(layer.compression));
        blob.digest = layer.digest;
        blob.size = layer.size;
        if (!has_blob(blob))
            throw Error(ErrorCode::Internal, "layer " + layer.digest + " (" + std::to_string(layer.size) +
                                                 " bytes) is not in the image layout " + m_dir.string());
    }
    Descriptor config_descriptor = write_blob(media_type::ImageConfig, to_json(config));
    Manifest manifest = make_manifest(config_descriptor, layers, manifest_annotations);
    Descriptor descriptor = write_blob(media_type::ImageManifest, to_json(manifest));
    descriptor.platform = config.platform;
    return descriptor;
}

Descriptor LayoutWriter::write_index(const std::vector<Descriptor>& manifests, const Annotations& annotations) const {
    Index index;
    index.manifests = manifests;
    index.annotations = annotations;
    return write_blob(media_type::ImageIndex, to_json(index));
}

void LayoutWriter::write_index_json(const Descriptor& top, std::string_view ref_name,
                                    const std::vector<std::pair<Descriptor, std::string>>& also) const {
    Index index;
    auto add = [&](const Descriptor& descriptor, std::string_view name) {
        if (!is_valid_ref_name(name))
            throw Error(ErrorCode::Usage, "\"" + std::string(name) + "\" is not a valid OCI image reference name",
                        "use letters, digits and . _ - : @ + between them, e.g. \"latest\" or \"3.11\"");
        Descriptor entry = descriptor;
        entry.platform.reset();  // index.json names images; platforms live in the index
        entry.annotations[std::string(annotation::RefName)] = name;
        index.manifests.push_back(std::move(entry));
    };
    add(top, ref_name);
    for (const auto& [descriptor, name] : also) add(descriptor, name);
    util::write_file_atomic(m_dir / "index.json", to_json(index));
}

// ---------------------------------------------------------------- reading

const LayoutImage* Layout::find(const Platform& platform) const {
    for (const auto& image : images) {
        if (image.platform.architecture != platform.architecture || image.platform.os != platform.os) continue;
        if (!platform.variant.empty() && image.platform.variant != platform.variant) continue;
        return &image;
    }
    return nullptr;
}

Descriptor select_layout_entry(const fs::path& dir, std::string_view ref_name) {
    if (!fs::exists(dir))
        throw Error(ErrorCode::NotFound, dir.string() + " does not exist",
                    "give an OCI layout directory (slate build -o, slate pull), oci:DIR, docker-archive:FILE or a "
                    "registry reference");
    if (!fs::exists(dir / "oci-layout") || !fs::exists(dir / "index.json"))
        throw Error(ErrorCode::NotFound, dir.string() + " is not an OCI image layout (no oci-layout or index.json)",
                    "give the directory `slate build -o` wrote");
    Index top_index = parse_index(util::read_file(dir / "index.json"), (dir / "index.json").string());

    std::vector<std::string> names;
    const Descriptor* chosen = nullptr;
    for (const auto& entry : top_index.manifests) {
        auto name = entry.annotations.find(std::string(annotation::RefName));
        std::string entry_name = name == entry.annotations.end() ? "" : name->second;
        if (!entry_name.empty()) names.push_back(entry_name);
        if (!ref_name.empty() && entry_name == ref_name && !chosen) chosen = &entry;
    }
    // Without a name: the only entry, else the one named "latest" (slate lists
    // each platform's manifest under its own name beside the index).
    if (ref_name.empty() && top_index.manifests.size() == 1) chosen = &top_index.manifests.front();
    if (ref_name.empty() && !chosen)
        for (const auto& entry : top_index.manifests)
            if (auto name = entry.annotations.find(std::string(annotation::RefName));
                name != entry.annotations.end() && name->second == "latest") {
                chosen = &entry;
                break;
            }
    if (!chosen) {
        std::string list;
        for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
        if (list.empty()) list = "none";
        throw Error(ErrorCode::NotFound,
                    ref_name.empty() ? dir.string() + " holds " + std::to_string(top_index.manifests.size()) +
                                           " images; name one of them"
                                     : "no image named \"" + std::string(ref_name) + "\" in " + dir.string(),
                    "references in this layout: " + list);
    }
    return *chosen;
}

Layout read_layout(const fs::path& dir, std::string_view ref_name) {
    Layout layout;
    layout.dir = dir;
    const Descriptor selected = select_layout_entry(dir, ref_name);
    const Descriptor* chosen = &selected;
    layout.top = *chosen;
    auto name = chosen->annotations.find(std::string(annotation::RefName));
    if (name != chosen->annotations.end()) layout.ref_name = name->second;

    if (is_index_type(chosen->media_type)) {
        layout.index = parse_index(read_verified_blob(dir, *chosen, "image index"), "image index " + chosen->digest);
        for (const auto& entry : layout.index->manifests) {
            if (entry.platform && entry.platform->os == "unknown") continue;  // attestations, not images
            if (!is_manifest_type(entry.media_type))
                throw Error(ErrorCode::Parse, "image index " + chosen->digest + " lists \"" + entry.media_type +
                                                  "\" " + entry.digest + ", which slate cannot read",
                            "slate reads indexes of image manifests, one level deep");
            layout.images.push_back(read_image(dir, entry));
        }
    } else if (is_manifest_type(chosen->media_type)) {
        layout.images.push_back(read_image(dir, *chosen));
    } else {
        throw Error(ErrorCode::Parse, "index.json in " + dir.string() + " lists \"" + chosen->media_type + "\" " +
                                          chosen->digest + ", which is neither an image index nor a manifest");
    }
    return layout;
}

void verify_layer_blobs(const Layout& layout) {
    for (const auto& image : layout.images) {
        for (const auto& layer : image.manifest.layers) {
            fs::path path = layout.blob_path(layer.digest);
            if ("sha256:" + util::sha256_file_hex(path) != layer.digest)
                throw Error(ErrorCode::Integrity,
                            "layer blob " + path.string() + " does not match its digest " + layer.digest,
                            "the layout was modified or damaged: build or copy the image again");
        }
    }
}

}  // namespace slate::oci
