#include "support/registry_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/subprocess.hpp"
#include "support/socket_util.hpp"

extern char** environ;

namespace slate::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto Lifetime = std::chrono::minutes(15);
constexpr auto ReadyTimeout = 10s;
constexpr auto StopGrace = 5s;
constexpr auto RequestTimeout = 5s;
constexpr int PortAttempts = 5;
constexpr std::size_t MaxHeadSize = 64 * 1024;
constexpr auto PollInterval = 100ms;
constexpr std::size_t ReadChunk = 4096;
constexpr const char* TokenService = "slate-test-registry";
constexpr const char* TokenIssuer = "slate-test-issuer";
constexpr const char* InstanceHeader = "X-Slate-Test-Instance";
constexpr std::int64_t TokenLifetimeSeconds = 300;

// ---- OpenSSL handles and helpers -------------------------------------------

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
struct SslCtxFree {
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
    void operator()(SSL* p) const { SSL_free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

[[noreturn]] void throw_openssl(const std::string& what) {
    char buffer[256] = {};
    ERR_error_string_n(ERR_get_error(), buffer, sizeof buffer);
    throw std::runtime_error("test registry: " + what + ": " + buffer);
}

std::string random_hex(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw_openssl("RAND_bytes");
    static constexpr char Hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : raw) {
        out += Hex[b >> 4];
        out += Hex[b & 15];
    }
    return out;
}

PkeyPtr generate_p256_key() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) throw_openssl("cannot generate a P-256 key");
    return key;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

std::string cert_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) throw_openssl("cannot write a certificate");
    return bio_text(bio.get());
}

std::string private_key_pem(EVP_PKEY* key) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw_openssl("cannot write a private key");
    return bio_text(bio.get());
}

// Adds an X.509v3 extension written as in openssl.cnf ("critical,CA:TRUE").
// `issuer` is the signing certificate (`cert` itself when self-signed).
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!extension) throw_openssl(std::string("cannot make the extension ") + value);
    int added = X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
    if (added != 1) throw_openssl(std::string("cannot add the extension ") + value);
}

// A v3 certificate for `key` named CN=`common_name`, valid from an hour ago
// for a day, issued by `issuer` (null: self-issued); sign_certificate() signs it.
X509Ptr new_certificate(EVP_PKEY* key, const std::string& common_name, X509* issuer) {
    X509Ptr cert(X509_new());
    if (!cert) throw_openssl("X509_new");
    X509_set_version(cert.get(), 2);
    BIGNUM* serial = BN_new();
    if (!serial || BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()))) {
        BN_free(serial);
        throw_openssl("cannot make a serial number");
    }
    BN_free(serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(cert.get(), key) != 1)
        throw_openssl("cannot fill the certificate for " + common_name);
    return cert;
}

void sign_certificate(X509* cert, EVP_PKEY* issuer_key, const std::string& what) {
    if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) throw_openssl("cannot sign the " + what + " certificate");
}

// A self-signed certificate for `key`: the registry's rootcertbundle.
std::string self_signed_cert_pem(EVP_PKEY* key) {
    X509Ptr cert = new_certificate(key, TokenIssuer, nullptr);
    sign_certificate(cert.get(), key, "token");
    return cert_pem(cert.get());
}

// Writes ca.pem (a throwaway CA), server.pem and server-key.pem (a TLS server
// certificate for 127.0.0.1 and localhost, signed by that CA) into `dir`. The
// CA's name is random, so CAs of different servers never look alike.
void write_tls_files(const fs::path& dir) {
    PkeyPtr ca_key = generate_p256_key();
    X509Ptr ca = new_certificate(ca_key.get(), "slate test CA " + random_hex(8), nullptr);
    add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
    sign_certificate(ca.get(), ca_key.get(), "CA");

    PkeyPtr key = generate_p256_key();
    X509Ptr cert = new_certificate(key.get(), "127.0.0.1", ca.get());
    add_extension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), ca.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    add_extension(cert.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    sign_certificate(cert.get(), ca_key.get(), "server");

    util::write_file_atomic(dir / "ca.pem", cert_pem(ca.get()));
    util::write_file_atomic(dir / "server.pem", cert_pem(cert.get()));
    util::write_file_atomic(dir / "server-key.pem", private_key_pem(key.get()), 0600);
}

// RFC 4648 base32, no padding.
std::string base32(std::span<const std::uint8_t> data) {
    static constexpr char Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::uint8_t byte : data) {
        acc = (acc << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += Alphabet[(acc >> bits) & 31];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0) out += Alphabet[(acc << (5 - bits)) & 31];
    return out;
}

// docker/libtrust's key ID, which distribution matches against the JWT's "kid":
// SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32 (48 chars),
// twelve groups of four joined by ':'.
std::string libtrust_key_id(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    int size = i2d_PUBKEY(key, &der);
    if (size <= 0) throw_openssl("cannot encode the public key");
    util::Sha256 hash;
    hash.update(der, static_cast<std::size_t>(size));
    OPENSSL_free(der);
    util::Sha256Digest digest = hash.finish();
    std::string encoded = base32(std::span<const std::uint8_t>(digest.data(), 30));
    std::string out;
    for (std::size_t i = 0; i < encoded.size(); i += 4) {
        if (i) out += ':';
        out += encoded.substr(i, 4);
    }
    return out;
}

// ES256 as JWS wants it: the raw R||S, each 32 bytes big-endian, not OpenSSL's DER.
std::string es256_sign(EVP_PKEY* key, std::string_view data) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t size = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
            1)
        throw_openssl("cannot start an ES256 signature");
    std::vector<unsigned char> der(size);
    if (EVP_DigestSign(ctx.get(), der.data(), &size, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1)
        throw_openssl("cannot sign the token");
    const unsigned char* p = der.data();
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(size)));
    if (!sig) throw_openssl("cannot decode the ECDSA signature");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::string raw(64, '\0');
    if (BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32) != 32 ||
        BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) != 32)
        throw_openssl("cannot encode the ECDSA signature");
    return raw;
}

std::string base64url(std::string_view data) {
    static constexpr char Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : data) {
        acc = (acc << 8) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += Alphabet[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0) out += Alphabet[(acc << (6 - bits)) & 63];
    return out;
}

std::string rfc3339(std::time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

// ---- HTTP -------------------------------------------------------------------

// Query-string decoding: %XX escapes and '+' for space.
std::string form_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out += ' ';
        } else if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        std::size_t eq = item.find('=');
        if (!item.empty())
            out.emplace_back(form_decode(item.substr(0, eq)),
                             eq == std::string_view::npos ? std::string() : form_decode(item.substr(eq + 1)));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

// A port that was free a moment ago (the registry binds it itself; launch()
// retries with another one when it lost the race).
int pick_free_port() { return LoopbackListener(64).port(); }

// A client context for the readiness probe over TLS. It does not verify the
// certificate: the instance header, not the certificate, identifies the
// process, and clients (the tests) check certificates themselves.
SslCtxPtr probe_tls_context() {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) throw_openssl("SSL_CTX_new");
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
}

// Sends `request` on the connected socket `fd` (through TLS when `tls` is not
// null) and returns what came back up to the end of the response head.
std::string exchange_head(int fd, SSL_CTX* tls, const std::string& request) {
    std::string head;
    char chunk[4096];
    if (!tls) {
        if (!send_all(fd, request)) return head;
        while (head.find("\r\n\r\n") == std::string::npos && head.size() < MaxHeadSize) {
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) break;
            head.append(chunk, static_cast<std::size_t>(n));
        }
        return head;
    }
    SslPtr ssl(SSL_new(tls));
    // The socket's SO_RCVTIMEO/SO_SNDTIMEO bound every blocking call below.
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || SSL_connect(ssl.get()) != 1 ||
        SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) != static_cast<int>(request.size())) {
        ERR_clear_error();
        return head;
    }
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < MaxHeadSize) {
        int n = SSL_read(ssl.get(), chunk, sizeof chunk);
        if (n <= 0) break;
        head.append(chunk, static_cast<std::size_t>(n));
    }
    ERR_clear_error();
    return head;
}

// True when the registry carrying `instance` in its InstanceHeader answers
// GET /v2/ (200 or 401) on 127.0.0.1:port, over TLS when `tls` is not null.
// The header proves that the answer comes from our process, not from whoever
// else grabbed the port meanwhile.
bool registry_answers(int port, const std::string& instance, SSL_CTX* tls) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    timeval timeout{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    std::string head;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
        head = exchange_head(fd, tls,
                             "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                 "\r\nConnection: close\r\n\r\n");
    ::close(fd);
    return head.starts_with("HTTP/1.") && header_value(head, lower(InstanceHeader)) == instance;
}

}  // namespace

// ---- the token server --------------------------------------------------------

class RegistryServer::TokenServer {
public:
    TokenServer(const fs::path& cert_path, std::string username, std::string password)
        : m_key(generate_p256_key()), m_username(std::move(username)), m_password(std::move(password)) {
        m_kid = libtrust_key_id(m_key.get());
        util::write_file_atomic(cert_path, self_signed_cert_pem(m_key.get()));
        m_deadline = std::chrono::steady_clock::now() + Lifetime;
        m_thread = std::thread([this] { accept_loop(); });
    }
    ~TokenServer() {
        m_stopping = true;
        m_wake.signal();
        m_thread.join();
    }
    TokenServer(const TokenServer&) = delete;
    TokenServer& operator=(const TokenServer&) = delete;

    std::string realm() const { return "http://127.0.0.1:" + std::to_string(m_listener.port()) + "/token"; }
    std::size_t issued() const { return m_issued; }

private:
    // Token requests are small and quick, so one thread serves the connections
    // one after another; each gets RequestTimeout to send its request head.
    void accept_loop() {
        while (!m_stopping && std::chrono::steady_clock::now() < m_deadline) {
            int fd = accept_connection(m_listener, m_wake, PollInterval);
            if (fd < 0) continue;
            serve(fd);
            ::close(fd);
        }
    }

    void serve(int fd) {
        std::string head;
        auto deadline = std::chrono::steady_clock::now() + RequestTimeout;
        while (head.find("\r\n\r\n") == std::string::npos) {
            if (head.size() > MaxHeadSize || std::chrono::steady_clock::now() > deadline) return;
            Received received = receive_some(fd, m_wake, head, PollInterval, ReadChunk);
            if (received == Received::Idle) continue;
            if (received != Received::Data) return;
        }
        send_all(fd, respond(head.substr(0, head.find("\r\n\r\n") + 2)));
        ::shutdown(fd, SHUT_WR);
    }

    static std::string reply(int status, const std::string& body, const std::string& extra = {}) {
        return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status, "Status") +
               "\r\nContent-Type: application/json\r\n" + extra +
               "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }
    static std::string error_body(const std::string& code, const std::string& message) {
        return nlohmann::json{{"errors", {{{"code", code}, {"message", message}}}}}.dump();
    }

    std::string respond(const std::string& head) {
        auto request = parse_request_line(head);
        if (!request) return reply(400, error_body("BAD_REQUEST", "malformed request"));
        std::string_view target = request->target;
        std::size_t question = target.find('?');
        if (request->method != "GET") return reply(405, error_body("UNSUPPORTED", "use GET"));
        if (target.substr(0, question) != "/token") return reply(404, error_body("NOT_FOUND", "no such path"));

        std::string authorization = header_value(head, "authorization");
        std::optional<std::string> credentials;
        if (lower(authorization).starts_with("basic ")) credentials = base64_decode(trim(authorization.substr(6)));
        if (!credentials || *credentials != m_username + ":" + m_password)
            return reply(401, error_body("UNAUTHORIZED", "wrong or missing credentials"),
                         "WWW-Authenticate: Basic realm=\"slate-test-token\"\r\n");

        std::vector<std::string> scopes;
        if (question != std::string_view::npos) {
            for (const auto& [key, value] : parse_query(target.substr(question + 1))) {
                if (key == "service" && value != TokenService)
                    return reply(400, error_body("BAD_REQUEST", "unknown service " + value + ", expected " + TokenService));
                if (key != "scope") continue;
                // One parameter may carry several scopes separated by spaces.
                std::string_view rest = value;
                while (!rest.empty()) {
                    std::size_t space = rest.find(' ');
                    if (space != 0) scopes.emplace_back(rest.substr(0, space));
                    if (space == std::string_view::npos) break;
                    rest.remove_prefix(space + 1);
                }
            }
        }
        std::string token = issue(scopes);
        ++m_issued;
        nlohmann::json body = {{"token", token},
                               {"access_token", token},
                               {"expires_in", TokenLifetimeSeconds},
                               {"issued_at", rfc3339(std::time(nullptr))}};
        return reply(200, body.dump());
    }

    // Grants every action asked for; the registry decides what each request needs.
    std::string issue(const std::vector<std::string>& scopes) const {
        // "type:name:action,action" -- the name may hold ':' (a port), so split at the first and last.
        std::vector<std::pair<std::pair<std::string, std::string>, std::vector<std::string>>> grants;
        for (const auto& scope : scopes) {
            std::size_t first = scope.find(':');
            std::size_t last = scope.rfind(':');
            if (first == std::string::npos || last == first) continue;  // malformed scopes grant nothing
            std::pair<std::string, std::string> resource{scope.substr(0, first),
                                                         scope.substr(first + 1, last - first - 1)};
            auto it = std::find_if(grants.begin(), grants.end(), [&](const auto& g) { return g.first == resource; });
            if (it == grants.end()) it = grants.insert(grants.end(), {resource, {}});
            std::string_view actions = std::string_view(scope).substr(last + 1);
            while (!actions.empty()) {
                std::size_t comma = actions.find(',');
                std::string action(actions.substr(0, comma));
                if (!action.empty() && std::find(it->second.begin(), it->second.end(), action) == it->second.end())
                    it->second.push_back(action);
                if (comma == std::string_view::npos) break;
                actions.remove_prefix(comma + 1);
            }
        }
        nlohmann::json access = nlohmann::json::array();
        for (const auto& [resource, actions] : grants)
            access.push_back({{"type", resource.first}, {"name", resource.second}, {"actions", actions}});

        std::int64_t now = std::time(nullptr);
        nlohmann::json header = {{"typ", "JWT"}, {"alg", "ES256"}, {"kid", m_kid}};
        nlohmann::json claims = {{"iss", TokenIssuer},
                                 {"sub", m_username},
                                 {"aud", TokenService},
                                 {"exp", now + TokenLifetimeSeconds},
                                 {"nbf", now - 10},
                                 {"iat", now},
                                 {"jti", random_hex(16)},
                                 {"access", access}};
        std::string signing_input = base64url(header.dump()) + "." + base64url(claims.dump());
        return signing_input + "." + base64url(es256_sign(m_key.get(), signing_input));
    }

    PkeyPtr m_key;
    std::string m_kid;
    std::string m_username;
    std::string m_password;
    LoopbackListener m_listener{64};
    WakeEvent m_wake;  // signalled once when stopping
    std::chrono::steady_clock::time_point m_deadline;
    std::atomic<bool> m_stopping{false};
    std::atomic<std::size_t> m_issued{0};
    std::thread m_thread;  // last: started once everything else exists
};

// ---- the registry process ---------------------------------------------------

RegistryServer::RegistryServer(RegistryAuth auth, bool tls)
    : m_auth(auth),
      m_tls(tls),
      m_storage(m_dir.path() / "storage"),
      m_config(m_dir.path() / "config.yml"),
      m_log(m_dir.path() / "registry.log"),
      m_http_secret(random_hex(32)) {
    fs::create_directories(m_storage);
    if (tls) write_tls_files(m_dir.path());
    if (auth != RegistryAuth::Anonymous) {
        m_username = "slate-test";
        m_password = random_hex(12);
    }
    if (auth == RegistryAuth::Basic) {
        auto result = util::run_process({"htpasswd", "-Bbn", m_username, m_password});
        if (result.exit_code != 0)
            throw std::runtime_error("htpasswd -Bbn failed (exit " + std::to_string(result.exit_code) +
                                     "): " + result.err + " (is apache2-utils installed?)");
        std::string entry(trim(result.out.substr(0, result.out.find('\n'))));
        util::write_file_atomic(m_dir.path() / "htpasswd", entry + "\n");
    }
    if (auth == RegistryAuth::Token)
        m_token_server = std::make_unique<TokenServer>(m_dir.path() / "cert.pem", m_username, m_password);

    for (int attempt = 1;; ++attempt) {
        m_port = pick_free_port();
        write_config();
        if (launch() == Launch::Ready) break;
        if (attempt == PortAttempts)
            throw std::runtime_error("docker-registry lost the race for a free port " + std::to_string(PortAttempts) +
                                     " times; log tail:\n" + log_tail());
    }
    m_watchdog = std::thread([this] { watchdog(); });
}

RegistryServer::~RegistryServer() {
    {
        std::lock_guard lock(m_mutex);
        m_closing = true;
    }
    m_cv.notify_all();
    if (m_watchdog.joinable()) m_watchdog.join();
    std::unique_lock lock(m_mutex);
    stop_locked(lock, true);
}

std::string RegistryServer::host() const { return "127.0.0.1:" + std::to_string(m_port); }
std::string RegistryServer::url() const { return (m_tls ? "https://" : "http://") + host(); }
fs::path RegistryServer::ca_file() const { return m_tls ? m_dir.path() / "ca.pem" : fs::path(); }
std::string RegistryServer::token_realm() const { return m_token_server ? m_token_server->realm() : std::string(); }
std::string RegistryServer::token_service() const { return m_token_server ? TokenService : ""; }
std::size_t RegistryServer::token_requests() const { return m_token_server ? m_token_server->issued() : 0; }

void RegistryServer::write_config() const {
    // The instance header is how registry_answers() recognises this process.
    std::string yaml = "version: 0.1\n"
                       "log:\n"
                       "  level: warn\n"
                       "storage:\n"
                       "  filesystem:\n"
                       "    rootdirectory: \"" + m_storage.string() + "\"\n"
                       "  delete:\n"
                       "    enabled: true\n"
                       "  maintenance:\n"
                       "    uploadpurging:\n"
                       "      enabled: false\n"
                       "http:\n"
                       "  addr: \"" + host() + "\"\n"
                       "  secret: \"" + m_http_secret + "\"\n"
                       "  headers:\n"
                       "    " + InstanceHeader + ": [\"" + m_http_secret.substr(0, 16) + "\"]\n";
    if (m_tls)
        yaml += "  tls:\n"
                "    certificate: \"" + (m_dir.path() / "server.pem").string() + "\"\n"
                "    key: \"" + (m_dir.path() / "server-key.pem").string() + "\"\n";
    if (m_auth == RegistryAuth::Basic)
        yaml += "auth:\n"
                "  htpasswd:\n"
                "    realm: \"slate-test-registry\"\n"
                "    path: \"" + (m_dir.path() / "htpasswd").string() + "\"\n";
    if (m_auth == RegistryAuth::Token)
        yaml += "auth:\n"
                "  token:\n"
                "    realm: \"" + m_token_server->realm() + "\"\n"
                "    service: \"" + std::string(TokenService) + "\"\n"
                "    issuer: \"" + std::string(TokenIssuer) + "\"\n"
                "    rootcertbundle: \"" + (m_dir.path() / "cert.pem").string() + "\"\n";
    util::write_file_atomic(m_config, yaml);
}

RegistryServer::Launch RegistryServer::launch() {
    auto program = util::find_program("docker-registry");
    if (!program) throw std::runtime_error("docker-registry is not installed; run: apt-get install docker-registry");
    std::string program_path = program->string();
    std::string serve = "serve";
    std::string config = m_config.string();
    std::vector<char*> argv = {program_path.data(), serve.data(), config.data(), nullptr};

    std::error_code ec;
    std::uintmax_t log_start = fs::file_size(m_log, ec);
    if (ec) log_start = 0;
    int log_fd = ::open(m_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) {
        int err = errno;
        if (log_fd >= 0) ::close(log_fd);
        if (null_fd >= 0) ::close(null_fd);
        throw std::runtime_error("cannot open " + m_log.string() + ": " + std::strerror(err));
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
        // Only async-signal-safe calls from here on: the parent has threads.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::execve(argv[0], argv.data(), environ);
        ::_exit(127);
    }
    int fork_errno = errno;
    ::close(log_fd);
    ::close(null_fd);
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
    {
        std::unique_lock lock(m_mutex);
        m_pid = pid;
        if (m_expired || m_closing) {
            stop_locked(lock, false);
            throw std::runtime_error("the registry's 15-minute lifetime is over");
        }
    }

    std::string instance = lower(m_http_secret.substr(0, 16));
    SslCtxPtr tls = m_tls ? probe_tls_context() : nullptr;
    auto deadline = std::chrono::steady_clock::now() + ReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (registry_answers(m_port, instance, tls.get())) return Launch::Ready;
        int status = 0;
        std::unique_lock lock(m_mutex);
        if (m_pid > 0 && ::waitpid(m_pid, &status, WNOHANG) == m_pid) {
            m_pid = -1;
            lock.unlock();
            std::string log;
            try {
                log = util::read_file(m_log).substr(log_start);
            } catch (const std::exception&) {
            }
            if (log.find("address already in use") != std::string::npos) return Launch::PortInUse;
            std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                                : "was killed by signal " + std::to_string(WTERMSIG(status));
            throw std::runtime_error("docker-registry " + how + " before answering on " + host() + "; log tail:\n" +
                                     log_tail());
        }
        lock.unlock();
        std::this_thread::sleep_for(50ms);
    }
    std::unique_lock lock(m_mutex);
    stop_locked(lock, false);
    lock.unlock();
    throw std::runtime_error("docker-registry did not answer GET /v2/ on " + url() + " within 10 s; log tail:\n" +
                             log_tail());
}

void RegistryServer::stop_locked(std::unique_lock<std::mutex>&, bool graceful) {
    if (m_pid <= 0) return;
    int status = 0;
    if (graceful && ::kill(m_pid, SIGTERM) == 0) {
        auto deadline = std::chrono::steady_clock::now() + StopGrace;
        while (std::chrono::steady_clock::now() < deadline) {
            if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
                m_pid = -1;
                return;
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    ::kill(m_pid, SIGKILL);
    while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
    }
    m_pid = -1;
}

void RegistryServer::kill() {
    std::unique_lock lock(m_mutex);
    stop_locked(lock, false);
}

void RegistryServer::restart() {
    {
        std::unique_lock lock(m_mutex);
        if (m_expired) throw std::runtime_error("the registry's 15-minute lifetime is over; it cannot be restarted");
        stop_locked(lock, true);
    }
    if (launch() == Launch::PortInUse)
        throw std::runtime_error("cannot restart docker-registry: port " + std::to_string(m_port) +
                                 " was taken by another process meanwhile; log tail:\n" + log_tail());
}

bool RegistryServer::running() const {
    std::lock_guard lock(m_mutex);
    if (m_pid <= 0) return false;
    // WNOWAIT: look without reaping, so stop_locked() still finds the child.
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(m_pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
    return info.si_pid == 0;
}

void RegistryServer::watchdog() {
    std::unique_lock lock(m_mutex);
    if (m_cv.wait_for(lock, Lifetime, [this] { return m_closing; })) return;
    m_expired = true;
    stop_locked(lock, true);
}

fs::path RegistryServer::blob_data_path(std::string_view digest) const {
    if (!digest.starts_with("sha256:") || !util::is_sha256_hex(digest.substr(7)))
        throw std::invalid_argument("blob_data_path: not a sha256 digest: " + std::string(digest));
    std::string hex(digest.substr(7));
    return m_storage / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex.substr(0, 2) / hex / "data";
}

std::string RegistryServer::log_tail(std::size_t bytes) const {
    std::string log;
    try {
        log = util::read_file(m_log);
    } catch (const std::exception&) {
        return "(no log)";
    }
    return log.size() > bytes ? log.substr(log.size() - bytes) : log;
}

}  // namespace slate::test
