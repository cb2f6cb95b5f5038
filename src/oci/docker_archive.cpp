#include "slate/oci/docker_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "slate/error.hpp"
#include "slate/oci/layout.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "util/archive_handle.hpp"

namespace slate::oci {
namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

namespace {


// A file descriptor closed on scope exit.
class ReadFd {
public:
    explicit ReadFd(const fs::path& path) : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
        if (m_fd < 0)
            throw Error(ErrorCode::Io, "cannot read " + path.string() + ": " + std::strerror(errno));
    }
    ~ReadFd() { ::close(m_fd); }
    ReadFd(const ReadFd&) = delete;
    ReadFd& operator=(const ReadFd&) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

// A deterministic tar stream into an AtomicFile: ustar/PAX entries owned by
// 0:0 with one fixed mtime, in the order they are added.
class Tarball {
public:
    Tarball(util::AtomicFile& out, std::int64_t mtime) : m_out(out), m_mtime(mtime), m_archive(archive_write_new()) {
        if (!m_archive) throw Error(ErrorCode::Internal, "cannot allocate a libarchive writer");
        check(archive_write_set_format_pax_restricted(m_archive.get()), "set the tar format");
        check(archive_write_open(m_archive.get(), this, nullptr, &Tarball::write_callback, nullptr), "open");
    }

    void add_directory(const std::string& path) {
        auto entry = make_entry(path, AE_IFDIR, 0755, 0);
        check(archive_write_header(m_archive.get(), entry.get()), "write " + path);
    }

    void add_file(const std::string& path, std::string_view content) {
        auto entry = make_entry(path, AE_IFREG, 0644, content.size());
        check(archive_write_header(m_archive.get(), entry.get()), "write " + path);
        write_data(content, path);
    }

    // Streams a blob into the tarball, checking it against its descriptor on
    // the way, so a damaged layout never yields an archive.
    void add_blob(const std::string& path, const fs::path& source, const Descriptor& descriptor) {
        auto entry = make_entry(path, AE_IFREG, 0644, descriptor.size);
        check(archive_write_header(m_archive.get(), entry.get()), "write " + path);
        ReadFd fd(source);
        util::Sha256 hash;
        std::uint64_t total = 0;
        std::array<char, 1 << 16> buffer;
        for (;;) {
            ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw Error(ErrorCode::Io, "cannot read " + source.string() + ": " + std::strerror(errno));
            if (n == 0) break;
            std::string_view chunk(buffer.data(), static_cast<std::size_t>(n));
            total += chunk.size();
            if (total > descriptor.size) break;
            hash.update(chunk);
            write_data(chunk, path);
        }
        if (total != descriptor.size || "sha256:" + hash.finish_hex() != descriptor.digest)
            throw Error(ErrorCode::Integrity, "blob " + source.string() + " does not match its digest " +
                                                  descriptor.digest + " and size " + std::to_string(descriptor.size),
                        "the layout was modified or damaged: build the image again");
    }

    void finish() { check(archive_write_close(m_archive.get()), "finish"); }

private:
    static la_ssize_t write_callback(archive*, void* context, const void* buffer, size_t length) {
        auto* self = static_cast<Tarball*>(context);
        try {
            self->m_out.write(buffer, length);
        } catch (...) {
            // Exceptions must not cross libarchive's C frames: keep it for check().
            self->m_error = std::current_exception();
            return -1;
        }
        return static_cast<la_ssize_t>(length);
    }

    util::ArchiveEntry make_entry(const std::string& path, unsigned type, unsigned mode, std::uint64_t size) const {
        util::ArchiveEntry entry(archive_entry_new());
        if (!entry) throw Error(ErrorCode::Internal, "cannot allocate a libarchive entry");
        archive_entry_set_pathname(entry.get(), path.c_str());
        archive_entry_set_filetype(entry.get(), type);
        archive_entry_set_perm(entry.get(), mode);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
        archive_entry_set_uid(entry.get(), 0);
        archive_entry_set_gid(entry.get(), 0);
        archive_entry_set_mtime(entry.get(), static_cast<time_t>(m_mtime), 0);
        return entry;
    }

    void write_data(std::string_view data, const std::string& path) {
        while (!data.empty()) {
            la_ssize_t n = archive_write_data(m_archive.get(), data.data(), data.size());
            if (n <= 0) check(ARCHIVE_FATAL, "write " + path);
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    void check(int rc, const std::string& what) {
        if (rc >= ARCHIVE_WARN) return;
        if (m_error) std::rethrow_exception(m_error);
        const char* message = archive_error_string(m_archive.get());
        throw Error(ErrorCode::Io, "cannot " + what + " in the docker archive " + m_out.target().string() + ": " +
                                       (message ? message : "libarchive error"));
    }

    util::AtomicFile& m_out;
    std::int64_t m_mtime;
    util::ArchiveWriter m_archive;
    std::exception_ptr m_error;
};

const LayoutImage& choose_image(const Layout& layout, const Platform& platform, const fs::path& dir) {
    if (platform.architecture.empty() && layout.images.size() == 1) return layout.images.front();
    if (const LayoutImage* image = layout.find(platform)) return *image;
    std::string list;
    for (const auto& image : layout.images) list += (list.empty() ? "" : ", ") + to_string(image.platform);
    throw Error(ErrorCode::NotFound, "the image in " + dir.string() + " has no " + to_string(platform) + " variant",
                "platforms in this image: " + (list.empty() ? std::string("none") : list));
}

std::string blob_member(const Descriptor& descriptor) { return "blobs/sha256/" + std::string(descriptor.hex()); }

// Where the tag starts: the last ':' after the last '/'.
std::size_t tag_separator(std::string_view repo_tag) {
    std::size_t colon = repo_tag.rfind(':');
    std::size_t slash = repo_tag.rfind('/');
    if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash))
        return std::string_view::npos;
    return colon;
}

bool is_domain(std::string_view component) {
    return component == "localhost" || component.find_first_of(".:") != std::string_view::npos ||
           std::any_of(component.begin(), component.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

bool is_valid_repo_tag(std::string_view repo_tag) {
    static const std::regex Tag("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    static const std::regex Domain(
        "([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(\\.([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*"
        "(:[0-9]+)?");
    static const std::regex Path("[a-z0-9]+(([_.]|__|-+)[a-z0-9]+)*");
    if (repo_tag.find('@') != std::string_view::npos) return false;
    std::size_t colon = tag_separator(repo_tag);
    if (colon == std::string_view::npos) return false;
    std::string name(repo_tag.substr(0, colon));
    std::string tag(repo_tag.substr(colon + 1));
    if (name.empty() || name.size() > 255 || !std::regex_match(tag, Tag)) return false;
    std::size_t start = 0;
    bool first = true;
    for (;;) {
        std::size_t slash = name.find('/', start);
        std::string component = name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        bool domain = first && slash != std::string::npos && is_domain(component);
        if (!std::regex_match(component, domain ? Domain : Path)) return false;
        if (slash == std::string::npos) return true;
        start = slash + 1;
        first = false;
    }
}

std::string normalize_repo_tag(std::string_view repo_tag) {
    std::size_t slash = repo_tag.find('/');
    if (slash != std::string_view::npos && is_domain(repo_tag.substr(0, slash))) return std::string(repo_tag);
    if (slash == std::string_view::npos) return "docker.io/library/" + std::string(repo_tag);
    return "docker.io/" + std::string(repo_tag);
}

void write_docker_archive(const fs::path& layout_dir, const Platform& platform, const fs::path& out_file,
                          std::string_view repo_tag) {
    if (!repo_tag.empty() && !is_valid_repo_tag(repo_tag))
        throw Error(ErrorCode::Usage, "\"" + std::string(repo_tag) + "\" is not a valid image name with a tag",
                    "use NAME:TAG with a lowercase name, e.g. \"slate/python:3.11\"");
    try {
        Layout layout = read_layout(layout_dir);
        const LayoutImage& image = choose_image(layout, platform, layout_dir);

        // manifest.json: Docker's own index of the archive.
        OrderedJson entry = OrderedJson::object();
        entry["Config"] = blob_member(image.config_descriptor);
        entry["RepoTags"] = OrderedJson::array();
        if (!repo_tag.empty()) entry["RepoTags"].push_back(std::string(repo_tag));
        entry["Layers"] = OrderedJson::array();
        for (const auto& layer : image.manifest.layers) entry["Layers"].push_back(blob_member(layer));
        std::string manifest_json = OrderedJson::array({entry}).dump();

        // index.json: the OCI view of the same archive, named as Docker 25 names it.
        Descriptor named = image.manifest_descriptor;
        named.platform.reset();
        named.annotations.clear();
        if (!repo_tag.empty()) {
            named.annotations["io.containerd.image.name"] = normalize_repo_tag(repo_tag);
            named.annotations[std::string(annotation::RefName)] = repo_tag.substr(tag_separator(repo_tag) + 1);
        }
        Index index;
        index.manifests.push_back(std::move(named));

        // Every blob once, sorted by name: the archive's bytes depend only on the image.
        std::map<std::string, Descriptor> blobs;
        blobs.emplace(blob_member(image.manifest_descriptor), image.manifest_descriptor);
        blobs.emplace(blob_member(image.config_descriptor), image.config_descriptor);
        for (const auto& layer : image.manifest.layers) blobs.emplace(blob_member(layer), layer);

        util::AtomicFile out(out_file);
        Tarball tar(out, image.config.created);
        tar.add_directory("blobs");
        tar.add_directory("blobs/sha256");
        for (const auto& [member, descriptor] : blobs)
            tar.add_blob(member, layout.blob_path(descriptor.digest), descriptor);
        tar.add_file("index.json", to_json(index));
        tar.add_file("manifest.json", manifest_json);
        tar.add_file("oci-layout", OciLayoutContent);
        tar.finish();
        out.commit();
    } catch (Error& e) {
        e.add_context("while writing the docker archive " + out_file.string());
        throw;
    }
}

}  // namespace slate::oci
