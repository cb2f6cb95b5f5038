#pragma once
// libcurl plumbing shared by the HTTP clients (util/http.cpp for the archive,
// registry/transport.cpp for OCI registries). Private to libslate.

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "slate/error.hpp"

namespace slate::util::curl {

// Owns one CURL easy handle. Reusing it across requests (curl_easy_reset keeps
// the connection and DNS caches) lets consecutive requests share connections.
class Easy {
public:
    Easy();
    CURL* get() const { return m_handle.get(); }

private:
    struct Deleter {
        void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
    };
    std::unique_ptr<CURL, Deleter> m_handle;
};

// libcurl's global state is initialised once per process, from whichever
// thread gets here first. A failed initialisation is retried on the next call.
void ensure_initialised();

struct HeaderListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

void append_header(HeaderList& list, const std::string& line);

template <typename T>
void set_option(CURL* easy, CURLoption option, T value) {
    CURLcode rc = curl_easy_setopt(easy, option, value);
    if (rc != CURLE_OK)
        throw Error(ErrorCode::Internal, fmt::format("libcurl refused option {}: {}", static_cast<int>(option),
                                                     curl_easy_strerror(rc)));
}

// What every transfer of slate's sets: no signals (required with threads),
// TCP keep-alive, the user agent, connect and stall timeouts (0: none) and
// an extra CA bundle (empty: none).
struct ConnectionOptions {
    const std::string& user_agent;
    std::chrono::seconds connect_timeout;
    std::chrono::seconds stall_timeout;
    const std::string& ca_file;
};
void set_connection_options(CURL* easy, const ConnectionOptions& options);

// The server could not be reached at all (name, connection, TLS handshake).
bool is_unreachable(CURLcode rc);
// Worth trying again: unreachable, or the transfer broke off or timed out.
bool is_transient(CURLcode rc);

// "HTTP 404 Not Found".
std::string describe_status(long status);
// "500ms", "2.0s".
std::string format_delay(std::chrono::milliseconds delay);
// backoff, 2*backoff, 4*backoff ... capped at a minute; a server's Retry-After
// (also capped at a minute) lengthens the wait but never shortens it.
std::chrono::milliseconds retry_delay(std::chrono::milliseconds backoff, int attempt, std::chrono::seconds retry_after);

}  // namespace slate::util::curl
