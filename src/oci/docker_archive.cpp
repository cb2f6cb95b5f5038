#include "slate/oci/docker_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <vector>

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

// ================================================================ reading

namespace slate::oci {
namespace {

constexpr std::uint64_t MaxJsonBytes = std::uint64_t{64} << 20;  // manifest.json, index.json, a config
constexpr std::size_t ChunkBytes = std::size_t{1} << 16;
constexpr std::string_view BlobPrefix = "blobs/sha256/";
const std::string ArchiveHint = "the file is damaged or was modified: save the image again";

[[noreturn]] void refuse_member(const fs::path& archive, const std::string& member, const std::string& why) {
    throw Error(ErrorCode::Parse, "refusing the docker archive " + archive.string() + ": its member \"" + member +
                                      "\" " + why,
                "docker save, skopeo and slate never write such members: do not load this file");
}

// `path` as a clean name relative to the archive's root ("./a//b/" -> "a/b",
// "./" -> ""). nullopt for an absolute path, and for a ".." component unless
// `allow_parent`, when it climbs (but never above the root).
std::optional<std::string> normalize_member(std::string_view path, bool allow_parent) {
    if (!path.empty() && path.front() == '/') return std::nullopt;
    std::vector<std::string_view> parts;
    while (!path.empty()) {
        std::size_t slash = path.find('/');
        std::string_view part = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
        if (part.empty() || part == ".") continue;
        if (part == "..") {
            if (!allow_parent || parts.empty()) return std::nullopt;
            parts.pop_back();
            continue;
        }
        parts.push_back(part);
    }
    std::string out;
    for (auto part : parts) (out.empty() ? out : out += '/') += part;
    return out;
}

bool is_blob_member(std::string_view name) {
    return name.size() == BlobPrefix.size() + 64 && name.substr(0, BlobPrefix.size()) == BlobPrefix &&
           util::is_sha256_hex(name.substr(BlobPrefix.size()));
}

// One sequential pass over a tarball (any compression libarchive knows).
class TarStream {
public:
    explicit TarStream(const fs::path& archive) : m_path(archive), m_reader(archive_read_new()), m_buffer(ChunkBytes) {
        if (!m_reader) throw Error(ErrorCode::Internal, "cannot allocate a libarchive reader");
        archive_read_support_filter_all(m_reader.get());
        archive_read_support_format_tar(m_reader.get());
        if (archive_read_open_filename(m_reader.get(), archive.c_str(), ChunkBytes) != ARCHIVE_OK) fail({});
    }

    // Moves to the next member; false at the end of the archive.
    bool next() {
        int rc = archive_read_next_header(m_reader.get(), &m_entry);
        if (rc == ARCHIVE_EOF) return false;
        if (rc < ARCHIVE_WARN) fail({});
        const char* name = archive_entry_pathname(m_entry);
        if (!name) fail("a member's name");
        m_name = name;
        return true;
    }

    archive_entry* entry() const { return m_entry; }
    const std::string& raw_name() const { return m_name; }
    bool is_regular_file() const {
        return archive_entry_filetype(m_entry) == AE_IFREG && !archive_entry_hardlink(m_entry);
    }

    // Streams the member's data to `sink` and checks that it is as long as
    // its header says (libarchive also reports a truncated archive).
    template <typename Sink>
    void read(Sink&& sink) {
        std::uint64_t total = 0;
        for (;;) {
            la_ssize_t n = archive_read_data(m_reader.get(), m_buffer.data(), m_buffer.size());
            if (n < 0) fail("\"" + m_name + "\"");
            if (n == 0) break;
            total += static_cast<std::uint64_t>(n);
            sink(std::string_view(m_buffer.data(), static_cast<std::size_t>(n)));
        }
        if (archive_entry_size_is_set(m_entry) && total != static_cast<std::uint64_t>(archive_entry_size(m_entry)))
            throw Error(ErrorCode::Parse, "the member \"" + m_name + "\" of the docker archive " + m_path.string() +
                                              " has " + std::to_string(total) + " bytes, not the " +
                                              std::to_string(archive_entry_size(m_entry)) + " its header says",
                        ArchiveHint);
    }

    // A small member (a JSON document) read whole.
    std::string read_small() {
        if (archive_entry_size(m_entry) > static_cast<la_int64_t>(MaxJsonBytes))
            throw Error(ErrorCode::Parse, "the member \"" + m_name + "\" of the docker archive " + m_path.string() +
                                              " is too large for a JSON document (" +
                                              std::to_string(archive_entry_size(m_entry)) + " bytes)",
                        ArchiveHint);
        std::string bytes;
        read([&](std::string_view chunk) { bytes.append(chunk); });
        return bytes;
    }

private:
    // `what`: the member that could not be read, or empty for the archive itself.
    [[noreturn]] void fail(const std::string& what) {
        const char* why = archive_error_string(m_reader.get());
        throw Error(ErrorCode::Parse, "cannot read " + (what.empty() ? "" : what + " in ") + "the docker archive " +
                                          m_path.string() + ": " + (why ? why : "libarchive error"),
                    "the file is not a tar archive, or it is truncated or damaged: save the image again");
    }

    fs::path m_path;
    util::ArchiveReader m_reader;
    archive_entry* m_entry = nullptr;  // owned by m_reader
    std::string m_name;
    std::vector<char> m_buffer;
};

// The clean name of the current member; refuses absolute paths and "..".
std::string member_name(const TarStream& tar, const fs::path& archive) {
    auto name = normalize_member(tar.raw_name(), false);
    if (!name) refuse_member(archive, tar.raw_name(), "has an absolute path or a \"..\" component");
    return *name;
}

enum class MemberKind { File, Directory, Link };

struct Member {
    MemberKind kind = MemberKind::File;
    std::string target;  // links: the member linked to, relative to the archive's root
};

// What a first pass over the archive finds: every member (checked) and the
// documents that say which form the archive has.
struct ArchiveScan {
    std::map<std::string, Member> members;
    std::optional<std::string> manifest_json;
    std::optional<std::string> index_json;
    std::optional<std::string> oci_layout;
};

Member classify(const TarStream& tar, const std::string& name, const fs::path& archive) {
    archive_entry* entry = tar.entry();
    if (const char* hard = archive_entry_hardlink(entry)) {
        auto target = normalize_member(hard, false);
        if (!target) refuse_member(archive, name, "is a hard link to \"" + std::string(hard) + "\", outside the archive");
        return {MemberKind::Link, *target};
    }
    switch (archive_entry_filetype(entry)) {
    case AE_IFREG: return {MemberKind::File, {}};
    case AE_IFDIR: return {MemberKind::Directory, {}};
    case AE_IFLNK: {
        // Relative to the link's directory, like the file system would resolve it.
        const char* raw = archive_entry_symlink(entry);
        std::string target = raw ? raw : "";
        std::size_t slash = name.rfind('/');
        std::string joined = slash == std::string::npos ? target : name.substr(0, slash + 1) + target;
        auto resolved = target.empty() || target.front() == '/' ? std::nullopt : normalize_member(joined, true);
        if (!resolved)
            refuse_member(archive, name, "is a symbolic link to \"" + target + "\", outside the archive");
        return {MemberKind::Link, *resolved};
    }
    default: refuse_member(archive, name, "is a device, FIFO or socket");
    }
}

ArchiveScan scan_archive(const fs::path& archive) {
    ArchiveScan scan;
    TarStream tar(archive);
    while (tar.next()) {
        std::string name = member_name(tar, archive);
        if (name.empty()) continue;  // "./", the root itself
        Member member = classify(tar, name, archive);
        std::optional<std::string>* document = name == "manifest.json" ? &scan.manifest_json
                                               : name == "index.json"  ? &scan.index_json
                                               : name == "oci-layout"  ? &scan.oci_layout
                                                                       : nullptr;
        if (document) {
            if (member.kind != MemberKind::File) refuse_member(archive, name, "is not a regular file");
            *document = tar.read_small();
        }
        auto [it, inserted] = scan.members.emplace(name, member);
        if (!inserted && !(it->second.kind == MemberKind::Directory && member.kind == MemberKind::Directory))
            refuse_member(archive, name, "appears twice");
    }
    return scan;
}

// Inflates gzip data (one or more members back to back) as it arrives.
class GzipInflater {
public:
    explicit GzipInflater(std::string what) : m_what(std::move(what)), m_out(ChunkBytes) {
        if (inflateInit2(&m_stream, 15 + 16) != Z_OK) throw Error(ErrorCode::Internal, "cannot initialise zlib");
    }
    ~GzipInflater() { inflateEnd(&m_stream); }
    GzipInflater(const GzipInflater&) = delete;
    GzipInflater& operator=(const GzipInflater&) = delete;

    template <typename Sink>
    void write(std::string_view in, Sink&& sink) {
        m_stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        m_stream.avail_in = static_cast<uInt>(in.size());
        for (;;) {
            if (m_at_end) {
                if (m_stream.avail_in == 0) return;
                if (inflateReset(&m_stream) != Z_OK) fail();  // another gzip member follows
                m_at_end = false;
            }
            m_stream.next_out = reinterpret_cast<Bytef*>(m_out.data());
            m_stream.avail_out = static_cast<uInt>(m_out.size());
            int rc = inflate(&m_stream, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) m_at_end = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR) fail();
            std::size_t produced = m_out.size() - m_stream.avail_out;
            if (produced > 0) sink(std::string_view(m_out.data(), produced));
            if (!m_at_end && m_stream.avail_in == 0 && m_stream.avail_out != 0) return;
            if (rc == Z_BUF_ERROR && produced == 0) return;
        }
    }

    // Throws unless the data ended with a complete gzip member.
    void finish() {
        if (!m_at_end) throw Error(ErrorCode::Parse, m_what + " ends in the middle of its gzip data", ArchiveHint);
    }

private:
    [[noreturn]] void fail() {
        throw Error(ErrorCode::Parse, m_what + " holds corrupt gzip data" +
                                          (m_stream.msg ? std::string(": ") + m_stream.msg : std::string()),
                    ArchiveHint);
    }

    std::string m_what;
    z_stream m_stream{};
    std::vector<char> m_out;
    bool m_at_end = false;
};

// A legacy archive's layer file streamed into a blob as it is. A tar is its
// own diff_id; a gzip file (by its magic) is inflated on the way to get it.
class LegacyLayerWriter {
public:
    LegacyLayerWriter(BlobWriter blob, std::string what) : m_blob(std::move(blob)), m_what(std::move(what)) {}

    void write(std::string_view chunk) {
        if (m_decided) return consume(chunk);
        m_head.append(chunk);
        if (m_head.size() >= 2) decide();
    }

    Layer finish() {
        if (!m_decided) decide();
        if (m_inflater) m_inflater->finish();
        Layer layer;
        layer.compression = m_inflater ? Compression::Gzip : Compression::None;
        Descriptor stored = m_blob.commit(layer_media_type(layer.compression));
        layer.digest = stored.digest;
        layer.size = stored.size;
        layer.diff_id = m_inflater ? "sha256:" + m_diff.finish_hex() : stored.digest;
        layer.uncompressed_size = m_inflater ? m_uncompressed : stored.size;
        return layer;
    }

private:
    void decide() {
        m_decided = true;
        if (m_head.size() >= 2 && m_head[0] == '\x1f' && m_head[1] == '\x8b') m_inflater.emplace(m_what);
        consume(m_head);
        m_head.clear();
    }

    void consume(std::string_view chunk) {
        m_blob.write(chunk);
        if (!m_inflater) return;
        m_inflater->write(chunk, [this](std::string_view out) {
            m_diff.update(out);
            m_uncompressed += out.size();
        });
    }

    BlobWriter m_blob;
    std::string m_what;
    std::string m_head;  // the first bytes, until there are enough to see the magic
    bool m_decided = false;
    std::optional<GzipInflater> m_inflater;
    util::Sha256 m_diff;
    std::uint64_t m_uncompressed = 0;
};

// One entry of a legacy manifest.json.
struct LegacyImage {
    std::string config;
    std::vector<std::string> repo_tags;
    std::vector<std::string> layers;
};

std::vector<LegacyImage> parse_legacy_manifest(const std::string& json, const fs::path& archive) {
    auto malformed = [&](const std::string& why) {
        return Error(ErrorCode::Parse, "malformed manifest.json in the docker archive " + archive.string() + ": " + why,
                     ArchiveHint);
    };
    nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded()) throw malformed("not valid JSON");
    if (!doc.is_array() || doc.empty()) throw malformed("not a non-empty array of images");
    std::vector<LegacyImage> images;
    for (const auto& item : doc) {
        if (!item.is_object()) throw malformed("an image is not an object");
        LegacyImage image;
        auto config = item.find("Config");
        if (config == item.end() || !config->is_string()) throw malformed("an image has no \"Config\" string");
        image.config = config->get<std::string>();
        auto strings = [&](const char* key, std::vector<std::string>& out, bool required) {
            auto found = item.find(key);
            if (found == item.end() || found->is_null()) {
                if (required) throw malformed(std::string("an image has no \"") + key + "\" list");
                return;
            }
            if (!found->is_array()) throw malformed(std::string("\"") + key + "\" is not a list");
            for (const auto& value : *found) {
                if (!value.is_string()) throw malformed(std::string("\"") + key + "\" holds a non-string");
                out.push_back(value.get<std::string>());
            }
        };
        strings("RepoTags", image.repo_tags, false);
        strings("Layers", image.layers, true);
        images.push_back(std::move(image));
    }
    return images;
}

// The regular file that a manifest.json path names, following one link.
std::string resolve_member(const ArchiveScan& scan, const std::string& path, const fs::path& archive) {
    auto name = normalize_member(path, false);
    auto it = name ? scan.members.find(*name) : scan.members.end();
    if (it != scan.members.end() && it->second.kind == MemberKind::Link) it = scan.members.find(it->second.target);
    if (it == scan.members.end() || it->second.kind != MemberKind::File)
        throw Error(ErrorCode::Parse, "manifest.json in the docker archive " + archive.string() + " names \"" + path +
                                          "\", which is not a file in the archive",
                    ArchiveHint);
    return it->first;
}

[[noreturn]] void throw_no_such_image(const fs::path& archive, std::size_t index,
                                      const std::vector<std::string>& names) {
    std::string list;
    for (std::size_t i = 0; i < names.size(); ++i)
        list += (i ? ", " : "") + std::to_string(i) + " (" + (names[i].empty() ? "untagged" : names[i]) + ")";
    throw Error(ErrorCode::Usage, "the docker archive " + archive.string() + " holds " + std::to_string(names.size()) +
                                      (names.size() == 1 ? " image" : " images") + ": there is no image " +
                                      std::to_string(index),
                "images in this archive: " + list);
}

// index.json's entry for a legacy image: named by its first RepoTag the way
// Docker 25 names it.
Index legacy_index_json(const Descriptor& manifest, const std::vector<std::string>& repo_tags) {
    Descriptor entry = manifest;
    if (!repo_tags.empty() && is_valid_repo_tag(repo_tags.front())) {
        const std::string& tag = repo_tags.front();
        entry.annotations["io.containerd.image.name"] = normalize_repo_tag(tag);
        std::string ref = tag.substr(tag_separator(tag) + 1);
        if (is_valid_ref_name(ref)) entry.annotations[std::string(annotation::RefName)] = ref;
    }
    Index index;
    index.manifests.push_back(std::move(entry));
    return index;
}

void read_legacy_image(const fs::path& archive, const ArchiveScan& scan, const LegacyImage& image,
                       const LayoutWriter& writer) {
    std::string config_member = resolve_member(scan, image.config, archive);
    std::map<std::string, std::vector<std::size_t>> layer_members;  // a file may serve as several layers
    for (std::size_t i = 0; i < image.layers.size(); ++i)
        layer_members[resolve_member(scan, image.layers[i], archive)].push_back(i);

    std::optional<std::string> config_bytes;
    std::vector<std::optional<Layer>> layers(image.layers.size());
    TarStream tar(archive);
    while (tar.next()) {
        std::string name = member_name(tar, archive);
        if (!tar.is_regular_file()) continue;
        if (name == config_member) {
            config_bytes = tar.read_small();
        } else if (auto it = layer_members.find(name); it != layer_members.end()) {
            LegacyLayerWriter layer(writer.begin_blob(), "the layer \"" + name + "\" of the docker archive " +
                                                             archive.string());
            tar.read([&](std::string_view chunk) { layer.write(chunk); });
            Layer stored = layer.finish();
            for (std::size_t i : it->second) layers[i] = stored;
        }
    }
    // Both passes saw the same members unless the file changed in between.
    if (!config_bytes || std::any_of(layers.begin(), layers.end(), [](const auto& l) { return !l.has_value(); }))
        throw Error(ErrorCode::Parse, "the docker archive " + archive.string() + " changed while it was read",
                    "read it again once nothing writes to it");

    std::string what = "image config " + config_member + " in the docker archive " + archive.string();
    ImageConfig config = parse_image_config(*config_bytes, what);
    if (config.diff_ids.size() != layers.size())
        throw Error(ErrorCode::Parse, "the " + what + " lists " + std::to_string(config.diff_ids.size()) +
                                          " diff_ids but manifest.json names " + std::to_string(layers.size()) +
                                          " layers",
                    ArchiveHint);
    std::vector<Layer> stored;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (layers[i]->diff_id != config.diff_ids[i])
            throw Error(ErrorCode::Integrity, "layer " + std::to_string(i) + " (\"" + image.layers[i] +
                                                  "\") of the docker archive " + archive.string() +
                                                  " has the uncompressed digest " + layers[i]->diff_id +
                                                  ", but its image config expects " + config.diff_ids[i],
                        ArchiveHint);
        stored.push_back(*layers[i]);
    }
    // The config's bytes are kept, so its digest (the image ID) is preserved.
    Descriptor config_descriptor = writer.write_blob(media_type::ImageConfig, *config_bytes);
    Descriptor manifest = writer.write_blob(media_type::ImageManifest, to_json(make_manifest(config_descriptor, stored)));
    util::write_file_atomic(writer.dir() / "index.json", to_json(legacy_index_json(manifest, image.repo_tags)));
}

// OCI form: every blobs/sha256/<hex> member, byte for byte, checked against its name.
void read_oci_blobs(const fs::path& archive, const ArchiveScan& scan, const LayoutWriter& writer) {
    for (const auto& [name, member] : scan.members)
        if (member.kind == MemberKind::Link && name.compare(0, 6, "blobs/") == 0)
            refuse_member(archive, name, "is a link; blobs must be regular files");
    TarStream tar(archive);
    while (tar.next()) {
        std::string name = member_name(tar, archive);
        if (!tar.is_regular_file() || !is_blob_member(name)) continue;
        BlobWriter blob = writer.begin_blob();
        tar.read([&](std::string_view chunk) { blob.write(chunk); });
        std::string digest = "sha256:" + name.substr(BlobPrefix.size());
        try {
            blob.commit("application/octet-stream", digest);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::Integrity) throw;
            throw Error(ErrorCode::Integrity,
                        "the blob \"" + name + "\" of the docker archive " + archive.string() +
                            " does not match its digest",
                        ArchiveHint);
        }
    }
}

// The name an index.json entry goes by, for messages.
std::string entry_name(const Descriptor& entry) {
    for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"})
        if (auto it = entry.annotations.find(key); it != entry.annotations.end()) return it->second;
    return {};
}

void fsync_directory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename already happened
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

Layout read_docker_archive(const fs::path& archive, const fs::path& layout_dir, std::size_t image_index) {
    try {
        std::error_code ec;
        if (!fs::exists(archive, ec))
            throw Error(ErrorCode::NotFound, "no such file: " + archive.string(),
                        "give the path of a tarball written by docker save, skopeo or slate");
        fs::path target = layout_dir.has_filename() ? layout_dir : layout_dir.parent_path();
        if (fs::exists(target, ec) && (!fs::is_directory(target, ec) || !fs::is_empty(target, ec)))
            throw Error(ErrorCode::Usage, target.string() + " already exists and is not an empty directory",
                        "give a new directory for the image layout, or remove this one");

        ArchiveScan scan = scan_archive(archive);
        bool oci = scan.index_json && scan.oci_layout;
        std::optional<Index> oci_index;
        std::vector<LegacyImage> legacy;
        if (oci) {
            nlohmann::json version = nlohmann::json::parse(*scan.oci_layout, nullptr, false);
            if (!version.is_object() || !version.contains("imageLayoutVersion"))
                throw Error(ErrorCode::Parse, "oci-layout in the docker archive " + archive.string() +
                                                  " is not an OCI layout marker", ArchiveHint);
            oci_index = parse_index(*scan.index_json, "index.json in the docker archive " + archive.string());
            std::vector<std::string> names;
            for (const auto& entry : oci_index->manifests) names.push_back(entry_name(entry));
            if (image_index >= names.size()) throw_no_such_image(archive, image_index, names);
        } else if (scan.manifest_json) {
            legacy = parse_legacy_manifest(*scan.manifest_json, archive);
            std::vector<std::string> names;
            for (const auto& image : legacy) {
                std::string tags;
                for (const auto& tag : image.repo_tags) tags += (tags.empty() ? "" : ", ") + tag;
                names.push_back(tags);
            }
            if (image_index >= names.size()) throw_no_such_image(archive, image_index, names);
        } else {
            throw Error(ErrorCode::Parse, archive.string() + " is not a docker archive: it holds neither manifest.json "
                                                             "nor index.json with oci-layout",
                        "give a tarball written by docker save, skopeo copy ... docker-archive: or slate");
        }

        // Built beside the target and renamed into place once complete.
        fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
        fs::create_directories(parent, ec);
        util::TempDir temp(parent, "." + target.filename().string() + ".partial-");
        LayoutWriter writer(temp.path());
        if (oci) {
            read_oci_blobs(archive, scan, writer);
            if (oci_index->manifests.size() == 1) {
                util::write_file_atomic(temp.path() / "index.json", *scan.index_json);
            } else {
                Index chosen = *oci_index;
                chosen.manifests = {oci_index->manifests[image_index]};
                util::write_file_atomic(temp.path() / "index.json", to_json(chosen));
            }
        } else {
            read_legacy_image(archive, scan, legacy[image_index], writer);
        }
        Layout layout = read_layout(temp.path());

        fs::permissions(temp.path(), fs::perms(0755), ec);
        if (::rename(temp.path().c_str(), target.c_str()) != 0)
            throw Error(ErrorCode::Io, "cannot move the image layout into " + target.string() + ": " +
                                           std::strerror(errno),
                        "check that the directory is writable and that nothing else created it meanwhile");
        fsync_directory(parent);
        layout.dir = layout_dir;
        return layout;
    } catch (Error& e) {
        e.add_context("while reading the docker archive " + archive.string());
        throw;
    }
}

}  // namespace slate::oci
