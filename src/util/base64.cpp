#include "slate/util/base64.hpp"

#include <algorithm>

#include <openssl/evp.h>

namespace slate::util {

std::string base64_encode(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');  // + the NUL EVP_EncodeBlock writes
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string clean;
    clean.reserve(text.size() + 2);
    for (char c : text)
        if (c != '\n' && c != '\r') clean.push_back(c);
    // Padding only at the end, at most two; restore it when it was left out.
    std::size_t data_end = clean.find('=');
    std::size_t padding = data_end == std::string::npos ? 0 : clean.size() - data_end;
    if (padding > 2 || (padding && clean.find_first_not_of('=', data_end) != std::string::npos)) return std::nullopt;
    if (padding == 0) {
        if (clean.size() % 4 == 1) return std::nullopt;
        padding = (4 - clean.size() % 4) % 4;
        clean.append(padding, '=');
    }
    if (clean.size() % 4 != 0) return std::nullopt;
    bool alphabet = std::all_of(clean.begin(), clean.end() - static_cast<std::ptrdiff_t>(padding), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    });
    if (!alphabet) return std::nullopt;
    if (clean.empty()) return std::string{};
    // EVP_DecodeBlock decodes whole quanta and counts padding as zero bytes.
    std::string out(clean.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
    if (n < 0) return std::nullopt;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

}  // namespace slate::util
