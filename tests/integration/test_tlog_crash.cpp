// The transparency log's durability: SIGKILL at random moments under
// concurrent load never loses or tears an acknowledged entry; a torn tail
// left on disk is cut back to the last whole record; a damaged record in
// the middle stops the server with a clear error instead of being skipped.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/sign/log_tree.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/sign/note.hpp"
#include "slate/util/fs.hpp"
#include "support/paths.hpp"
#include "test_tlog_support.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;

struct Acknowledged {
    std::map<std::int64_t, std::string> bodies;        // log index -> canonical body
    std::map<std::uint64_t, std::string> checkpoints;  // tree size -> root, from signed checkpoints
};

void record(Acknowledged& seen, const sign::TransparencyLogEntry& entry, const sign::PublicKey& log_key) {
    seen.bodies[entry.log_index] = entry.canonicalized_body;
    sign::Note note = sign::parse_note(entry.inclusion_proof->checkpoint);
    ASSERT_TRUE(sign::verify_note(note, "slate-tlog", log_key));
    sign::Checkpoint checkpoint = sign::parse_checkpoint(note.text);
    seen.checkpoints[checkpoint.tree_size] = checkpoint.root_hash;
}

// Everything acknowledged is there, unchanged, at its index; the log is
// consistent with every checkpoint it signed; its root is the root of the
// bodies it serves (no torn or missing entry anywhere).
void expect_log_holds(LogConnection& conn, const Acknowledged& seen, const sign::PublicKey& log_key) {
    sign::LogInfo head = conn.client.log_info();
    if (!seen.bodies.empty()) {
        ASSERT_GT(head.tree_size, static_cast<std::uint64_t>(seen.bodies.rbegin()->first));
    }
    for (const auto& [index, body] : seen.bodies)
        EXPECT_EQ(conn.client.entry(static_cast<std::uint64_t>(index)).canonicalized_body, body) << "entry " << index;
    for (const auto& [size, root] : seen.checkpoints) {
        ASSERT_LE(size, head.tree_size);
        if (size == head.tree_size) {
            EXPECT_EQ(root, head.root_hash);
            continue;
        }
        sign::ConsistencyProof proof = conn.client.consistency_proof(size, head.tree_size);
        EXPECT_TRUE(sign::verify_consistency(size, head.tree_size, root, head.root_hash, proof.hashes))
            << size << " -> " << head.tree_size;
    }
    sign::LogTree tree;
    for (std::uint64_t i = 0; i < head.tree_size; ++i) {
        sign::TransparencyLogEntry entry = conn.client.entry(i);
        EXPECT_EQ(entry.log_index, static_cast<std::int64_t>(i));
        tree.append(sign::leaf_hash(entry.canonicalized_body));
    }
    EXPECT_EQ(tree.root(), head.root_hash);
    sign::Note note = sign::parse_note(head.signed_tree_head);
    EXPECT_TRUE(sign::verify_note(note, "slate-tlog", log_key));
}

TEST(TlogCrash, SurvivesKillNineUnderConcurrentLoad) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    const sign::PublicKey log_pub = log_key.key.public_key();
    auto signer = sign::PrivateKey::generate_p256();
    const sign::PublicKey signer_pub = signer.public_key();
    const fs::path data = dir.path() / "data";
    std::mt19937 random(std::random_device{}());
    Acknowledged seen;

    constexpr int Rounds = 10, Submitters = 4;
    for (int round = 0; round < Rounds; ++round) {
        TlogProcess server(data, log_key.key_path);
        LogConnection check(server.url());
        expect_log_holds(check, seen, log_pub);
        if (HasFatalFailure()) return;

        std::mutex mutex;
        std::atomic<bool> stop{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < Submitters; ++t)
            threads.emplace_back([&, t] {
                LogConnection conn(server.url());
                for (int i = 0; !stop; ++i) {
                    const std::string artifact = fmt::format("round {} thread {} artifact {}", round, t, i);
                    try {
                        std::string sha256 = sign::digest(sign::HashAlgorithm::Sha256, artifact);
                        auto entry = conn.client.submit_hashedrekord(sha256, signer.sign(artifact), signer_pub);
                        std::lock_guard lock(mutex);
                        record(seen, entry, log_pub);
                    } catch (const Error&) {
                        return;  // the server was killed under this request, or before it
                    }
                }
            });
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 250)(random)));
        server.kill_now();
        stop = true;
        for (auto& thread : threads) thread.join();
        EXPECT_EQ(server.exit_code(), 128 + SIGKILL);
    }
    EXPECT_GT(seen.bodies.size(), static_cast<std::size_t>(Rounds));

    // After the last crash: everything still there, and the log takes new entries.
    TlogProcess server(data, log_key.key_path);
    LogConnection conn(server.url());
    expect_log_holds(conn, seen, log_pub);
    const std::uint64_t size = conn.client.log_info().tree_size;
    std::string sha256 = sign::digest(sign::HashAlgorithm::Sha256, "after the crashes");
    auto entry = conn.client.submit_hashedrekord(sha256, signer.sign("after the crashes"), signer_pub);
    EXPECT_EQ(entry.log_index, static_cast<std::int64_t>(size));
    record(seen, entry, log_pub);
    expect_log_holds(conn, seen, log_pub);
}

// Offsets of the records in entries.log (format in slate/sign/tlog.hpp:
// "SLTR", u32 length, i64 time, body, 32-byte SHA-256).
std::vector<std::uint64_t> record_offsets(const fs::path& file) {
    std::string bytes = util::read_file(file);
    std::vector<std::uint64_t> offsets;
    for (std::uint64_t at = 0; at + 16 <= bytes.size();) {
        offsets.push_back(at);
        std::uint32_t length = 0;
        for (int i = 4; i < 8; ++i) length = (length << 8) | static_cast<unsigned char>(bytes[at + i]);
        at += 16 + length + 32;
    }
    return offsets;
}

TEST(TlogCrash, CutsATornTailBackToTheLastWholeRecord) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    const sign::PublicKey log_pub = log_key.key.public_key();
    auto signer = sign::PrivateKey::generate_p256();
    const fs::path data = dir.path() / "data", file = data / "entries.log";
    Acknowledged seen;
    {
        TlogProcess server(data, log_key.key_path);
        LogConnection conn(server.url());
        for (int i = 0; i < 5; ++i) {
            std::string artifact = "entry " + std::to_string(i);
            record(seen, conn.client.submit_hashedrekord(sign::digest(sign::HashAlgorithm::Sha256, artifact),
                                                        signer.sign(artifact), signer.public_key()),
                   log_pub);
        }
        ASSERT_EQ(server.terminate(), 0);
    }
    // As if the server died while writing a 6th record: a whole record's
    // header and part of its body.
    const auto offsets = record_offsets(file);
    ASSERT_EQ(offsets.size(), 5u);
    const std::uint64_t whole = fs::file_size(file);
    std::string last = util::read_file(file).substr(offsets[4]);
    {
        std::ofstream out(file, std::ios::binary | std::ios::app);
        out << last.substr(0, last.size() - 40);
    }
    {
        TlogProcess server(data, log_key.key_path);
        EXPECT_NE(server.stderr_text().find("torn record"), std::string::npos) << server.stderr_text();
        EXPECT_EQ(fs::file_size(file), whole);
        LogConnection conn(server.url());
        seen.checkpoints.clear();  // the torn append was never acknowledged
        expect_log_holds(conn, seen, log_pub);
        EXPECT_EQ(conn.client.log_info().tree_size, 5u);
        ASSERT_EQ(server.terminate(), 0);
    }
    // A tail cut inside the header, and one cut inside the last real record
    // (acknowledged records are synced, so only a torn append can end so).
    {
        std::ofstream out(file, std::ios::binary | std::ios::app);
        out << std::string("SLTR\0\0", 6);
    }
    {
        TlogProcess server(data, log_key.key_path);
        EXPECT_EQ(fs::file_size(file), whole);
        ASSERT_EQ(server.terminate(), 0);
    }
    fs::resize_file(file, whole - 10);
    TlogProcess server(data, log_key.key_path);
    ASSERT_FALSE(server.start_failure()) << *server.start_failure();
    EXPECT_EQ(fs::file_size(file), offsets[4]);
    LogConnection conn(server.url());
    EXPECT_EQ(conn.client.log_info().tree_size, 4u);
    seen.bodies.erase(4);
    seen.checkpoints.clear();
    expect_log_holds(conn, seen, log_pub);
    // Appends continue at the cut.
    auto entry = conn.client.submit_hashedrekord(sign::digest(sign::HashAlgorithm::Sha256, "next"), signer.sign("next"),
                                                 signer.public_key());
    EXPECT_EQ(entry.log_index, 4);
}

TEST(TlogCrash, RefusesADamagedRecordInTheMiddle) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    auto signer = sign::PrivateKey::generate_p256();
    const fs::path data = dir.path() / "data", file = data / "entries.log";
    {
        TlogProcess server(data, log_key.key_path);
        LogConnection conn(server.url());
        for (int i = 0; i < 4; ++i) {
            std::string artifact = "entry " + std::to_string(i);
            conn.client.submit_hashedrekord(sign::digest(sign::HashAlgorithm::Sha256, artifact), signer.sign(artifact),
                                            signer.public_key());
        }
        ASSERT_EQ(server.terminate(), 0);
    }
    const auto offsets = record_offsets(file);
    ASSERT_EQ(offsets.size(), 4u);
    std::string bytes = util::read_file(file);
    const std::string original = bytes;
    bytes[offsets[1] + 16 + 20] ^= 0x01;  // one bit of record 1's body
    util::write_file_atomic(file, bytes);

    TlogProcess server(data, log_key.key_path);
    ASSERT_TRUE(server.start_failure()) << "the server started on a damaged log";
    EXPECT_EQ(server.exit_code(), 1);
    const std::string& message = *server.start_failure();
    EXPECT_NE(message.find("damaged"), std::string::npos) << message;
    EXPECT_NE(message.find("record 1"), std::string::npos) << message;
    EXPECT_NE(message.find("backup"), std::string::npos) << message;
    EXPECT_EQ(util::read_file(file), bytes) << "nothing was truncated or rewritten";

    // A damaged length field (pointing past the end of the file) is not taken for a torn tail either.
    bytes = original;
    bytes[offsets[2] + 5] = static_cast<char>(0x7f);
    util::write_file_atomic(file, bytes);
    TlogProcess again(data, log_key.key_path);
    ASSERT_TRUE(again.start_failure());
    EXPECT_NE(again.start_failure()->find("record 2"), std::string::npos) << *again.start_failure();
    EXPECT_EQ(util::read_file(file), bytes);
}

TEST(TlogCrash, OneServerPerDirectoryAndKey) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    LogKey other_key = make_log_key(dir.path(), "other");
    const fs::path data = dir.path() / "data";
    TlogProcess first(data, log_key.key_path);
    ASSERT_FALSE(first.start_failure());
    TlogProcess second(data, log_key.key_path);
    ASSERT_TRUE(second.start_failure());
    EXPECT_EQ(second.exit_code(), 2);
    EXPECT_NE(second.start_failure()->find("in use"), std::string::npos) << *second.start_failure();
    ASSERT_EQ(first.terminate(), 0);

    TlogProcess wrong_key(data, other_key.key_path);
    ASSERT_TRUE(wrong_key.start_failure());
    EXPECT_NE(wrong_key.start_failure()->find("another key"), std::string::npos) << *wrong_key.start_failure();
    TlogProcess wrong_origin(data, log_key.key_path, {"--origin", "renamed - 1"});
    ASSERT_TRUE(wrong_origin.start_failure());
    EXPECT_NE(wrong_origin.start_failure()->find("origin"), std::string::npos) << *wrong_origin.start_failure();
}

}  // namespace
}  // namespace slate::test
