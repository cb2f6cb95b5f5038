#include "slate/util/fs.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "slate/error.hpp"

namespace slate::util {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_io(std::string what, const fs::path& path, int err) {
    throw Error(ErrorCode::Io, what + " " + path.string() + ": " + std::strerror(err));
}

void fsync_directory(const fs::path& dir) {
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the rename itself already happened
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

AtomicFile::AtomicFile(fs::path target, unsigned mode) : m_target(std::move(target)) {
    fs::path dir = m_target.parent_path();
    if (!dir.empty()) {
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) throw_io("cannot create directory", dir, ec.value());
    }
    std::string templ = (dir / ("." + m_target.filename().string() + ".tmp-XXXXXX")).string();
    m_fd = ::mkostemp(templ.data(), O_CLOEXEC);
    if (m_fd < 0) throw_io("cannot create a temporary file in", dir, errno);
    m_temp = templ;
    ::fchmod(m_fd, mode);
}

AtomicFile::~AtomicFile() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_committed && !m_temp.empty()) ::unlink(m_temp.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(m_fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_io("cannot write", m_temp, errno);
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

void AtomicFile::commit() {
    if (::fsync(m_fd) != 0) throw_io("cannot fsync", m_temp, errno);
    if (::close(m_fd) != 0) {
        m_fd = -1;
        throw_io("cannot close", m_temp, errno);
    }
    m_fd = -1;
    if (::rename(m_temp.c_str(), m_target.c_str()) != 0) throw_io("cannot rename into place", m_target, errno);
    m_committed = true;
    fsync_directory(m_target.parent_path());
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix, std::string_view hint) {
    std::string templ = (parent / (std::string(prefix) + "XXXXXX")).string();
    if (!::mkdtemp(templ.data()))
        throw Error(ErrorCode::Io, "cannot create a temporary directory in " + parent.string() + ": " + std::strerror(errno),
                    hint.empty() ? std::string("check that the directory exists and is writable") : std::string(hint));
    m_path = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

void write_file_atomic(const fs::path& target, std::string_view data, unsigned mode) {
    // A device, FIFO or socket (-o /dev/null, -o /dev/stdout) is written to,
    // never replaced: renaming over it would swap a device for a file.
    struct stat existing {};
    if (::stat(target.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode) && !S_ISDIR(existing.st_mode)) {
        int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) throw_io("cannot open", target, errno);
        while (!data.empty()) {
            ssize_t n = ::write(fd, data.data(), data.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                int err = errno;
                ::close(fd);
                throw_io("cannot write", target, err);
            }
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        ::close(fd);
        return;
    }
    AtomicFile file(target, mode);
    file.write(data);
    file.commit();
}

namespace {

// Up to `limit` bytes of `path` (the whole file when limit is SIZE_MAX).
std::string read_up_to(const fs::path& path, std::size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) throw Error(ErrorCode::NotFound, "no such file: " + path.string());
        throw_io("cannot open", path, errno);
    }
    std::string out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(std::min(limit, static_cast<std::size_t>(st.st_size)));
    char buffer[1 << 16];
    while (out.size() < limit) {
        ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, limit - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            throw_io("cannot read", path, err);
        }
        if (n == 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace

std::string read_file_prefix(const fs::path& path, std::size_t limit) { return read_up_to(path, limit); }

std::string read_file(const fs::path& path) { return read_up_to(path, SIZE_MAX); }

MappedFile::MappedFile(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) throw Error(ErrorCode::NotFound, "no such file: " + path.string());
        throw_io("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throw_io("cannot stat", path, err);
    }
    m_size = static_cast<std::size_t>(st.st_size);
    if (m_size > 0) {
        m_data = ::mmap(nullptr, m_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m_data == MAP_FAILED) {
            int err = errno;
            m_data = nullptr;
            ::close(fd);
            throw_io("cannot map", path, err);
        }
    }
    ::close(fd);
}

MappedFile::~MappedFile() {
    if (m_data) ::munmap(m_data, m_size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        if (m_data) ::munmap(m_data, m_size);
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
    }
    return *this;
}

}  // namespace slate::util
