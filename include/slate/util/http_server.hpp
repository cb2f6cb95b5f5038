#pragma once
// A small HTTP/1.1 server on POSIX sockets, for slate's own services (the
// transparency log, later the web console). It is meant to sit on a
// loopback address or behind a reverse proxy: plain HTTP, no TLS.
//
// One thread accepts; a fixed pool of worker threads serves connections, one
// connection per worker at a time, with keep-alive. What it accepts:
//   - a request line "METHOD SP origin-form SP HTTP/1.0|HTTP/1.1" (an
//     absolute-form target has its scheme and authority dropped);
//   - header fields, at most `max_header_bytes` for the whole head (431);
//   - a body only with Content-Length, at most `max_body_bytes` (413);
//     Transfer-Encoding (chunked) request bodies are refused with 411, and
//     "Expect: 100-continue" is answered before the body is read.
// Malformed requests get 400, unknown HTTP versions 505; after an error the
// connection is closed. A request must arrive within `read_timeout` of its
// first byte; an idle keep-alive connection is closed after
// `keep_alive_timeout`; a response that cannot be sent within `write_timeout`
// drops the connection. While connections wait for a worker, a worker answers
// its current connection's next request with "Connection: close", so idle
// keep-alive clients never starve new ones.
//
// The handler runs on worker threads, concurrently. A slate::Error it throws
// becomes a JSON error answer {"code": N, "message": "..."} (Usage, Parse,
// Config, Signature -> 400; NotFound -> 404; Auth -> 403; others -> 500), any
// other exception a 500 (logged); the server keeps serving.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slate/util/log.hpp"

namespace slate::util {

struct HttpServerRequest {
    std::string method;                                        // as sent, e.g. "GET"
    std::string path;                                          // percent-decoded, without the query
    std::map<std::string, std::string> query;                  // decoded; the first of repeated names wins
    std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, values trimmed
    std::string body;
    std::string peer;  // "address:port" of the client

    // The value of the first header named `name` (any case), or "".
    std::string header(std::string_view name) const;
};

struct HttpServerResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Length and Connection are added
    std::string body;

    static HttpServerResponse text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
    static HttpServerResponse json(int status, std::string body);
    // {"code": status, "message": message}, the shape Rekor's API uses for errors.
    static HttpServerResponse error(int status, std::string_view message);
};

using HttpHandler = std::function<HttpServerResponse(const HttpServerRequest&)>;

struct HttpServerOptions {
    std::string address = "127.0.0.1";  // IPv4 or IPv6 literal; "0.0.0.0" / "::" for all interfaces
    std::uint16_t port = 0;             // 0: an ephemeral port (see HttpServer::port())
    unsigned threads = 4;               // worker threads (at least 1)
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
    std::size_t max_pending_connections = 256;  // accepted but not yet served; beyond: 503 and close
    std::chrono::milliseconds read_timeout{10'000};
    std::chrono::milliseconds write_timeout{10'000};
    std::chrono::milliseconds keep_alive_timeout{5'000};
    std::string server_name = "slate";  // the Server header
    LogSink* log = nullptr;             // handler failures (500s) and accept errors; may be null
};

// "127.0.0.1:8080", "[::1]:0", ":8080" (loopback), "8080" -> address and port.
// Throws slate::Error (Usage) for anything else.
std::pair<std::string, std::uint16_t> parse_listen_address(std::string_view text);

// Reason phrase for a status ("Not Found"), "" for unlisted ones.
const char* http_reason_phrase(int status);

class HttpServer {
public:
    // Binds and listens at once (so port() is known), but serves only after
    // start(). Throws slate::Error: Usage for a malformed address, Network when
    // the address cannot be bound (in use, not local).
    HttpServer(HttpServerOptions options, HttpHandler handler);
    // Stops and joins every thread.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Starts the accepting thread and the workers. Call once.
    void start();
    // Asks the server to stop: it stops accepting, requests being handled
    // finish, idle connections close. Thread-safe and async-signal-safe (one
    // write to an eventfd), so a signal handler may call it. Idempotent.
    void stop() noexcept;
    // Waits until stop() was called and every thread has finished.
    void wait();
    // Like wait(), for at most `timeout`; true when the server has stopped.
    bool wait_for(std::chrono::milliseconds timeout);

    std::uint16_t port() const { return m_port; }
    const std::string& address() const { return m_options.address; }
    // "http://127.0.0.1:PORT" ("http://[::1]:PORT" for IPv6).
    std::string url() const;

    // When the last request was received (or when the server started).
    std::chrono::steady_clock::time_point last_request_time() const;
    std::uint64_t requests_served() const { return m_requests.load(); }

private:
    struct State;
    void serve_connection(int fd, const std::string& peer);

    HttpServerOptions m_options;
    HttpHandler m_handler;
    std::uint16_t m_port = 0;
    std::atomic<std::uint64_t> m_requests{0};
    std::unique_ptr<State> m_state;
};

}  // namespace slate::util
