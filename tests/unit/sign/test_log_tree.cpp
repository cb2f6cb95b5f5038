#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "slate/error.hpp"
#include "slate/sign/log_tree.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/util/hash.hpp"

namespace slate::sign {
namespace {

constexpr std::uint64_t MaxLeaves = 64;

std::vector<std::string> make_leaves(std::uint64_t count) {
    std::vector<std::string> leaves;
    for (std::uint64_t i = 0; i < count; ++i) leaves.push_back(leaf_hash("entry " + std::to_string(i)));
    return leaves;
}

// RFC 6962 section 2.1, written as the definition reads: MTH(D[n]) with k the
// largest power of two smaller than n.
std::string naive_root(const std::vector<std::string>& leaves, std::size_t begin, std::size_t end) {
    std::size_t n = end - begin;
    if (n == 0) return *util::from_hex(util::sha256_hex(""));
    if (n == 1) return leaves[begin];
    std::size_t k = 1;
    while (k * 2 < n) k *= 2;
    return node_hash(naive_root(leaves, begin, begin + k), naive_root(leaves, begin + k, end));
}

LogTree make_tree(const std::vector<std::string>& leaves) {
    LogTree tree;
    for (const auto& leaf : leaves) tree.append(leaf);
    return tree;
}

TEST(LogTree, RootsMatchTheDefinitionForEveryPastSize) {
    auto leaves = make_leaves(MaxLeaves);
    LogTree tree;
    EXPECT_EQ(tree.size(), 0u);
    // The empty tree's root is SHA-256 of the empty string.
    EXPECT_EQ(util::to_hex(tree.root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    for (std::uint64_t n = 1; n <= MaxLeaves; ++n) {
        tree.append(leaves[n - 1]);
        ASSERT_EQ(tree.size(), n);
        EXPECT_EQ(tree.root(), naive_root(leaves, 0, n)) << "n=" << n;
    }
    // Past sizes stay answerable after the tree has grown.
    for (std::uint64_t n = 0; n <= MaxLeaves; ++n) EXPECT_EQ(tree.root(n), naive_root(leaves, 0, n)) << "n=" << n;
    for (std::uint64_t i = 0; i < MaxLeaves; ++i) EXPECT_EQ(tree.leaf(i), leaves[i]);
}

TEST(LogTree, KnownRootOfRfc6962TestVector) {
    // The 8 leaves of certificate-transparency-go's merkle test data: the
    // empty leaf, 0x00, 0x10, 0x2021, 0x3031, 0x40414243, 0x5051525354555657,
    // 0x606162636465666768696a6b6c6d6e6f.
    std::vector<std::string> inputs = {"",
                                       std::string("\x00", 1),
                                       "\x10",
                                       "\x20\x21",
                                       "\x30\x31",
                                       "\x40\x41\x42\x43",
                                       "\x50\x51\x52\x53\x54\x55\x56\x57",
                                       "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
    LogTree tree;
    for (const auto& input : inputs) tree.append(leaf_hash(input));
    EXPECT_EQ(util::to_hex(tree.root(1)), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    EXPECT_EQ(util::to_hex(tree.root(2)), "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
    EXPECT_EQ(util::to_hex(tree.root(3)), "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77");
    EXPECT_EQ(util::to_hex(tree.root(8)), "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

TEST(LogTree, EveryInclusionProofVerifies) {
    auto leaves = make_leaves(MaxLeaves);
    LogTree tree = make_tree(leaves);
    for (std::uint64_t size = 1; size <= MaxLeaves; ++size) {
        const std::string root = naive_root(leaves, 0, size);
        for (std::uint64_t index = 0; index < size; ++index) {
            auto proof = tree.inclusion_proof(index, size);
            EXPECT_TRUE(verify_inclusion(index, size, leaves[index], proof, root)) << index << "/" << size;
            // The proof is for this leaf only.
            const std::string& other = leaves[(index + 1) % MaxLeaves];
            EXPECT_FALSE(verify_inclusion(index, size, other, proof, root)) << index << "/" << size;
            if (!proof.empty()) {
                auto tampered = proof;
                tampered.back()[0] = static_cast<char>(tampered.back()[0] ^ 1);
                EXPECT_FALSE(verify_inclusion(index, size, leaves[index], tampered, root));
            }
        }
    }
}

TEST(LogTree, EveryConsistencyProofVerifies) {
    auto leaves = make_leaves(MaxLeaves);
    LogTree tree = make_tree(leaves);
    for (std::uint64_t n = 1; n <= MaxLeaves; ++n) {
        const std::string root2 = naive_root(leaves, 0, n);
        for (std::uint64_t m = 1; m <= n; ++m) {
            const std::string root1 = naive_root(leaves, 0, m);
            auto proof = tree.consistency_proof(m, n);
            EXPECT_TRUE(verify_consistency(m, n, root1, root2, proof)) << m << "->" << n;
            if (m < n) {
                // A different old root, or a tampered proof, must not verify.
                std::string wrong = root1;
                wrong[5] = static_cast<char>(wrong[5] ^ 0x40);
                EXPECT_FALSE(verify_consistency(m, n, wrong, root2, proof)) << m << "->" << n;
                auto tampered = proof;
                tampered.front()[0] = static_cast<char>(tampered.front()[0] ^ 1);
                EXPECT_FALSE(verify_consistency(m, n, root1, root2, tampered)) << m << "->" << n;
            } else {
                EXPECT_TRUE(proof.empty());
            }
        }
    }
}

TEST(LogTree, ProofSizesAreLogarithmic) {
    auto leaves = make_leaves(MaxLeaves);
    LogTree tree = make_tree(leaves);
    EXPECT_EQ(tree.inclusion_proof(0, 64).size(), 6u);
    EXPECT_EQ(tree.inclusion_proof(63, 64).size(), 6u);
    EXPECT_EQ(tree.inclusion_proof(0, 1).size(), 0u);
    // RFC 9162's worked example: the proof from 3 to 7 leaves has 4 hashes.
    EXPECT_EQ(tree.consistency_proof(3, 7).size(), 4u);
    EXPECT_EQ(tree.consistency_proof(4, 7).size(), 1u);
    EXPECT_EQ(tree.consistency_proof(6, 7).size(), 3u);
}

TEST(LogTree, RefusesImpossibleRequests) {
    LogTree tree = make_tree(make_leaves(5));
    EXPECT_THROW(tree.inclusion_proof(5, 5), Error);
    EXPECT_THROW(tree.inclusion_proof(0, 6), Error);
    EXPECT_THROW(tree.consistency_proof(4, 3), Error);
    EXPECT_THROW(tree.consistency_proof(2, 6), Error);
    EXPECT_THROW(tree.root(6), Error);
    EXPECT_THROW(tree.leaf(5), Error);
    EXPECT_THROW(tree.append("short"), Error);
    EXPECT_TRUE(tree.consistency_proof(0, 5).empty());
}

}  // namespace
}  // namespace slate::sign
