#include "slate/util/http.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/util/hash.hpp"
#include "curl_support.hpp"

namespace slate::util {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using curl::append_header;
using curl::describe_status;
using curl::format_delay;
using curl::HeaderList;
using curl::retry_delay;
using curl::set_option;

// The handle type the header forward-declares.
class CurlEasy : public curl::Easy {};

namespace {

constexpr auto ProgressInterval = 100ms;
constexpr const char* NetworkHint = "check the network, or the mirror (--mirror / SLATE_MIRROR / the apt sources)";

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
    return true;
}

// Removes every occurrence of the URL's "user:password@" from a text that may
// quote the URL (some libcurl error messages do).
std::string without_credentials(std::string text, std::string_view url) {
    std::string clean = redact_url(url);
    if (clean.size() == url.size()) return text;
    std::size_t start = url.find("://") + 3;
    std::string userinfo(url.substr(start, url.size() - clean.size()));
    for (std::size_t at; (at = text.find(userinfo)) != std::string::npos;) text.erase(at, userinfo.size());
    return text;
}

// Where the bytes of a transfer go. Every attempt starts from scratch.
class Body {
public:
    virtual ~Body() = default;
    virtual void start_attempt() = 0;                          // throws Io
    virtual bool write(const char* data, std::size_t size) = 0;  // false with errno set on failure
    virtual void commit() = 0;                                 // the body is complete; throws Io
    virtual void discard() noexcept = 0;                       // failure or 304: leave nothing behind
    virtual std::string describe() const = 0;                  // for error messages
};

class FileBody final : public Body {
public:
    explicit FileBody(fs::path path) : m_path(std::move(path)) {}
    ~FileBody() override { close_fd(); }

    void start_attempt() override {
        close_fd();
        if (fs::path dir = m_path.parent_path(); !dir.empty()) {
            std::error_code ec;
            fs::create_directories(dir, ec);
            if (ec) throw Error(ErrorCode::Io, fmt::format("cannot create directory {}: {}", dir.string(), ec.message()));
        }
        m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (m_fd < 0) fail("cannot create", errno);
        ::fchmod(m_fd, 0644);  // whatever the umask
    }

    bool write(const char* data, std::size_t size) override {
        while (size > 0) {
            ssize_t n = ::write(m_fd, data, size);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return false;
            data += n;
            size -= static_cast<std::size_t>(n);
        }
        return true;
    }

    void commit() override {
        if (::fsync(m_fd) != 0) fail("cannot fsync", errno);
        int fd = std::exchange(m_fd, -1);
        if (::close(fd) != 0) fail("cannot close", errno);
    }

    void discard() noexcept override {
        close_fd();
        ::unlink(m_path.c_str());
    }

    std::string describe() const override { return m_path.string(); }

private:
    [[noreturn]] void fail(const char* what, int err) const {
        throw Error(ErrorCode::Io, fmt::format("{} {}: {}", what, m_path.string(), std::strerror(err)),
                    "check free disk space and the permissions of the download directory");
    }
    void close_fd() noexcept {
        if (m_fd >= 0) ::close(std::exchange(m_fd, -1));
    }

    fs::path m_path;
    int m_fd = -1;
};

class MemoryBody final : public Body {
public:
    explicit MemoryBody(std::string& out) : m_out(out) {}
    void start_attempt() override { m_out.clear(); }
    bool write(const char* data, std::size_t size) override {
        m_out.append(data, size);
        return true;
    }
    void commit() override {}
    void discard() noexcept override { m_out.clear(); }
    std::string describe() const override { return "memory"; }

private:
    std::string& m_out;
};

// State shared with libcurl's callbacks during one attempt.
struct Attempt {
    CURL* easy = nullptr;
    Body* body = nullptr;
    Sha256 hash;
    std::uint64_t size = 0;
    std::uint64_t limit = 0;  // 0: no limit
    bool over_limit = false;
    int write_errno = 0;      // non-zero: writing the body failed
    ProgressSink* progress = nullptr;
    std::string_view label;
    std::chrono::steady_clock::time_point last_update{};
    std::exception_ptr callback_error;  // a sink threw; rethrown after curl returns
};

std::size_t on_body(char* data, std::size_t item, std::size_t count, void* user) {
    auto& attempt = *static_cast<Attempt*>(user);
    const std::size_t size = item * count;
    long status = 0;
    curl_easy_getinfo(attempt.easy, CURLINFO_RESPONSE_CODE, &status);
    // An error page is not the file: drop it (status 0 is a file:// transfer).
    if (status != 0 && status / 100 != 2) return size;
    if (attempt.limit != 0 && attempt.size + size > attempt.limit) {
        attempt.over_limit = true;
        return 0;  // anything but `size` makes libcurl abort with CURLE_WRITE_ERROR
    }
    try {
        if (!attempt.body->write(data, size)) {
            attempt.write_errno = errno ? errno : EIO;
            return 0;
        }
    } catch (...) {  // no exception may cross libcurl's C frames
        attempt.callback_error = std::current_exception();
        return 0;
    }
    attempt.hash.update(data, size);
    attempt.size += size;
    return size;
}

int on_progress(void* user, curl_off_t total, curl_off_t, curl_off_t, curl_off_t) {
    auto& attempt = *static_cast<Attempt*>(user);
    if (attempt.size == 0) return 0;
    auto now = std::chrono::steady_clock::now();
    if (attempt.last_update != std::chrono::steady_clock::time_point{} && now - attempt.last_update < ProgressInterval)
        return 0;
    attempt.last_update = now;
    std::uint64_t known = attempt.limit ? attempt.limit : static_cast<std::uint64_t>(std::max<curl_off_t>(total, 0));
    try {
        attempt.progress->update(attempt.label, attempt.size, known);
    } catch (...) {
        attempt.callback_error = std::current_exception();
        return 1;  // abort the transfer
    }
    return 0;
}

// How one attempt ended.
struct Outcome {
    enum class Kind { Done, Retry, Fail };
    Kind kind = Kind::Done;
    HttpResponse response;             // Done
    ErrorCode code = ErrorCode::Network;  // Retry / Fail
    std::string message, hint;
    std::string reason;                // short cause for the retry log line
    std::chrono::seconds retry_after{0};
};

Outcome failure(Outcome::Kind kind, ErrorCode code, std::string message, std::string hint, std::string reason = {}) {
    Outcome out;
    out.kind = kind;
    out.code = code;
    out.message = std::move(message);
    out.hint = std::move(hint);
    out.reason = std::move(reason);
    return out;
}

std::string response_header(CURL* easy, const char* name) {
    curl_header* header = nullptr;
    // request -1: the last request, i.e. the final one after redirects.
    if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &header) != CURLHE_OK || !header) return {};
    return header->value;
}

void configure(CURL* easy, const HttpOptions& options, const HttpRequest& request, bool is_file,
               HeaderList& headers, Attempt& attempt, char* error_buffer) {
    set_option(easy, CURLOPT_URL, request.url.c_str());
    set_option(easy, CURLOPT_ERRORBUFFER, error_buffer);
    set_option(easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
    set_option(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");  // never let a server redirect to file://
    set_option(easy, CURLOPT_FOLLOWLOCATION, 1L);
    set_option(easy, CURLOPT_MAXREDIRS, 5L);
    set_option(easy, CURLOPT_FILETIME, 1L);
    curl::set_connection_options(easy, {options.user_agent, options.connect_timeout, options.stall_timeout, options.ca_file});

    if (!request.if_none_match.empty()) append_header(headers, "If-None-Match: " + request.if_none_match);
    if (!request.if_modified_since.empty()) {
        if (is_file) {
            // file:// has no headers: libcurl compares the date with the file's mtime.
            time_t since = curl_getdate(request.if_modified_since.c_str(), nullptr);
            if (since >= 0) {
                set_option(easy, CURLOPT_TIMECONDITION, static_cast<long>(CURL_TIMECOND_IFMODSINCE));
                set_option(easy, CURLOPT_TIMEVALUE_LARGE, static_cast<curl_off_t>(since));
            }
        } else {
            append_header(headers, "If-Modified-Since: " + request.if_modified_since);
        }
    }
    if (headers) set_option(easy, CURLOPT_HTTPHEADER, headers.get());

    set_option(easy, CURLOPT_WRITEFUNCTION, &on_body);
    set_option(easy, CURLOPT_WRITEDATA, static_cast<void*>(&attempt));
    if (!request.progress_label.empty()) {
        set_option(easy, CURLOPT_NOPROGRESS, 0L);
        set_option(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
        set_option(easy, CURLOPT_XFERINFODATA, static_cast<void*>(&attempt));
    }
}

// Sorts a libcurl failure into retry-or-not and an actionable error.
Outcome classify_curl_error(CURLcode rc, const std::string& shown, const std::string& cause) {
    std::string reason = curl_easy_strerror(rc);
    if (curl::is_unreachable(rc))
        return failure(Outcome::Kind::Retry, ErrorCode::Network, fmt::format("cannot reach {}: {}", shown, cause),
                       NetworkHint, reason);
    if (curl::is_transient(rc))
        return failure(Outcome::Kind::Retry, ErrorCode::Network, fmt::format("cannot download {}: {}", shown, cause),
                       NetworkHint, reason);
    switch (rc) {
        case CURLE_FILE_COULDNT_READ_FILE:
            return failure(Outcome::Kind::Fail, ErrorCode::NotFound, fmt::format("cannot read {}: {}", shown, cause),
                           "check that the local mirror directory has this file and that it is readable");
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_ISSUER_ERROR:
            return failure(Outcome::Kind::Fail, ErrorCode::Network,
                           fmt::format("cannot verify the TLS certificate of {}: {}", shown, cause),
                           "install ca-certificates, or give the CA bundle that signed the mirror's certificate");
        case CURLE_TOO_MANY_REDIRECTS:
            return failure(Outcome::Kind::Fail, ErrorCode::Network,
                           fmt::format("cannot fetch {}: more than 5 redirects", shown),
                           "the server redirects in a loop; check the mirror URL");
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            return failure(Outcome::Kind::Fail, ErrorCode::Usage, fmt::format("cannot fetch {}: {}", shown, cause),
                           "use an http://, https:// or file:// URL");
        default:
            return failure(Outcome::Kind::Fail, ErrorCode::Network, fmt::format("cannot fetch {}: {}", shown, cause),
                           NetworkHint, reason);
    }
}

Outcome classify_status(CURL* easy, long status, const std::string& shown) {
    std::string text = describe_status(status);
    if (status == 429 || (status >= 500 && status < 600)) {
        Outcome out = failure(Outcome::Kind::Retry, ErrorCode::Network, fmt::format("cannot fetch {}: {}", shown, text),
                              "the server is failing or overloaded; try again later or use another mirror", text);
        curl_off_t after = 0;
        if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
            out.retry_after = std::chrono::seconds(std::min<curl_off_t>(after, 3600));
        return out;
    }
    if (status == 404 || status == 410)
        return failure(Outcome::Kind::Fail, ErrorCode::NotFound, fmt::format("{}: {}", shown, text),
                       "check the URL (suite, component, architecture) and that the mirror carries this file");
    if (status >= 400 && status < 500)
        return failure(Outcome::Kind::Fail, ErrorCode::Network, fmt::format("{}: {}", shown, text),
                       "the server refused the request; check the mirror URL, credentials and proxy settings");
    return failure(Outcome::Kind::Fail, ErrorCode::Network, fmt::format("{}: unexpected {}", shown, text),
                   "check the mirror URL; the server answered something other than the file");
}

Outcome run_attempt(CURL* easy, const HttpOptions& options, const HttpRequest& request, Body& body,
                    ProgressSink& progress) {
    curl_easy_reset(easy);
    body.start_attempt();
    const bool is_file = starts_with_nocase(request.url, "file:");
    const std::string shown = redact_url(request.url);

    Attempt attempt;
    attempt.easy = easy;
    attempt.body = &body;
    attempt.limit = request.expected_size;
    attempt.progress = &progress;
    attempt.label = request.progress_label;
    char error_buffer[CURL_ERROR_SIZE] = {};
    HeaderList headers;
    configure(easy, options, request, is_file, headers, attempt, error_buffer);

    errno = 0;
    CURLcode rc = curl_easy_perform(easy);
    if (attempt.callback_error) std::rethrow_exception(attempt.callback_error);
    if (attempt.over_limit)
        return failure(Outcome::Kind::Fail, ErrorCode::Integrity,
                       fmt::format("{}: the server sent more than the expected {} bytes", shown, request.expected_size),
                       "the mirror may be out of sync with its index; try again later or use another mirror");
    if (attempt.write_errno != 0)
        throw Error(ErrorCode::Io,
                    fmt::format("cannot write {} to {}: {}", shown, body.describe(), std::strerror(attempt.write_errno)),
                    "check free disk space and the permissions of the download directory");
    if (rc != CURLE_OK) {
        std::string cause = error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(rc));
        while (!cause.empty() && std::isspace(static_cast<unsigned char>(cause.back()))) cause.pop_back();
        return classify_curl_error(rc, shown, without_credentials(std::move(cause), request.url));
    }

    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    HttpResponse response;
    if (is_file) {
        long unmet = 0;
        curl_easy_getinfo(easy, CURLINFO_CONDITION_UNMET, &unmet);
        status = unmet ? 304 : 200;
        curl_off_t mtime = -1;
        if (curl_easy_getinfo(easy, CURLINFO_FILETIME_T, &mtime) == CURLE_OK && mtime >= 0)
            response.last_modified = format_http_date(mtime);
    } else {
        response.etag = response_header(easy, "ETag");
        response.last_modified = response_header(easy, "Last-Modified");
    }
    response.status = status;
    if (status == 304 || status / 100 == 2) {
        if (status != 304) {
            response.size = attempt.size;
            response.sha256 = attempt.hash.finish_hex();
        }
        Outcome out;
        out.response = std::move(response);
        return out;
    }
    return classify_status(easy, status, shown);
}

// Calls ProgressSink::finish when a labelled transfer ends, however it ends.
class ProgressScope {
public:
    ProgressScope(ProgressSink& sink, std::string_view label) : m_sink(sink), m_label(label) {}
    ~ProgressScope() {
        if (m_label.empty()) return;
        try {
            m_sink.finish(m_label);
        } catch (...) {  // a destructor must not throw; the transfer's own outcome matters more
        }
    }
    ProgressScope(const ProgressScope&) = delete;
    ProgressScope& operator=(const ProgressScope&) = delete;

private:
    ProgressSink& m_sink;
    std::string_view m_label;
};

HttpResponse fetch(CURL* easy, const HttpOptions& options, LogSink& log, ProgressSink& progress,
                   const HttpRequest& request, Body& body) {
    const int attempts = std::max(options.retries, 0) + 1;
    ProgressScope progress_scope(progress, request.progress_label);
    try {
        for (int attempt = 1;; ++attempt) {
            Outcome out = run_attempt(easy, options, request, body, progress);
            if (out.kind == Outcome::Kind::Done) {
                if (out.response.not_modified()) {
                    body.discard();
                } else {
                    body.commit();
                    if (!request.progress_label.empty())
                        progress.update(request.progress_label, out.response.size,
                                        request.expected_size ? request.expected_size : out.response.size);
                }
                return std::move(out.response);
            }
            if (out.kind == Outcome::Kind::Fail || attempt == attempts) {
                if (attempt > 1) out.message += fmt::format(" (after {} attempts)", attempt);
                throw Error(out.code, std::move(out.message), std::move(out.hint));
            }
            auto delay = retry_delay(options.backoff, attempt, out.retry_after);
            log.warning(fmt::format("retrying {} in {} ({}, attempt {}/{})", redact_url(request.url),
                                    format_delay(delay), out.reason, attempt + 1, attempts));
            std::this_thread::sleep_for(delay);
        }
    } catch (...) {
        body.discard();
        throw;
    }
}

}  // namespace

CurlHttpClient::CurlHttpClient(HttpOptions options, LogSink& log, ProgressSink& progress)
    : m_options(std::move(options)), m_log(log), m_progress(progress) {
    curl::ensure_initialised();
    m_easy = std::make_unique<CurlEasy>();
}

CurlHttpClient::~CurlHttpClient() = default;

HttpResponse CurlHttpClient::download(const HttpRequest& request, const fs::path& temp_file) {
    FileBody body(temp_file);
    return fetch(m_easy->get(), m_options, m_log, m_progress, request, body);
}

HttpResponse CurlHttpClient::get(const HttpRequest& request, std::string& body) {
    MemoryBody memory(body);
    return fetch(m_easy->get(), m_options, m_log, m_progress, request, memory);
}

namespace {

// The response of one POST, any status.
struct PostCapture {
    std::string* body = nullptr;
    std::uint64_t limit = 0;
    bool over_limit = false;
};

std::size_t on_post_body(char* data, std::size_t item, std::size_t count, void* user) {
    auto& capture = *static_cast<PostCapture*>(user);
    const std::size_t size = item * count;
    if (capture.body->size() + size > capture.limit) {
        capture.over_limit = true;
        return 0;
    }
    capture.body->append(data, size);
    return size;
}

}  // namespace

HttpResponse CurlHttpClient::post(const HttpPostRequest& request, std::string& response_body) {
    const std::string shown = redact_url(request.url);
    if (!starts_with_nocase(request.url, "http://") && !starts_with_nocase(request.url, "https://"))
        throw Error(ErrorCode::Usage, fmt::format("cannot POST to {}: not an http:// or https:// URL", shown),
                    "give the server's http:// or https:// URL");
    const int attempts = std::max(m_options.retries, 0) + 1;
    CURL* easy = m_easy->get();
    for (int attempt = 1;; ++attempt) {
        curl_easy_reset(easy);
        response_body.clear();
        PostCapture capture{&response_body, request.max_response_size, false};
        char error_buffer[CURL_ERROR_SIZE] = {};
        HeaderList headers;
        set_option(easy, CURLOPT_URL, request.url.c_str());
        set_option(easy, CURLOPT_ERRORBUFFER, error_buffer);
        set_option(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl::set_connection_options(
            easy, {m_options.user_agent, m_options.connect_timeout, m_options.stall_timeout, m_options.ca_file});
        set_option(easy, CURLOPT_POST, 1L);
        set_option(easy, CURLOPT_POSTFIELDS, request.body.data());
        set_option(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
        append_header(headers, "Content-Type: " + request.content_type);
        append_header(headers, "Expect:");  // no 100-continue round trip for small bodies
        set_option(easy, CURLOPT_HTTPHEADER, headers.get());
        set_option(easy, CURLOPT_WRITEFUNCTION, &on_post_body);
        set_option(easy, CURLOPT_WRITEDATA, static_cast<void*>(&capture));

        CURLcode rc = curl_easy_perform(easy);
        if (capture.over_limit)
            throw Error(ErrorCode::Integrity,
                        fmt::format("{}: the answer is longer than {} bytes", shown, request.max_response_size),
                        "check that the URL points at the intended service");
        Outcome out;
        if (rc != CURLE_OK) {
            std::string cause = error_buffer[0] ? std::string(error_buffer) : std::string(curl_easy_strerror(rc));
            while (!cause.empty() && std::isspace(static_cast<unsigned char>(cause.back()))) cause.pop_back();
            out = classify_curl_error(rc, shown, without_credentials(std::move(cause), request.url));
            // Only a request that surely never reached the server may be sent again.
            if (out.kind == Outcome::Kind::Retry && !curl::is_unreachable(rc)) out.kind = Outcome::Kind::Fail;
        } else {
            long status = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
            if (status != 429 && status != 503) {
                HttpResponse response;
                response.status = status;
                response.etag = response_header(easy, "ETag");
                response.last_modified = response_header(easy, "Last-Modified");
                response.size = response_body.size();
                response.sha256 = sha256_hex(response_body);
                return response;
            }
            out = classify_status(easy, status, shown);
            if (attempt == attempts) {  // out of retries: the caller reads the refusal
                HttpResponse response;
                response.status = status;
                response.size = response_body.size();
                response.sha256 = sha256_hex(response_body);
                return response;
            }
        }
        if (out.kind == Outcome::Kind::Fail || attempt == attempts) {
            if (attempt > 1) out.message += fmt::format(" (after {} attempts)", attempt);
            throw Error(out.code, std::move(out.message), std::move(out.hint));
        }
        auto delay = retry_delay(m_options.backoff, attempt, out.retry_after);
        m_log.warning(fmt::format("retrying POST {} in {} ({}, attempt {}/{})", shown, format_delay(delay), out.reason,
                                  attempt + 1, attempts));
        std::this_thread::sleep_for(delay);
    }
}

std::string redact_url(std::string_view url) {
    std::size_t scheme = url.find("://");
    if (scheme == std::string_view::npos) return std::string(url);
    std::size_t start = scheme + 3;
    std::size_t end = url.find_first_of("/?#", start);
    if (end == std::string_view::npos) end = url.size();
    std::size_t at = url.substr(start, end - start).rfind('@');
    if (at == std::string_view::npos) return std::string(url);
    return std::string(url.substr(0, start)) + std::string(url.substr(start + at + 1));
}

std::string format_http_date(std::int64_t unix_seconds) {
    static constexpr const char* Days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* Months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", Days[tm.tm_wday], tm.tm_mday, Months[tm.tm_mon],
                       tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace slate::util
