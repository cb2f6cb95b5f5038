#pragma once
// A client for one OCI registry (Distribution Spec 1.1): manifests and
// indexes, blobs (monolithic, chunked and resumed uploads, cross-repository
// mounts), tags, deletes and referrers (the API, and the sha256-<hex> tag
// fallback for registries without it).
//
// Everything fetched is checked against its digest before it is returned; a
// mismatch is an Integrity error. Authentication (anonymous, Basic, Bearer
// tokens) is handled by an Authenticator that clients of the same registry
// share, so parallel transfers reuse one token per scope.
//
// A Client is not thread-safe: give each thread its own (they are cheap), all
// made with the same Authenticator.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/oci/image.hpp"
#include "slate/registry/credentials.hpp"
#include "slate/util/log.hpp"

namespace slate::registry {

namespace detail {
class Transport;
struct HttpRequest;
struct HttpResponse;
}  // namespace detail

struct ClientOptions {
    std::string user_agent = "slate/0.1";
    int retries = 4;                              // extra attempts after the first (5xx, 429, network)
    std::chrono::milliseconds backoff{500};       // first delay; doubles each retry; Retry-After honoured
    std::chrono::seconds connect_timeout{15};
    std::chrono::seconds stall_timeout{30};       // abort a transfer under 1 byte/s for this long
    std::string ca_file{};                        // an extra CA bundle (PEM) for TLS
    // Plain HTTP, and TLS without certificate verification, for every
    // registry. Loopback registries (localhost, 127.0.0.0/8, ::1) may use
    // plain HTTP without it.
    bool insecure = false;
    // Blobs larger than this are uploaded in PATCH chunks of this size (an
    // interrupted chunk is resumed from where the registry says it stopped);
    // smaller ones with one PUT. 0: always one PUT.
    std::uint64_t chunk_size = 64ull << 20;
    unsigned jobs = 4;                            // parallel blob transfers (copy, push, pull)
};

// Which credentials to use for a registry: the CLI passes flags and
// environment variables first, then the Docker config's.
class CredentialSource {
public:
    virtual ~CredentialSource() = default;
    virtual std::optional<Credentials> lookup(std::string_view registry) = 0;
};

// Remembers how a registry wants to be authenticated (its WWW-Authenticate
// challenge) and the Bearer tokens it was given, per scope, until they
// expire. Shared by every Client of one registry; thread-safe.
class Authenticator {
public:
    Authenticator(std::string registry, std::optional<Credentials> credentials);

    const std::string& registry() const { return m_registry; }
    bool has_credentials() const { return m_credentials.has_value(); }

private:
    friend class Client;
    struct Token {
        std::string value;
        std::chrono::steady_clock::time_point expires;
    };

    std::string m_registry;
    std::optional<Credentials> m_credentials;
    std::mutex m_probe_mutex;  // held while finding out whether the registry speaks TLS
    std::mutex m_fetch_mutex;  // held while a token is fetched, so threads do not fetch the same one
    std::mutex m_mutex;  // guards everything below
    std::string m_scheme;  // "" (not asked yet / anonymous), "basic" or "bearer"
    std::map<std::string, std::string> m_params;  // the challenge's realm, service, ...
    std::map<std::string, Token> m_tokens;        // by scope
    std::string m_base;  // "https://host:port" (or http:// for a registry without TLS), once known
};

// A manifest or index as the registry stored it, byte for byte.
struct ManifestBytes {
    std::string media_type;
    std::string digest;  // sha256 of `bytes`, checked
    std::string bytes;

    oci::Descriptor descriptor() const;
};

// The Accept header value for manifests: OCI index and manifest, Docker
// manifest list and schema 2 manifest.
extern const char* const ManifestAccept;

// What an upload did, for progress reports and benchmarks.
enum class BlobPush { Existed, Mounted, Uploaded };

class Client {
public:
    Client(std::shared_ptr<Authenticator> auth, const ClientOptions& options, util::LogSink& log,
           util::ProgressSink& progress);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    const std::string& registry() const { return m_auth->registry(); }
    const std::shared_ptr<Authenticator>& authenticator() const { return m_auth; }

    // GET /v2/ with the credentials: checks that the registry is there and
    // accepts them (what `slate login` does). Throws Error: Auth, Network.
    void ping();

    // GET /v2/<repo>/manifests/<reference> (a tag or digest). Checks the
    // bytes against the digest asked for, or against Docker-Content-Digest.
    // Throws Error: NotFound (no such manifest), Integrity, Parse (a media
    // type slate does not read, e.g. Docker schema 1), Network, Auth.
    ManifestBytes get_manifest(std::string_view repository, std::string_view reference);
    // HEAD: the manifest's descriptor, or nullopt when the registry has none.
    std::optional<oci::Descriptor> head_manifest(std::string_view repository, std::string_view reference);
    // PUT /v2/<repo>/manifests/<reference> (a tag, or the bytes' digest).
    // Returns the manifest's descriptor. `subject_supported` (when not null)
    // tells whether the registry answered with OCI-Subject, i.e. maintains
    // the referrers API for a manifest with a subject.
    oci::Descriptor put_manifest(std::string_view repository, std::string_view reference, std::string_view bytes,
                                 std::string_view media_type, bool* subject_supported = nullptr);
    void delete_manifest(std::string_view repository, std::string_view digest);

    bool has_blob(std::string_view repository, const oci::Descriptor& blob);
    // Streams the blob into `out` (created, or truncated on retries) and
    // checks size and digest; a mismatch removes `out` and throws Integrity.
    void get_blob(std::string_view repository, const oci::Descriptor& blob, const std::filesystem::path& out);
    // Uploads the file `in` as `blob` unless the registry has it: tries a
    // mount from `mount_from` (another repository of the same registry) first
    // when given, then a monolithic PUT or PATCH chunks (ClientOptions::chunk_size).
    BlobPush put_blob(std::string_view repository, const oci::Descriptor& blob, const std::filesystem::path& in,
                      std::string_view mount_from = {});
    // Mounts `blob` from the repository `from` of the same registry without
    // sending its bytes. False when the registry cannot (it does not have the
    // blob there, or does not mount); the upload session it opened instead is
    // cancelled.
    bool mount_blob(std::string_view repository, const oci::Descriptor& blob, std::string_view from);
    // Small blobs held in memory (configs, empty JSON).
    BlobPush put_blob_bytes(std::string_view repository, const oci::Descriptor& blob, std::string_view bytes);
    std::string get_blob_bytes(std::string_view repository, const oci::Descriptor& blob);

    // Every tag, following Link: <...>; rel="next" pages.
    std::vector<std::string> list_tags(std::string_view repository, unsigned page_size = 0);

    // The manifests whose subject is `digest`: from the referrers API, or
    // from the sha256-<hex> fallback tag when the registry has no API. Only
    // those of `artifact_type` when it is not empty.
    std::vector<oci::Descriptor> referrers(std::string_view repository, std::string_view digest,
                                           std::string_view artifact_type = {});
    // Pushes an artifact manifest (one with a subject) by digest and, when
    // the registry does not maintain the referrers API for it, adds it to the
    // fallback index under the sha256-<hex> tag of its subject.
    oci::Descriptor put_referrer(std::string_view repository, const oci::Manifest& manifest);

private:
    struct Payload;
    // Sends `request` with the authorization for `repository`:`actions` (and
    // `extra_scope`), answering a 401 challenge once and retrying transient
    // failures when `retry`. Returns the final response; callers judge it.
    detail::HttpResponse send(detail::HttpRequest& request, std::string_view repository, std::string_view actions,
                              std::string_view what, bool retry = true, std::string_view extra_scope = {});
    [[noreturn]] void fail(const detail::HttpResponse& response, std::string_view what, std::string_view repository);
    std::string url(std::string_view path);
    void ensure_scheme();
    std::string authorization(const std::string& scope);
    // Learns the challenge of a 401; true when sending again may succeed.
    // `sent` is the Authorization header that was refused ("" for none).
    bool authenticate(const detail::HttpResponse& response, const std::string& scope, const std::string& sent);
    std::string fetch_token(const std::string& scope);
    BlobPush upload(std::string_view repository, const oci::Descriptor& blob, const Payload& payload,
                    std::string_view mount_from);
    // Throws the Network error that makes upload() start a new session.
    [[noreturn]] void session_lost(const detail::HttpResponse& response, std::string_view repository,
                                   const oci::Descriptor& blob);
    void send_blob(std::string_view repository, const oci::Descriptor& blob, const Payload& payload,
                   std::string location);

    std::shared_ptr<Authenticator> m_auth;
    const ClientOptions& m_options;
    util::LogSink& m_log;
    util::ProgressSink& m_progress;
    std::unique_ptr<detail::Transport> m_transport;
    std::string m_base;  // "https://host:port" once known
};

}  // namespace slate::registry
