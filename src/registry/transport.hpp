#pragma once
// One HTTP exchange with a registry (or its token server): any method, request
// headers, a request body from memory or from a region of a file, the response
// headers, and a response body kept in memory or streamed into a file while
// it is hashed. One attempt only: retries, authentication and error messages
// belong to the registry client, which knows what the request was for.
// Private to libslate.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slate/registry/client.hpp"
#include "slate/util/log.hpp"

namespace slate::util::curl {
class Easy;
}

namespace slate::registry::detail {

struct HttpRequest {
    std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
    std::string url{};
    std::vector<std::string> headers{};  // "Name: value"

    // The request body: `body` in memory, or `body_length` bytes of the file
    // `body_fd` from `body_offset`. has_body distinguishes an empty body
    // ("Content-Length: 0", which registries need on PUT/POST) from none.
    bool has_body = false;
    std::string_view body{};
    int body_fd = -1;
    std::uint64_t body_offset = 0;
    std::uint64_t body_length = 0;

    // The response body of a 2xx answer: kept in memory (at most
    // `memory_limit` bytes), or written to `sink_fd` (which must be empty)
    // when >= 0. Bodies of other statuses are kept in memory, truncated.
    int sink_fd = -1;
    std::uint64_t memory_limit = 8u << 20;
    std::uint64_t expected_size = 0;  // when known: a longer body aborts the transfer

    bool follow_redirects = true;
    std::chrono::milliseconds timeout{0};  // for the whole exchange; 0: only the connect and stall limits
    std::string progress_label{};     // shown by the ProgressSink; empty = none
    std::uint64_t progress_total = 0;
};

struct HttpResponse {
    // 0 when the exchange failed below HTTP (see transport_error).
    long status = 0;
    std::string transport_error{};  // what libcurl said, credentials removed
    bool retryable = false;         // the transport failure may succeed when tried again
    bool too_large = false;         // the body exceeded memory_limit or expected_size

    std::vector<std::pair<std::string, std::string>> headers{};  // names lowercased; the final response's
    std::string body{};             // memory bodies (and error bodies, truncated)
    std::uint64_t size = 0;         // body bytes received
    std::string sha256{};           // hex SHA-256 of a 2xx body
    std::string effective_url{};    // after redirects

    // The first header with this (lowercase) name; empty when absent.
    std::string header(std::string_view name) const;
    std::chrono::seconds retry_after() const;
    bool ok() const { return status >= 200 && status < 300; }
};

class Transport {
public:
    Transport(const ClientOptions& options, util::ProgressSink& progress);
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    HttpResponse perform(const HttpRequest& request);

private:
    const ClientOptions& m_options;
    util::ProgressSink& m_progress;
    std::unique_ptr<util::curl::Easy> m_easy;
};

}  // namespace slate::registry::detail
