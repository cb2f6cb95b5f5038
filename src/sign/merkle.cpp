// RFC 6962 / RFC 9162 Merkle tree hashing and proof verification. The two
// verification algorithms follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step
// by step; the comments name the RFC's variables (fn, sn, r, fr, sr).

#include "slate/sign/merkle.hpp"

#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

constexpr std::size_t HashSize = 32;

std::string finish(util::Sha256& sha) {
    auto digest = sha.finish();
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

bool lsb(std::uint64_t value) { return (value & 1) != 0; }

bool all_hash_sized(const std::vector<std::string>& hashes) {
    for (const auto& hash : hashes)
        if (hash.size() != HashSize) return false;
    return true;
}

}  // namespace

std::string leaf_hash(std::string_view leaf) {
    util::Sha256 sha;
    sha.update(std::string_view("\x00", 1));
    sha.update(leaf);
    return finish(sha);
}

std::string node_hash(std::string_view left, std::string_view right) {
    util::Sha256 sha;
    sha.update(std::string_view("\x01", 1));
    sha.update(left);
    sha.update(right);
    return finish(sha);
}

std::optional<std::string> root_from_inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                     std::string_view leaf_hash,
                                                     const std::vector<std::string>& proof) {
    if (index >= size || leaf_hash.size() != HashSize || !all_hash_sized(proof)) return std::nullopt;
    std::uint64_t fn = index;
    std::uint64_t sn = size - 1;
    std::string r(leaf_hash);
    for (const auto& p : proof) {
        if (sn == 0) return std::nullopt;  // more hashes than the tree has levels
        if (lsb(fn) || fn == sn) {
            r = node_hash(p, r);
            // A right edge: skip the levels where this node has no sibling.
            while (!lsb(fn) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) return std::nullopt;  // too few hashes
    return r;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t size, std::string_view leaf_hash,
                      const std::vector<std::string>& proof, std::string_view root) {
    auto computed = root_from_inclusion_proof(index, size, leaf_hash, proof);
    return computed && *computed == root;
}

bool verify_consistency(std::uint64_t size1, std::uint64_t size2, std::string_view root1, std::string_view root2,
                        const std::vector<std::string>& proof) {
    if (size1 > size2 || !all_hash_sized(proof)) return false;
    if (size1 == size2) return proof.empty() && root1 == root2;
    // Every tree extends the empty tree; there is nothing to prove.
    if (size1 == 0) return proof.empty();
    if (proof.empty()) return false;

    // When size1 is a power of two, the old root is itself a node of the new
    // tree and the proof omits it: put it in front.
    std::vector<std::string> path;
    if ((size1 & (size1 - 1)) == 0) path.emplace_back(root1);
    path.insert(path.end(), proof.begin(), proof.end());

    std::uint64_t fn = size1 - 1;
    std::uint64_t sn = size2 - 1;
    while (lsb(fn)) {
        fn >>= 1;
        sn >>= 1;
    }
    std::string fr = path.front();
    std::string sr = path.front();
    for (std::size_t i = 1; i < path.size(); ++i) {
        const std::string& c = path[i];
        if (sn == 0) return false;
        if (lsb(fn) || fn == sn) {
            fr = node_hash(c, fr);
            sr = node_hash(c, sr);
            while (!lsb(fn) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && fr == root1 && sr == root2;
}

}  // namespace slate::sign
