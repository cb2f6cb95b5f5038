// `slate tlog serve` end to end: real server processes on 127.0.0.1,
// submissions over HTTP with the real client, every proof, checkpoint and
// signed entry timestamp checked with merkle.hpp / note.hpp and the log's key.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/sign/bundle.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/sign/note.hpp"
#include "slate/sign/tlog.hpp"
#include "slate/sign/verify_bundle.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/paths.hpp"
#include "test_tlog_support.hpp"

namespace slate::test {
namespace {

namespace fs = std::filesystem;
using sign::HashAlgorithm;

struct SignedArtifact {
    std::string sha256;     // raw
    std::string signature;  // raw DER
};

SignedArtifact sign_artifact(const sign::PrivateKey& signer, std::string_view artifact) {
    return {sign::digest(HashAlgorithm::Sha256, artifact), signer.sign(artifact)};
}

// The checks a verifier makes, written out with merkle.hpp and note.hpp: the
// inclusion proof leads to the checkpoint's root, the checkpoint is signed
// by the log's key, the SET signs {body, integratedTime, logID, logIndex}.
// `origin`: the checkpoints' origin line; its first word names the key.
void expect_entry_verifies(const sign::TransparencyLogEntry& entry, const sign::PublicKey& log_key,
                           const std::string& origin = {}) {
    const std::string log_id_hex = util::sha256_hex(log_key.der());
    const std::string expected_origin = origin.empty() ? "slate-tlog - " + log_id_hex.substr(0, 16) : origin;
    EXPECT_EQ(entry.log_id, sign::digest(HashAlgorithm::Sha256, log_key.der()));
    ASSERT_TRUE(entry.inclusion_proof);
    const sign::InclusionProof& proof = *entry.inclusion_proof;
    EXPECT_EQ(proof.log_index, entry.log_index);
    EXPECT_GT(proof.tree_size, proof.log_index);
    EXPECT_TRUE(sign::verify_inclusion(static_cast<std::uint64_t>(proof.log_index),
                                       static_cast<std::uint64_t>(proof.tree_size),
                                       sign::leaf_hash(entry.canonicalized_body), proof.hashes, proof.root_hash))
        << "entry " << entry.log_index;
    sign::Note note = sign::parse_note(proof.checkpoint);
    EXPECT_TRUE(sign::verify_note(note, expected_origin.substr(0, expected_origin.find(' ')), log_key))
        << proof.checkpoint;
    sign::Checkpoint checkpoint = sign::parse_checkpoint(note.text);
    EXPECT_EQ(checkpoint.origin, expected_origin);
    EXPECT_EQ(checkpoint.tree_size, static_cast<std::uint64_t>(proof.tree_size));
    EXPECT_EQ(checkpoint.root_hash, proof.root_hash);
    ASSERT_TRUE(entry.signed_entry_timestamp);
    const std::string set_payload =
        fmt::format(R"({{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}})",
                    util::base64_encode(entry.canonicalized_body), entry.integrated_time, util::to_hex(entry.log_id),
                    entry.log_index);
    EXPECT_TRUE(log_key.verify(set_payload, *entry.signed_entry_timestamp)) << "SET of entry " << entry.log_index;
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// sigstore-js (@sigstore/verify), installed under tests/interop by the setup script.
std::optional<fs::path> sigstore_js() {
    fs::path script = source_dir() / "tests" / "interop" / "sigstore-js" / "verify.js";
    if (!fs::exists(script) || !fs::exists(script.parent_path() / "node_modules" / "@sigstore" / "verify") ||
        !util::find_program("node"))
        return std::nullopt;
    return script;
}

TEST(Tlog, RecordsHashedrekordAndDsseEntriesThatVerifyOffline) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    const sign::PublicKey log_pub = log_key.key.public_key();
    // sigstore-js (below) matches the checkpoint's key name, the origin's
    // first word, against the log's URL in the trusted root, as for Rekor's
    // "rekor.sigstore.dev - <tree id>": name the log after the host clients use.
    const std::string origin = "127.0.0.1 - slate test log";
    TlogProcess server(dir.path() / "data", log_key.key_path, {"--origin", origin});
    LogConnection conn(server.url());
    EXPECT_NE(server.stdout_text().find(server.url()), std::string::npos) << "the URL is printed";

    auto signer = sign::PrivateKey::generate_p256();
    const sign::PublicKey signer_pub = signer.public_key();
    const std::string artifact = "the artifact's bytes\n";
    SignedArtifact signed_artifact = sign_artifact(signer, artifact);

    const std::int64_t before = now_seconds();
    sign::TransparencyLogEntry entry =
        conn.client.submit_hashedrekord(signed_artifact.sha256, signed_artifact.signature, signer_pub);
    EXPECT_EQ(entry.log_index, 0);
    EXPECT_EQ(entry.kind, "hashedrekord");
    EXPECT_EQ(entry.kind_version, "0.0.1");
    EXPECT_GE(entry.integrated_time, before);
    EXPECT_LE(entry.integrated_time, now_seconds());
    // Rekor's canonical body, byte for byte: JCS (sorted keys, no spaces).
    EXPECT_EQ(entry.canonicalized_body,
              fmt::format(R"({{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":)"
                          R"("sha256","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}})",
                          util::to_hex(signed_artifact.sha256), util::base64_encode(signed_artifact.signature),
                          util::base64_encode(signer_pub.pem())));
    expect_entry_verifies(entry, log_pub, origin);

    // A DSSE envelope with an in-toto statement.
    sign::Statement statement{{{"artifact.txt", {{"sha256", util::sha256_hex(artifact)}}}},
                              "https://slsa.dev/provenance/v1",
                              {{"buildDefinition", {{"buildType", "https://example.org/build"}}}}};
    sign::Envelope envelope =
        sign::sign_envelope(sign::InTotoPayloadType, sign::statement_to_string(statement), signer);
    sign::TransparencyLogEntry dsse = conn.client.submit_dsse(envelope, signer_pub);
    EXPECT_EQ(dsse.log_index, 1);
    EXPECT_EQ(dsse.kind, "dsse");
    EXPECT_EQ(dsse.kind_version, "0.0.1");
    EXPECT_EQ(dsse.canonicalized_body,
              fmt::format(R"({{"apiVersion":"0.0.1","kind":"dsse","spec":{{"envelopeHash":{{"algorithm":"sha256",)"
                          R"("value":"{}"}},"payloadHash":{{"algorithm":"sha256","value":"{}"}},"signatures":)"
                          R"([{{"signature":"{}","verifier":"{}"}}]}}}})",
                          util::sha256_hex(sign::envelope_to_string(envelope)), util::sha256_hex(envelope.payload),
                          util::base64_encode(envelope.signatures.at(0).signature),
                          util::base64_encode(signer_pub.pem())));
    expect_entry_verifies(dsse, log_pub, origin);
    ASSERT_TRUE(dsse.inclusion_proof);
    EXPECT_EQ(dsse.inclusion_proof->tree_size, 2);

    // The offline verifier of `slate verify --tlog-key` accepts both, and
    // finds in each body what was signed.
    EXPECT_TRUE(sign::verify_tlog_entry(entry, log_pub));
    EXPECT_TRUE(sign::verify_tlog_entry(dsse, log_pub));
    sign::EntryContent content;
    content.artifact_sha256 = signed_artifact.sha256;
    content.signature = signed_artifact.signature;
    content.key = signer_pub;
    EXPECT_NO_THROW(sign::verify_entry_body(entry, content));
    sign::EntryContent dsse_content;
    dsse_content.envelope = envelope;
    dsse_content.signature = envelope.signatures.at(0).signature;
    dsse_content.key = signer_pub;
    EXPECT_NO_THROW(sign::verify_entry_body(dsse, dsse_content));

    // Read back: the same entry, now with a proof at the current size.
    sign::TransparencyLogEntry read_back = conn.client.entry(0);
    EXPECT_EQ(read_back.canonicalized_body, entry.canonicalized_body);
    EXPECT_EQ(read_back.integrated_time, entry.integrated_time);
    EXPECT_EQ(read_back.inclusion_proof->tree_size, 2);
    expect_entry_verifies(read_back, log_pub, origin);
    EXPECT_EQ(conn.client.public_key().der(), log_pub.der());
    sign::LogInfo info = conn.client.log_info();
    EXPECT_EQ(info.tree_size, 2u);
    EXPECT_EQ(info.root_hash, dsse.inclusion_proof->root_hash);

    // The same entry again: 409 with the existing entry, nothing appended.
    std::string body;
    auto response = conn.http.post(
        util::HttpPostRequest{.url = server.url() + "/api/v1/log/entries",
                              .body = sign::hashedrekord_proposed_entry(signed_artifact.sha256,
                                                                        signed_artifact.signature, signer_pub)},
        body);
    EXPECT_EQ(response.status, 409);
    sign::TransparencyLogEntry again =
        conn.client.submit_hashedrekord(signed_artifact.sha256, signed_artifact.signature, signer_pub);
    EXPECT_EQ(again.log_index, 0);
    EXPECT_EQ(conn.client.log_info().tree_size, 2u);

    // The entries go into a Sigstore bundle as they are, and survive its JSON.
    sign::TransparencyLogEntry round_trip = sign::tlog_entry_from_json(sign::tlog_entry_to_json(entry));
    EXPECT_EQ(round_trip.canonicalized_body, entry.canonicalized_body);
    EXPECT_EQ(round_trip.inclusion_proof->checkpoint, entry.inclusion_proof->checkpoint);
    EXPECT_EQ(round_trip.signed_entry_timestamp, entry.signed_entry_timestamp);

    // An independent verifier: sigstore-js, given the log's key, accepts bundles carrying them.
    auto verify_js = sigstore_js();
    ASSERT_TRUE(verify_js) << "sigstore-js is not installed under tests/interop/sigstore-js: run scripts/setup.sh";
    const fs::path artifact_path = dir.path() / "artifact.txt", signer_pub_path = dir.path() / "signer.pub";
    util::write_file_atomic(artifact_path, artifact);
    util::write_file_atomic(signer_pub_path, signer_pub.pem());
    sign::Bundle bundle;
    bundle.media_type = std::string(sign::BundleMediaTypeV03);
    bundle.verification_material.content = sign::PublicKeyIdentifier{};
    bundle.verification_material.tlog_entries = {entry};
    bundle.content = sign::MessageSignature{HashAlgorithm::Sha256, signed_artifact.sha256, signed_artifact.signature};
    util::write_file_atomic(dir.path() / "message.sigstore.json", sign::bundle_to_string(bundle));
    auto r = util::run_process({"node", verify_js->string(), "--bundle", (dir.path() / "message.sigstore.json").string(),
                                "--key", signer_pub_path.string(), "--artifact", artifact_path.string(), "--tlog-key",
                                log_key.pub_path.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    bundle.verification_material.tlog_entries = {dsse};
    bundle.content = envelope;
    util::write_file_atomic(dir.path() / "dsse.sigstore.json", sign::bundle_to_string(bundle));
    r = util::run_process({"node", verify_js->string(), "--bundle", (dir.path() / "dsse.sigstore.json").string(), "--key",
                           signer_pub_path.string(), "--tlog-key", log_key.pub_path.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    // ... and refuses them with another log's key.
    LogKey other = make_log_key(dir.path(), "other");
    r = util::run_process({"node", verify_js->string(), "--bundle", (dir.path() / "dsse.sigstore.json").string(), "--key",
                           signer_pub_path.string(), "--tlog-key", other.pub_path.string()});
    EXPECT_NE(r.exit_code, 0) << r.out;
}

TEST(Tlog, SerialisesConcurrentSubmissions) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    const sign::PublicKey log_pub = log_key.key.public_key();
    TlogProcess server(dir.path() / "data", log_key.key_path);
    auto signer = sign::PrivateKey::generate_p256();
    const sign::PublicKey signer_pub = signer.public_key();

    constexpr int Threads = 8, PerThread = 25;
    std::mutex mutex;
    std::vector<sign::TransparencyLogEntry> entries;
    std::vector<std::string> errors;
    std::vector<sign::LogInfo> heads;  // checkpoints read while the log grows
    std::atomic<bool> done{false};
    std::thread watcher([&] {
        LogConnection conn(server.url());
        while (!done) {
            try {
                sign::LogInfo info = conn.client.log_info();
                std::lock_guard lock(mutex);
                heads.push_back(std::move(info));
            } catch (const Error& e) {
                std::lock_guard lock(mutex);
                errors.push_back(e.describe());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t)
        threads.emplace_back([&, t] {
            LogConnection conn(server.url());
            for (int i = 0; i < PerThread; ++i) {
                try {
                    SignedArtifact a = sign_artifact(signer, fmt::format("thread {} artifact {}", t, i));
                    auto entry = conn.client.submit_hashedrekord(a.sha256, a.signature, signer_pub);
                    std::lock_guard lock(mutex);
                    entries.push_back(std::move(entry));
                } catch (const Error& e) {
                    std::lock_guard lock(mutex);
                    errors.push_back(e.describe());
                }
            }
        });
    for (auto& thread : threads) thread.join();
    done = true;
    watcher.join();
    ASSERT_TRUE(errors.empty()) << errors.front();
    ASSERT_EQ(entries.size(), static_cast<std::size_t>(Threads * PerThread));

    // Indices distinct and dense.
    std::set<std::int64_t> indices;
    for (const auto& entry : entries) indices.insert(entry.log_index);
    ASSERT_EQ(indices.size(), entries.size());
    EXPECT_EQ(*indices.begin(), 0);
    EXPECT_EQ(*indices.rbegin(), Threads * PerThread - 1);

    // Every returned proof verifies against its checkpoint.
    for (const auto& entry : entries) expect_entry_verifies(entry, log_pub);

    LogConnection conn(server.url());
    sign::LogInfo final_head = conn.client.log_info();
    ASSERT_EQ(final_head.tree_size, static_cast<std::uint64_t>(Threads * PerThread));
    sign::Note final_note = sign::parse_note(final_head.signed_tree_head);
    EXPECT_TRUE(sign::verify_note(final_note, "slate-tlog", log_pub));
    EXPECT_EQ(sign::parse_checkpoint(final_note.text).root_hash, final_head.root_hash);

    // The final tree holds every entry: its root is the one the entries' bodies give.
    sign::LogTree tree;
    std::map<std::int64_t, const sign::TransparencyLogEntry*> by_index;
    for (const auto& entry : entries) by_index[entry.log_index] = &entry;
    for (const auto& [index, entry] : by_index) tree.append(sign::leaf_hash(entry->canonicalized_body));
    EXPECT_EQ(tree.root(), final_head.root_hash);

    // Every checkpoint handed out (with entries, and read meanwhile) is
    // consistent with the final one, through the log's consistency proofs.
    std::map<std::uint64_t, std::string> roots;
    for (const auto& entry : entries)
        roots[static_cast<std::uint64_t>(entry.inclusion_proof->tree_size)] = entry.inclusion_proof->root_hash;
    for (const auto& head : heads) {
        if (head.tree_size == 0) continue;
        auto [it, inserted] = roots.emplace(head.tree_size, head.root_hash);
        EXPECT_EQ(it->second, head.root_hash) << "two roots for size " << head.tree_size;
    }
    EXPECT_GT(heads.size(), 1u);
    for (const auto& [size, root] : roots) {
        sign::ConsistencyProof proof = conn.client.consistency_proof(size, final_head.tree_size);
        EXPECT_EQ(proof.root_hash, final_head.root_hash);
        EXPECT_TRUE(sign::verify_consistency(size, final_head.tree_size, root, final_head.root_hash, proof.hashes))
            << size << " -> " << final_head.tree_size;
    }
}

TEST(Tlog, RejectsInvalidSubmissionsAndAppendsNothing) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    TlogProcess server(dir.path() / "data", log_key.key_path, {"--max-body-size", "65536"});
    LogConnection conn(server.url());
    auto signer = sign::PrivateKey::generate_p256();
    auto stranger = sign::PrivateKey::generate_p256();
    SignedArtifact a = sign_artifact(signer, "a"), b = sign_artifact(signer, "b");
    sign::Envelope envelope = sign::sign_envelope("text/plain", "hello", signer);

    struct Case {
        std::string name;
        std::string body;
        long status;
        std::string message_part;
    };
    const std::vector<Case> cases = {
        {"signature over another digest", sign::hashedrekord_proposed_entry(a.sha256, b.signature, signer.public_key()),
         400, "does not verify"},
        {"signature by another key", sign::hashedrekord_proposed_entry(a.sha256, a.signature, stranger.public_key()),
         400, "does not verify"},
        {"unknown kind", R"({"apiVersion":"0.0.1","kind":"rekord","spec":{}})", 400, "not accepted"},
        {"unknown version", R"({"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}})", 400, "not supported"},
        {"malformed JSON", R"({"apiVersion": "0.0.1", "kind": )", 400, "not JSON"},
        {"not an object", R"(["hashedrekord"])", 400, "JSON object"},
        {"missing signature", R"({"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{}}})", 400,
         "no \"signature\""},
        {"private key as public key",
         fmt::format(R"({{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256",)"
                     R"("value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}})",
                     util::to_hex(a.sha256), util::base64_encode(a.signature),
                     util::base64_encode(signer.to_pkcs8_pem())),
         400, "not a PEM public key"},
        {"dsse verified by the wrong key", sign::dsse_proposed_entry(envelope, stranger.public_key()), 400,
         "does not verify"},
        {"empty body", "", 400, "no body"},
        {"oversized body", std::string(100 * 1024, ' '), 413, "over the limit"},
    };
    for (const auto& c : cases) {
        std::string body;
        auto response =
            conn.http.post(util::HttpPostRequest{.url = server.url() + "/api/v1/log/entries", .body = c.body}, body);
        EXPECT_EQ(response.status, c.status) << c.name << ": " << body;
        auto json = nlohmann::json::parse(body, nullptr, false);
        ASSERT_TRUE(json.is_object()) << c.name << ": " << body;
        EXPECT_EQ(json["code"], c.status) << c.name;
        EXPECT_NE(json["message"].get<std::string>().find(c.message_part), std::string::npos)
            << c.name << ": " << json["message"];
    }
    // The client turns a refusal into a Usage error quoting the log.
    try {
        conn.client.submit_hashedrekord(a.sha256, b.signature, signer.public_key());
        ADD_FAILURE() << "a bad signature was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Usage);
        EXPECT_NE(e.message().find("does not verify"), std::string::npos) << e.message();
    }
    EXPECT_EQ(conn.client.log_info().tree_size, 0u);
    EXPECT_EQ(fs::file_size(dir.path() / "data" / "entries.log"), 0u);

    // Reads of what is not there.
    EXPECT_THROW(conn.client.entry(0), Error);
    EXPECT_THROW(conn.client.consistency_proof(1, 2), Error);
    std::string body;
    EXPECT_THROW(conn.http.get(util::HttpRequest{.url = server.url() + "/api/v1/nothing"}, body), Error);
    // And the log still takes a good entry.
    EXPECT_EQ(conn.client.submit_hashedrekord(a.sha256, a.signature, signer.public_key()).log_index, 0);
}

util::ProcessResult slate(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {slate_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    util::ProcessOptions options;
    options.timeout = std::chrono::seconds(60);
    return util::run_process(argv, options);
}

void submit_some(LogConnection& conn, const sign::PrivateKey& signer, const std::string& prefix, int count) {
    for (int i = 0; i < count; ++i) {
        SignedArtifact a = sign_artifact(signer, prefix + std::to_string(i));
        conn.client.submit_hashedrekord(a.sha256, a.signature, signer.public_key());
    }
}

TEST(Tlog, CliVerifiesConsistencyBetweenCheckpoints) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    TlogProcess server(dir.path() / "data", log_key.key_path, {"--origin", "tlog.example.org - 1"});
    LogConnection conn(server.url());
    auto signer = sign::PrivateKey::generate_p256();
    const std::string url = server.url(), pub = log_key.pub_path.string();
    const fs::path old_cp = dir.path() / "old.checkpoint", mid_cp = dir.path() / "mid.checkpoint";

    submit_some(conn, signer, "first ", 3);
    auto r = slate({"tlog", "checkpoint", "--url", url, "-o", old_cp.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(util::read_file(old_cp).starts_with("tlog.example.org - 1\n3\n"));
    submit_some(conn, signer, "second ", 5);
    r = slate({"tlog", "checkpoint", "--url", url});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    util::write_file_atomic(mid_cp, r.out);
    submit_some(conn, signer, "third ", 2);

    // Consistent: against the current checkpoint, an explicit later one, the same one.
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, old_cp.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("consistent"), std::string::npos);
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, old_cp.string(), mid_cp.string(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto json = nlohmann::json::parse(r.out);
    EXPECT_EQ(json["consistent"], true);
    EXPECT_EQ(json["old"]["treeSize"], 3);
    EXPECT_EQ(json["new"]["treeSize"], 8);
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, mid_cp.string(), mid_cp.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;

    // Backwards.
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, mid_cp.string(), old_cp.string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("size went backwards"), std::string::npos) << r.err;

    // Tampered: a different size, or a different root, breaks the signature.
    std::string text = util::read_file(old_cp);
    std::string tampered = text;
    tampered.replace(tampered.find("\n3\n"), 3, "\n4\n");
    util::write_file_atomic(dir.path() / "tampered.checkpoint", tampered);
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, (dir.path() / "tampered.checkpoint").string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("bad signature"), std::string::npos) << r.err;

    // Forged: the right format and origin, signed by somebody else's key.
    auto forger = sign::PrivateKey::generate_p256();
    sign::Note forged;
    forged.text = sign::parse_note(text).text;
    forged.signatures.push_back(sign::sign_note(forged.text, "tlog.example.org", forger));
    util::write_file_atomic(dir.path() / "forged.checkpoint", sign::format_note(forged));
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, (dir.path() / "forged.checkpoint").string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("bad signature"), std::string::npos) << r.err;

    // From a different log (another key): its checkpoint does not verify with this log's key.
    LogKey other_key = make_log_key(dir.path(), "other");
    TlogProcess other(dir.path() / "other-data", other_key.key_path);
    LogConnection other_conn(other.url());
    submit_some(other_conn, signer, "other ", 4);
    r = slate({"tlog", "checkpoint", "--url", other.url(), "-o", (dir.path() / "other.checkpoint").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, (dir.path() / "other.checkpoint").string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("bad signature"), std::string::npos) << r.err;
    // The same key serving a log under another origin is another log.
    TlogProcess renamed(dir.path() / "renamed-data", log_key.key_path, {"--origin", "elsewhere.example.org - 2"});
    LogConnection renamed_conn(renamed.url());
    submit_some(renamed_conn, signer, "renamed ", 5);
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", renamed.url(), old_cp.string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("different logs"), std::string::npos) << r.err;

    // A fork: the same key and origin, another history. Its checkpoints are
    // validly signed, but the log cannot prove them consistent.
    TlogProcess fork(dir.path() / "fork-data", log_key.key_path, {"--origin", "tlog.example.org - 1"});
    LogConnection fork_conn(fork.url());
    submit_some(fork_conn, signer, "forked ", 12);
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", fork.url(), old_cp.string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("inconsistent proof"), std::string::npos) << r.err;
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", url, mid_cp.string(),
               (dir.path() / "fork.checkpoint").string()});
    EXPECT_EQ(r.exit_code, 1) << "a missing file is an error, not a failed check: " << r.err;
    // Same size, different roots: a split view.
    TlogProcess split(dir.path() / "split-data", log_key.key_path, {"--origin", "tlog.example.org - 1"});
    LogConnection split_conn(split.url());
    submit_some(split_conn, signer, "split ", 3);
    r = slate({"tlog", "verify", "--tlog-key", pub, "--url", split.url(), old_cp.string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_NE(r.err.find("root mismatch"), std::string::npos) << r.err;
}

TEST(Tlog, StopsOnSigtermAndWhenIdle) {
    TempDir dir;
    LogKey log_key = make_log_key(dir.path(), "log");
    {
        TlogProcess server(dir.path() / "data", log_key.key_path);
        EXPECT_EQ(server.terminate(), 0) << server.stderr_text();
    }
    TlogProcess idle(dir.path() / "data", log_key.key_path, {"--idle-exit", "1"});
    EXPECT_TRUE(idle.exits_within(std::chrono::seconds(10)));
    EXPECT_EQ(idle.exit_code(), 0);
    EXPECT_NE(idle.stderr_text().find("idle"), std::string::npos) << idle.stderr_text();
}

TEST(Tlog, ReadsAnEncryptedKeyWithSlatePassword) {
    TempDir dir;
    auto key = sign::PrivateKey::generate_p256();
    util::write_file_atomic(dir.path() / "log.key", key.to_encrypted_pem("correct horse"), 0600);
    {
        TlogProcess server(dir.path() / "data", dir.path() / "log.key", {}, "correct horse");
        LogConnection conn(server.url());
        EXPECT_EQ(conn.client.public_key().der(), key.public_key().der());
    }
    TlogProcess wrong(dir.path() / "data2", dir.path() / "log.key", {}, "wrong");
    ASSERT_TRUE(wrong.start_failure());
    EXPECT_NE(wrong.exit_code(), 0);
    EXPECT_NE(wrong.start_failure()->find("password"), std::string::npos) << *wrong.start_failure();
}

}  // namespace
}  // namespace slate::test
