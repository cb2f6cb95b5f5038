#pragma once
// RFC 6962 / RFC 9162 Merkle tree hashing and proof verification, as
// transparency logs (Rekor, Certificate Transparency) use them. Hashes are
// raw 32-byte SHA-256 strings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::sign {

// SHA-256(0x00 || leaf)
std::string leaf_hash(std::string_view leaf);
// SHA-256(0x01 || left || right)
std::string node_hash(std::string_view left, std::string_view right);

// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to for the
// leaf at `index` of a tree of `size` leaves; nullopt when the proof has the
// wrong number of hashes for (index, size) or index >= size.
std::optional<std::string> root_from_inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                     std::string_view leaf_hash,
                                                     const std::vector<std::string>& proof);
bool verify_inclusion(std::uint64_t index, std::uint64_t size, std::string_view leaf_hash,
                      const std::vector<std::string>& proof, std::string_view root);

// RFC 9162 section 2.1.4.2: true when `proof` shows the tree of size1 leaves
// with root1 is a prefix of the tree of size2 leaves with root2.
bool verify_consistency(std::uint64_t size1, std::uint64_t size2, std::string_view root1, std::string_view root2,
                        const std::vector<std::string>& proof);

}  // namespace slate::sign
