#include "support/socket_util.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace slate::test {

// ---- sockets ------------------------------------------------------------------

LoopbackListener::LoopbackListener(int backlog, bool reuse_address) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    if (reuse_address) {
        int one = 1;
        ::setsockopt(m_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_fd, backlog) != 0 ||
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        int err = errno;
        close();
        throw std::runtime_error(std::string("cannot listen on 127.0.0.1: ") + std::strerror(err));
    }
    m_port = ntohs(addr.sin_port);
}

LoopbackListener::~LoopbackListener() { close(); }

void LoopbackListener::close() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
}

WakeEvent::WakeEvent() {
    m_fd = ::eventfd(0, EFD_CLOEXEC);
    if (m_fd < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

WakeEvent::~WakeEvent() { ::close(m_fd); }

void WakeEvent::signal() {
    std::uint64_t one = 1;
    (void)!::write(m_fd, &one, sizeof one);
}

int accept_connection(const LoopbackListener& listener, const WakeEvent& wake, std::chrono::milliseconds timeout) {
    pollfd fds[] = {{listener.fd(), POLLIN, 0}, {wake.fd(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(timeout.count())) <= 0 || !(fds[0].revents & POLLIN)) return -1;
    return ::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC);
}

void set_no_delay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

Received receive_some(int fd, const WakeEvent& wake, std::string& buffer, std::chrono::milliseconds timeout,
                      std::size_t max_bytes) {
    pollfd fds[] = {{fd, POLLIN, 0}, {wake.fd(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return Received::Idle;
    if (fds[1].revents & POLLIN) return Received::Woken;
    // Read straight into the buffer's spare room, then cut it back to what arrived.
    std::size_t old_size = buffer.size();
    buffer.resize(old_size + max_bytes);
    ssize_t n = ::recv(fd, buffer.data() + old_size, max_bytes, 0);
    bool interrupted = n < 0 && errno == EINTR;
    buffer.resize(old_size + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (interrupted) return Received::Idle;
    if (n <= 0) return Received::Closed;
    return Received::Data;
}

// ---- HTTP text ----------------------------------------------------------------

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

std::optional<RequestLine> parse_request_line(std::string_view head) {
    std::string_view line = head.substr(0, head.find("\r\n"));
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) return std::nullopt;
    return RequestLine{std::string(line.substr(0, sp1)), std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)),
                       std::string(line.substr(sp2 + 1))};
}

std::vector<HeaderField> header_fields(std::string_view head) {
    std::vector<HeaderField> fields;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
        pos += 2;
        std::size_t end = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, end == std::string_view::npos ? end : end - pos);
        if (std::size_t colon = line.find(':'); colon != std::string_view::npos)
            fields.push_back({lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
        pos = end;
    }
    return fields;
}

std::string header_value(std::string_view head, std::string_view name) {
    for (auto& field : header_fields(head))
        if (field.name == name) return std::move(field.value);
    return {};
}

const char* reason_phrase(int status, const char* unknown) {
    switch (status) {
        case 200: return "OK";
        case 302: return "Found";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return unknown;
    }
}

std::optional<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet) {
    std::string_view digits = alphabet == Base64Alphabet::Url
                                  ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                  : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=') break;
        std::size_t value = digits.find(c);
        if (value == std::string_view::npos) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
            acc &= (1u << bits) - 1;
        }
    }
    return out;
}

}  // namespace slate::test
