#include "slate/util/compress.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "slate/error.hpp"
#include "util/archive_handle.hpp"

namespace slate::util {

std::string decompress_file(const std::filesystem::path& path, const std::string& display_name) {
    ArchiveReader reader(archive_read_new());
    if (!reader) throw Error(ErrorCode::Internal, "libarchive: out of memory");
    archive_read_support_filter_all(reader.get());
    archive_read_support_format_raw(reader.get());
    auto fail = [&](const char* what) {
        const char* why = archive_error_string(reader.get());
        return Error(ErrorCode::Parse, std::string("cannot decompress ") + display_name + ": " + what +
                                           (why ? std::string(": ") + why : std::string()));
    };
    if (archive_read_open_filename(reader.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) throw fail("open");
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) return {};
    if (rc != ARCHIVE_OK) throw fail("read");
    std::string out;
    char buffer[1 << 16];
    for (;;) {
        la_ssize_t n = archive_read_data(reader.get(), buffer, sizeof buffer);
        if (n < 0) throw fail("data");
        if (n == 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace slate::util
