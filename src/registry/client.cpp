#include "slate/registry/client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/registry/reference.hpp"
#include "slate/util/http.hpp"
#include "transport.hpp"
#include "util/curl_support.hpp"

namespace slate::registry {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using detail::HttpRequest;
using detail::HttpResponse;
using Json = nlohmann::json;

const char* const ManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

namespace {

// The Distribution Spec allows registries to refuse manifests over 4 MiB.
constexpr std::uint64_t ManifestLimit = 4u << 20;
constexpr int UploadRounds = 3;  // fresh upload sessions per blob before giving up

struct Fd {
    int fd = -1;
    explicit Fd(int value) : fd(value) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

std::string url_encode(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::string media_type_of(const HttpResponse& response) {
    std::string type = response.header("content-type");
    if (auto semicolon = type.find(';'); semicolon != std::string::npos) type.resize(semicolon);
    while (!type.empty() && type.back() == ' ') type.pop_back();
    return type;
}

// The error a registry put in its body ({"errors":[{"code","message"}]}), or "".
std::string registry_error(const HttpResponse& response) {
    Json doc = Json::parse(response.body, nullptr, false);
    if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array()) return {};
    std::string text;
    for (const auto& error : doc["errors"]) {
        if (!error.is_object()) continue;
        std::string code = error.value("code", std::string());
        std::string message = error.value("message", std::string());
        if (!text.empty()) text += "; ";
        text += code.empty() ? message : (message.empty() ? code : code + ": " + message);
    }
    return text;
}

// The URL a Location header names: absolute, or relative to the registry.
std::string resolve_location(const std::string& base, const std::string& location) {
    if (location.starts_with("http://") || location.starts_with("https://")) return location;
    if (location.starts_with("/")) return base + location;
    return base + "/" + location;
}

std::string with_query(const std::string& url, std::string_view query) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + std::string(query);
}

// The next page from a Link header: `</v2/...?last=x&n=y>; rel="next"`.
std::string next_link(const HttpResponse& response) {
    std::string link = response.header("link");
    if (link.find("rel=\"next\"") == std::string::npos && link.find("rel=next") == std::string::npos) return {};
    auto open = link.find('<');
    auto close = link.find('>', open);
    if (open == std::string::npos || close == std::string::npos) return {};
    return link.substr(open + 1, close - open - 1);
}

void reset_sink(int fd) {
    if (fd < 0) return;
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
        throw Error(ErrorCode::Io, fmt::format("cannot rewind a download file: {}", std::strerror(errno)));
}

std::vector<std::string> split_scopes(const std::string& scope) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < scope.size()) {
        std::size_t space = scope.find(' ', start);
        if (space == std::string::npos) space = scope.size();
        if (space > start) out.push_back(scope.substr(start, space - start));
        start = space + 1;
    }
    return out;
}

}  // namespace

// What a blob upload reads: a region of a file, or bytes in memory.
struct Client::Payload {
    int fd = -1;
    std::string_view bytes;
    std::uint64_t size = 0;

    void attach(HttpRequest& request, std::uint64_t offset, std::uint64_t length) const {
        request.has_body = true;
        if (fd >= 0) {
            request.body_fd = fd;
            request.body_offset = offset;
            request.body_length = length;
        } else {
            request.body = bytes.substr(offset, length);
        }
    }
};

oci::Descriptor ManifestBytes::descriptor() const {
    oci::Descriptor out;
    out.media_type = media_type;
    out.digest = digest;
    out.size = bytes.size();
    return out;
}

Authenticator::Authenticator(std::string registry, std::optional<Credentials> credentials)
    : m_registry(std::move(registry)), m_credentials(std::move(credentials)) {}

Client::Client(std::shared_ptr<Authenticator> auth, const ClientOptions& options, util::LogSink& log,
               util::ProgressSink& progress)
    : m_auth(std::move(auth)),
      m_options(options),
      m_log(log),
      m_progress(progress),
      m_transport(std::make_unique<detail::Transport>(options, progress)) {}

Client::~Client() = default;

// ------------------------------------------------------------ transport

void Client::ensure_scheme() {
    if (!m_base.empty()) return;
    std::lock_guard probing(m_auth->m_probe_mutex);  // one client probes; the others wait for its answer
    {
        std::lock_guard lock(m_auth->m_mutex);
        if (!m_auth->m_base.empty()) {
            m_base = m_auth->m_base;
            return;
        }
    }
    const std::string host = registry_endpoint_host(registry());
    std::string base = "https://" + host;
    // An HTTP answer to a plain request means plain HTTP works; a TLS server
    // answers it with 400 ("client sent an HTTP request to an HTTPS server").
    auto answers = [&](const std::string& candidate) {
        HttpRequest ping;
        ping.url = candidate + "/v2/";
        ping.timeout = std::chrono::seconds(10);
        HttpResponse response = m_transport->perform(ping);
        return response.status != 0 && response.status != 400;
    };
    if (is_loopback_host(registry())) {
        // Registries on loopback are nearly always plain HTTP: ask that first.
        if (answers("http://" + host)) base = "http://" + host;
    } else if (m_options.insecure) {
        // --insecure: TLS when the registry has it (unverified), else plain HTTP, as Docker does.
        HttpRequest ping;
        ping.url = base + "/v2/";
        ping.timeout = std::chrono::seconds(10);
        if (m_transport->perform(ping).status == 0 && answers("http://" + host)) base = "http://" + host;
    }
    std::lock_guard lock(m_auth->m_mutex);
    if (m_auth->m_base.empty()) m_auth->m_base = base;
    m_base = m_auth->m_base;
}

std::string Client::url(std::string_view path) {
    ensure_scheme();
    return m_base + std::string(path);
}

HttpResponse Client::send(HttpRequest& request, std::string_view repository, std::string_view actions,
                          std::string_view what, bool retry, std::string_view extra_scope) {
    std::string scope = repository.empty() ? std::string()
                                           : fmt::format("repository:{}:{}", repository, actions);
    if (!extra_scope.empty()) scope += " " + std::string(extra_scope);
    const std::size_t plain_headers = request.headers.size();
    const int attempts = retry ? std::max(m_options.retries, 0) + 1 : 1;
    bool challenged = false;
    for (int attempt = 1;;) {
        request.headers.resize(plain_headers);
        std::string auth_header = authorization(scope);
        if (!auth_header.empty()) request.headers.push_back(auth_header);
        reset_sink(request.sink_fd);
        HttpResponse response = m_transport->perform(request);
        if (response.status == 401 && !challenged) {
            challenged = true;
            if (authenticate(response, scope, auth_header)) continue;
        }
        bool transient = (response.status == 0 && response.retryable) || response.status == 429 ||
                         (response.status >= 500 && response.status != 501);
        if (!transient || attempt >= attempts) return response;
        auto delay = util::curl::retry_delay(m_options.backoff, attempt, response.retry_after());
        m_log.warning(fmt::format("retrying {} {}/{} in {} ({}, attempt {}/{})", what, registry(), repository,
                                  util::curl::format_delay(delay),
                                  response.status ? util::curl::describe_status(response.status)
                                                  : response.transport_error,
                                  attempt + 1, attempts));
        std::this_thread::sleep_for(delay);
        ++attempt;
    }
}

void Client::fail(const HttpResponse& response, std::string_view what, std::string_view repository) {
    std::string where = repository.empty() ? registry() : fmt::format("{}/{}", registry(), repository);
    if (response.status == 0 && (response.transport_error.find("certificate") != std::string::npos ||
                                 response.transport_error.find("SSL") != std::string::npos))
        throw Error(ErrorCode::Network, fmt::format("cannot {} {}: {}", what, where, response.transport_error),
                    "give the CA that signed the registry's certificate with --ca-file (SLATE_CA_FILE), or "
                    "--insecure to skip the check");
    if (response.status == 0)
        throw Error(ErrorCode::Network, fmt::format("cannot {} {}: {}", what, where, response.transport_error),
                    m_options.insecure || is_loopback_host(registry())
                        ? "check that the registry is running and the address is right"
                        : "check the registry address and the network; a registry without TLS needs --insecure");
    std::string detail = registry_error(response);
    std::string text = fmt::format("cannot {} {}: {}{}", what, where, util::curl::describe_status(response.status),
                                   detail.empty() ? "" : " (" + detail + ")");
    const bool has_credentials = m_auth->has_credentials();
    if (response.status == 401)
        throw Error(ErrorCode::Auth, text,
                    has_credentials ? fmt::format("the registry refused the credentials: run `slate login {}` again "
                                                  "or check SLATE_REGISTRY_USERNAME / SLATE_REGISTRY_PASSWORD",
                                                  registry())
                                    : fmt::format("the registry needs credentials: run `slate login {}`", registry()));
    if (response.status == 403)
        throw Error(ErrorCode::Auth, text, "these credentials may not do this here; ask the registry's administrator");
    if (response.status == 404)
        throw Error(ErrorCode::NotFound, text, "check the repository name, tag and digest");
    if (response.status == 429 || response.status >= 500)
        throw Error(ErrorCode::Network, text + fmt::format(" after {} attempts", m_options.retries + 1),
                    "the registry is failing or overloaded; try again later");
    throw Error(ErrorCode::Network, text, "the registry refused the request");
}

// ------------------------------------------------------------ authentication

std::string Client::authorization(const std::string& scope) {
    std::unique_lock lock(m_auth->m_mutex);
    if (m_auth->m_scheme == "basic" && m_auth->m_credentials)
        return "Authorization: Basic " +
               base64_encode(m_auth->m_credentials->username + ":" + m_auth->m_credentials->password);
    if (m_auth->m_scheme != "bearer") return {};
    auto token = m_auth->m_tokens.find(scope);
    if (token != m_auth->m_tokens.end() && token->second.expires > std::chrono::steady_clock::now())
        return "Authorization: Bearer " + token->second.value;
    lock.unlock();
    std::lock_guard fetching(m_auth->m_fetch_mutex);  // one fetch per scope, however many threads ask
    lock.lock();
    token = m_auth->m_tokens.find(scope);
    if (token != m_auth->m_tokens.end() && token->second.expires > std::chrono::steady_clock::now())
        return "Authorization: Bearer " + token->second.value;
    lock.unlock();
    return "Authorization: Bearer " + fetch_token(scope);
}

bool Client::authenticate(const HttpResponse& response, const std::string& scope, const std::string& sent) {
    std::vector<Challenge> challenges = parse_www_authenticate(response.header("www-authenticate"));
    const Challenge* chosen = nullptr;
    for (const auto& challenge : challenges)
        if (challenge.scheme == "bearer") chosen = &challenge;
    if (!chosen)
        for (const auto& challenge : challenges)
            if (challenge.scheme == "basic") chosen = &challenge;
    if (!chosen) return false;
    {
        std::lock_guard lock(m_auth->m_mutex);
        const bool same = m_auth->m_scheme == chosen->scheme;
        m_auth->m_scheme = chosen->scheme;
        m_auth->m_params = chosen->params;
        if (chosen->scheme == "basic") return m_auth->m_credentials.has_value() && !(same && !sent.empty());
    }
    // Several threads may be refused at once: one fetches a token, the others
    // wait for it. A token other than the one refused is a fresh one: use it.
    std::lock_guard fetching(m_auth->m_fetch_mutex);
    {
        std::lock_guard lock(m_auth->m_mutex);
        auto token = m_auth->m_tokens.find(scope);
        if (token != m_auth->m_tokens.end() && "Authorization: Bearer " + token->second.value != sent &&
            token->second.expires > std::chrono::steady_clock::now())
            return true;
    }
    fetch_token(scope);
    return true;
}

std::string Client::fetch_token(const std::string& scope) {
    std::map<std::string, std::string> params;
    std::optional<Credentials> credentials;
    {
        std::lock_guard lock(m_auth->m_mutex);
        params = m_auth->m_params;
        credentials = m_auth->m_credentials;
    }
    std::string realm = params["realm"];
    if (!realm.starts_with("https://") && !realm.starts_with("http://"))
        throw Error(ErrorCode::Auth,
                    fmt::format("registry {} names a token server that is not an HTTP URL: \"{}\"", registry(), realm),
                    "the registry's auth configuration is broken; tell its administrator");
    if (realm.starts_with("http://") && credentials && !m_options.insecure) {
        std::string realm_host = realm.substr(7, realm.find('/', 7) - 7);
        if (!is_loopback_host(realm_host))
            throw Error(ErrorCode::Auth,
                        fmt::format("registry {} asks for credentials over plain HTTP ({})", registry(),
                                    util::redact_url(realm)),
                        "slate does not send credentials unencrypted; use --insecure only if you accept that");
    }
    std::string query;
    if (!params["service"].empty()) query += "service=" + url_encode(params["service"]);
    for (const auto& one : split_scopes(scope)) query += (query.empty() ? "" : "&") + ("scope=" + url_encode(one));

    HttpRequest request;
    std::string form;
    if (credentials && !credentials->identity_token.empty()) {
        // OAuth2 refresh-token grant, as Docker does with an identity token.
        request.method = "POST";
        request.url = realm;
        form = query + "&grant_type=refresh_token&client_id=slate&refresh_token=" +
               url_encode(credentials->identity_token);
        request.has_body = true;
        request.body = form;
        request.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    } else {
        request.url = query.empty() ? realm : with_query(realm, query);
        if (credentials)
            request.headers.push_back("Authorization: Basic " +
                                      base64_encode(credentials->username + ":" + credentials->password));
    }
    request.memory_limit = 1u << 20;

    HttpResponse response;
    const int attempts = std::max(m_options.retries, 0) + 1;
    for (int attempt = 1;; ++attempt) {
        response = m_transport->perform(request);
        bool transient = (response.status == 0 && response.retryable) || response.status == 429 ||
                         response.status >= 500;
        if (!transient || attempt >= attempts) break;
        std::this_thread::sleep_for(util::curl::retry_delay(m_options.backoff, attempt, response.retry_after()));
    }
    const std::string what = fmt::format("the token server of registry {} ({})", registry(), util::redact_url(realm));
    if (response.status == 401 || response.status == 403)
        throw Error(ErrorCode::Auth, fmt::format("{} refused {} for {}: {}", what,
                                                 credentials ? "the credentials" : "anonymous access", scope,
                                                 util::curl::describe_status(response.status)),
                    credentials ? fmt::format("check the user name and password: `slate login {}`", registry())
                                : fmt::format("the registry needs credentials: run `slate login {}`", registry()));
    if (!response.ok())
        throw Error(ErrorCode::Network,
                    fmt::format("cannot get a token from {}: {}", what,
                                response.status ? util::curl::describe_status(response.status)
                                                : response.transport_error),
                    "check that the registry's token server is reachable");
    Json doc = Json::parse(response.body, nullptr, false);
    std::string token;
    if (doc.is_object()) {
        if (doc.contains("token") && doc["token"].is_string()) token = doc["token"].get<std::string>();
        if (token.empty() && doc.contains("access_token") && doc["access_token"].is_string())
            token = doc["access_token"].get<std::string>();
    }
    if (token.empty())
        throw Error(ErrorCode::Auth, fmt::format("{} answered without a token", what),
                    "the token server is misconfigured; tell the registry's administrator");
    std::int64_t lifetime = 60;  // the spec's default, and its minimum
    if (doc.contains("expires_in") && doc["expires_in"].is_number_integer())
        lifetime = std::max<std::int64_t>(doc["expires_in"].get<std::int64_t>(), 60);
    std::lock_guard lock(m_auth->m_mutex);
    // Renew a little early so a token never expires in flight.
    m_auth->m_tokens[scope] = {token, std::chrono::steady_clock::now() + std::chrono::seconds(lifetime - 10)};
    return token;
}

// ------------------------------------------------------------ manifests

void Client::ping() {
    HttpRequest request;
    request.url = url("/v2/");
    HttpResponse response = send(request, {}, {}, "log in to");
    if (!response.ok()) fail(response, "log in to", {});
    // A registry that lets anyone in still has to accept the credentials:
    // with a Bearer challenge, fetching a token proved them; with Basic, the
    // 200 after sending them did. Without any challenge they were never sent.
    std::lock_guard lock(m_auth->m_mutex);
    if (m_auth->m_scheme.empty() && m_auth->m_credentials)
        m_log.warning(fmt::format("{} did not ask for credentials; they were not checked", registry()));
}

ManifestBytes Client::get_manifest(std::string_view repository, std::string_view reference) {
    HttpRequest request;
    request.url = url(fmt::format("/v2/{}/manifests/{}", repository, reference));
    request.headers.push_back(std::string("Accept: ") + ManifestAccept);
    request.memory_limit = ManifestLimit;
    const std::string what = fmt::format("fetch manifest {} of", reference);
    HttpResponse response = send(request, repository, "pull", what);
    if (response.too_large)
        throw Error(ErrorCode::Parse,
                    fmt::format("manifest {} of {}/{} is larger than 4 MiB", reference, registry(), repository),
                    "registries and clients refuse manifests this large; it is not an image manifest");
    if (!response.ok()) fail(response, what, repository);

    ManifestBytes manifest;
    manifest.bytes = std::move(response.body);
    manifest.digest = "sha256:" + response.sha256;
    manifest.media_type = media_type_of(response);
    if (manifest.media_type.empty() || manifest.media_type == "application/json" ||
        manifest.media_type == "text/plain") {
        Json doc = Json::parse(manifest.bytes, nullptr, false);
        if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string())
            manifest.media_type = doc["mediaType"].get<std::string>();
    }
    if (manifest.media_type.starts_with("application/vnd.docker.distribution.manifest.v1"))
        throw Error(ErrorCode::Parse,
                    fmt::format("{}/{}:{} is a Docker schema 1 manifest, which slate does not read", registry(),
                                repository, reference),
                    "schema 1 is deprecated; push the image again with a current tool");
    if (reference.starts_with("sha256:") && manifest.digest != reference)
        throw Error(ErrorCode::Integrity,
                    fmt::format("manifest {} from {}/{} does not match its digest (the bytes hash to {})", reference,
                                registry(), repository, manifest.digest),
                    "the registry or something between it and slate altered the manifest; do not use it");
    if (std::string claimed = response.header("docker-content-digest");
        !claimed.empty() && claimed.starts_with("sha256:") && claimed != manifest.digest)
        throw Error(ErrorCode::Integrity,
                    fmt::format("manifest {} from {}/{} does not match the digest the registry gave ({}; the bytes "
                                "hash to {})",
                                reference, registry(), repository, claimed, manifest.digest),
                    "the registry or something between it and slate altered the manifest; do not use it");
    return manifest;
}

std::optional<oci::Descriptor> Client::head_manifest(std::string_view repository, std::string_view reference) {
    HttpRequest request;
    request.method = "HEAD";
    request.url = url(fmt::format("/v2/{}/manifests/{}", repository, reference));
    request.headers.push_back(std::string("Accept: ") + ManifestAccept);
    const std::string what = fmt::format("look up manifest {} of", reference);
    HttpResponse response = send(request, repository, "pull", what);
    if (response.status == 404) return std::nullopt;
    if (!response.ok()) fail(response, what, repository);
    std::string digest = response.header("docker-content-digest");
    std::string length = response.header("content-length");
    if (!oci::is_sha256_digest(digest) || length.empty())  // some registries omit them on HEAD
        return get_manifest(repository, reference).descriptor();
    oci::Descriptor descriptor;
    descriptor.media_type = media_type_of(response);
    descriptor.digest = digest;
    descriptor.size = std::stoull(length);
    return descriptor;
}

oci::Descriptor Client::put_manifest(std::string_view repository, std::string_view reference, std::string_view bytes,
                                     std::string_view media_type, bool* subject_supported) {
    oci::Descriptor descriptor = oci::describe(media_type, bytes);
    HttpRequest request;
    request.method = "PUT";
    request.url = url(fmt::format("/v2/{}/manifests/{}", repository, reference));
    request.headers.push_back("Content-Type: " + std::string(media_type));
    request.has_body = true;
    request.body = bytes;
    const std::string what = fmt::format("push manifest {} to", reference);
    HttpResponse response = send(request, repository, "pull,push", what);
    // distribution 2.8 rewrites a repository's blob link in place when a
    // second upload of the same blob finishes, so a manifest pushed at that
    // moment by another client can find a blob "unknown" that is there.
    // Asking again a little later is enough.
    for (int attempt = 1; attempt < 4 && response.status == 400 &&
                          registry_error(response).find("MANIFEST_BLOB_UNKNOWN") != std::string::npos;
         ++attempt) {
        m_log.warning(fmt::format("{}/{} does not see a blob of manifest {} yet; pushing it again (attempt {}/4)",
                                  registry(), repository, descriptor.digest, attempt + 1));
        std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
        response = send(request, repository, "pull,push", what);
    }
    if (!response.ok()) fail(response, what, repository);
    if (std::string claimed = response.header("docker-content-digest");
        !claimed.empty() && claimed != descriptor.digest)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{}/{} stored manifest {} as {}", registry(), repository, descriptor.digest, claimed),
                    "the registry rewrote the manifest; push to a registry that stores manifests as given");
    if (subject_supported) *subject_supported = !response.header("oci-subject").empty();
    return descriptor;
}

void Client::delete_manifest(std::string_view repository, std::string_view digest) {
    HttpRequest request;
    request.method = "DELETE";
    request.url = url(fmt::format("/v2/{}/manifests/{}", repository, digest));
    const std::string what = fmt::format("delete manifest {} from", digest);
    HttpResponse response = send(request, repository, "delete", what);
    if (response.status == 405 ||
        (response.status == 400 && registry_error(response).find("UNSUPPORTED") != std::string::npos))
        throw Error(ErrorCode::Network,
                    fmt::format("registry {} does not allow deleting manifests ({})", registry(),
                                util::curl::describe_status(response.status)),
                    "deletes are switched off on this registry (distribution: storage.delete.enabled)");
    if (!response.ok()) fail(response, what, repository);
}

// ------------------------------------------------------------ blobs

bool Client::has_blob(std::string_view repository, const oci::Descriptor& blob) {
    HttpRequest request;
    request.method = "HEAD";
    request.url = url(fmt::format("/v2/{}/blobs/{}", repository, blob.digest));
    const std::string what = fmt::format("look up blob {} in", blob.digest);
    HttpResponse response = send(request, repository, "pull", what);
    if (response.status == 404) return false;
    if (!response.ok()) fail(response, what, repository);
    return true;
}

void Client::get_blob(std::string_view repository, const oci::Descriptor& blob, const fs::path& out) {
    Fd file(::open(out.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (file.fd < 0)
        throw Error(ErrorCode::Io, fmt::format("cannot create {}: {}", out.string(), std::strerror(errno)),
                    "check free disk space and the permissions of the destination directory");
    HttpRequest request;
    request.url = url(fmt::format("/v2/{}/blobs/{}", repository, blob.digest));
    request.sink_fd = file.fd;
    request.expected_size = blob.size;
    request.progress_label = std::string(blob.hex().substr(0, 12));
    request.progress_total = blob.size;
    const std::string what = fmt::format("download blob {} from", blob.digest);
    try {
        HttpResponse response = send(request, repository, "pull", what);
        if (response.too_large || (response.ok() && (response.size != blob.size ||
                                                     "sha256:" + response.sha256 != blob.digest)))
            throw Error(ErrorCode::Integrity,
                        fmt::format("blob {} from {}/{} does not match its digest ({} bytes hashing to {}; expected "
                                    "{} bytes)",
                                    blob.digest, registry(), repository,
                                    response.too_large ? fmt::format("more than {}", blob.size)
                                                       : std::to_string(response.size),
                                    response.too_large ? "something else" : "sha256:" + response.sha256, blob.size),
                        "the registry's copy is damaged or was altered; it was not used");
        if (!response.ok()) fail(response, what, repository);
        if (::fsync(file.fd) != 0)
            throw Error(ErrorCode::Io, fmt::format("cannot fsync {}: {}", out.string(), std::strerror(errno)));
        m_progress.finish(request.progress_label);
    } catch (...) {
        m_progress.finish(request.progress_label);
        ::unlink(out.c_str());
        throw;
    }
}

std::string Client::get_blob_bytes(std::string_view repository, const oci::Descriptor& blob) {
    HttpRequest request;
    request.url = url(fmt::format("/v2/{}/blobs/{}", repository, blob.digest));
    request.expected_size = blob.size;
    request.memory_limit = blob.size;
    const std::string what = fmt::format("download blob {} from", blob.digest);
    HttpResponse response = send(request, repository, "pull", what);
    if (response.too_large || (response.ok() && "sha256:" + response.sha256 != blob.digest))
        throw Error(ErrorCode::Integrity,
                    fmt::format("blob {} from {}/{} does not match its digest", blob.digest, registry(), repository),
                    "the registry's copy is damaged or was altered; it was not used");
    if (!response.ok()) fail(response, what, repository);
    return std::move(response.body);
}

BlobPush Client::put_blob(std::string_view repository, const oci::Descriptor& blob, const fs::path& in,
                          std::string_view mount_from) {
    if (has_blob(repository, blob)) return BlobPush::Existed;
    Fd file(::open(in.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat info {};
    if (file.fd < 0 || ::fstat(file.fd, &info) != 0)
        throw Error(ErrorCode::Io, fmt::format("cannot read {}: {}", in.string(), std::strerror(errno)));
    if (static_cast<std::uint64_t>(info.st_size) != blob.size)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{} has {} bytes, but its descriptor says {}", in.string(), info.st_size, blob.size),
                    "the local copy of the image is damaged: build or pull it again");
    Payload payload;
    payload.fd = file.fd;
    payload.size = blob.size;
    return upload(repository, blob, payload, mount_from);
}

bool Client::mount_blob(std::string_view repository, const oci::Descriptor& blob, std::string_view from) {
    HttpRequest request;
    request.method = "POST";
    request.has_body = true;
    request.url = url(fmt::format("/v2/{}/blobs/uploads/?mount={}&from={}", repository, blob.digest, from));
    const std::string what = fmt::format("mount blob {} into", blob.digest);
    HttpResponse response = send(request, repository, "pull,push", what, true,
                                 fmt::format("repository:{}:pull", from));
    if (response.status == 201) return true;
    if (response.status != 202) fail(response, what, repository);
    if (std::string location = response.header("location"); !location.empty()) {
        HttpRequest cancel;
        cancel.method = "DELETE";
        cancel.url = resolve_location(m_base, location);
        (void)send(cancel, repository, "pull,push", "cancel an upload to", false);  // best effort
    }
    return false;
}

BlobPush Client::put_blob_bytes(std::string_view repository, const oci::Descriptor& blob, std::string_view bytes) {
    if (has_blob(repository, blob)) return BlobPush::Existed;
    Payload payload;
    payload.bytes = bytes;
    payload.size = bytes.size();
    return upload(repository, blob, payload, {});
}

BlobPush Client::upload(std::string_view repository, const oci::Descriptor& blob, const Payload& payload,
                        std::string_view mount_from) {
    const std::string what = fmt::format("upload blob {} to", blob.digest);
    for (int round = 1;; ++round) {
        try {
            HttpRequest start;
            start.method = "POST";
            start.has_body = true;
            std::string extra_scope;
            start.url = url(fmt::format("/v2/{}/blobs/uploads/", repository));
            if (!mount_from.empty() && mount_from != repository) {
                start.url += fmt::format("?mount={}&from={}", blob.digest, mount_from);
                extra_scope = fmt::format("repository:{}:pull", mount_from);
            }
            HttpResponse started = send(start, repository, "pull,push", what, true, extra_scope);
            if (started.status == 201) return BlobPush::Mounted;
            if (started.status != 202) fail(started, what, repository);
            std::string location = started.header("location");
            if (location.empty())
                throw Error(ErrorCode::Network,
                            fmt::format("cannot {} {}/{}: the registry started an upload without a Location",
                                        what, registry(), repository),
                            "the registry does not follow the OCI distribution spec");
            send_blob(repository, blob, payload, resolve_location(m_base, location));
            return BlobPush::Uploaded;
        } catch (Error& e) {
            // A lost upload session (registry restarted, connection dropped
            // mid-PUT) is worth starting again; anything else is not.
            if (e.code() != ErrorCode::Network || round >= UploadRounds) throw;
            auto delay = util::curl::retry_delay(m_options.backoff, round, 0s);
            m_log.warning(fmt::format("starting the upload of {} to {}/{} again in {} ({})", blob.digest, registry(),
                                      repository, util::curl::format_delay(delay), e.message()));
            std::this_thread::sleep_for(delay);
        }
    }
}

void Client::session_lost(const HttpResponse& response, std::string_view repository, const oci::Descriptor& blob) {
    // A Network error: upload() starts a new session for it.
    std::string detail = registry_error(response);
    throw Error(ErrorCode::Network,
                fmt::format("{}/{} lost the upload session of {} ({}{})", registry(), repository, blob.digest,
                            response.status ? util::curl::describe_status(response.status) : response.transport_error,
                            detail.empty() ? "" : ": " + detail),
                "try again; the registry may have restarted");
}

void Client::send_blob(std::string_view repository, const oci::Descriptor& blob, const Payload& payload,
                       std::string location) {
    const std::string what = fmt::format("upload blob {} to", blob.digest);
    const std::string label(blob.hex().substr(0, 12));
    const bool chunked = m_options.chunk_size != 0 && payload.size > m_options.chunk_size;
    std::uint64_t offset = 0;
    int resumes = 0;
    while (chunked && offset < payload.size) {
        std::uint64_t length = std::min(m_options.chunk_size, payload.size - offset);
        HttpRequest patch;
        patch.method = "PATCH";
        patch.url = location;
        patch.headers.push_back("Content-Type: application/octet-stream");
        patch.headers.push_back(fmt::format("Content-Range: {}-{}", offset, offset + length - 1));
        payload.attach(patch, offset, length);
        patch.progress_label = label;
        patch.progress_total = payload.size;
        HttpResponse response = send(patch, repository, "pull,push", what, false);
        if (response.status == 202) {
            location = resolve_location(m_base, response.header("location").empty() ? location
                                                                                     : response.header("location"));
            offset += length;
            continue;
        }
        if (response.status == 404) session_lost(response, repository, blob);
        bool transient = response.status == 0 || response.status == 416 || response.status == 429 ||
                         response.status >= 500;
        if (!transient || ++resumes > m_options.retries) fail(response, what, repository);
        // Ask the registry how much it has, and go on from there.
        std::this_thread::sleep_for(util::curl::retry_delay(m_options.backoff, resumes, response.retry_after()));
        HttpRequest status;
        status.url = location;
        HttpResponse progress = send(status, repository, "pull,push", "resume the upload of a blob to");
        if (progress.status != 204 && !progress.ok()) {
            // The session is gone (distribution drops a session whose last
            // chunk arrived only in part): upload() starts a new one.
            if (progress.status == 0 || progress.status == 404 || progress.status == 400 || progress.status == 416)
                session_lost(progress, repository, blob);
            fail(progress, what, repository);
        }
        std::string range = progress.header("range");  // "0-<last byte>", absent when nothing arrived
        std::uint64_t have = 0;
        if (auto dash = range.find('-'); dash != std::string::npos) have = std::stoull(range.substr(dash + 1)) + 1;
        if (have > payload.size)
            throw Error(ErrorCode::Network,
                        fmt::format("{}/{} claims {} bytes of a {}-byte upload", registry(), repository, have,
                                    payload.size));
        m_log.warning(fmt::format("resuming the upload of {} at byte {} of {}", blob.digest, have, payload.size));
        offset = have;
        if (!progress.header("location").empty()) location = resolve_location(m_base, progress.header("location"));
    }

    HttpRequest finish;
    finish.method = "PUT";
    finish.url = with_query(location, "digest=" + url_encode(blob.digest));
    finish.headers.push_back("Content-Type: application/octet-stream");
    if (chunked) {
        finish.has_body = true;
    } else {
        payload.attach(finish, 0, payload.size);
        finish.progress_label = label;
        finish.progress_total = payload.size;
    }
    // Not retried here: a failed PUT may have consumed the session; upload() starts a new one.
    HttpResponse response = send(finish, repository, "pull,push", what, false);
    if (!finish.progress_label.empty()) m_progress.finish(finish.progress_label);
    if (response.status == 404) session_lost(response, repository, blob);
    if (response.status != 201 && !response.ok()) fail(response, what, repository);
    if (std::string claimed = response.header("docker-content-digest"); !claimed.empty() && claimed != blob.digest)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{}/{} stored blob {} as {}", registry(), repository, blob.digest, claimed),
                    "the upload was altered on the way; try again");
}

// ------------------------------------------------------------ tags and referrers

std::vector<std::string> Client::list_tags(std::string_view repository, unsigned page_size) {
    std::vector<std::string> tags;
    std::string next = fmt::format("/v2/{}/tags/list", repository);
    if (page_size) next += fmt::format("?n={}", page_size);
    const std::string what = "list the tags of";
    for (int pages = 0; !next.empty(); ++pages) {
        if (pages > 100000)
            throw Error(ErrorCode::Network, fmt::format("{}/{} keeps sending more tag pages", registry(), repository));
        HttpRequest request;
        request.url = resolve_location(url(""), next);
        HttpResponse response = send(request, repository, "pull", what);
        if (!response.ok()) fail(response, what, repository);
        Json doc = Json::parse(response.body, nullptr, false);
        if (!doc.is_object())
            throw Error(ErrorCode::Parse, fmt::format("{}/{} answered the tag list with something other than JSON",
                                                      registry(), repository));
        if (doc.contains("tags") && doc["tags"].is_array())
            for (const auto& tag : doc["tags"])
                if (tag.is_string()) tags.push_back(tag.get<std::string>());
        next = next_link(response);
    }
    return tags;
}

std::vector<oci::Descriptor> Client::referrers(std::string_view repository, std::string_view digest,
                                               std::string_view artifact_type) {
    if (!oci::is_sha256_digest(digest))
        throw Error(ErrorCode::Usage, fmt::format("\"{}\" is not a sha256 digest", digest));
    std::vector<oci::Descriptor> found;
    bool filtered = false;
    std::string next = fmt::format("/v2/{}/referrers/{}", repository, digest);
    if (!artifact_type.empty()) next += "?artifactType=" + url_encode(artifact_type);
    const std::string what = fmt::format("list the referrers of {} in", digest);
    bool api = true;
    for (int pages = 0; !next.empty() && pages < 10000; ++pages) {
        HttpRequest request;
        request.url = resolve_location(url(""), next);
        request.headers.push_back(std::string("Accept: ") + std::string(oci::media_type::ImageIndex));
        request.memory_limit = ManifestLimit;
        HttpResponse response = send(request, repository, "pull", what);
        // Registries without the API answer 404 (or 400/405) without an index.
        if (!response.ok() || media_type_of(response) != oci::media_type::ImageIndex) {
            if (pages == 0 && (response.status == 404 || response.status == 400 || response.status == 405)) {
                api = false;
                break;
            }
            if (!response.ok()) fail(response, what, repository);
        }
        oci::Index index = oci::parse_index(response.body, "referrers of " + std::string(digest));
        filtered = response.header("oci-filters-applied").find("artifactType") != std::string::npos;
        found.insert(found.end(), index.manifests.begin(), index.manifests.end());
        next = next_link(response);
    }
    if (!api) {
        std::string tag = "sha256-" + std::string(digest.substr(7));
        if (head_manifest(repository, tag)) {
            ManifestBytes fallback = get_manifest(repository, tag);
            found = oci::parse_index(fallback.bytes, fmt::format("referrers tag {}", tag)).manifests;
        }
    }
    if (!artifact_type.empty() && !filtered)
        std::erase_if(found, [&](const oci::Descriptor& d) { return d.artifact_type != artifact_type; });
    return found;
}

oci::Descriptor Client::put_referrer(std::string_view repository, const oci::Manifest& manifest) {
    if (!manifest.subject)
        throw Error(ErrorCode::Internal, "put_referrer: the manifest has no subject");
    std::string bytes = oci::to_json(manifest);
    bool maintained = false;
    oci::Descriptor descriptor = put_manifest(repository, oci::describe(manifest.media_type, bytes).digest, bytes,
                                              manifest.media_type, &maintained);
    descriptor.artifact_type = manifest.artifact_type.empty() ? manifest.config.media_type : manifest.artifact_type;
    descriptor.annotations = manifest.annotations;
    if (maintained) return descriptor;

    // The registry has no referrers API: keep the sha256-<hex> index up to
    // date (read, add, write back; the scheme itself cannot rule out a race
    // with another writer, which is why the API is preferred when present).
    std::string tag = "sha256-" + std::string(manifest.subject->hex());
    oci::Index index;
    if (head_manifest(repository, tag)) index = oci::parse_index(get_manifest(repository, tag).bytes, tag);
    for (const auto& existing : index.manifests)
        if (existing.digest == descriptor.digest) return descriptor;
    index.manifests.push_back(descriptor);
    put_manifest(repository, tag, oci::to_json(index), oci::media_type::ImageIndex);
    return descriptor;
}

}  // namespace slate::registry
