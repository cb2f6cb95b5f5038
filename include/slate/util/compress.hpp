#pragma once
// Whole-stream decompression of xz, gzip, zstd, bzip2 or uncompressed data
// (libarchive's raw format with every filter enabled).

#include <filesystem>
#include <string>

namespace slate::util {

// Reads `path` and returns its decompressed bytes; the compression is detected
// from the data itself. Throws slate::Error (Parse) naming `display_name` for
// corrupt or truncated input.
std::string decompress_file(const std::filesystem::path& path, const std::string& display_name);

}  // namespace slate::util
