#pragma once
// slate's on-disk cache: content-addressed blobs (downloads, verified by
// SHA-256 on every read), small named refs (e.g. the last InRelease seen for a
// URL), and derived files keyed by the content they were made from.
//
// Layout under the root:
//   blobs/sha256/<hex>     immutable content
//   refs/<kind>/<sha256(key)>.json
//   derived/<kind>/<key>
//   tmp/                   in-progress downloads (same filesystem, so rename is atomic)
// Every write is temporary file + fsync + rename, so several slate processes
// can share one cache: a reader sees a whole file or none.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace slate::util {

// A temporary path under the cache's tmp/ that is removed when the object
// dies, whatever happened to the download: after put_file() it is gone anyway.
class TempPath {
public:
    explicit TempPath(std::filesystem::path path) : m_path(std::move(path)) {}
    ~TempPath();
    TempPath(const TempPath&) = delete;
    TempPath& operator=(const TempPath&) = delete;
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

class BlobCache {
public:
    explicit BlobCache(std::filesystem::path root);

    const std::filesystem::path& root() const { return m_root; }
    std::filesystem::path blob_path(std::string_view sha256) const;

    // The blob's path when it is present and intact. A blob whose size or
    // SHA-256 is wrong is deleted (it will be fetched again) and reported
    // through `damaged`.
    std::optional<std::filesystem::path> get(std::string_view sha256, std::optional<std::uint64_t> size = {},
                                             bool* damaged = nullptr) const;
    // True when the blob file exists, without verifying it.
    bool contains(std::string_view sha256) const;

    // A unique path under tmp/ for a download in progress.
    TempPath temp_path(std::string_view hint) const;
    // Moves a complete, verified temporary file into the blob store (fsync +
    // rename). Returns the blob's path.
    std::filesystem::path put_file(const std::filesystem::path& temp, std::string_view sha256) const;
    // Stores bytes, returning their SHA-256.
    std::string put_bytes(std::string_view data) const;

    std::optional<std::string> read_ref(std::string_view kind, std::string_view key) const;
    void write_ref(std::string_view kind, std::string_view key, std::string_view content) const;

    std::filesystem::path derived_path(std::string_view kind, std::string_view key) const;

private:
    std::filesystem::path m_root;
};

}  // namespace slate::util
