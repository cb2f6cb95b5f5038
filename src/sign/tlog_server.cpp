// The transparency log itself (the tree over the stored records, signed
// checkpoints and entry timestamps) and its Rekor v1 HTTP API.

#include <charconv>
#include <chrono>
#include <exception>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/sign/merkle.hpp"
#include "slate/sign/note.hpp"
#include "slate/sign/tlog.hpp"
#include "slate/util/base64.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/http_server.hpp"

namespace slate::sign {
namespace fs = std::filesystem;
namespace {

std::string sha256_raw(std::string_view data) { return digest(HashAlgorithm::Sha256, data); }

std::int64_t system_clock_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The first word of the origin names the key in signed notes (Rekor v1:
// origin "rekor.sigstore.dev - <tree id>", key "rekor.sigstore.dev").
std::string key_name_of(const std::string& origin) {
    if (origin.empty() || origin.find_first_of("\n\r") != std::string::npos || origin.front() == ' ')
        throw Error(ErrorCode::Usage, fmt::format("\"{}\" cannot be a log's origin", origin),
                    "an origin is one line of text starting with a word, e.g. \"tlog.example.org - 1\"");
    std::string name = origin.substr(0, origin.find(' '));
    if (name.find('+') != std::string::npos)
        throw Error(ErrorCode::Usage, fmt::format("the origin \"{}\" cannot name a signing key: '+' in \"{}\"", origin, name),
                    "start the origin with a word without '+'");
    return name;
}

// log.json: which key and origin the directory's log belongs to.
std::string settle_identity(const fs::path& dir, const std::string& log_id_hex, const std::string& wanted_origin,
                            const std::string& default_origin) {
    const fs::path path = dir / "log.json";
    if (fs::exists(path)) {
        nlohmann::json meta = nlohmann::json::parse(util::read_file(path), nullptr, false);
        if (meta.is_discarded() || !meta.is_object() || !meta.contains("logID") || !meta["logID"].is_string() ||
            !meta.contains("origin") || !meta["origin"].is_string())
            throw Error(ErrorCode::Parse, fmt::format("{} is malformed", path.string()),
                        "it should hold {\"format\": 1, \"logID\": ..., \"origin\": ...}; restore it from a backup");
        const std::string stored_id = meta["logID"].get<std::string>();
        const std::string stored_origin = meta["origin"].get<std::string>();
        if (stored_id != log_id_hex)
            throw Error(ErrorCode::Usage,
                        fmt::format("the log in {} belongs to another key (log ID {}); this key's log ID is {}",
                                    dir.string(), stored_id, log_id_hex),
                        "start the server with the key the log was created with, or use another --data directory");
        if (!wanted_origin.empty() && wanted_origin != stored_origin)
            throw Error(ErrorCode::Usage,
                        fmt::format("the log in {} has the origin \"{}\", not \"{}\"", dir.string(), stored_origin,
                                    wanted_origin),
                        "a log's origin cannot change; leave out --origin or give the one it has");
        return stored_origin;
    }
    const std::string origin = wanted_origin.empty() ? default_origin : wanted_origin;
    nlohmann::ordered_json meta = {{"format", 1}, {"logID", log_id_hex}, {"origin", origin}};
    util::write_file_atomic(path, meta.dump(2) + "\n");
    return origin;
}

// Rekor's treeID is a positive int64 in decimal; ours comes from the log ID.
std::int64_t tree_id(std::string_view log_id) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8 && i < log_id.size(); ++i) value = (value << 8) | static_cast<unsigned char>(log_id[i]);
    return static_cast<std::int64_t>(value & 0x7fff'ffff'ffff'ffffULL);
}

std::optional<std::uint64_t> parse_count(const std::map<std::string, std::string>& query, const std::string& name) {
    auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    std::uint64_t value = 0;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        throw Error(ErrorCode::Usage, fmt::format("{}={} is not a non-negative integer", name, text));
    return value;
}

}  // namespace

// ------------------------------------------------------------------ the log

TransparencyLog::TransparencyLog(const fs::path& dir, PrivateKey key, TlogOptions options)
    : m_key(std::move(key)), m_clock(std::move(options.clock)) {
    if (!m_clock) m_clock = system_clock_seconds;
    const PublicKey public_key = m_key.public_key();
    m_log_id = sha256_raw(public_key.der());
    const std::string log_id_hex = util::to_hex(m_log_id);
    if (!options.origin.empty()) key_name_of(options.origin);  // refuse a bad origin before touching the directory

    m_store = std::make_unique<TlogStore>(dir, [this](std::uint64_t index, const TlogRecord& record) {
        std::string leaf = leaf_hash(record.body);
        m_tree.append(leaf);
        m_index_by_leaf.emplace(std::move(leaf), index);
    });
    m_origin = settle_identity(dir, log_id_hex, options.origin, "slate-tlog - " + log_id_hex.substr(0, 16));
    m_key_name = key_name_of(m_origin);
}

std::string TransparencyLog::signed_checkpoint(std::uint64_t tree_size) const {
    std::lock_guard lock(m_checkpoint_mutex);
    if (m_checkpoint.empty() || m_checkpoint_size != tree_size) {
        Checkpoint checkpoint{m_origin, tree_size, m_tree.root(tree_size), {}};
        Note note;
        note.text = format_checkpoint(checkpoint);
        note.signatures.push_back(sign_note(note.text, m_key_name, m_key));
        std::string text = format_note(note);
        // Keep the newest: GET /api/v1/log asks for it again and again.
        if (tree_size >= m_checkpoint_size) {
            m_checkpoint = text;
            m_checkpoint_size = tree_size;
        }
        return text;
    }
    return m_checkpoint;
}

TransparencyLogEntry TransparencyLog::make_entry(std::uint64_t index, const TlogRecord& record,
                                                 std::uint64_t tree_size) const {
    TransparencyLogEntry entry;
    entry.log_index = static_cast<std::int64_t>(index);
    entry.log_id = m_log_id;
    nlohmann::json body = nlohmann::json::parse(record.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
        throw Error(ErrorCode::Integrity, fmt::format("entry {} of the log is not JSON", index));
    entry.kind = body.value("kind", "");
    entry.kind_version = body.value("apiVersion", "");
    entry.integrated_time = record.integrated_time;
    entry.canonicalized_body = record.body;
    entry.signed_entry_timestamp = m_key.sign(
        signed_entry_timestamp_payload(record.body, record.integrated_time, m_log_id, entry.log_index));
    InclusionProof proof;
    proof.log_index = entry.log_index;
    proof.tree_size = static_cast<std::int64_t>(tree_size);
    proof.root_hash = m_tree.root(tree_size);
    proof.hashes = m_tree.inclusion_proof(index, tree_size);
    proof.checkpoint = signed_checkpoint(tree_size);
    entry.inclusion_proof = std::move(proof);
    return entry;
}

// A submission waiting to be committed with others (group commit).
struct TransparencyLog::PendingSubmission {
    std::string body;
    std::string leaf;
    std::uint64_t index = 0;
    bool created = false;
    bool done = false;
    std::exception_ptr error;
};

TransparencyLog::Submission TransparencyLog::submit(std::string_view proposed_entry) {
    // Validation (the signature checks) runs in parallel, without any lock.
    CanonicalEntry canonical = canonicalize_proposed_entry(proposed_entry);
    PendingSubmission pending;
    pending.leaf = leaf_hash(canonical.body);
    pending.body = std::move(canonical.body);
    {
        // Group commit: whoever finds no commit running takes every queued
        // submission and commits them with one write and one fdatasync; the
        // others wait for it, and the next batch forms meanwhile.
        std::unique_lock queue(m_queue_mutex);
        m_queue.push_back(&pending);
        while (!pending.done) {
            if (m_committing) {
                m_queue_done.wait(queue);
                continue;
            }
            m_committing = true;
            std::vector<PendingSubmission*> batch;
            batch.swap(m_queue);
            queue.unlock();
            commit(batch);
            queue.lock();
            for (PendingSubmission* member : batch) member->done = true;
            m_committing = false;
            m_queue_done.notify_all();
        }
    }
    if (pending.error) std::rethrow_exception(pending.error);
    std::shared_lock lock(m_mutex);
    return Submission{make_entry(pending.index, m_store->read(pending.index), m_tree.size()), pending.created};
}

void TransparencyLog::commit(const std::vector<PendingSubmission*>& batch) noexcept {
    // Only one commit runs at a time and nothing else writes, so the tree,
    // the index and the store may be read here without m_mutex; they change
    // only under it (exclusive), which readers respect.
    const std::uint64_t first = m_tree.size();
    std::vector<TlogRecord> records;
    std::unordered_map<std::string, std::uint64_t> fresh;  // leaf -> index, new in this batch
    try {
        const std::int64_t now = m_clock();
        for (PendingSubmission* member : batch) {
            if (auto existing = m_index_by_leaf.find(member->leaf); existing != m_index_by_leaf.end()) {
                member->index = existing->second;
            } else if (auto twin = fresh.find(member->leaf); twin != fresh.end()) {
                member->index = twin->second;  // the same entry twice in one batch
            } else {
                member->index = first + records.size();
                member->created = true;
                fresh.emplace(member->leaf, member->index);
                records.push_back(TlogRecord{member->body, now});
            }
        }
        if (records.empty()) return;
        m_store->write(records);  // durable from here: only now may anyone learn of them
        std::unique_lock lock(m_mutex);
        m_store->publish();
        for (PendingSubmission* member : batch)
            if (member->created) {
                m_tree.append(member->leaf);
                m_index_by_leaf.emplace(member->leaf, member->index);
            }
    } catch (...) {
        for (PendingSubmission* member : batch)
            if (member->index >= first) member->error = std::current_exception();
    }
}

TransparencyLogEntry TransparencyLog::entry(std::uint64_t index) const {
    std::shared_lock lock(m_mutex);
    if (index >= m_tree.size())
        throw Error(ErrorCode::NotFound, fmt::format("no entry with log index {}: the log has {} entries", index,
                                                     m_tree.size()));
    return make_entry(index, m_store->read(index), m_tree.size());
}

std::optional<std::uint64_t> TransparencyLog::find(std::string_view leaf) const {
    std::shared_lock lock(m_mutex);
    auto it = m_index_by_leaf.find(std::string(leaf));
    if (it == m_index_by_leaf.end()) return std::nullopt;
    return it->second;
}

std::uint64_t TransparencyLog::size() const {
    std::shared_lock lock(m_mutex);
    return m_tree.size();
}

LogInfo TransparencyLog::info() const {
    std::shared_lock lock(m_mutex);
    return LogInfo{m_tree.root(), m_tree.size(), signed_checkpoint(m_tree.size())};
}

ConsistencyProof TransparencyLog::consistency_proof(std::uint64_t first_size, std::uint64_t last_size) const {
    std::shared_lock lock(m_mutex);
    if (first_size < 1 || first_size > last_size || last_size > m_tree.size())
        throw Error(ErrorCode::Usage,
                    fmt::format("no consistency proof from size {} to {}: the log has {} entries", first_size,
                                last_size, m_tree.size()),
                    "ask for 1 <= firstSize <= lastSize <= the current tree size");
    return ConsistencyProof{first_size, last_size, m_tree.root(last_size),
                            m_tree.consistency_proof(first_size, last_size)};
}

// ------------------------------------------------------------------ HTTP

util::HttpServerResponse handle_tlog_request(TransparencyLog& log, const util::HttpServerRequest& request) {
    using util::HttpServerResponse;
    auto method_not_allowed = [](const char* allowed) {
        HttpServerResponse response = HttpServerResponse::error(405, fmt::format("use {} here", allowed));
        response.headers.emplace_back("Allow", allowed);
        return response;
    };
    auto entry_response = [](int status, const TransparencyLogEntry& entry) {
        HttpServerResponse response = HttpServerResponse::json(status, rekor_entry_to_json(entry).dump());
        const std::string uuid = entry_uuid(entry.canonicalized_body);
        response.headers.emplace_back("ETag", "\"" + uuid + "\"");
        response.headers.emplace_back("Location", "/api/v1/log/entries/" + uuid);
        return response;
    };
    const bool get = request.method == "GET" || request.method == "HEAD";
    const std::string& path = request.path;

    if (path == "/api/v1/log/entries") {
        if (request.method == "POST") {
            if (request.body.empty())
                return HttpServerResponse::error(400, "the request has no body: send a proposed entry as JSON");
            TransparencyLog::Submission submission = log.submit(request.body);
            return entry_response(submission.created ? 201 : 409, submission.entry);
        }
        if (!get) return method_not_allowed("GET, POST");
        auto index = parse_count(request.query, "logIndex");
        if (!index) return HttpServerResponse::error(400, "give ?logIndex=N");
        return entry_response(200, log.entry(*index));
    }
    if (path.starts_with("/api/v1/log/entries/")) {
        if (!get) return method_not_allowed("GET");
        std::string uuid = path.substr(std::string_view("/api/v1/log/entries/").size());
        if (uuid.size() == 80) uuid = uuid.substr(16);  // Rekor's tree ID prefix
        auto leaf = uuid.size() == 64 ? util::from_hex(uuid) : std::nullopt;
        if (!leaf) return HttpServerResponse::error(400, "an entry UUID is 64 hex digits");
        auto index = log.find(*leaf);
        if (!index) return HttpServerResponse::error(404, fmt::format("no entry with UUID {}", uuid));
        return entry_response(200, log.entry(*index));
    }
    if (path == "/api/v1/log") {
        if (!get) return method_not_allowed("GET");
        LogInfo info = log.info();
        nlohmann::ordered_json body = {{"rootHash", util::to_hex(info.root_hash)},
                                       {"signedTreeHead", info.signed_tree_head},
                                       {"treeSize", info.tree_size},
                                       {"treeID", std::to_string(tree_id(log.log_id()))}};
        return HttpServerResponse::json(200, body.dump());
    }
    if (path == "/api/v1/log/proof") {
        if (!get) return method_not_allowed("GET");
        auto last = parse_count(request.query, "lastSize");
        if (!last) return HttpServerResponse::error(400, "give ?firstSize=N&lastSize=M");
        ConsistencyProof proof = log.consistency_proof(parse_count(request.query, "firstSize").value_or(1), *last);
        nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
        for (const auto& hash : proof.hashes) hashes.push_back(util::to_hex(hash));
        nlohmann::ordered_json body = {{"hashes", std::move(hashes)}, {"rootHash", util::to_hex(proof.root_hash)}};
        return HttpServerResponse::json(200, body.dump());
    }
    if (path == "/api/v1/log/publicKey") {
        if (!get) return method_not_allowed("GET");
        return HttpServerResponse::text(200, log.public_key().pem(), "application/x-pem-file");
    }
    return HttpServerResponse::error(404, fmt::format("no such endpoint: {} {}", request.method, path));
}

}  // namespace slate::sign
