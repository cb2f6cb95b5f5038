#include "support/fault_proxy.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace slate::test {
using namespace std::chrono_literals;

struct FaultProxy::Connection {
    int client_fd = -1;    // closed only after the thread is joined, so the number is never reused under us
    int upstream_fd = -1;  // set under m_mutex by the thread; closed like client_fd
    std::thread thread;
    std::atomic<bool> done{false};
};

namespace {

constexpr auto Lifetime = std::chrono::minutes(15);
constexpr auto HeadTimeout = 10s;
constexpr auto BodyTimeout = 30s;
constexpr auto LingerTimeout = 2s;
constexpr std::size_t MaxHeadSize = 64 * 1024;
constexpr std::size_t MaxDiscardedBody = 64 * 1024 * 1024;
constexpr auto PollInterval = 100ms;
constexpr std::size_t ReadChunk = 64 * 1024;

// Splits "HOST:PORT" at the last ':'.
std::pair<std::string, std::string> split_host_port(const std::string& text) {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
        throw std::invalid_argument("FaultProxy: upstream must be HOST:PORT, got \"" + text + "\"");
    return {text.substr(0, colon), text.substr(colon + 1)};
}

int connect_to(const std::string& host, const std::string& port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
    int fd = -1;
    for (addrinfo* ai = found; ai && fd < 0; ai = ai->ai_next) {
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    if (fd >= 0) set_no_delay(fd);
    return fd;
}

}  // namespace

FaultProxy::FaultProxy(std::string upstream_host_port) {
    std::tie(m_upstream_host, m_upstream_port) = split_host_port(upstream_host_port);
    m_deadline = std::chrono::steady_clock::now() + Lifetime;
    m_accept_thread = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
    m_stopping = true;
    m_wake.signal();
    if (m_accept_thread.joinable()) m_accept_thread.join();
    m_listener.close();
    std::list<std::unique_ptr<Connection>> live;
    {
        // Under the lock: a thread publishes its upstream fd under it too, and
        // gives up when it sees m_stopping there.
        std::lock_guard lock(m_mutex);
        for (auto& connection : m_live) {
            ::shutdown(connection->client_fd, SHUT_RDWR);  // wakes threads blocked in send()
            if (connection->upstream_fd >= 0) ::shutdown(connection->upstream_fd, SHUT_RDWR);
        }
        live.swap(m_live);
    }
    for (auto& connection : live) {
        if (connection->thread.joinable()) connection->thread.join();
        ::close(connection->client_fd);
        if (connection->upstream_fd >= 0) ::close(connection->upstream_fd);
    }
}

std::string FaultProxy::host() const { return "127.0.0.1:" + std::to_string(port()); }
std::string FaultProxy::url() const { return "http://" + host(); }

void FaultProxy::fail_next(int connections, int status, int retry_after_seconds) {
    if (connections <= 0) return;
    std::lock_guard lock(m_mutex);
    m_faults.push_back({Fault::Kind::Fail, connections, status, retry_after_seconds, 0});
}

void FaultProxy::drop_after(std::size_t bytes_upstream, int connections) {
    if (connections <= 0) return;
    std::lock_guard lock(m_mutex);
    m_faults.push_back({Fault::Kind::Drop, connections, 0, -1, bytes_upstream});
}

std::size_t FaultProxy::connections() const {
    std::lock_guard lock(m_mutex);
    return m_connections;
}

std::size_t FaultProxy::faults_served() const {
    std::lock_guard lock(m_mutex);
    return m_faults_served;
}

void FaultProxy::accept_loop() {
    while (!m_stopping && std::chrono::steady_clock::now() < m_deadline) {
        reap_finished_connections();
        int fd = accept_connection(m_listener, m_wake, PollInterval);
        if (fd < 0) continue;
        set_no_delay(fd);
        std::lock_guard lock(m_mutex);
        if (m_stopping) {
            ::close(fd);
            break;
        }
        ++m_connections;
        std::optional<Fault> fault;
        if (!m_faults.empty()) {
            fault = m_faults.front();
            if (--m_faults.front().remaining == 0) m_faults.pop_front();
            ++m_faults_served;
        }
        auto& connection = *m_live.emplace_back(std::make_unique<Connection>());
        connection.client_fd = fd;
        connection.thread = std::thread([this, &connection, fault] {
            serve(connection, fault);
            connection.done = true;
        });
    }
}

void FaultProxy::reap_finished_connections() {
    reap_finished(m_live, m_mutex, [](Connection& connection) {
        ::close(connection.client_fd);
        if (connection.upstream_fd >= 0) ::close(connection.upstream_fd);
    });
}

void FaultProxy::serve(Connection& connection, std::optional<Fault> fault) {
    if (fault && fault->kind == Fault::Kind::Fail) {
        answer_fault(connection.client_fd, *fault);
    } else {
        int upstream = connect_to(m_upstream_host, m_upstream_port);
        bool go = upstream >= 0;
        if (go) {
            std::lock_guard lock(m_mutex);
            if (m_stopping) {
                ::close(upstream);
                go = false;
            } else {
                connection.upstream_fd = upstream;
            }
        }
        // An unreachable upstream: the client sees the connection closed, as it would without the proxy.
        if (go) forward(connection, fault ? &*fault : nullptr);
        if (go) ::shutdown(upstream, SHUT_RDWR);
    }
    ::shutdown(connection.client_fd, SHUT_RDWR);
}

void FaultProxy::answer_fault(int fd, const Fault& fault) {
    // Reads into `buffer` until `done` holds; false on EOF, error, timeout or stop.
    auto read_until = [&](std::string& buffer, auto done, std::chrono::steady_clock::duration timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            if (m_stopping || std::chrono::steady_clock::now() > deadline) return false;
            Received received = receive_some(fd, m_wake, buffer, PollInterval, ReadChunk);
            if (received == Received::Idle) continue;
            if (received != Received::Data) return false;
            if (buffer.size() > MaxHeadSize + MaxDiscardedBody) return false;
        }
        return true;
    };

    std::string buffer;
    bool have_head = read_until(
        buffer, [&] { return buffer.find("\r\n\r\n") != std::string::npos || buffer.size() > MaxHeadSize; },
        HeadTimeout);
    std::size_t head_end = buffer.find("\r\n\r\n");
    if (!have_head || head_end == std::string::npos) return;
    std::string head = buffer.substr(0, head_end + 2);
    std::string method = head.substr(0, head.find(' '));

    // Read the body the client is sending, so that closing does not reset the
    // connection before the client has read the answer. A client waiting for
    // 100-continue sends nothing: it gets the final status instead.
    if (lower(header_value(head, "expect")) != "100-continue") {
        std::size_t body_start = head_end + 4;
        std::string length = header_value(head, "content-length");
        std::size_t size = 0;
        auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), size);
        if (!length.empty() && ec == std::errc() && end == length.data() + length.size() && size <= MaxDiscardedBody) {
            read_until(buffer, [&] { return buffer.size() - body_start >= size; }, BodyTimeout);
        } else if (lower(header_value(head, "transfer-encoding")).find("chunked") != std::string::npos) {
            read_until(
                buffer, [&] { return buffer.size() >= body_start + 5 && buffer.ends_with("0\r\n\r\n"); }, BodyTimeout);
        }
    }

    std::string code = fault.status == 429 ? "TOOMANYREQUESTS" : fault.status >= 500 ? "UNAVAILABLE" : "UNKNOWN";
    std::string body = "{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"injected fault: HTTP " +
                       std::to_string(fault.status) + "\"}]}\n";
    std::string response =
        "HTTP/1.1 " + std::to_string(fault.status) + " " + reason_phrase(fault.status, "Injected Fault") + "\r\n";
    response += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    if (fault.retry_after >= 0) response += "Retry-After: " + std::to_string(fault.retry_after) + "\r\n";
    response += "Connection: close\r\n\r\n";
    if (method != "HEAD") response += body;
    if (!send_all(fd, response)) return;

    // A lingering close: stop sending, then swallow whatever still arrives
    // until the client hangs up, so the answer is not lost to a reset.
    ::shutdown(fd, SHUT_WR);
    std::string ignored;
    read_until(ignored, [&] { ignored.clear(); return false; }, LingerTimeout);
}

void FaultProxy::forward(Connection& connection, const Fault* drop) {
    int client = connection.client_fd;
    int upstream = connection.upstream_fd;
    std::size_t sent_upstream = 0;
    std::vector<char> buffer(ReadChunk);
    if (drop && drop->bytes == 0) return;
    while (!m_stopping && std::chrono::steady_clock::now() < m_deadline) {
        pollfd fds[] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}, {m_wake.fd(), POLLIN, 0}};
        if (::poll(fds, 3, static_cast<int>(PollInterval.count())) <= 0) continue;
        if (fds[2].revents & POLLIN) return;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::recv(client, buffer.data(), buffer.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            std::size_t take = static_cast<std::size_t>(n);
            if (drop) take = std::min(take, drop->bytes - sent_upstream);
            if (!send_all(upstream, std::string_view(buffer.data(), take))) return;
            sent_upstream += take;
            if (drop && sent_upstream >= drop->bytes) return;  // the cut: serve() closes both sides
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::recv(upstream, buffer.data(), buffer.size(), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            if (!send_all(client, std::string_view(buffer.data(), static_cast<std::size_t>(n)))) return;
        }
    }
}

}  // namespace slate::test
