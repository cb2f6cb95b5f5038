#pragma once
// slate's air-gapped transparency log: an append-only RFC 6962 Merkle tree
// of Rekor v1 entries (hashedrekord 0.0.1, dsse 0.0.1), stored durably in a
// directory, with checkpoints as C2SP signed notes and Rekor's signed entry
// timestamps, served over Rekor's v1 REST API (see tlog_client.hpp for the
// paths). Entries are exactly what Sigstore bundles carry, so Sigstore
// verifiers accept them given the log's public key.
//
// The data directory:
//   log.json      {"format": 1, "logID": "<hex>", "origin": "..."}, written
//                 once; a later start with another key or origin is refused
//   entries.log   the records, appended in order (format below)
//   lock          flock()ed by the process serving the log
//
// A record, all integers big-endian:
//   "SLTR"  u32 body length  i64 integrated time  body  SHA-256(all before)
// A submission is acknowledged only after its record is written and
// fdatasync()ed. On open the records are scanned: a record cut short at the
// end of the file (the process died while writing it) is truncated away; a
// damaged record with whole records after it is an Integrity error, never
// skipped.

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/sign/bundle.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/sign/keys.hpp"
#include "slate/sign/log_tree.hpp"

namespace slate::util {
struct HttpServerRequest;
struct HttpServerResponse;
}  // namespace slate::util

namespace slate::sign {

// ---------------------------------------------------------------- API shapes

// GET /api/v1/log.
struct LogInfo {
    std::string root_hash;         // raw 32 bytes
    std::uint64_t tree_size = 0;
    std::string signed_tree_head;  // the signed checkpoint note, as text
};

// GET /api/v1/log/proof: proof that the tree of first_size leaves is a
// prefix of the tree of last_size leaves whose root is root_hash.
struct ConsistencyProof {
    std::uint64_t first_size = 0;
    std::uint64_t last_size = 0;
    std::string root_hash;            // raw, of the tree of last_size leaves
    std::vector<std::string> hashes;  // raw 32 bytes each
};

// A proposed entry validated and reduced to what the log stores.
struct CanonicalEntry {
    std::string kind;         // "hashedrekord" | "dsse"
    std::string api_version;  // "0.0.1"
    std::string body;         // canonical JSON (RFC 8785), as Rekor stores it
};

// Validates a proposed entry (Rekor's POST /api/v1/log/entries body) and
// returns its canonical body:
//   hashedrekord 0.0.1: the signature must verify with the public key over
//     the digest (sha256, sha384 or sha512); the body keeps the hash, the
//     signature and the key (PEM, re-encoded);
//   dsse 0.0.1: every signature of the envelope must verify over the PAE
//     with one of the verifiers; the body keeps the envelope's and the
//     payload's SHA-256 and the signatures, sorted, each with its verifier.
// Throws slate::Error (Usage) saying what is wrong: not JSON, unknown kind
// or version, a missing or mistyped field, bad base64, a key that is not a
// PEM public key, a signature that does not verify.
CanonicalEntry canonicalize_proposed_entry(std::string_view proposed_entry);

// The proposed entries a client sends.
std::string hashedrekord_proposed_entry(std::string_view artifact_sha256, std::string_view signature,
                                        const PublicKey& key);
std::string dsse_proposed_entry(const Envelope& envelope, const PublicKey& key);

// Rekor's entry UUID: the hex leaf hash of the canonical body.
std::string entry_uuid(std::string_view canonical_body);
// The bytes a signed entry timestamp signs: the canonical JSON
// {"body": base64, "integratedTime": n, "logID": hex, "logIndex": n}.
std::string signed_entry_timestamp_payload(std::string_view canonical_body, std::int64_t integrated_time,
                                           std::string_view log_id, std::int64_t log_index);
// Rekor's LogEntry JSON, {uuid: {body, integratedTime, logID, logIndex,
// verification: {inclusionProof: {checkpoint, hashes, logIndex, rootHash,
// treeSize}, signedEntryTimestamp}}}, and back. Reading throws
// slate::Error (Parse) naming `display_name`.
nlohmann::ordered_json rekor_entry_to_json(const TransparencyLogEntry& entry);
TransparencyLogEntry rekor_entry_from_json(const nlohmann::json& json, std::string_view display_name = "log entry");

// ---------------------------------------------------------------- storage

struct TlogRecord {
    std::string body;
    std::int64_t integrated_time = 0;
};

// The append-only record file of a data directory (created if missing) and
// its lock. Not thread-safe: TransparencyLog serialises access.
class TlogStore {
public:
    // Locks the directory (Usage when another process holds it), scans the
    // records, calling `on_record` for each whole one in order, and truncates
    // a torn tail. Throws slate::Error: Integrity for a damaged record in the
    // middle, Io for filesystem failures.
    TlogStore(const std::filesystem::path& dir,
              const std::function<void(std::uint64_t index, const TlogRecord& record)>& on_record);
    ~TlogStore();
    TlogStore(const TlogStore&) = delete;
    TlogStore& operator=(const TlogStore&) = delete;

    std::uint64_t size() const { return m_records.size(); }
    // Bytes of a torn tail removed when the store was opened (0: none).
    std::uint64_t truncated_bytes() const { return m_truncated; }
    // Appends `records` durably, with one write and one fdatasync, and
    // returns the index of the first. On failure the file is cut back to its
    // previous length and slate::Error (Io) thrown. Written records become
    // visible to size() and read() only with publish(): the caller writes
    // (slowly) outside the lock its readers take, and publishes under it.
    std::uint64_t write(const std::vector<TlogRecord>& records);
    void publish();
    TlogRecord read(std::uint64_t index) const;

    static constexpr std::size_t MaxBodySize = 16 * 1024 * 1024;

private:
    struct Location {
        std::uint64_t offset;
        std::uint32_t length;
    };
    std::filesystem::path m_path;
    int m_fd = -1;
    int m_lock_fd = -1;
    std::uint64_t m_end = 0;  // file length = end of the last whole record
    std::uint64_t m_truncated = 0;
    bool m_failed = false;    // a failed write could not be rolled back: refuse further writes
    std::vector<Location> m_records;      // published
    std::vector<Location> m_unpublished;  // written and synced, not yet published
};

// ---------------------------------------------------------------- the log

struct TlogOptions {
    // The checkpoints' origin line. Empty: "slate-tlog - <first 16 hex digits
    // of the log ID>". Its first word names the key in signed notes, as
    // Rekor's "rekor.sigstore.dev - <tree id>" does.
    std::string origin;
    // Unix seconds for integrated times; empty: the system clock.
    std::function<std::int64_t()> clock;
};

class TransparencyLog {
public:
    // Opens (or creates) the log in `dir` and rebuilds the tree from the
    // records. Throws slate::Error: Usage when the directory belongs to
    // another key or origin, or is in use; Integrity / Io from TlogStore.
    TransparencyLog(const std::filesystem::path& dir, PrivateKey key, TlogOptions options = {});

    struct Submission {
        TransparencyLogEntry entry;  // with an inclusion proof, checkpoint and SET
        bool created = true;         // false: the same entry was already in the log
    };
    // Validates (canonicalize_proposed_entry), appends durably and returns
    // the entry. Concurrent submissions are validated in parallel, then
    // committed in order in batches (one fdatasync per batch); an entry is
    // returned only once it is on disk. Throws slate::Error (Usage) for an
    // invalid entry, Io when it cannot be stored.
    Submission submit(std::string_view proposed_entry);

    // The entry at `index` with an inclusion proof at the current size.
    // Throws slate::Error (NotFound).
    TransparencyLogEntry entry(std::uint64_t index) const;
    // The index of the entry whose leaf hash is `leaf` (raw), if any.
    std::optional<std::uint64_t> find(std::string_view leaf) const;
    std::uint64_t size() const;
    LogInfo info() const;  // with a checkpoint signed for the current size
    // Throws slate::Error (Usage) unless 1 <= first_size <= last_size <= size().
    ConsistencyProof consistency_proof(std::uint64_t first_size, std::uint64_t last_size) const;

    const std::string& log_id() const { return m_log_id; }  // raw SHA-256 of the key's DER
    const std::string& origin() const { return m_origin; }
    const std::string& key_name() const { return m_key_name; }
    PublicKey public_key() const { return m_key.public_key(); }
    std::uint64_t truncated_bytes() const { return m_store->truncated_bytes(); }

private:
    struct PendingSubmission;
    // Appends a batch of submissions (one write, one fdatasync) and fills
    // in their indices, or their error. Runs in one thread at a time.
    void commit(const std::vector<PendingSubmission*>& batch) noexcept;
    // All with m_mutex held (shared or exclusive).
    TransparencyLogEntry make_entry(std::uint64_t index, const TlogRecord& record, std::uint64_t tree_size) const;
    std::string signed_checkpoint(std::uint64_t tree_size) const;

    PrivateKey m_key;
    std::string m_log_id;
    std::string m_origin;
    std::string m_key_name;
    std::function<std::int64_t()> m_clock;

    // Readers share m_mutex; a commit takes it exclusively only to publish
    // what it has already written and synced.
    mutable std::shared_mutex m_mutex;
    std::unique_ptr<TlogStore> m_store;
    LogTree m_tree;
    std::unordered_map<std::string, std::uint64_t> m_index_by_leaf;  // leaf hash -> index
    // Group commit.
    std::mutex m_queue_mutex;
    std::condition_variable m_queue_done;
    std::vector<PendingSubmission*> m_queue;
    bool m_committing = false;
    // The last signed checkpoint, reused until the tree grows.
    mutable std::mutex m_checkpoint_mutex;
    mutable std::uint64_t m_checkpoint_size = 0;
    mutable std::string m_checkpoint;
};

// Serves Rekor's v1 API for `log`: the HttpServer handler of `slate tlog serve`.
util::HttpServerResponse handle_tlog_request(TransparencyLog& log, const util::HttpServerRequest& request);

}  // namespace slate::sign
