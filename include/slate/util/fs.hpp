#pragma once
// Filesystem helpers: atomic writes (temporary file, fsync, rename), whole-file
// reads and read-only memory maps.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace slate::util {

// A file that becomes visible at `target` only when commit() succeeds. Data is
// written to a unique temporary file in the same directory; commit() fsyncs it,
// renames it over the target and fsyncs the directory. Without commit() the
// temporary file is removed, so nothing half-written is ever left behind.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path target, unsigned mode = 0644);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    void write(const void* data, std::size_t size);
    void write(std::string_view data) { write(data.data(), data.size()); }
    void commit();
    const std::filesystem::path& temp_path() const { return m_temp; }
    const std::filesystem::path& target() const { return m_target; }

private:
    std::filesystem::path m_target;
    std::filesystem::path m_temp;
    int m_fd = -1;
    bool m_committed = false;
};

// A new private (0700) directory `parent`/`prefix`XXXXXX, removed with
// everything in it when the object dies. Throws slate::Error (Io) with `hint`.
class TempDir {
public:
    TempDir(const std::filesystem::path& parent, std::string_view prefix, std::string_view hint = {});
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

// Writes `data` to `target` through an AtomicFile. A target that exists and is
// not a regular file (a device such as /dev/null, a FIFO) is written to
// directly instead: it is never replaced.
void write_file_atomic(const std::filesystem::path& target, std::string_view data, unsigned mode = 0644);
// Throws slate::Error (NotFound or Io).
std::string read_file(const std::filesystem::path& path);
// At most the first `limit` bytes (fewer when the file is shorter). Throws as read_file.
std::string read_file_prefix(const std::filesystem::path& path, std::size_t limit);

// A read-only private mapping of a whole file. Empty files map to an empty view.
class MappedFile {
public:
    explicit MappedFile(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    std::string_view view() const { return {static_cast<const char*>(m_data), m_size}; }

private:
    void* m_data = nullptr;
    std::size_t m_size = 0;
};

}  // namespace slate::util
