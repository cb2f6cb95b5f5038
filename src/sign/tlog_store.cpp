// The transparency log's record file: append-only, each record checksummed,
// each append made durable (fdatasync) before it is acknowledged. See
// tlog.hpp for the format.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/sign/tlog.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace fs = std::filesystem;
namespace {

constexpr char Magic[4] = {'S', 'L', 'T', 'R'};
constexpr std::size_t HeaderSize = 16;  // magic, u32 length, i64 time
constexpr std::size_t ChecksumSize = 32;

void put_u32(std::string& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}
void put_u64(std::string& out, std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}
std::uint64_t get_be(std::string_view bytes) {
    std::uint64_t value = 0;
    for (char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
    return value;
}

std::string sha256_raw(std::string_view data) {
    util::Sha256 hash;
    hash.update(data);
    auto digest = hash.finish();
    return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

[[noreturn]] void io_error(std::string what, const fs::path& path, int err) {
    throw Error(ErrorCode::Io, fmt::format("{} {}: {}", what, path.string(), std::strerror(err)),
                "check free disk space and the permissions of the log's data directory");
}

// Reads exactly `size` bytes at `offset`; false at end of file.
bool read_at(int fd, std::uint64_t offset, std::size_t size, std::string& out, const fs::path& path) {
    out.resize(size);
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) io_error("cannot read", path, errno);
        if (n == 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void fsync_directory(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) io_error("cannot open", dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) io_error("cannot fsync", dir, err);
}

// True when `tail` (the bytes after the last whole record) holds a whole,
// checksummed record somewhere: then the damage is not a torn append.
bool holds_whole_record(std::string_view tail) {
    for (std::size_t at = tail.find(std::string_view(Magic, sizeof Magic), 1); at != std::string_view::npos;
         at = tail.find(std::string_view(Magic, sizeof Magic), at + 1)) {
        if (tail.size() - at < HeaderSize) break;
        std::uint64_t length = get_be(tail.substr(at + 4, 4));
        if (length == 0 || length > TlogStore::MaxBodySize || tail.size() - at < HeaderSize + length + ChecksumSize)
            continue;
        std::string_view record = tail.substr(at, HeaderSize + length);
        if (sha256_raw(record) == tail.substr(at + HeaderSize + length, ChecksumSize)) return true;
    }
    return false;
}

}  // namespace

TlogStore::TlogStore(const fs::path& dir,
                     const std::function<void(std::uint64_t index, const TlogRecord& record)>& on_record)
    : m_path(dir / "entries.log") {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorCode::Io, fmt::format("cannot create the log directory {}: {}", dir.string(), ec.message()));

    const fs::path lock_path = dir / "lock";
    m_lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_lock_fd < 0) io_error("cannot open", lock_path, errno);
    if (::flock(m_lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(m_lock_fd);
        m_lock_fd = -1;
        if (err == EWOULDBLOCK)
            throw Error(ErrorCode::Usage, fmt::format("the log directory {} is in use by another process", dir.string()),
                        "stop the other `slate tlog serve` using it, or give another --data directory");
        io_error("cannot lock", lock_path, err);
    }

    try {
        const bool existed = fs::exists(m_path);
        m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (m_fd < 0) io_error("cannot open", m_path, errno);
        if (!existed) fsync_directory(dir);

        struct stat st {};
        if (::fstat(m_fd, &st) != 0) io_error("cannot stat", m_path, errno);
        const std::uint64_t file_size = static_cast<std::uint64_t>(st.st_size);

        std::uint64_t offset = 0;
        std::string header, rest;
        std::string problem;  // why the scan stopped before the end of the file
        while (offset < file_size) {
            if (file_size - offset < HeaderSize) {
                problem = "is cut short in its header";
                break;
            }
            read_at(m_fd, offset, HeaderSize, header, m_path);
            if (std::memcmp(header.data(), Magic, sizeof Magic) != 0) {
                problem = "has no record marker";
                break;
            }
            const std::uint64_t length = get_be(std::string_view(header).substr(4, 4));
            if (length == 0 || length > MaxBodySize) {
                problem = fmt::format("claims an impossible length of {} bytes", length);
                break;
            }
            const std::uint64_t total = HeaderSize + length + ChecksumSize;
            if (file_size - offset < total) {
                problem = "is cut short";
                break;
            }
            read_at(m_fd, offset + HeaderSize, static_cast<std::size_t>(length + ChecksumSize), rest, m_path);
            std::string_view body = std::string_view(rest).substr(0, static_cast<std::size_t>(length));
            std::string_view checksum = std::string_view(rest).substr(static_cast<std::size_t>(length));
            if (sha256_raw(header + std::string(body)) != checksum) {
                problem = "fails its checksum";
                break;
            }
            TlogRecord record{std::string(body), static_cast<std::int64_t>(get_be(std::string_view(header).substr(8, 8)))};
            on_record(m_records.size(), record);
            m_records.push_back(Location{offset, static_cast<std::uint32_t>(length)});
            offset += total;
        }
        if (offset < file_size) {
            // Appends are one record at a time, acknowledged only once whole
            // and synced, so a crash leaves at most one partial record at the
            // end. Anything more, or a whole record after the damage, is
            // damage to acknowledged entries: refuse, never skip.
            const std::uint64_t tail_size = file_size - offset;
            std::string tail;
            bool torn = tail_size <= HeaderSize + MaxBodySize + ChecksumSize;
            if (torn) {
                read_at(m_fd, offset, static_cast<std::size_t>(tail_size), tail, m_path);
                torn = !holds_whole_record(tail);
            }
            if (!torn)
                throw Error(ErrorCode::Integrity,
                            fmt::format("the transparency log {} is damaged: record {} at byte {} {}, and {} bytes "
                                        "with whole records follow it",
                                        m_path.string(), m_records.size(), offset, problem, tail_size),
                            "restore the data directory from a backup; slate never skips a damaged entry");
        }
        if (offset < file_size) {
            // A torn tail: the process died while appending, before the record
            // was acknowledged. Cut it off so the next append starts clean.
            if (::ftruncate(m_fd, static_cast<off_t>(offset)) != 0) io_error("cannot truncate", m_path, errno);
            if (::fsync(m_fd) != 0) io_error("cannot fsync", m_path, errno);
            m_truncated = file_size - offset;
        }
        m_end = offset;
    } catch (...) {
        if (m_fd >= 0) ::close(m_fd);
        ::close(m_lock_fd);
        throw;
    }
}

TlogStore::~TlogStore() {
    if (m_fd >= 0) ::close(m_fd);
    if (m_lock_fd >= 0) ::close(m_lock_fd);  // releases the flock
}

std::uint64_t TlogStore::write(const std::vector<TlogRecord>& records) {
    if (m_failed)
        throw Error(ErrorCode::Io, fmt::format("the transparency log {} stopped accepting entries after a write failed",
                                               m_path.string()),
                    "fix the disk problem and restart `slate tlog serve`; the log recovers on start");
    const std::uint64_t first = m_records.size() + m_unpublished.size();
    std::string bytes;
    std::vector<Location> locations;
    for (const auto& record : records) {
        if (record.body.empty() || record.body.size() > MaxBodySize)
            throw Error(ErrorCode::Usage,
                        fmt::format("a log entry of {} bytes is outside 1..{}", record.body.size(), MaxBodySize));
        const std::size_t start = bytes.size();
        bytes.append(Magic, sizeof Magic);
        put_u32(bytes, static_cast<std::uint32_t>(record.body.size()));
        put_u64(bytes, static_cast<std::uint64_t>(record.integrated_time));
        bytes.append(record.body);
        bytes += sha256_raw(std::string_view(bytes).substr(start));
        locations.push_back(Location{m_end + start, static_cast<std::uint32_t>(record.body.size())});
    }

    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::pwrite(m_fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(m_end + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            // Take the partial records back; if even that fails, stop writing
            // (the next start truncates the torn tail).
            if (::ftruncate(m_fd, static_cast<off_t>(m_end)) != 0) m_failed = true;
            io_error("cannot append to", m_path, err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fdatasync(m_fd) != 0) {
        // After a failed fdatasync the file's state is unknown: never acknowledge again.
        int err = errno;
        m_failed = true;
        io_error("cannot fdatasync", m_path, err);
    }
    m_end += bytes.size();
    m_unpublished.insert(m_unpublished.end(), locations.begin(), locations.end());
    return first;
}

void TlogStore::publish() {
    m_records.insert(m_records.end(), m_unpublished.begin(), m_unpublished.end());
    m_unpublished.clear();
}

TlogRecord TlogStore::read(std::uint64_t index) const {
    if (index >= m_records.size())
        throw Error(ErrorCode::NotFound, fmt::format("no entry {} in a log of {}", index, m_records.size()));
    const Location& at = m_records[index];
    std::string record;
    if (!read_at(m_fd, at.offset, HeaderSize + at.length + ChecksumSize, record, m_path) ||
        std::memcmp(record.data(), Magic, sizeof Magic) != 0 ||
        sha256_raw(std::string_view(record).substr(0, HeaderSize + at.length)) !=
            std::string_view(record).substr(HeaderSize + at.length))
        throw Error(ErrorCode::Integrity,
                    fmt::format("entry {} of the transparency log {} is damaged on disk", index, m_path.string()),
                    "restore the data directory from a backup");
    return TlogRecord{record.substr(HeaderSize, at.length),
                      static_cast<std::int64_t>(get_be(std::string_view(record).substr(8, 8)))};
}

}  // namespace slate::sign
