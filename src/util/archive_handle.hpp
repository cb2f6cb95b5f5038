#pragma once
// The one RAII wrapper of each libarchive handle type (a private header of
// libslate: libarchive is not part of slate's public interface).

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace slate::util {

struct ArchiveReadDeleter {
    void operator()(archive* handle) const { archive_read_free(handle); }
};
struct ArchiveWriteDeleter {
    void operator()(archive* handle) const { archive_write_free(handle); }
};
struct ArchiveEntryDeleter {
    void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};

using ArchiveReader = std::unique_ptr<archive, ArchiveReadDeleter>;
using ArchiveWriter = std::unique_ptr<archive, ArchiveWriteDeleter>;
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryDeleter>;

}  // namespace slate::util
