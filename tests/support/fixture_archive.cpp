#include "support/fixture_archive.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"

namespace slate::test {
namespace {
namespace fs = std::filesystem;

// An exclusive flock on a lock file, released when the object dies.
class FileLock {
public:
    explicit FileLock(const fs::path& path) {
        m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (m_fd < 0) throw std::runtime_error("cannot open lock file " + path.string() + ": " + std::strerror(errno));
        while (::flock(m_fd, LOCK_EX) != 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(m_fd);
            throw std::runtime_error("cannot lock " + path.string() + ": " + std::strerror(err));
        }
    }
    ~FileLock() { ::close(m_fd); }  // closing releases the lock
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    int m_fd = -1;
};

std::string read_stamp(const fs::path& stamp) {
    try {
        return util::read_file(stamp);
    } catch (const Error&) {
        return {};
    }
}

fs::path build_fixture_archive() {
    const fs::path script = source_dir() / "tests/fixtures/make-archive.sh";
    const fs::path target = binary_dir() / "fixture-archive";
    const fs::path stamp = binary_dir() / "fixture-archive.stamp";
    fs::create_directories(binary_dir());
    const std::string hash = util::sha256_file_hex(script);

    // One process builds; the others wait here and then find the stamp current.
    FileLock lock(binary_dir() / "fixture-archive.lock");
    if (read_stamp(stamp) == hash && fs::exists(target / "keyring.gpg")) return target;

    // Build next to the target, then swap it in, so no test ever sees half an archive.
    std::string templ = (binary_dir() / "fixture-archive.tmp-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed in " + binary_dir().string());
    const fs::path fresh = templ;
    util::ProcessOptions options;
    options.timeout = std::chrono::minutes(5);
    auto result = util::run_process({"bash", script.string(), fresh.string()}, options);
    if (result.exit_code != 0 || result.timed_out) {
        std::error_code ec;
        fs::remove_all(fresh, ec);
        throw std::runtime_error("tests/fixtures/make-archive.sh failed (exit " + std::to_string(result.exit_code) +
                                 "):\n" + result.out + result.err);
    }
    fs::remove(stamp);  // a crash from here on leaves no stamp, so the next run rebuilds
    fs::remove_all(target);
    fs::rename(fresh, target);
    util::write_file_atomic(stamp, hash);
    return target;
}

}  // namespace

const fs::path& fixture_archive() {
    static const fs::path path = build_fixture_archive();
    return path;
}

}  // namespace slate::test
