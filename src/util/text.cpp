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

}  // namespace slate::util
