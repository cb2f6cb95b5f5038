#pragma once
// Fetching files over HTTP(S) and from file:// URLs, with retries, conditional
// requests, streaming SHA-256 and progress reporting (libcurl underneath).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "slate/util/log.hpp"

namespace slate::util {

class CurlEasy;  // RAII owner of a CURL easy handle, defined in http.cpp

struct HttpOptions {
    std::string user_agent = "slate/0.1";
    int retries = 4;                                   // extra attempts after the first
    std::chrono::milliseconds backoff{500};            // first delay; doubles each retry
    std::chrono::seconds connect_timeout{15};
    std::chrono::seconds stall_timeout{30};            // abort when under 1 byte/s for this long
    // An extra CA bundle (PEM). It replaces the default bundle *file*; the system CA
    // directory stays trusted, so public mirrors keep working alongside a private CA.
    std::string ca_file{};
};

// Members have default initialisers so designated initialisers need only name what they set.
struct HttpRequest {
    std::string url{};
    std::string if_none_match{};      // ETag for a conditional GET (optional), sent as is
    std::string if_modified_since{};  // HTTP date, as received in Last-Modified (optional)
    std::string progress_label{};     // shown by the ProgressSink; empty = no progress
    std::uint64_t expected_size = 0;  // if known: used for progress, and a body LONGER than this is aborted
};

// A POST with a body held in memory.
struct HttpPostRequest {
    std::string url{};
    std::string body{};
    std::string content_type = "application/json";
    std::uint64_t max_response_size = 16 * 1024 * 1024;  // a longer answer is aborted (Integrity)
};

struct HttpResponse {
    // Final status after redirects: 200, 304, ... A file:// URL reports 200 when
    // read and 304 when If-Modified-Since was not met.
    long status = 0;
    bool not_modified() const { return status == 304; }
    std::string etag{}, last_modified{};  // as sent by the server (file:// gives Last-Modified only)
    std::uint64_t size = 0;           // bytes of body received
    std::string sha256{};             // hex SHA-256 of the body; empty for 304
};

// Abstract so tests and later code can substitute another transport.
class HttpClient {
public:
    virtual ~HttpClient() = default;
    // Streams the body into `temp_file` (parent directories created; the file is
    // created/truncated on every attempt, mode 0644, and fsynced before returning).
    // Does NOT rename it: the caller verifies size/hash and moves it into place.
    // On 304 Not Modified `temp_file` is removed, so an existing cached copy stays
    // the one to use. On failure throws slate::Error and removes `temp_file`.
    virtual HttpResponse download(const HttpRequest& request, const std::filesystem::path& temp_file) = 0;
    // Small bodies in memory. `body` is empty on 304 and on failure.
    virtual HttpResponse get(const HttpRequest& request, std::string& body) = 0;
    // Sends request.body and returns the server's answer, whatever its status:
    // `response_body` holds the body of a 4xx/5xx too (APIs explain their
    // refusals there), so the caller decides what a status means. Throws
    // slate::Error only when no answer arrives (Network), the URL is malformed
    // (Usage) or the answer is longer than request.max_response_size (Integrity).
    virtual HttpResponse post(const HttpPostRequest& request, std::string& response_body) = 0;
};

// The libcurl client. Errors are slate::Error:
//   Network   - unreachable, timed out, TLS failure, HTTP 5xx/429 after all retries, other 4xx
//   NotFound  - HTTP 404/410, or a missing file:// path
//   Integrity - the body is longer than request.expected_size
//   Io        - temp_file cannot be written
//   Usage     - a malformed or unsupported URL
// Retried (with exponential backoff, each retry logged as a warning): timeouts,
// connection failures, partial transfers, HTTP 5xx and 429 (Retry-After honoured,
// capped at 60s). Redirects are followed (at most 5, http/https only).
// One client is not thread-safe; give each thread its own (they share nothing).
class CurlHttpClient final : public HttpClient {
public:
    CurlHttpClient(HttpOptions options, LogSink& log, ProgressSink& progress);
    ~CurlHttpClient() override;
    CurlHttpClient(const CurlHttpClient&) = delete;
    CurlHttpClient& operator=(const CurlHttpClient&) = delete;

    HttpResponse download(const HttpRequest& request, const std::filesystem::path& temp_file) override;
    HttpResponse get(const HttpRequest& request, std::string& body) override;
    // A POST is not idempotent, so it is retried only when it surely was not
    // processed: the server could not be reached (connection refused, name not
    // resolved) or answered 429/503. Redirects are not followed.
    HttpResponse post(const HttpPostRequest& request, std::string& response_body) override;

    const HttpOptions& options() const { return m_options; }

private:
    HttpOptions m_options;
    LogSink& m_log;
    ProgressSink& m_progress;
    // Reused for every request so connections stay alive between them.
    std::unique_ptr<CurlEasy> m_easy;
};

// The URL without user:password@, for messages and logs.
std::string redact_url(std::string_view url);

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, as in Last-Modified) for a Unix time.
std::string format_http_date(std::int64_t unix_seconds);

}  // namespace slate::util
