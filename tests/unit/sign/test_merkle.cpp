// RFC 6962 / 9162 Merkle proofs: the Certificate Transparency reference
// vectors (the 8-leaf tree of RFC 6962's reference implementation), every
// proof of small trees built by hand with the RFC's recursive definitions,
// and a real Rekor inclusion proof from the conformance vectors.

#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "slate/sign/merkle.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/paths.hpp"

namespace slate::sign {
namespace {

std::string unhex(std::string_view hex) { return util::from_hex(hex).value(); }

// The leaves of the CT reference tree.
std::vector<std::string> reference_leaves() {
    std::vector<std::string> leaves = {"", std::string(1, '\0'), "\x10", "\x20\x21", "\x30\x31", "\x40\x41\x42\x43"};
    std::string six, seven;
    for (int c = 0x50; c < 0x58; ++c) six += static_cast<char>(c);
    for (int c = 0x60; c < 0x70; ++c) seven += static_cast<char>(c);
    leaves.push_back(six);
    leaves.push_back(seven);
    return leaves;
}

std::vector<std::string> leaf_hashes(const std::vector<std::string>& leaves) {
    std::vector<std::string> hashes;
    for (const auto& leaf : leaves) hashes.push_back(leaf_hash(leaf));
    return hashes;
}

// RFC 9162 2.1.1: the largest power of two smaller than n.
std::size_t split(std::size_t n) {
    std::size_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}

// MTH over leaf hashes [begin, end).
std::string mth(const std::vector<std::string>& hashes, std::size_t begin, std::size_t end) {
    if (end - begin == 1) return hashes[begin];
    std::size_t k = split(end - begin);
    return node_hash(mth(hashes, begin, begin + k), mth(hashes, begin + k, end));
}

// RFC 9162 2.1.3.1: PATH(m, D[begin:end]).
std::vector<std::string> path(std::size_t m, const std::vector<std::string>& hashes, std::size_t begin, std::size_t end) {
    if (end - begin == 1) return {};
    std::size_t k = split(end - begin);
    std::vector<std::string> out;
    if (m < k) {
        out = path(m, hashes, begin, begin + k);
        out.push_back(mth(hashes, begin + k, end));
    } else {
        out = path(m - k, hashes, begin + k, end);
        out.push_back(mth(hashes, begin, begin + k));
    }
    return out;
}

// RFC 9162 2.1.4.1: SUBPROOF(m, D[begin:end], b).
std::vector<std::string> subproof(std::size_t m, const std::vector<std::string>& hashes, std::size_t begin, std::size_t end,
                                  bool b) {
    const std::size_t n = end - begin;
    if (m == n) return b ? std::vector<std::string>{} : std::vector<std::string>{mth(hashes, begin, end)};
    std::size_t k = split(n);
    std::vector<std::string> out;
    if (m <= k) {
        out = subproof(m, hashes, begin, begin + k, b);
        out.push_back(mth(hashes, begin + k, end));
    } else {
        out = subproof(m - k, hashes, begin + k, end, false);
        out.push_back(mth(hashes, begin, begin + k));
    }
    return out;
}

TEST(Merkle, HashesAreDomainSeparated) {
    EXPECT_EQ(util::to_hex(leaf_hash("")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    EXPECT_NE(leaf_hash("ab"), node_hash("a", "b"));
}

TEST(Merkle, ReferenceTreeRoots) {
    const auto hashes = leaf_hashes(reference_leaves());
    const char* roots[] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    };
    for (std::size_t size = 1; size <= 8; ++size) EXPECT_EQ(util::to_hex(mth(hashes, 0, size)), roots[size - 1]) << size;
}

TEST(Merkle, ReferenceInclusionProofs) {
    const auto hashes = leaf_hashes(reference_leaves());
    const std::string root8 = unhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
    const std::vector<std::string> leaf0 = {unhex("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                                            unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                                            unhex("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
    EXPECT_TRUE(verify_inclusion(0, 8, hashes[0], leaf0, root8));
    const std::vector<std::string> leaf5 = {unhex("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                                            unhex("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                                            unhex("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")};
    EXPECT_TRUE(verify_inclusion(5, 8, hashes[5], leaf5, root8));
    // The same proof for another leaf, index, size or root fails.
    EXPECT_FALSE(verify_inclusion(5, 8, hashes[4], leaf5, root8));
    EXPECT_FALSE(verify_inclusion(4, 8, hashes[5], leaf5, root8));
    EXPECT_FALSE(verify_inclusion(5, 6, hashes[5], leaf5, root8));
    EXPECT_FALSE(verify_inclusion(5, 8, hashes[5], leaf5, hashes[0]));
    EXPECT_FALSE(verify_inclusion(8, 8, hashes[5], leaf5, root8));  // index past the end
}

TEST(Merkle, ReferenceConsistencyProofs) {
    const auto hashes = leaf_hashes(reference_leaves());
    auto root = [&](std::size_t size) { return mth(hashes, 0, size); };
    const std::vector<std::string> one_eight = {unhex("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                                                unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                                                unhex("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
    EXPECT_TRUE(verify_consistency(1, 8, root(1), root(8), one_eight));
    const std::vector<std::string> six_eight = {unhex("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                                                unhex("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                                                unhex("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")};
    EXPECT_TRUE(verify_consistency(6, 8, root(6), root(8), six_eight));
    const std::vector<std::string> two_five = {unhex("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                                               unhex("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")};
    EXPECT_TRUE(verify_consistency(2, 5, root(2), root(5), two_five));
    EXPECT_FALSE(verify_consistency(2, 5, root(3), root(5), two_five));
    EXPECT_FALSE(verify_consistency(2, 5, root(2), root(6), two_five));
    EXPECT_FALSE(verify_consistency(5, 2, root(5), root(2), two_five));
}

TEST(Merkle, EdgeSizes) {
    const auto hashes = leaf_hashes(reference_leaves());
    // A one-leaf tree: the leaf is the root, the proof empty.
    EXPECT_TRUE(verify_inclusion(0, 1, hashes[0], {}, hashes[0]));
    EXPECT_FALSE(verify_inclusion(0, 0, hashes[0], {}, hashes[0]));
    // Equal sizes: consistent only with an empty proof and equal roots.
    EXPECT_TRUE(verify_consistency(3, 3, mth(hashes, 0, 3), mth(hashes, 0, 3), {}));
    EXPECT_FALSE(verify_consistency(3, 3, mth(hashes, 0, 3), mth(hashes, 0, 4), {}));
    EXPECT_FALSE(verify_consistency(3, 3, mth(hashes, 0, 3), mth(hashes, 0, 3), {hashes[0]}));
    // The empty tree is a prefix of every tree.
    EXPECT_TRUE(verify_consistency(0, 5, "", mth(hashes, 0, 5), {}));
}

// Every (index, size) and (m, n) of trees up to 33 leaves, against proofs
// built with the RFC's recursive definitions; and each proof with one bit
// flipped, one hash missing or one too many, fails.
TEST(Merkle, AllProofsOfSmallTrees) {
    std::vector<std::string> hashes;
    for (int i = 0; i < 33; ++i) hashes.push_back(leaf_hash("leaf " + std::to_string(i)));
    for (std::size_t size = 1; size <= hashes.size(); ++size) {
        const std::string root = mth(hashes, 0, size);
        for (std::size_t index = 0; index < size; ++index) {
            auto proof = path(index, hashes, 0, size);
            ASSERT_TRUE(verify_inclusion(index, size, hashes[index], proof, root)) << index << "/" << size;
            EXPECT_EQ(root_from_inclusion_proof(index, size, hashes[index], proof), root);
            if (!proof.empty()) {
                auto flipped = proof;
                flipped.back()[7] ^= 0x01;
                EXPECT_FALSE(verify_inclusion(index, size, hashes[index], flipped, root));
                auto shorter = proof;
                shorter.pop_back();
                EXPECT_FALSE(root_from_inclusion_proof(index, size, hashes[index], shorter).has_value());
            }
            auto longer = proof;
            longer.push_back(hashes[0]);
            EXPECT_FALSE(root_from_inclusion_proof(index, size, hashes[index], longer).has_value());
        }
        for (std::size_t old_size = 1; old_size < size; ++old_size) {
            auto proof = subproof(old_size, hashes, 0, size, true);
            const std::string old_root = mth(hashes, 0, old_size);
            ASSERT_TRUE(verify_consistency(old_size, size, old_root, root, proof)) << old_size << "->" << size;
            auto flipped = proof;
            flipped.front()[0] ^= 0x80;
            EXPECT_FALSE(verify_consistency(old_size, size, old_root, root, flipped));
            auto shorter = proof;
            shorter.pop_back();
            EXPECT_FALSE(verify_consistency(old_size, size, old_root, root, shorter));
        }
    }
}

TEST(Merkle, RejectsHashesOfTheWrongLength) {
    const std::string leaf = leaf_hash("x");
    EXPECT_FALSE(root_from_inclusion_proof(0, 2, leaf, {"short"}).has_value());
    EXPECT_FALSE(root_from_inclusion_proof(0, 1, "short", {}).has_value());
}

// A real Rekor entry: its canonicalized body hashes into the tree whose root
// the bundle's checkpoint signs.
TEST(Merkle, RekorInclusionProofFromTheConformanceSuite) {
    auto bundle = nlohmann::json::parse(
        util::read_file(test::shared_vectors() / "sigstore-conformance" / "happy-path-v0.3" / "bundle.sigstore.json"));
    const auto& entry = bundle["verificationMaterial"]["tlogEntries"][0];
    const auto& proof = entry["inclusionProof"];
    std::vector<std::string> hashes;
    for (const auto& hash : proof["hashes"]) hashes.push_back(*util::base64_decode(hash.get<std::string>()));
    const std::string body = *util::base64_decode(entry["canonicalizedBody"].get<std::string>());
    const std::string root = *util::base64_decode(proof["rootHash"].get<std::string>());
    const auto index = std::stoull(proof["logIndex"].get<std::string>());
    const auto size = std::stoull(proof["treeSize"].get<std::string>());
    EXPECT_TRUE(verify_inclusion(index, size, leaf_hash(body), hashes, root));
    EXPECT_FALSE(verify_inclusion(index, size, leaf_hash(body + " "), hashes, root));
    EXPECT_FALSE(verify_inclusion(index - 1, size, leaf_hash(body), hashes, root));
}

}  // namespace
}  // namespace slate::sign
