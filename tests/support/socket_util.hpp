#pragma once
// Socket and HTTP/1.1 text helpers shared by the in-process test servers
// (HttpServer, FaultProxy, RegistryServer's token server) and by the tests that
// read their answers. Blocking POSIX sockets on 127.0.0.1; failures to set a
// socket up throw std::runtime_error, failures while talking to a peer are
// return values (a test server keeps serving when one client misbehaves).

#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slate::test {

// ---- sockets ------------------------------------------------------------------

// A TCP socket listening on 127.0.0.1 at an ephemeral port (close-on-exec).
class LoopbackListener {
public:
    // reuse_address sets SO_REUSEADDR before binding. Throws std::runtime_error.
    explicit LoopbackListener(int backlog, bool reuse_address = false);
    ~LoopbackListener();
    LoopbackListener(const LoopbackListener&) = delete;
    LoopbackListener& operator=(const LoopbackListener&) = delete;

    int fd() const { return m_fd; }
    int port() const { return m_port; }
    // Closes the socket now: connection attempts are refused from here on. Idempotent.
    void close();

private:
    int m_fd = -1;
    int m_port = 0;
};

// An eventfd for stopping: once signalled it is never read back, so it stays
// readable and wakes every poll() that watches it, now and later, at once.
class WakeEvent {
public:
    WakeEvent();  // throws std::runtime_error
    ~WakeEvent();
    WakeEvent(const WakeEvent&) = delete;
    WakeEvent& operator=(const WakeEvent&) = delete;

    int fd() const { return m_fd; }
    void signal();

private:
    int m_fd = -1;
};

// Waits up to `timeout` for a connection on `listener` and accepts it
// (close-on-exec). -1 when none came in time, `wake` was signalled, or accept failed.
int accept_connection(const LoopbackListener& listener, const WakeEvent& wake, std::chrono::milliseconds timeout);

// TCP_NODELAY: small answers go out at once instead of waiting for an ACK.
void set_no_delay(int fd);

// Sends all of `data`, retrying after EINTR and never raising SIGPIPE; false
// once the peer is gone.
bool send_all(int fd, std::string_view data);

// What receive_some() did.
enum class Received {
    Data,    // appended at least one byte
    Idle,    // nothing yet: the timeout passed or a call was interrupted
    Closed,  // the peer closed the connection, or an error
    Woken,   // `wake` was signalled (checked before the socket)
};

// Waits up to `timeout` for `fd` to be readable, then appends what one recv()
// returns, at most `max_bytes`, to `buffer`.
Received receive_some(int fd, const WakeEvent& wake, std::string& buffer, std::chrono::milliseconds timeout,
                      std::size_t max_bytes);

// ---- HTTP text ----------------------------------------------------------------

// ASCII lowercase.
std::string lower(std::string_view text);
// Without leading spaces and tabs, and without trailing spaces, tabs and '\r'.
std::string_view trim(std::string_view text);

// "GET /path?query HTTP/1.1": split at the first and the last space.
struct RequestLine {
    std::string method;
    std::string target;
    std::string version;
};
// The first line of `head`; nullopt when it has fewer than two spaces.
std::optional<RequestLine> parse_request_line(std::string_view head);

struct HeaderField {
    std::string name;   // lowercased, trimmed
    std::string value;  // trimmed
};
// The header fields of a request or response head: the CRLF-separated lines
// after the first (the request or status line), in order. Lines without ':'
// are skipped.
std::vector<HeaderField> header_fields(std::string_view head);
// The value of the first field named `name` (lowercase) in `head`, or "".
std::string header_value(std::string_view head, std::string_view name);

// The standard reason phrase for the statuses the test servers send, or `unknown`.
const char* reason_phrase(int status, const char* unknown);

enum class Base64Alphabet {
    Standard,  // RFC 4648 section 4: '+' and '/' (Basic credentials)
    Url,       // RFC 4648 section 5: '-' and '_' (JWT segments)
};
// Decodes base64 with or without padding; decoding stops at the first '='.
// nullopt for a character outside `alphabet`.
std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet = Base64Alphabet::Standard);

// Takes the connections whose `done` flag is set out of `live` (under
// `mutex`), then, without the lock, joins each one's thread and passes it to
// `close` (which closes its sockets). Servers call it as they accept, so
// finished connection threads never pile up.
template <typename Connection, typename Close>
void reap_finished(std::list<std::unique_ptr<Connection>>& live, std::mutex& mutex, Close&& close) {
    std::list<std::unique_ptr<Connection>> finished;
    {
        std::lock_guard lock(mutex);
        for (auto it = live.begin(); it != live.end();) {
            auto next = std::next(it);
            if ((*it)->done) finished.splice(finished.end(), live, it);
            it = next;
        }
    }
    for (auto& connection : finished) {
        connection->thread.join();
        close(*connection);
    }
}

}  // namespace slate::test
