#pragma once
// Deterministic tar streams for image layers: entries in the order given
// (callers sort), POSIX pax interchange format (ustar headers; an 'x' header
// only for what ustar cannot hold: long paths or link targets, uid/gid/size
// out of octal range, mtimes before 1970), numeric owners only (no user or
// group names), mtimes clamped to SOURCE_DATE_EPOCH, no atime/ctime, no
// device numbers, no extended attributes. Directories are written with a
// trailing "/". The output depends on the entries and the epoch only (not on
// umask, locale, time zone, the clock or the user database).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace slate::oci {

enum class TarType : std::uint8_t { File, Directory, Symlink, Hardlink };

struct TarEntry {
    // Relative, no leading "/" or "./", no trailing "/", no "." or ".."
    // segments; never empty (the image root is not an entry).
    std::string path;
    TarType type = TarType::File;
    std::uint32_t mode = 0;    // 07777 bits
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::int64_t mtime = 0;    // clamped to the writer's epoch
    // Symlink: the target as is. Hardlink: the relative path of an entry
    // written earlier in the same stream (readers need it first).
    std::string link_target;
    std::shared_ptr<const std::string> content;  // File only
};

// A sink for bytes (a compressor, a hash, a file).
using ByteSink = std::function<void(std::string_view)>;

// Writes a tar stream to a sink, one entry at a time; file contents are passed
// to the sink without copying. Malformed entries (see TarEntry) throw
// slate::Error (Internal): they are a bug of the caller, not bad input.
class TarWriter {
public:
    // Throws slate::Error (Usage) for a negative epoch.
    TarWriter(ByteSink sink, std::int64_t source_date_epoch);
    void add(const TarEntry& entry);
    // Writes the end-of-archive blocks. Must be called once.
    void finish();
    std::uint64_t bytes_written() const { return m_written; }

private:
    void emit(std::string_view bytes);
    void pad(std::uint64_t size);  // zero bytes up to the next 512-byte block
    ByteSink m_sink;
    std::int64_t m_epoch;
    std::uint64_t m_written = 0;
    bool m_finished = false;
};

}  // namespace slate::oci
