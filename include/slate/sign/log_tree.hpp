#pragma once
// An append-only RFC 6962 / RFC 9162 Merkle tree held in memory, over leaf
// hashes (merkle.hpp's leaf_hash of each entry). It keeps every complete
// subtree's hash, level by level, so that
//   - append is O(log n) (amortised O(1) hashes),
//   - root(size) and the proofs for any past tree size need O(log n) hashes,
// at the cost of about two hashes (64 bytes) per leaf. Not thread-safe: the
// owner serialises writers and readers.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slate::sign {

class LogTree {
public:
    // Appends a leaf hash (32 raw bytes). Throws slate::Error (Internal) for
    // another length.
    void append(std::string_view leaf_hash);
    std::uint64_t size() const { return m_levels.empty() ? 0 : m_levels[0].size(); }
    // The leaf hash at `index` (< size()).
    std::string leaf(std::uint64_t index) const;

    // MTH of the first `size` leaves (<= size()); the SHA-256 of the empty
    // string for 0, as RFC 6962 defines it.
    std::string root(std::uint64_t size) const;
    std::string root() const { return root(size()); }

    // RFC 9162 section 2.1.3.1: the audit path of leaf `index` in the tree of
    // the first `size` leaves, leaf to root. Throws slate::Error (Usage) unless
    // index < size <= size().
    std::vector<std::string> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
    // RFC 9162 section 2.1.4.1: proof that the tree of `size1` leaves is a
    // prefix of the tree of `size2` leaves. Empty when size1 == size2 or
    // size1 == 0. Throws slate::Error (Usage) unless size1 <= size2 <= size().
    std::vector<std::string> consistency_proof(std::uint64_t size1, std::uint64_t size2) const;

private:
    using Hash = std::array<unsigned char, 32>;
    // MTH of leaves [start, start + count).
    Hash subtree(std::uint64_t start, std::uint64_t count) const;
    void path(std::uint64_t index, std::uint64_t start, std::uint64_t count, std::vector<std::string>& out) const;
    void subproof(std::uint64_t m, std::uint64_t start, std::uint64_t count, bool whole,
                  std::vector<std::string>& out) const;

    // m_levels[k][i]: the hash of the complete subtree of 2^k leaves starting
    // at leaf i * 2^k. Level 0 holds the leaves.
    std::vector<std::vector<Hash>> m_levels;
};

}  // namespace slate::sign
