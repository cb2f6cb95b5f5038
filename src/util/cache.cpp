#include "slate/util/cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"

namespace slate::util {
namespace fs = std::filesystem;

namespace {

void require_sha(std::string_view sha256) {
    if (!is_sha256_hex(sha256))
        throw Error(ErrorCode::Internal, fmt::format("not a SHA-256 digest: \"{}\"", sha256));
}

void ensure_dir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        throw Error(ErrorCode::Io, fmt::format("cannot create cache directory {}: {}", dir.string(), ec.message()),
                    "set SLATE_CACHE or --cache-dir to a writable directory");
}

// Removes temporary files left by processes that died mid-download.
void sweep_stale_temps(const fs::path& tmp) {
    std::error_code ec;
    auto now = fs::file_time_type::clock::now();
    for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) {
        auto mtime = it->last_write_time(ec);
        if (!ec && now - mtime > std::chrono::hours(24)) fs::remove(it->path(), ec);
    }
}

}  // namespace

BlobCache::BlobCache(fs::path root) : m_root(std::move(root)) {
    ensure_dir(m_root / "blobs" / "sha256");
    ensure_dir(m_root / "tmp");
    sweep_stale_temps(m_root / "tmp");
}

fs::path BlobCache::blob_path(std::string_view sha256) const {
    require_sha(sha256);
    return m_root / "blobs" / "sha256" / std::string(sha256);
}

bool BlobCache::contains(std::string_view sha256) const {
    std::error_code ec;
    return fs::exists(blob_path(sha256), ec);
}

std::optional<fs::path> BlobCache::get(std::string_view sha256, std::optional<std::uint64_t> size,
                                       bool* damaged) const {
    if (damaged) *damaged = false;
    auto path = blob_path(sha256);
    std::error_code ec;
    auto actual_size = fs::file_size(path, ec);
    if (ec) return std::nullopt;
    bool ok = (!size || *size == actual_size) && sha256_file_hex(path) == sha256;
    if (ok) return path;
    fs::remove(path, ec);
    if (damaged) *damaged = true;
    return std::nullopt;
}

TempPath::~TempPath() {
    std::error_code ec;
    fs::remove(m_path, ec);
}

TempPath BlobCache::temp_path(std::string_view hint) const {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    std::string name = fmt::format("{}.{}.{}.{:08x}", hint.empty() ? "download" : hint, ::getpid(), counter++, rd());
    for (char& c : name)
        if (c == '/') c = '_';
    return TempPath(m_root / "tmp" / name);
}

fs::path BlobCache::put_file(const fs::path& temp, std::string_view sha256) const {
    auto target = blob_path(sha256);
    int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(ErrorCode::Io, fmt::format("cannot open {}: {}", temp.string(), std::strerror(errno)));
    ::fsync(fd);
    ::close(fd);
    if (::rename(temp.c_str(), target.c_str()) != 0)
        throw Error(ErrorCode::Io, fmt::format("cannot move {} into the cache: {}", temp.string(), std::strerror(errno)));
    return target;
}

std::string BlobCache::put_bytes(std::string_view data) const {
    auto sha = sha256_hex(data);
    if (!contains(sha)) write_file_atomic(blob_path(sha), data);
    return sha;
}

std::optional<std::string> BlobCache::read_ref(std::string_view kind, std::string_view key) const {
    auto path = m_root / "refs" / std::string(kind) / (sha256_hex(key) + ".json");
    try {
        return read_file(path);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::NotFound) return std::nullopt;
        throw;
    }
}

void BlobCache::write_ref(std::string_view kind, std::string_view key, std::string_view content) const {
    write_file_atomic(m_root / "refs" / std::string(kind) / (sha256_hex(key) + ".json"), content);
}

fs::path BlobCache::derived_path(std::string_view kind, std::string_view key) const {
    return m_root / "derived" / std::string(kind) / std::string(key);
}

}  // namespace slate::util
