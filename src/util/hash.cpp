#include "slate/util/hash.hpp"

#include <optional>

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "slate/error.hpp"

namespace slate::util {

struct Sha256::Context {
    struct Deleter {
        void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
    };
    std::unique_ptr<EVP_MD_CTX, Deleter> md{EVP_MD_CTX_new()};
};

Sha256::Sha256() : m_ctx(std::make_unique<Context>()) {
    if (!m_ctx->md || EVP_DigestInit_ex(m_ctx->md.get(), EVP_sha256(), nullptr) != 1)
        throw Error(ErrorCode::Internal, "cannot initialise SHA-256 (OpenSSL)");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
    EVP_DigestUpdate(m_ctx->md.get(), data, size);
}

Sha256Digest Sha256::finish() {
    Sha256Digest digest{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(m_ctx->md.get(), digest.data(), &len);
    return digest;
}

std::string Sha256::finish_hex() { return to_hex(finish()); }

std::string to_hex(std::string_view bytes) {
    static constexpr char Digits[] = "0123456789abcdef";
    std::string hex(bytes.size() * 2, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto byte = static_cast<unsigned char>(bytes[i]);
        hex[2 * i] = Digits[byte >> 4];
        hex[2 * i + 1] = Digits[byte & 0xf];
    }
    return hex;
}

std::string to_hex(const Sha256Digest& digest) {
    return to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string bytes(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        int high = nibble(hex[2 * i]), low = nibble(hex[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        bytes[i] = static_cast<char>(high << 4 | low);
    }
    return bytes;
}

std::string sha1_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha1(), nullptr) != 1)
        throw Error(ErrorCode::Internal, "OpenSSL cannot compute a SHA-1");
    static constexpr char Hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < size; ++i) {
        out += Hex[digest[i] >> 4];
        out += Hex[digest[i] & 15];
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 hash;
    hash.update(data);
    return hash.finish_hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(ErrorCode::Io, "cannot read " + path.string() + ": " + std::strerror(errno));
    Sha256 hash;
    std::array<char, 1 << 16> buffer;
    for (;;) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            throw Error(ErrorCode::Io, "cannot read " + path.string() + ": " + std::strerror(err));
        }
        if (n == 0) break;
        hash.update(buffer.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    return hash.finish_hex();
}

bool is_sha256_hex(std::string_view text) {
    if (text.size() != 64) return false;
    for (char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace slate::util
