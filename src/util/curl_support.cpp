#include "curl_support.hpp"

#include "slate/util/http_server.hpp"

#include <algorithm>
#include <mutex>
#include <new>

namespace slate::util::curl {
using namespace std::chrono_literals;

namespace {

constexpr auto MaxDelay = std::chrono::milliseconds(60s);

}  // namespace

Easy::Easy() : m_handle(curl_easy_init()) {
    if (!m_handle) throw Error(ErrorCode::Internal, "cannot create a libcurl handle");
}

void ensure_initialised() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            throw Error(ErrorCode::Internal, "cannot initialise libcurl (curl_global_init failed)");
    });
}

void append_header(HeaderList& list, const std::string& line) {
    curl_slist* head = curl_slist_append(list.get(), line.c_str());
    if (!head) throw std::bad_alloc();
    (void)list.release();  // `head` is the same list (or a new one when it was empty)
    list.reset(head);
}

void set_connection_options(CURL* easy, const ConnectionOptions& options) {
    set_option(easy, CURLOPT_NOSIGNAL, 1L);
    set_option(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    set_option(easy, CURLOPT_USERAGENT, options.user_agent.c_str());
    if (options.connect_timeout > 0s)
        set_option(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::chrono::milliseconds(options.connect_timeout).count()));
    if (options.stall_timeout > 0s) {
        set_option(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        set_option(easy, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout.count()));
    }
    if (!options.ca_file.empty()) set_option(easy, CURLOPT_CAINFO, options.ca_file.c_str());
}

bool is_unreachable(CURLcode rc) {
    return rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
           rc == CURLE_SSL_CONNECT_ERROR;
}

bool is_transient(CURLcode rc) {
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_PARTIAL_FILE:
        case CURLE_GOT_NOTHING:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
            return true;
        default:
            return is_unreachable(rc);
    }
}

std::string describe_status(long status) {
    std::string text = fmt::format("HTTP {}", status);
    if (const char* reason = http_reason_phrase(static_cast<int>(status)); *reason) text += fmt::format(" {}", reason);
    return text;
}

std::string format_delay(std::chrono::milliseconds delay) {
    if (delay < 1s) return fmt::format("{}ms", delay.count());
    return fmt::format("{:.1f}s", static_cast<double>(delay.count()) / 1000.0);
}

std::chrono::milliseconds retry_delay(std::chrono::milliseconds backoff, int attempt, std::chrono::seconds retry_after) {
    std::chrono::milliseconds delay = std::max(backoff, std::chrono::milliseconds(0));
    for (int i = 1; i < attempt && delay < MaxDelay; ++i) delay *= 2;
    delay = std::min<std::chrono::milliseconds>(delay, MaxDelay);
    if (retry_after > 0s)
        delay = std::max<std::chrono::milliseconds>(delay, std::min<std::chrono::milliseconds>(retry_after, MaxDelay));
    return delay;
}

}  // namespace slate::util::curl
