#include "transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/http.hpp"
#include "util/curl_support.hpp"

namespace slate::registry::detail {
using namespace std::chrono_literals;
using util::curl::append_header;
using util::curl::set_option;

namespace {

constexpr auto ProgressInterval = 100ms;
constexpr std::size_t ErrorBodyLimit = 64 * 1024;

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

// State shared with libcurl's callbacks during one exchange.
struct Exchange {
    const HttpRequest* request = nullptr;
    CURL* easy = nullptr;
    HttpResponse* response = nullptr;
    util::Sha256 hash;
    bool success_status = false;    // the current response is 2xx
    std::uint64_t sent = 0;         // request body bytes handed to libcurl
    int write_errno = 0;
    util::ProgressSink* progress = nullptr;
    std::chrono::steady_clock::time_point last_update{};
    std::exception_ptr callback_error;
};

std::size_t on_header(char* data, std::size_t item, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    const std::size_t size = item * count;
    std::string_view line(data, size);
    if (line.starts_with("HTTP/")) {
        // A new response (after a redirect or 100 Continue): forget the previous one's headers.
        exchange.response->headers.clear();
        std::size_t space = line.find(' ');
        long status = space == std::string_view::npos ? 0 : std::strtol(line.data() + space + 1, nullptr, 10);
        exchange.success_status = status >= 200 && status < 300;
        return size;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return size;
    try {
        exchange.response->headers.emplace_back(lowercase(trim(line.substr(0, colon))),
                                                std::string(trim(line.substr(colon + 1))));
    } catch (...) {
        exchange.callback_error = std::current_exception();
        return 0;
    }
    return size;
}

std::size_t on_body(char* data, std::size_t item, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    const std::size_t size = item * count;
    HttpResponse& response = *exchange.response;
    const HttpRequest& request = *exchange.request;
    if (!exchange.success_status) {  // an error page: keep its start for the message
        std::size_t room = ErrorBodyLimit - std::min(ErrorBodyLimit, response.body.size());
        response.body.append(data, std::min(room, size));
        return size;
    }
    std::uint64_t limit = request.expected_size ? request.expected_size
                                                : (request.sink_fd >= 0 ? 0 : request.memory_limit);
    if (limit != 0 && response.size + size > limit) {
        response.too_large = true;
        return 0;  // anything but `size` makes libcurl abort
    }
    try {
        if (request.sink_fd >= 0) {
            const char* at = data;
            std::size_t left = size;
            while (left > 0) {
                ssize_t n = ::write(request.sink_fd, at, left);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    exchange.write_errno = errno;
                    return 0;
                }
                at += n;
                left -= static_cast<std::size_t>(n);
            }
        } else {
            response.body.append(data, size);
        }
        exchange.hash.update(data, size);
    } catch (...) {
        exchange.callback_error = std::current_exception();
        return 0;
    }
    response.size += size;
    return size;
}

std::size_t on_read(char* buffer, std::size_t item, std::size_t count, void* user) {
    auto& exchange = *static_cast<Exchange*>(user);
    const HttpRequest& request = *exchange.request;
    std::uint64_t total = request.body_fd >= 0 ? request.body_length : request.body.size();
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(item * count, total - exchange.sent));
    if (want == 0) return 0;
    if (request.body_fd >= 0) {
        ssize_t n;
        do {
            n = ::pread(request.body_fd, buffer, want, static_cast<off_t>(request.body_offset + exchange.sent));
        } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            exchange.write_errno = n < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        want = static_cast<std::size_t>(n);
    } else {
        std::memcpy(buffer, request.body.data() + exchange.sent, want);
    }
    exchange.sent += want;
    return want;
}

// libcurl rewinds the body when it must send it again (a redirect, an auth retry).
int on_seek(void* user, curl_off_t offset, int origin) {
    auto& exchange = *static_cast<Exchange*>(user);
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    exchange.sent = static_cast<std::uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
}

int on_progress(void* user, curl_off_t, curl_off_t downloaded, curl_off_t, curl_off_t uploaded) {
    auto& exchange = *static_cast<Exchange*>(user);
    auto now = std::chrono::steady_clock::now();
    if (now - exchange.last_update < ProgressInterval) return 0;
    exchange.last_update = now;
    auto done = static_cast<std::uint64_t>(std::max(downloaded, uploaded));
    if (done == 0) return 0;
    try {
        exchange.progress->update(exchange.request->progress_label, done, exchange.request->progress_total);
    } catch (...) {
        exchange.callback_error = std::current_exception();
        return 1;
    }
    return 0;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers)
        if (key == name) return value;
    return {};
}

std::chrono::seconds HttpResponse::retry_after() const {
    std::string value = header("retry-after");
    if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return 0s;  // the HTTP-date form is rare from registries; the backoff covers it
    return std::chrono::seconds(std::min(std::stoll(value.substr(0, 6)), 3600LL));
}

Transport::Transport(const ClientOptions& options, util::ProgressSink& progress)
    : m_options(options), m_progress(progress) {
    util::curl::ensure_initialised();
    m_easy = std::make_unique<util::curl::Easy>();
}

Transport::~Transport() = default;

HttpResponse Transport::perform(const HttpRequest& request) {
    CURL* easy = m_easy->get();
    curl_easy_reset(easy);
    HttpResponse response;
    Exchange exchange;
    exchange.request = &request;
    exchange.easy = easy;
    exchange.response = &response;
    exchange.progress = &m_progress;
    char error_buffer[CURL_ERROR_SIZE] = {};

    set_option(easy, CURLOPT_URL, request.url.c_str());
    set_option(easy, CURLOPT_ERRORBUFFER, error_buffer);
    set_option(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    set_option(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set_option(easy, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
    set_option(easy, CURLOPT_MAXREDIRS, 5L);
    util::curl::set_connection_options(
        easy, {m_options.user_agent, m_options.connect_timeout, m_options.stall_timeout, m_options.ca_file});
    if (request.timeout > 0ms) set_option(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    if (m_options.insecure) {
        set_option(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        set_option(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    util::curl::HeaderList headers;
    for (const auto& line : request.headers) append_header(headers, line);
    append_header(headers, "Expect:");  // no 100-continue round trip before every upload
    set_option(easy, CURLOPT_HTTPHEADER, headers.get());

    set_option(easy, CURLOPT_HEADERFUNCTION, &on_header);
    set_option(easy, CURLOPT_HEADERDATA, static_cast<void*>(&exchange));
    set_option(easy, CURLOPT_WRITEFUNCTION, &on_body);
    set_option(easy, CURLOPT_WRITEDATA, static_cast<void*>(&exchange));

    const std::uint64_t body_size = request.body_fd >= 0 ? request.body_length : request.body.size();
    if (request.method == "HEAD") {
        set_option(easy, CURLOPT_NOBODY, 1L);
    } else if (request.method == "POST") {
        set_option(easy, CURLOPT_POST, 1L);
        set_option(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.has_body ? body_size : 0));
    } else if (request.method == "PUT" || request.method == "PATCH") {
        set_option(easy, CURLOPT_UPLOAD, 1L);
        set_option(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.has_body ? body_size : 0));
        if (request.method == "PATCH") set_option(easy, CURLOPT_CUSTOMREQUEST, "PATCH");
    } else if (request.method != "GET") {
        set_option(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.method == "POST" || request.method == "PUT" || request.method == "PATCH") {
        set_option(easy, CURLOPT_READFUNCTION, &on_read);
        set_option(easy, CURLOPT_READDATA, static_cast<void*>(&exchange));
        set_option(easy, CURLOPT_SEEKFUNCTION, &on_seek);
        set_option(easy, CURLOPT_SEEKDATA, static_cast<void*>(&exchange));
    }
    if (!request.progress_label.empty()) {
        set_option(easy, CURLOPT_NOPROGRESS, 0L);
        set_option(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
        set_option(easy, CURLOPT_XFERINFODATA, static_cast<void*>(&exchange));
    }

    errno = 0;
    CURLcode rc = curl_easy_perform(easy);
    if (exchange.callback_error) std::rethrow_exception(exchange.callback_error);
    if (exchange.write_errno != 0)
        throw Error(ErrorCode::Io, fmt::format("cannot {} {}: {}", request.body_fd >= 0 ? "read the upload for" : "write the download of",
                                               util::redact_url(request.url), std::strerror(exchange.write_errno)),
                    "check free disk space and file permissions");
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
    if (char* effective = nullptr; curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective)
        response.effective_url = effective;
    if (rc != CURLE_OK && !response.too_large) {
        std::string cause = error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(rc));
        while (!cause.empty() && std::isspace(static_cast<unsigned char>(cause.back()))) cause.pop_back();
        response.transport_error = std::move(cause);
        response.retryable = util::curl::is_transient(rc);
        response.status = 0;
        return response;
    }
    if (response.ok() && !response.too_large) response.sha256 = exchange.hash.finish_hex();
    if (!request.progress_label.empty() && response.ok())
        m_progress.update(request.progress_label, std::max(response.size, exchange.sent), request.progress_total);
    return response;
}

}  // namespace slate::registry::detail
