#include "support/http_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string_view>
#include <utility>

#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/http.hpp"

namespace slate::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct HttpServer::Faults {
    int fail_times = 0;
    int fail_status = 0;
    int retry_after = -1;
    int truncate_times = 0;
    std::size_t truncate_bytes = 0;
    bool truncate_honest = false;
    int corrupt_times = 0;
    int delay_times = 0;
    std::chrono::milliseconds delay{0};
    std::string redirect;
};

struct HttpServer::Connection {
    int fd = -1;  // closed only after the thread is joined, so the number is never reused under us
    std::thread thread;
    std::atomic<bool> done{false};
};

namespace {

constexpr auto Lifetime = std::chrono::minutes(15);
constexpr auto IdleTimeout = 10s;
constexpr auto PollInterval = 100ms;
constexpr std::size_t MaxHeadSize = 64 * 1024;
constexpr std::size_t ReadChunk = 8192;  // per recv(): how far a head can run past MaxHeadSize before the 431

std::string normalise_path(const std::string& path) { return (path.empty() || path[0] != '/') ? "/" + path : path; }

const char* status_text(int status) { return reason_phrase(status, "Status"); }

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
            return std::nullopt;
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

// IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"), which is what this server sends.
std::optional<std::int64_t> parse_http_date(const std::string& text) {
    static constexpr std::string_view Months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char weekday[4] = {}, month[4] = {};
    std::tm tm{};
    if (std::sscanf(text.c_str(), "%3s, %d %3s %d %d:%d:%d GMT", weekday, &tm.tm_mday, month, &tm.tm_year,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7)
        return std::nullopt;
    std::size_t m = Months.find(month);
    if (m == std::string_view::npos || m % 3 != 0) return std::nullopt;
    tm.tm_mon = static_cast<int>(m / 3);
    tm.tm_year -= 1900;
    return static_cast<std::int64_t>(::timegm(&tm));
}

bool etag_matches(std::string_view header, const std::string& etag) {
    while (!header.empty()) {
        std::size_t comma = header.find(',');
        std::string_view item = trim(header.substr(0, comma));
        if (item.substr(0, 2) == "W/") item.remove_prefix(2);
        if (item == "*" || item == etag) return true;
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

struct Request {
    std::string method, target, version;
    std::map<std::string, std::string> headers;  // lowercase names
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

std::optional<Request> parse_request(const std::string& head) {
    auto line = parse_request_line(head);
    if (!line) return std::nullopt;
    Request request{std::move(line->method), std::move(line->target), std::move(line->version), {}};
    for (auto& field : header_fields(head)) request.headers[std::move(field.name)] = std::move(field.value);  // last wins
    return request;
}

// The file under `root` that `path` names, or the status to answer instead.
std::pair<fs::path, int> resolve(const fs::path& root, const std::string& path) {
    if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos) return {{}, 400};
    for (const auto& part : fs::path(path))
        if (part == "..") return {{}, 403};
    std::error_code ec;
    fs::path file = fs::canonical(root / path.substr(1), ec);
    if (ec) return {{}, 404};
    auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
    if (root_end != root.end()) return {{}, 403};  // a symlink leading outside the root
    if (!fs::is_regular_file(file, ec)) return {{}, 404};
    return {file, 200};
}

}  // namespace

HttpServer::HttpServer(fs::path root) {
    fs::create_directories(root);
    m_root = fs::canonical(root);
    m_deadline = std::chrono::steady_clock::now() + Lifetime;
    m_accept_thread = std::thread([this] { accept_loop(); });
}

HttpServer::~HttpServer() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_stopped_cv.notify_all();
    m_wake.signal();
    if (m_accept_thread.joinable()) m_accept_thread.join();
    m_listener.close();
    std::list<std::unique_ptr<Connection>> connections;
    {
        std::lock_guard lock(m_mutex);
        connections.swap(m_connections);
    }
    // Wake threads blocked in send() on a client that stopped reading.
    for (auto& connection : connections) ::shutdown(connection->fd, SHUT_RDWR);
    for (auto& connection : connections) {
        if (connection->thread.joinable()) connection->thread.join();
        ::close(connection->fd);
    }
}

std::string HttpServer::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void HttpServer::fail_next(const std::string& path, int status, int times, int retry_after_seconds) {
    std::lock_guard lock(m_mutex);
    auto& faults = m_faults[normalise_path(path)];
    if (!faults) faults = std::make_unique<Faults>();
    faults->fail_status = status;
    faults->fail_times = times;
    faults->retry_after = retry_after_seconds;
}

void HttpServer::truncate_next(const std::string& path, std::size_t bytes, bool honest_length, int times) {
    std::lock_guard lock(m_mutex);
    auto& faults = m_faults[normalise_path(path)];
    if (!faults) faults = std::make_unique<Faults>();
    faults->truncate_bytes = bytes;
    faults->truncate_honest = honest_length;
    faults->truncate_times = times;
}

void HttpServer::corrupt_next(const std::string& path, int times) {
    std::lock_guard lock(m_mutex);
    auto& faults = m_faults[normalise_path(path)];
    if (!faults) faults = std::make_unique<Faults>();
    faults->corrupt_times = times;
}

void HttpServer::delay_next(const std::string& path, std::chrono::milliseconds delay, int times) {
    std::lock_guard lock(m_mutex);
    auto& faults = m_faults[normalise_path(path)];
    if (!faults) faults = std::make_unique<Faults>();
    faults->delay = delay;
    faults->delay_times = times;
}

void HttpServer::redirect(const std::string& path, const std::string& location) {
    std::lock_guard lock(m_mutex);
    auto& faults = m_faults[normalise_path(path)];
    if (!faults) faults = std::make_unique<Faults>();
    faults->redirect = location;
}

std::size_t HttpServer::request_count(const std::string& path) const {
    std::lock_guard lock(m_mutex);
    auto it = m_counts.find(normalise_path(path));
    return it == m_counts.end() ? 0 : it->second;
}

std::vector<std::string> HttpServer::request_log() const {
    std::lock_guard lock(m_mutex);
    return m_log;
}

void HttpServer::accept_loop() {
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
        auto& connection = *m_connections.emplace_back(std::make_unique<Connection>());
        connection.fd = fd;
        connection.thread = std::thread([this, &connection] {
            serve_connection(connection);
            connection.done = true;
        });
    }
}

void HttpServer::reap_finished_connections() {
    reap_finished(m_connections, m_mutex, [](Connection& connection) { ::close(connection.fd); });
}

bool HttpServer::sleep_unless_stopped(std::chrono::milliseconds delay) {
    std::unique_lock lock(m_mutex);
    return !m_stopped_cv.wait_for(lock, delay, [this] { return m_stopping.load(); });
}

void HttpServer::serve_connection(Connection& connection) {
    std::string buffer;
    auto last_activity = std::chrono::steady_clock::now();
    while (!m_stopping) {
        std::size_t head_end = buffer.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            std::string head = buffer.substr(0, head_end);
            buffer.erase(0, head_end + 4);  // GET and HEAD carry no body
            if (!handle_request(connection.fd, head)) break;
            last_activity = std::chrono::steady_clock::now();
            continue;
        }
        if (buffer.size() > MaxHeadSize) {
            send_all(connection.fd, "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            break;
        }
        if (std::chrono::steady_clock::now() - last_activity > IdleTimeout) break;
        Received received = receive_some(connection.fd, m_wake, buffer, PollInterval, ReadChunk);
        if (received == Received::Idle) continue;
        if (received != Received::Data) break;  // closed, or stopping
        last_activity = std::chrono::steady_clock::now();
    }
    ::shutdown(connection.fd, SHUT_RDWR);  // the fd itself is closed by whoever joins this thread
}

bool HttpServer::handle_request(int fd, const std::string& head) {
    auto request = parse_request(head);
    if (!request) {
        send_all(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return false;
    }
    bool keep_alive = request->version == "HTTP/1.1" && lower(request->header("connection")) != "close";
    std::string raw_path = request->target.substr(0, request->target.find('?'));
    std::string path = percent_decode(raw_path).value_or(raw_path);

    // Take this request's share of the injected faults.
    Faults applied;
    {
        std::lock_guard lock(m_mutex);
        ++m_counts[path];
        if (auto it = m_faults.find(path); it != m_faults.end()) {
            Faults& faults = *it->second;
            if (faults.delay_times > 0) {
                --faults.delay_times;
                applied.delay = faults.delay;
            }
            if (faults.fail_times > 0) {
                --faults.fail_times;
                applied.fail_status = faults.fail_status;
                applied.retry_after = faults.retry_after;
            }
            applied.redirect = faults.redirect;
        }
    }
    if (applied.delay > 0ms && !sleep_unless_stopped(applied.delay)) return false;

    auto respond = [&](int status, std::string extra_headers, std::string_view body, bool send_body) {
        {
            std::lock_guard lock(m_mutex);
            m_log.push_back(request->method + " " + path + " " + std::to_string(status));
        }
        std::string out = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) + "\r\n";
        out += "Date: " + util::format_http_date(std::time(nullptr)) + "\r\n";
        out += extra_headers;
        if (status != 304) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
        if (send_body && request->method != "HEAD") out += body;
        return send_all(fd, out) && keep_alive;
    };
    auto respond_text = [&](int status, std::string extra_headers = {}) {
        std::string body = std::to_string(status) + " " + status_text(status) + "\n";
        return respond(status, extra_headers + "Content-Type: text/plain\r\n", body, true);
    };

    if (applied.fail_status != 0) {
        std::string extra;
        if (applied.retry_after >= 0 && (applied.fail_status == 429 || applied.fail_status == 503))
            extra = "Retry-After: " + std::to_string(applied.retry_after) + "\r\n";
        return respond_text(applied.fail_status, extra);
    }
    if (request->method != "GET" && request->method != "HEAD") return respond_text(405, "Allow: GET, HEAD\r\n");
    if (!applied.redirect.empty()) return respond_text(302, "Location: " + applied.redirect + "\r\n");

    auto [file, status] = resolve(m_root, path);
    if (status != 200) return respond_text(status);

    std::string content = util::read_file(file);
    std::string etag = "\"" + util::sha256_hex(content) + "\"";
    struct stat st {};
    ::stat(file.c_str(), &st);
    std::string headers = "ETag: " + etag + "\r\nLast-Modified: " + util::format_http_date(st.st_mtime) + "\r\n";

    // If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
    std::string if_none_match = request->header("if-none-match");
    if (!if_none_match.empty()) {
        if (etag_matches(if_none_match, etag)) return respond(304, headers, {}, false);
    } else if (auto since = parse_http_date(request->header("if-modified-since")); since && st.st_mtime <= *since) {
        return respond(304, headers, {}, false);
    }

    bool truncate = false, honest = false, corrupt = false;
    std::size_t keep = content.size();
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_faults.find(path); it != m_faults.end() && request->method == "GET") {
            Faults& faults = *it->second;
            if (faults.truncate_times > 0) {
                --faults.truncate_times;
                truncate = true;
                honest = faults.truncate_honest;
                keep = std::min(keep, faults.truncate_bytes);
            }
            if (faults.corrupt_times > 0) {
                --faults.corrupt_times;
                corrupt = true;
            }
        }
    }
    if (corrupt && !content.empty()) {
        content[content.size() / 2] = static_cast<char>(content[content.size() / 2] ^ 0xff);
        content[0] = static_cast<char>(content[0] ^ 0x01);
    }
    headers += "Content-Type: application/octet-stream\r\n";
    if (!truncate || honest) return respond(200, headers, std::string_view(content).substr(0, keep), true);

    // A dishonest truncation: promise the whole body, send part of it, hang up.
    respond(200, headers, content, false);
    send_all(fd, std::string_view(content).substr(0, keep));
    return false;
}

}  // namespace slate::test
