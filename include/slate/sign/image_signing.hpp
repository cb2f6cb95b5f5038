#pragma once
// Signing, attesting and verifying container images the way cosign does
// (cosign.hpp has the formats; docs/signing.md the details).
//
// Everything is written twice, so cosign v2 and v3 both find it:
//   - the legacy tag (sha256-<hex>.sig / .att), appended to when it exists;
//   - an OCI 1.1 referrer carrying a Sigstore bundle v0.3.
// Verification looks at the referrers first (the registry's API, else the
// referrers tag schema), then at the legacy tag, and succeeds when at least
// one signature made with the key passes every check.
//
// Concurrency: the referrers API is safe for concurrent writers (every
// artifact is its own manifest). The legacy tag and the referrers fallback
// index are read-modify-write: two writers can lose each other's entry.
// Writers on one machine are serialised with a lock file (registries: one
// per registry/repository under the lock directory; layouts: a lock on the
// layout directory), and after writing the tag is read again and the write
// repeated when the entry is gone (a bounded number of times). Writers on
// different machines are not serialised: against a registry without the
// referrers API, two machines attaching to one image at the same moment can
// still lose a legacy-tag entry; the re-read catches most of these, not all.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/oci/image.hpp"
#include "slate/registry/reference.hpp"
#include "slate/sign/keys.hpp"

namespace slate::registry {
class Client;
}

namespace slate::sign {

class TlogClient;

// A manifest or index byte for byte, with its descriptor (digest checked).
struct StoredManifest {
    oci::Descriptor descriptor;
    std::string bytes;
};

// Held while a read-modify-write step runs; released on destruction.
class StoreLock {
public:
    StoreLock() = default;
    explicit StoreLock(std::function<void()> release) : m_release(std::move(release)) {}
    StoreLock(StoreLock&& other) noexcept : m_release(std::exchange(other.m_release, nullptr)) {}
    StoreLock& operator=(StoreLock&& other) noexcept {
        if (this != &other) {
            if (m_release) m_release();
            m_release = std::exchange(other.m_release, nullptr);
        }
        return *this;
    }
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;
    ~StoreLock() {
        if (m_release) m_release();
    }

private:
    std::function<void()> m_release;
};

// Where an image and its signatures are: a registry repository or an OCI
// layout directory. Errors are slate::Error (NotFound, Integrity, Network,
// Auth, Parse, Io).
class ArtifactStore {
public:
    virtual ~ArtifactStore() = default;

    // "127.0.0.1:5000/app" or "oci:/path/to/layout": for messages.
    virtual std::string display_name() const = 0;
    // What identifies the store in the verification cache.
    virtual std::string cache_identity() const = 0;
    // The image's digest: free for a digest reference, one HEAD for a tag.
    virtual std::string resolve_digest() = 0;
    // A manifest or index by digest, checked.
    virtual StoredManifest get_manifest(std::string_view digest) = 0;
    // The manifest a tag names; nullopt when there is no such tag.
    virtual std::optional<StoredManifest> get_tagged(std::string_view tag) = 0;
    // A blob, checked against its digest (Integrity otherwise).
    virtual std::string get_blob(const oci::Descriptor& blob) = 0;
    virtual void put_blob(const oci::Descriptor& blob, std::string_view bytes) = 0;
    // Stores `bytes` (a manifest) and points `tag` at it.
    virtual void put_tagged(std::string_view tag, std::string_view bytes, std::string_view media_type) = 0;
    // The artifacts whose subject is `digest`.
    virtual std::vector<oci::Descriptor> referrers(std::string_view digest) = 0;
    // Stores an artifact manifest with a subject and lists it as a referrer.
    virtual oci::Descriptor put_referrer(const oci::Manifest& manifest) = 0;
    // Serialises this machine's writers of the store's tags.
    virtual StoreLock lock() = 0;
    // Checks that the blobs of the image `digest` match their digests where
    // that is local and cheap: a layout hashes every config and layer
    // (Integrity otherwise). A registry does nothing: the signed manifest
    // names the layer digests and every pull checks them.
    virtual void check_content(std::string_view digest) = 0;
    // Whether verification results for this store may be cached: false for
    // layouts, whose blobs can change in place under the same digest.
    virtual bool cacheable() const = 0;
};

// A repository of a registry, through `client` (borrowed). `reference`
// names the image (tag or digest). Lock files go to `lock_dir` (none when
// empty).
std::unique_ptr<ArtifactStore> make_registry_store(registry::Client& client, registry::Reference reference,
                                                   std::filesystem::path lock_dir);
// An OCI layout directory; `ref_name` chooses the image as
// oci::select_layout_entry does. Legacy tags become index.json entries named
// by org.opencontainers.image.ref.name; referrers are index.json entries with
// an artifactType whose manifest has the subject. index.json is rewritten
// atomically, under a lock on the directory.
std::unique_ptr<ArtifactStore> make_layout_store(std::filesystem::path dir, std::string ref_name);

// ------------------------------------------------------------ signing

struct SignOptions {
    const PrivateKey* key = nullptr;
    // critical.identity.docker-reference (cosign::docker_reference for a registry).
    std::string identity;
    // cosign's -a: the payload's "optional" object, the statement subject's annotations.
    std::map<std::string, std::string> annotations;
    // Also sign every manifest an index lists (and indexes inside it).
    bool recursive = false;
    // Records each signature in this log and embeds the entries (borrowed; may be null).
    TlogClient* tlog = nullptr;
    std::int64_t created = 0;  // org.opencontainers.image.created of the referrers (Unix seconds)
};

struct AttestOptions {
    const PrivateKey* key = nullptr;
    std::string identity;        // the statement subject's name
    std::string predicate_type;  // a URI (predicate_type_uri maps cosign's names)
    nlohmann::ordered_json predicate;
    bool recursive = false;
    TlogClient* tlog = nullptr;
    std::int64_t created = 0;
};

// What was written for one manifest.
struct SignedManifest {
    std::string digest;
    std::string legacy_tag;             // sha256-<hex>.sig or .att
    bool legacy_added = false;          // false: the same signature was there already
    std::string referrer;               // the referrer manifest's digest
    std::vector<std::int64_t> tlog_indexes;  // log indexes of the entries made
};

struct SignReport {
    std::string image;
    std::vector<SignedManifest> manifests;
};

SignReport sign_image(ArtifactStore& store, const SignOptions& options);
SignReport attest_image(ArtifactStore& store, const AttestOptions& options);

// ------------------------------------------------------------ verifying

struct VerifyOptions {
    const PublicKey* key = nullptr;
    // Verify attestations of this predicate type (a URI) instead of signatures.
    std::optional<std::string> attestation_type;
    // Require a transparency-log entry for each signature and check it
    // offline with this log key (borrowed; null: entries are not required
    // and not checked).
    const PublicKey* tlog_key = nullptr;
    // For an index: verify the manifest of this platform instead.
    std::optional<oci::Platform> platform;
};

// One signature or attestation that was looked at.
struct CheckedSignature {
    std::string location;   // "referrer sha256:..." or "tag sha256-<hex>.sig layer 0"
    std::string format;     // "bundle (dsse)", "bundle (message signature)", "simple signing", "dsse"
    bool verified = false;
    std::string failure;    // the check that failed, when not verified
    std::vector<std::string> checks;  // the checks that passed
    std::string predicate_type;
    nlohmann::ordered_json predicate;  // attestations
    std::optional<std::int64_t> tlog_index;
};

struct VerificationResult {
    std::string image;
    std::string digest;           // the manifest whose signatures were verified
    std::string key;              // the key's fingerprint
    std::string policy;           // "signature", or "attestation <uri>"
    bool tlog_checked = false;    // false: no log was consulted (air-gapped default)
    bool cached = false;          // answered from the verification cache
    std::vector<CheckedSignature> signatures;

    std::size_t verified_count() const;
};

// Finds the signatures (or attestations) of the image and checks them.
// Returns when at least one verifies with the key and passes every check;
// otherwise throws slate::Error (CheckFailed) whose message names the check
// that failed for each candidate ("no signature found" when there is none).
VerificationResult verify_image(ArtifactStore& store, const VerifyOptions& options);

nlohmann::ordered_json to_json(const VerificationResult& result);
VerificationResult verification_result_from_json(const nlohmann::json& json);

// Successful verifications by (store, digest, key, policy), one JSON file
// each under `dir`, written atomically. A failure is never cached.
class VerificationCache {
public:
    explicit VerificationCache(std::filesystem::path dir) : m_dir(std::move(dir)) {}

    std::optional<VerificationResult> find(const std::string& store, const std::string& digest,
                                           const std::string& key, const std::string& policy) const;
    // Stores `result` (which must have verified) for the image `digest`
    // resolved to. Failing to write is not an error: the cache only saves time.
    void store(const std::string& store, const std::string& digest, const VerificationResult& result) const;

private:
    std::filesystem::path path_for(const std::string& store, const std::string& digest, const std::string& key,
                                   const std::string& policy) const;
    std::filesystem::path m_dir;
};

// The policy text of `options` as the cache keys it.
std::string verification_policy(const VerifyOptions& options);

// verify_image through `cache` (may be null): a hit costs resolve_digest()
// alone.
VerificationResult verify_image_cached(ArtifactStore& store, const VerifyOptions& options,
                                       const VerificationCache* cache);

}  // namespace slate::sign
