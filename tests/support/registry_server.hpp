#pragma once
// Debian's real docker-registry (CNCF distribution 2.8), started by a test on
// 127.0.0.1 with filesystem storage in a private temporary directory.
//
//   Anonymous  no authentication.
//   Basic      htpasswd (bcrypt) with username()/password().
//   Token      the registry trusts a token server that runs in this process
//              (an HTTP/1.1 listener thread on 127.0.0.1): GET <realm>?service=
//              &scope=repository:NAME:pull,push with Basic credentials answers
//              {"token", "access_token", "expires_in", "issued_at"}, an ES256 JWT
//              granting every requested action; wrong or missing credentials 401.
//
// With `tls`, the registry serves HTTPS only: a throwaway CA and a server
// certificate it signed (P-256; subjectAltName IP:127.0.0.1 and DNS:localhost)
// are made at construction; ca_file() is the CA's PEM, for clients to trust.
// Any auth mode combines with TLS (the token server stays plain HTTP on
// loopback).
//
// The registry process gets PR_SET_PDEATHSIG(SIGKILL): it dies with the thread
// that started it (construction and restart()), so create the server on a
// thread that outlives it (the test's own thread). A watchdog stops the
// registry 15 minutes after construction at the latest; restart() after that
// throws. The registry builds upload Locations from the request's Host header,
// so clients talking to it through a FaultProxy stay on the proxy.
//
// Failures to start throw std::runtime_error carrying the tail of the
// registry's log. Servers in parallel test processes never share anything.

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "support/paths.hpp"

namespace slate::test {

enum class RegistryAuth { Anonymous, Basic, Token };

class RegistryServer {
public:
    explicit RegistryServer(RegistryAuth auth = RegistryAuth::Anonymous, bool tls = false);
    ~RegistryServer();  // stops the registry (SIGTERM, then SIGKILL after 5 s), removes temp dirs
    RegistryServer(const RegistryServer&) = delete;
    RegistryServer& operator=(const RegistryServer&) = delete;

    std::string host() const;  // "127.0.0.1:PORT"
    std::string url() const;   // "http://127.0.0.1:PORT", or https:// with TLS
    int port() const { return m_port; }
    RegistryAuth auth() const { return m_auth; }
    bool tls() const { return m_tls; }
    // The PEM file of the CA that signed the registry's certificate; empty without TLS.
    std::filesystem::path ca_file() const;
    // Empty for Anonymous. For Token they are the token server's credentials.
    const std::string& username() const { return m_username; }
    const std::string& password() const { return m_password; }
    const std::filesystem::path& storage() const { return m_storage; }  // the filesystem driver's rootdirectory

    // The token server's realm ("http://127.0.0.1:TPORT/token") and service name;
    // empty for Anonymous and Basic.
    std::string token_realm() const;
    std::string token_service() const;

    void kill();     // SIGKILL now, as a crash would; returns once the process is gone
    void restart();  // starts it again: same port, storage and auth; returns once it answers
    bool running() const;

    // <storage>/docker/registry/v2/blobs/sha256/<first two hex>/<hex>/data for
    // "sha256:<hex>". Throws std::invalid_argument for anything else.
    std::filesystem::path blob_data_path(std::string_view digest) const;
    std::size_t token_requests() const;  // Token: how many tokens the token server issued

    // The last `bytes` of the registry's log (its stdout and stderr), for failure messages.
    std::string log_tail(std::size_t bytes = 4096) const;

private:
    class TokenServer;
    enum class Launch { Ready, PortInUse };

    void write_config() const;
    Launch launch();  // starts the process and waits until it answers; throws on other failures
    void stop_locked(std::unique_lock<std::mutex>& lock, bool graceful);
    void watchdog();

    RegistryAuth m_auth;
    bool m_tls;
    TempDir m_dir;
    std::filesystem::path m_storage;
    std::filesystem::path m_config;
    std::filesystem::path m_log;
    std::string m_username;
    std::string m_password;
    std::string m_http_secret;  // fixed, so upload sessions survive restart()
    int m_port = 0;
    std::unique_ptr<TokenServer> m_token_server;

    mutable std::mutex m_mutex;  // guards m_pid, m_expired, m_closing
    std::condition_variable m_cv;
    pid_t m_pid = -1;
    bool m_expired = false;  // the watchdog stopped the registry for good
    bool m_closing = false;  // the destructor runs
    std::thread m_watchdog;  // last: started once everything else exists
};

}  // namespace slate::test
