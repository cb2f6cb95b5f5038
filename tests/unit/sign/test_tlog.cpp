#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/sign/log_tree.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/sign/note.hpp"
#include "slate/sign/tlog.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/paths.hpp"

namespace slate::sign {
namespace {

namespace fs = std::filesystem;

// A hashedrekord entry that Rekor (sigstage) recorded, with the bundle
// carrying it and the log's key in the trusted root.
struct RekorVector {
    nlohmann::json entry;
    std::string body;
    PublicKey signer;
    PublicKey log_key;
};

RekorVector rekor_vector() {
    const fs::path dir = test::shared_vectors() / "sigstore-conformance" / "managed-key-and-trusted-root";
    auto bundle = nlohmann::json::parse(util::read_file(dir / "bundle.sigstore.json"));
    auto root = nlohmann::json::parse(util::read_file(dir / "trusted_root.json"));
    nlohmann::json entry = bundle["verificationMaterial"]["tlogEntries"][0];
    std::string log_id = *util::base64_decode(entry["logId"]["keyId"].get<std::string>());
    std::optional<PublicKey> log_key;
    for (const auto& tlog : root["tlogs"])
        if (*util::base64_decode(tlog["logId"]["keyId"].get<std::string>()) == log_id)
            log_key = PublicKey::from_der(*util::base64_decode(tlog["publicKey"]["rawBytes"].get<std::string>()));
    if (!log_key) throw std::runtime_error("the vector's trusted root lacks its log");
    return {entry, *util::base64_decode(entry["canonicalizedBody"].get<std::string>()),
            PublicKey::from_pem(util::read_file(dir / "key.pub")), *log_key};
}

TEST(TlogEntries, CanonicalizesAHashedrekordExactlyAsRekorDid) {
    RekorVector vector = rekor_vector();
    auto body = nlohmann::json::parse(vector.body);
    // The proposed entry a client sends: other key order, whitespace, the key file as it is.
    nlohmann::ordered_json proposed = {
        {"spec",
         {{"signature",
           {{"publicKey", {{"content", util::base64_encode(util::read_file(
                                           test::shared_vectors() / "sigstore-conformance" /
                                           "managed-key-and-trusted-root" / "key.pub"))}}},
            {"content", body["spec"]["signature"]["content"]}}},
          {"data", {{"hash", {{"value", body["spec"]["data"]["hash"]["value"]}, {"algorithm", "sha256"}}}}}}},
        {"kind", "hashedrekord"},
        {"apiVersion", "0.0.1"}};
    CanonicalEntry canonical = canonicalize_proposed_entry(proposed.dump(2));
    EXPECT_EQ(canonical.kind, "hashedrekord");
    EXPECT_EQ(canonical.api_version, "0.0.1");
    EXPECT_EQ(canonical.body, vector.body);

    // What the client builds from the raw parts is accepted and canonicalizes the same.
    std::string digest = *util::from_hex(body["spec"]["data"]["hash"]["value"].get<std::string>());
    std::string signature = *util::base64_decode(body["spec"]["signature"]["content"].get<std::string>());
    EXPECT_EQ(canonicalize_proposed_entry(hashedrekord_proposed_entry(digest, signature, vector.signer)).body,
              vector.body);
}

TEST(TlogEntries, SignedEntryTimestampPayloadIsRekors) {
    // Rekor's own SET over this entry verifies over our payload bytes.
    RekorVector vector = rekor_vector();
    std::string payload = signed_entry_timestamp_payload(
        vector.body, std::stoll(vector.entry["integratedTime"].get<std::string>()),
        *util::base64_decode(vector.entry["logId"]["keyId"].get<std::string>()),
        std::stoll(vector.entry["logIndex"].get<std::string>()));
    std::string set = *util::base64_decode(vector.entry["inclusionPromise"]["signedEntryTimestamp"].get<std::string>());
    EXPECT_TRUE(vector.log_key.verify(payload, set));
    payload[payload.size() - 2] ^= 1;  // another log index
    EXPECT_FALSE(vector.log_key.verify(payload, set));
}

TEST(TlogEntries, DsseBodyRecordsHashesAndSortedSignatures) {
    auto alice = PrivateKey::generate_p256(), bob = PrivateKey::generate_p256();
    Envelope envelope = sign_envelope("application/vnd.in-toto+json", R"({"_type":"x"})", alice);
    envelope.signatures.push_back(sign_envelope(envelope.payload_type, envelope.payload, bob).signatures.at(0));
    nlohmann::json proposed = {
        {"apiVersion", "0.0.1"},
        {"kind", "dsse"},
        {"spec",
         {{"proposedContent",
           {{"envelope", envelope_to_string(envelope)},
            {"verifiers",
             {util::base64_encode(bob.public_key().pem()), util::base64_encode(alice.public_key().pem())}}}}}}};
    auto body = nlohmann::json::parse(canonicalize_proposed_entry(proposed.dump()).body);
    EXPECT_EQ(body["spec"]["envelopeHash"]["value"], util::sha256_hex(envelope_to_string(envelope)));
    EXPECT_EQ(body["spec"]["payloadHash"]["value"], util::sha256_hex(envelope.payload));
    ASSERT_EQ(body["spec"]["signatures"].size(), 2u);
    std::string first = body["spec"]["signatures"][0]["signature"], second = body["spec"]["signatures"][1]["signature"];
    EXPECT_LT(first, second);
    for (const auto& signature : body["spec"]["signatures"]) {
        const bool is_alice = signature["signature"] == util::base64_encode(envelope.signatures[0].signature);
        EXPECT_EQ(signature["verifier"], util::base64_encode((is_alice ? alice : bob).public_key().pem()));
    }
    // Only one verifier given: bob's signature has no key, the entry is refused.
    proposed["spec"]["proposedContent"]["verifiers"] = {util::base64_encode(alice.public_key().pem())};
    try {
        canonicalize_proposed_entry(proposed.dump());
        ADD_FAILURE() << "accepted a signature without its key";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Usage);
        EXPECT_NE(e.message().find("signatures[1]"), std::string::npos) << e.message();
    }
}

TEST(TlogEntries, RekorEntryJsonRoundTrips) {
    TransparencyLogEntry entry;
    entry.log_index = 7;
    entry.log_id = std::string(32, 'L');
    entry.kind = "hashedrekord";
    entry.kind_version = "0.0.1";
    entry.integrated_time = 1700000000;
    entry.canonicalized_body = R"({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}})";
    entry.signed_entry_timestamp = "set-bytes";
    entry.inclusion_proof = InclusionProof{7, std::string(32, 'R'), 9, {std::string(32, 'a'), std::string(32, 'b')},
                                           "origin\n9\nroot\n\n— origin sig\n"};
    auto json = rekor_entry_to_json(entry);
    ASSERT_EQ(json.size(), 1u);
    EXPECT_EQ(json.begin().key(), util::to_hex(leaf_hash(entry.canonicalized_body)));
    EXPECT_EQ(json.begin().value()["verification"]["inclusionProof"]["hashes"][1], util::to_hex(std::string(32, 'b')));
    TransparencyLogEntry back = rekor_entry_from_json(nlohmann::json::parse(json.dump()));
    EXPECT_EQ(back.log_index, 7);
    EXPECT_EQ(back.log_id, entry.log_id);
    EXPECT_EQ(back.kind, "hashedrekord");
    EXPECT_EQ(back.kind_version, "0.0.1");
    EXPECT_EQ(back.integrated_time, entry.integrated_time);
    EXPECT_EQ(back.canonicalized_body, entry.canonicalized_body);
    EXPECT_EQ(back.signed_entry_timestamp, entry.signed_entry_timestamp);
    ASSERT_TRUE(back.inclusion_proof);
    EXPECT_EQ(back.inclusion_proof->hashes, entry.inclusion_proof->hashes);
    EXPECT_EQ(back.inclusion_proof->checkpoint, entry.inclusion_proof->checkpoint);
    EXPECT_EQ(back.inclusion_proof->tree_size, 9);

    // A UUID that is not the body's leaf hash: the answer is not trusted.
    nlohmann::json wrong = {{std::string(64, '0'), nlohmann::json::parse(json.dump()).begin().value()}};
    EXPECT_THROW(rekor_entry_from_json(wrong), Error);
}

TEST(TlogStore, WritesPublishesAndReopens) {
    test::TempDir dir;
    std::vector<TlogRecord> seen;
    {
        TlogStore store(dir.path(), [&](std::uint64_t, const TlogRecord& r) { seen.push_back(r); });
        EXPECT_EQ(store.size(), 0u);
        EXPECT_EQ(store.write({{"first", 100}, {"second", 200}}), 0u);
        EXPECT_EQ(store.size(), 0u) << "not visible before publish";
        store.publish();
        EXPECT_EQ(store.size(), 2u);
        EXPECT_EQ(store.write({{"third", 300}}), 2u);
        store.publish();
        EXPECT_EQ(store.read(1).body, "second");
        EXPECT_EQ(store.read(2).integrated_time, 300);
        EXPECT_THROW(store.read(3), Error);
        EXPECT_THROW(store.write({{"", 1}}), Error);

        // One process per directory.
        try {
            TlogStore second(dir.path(), [](std::uint64_t, const TlogRecord&) {});
            ADD_FAILURE() << "two stores opened one directory";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::Usage);
            EXPECT_NE(e.message().find("in use"), std::string::npos);
        }
    }
    EXPECT_TRUE(seen.empty());
    TlogStore reopened(dir.path(), [&](std::uint64_t index, const TlogRecord& r) {
        EXPECT_EQ(index, seen.size());
        seen.push_back(r);
    });
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].body, "first");
    EXPECT_EQ(seen[2].integrated_time, 300);
    EXPECT_EQ(reopened.truncated_bytes(), 0u);
}

TEST(TransparencyLog, AppendsProvesAndRebuildsFromDisk) {
    test::TempDir dir;
    auto log_key = PrivateKey::generate_p256();
    auto signer = PrivateKey::generate_p256();
    std::int64_t clock = 1'700'000'000;
    auto proposal = [&](const std::string& artifact) {
        return hashedrekord_proposed_entry(digest(HashAlgorithm::Sha256, artifact), signer.sign(artifact),
                                           signer.public_key());
    };
    const std::string once = proposal("once");
    std::string root_at_two;
    {
        TransparencyLog log(dir.path(), log_key, TlogOptions{"", [&] { return clock++; }});
        EXPECT_EQ(log.origin(), "slate-tlog - " + util::sha256_hex(log_key.public_key().der()).substr(0, 16));
        EXPECT_EQ(log.key_name(), "slate-tlog");
        for (int i = 0; i < 3; ++i) {
            auto submission = log.submit(proposal("artifact " + std::to_string(i)));
            EXPECT_TRUE(submission.created);
            EXPECT_EQ(submission.entry.log_index, i);
            EXPECT_EQ(submission.entry.integrated_time, 1'700'000'000 + i);
            ASSERT_TRUE(submission.entry.inclusion_proof);
            EXPECT_EQ(submission.entry.inclusion_proof->tree_size, i + 1);
            if (i == 1) root_at_two = submission.entry.inclusion_proof->root_hash;
        }
        EXPECT_TRUE(log.submit(once).created);
        auto again = log.submit(once);
        EXPECT_FALSE(again.created);
        EXPECT_EQ(again.entry.log_index, 3);
        EXPECT_EQ(log.size(), 4u);

        LogInfo info = log.info();
        Note note = parse_note(info.signed_tree_head);
        EXPECT_TRUE(verify_note(note, "slate-tlog", log_key.public_key()));
        EXPECT_EQ(parse_checkpoint(note.text).tree_size, 4u);
        EXPECT_EQ(parse_checkpoint(note.text).root_hash, info.root_hash);
        ConsistencyProof proof = log.consistency_proof(2, 4);
        EXPECT_EQ(proof.root_hash, info.root_hash);
        EXPECT_TRUE(verify_consistency(2, 4, root_at_two, info.root_hash, proof.hashes));
        EXPECT_THROW(log.consistency_proof(0, 4), Error);
        EXPECT_THROW(log.consistency_proof(3, 5), Error);
        EXPECT_THROW(log.entry(4), Error);
        EXPECT_THROW(log.submit(R"({"kind":"hashedrekord"})"), Error);
        EXPECT_EQ(log.size(), 4u);
    }
    {
        // Reopened: the same tree and entries, and duplicates still known.
        TransparencyLog log(dir.path(), log_key);
        EXPECT_EQ(log.size(), 4u);
        EXPECT_EQ(log.entry(2).integrated_time, 1'700'000'002);
        EXPECT_FALSE(log.submit(once).created);
        LogTree tree;
        for (std::uint64_t i = 0; i < 4; ++i) tree.append(leaf_hash(log.entry(i).canonicalized_body));
        EXPECT_EQ(log.info().root_hash, tree.root());
        EXPECT_EQ(tree.root(2), root_at_two);
    }
    // The directory belongs to its key and origin.
    try {
        TransparencyLog other(dir.path(), PrivateKey::generate_p256());
        ADD_FAILURE() << "another key opened the log";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Usage);
        EXPECT_NE(e.message().find("another key"), std::string::npos) << e.message();
    }
    EXPECT_THROW(TransparencyLog(dir.path(), log_key, TlogOptions{"elsewhere - 1", {}}), Error);
    EXPECT_THROW(TransparencyLog(dir.path() / "new", log_key, TlogOptions{"a+b - 1", {}}), Error);
}

TEST(TransparencyLog, ConcurrentSubmissionsGetDenseIndices) {
    test::TempDir dir;
    TransparencyLog log(dir.path(), PrivateKey::generate_p256());
    auto signer = PrivateKey::generate_p256();
    // Every thread also submits this same entry: it is recorded once.
    const std::string shared = hashedrekord_proposed_entry(digest(HashAlgorithm::Sha256, "shared"),
                                                           signer.sign("shared"), signer.public_key());
    constexpr int Threads = 8, Each = 20;
    std::vector<std::vector<TransparencyLog::Submission>> results(Threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < Each; ++i) {
                std::string artifact = fmt::format("{} {}", t, i);
                results[t].push_back(log.submit(
                    i == Each / 2 ? shared
                                  : hashedrekord_proposed_entry(digest(HashAlgorithm::Sha256, artifact),
                                                                signer.sign(artifact), signer.public_key())));
            }
        });
    for (auto& thread : threads) thread.join();
    std::set<std::int64_t> created, shared_indices;
    for (int t = 0; t < Threads; ++t)
        for (int i = 0; i < Each; ++i) {
            const auto& result = results[t][i];
            if (i == Each / 2) shared_indices.insert(result.entry.log_index);
            if (result.created) {
                EXPECT_TRUE(created.insert(result.entry.log_index).second);
            }
            // Each answer's proof holds for the tree it was made at.
            const auto& proof = *result.entry.inclusion_proof;
            EXPECT_TRUE(verify_inclusion(static_cast<std::uint64_t>(proof.log_index),
                                         static_cast<std::uint64_t>(proof.tree_size),
                                         leaf_hash(result.entry.canonicalized_body), proof.hashes, proof.root_hash));
        }
    EXPECT_EQ(shared_indices.size(), 1u);
    EXPECT_EQ(created.size(), static_cast<std::size_t>(Threads * (Each - 1) + 1));
    EXPECT_EQ(*created.begin(), 0);
    EXPECT_EQ(*created.rbegin(), static_cast<std::int64_t>(created.size()) - 1);
    EXPECT_EQ(log.size(), created.size());
}

}  // namespace
}  // namespace slate::sign
