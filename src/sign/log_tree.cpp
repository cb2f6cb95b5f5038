#include "slate/sign/log_tree.hpp"

#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

// The largest power of two strictly smaller than n (n >= 2).
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

std::string_view as_view(const std::array<unsigned char, 32>& hash) {
    return {reinterpret_cast<const char*>(hash.data()), hash.size()};
}

std::array<unsigned char, 32> to_hash(std::string_view bytes) {
    std::array<unsigned char, 32> out{};
    std::memcpy(out.data(), bytes.data(), out.size());
    return out;
}

}  // namespace

void LogTree::append(std::string_view leaf_hash) {
    if (leaf_hash.size() != 32)
        throw Error(ErrorCode::Internal, fmt::format("a leaf hash must be 32 bytes, not {}", leaf_hash.size()));
    if (m_levels.empty()) m_levels.emplace_back();
    m_levels[0].push_back(to_hash(leaf_hash));
    // Each level whose length became even has completed a subtree one level up.
    for (std::size_t level = 0; m_levels[level].size() % 2 == 0; ++level) {
        const auto& row = m_levels[level];
        Hash parent = to_hash(node_hash(as_view(row[row.size() - 2]), as_view(row.back())));
        if (level + 1 == m_levels.size()) m_levels.emplace_back();
        m_levels[level + 1].push_back(parent);
    }
}

std::string LogTree::leaf(std::uint64_t index) const {
    if (index >= size())
        throw Error(ErrorCode::Usage, fmt::format("no leaf {} in a tree of {} leaves", index, size()));
    return std::string(as_view(m_levels[0][index]));
}

LogTree::Hash LogTree::subtree(std::uint64_t start, std::uint64_t count) const {
    // A complete, aligned subtree is stored; anything else splits as RFC 6962
    // does: the largest power of two smaller than count goes left.
    if (std::has_single_bit(count) && start % count == 0) {
        auto level = static_cast<std::size_t>(std::countr_zero(count));
        return m_levels[level][start >> level];
    }
    std::uint64_t k = split_point(count);
    return to_hash(node_hash(as_view(subtree(start, k)), as_view(subtree(start + k, count - k))));
}

std::string LogTree::root(std::uint64_t tree_size) const {
    if (tree_size > size())
        throw Error(ErrorCode::Usage, fmt::format("no tree of {} leaves: the log has {}", tree_size, size()));
    if (tree_size == 0) {
        auto empty = util::from_hex(util::sha256_hex(""));
        return *empty;
    }
    return std::string(as_view(subtree(0, tree_size)));
}

// PATH(m, D[start:start+count]) of RFC 6962 section 2.1.1.
void LogTree::path(std::uint64_t index, std::uint64_t start, std::uint64_t count,
                   std::vector<std::string>& out) const {
    if (count <= 1) return;
    std::uint64_t k = split_point(count);
    if (index < k) {
        path(index, start, k, out);
        out.emplace_back(as_view(subtree(start + k, count - k)));
    } else {
        path(index - k, start + k, count - k, out);
        out.emplace_back(as_view(subtree(start, k)));
    }
}

std::vector<std::string> LogTree::inclusion_proof(std::uint64_t index, std::uint64_t tree_size) const {
    if (tree_size > size() || index >= tree_size)
        throw Error(ErrorCode::Usage, fmt::format("no inclusion proof for leaf {} in a tree of {} leaves (the log has {})",
                                                  index, tree_size, size()));
    std::vector<std::string> out;
    path(index, 0, tree_size, out);
    return out;
}

// SUBPROOF(m, D[start:start+count], whole) of RFC 6962 section 2.1.2.
void LogTree::subproof(std::uint64_t m, std::uint64_t start, std::uint64_t count, bool whole,
                       std::vector<std::string>& out) const {
    if (m == count) {
        if (!whole) out.emplace_back(as_view(subtree(start, count)));
        return;
    }
    std::uint64_t k = split_point(count);
    if (m <= k) {
        subproof(m, start, k, whole, out);
        out.emplace_back(as_view(subtree(start + k, count - k)));
    } else {
        subproof(m - k, start + k, count - k, false, out);
        out.emplace_back(as_view(subtree(start, k)));
    }
}

std::vector<std::string> LogTree::consistency_proof(std::uint64_t size1, std::uint64_t size2) const {
    if (size1 > size2 || size2 > size())
        throw Error(ErrorCode::Usage, fmt::format("no consistency proof from {} to {} leaves (the log has {})", size1,
                                                  size2, size()));
    std::vector<std::string> out;
    if (size1 == 0 || size1 == size2) return out;
    subproof(size1, 0, size2, true, out);
    return out;
}

}  // namespace slate::sign
