#include "slate/util/text.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace slate::util {

std::size_t suggestion_distance(std::string_view a, std::string_view b) {
    auto norm = [](char c) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return c == '_' ? '-' : c;
    };
    // Three rolling rows: the swap rule looks two rows back.
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = norm(a[i - 1]) == norm(b[j - 1]) ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && norm(a[i - 1]) == norm(b[j - 2]) && norm(a[i - 2]) == norm(b[j - 1]))
                current[j] = std::min(current[j], before[j - 2] + 1);
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
    if (i >= text.size()) return 0;
    auto byte = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
    auto tail = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) { return byte(k) >= lo && byte(k) <= hi; };
    const unsigned c = byte(0);
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) return tail(1) ? 2 : 0;
    if (c == 0xe0) return tail(1, 0xa0) && tail(2) ? 3 : 0;
    if (c == 0xed) return tail(1, 0x80, 0x9f) && tail(2) ? 3 : 0;
    if (c >= 0xe1 && c <= 0xef) return tail(1) && tail(2) ? 3 : 0;
    if (c == 0xf0) return tail(1, 0x90) && tail(2) && tail(3) ? 4 : 0;
    if (c >= 0xf1 && c <= 0xf3) return tail(1) && tail(2) && tail(3) ? 4 : 0;
    if (c == 0xf4) return tail(1, 0x80, 0x8f) && tail(2) && tail(3) ? 4 : 0;
    return 0;
}

}  // namespace slate::util
