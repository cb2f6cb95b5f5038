#pragma once
// A TCP proxy on 127.0.0.1 (ephemeral port) in front of an upstream
// "HOST:PORT", for testing how clients survive a flaky registry. Each accepted
// connection takes the next scheduled fault, if any, or is forwarded byte for
// byte both ways until either side closes.
//
// Faults are queued in the order they are scheduled: after
//   proxy.fail_next(2, 503); proxy.drop_after(1000);
// the first two connections get 503, the third is cut after 1000 bytes, the
// rest are forwarded. A fault is counted in faults_served() when a connection
// is assigned to it. HTTP clients reuse connections, so a fault hits the
// request that opens a new connection; a fault answer always carries
// Connection: close, so the request after it opens a new one.
//
// One thread accepts; each connection gets its own thread. The destructor
// stops everything and joins all threads; the proxy also stops by itself 15
// minutes after construction, so it can never outlive a test.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "support/socket_util.hpp"

namespace slate::test {

class FaultProxy {
public:
    explicit FaultProxy(std::string upstream_host_port);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    std::string host() const;  // "127.0.0.1:PORT"
    std::string url() const;   // "http://127.0.0.1:PORT"
    int port() const { return m_listener.port(); }

    // The next `connections` connections: read the request head (and discard a
    // body announced by Content-Length, up to 64 MiB, unless the client waits
    // for 100-continue), answer `HTTP/1.1 <status>` with a registry-style JSON
    // error body, Connection: close (and Retry-After when retry_after_seconds
    // >= 0), then close.
    void fail_next(int connections, int status, int retry_after_seconds = -1);
    // The next `connections` connections are forwarded, but cut (both sides
    // closed) once the client has sent `bytes_upstream` bytes: a dropped upload.
    void drop_after(std::size_t bytes_upstream, int connections = 1);

    std::size_t connections() const;    // accepted so far
    std::size_t faults_served() const;  // connections that got a fault

private:
    struct Fault {
        enum class Kind { Fail, Drop } kind = Kind::Fail;
        int remaining = 0;
        int status = 0;
        int retry_after = -1;
        std::size_t bytes = 0;
    };
    struct Connection;

    void accept_loop();
    void reap_finished_connections();
    void serve(Connection& connection, std::optional<Fault> fault);
    void answer_fault(int fd, const Fault& fault);
    void forward(Connection& connection, const Fault* drop);

    std::string m_upstream_host;
    std::string m_upstream_port;
    LoopbackListener m_listener{128};
    WakeEvent m_wake;  // signalled once when stopping
    std::chrono::steady_clock::time_point m_deadline;

    std::atomic<bool> m_stopping{false};
    mutable std::mutex m_mutex;  // guards everything below
    std::deque<Fault> m_faults;
    std::size_t m_connections = 0;
    std::size_t m_faults_served = 0;
    std::list<std::unique_ptr<Connection>> m_live;

    std::thread m_accept_thread;  // last: started once everything else exists
};

}  // namespace slate::test
