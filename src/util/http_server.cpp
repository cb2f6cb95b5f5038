#include "slate/util/http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/util/http.hpp"

namespace slate::util {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Owns one file descriptor.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            m_fd = std::exchange(other.m_fd, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return m_fd; }
    void reset() noexcept {
        if (m_fd >= 0) ::close(std::exchange(m_fd, -1));
    }

private:
    int m_fd = -1;
};

// An accepted connection waiting for a worker.
struct Pending {
    UniqueFd fd;
    std::string peer;
};

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar); }

std::string_view trim_ows(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decoding; `plus_is_space` for query components. nullopt for a
// broken escape or an encoded NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
            if (high < 0 || low < 0) return std::nullopt;
            char decoded = static_cast<char>(high * 16 + low);
            if (decoded == '\0') return std::nullopt;
            out.push_back(decoded);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// Why a request cannot be served; the connection is closed after the answer.
struct Refusal {
    int status;
    std::string message;
};

struct ParsedHead {
    HttpServerRequest request;
    bool http11 = true;
    bool keep_alive = true;
    std::size_t content_length = 0;
    bool expect_continue = false;
};

std::variant<ParsedHead, Refusal> parse_head(std::string_view head, const HttpServerOptions& options) {
    // head: everything before the blank line, CRLF-separated.
    std::size_t line_end = head.find("\r\n");
    std::string_view line = head.substr(0, line_end);
    std::string_view rest = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);

    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return Refusal{400, "malformed request line"};
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) return Refusal{400, "malformed request method"};
    ParsedHead parsed;
    if (version == "HTTP/1.1") {
        parsed.http11 = true;
    } else if (version == "HTTP/1.0") {
        parsed.http11 = false;
    } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.') {
        return Refusal{505, fmt::format("HTTP version {} is not supported; use HTTP/1.1", version)};
    } else {
        return Refusal{400, "malformed HTTP version in the request line"};
    }

    // Absolute-form (a proxy-style request): keep only the path and query.
    if (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://") {
        std::size_t slash = target.find('/', target.find("//") + 2);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (target.empty() || target.front() != '/') return Refusal{400, "the request target must be an absolute path"};
    for (char c : target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Refusal{400, "control character in the request target"};
    std::size_t question = target.find('?');
    std::string_view raw_path = target.substr(0, question);
    std::string_view raw_query = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    if (std::size_t hash = raw_query.find('#'); hash != std::string_view::npos) raw_query = raw_query.substr(0, hash);
    auto path = percent_decode(raw_path, false);
    if (!path) return Refusal{400, "malformed percent-encoding in the request path"};
    HttpServerRequest& request = parsed.request;
    request.method = std::string(method);
    request.path = std::move(*path);
    while (!raw_query.empty()) {
        std::size_t amp = raw_query.find('&');
        std::string_view pair = raw_query.substr(0, amp);
        raw_query = amp == std::string_view::npos ? std::string_view{} : raw_query.substr(amp + 1);
        if (pair.empty()) continue;
        std::size_t eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
        if (!name || !value) return Refusal{400, "malformed percent-encoding in the query string"};
        request.query.emplace(std::move(*name), std::move(*value));  // the first wins
    }

    std::optional<std::size_t> content_length;
    bool has_host = false, has_transfer_encoding = false;
    std::string connection;
    while (!rest.empty()) {
        std::size_t end = rest.find("\r\n");
        std::string_view field = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
        if (field.empty()) continue;
        if (field.front() == ' ' || field.front() == '\t')
            return Refusal{400, "obsolete line folding in the request headers"};
        std::size_t colon = field.find(':');
        if (colon == std::string_view::npos) return Refusal{400, "malformed header line (no ':')"};
        std::string_view name = field.substr(0, colon);
        if (!is_token(name)) return Refusal{400, fmt::format("malformed header name '{}'", name)};
        std::string_view value = trim_ows(field.substr(colon + 1));
        for (char c : value)
            if (c == '\0' || c == '\r' || c == '\n') return Refusal{400, "control character in a header value"};
        std::string key = lower(name);
        if (key == "content-length") {
            std::size_t length = 0;
            auto [end_ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (value.empty() || ec != std::errc{} || end_ptr != value.data() + value.size())
                return Refusal{400, fmt::format("malformed Content-Length '{}'", value)};
            if (content_length && *content_length != length) return Refusal{400, "conflicting Content-Length headers"};
            content_length = length;
        } else if (key == "transfer-encoding") {
            has_transfer_encoding = true;
        } else if (key == "host") {
            has_host = true;
        } else if (key == "connection") {
            connection = lower(value);
        } else if (key == "expect") {
            if (lower(value) != "100-continue") return Refusal{417, fmt::format("unsupported Expect '{}'", value)};
            parsed.expect_continue = parsed.http11;
        }
        request.headers.emplace_back(std::move(key), std::string(value));
    }
    if (has_transfer_encoding)
        return Refusal{411, "request bodies with Transfer-Encoding (chunked) are not accepted; send Content-Length"};
    if (parsed.http11 && !has_host) return Refusal{400, "HTTP/1.1 request without a Host header"};
    parsed.content_length = content_length.value_or(0);
    if (parsed.content_length > options.max_body_bytes)
        return Refusal{413, fmt::format("request body of {} bytes is over the limit of {} bytes", parsed.content_length,
                                        options.max_body_bytes)};
    auto has_token = [&](std::string_view token) {
        // Connection is a comma-separated list.
        std::string_view list = connection;
        while (!list.empty()) {
            std::size_t comma = list.find(',');
            if (trim_ows(list.substr(0, comma)) == token) return true;
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        }
        return false;
    };
    parsed.keep_alive = parsed.http11 ? !has_token("close") : has_token("keep-alive");
    return parsed;
}

// What one read step produced.
enum class ReadResult { Data, Timeout, Closed, Stopping };

std::string peer_name(const sockaddr_storage& address) {
    char host[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(address);
        ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
        return fmt::format("{}:{}", host, ntohs(in.sin_port));
    }
    if (address.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
        ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
        return fmt::format("[{}]:{}", host, ntohs(in6.sin6_port));
    }
    return "unknown";
}

int status_for(ErrorCode code) {
    switch (code) {
        case ErrorCode::Usage:
        case ErrorCode::Parse:
        case ErrorCode::Config:
        case ErrorCode::Signature:
            return 400;
        case ErrorCode::NotFound:
            return 404;
        case ErrorCode::Auth:
            return 403;
        default:
            return 500;
    }
}

HttpServerResponse run_handler(const HttpHandler& handler, LogSink* log, const HttpServerRequest& request) {
    try {
        HttpServerResponse response = handler(request);
        for (const auto& [name, value] : response.headers)
            if (!is_token(name) || value.find_first_of("\r\n") != std::string::npos)
                throw Error(ErrorCode::Internal, fmt::format("handler produced a malformed header '{}'", name));
        if (response.status < 200 || response.status > 599)
            throw Error(ErrorCode::Internal, fmt::format("handler produced status {}", response.status));
        return response;
    } catch (const Error& e) {
        int status = status_for(e.code());
        if (status == 500 && log)
            log->warning(fmt::format("{} {}: {}", request.method, request.path, e.describe()));
        std::string message = e.message();
        if (!e.hint().empty()) message += fmt::format(" ({})", e.hint());
        return HttpServerResponse::error(status, message);
    } catch (const std::exception& e) {
        if (log) log->warning(fmt::format("{} {}: internal error: {}", request.method, request.path, e.what()));
        return HttpServerResponse::error(500, "internal server error");
    }
}

std::string format_response(const HttpServerOptions& options, const HttpServerResponse& response, bool keep_alive,
                            bool is_head) {
    const char* reason = http_reason_phrase(response.status);
    std::string out = fmt::format("HTTP/1.1 {} {}\r\nServer: {}\r\nDate: {}\r\n", response.status,
                                  *reason ? reason : "Unknown", options.server_name,
                                  format_http_date(static_cast<std::int64_t>(std::time(nullptr))));
    const bool bodiless = response.status == 204 || response.status == 304;
    if (!bodiless) out += fmt::format("Content-Length: {}\r\n", response.body.size());
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    for (const auto& [name, value] : response.headers) {
        std::string key = lower(name);
        if (key == "content-length" || key == "connection" || key == "transfer-encoding") continue;
        out += fmt::format("{}: {}\r\n", name, value);
    }
    out += "\r\n";
    if (!is_head && !bodiless) out += response.body;
    return out;
}

bool send_all(int fd, std::string_view data, Clock::time_point deadline) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // Wait for room without watching the wake event: a response being
            // sent when the server stops is still finished (within the deadline).
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left <= 0ms) return false;
            pollfd out{fd, POLLOUT, 0};
            int rc = ::poll(&out, 1, static_cast<int>(left.count()) + 1);
            if (rc < 0 && errno != EINTR) return false;
            continue;
        }
        return false;
    }
    return true;
}

}  // namespace

// ------------------------------------------------------------------ requests

std::string HttpServerRequest::header(std::string_view name) const {
    std::string key = lower(name);
    for (const auto& [field, value] : headers)
        if (field == key) return value;
    return {};
}

HttpServerResponse HttpServerResponse::text(int status, std::string body, std::string content_type) {
    HttpServerResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", std::move(content_type));
    response.body = std::move(body);
    return response;
}

HttpServerResponse HttpServerResponse::json(int status, std::string body) {
    return text(status, std::move(body), "application/json");
}

HttpServerResponse HttpServerResponse::error(int status, std::string_view message) {
    nlohmann::ordered_json body = {{"code", status}, {"message", message}};
    return json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

const char* http_reason_phrase(int status) {
    switch (status) {
        case 100: return "Continue";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 300: return "Multiple Choices";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 415: return "Unsupported Media Type";
        case 416: return "Range Not Satisfiable";
        case 417: return "Expectation Failed";
        case 422: return "Unprocessable Content";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "";
    }
}

std::pair<std::string, std::uint16_t> parse_listen_address(std::string_view text) {
    std::string_view host = "127.0.0.1", port_text = text;
    if (!text.empty() && text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw Error(ErrorCode::Usage, fmt::format("malformed listen address '{}'", text),
                        "use HOST:PORT, e.g. 127.0.0.1:3000 or [::1]:3000");
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else if (std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
        if (text.find(':') != colon)
            throw Error(ErrorCode::Usage, fmt::format("malformed listen address '{}'", text),
                        "put an IPv6 address in brackets: [::1]:3000");
        if (colon > 0) host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
        throw Error(ErrorCode::Usage, fmt::format("malformed port in listen address '{}'", text),
                    "use HOST:PORT with a port from 0 to 65535 (0 picks a free one)");
    return {std::string(host), static_cast<std::uint16_t>(port)};
}

// ------------------------------------------------------------------ server

struct HttpServer::State {
    UniqueFd listener;
    UniqueFd wake;  // eventfd: written once by stop(), never read, so it stays readable
    std::atomic<bool> stop_requested{false};
    std::atomic<Clock::rep> last_request{Clock::now().time_since_epoch().count()};

    std::mutex mutex;
    std::condition_variable ready;  // a connection is pending, or stopping
    std::deque<Pending> pending;
    bool stopping = false;

    std::mutex join_mutex;
    bool started = false;
    bool joined = false;
    std::thread acceptor;
    std::vector<std::thread> workers;

    // Reads and drops what the client still sends, for at most a second.
    void drain(int fd) const {
        auto until = Clock::now() + 1s;
        std::size_t dropped = 0;
        while (dropped < 1024 * 1024 && wait_fd(fd, POLLIN, until) == ReadResult::Data) {
            char chunk[16 * 1024];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) break;
            dropped += static_cast<std::size_t>(n);
        }
    }

    // Waits until `fd` is ready for `events` or `deadline` passes.
    ReadResult wait_fd(int fd, short events, Clock::time_point deadline) const {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left <= 0ms) return ReadResult::Timeout;
            pollfd fds[2] = {{fd, events, 0}, {wake.get(), POLLIN, 0}};
            int rc = ::poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count() + 1, 60'000)));
            if (rc < 0 && errno == EINTR) continue;
            if (rc < 0) return ReadResult::Closed;
            if (fds[1].revents) return ReadResult::Stopping;
            if (fds[0].revents & events) return ReadResult::Data;
            if (fds[0].revents) return ReadResult::Closed;  // error or hang-up without data
        }
    }
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : m_options(std::move(options)), m_handler(std::move(handler)), m_state(std::make_unique<State>()) {
    if (m_options.threads == 0) m_options.threads = 1;
    m_state->wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (m_state->wake.get() < 0)
        throw Error(ErrorCode::Internal, fmt::format("cannot create an eventfd: {}", std::strerror(errno)));

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string port_text = std::to_string(m_options.port);
    int rc = ::getaddrinfo(m_options.address.c_str(), port_text.c_str(), &hints, &found);
    if (rc != 0 || !found)
        throw Error(ErrorCode::Usage, fmt::format("cannot listen on '{}': {}", m_options.address, ::gai_strerror(rc)),
                    "give an IP address such as 127.0.0.1 or ::1");
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);

    UniqueFd socket_fd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol));
    if (socket_fd.get() < 0)
        throw Error(ErrorCode::Network, fmt::format("cannot create a socket: {}", std::strerror(errno)));
    int one = 1;
    ::setsockopt(socket_fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(socket_fd.get(), found->ai_addr, found->ai_addrlen) != 0) {
        int err = errno;
        throw Error(ErrorCode::Network,
                    fmt::format("cannot listen on {}:{}: {}", m_options.address, m_options.port, std::strerror(err)),
                    err == EADDRINUSE ? "another program uses this port; pick another one, or 0 for any free port"
                                      : "use an address of this machine, e.g. 127.0.0.1");
    }
    if (::listen(socket_fd.get(), 128) != 0)
        throw Error(ErrorCode::Network, fmt::format("cannot listen on {}: {}", m_options.address, std::strerror(errno)));
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(socket_fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    m_port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
    m_state->listener = std::move(socket_fd);
}

HttpServer::~HttpServer() {
    stop();
    wait();
}

void HttpServer::stop() noexcept {
    m_state->stop_requested.store(true);
    std::uint64_t one = 1;
    // Only write(2): safe in a signal handler. The eventfd wakes every poll.
    [[maybe_unused]] ssize_t n = ::write(m_state->wake.get(), &one, sizeof one);
}

void HttpServer::wait() {
    while (!wait_for(60s)) {
    }
}

bool HttpServer::wait_for(std::chrono::milliseconds timeout) {
    State& state = *m_state;
    pollfd fd{state.wake.get(), POLLIN, 0};
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        int rc = ::poll(&fd, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
        if (rc > 0) break;
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) return false;
    }
    std::lock_guard lock(state.join_mutex);
    if (!state.joined) {
        if (state.acceptor.joinable()) state.acceptor.join();
        for (auto& worker : state.workers) worker.join();
        state.workers.clear();
        state.joined = true;
    }
    return true;
}

std::string HttpServer::url() const {
    std::string host = m_options.address;
    if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return fmt::format("http://{}:{}", host, m_port);
}

std::chrono::steady_clock::time_point HttpServer::last_request_time() const {
    return Clock::time_point(Clock::duration(m_state->last_request.load()));
}

// Serves one connection until it closes, fails, or the server stops.
void HttpServer::serve_connection(int fd, const std::string& peer) {
    State& state = *m_state;
    std::string buffer;
    bool fresh = true;
    for (;;) {
        // The head: wait for its first byte (the keep-alive idle time), then
        // for the rest within read_timeout.
        std::optional<Clock::time_point> started_at;
        std::size_t head_end = std::string::npos;
        auto deadline = Clock::now() + (fresh ? m_options.read_timeout : m_options.keep_alive_timeout);
        std::optional<Refusal> refusal;
        for (;;) {
            // Ignore empty lines before a request (RFC 9112 section 2.2).
            while (buffer.size() >= 2 && buffer.compare(0, 2, "\r\n") == 0) buffer.erase(0, 2);
            if (!buffer.empty() && !started_at) {
                started_at = Clock::now();
                deadline = *started_at + m_options.read_timeout;
            }
            head_end = buffer.find("\r\n\r\n");
            if (head_end != std::string::npos) break;
            if (buffer.size() > m_options.max_header_bytes) {
                refusal = Refusal{431, fmt::format("request headers over the limit of {} bytes",
                                                   m_options.max_header_bytes)};
                break;
            }
            // Between requests of a kept-alive connection, give the worker
            // up as soon as a new connection waits for one.
            const bool idle = !started_at && !fresh;
            ReadResult r = state.wait_fd(fd, POLLIN, idle ? std::min(deadline, Clock::now() + 50ms) : deadline);
            if (idle && r == ReadResult::Timeout) {
                if (Clock::now() >= deadline) return;
                std::lock_guard lock(state.mutex);
                if (!state.pending.empty()) return;
                continue;
            }
            if (r == ReadResult::Timeout && started_at) {
                refusal = Refusal{408, "the request did not arrive in time"};
                break;
            }
            if (r != ReadResult::Data) return;
            char chunk[16 * 1024];
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            if (n <= 0) return;
            buffer.append(chunk, static_cast<std::size_t>(n));
        }
        fresh = false;
        if (head_end != std::string::npos && head_end > m_options.max_header_bytes)
            refusal = Refusal{431, fmt::format("request headers over the limit of {} bytes", m_options.max_header_bytes)};
        state.last_request.store(Clock::now().time_since_epoch().count());

        std::optional<ParsedHead> head;
        if (!refusal) {
            auto parsed = parse_head(std::string_view(buffer).substr(0, head_end), m_options);
            if (auto* r = std::get_if<Refusal>(&parsed)) refusal = std::move(*r);
            else head = std::move(std::get<ParsedHead>(parsed));
        }
        if (head) {
            // The body.
            std::size_t body_start = head_end + 4;
            std::size_t need = body_start + head->content_length;
            if (head->expect_continue && buffer.size() < need &&
                !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", Clock::now() + m_options.write_timeout))
                return;
            while (buffer.size() < need) {
                ReadResult r = state.wait_fd(fd, POLLIN, *started_at + m_options.read_timeout);
                if (r == ReadResult::Timeout) {
                    refusal = Refusal{408, "the request body did not arrive in time"};
                    break;
                }
                if (r != ReadResult::Data) return;
                char chunk[64 * 1024];
                std::size_t want = std::min(sizeof chunk, need - buffer.size());
                ssize_t n = ::recv(fd, chunk, want, 0);
                if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
                if (n <= 0) return;
                buffer.append(chunk, static_cast<std::size_t>(n));
            }
            if (!refusal) {
                head->request.body = buffer.substr(body_start, head->content_length);
                head->request.peer = peer;
                buffer.erase(0, need);
            }
        }

        HttpServerResponse response;
        bool keep_alive = false;
        bool is_head = false;
        if (refusal) {
            response = HttpServerResponse::error(refusal->status, refusal->message);
        } else {
            is_head = head->request.method == "HEAD";
            response = run_handler(m_handler, m_options.log, head->request);
            keep_alive = head->keep_alive;
        }
        m_requests.fetch_add(1);
        if (keep_alive) {
            std::lock_guard lock(state.mutex);
            // Others are waiting for a worker, or the server is stopping: let this client reconnect.
            if (!state.pending.empty() || state.stopping || state.stop_requested.load()) keep_alive = false;
        }
        if (!send_all(fd, format_response(m_options, response, keep_alive, is_head), Clock::now() + m_options.write_timeout))
            return;
        if (!keep_alive) {
            ::shutdown(fd, SHUT_WR);
            // After a refusal the client may still be sending the body we
            // did not read; closing with unread bytes resets the
            // connection and can destroy the answer in flight. Read and
            // drop them for a moment first (a "lingering close").
            if (refusal) state.drain(fd);
            return;
        }
    }
}

void HttpServer::start() {
    State& state = *m_state;
    std::lock_guard start_lock(state.join_mutex);
    if (state.started) throw Error(ErrorCode::Internal, "HttpServer::start called twice");
    state.started = true;
    state.last_request.store(Clock::now().time_since_epoch().count());

    for (unsigned i = 0; i < m_options.threads; ++i) {
        state.workers.emplace_back([this, &state] {
            for (;;) {
                Pending connection;
                {
                    std::unique_lock lock(state.mutex);
                    state.ready.wait(lock, [&] { return state.stopping || !state.pending.empty(); });
                    if (state.stopping) return;
                    connection = std::move(state.pending.front());
                    state.pending.pop_front();
                }
                serve_connection(connection.fd.get(), connection.peer);
            }
        });
    }

    state.acceptor = std::thread([this, &state] {
        for (;;) {
            pollfd fds[2] = {{state.listener.get(), POLLIN, 0}, {state.wake.get(), POLLIN, 0}};
            int rc = ::poll(fds, 2, -1);
            if (rc < 0 && errno == EINTR) continue;
            if (fds[1].revents || rc < 0) break;
            sockaddr_storage address{};
            socklen_t length = sizeof address;
            int fd = ::accept4(state.listener.get(), reinterpret_cast<sockaddr*>(&address), &length,
                               SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    if (m_options.log)
                        m_options.log->warning(fmt::format("HTTP server cannot accept: {}", std::strerror(errno)));
                    pollfd wake{state.wake.get(), POLLIN, 0};
                    ::poll(&wake, 1, 100);  // let connections close before trying again
                }
                continue;
            }
            Pending connection{UniqueFd(fd), peer_name(address)};
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            std::unique_lock lock(state.mutex);
            if (state.pending.size() >= m_options.max_pending_connections) {
                lock.unlock();
                send_all(fd, format_response(m_options, HttpServerResponse::error(503, "the server is busy; try again"), false, false),
                         Clock::now() + 100ms);
                continue;
            }
            state.pending.push_back(std::move(connection));
            lock.unlock();
            state.ready.notify_one();
        }
        {
            std::lock_guard lock(state.mutex);
            state.stopping = true;
            state.pending.clear();  // closes connections no worker took
        }
        state.listener.reset();
        state.ready.notify_all();
    });
}

}  // namespace slate::util
