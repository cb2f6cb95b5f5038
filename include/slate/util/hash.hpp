#pragma once
// SHA-256 over memory, streams and files (OpenSSL EVP).

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace slate::util {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Incremental SHA-256.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;

    void update(const void* data, std::size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    Sha256Digest finish();
    std::string finish_hex();

private:
    struct Context;
    std::unique_ptr<Context> m_ctx;
};

std::string to_hex(const Sha256Digest& digest);
// Lowercase hex of any bytes, and back (either case; nullopt for an odd
// length or a non-hex character).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);
std::string sha256_hex(std::string_view data);
// Throws slate::Error (Io) when the file cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);
// Hex SHA-1, for formats that still require it (SPDX file checksums). Never
// used to decide whether content can be trusted.
std::string sha1_hex(std::string_view data);
// True when text is 64 lowercase hex digits.
bool is_sha256_hex(std::string_view text);

}  // namespace slate::util
