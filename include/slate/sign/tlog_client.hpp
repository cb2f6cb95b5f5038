#pragma once
// A client of a transparency log that speaks Rekor's v1 REST API: slate's own
// air-gapped log (`slate tlog serve`) and, since the paths and shapes are
// Rekor's, a Rekor v1 instance.
//
//   POST /api/v1/log/entries                 submit a proposed entry
//   GET  /api/v1/log/entries?logIndex=N      read an entry back
//   GET  /api/v1/log                         {rootHash, treeSize, signedTreeHead}
//   GET  /api/v1/log/proof?firstSize=&lastSize=   consistency proof
//   GET  /api/v1/log/publicKey               the log's key (PEM)
//
// The entries it returns are in bundle.hpp's shape, ready to go into a
// Sigstore bundle's verificationMaterial.tlogEntries: kind and version,
// the canonicalized body, the inclusion proof with its signed checkpoint,
// and the signed entry timestamp. The client does not verify what the log
// returns against the log's key: that is verify_bundle's job (offline, with
// a key the user trusts), not something to do with a key fetched from the
// same server.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "slate/sign/bundle.hpp"
#include "slate/sign/dsse.hpp"
#include "slate/sign/keys.hpp"
#include "slate/sign/tlog.hpp"
#include "slate/util/http.hpp"

namespace slate::sign {

// LogInfo and ConsistencyProof are declared in tlog.hpp.

// Errors are slate::Error:
//   Network  - the log cannot be reached, or answered 5xx
//   Usage    - the log refused the submission (HTTP 400/413: bad signature,
//              malformed entry; the log's message is quoted)
//   NotFound - no entry at that index / no such size (HTTP 404)
//   Parse    - the log's answer is not the documented shape
class TlogClient {
public:
    // `base_url`: e.g. "http://127.0.0.1:3000" (a trailing '/' is ignored).
    // `http` is borrowed and must outlive the client.
    TlogClient(std::string base_url, util::HttpClient& http);

    // Records a hashedrekord 0.0.1 entry: `signature` (raw) by `key` over an
    // artifact whose raw SHA-256 digest is `artifact_sha256`. When the log
    // already holds the same entry (HTTP 409) the existing entry is returned.
    TransparencyLogEntry submit_hashedrekord(std::string_view artifact_sha256, std::string_view signature,
                                             const PublicKey& key);
    // Records a dsse 0.0.1 entry for `envelope`, whose signatures verify with `key`.
    TransparencyLogEntry submit_dsse(const Envelope& envelope, const PublicKey& key);

    // The entry at `log_index`, with an inclusion proof at the current tree size.
    TransparencyLogEntry entry(std::uint64_t log_index);

    LogInfo log_info();
    // The current signed checkpoint (a C2SP signed note) as text.
    std::string checkpoint();
    ConsistencyProof consistency_proof(std::uint64_t first_size, std::uint64_t last_size);
    // The log's public key, as the log reports it.
    PublicKey public_key();

    const std::string& base_url() const { return m_base_url; }

private:
    TransparencyLogEntry submit(const std::string& proposed_entry);
    std::string get_text(const std::string& path_and_query, std::string_view what);

    std::string m_base_url;
    util::HttpClient& m_http;
};

}  // namespace slate::sign
