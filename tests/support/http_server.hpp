#pragma once
// An in-process HTTP/1.1 server on 127.0.0.1 (ephemeral port) that serves a
// directory, with fault injection for tests: error statuses, truncated or
// corrupted bodies, delays and redirects. One thread accepts; each connection
// gets its own thread. The destructor stops everything and joins all threads,
// and the server stops accepting on its own after 15 minutes, so it can never
// outlive a test.
//
// Files: GET and HEAD, Content-Length, ETag = "<sha256 of the file>" (quoted),
// Last-Modified from the mtime, 304 for a matching If-None-Match (or, without
// one, an If-Modified-Since not older than the mtime), 404 for anything missing
// or not a regular file, 403 for paths that try to leave the root ("..",
// symlinks pointing outside). Connections are kept alive unless the client asks
// for Connection: close or a fault needs the connection closed.
//
// Fault paths are URL paths as requested, e.g. "/dists/bookworm/InRelease"
// (a missing leading '/' is added). Query strings are ignored. Per request:
// a pending delay is waited out first, then a pending failure answers; truncate
// and corrupt are used up only by GET requests that get a 200 body.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/socket_util.hpp"

namespace slate::test {

class HttpServer {
public:
    explicit HttpServer(std::filesystem::path root);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    std::string url() const;  // "http://127.0.0.1:PORT"
    int port() const { return m_listener.port(); }
    const std::filesystem::path& root() const { return m_root; }

    // Answer `status` (with a short text body) to the next `times` requests for `path`.
    // For 429 and 503, retry_after_seconds >= 0 adds a Retry-After header.
    void fail_next(const std::string& path, int status, int times = 1, int retry_after_seconds = -1);
    // Send only the first `bytes` bytes of the body. honest_length=true announces
    // Content-Length: bytes; false announces the full length and then closes early.
    void truncate_next(const std::string& path, std::size_t bytes, bool honest_length, int times = 1);
    // Same length, some bytes flipped.
    void corrupt_next(const std::string& path, int times = 1);
    // Wait `delay` before answering (the wait ends early when the server stops).
    void delay_next(const std::string& path, std::chrono::milliseconds delay, int times = 1);
    // Answer every request for `path` with 302 Found to `location` (until cleared with an empty location).
    void redirect(const std::string& path, const std::string& location);

    std::size_t request_count(const std::string& path) const;  // how many requests hit this path
    std::vector<std::string> request_log() const;              // "GET /path 200" lines, in order

private:
    struct Faults;
    struct Connection;
    struct Reply;

    void accept_loop();
    void serve_connection(Connection& connection);
    // Handles one request; false when the connection must be closed afterwards.
    bool handle_request(int fd, const std::string& head);
    void reap_finished_connections();
    bool sleep_unless_stopped(std::chrono::milliseconds delay);

    std::filesystem::path m_root;
    LoopbackListener m_listener{128, /*reuse_address=*/true};
    WakeEvent m_wake;  // signalled once when stopping
    std::chrono::steady_clock::time_point m_deadline;

    std::atomic<bool> m_stopping{false};
    mutable std::mutex m_mutex;  // guards everything below
    std::condition_variable m_stopped_cv;
    std::map<std::string, std::unique_ptr<Faults>> m_faults;
    std::map<std::string, std::size_t> m_counts;
    std::vector<std::string> m_log;
    std::list<std::unique_ptr<Connection>> m_connections;

    std::thread m_accept_thread;  // last: started once everything else exists
};

}  // namespace slate::test
