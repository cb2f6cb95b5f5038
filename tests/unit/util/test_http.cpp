// The libcurl client against the loopback HttpServer (real sockets, real
// transfers), and the server's own behaviour seen on the wire.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "slate/util/http.hpp"
#include "slate/util/subprocess.hpp"
#include "support/expect.hpp"
#include "support/http_server.hpp"
#include "support/paths.hpp"

namespace slate::util {
namespace {

using test::error_from;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// EXPECT_TRUE(contains(text, part)) / EXPECT_FALSE(...), with both strings in the failure message.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos)
        return ::testing::AssertionSuccess() << "\"" << text << "\" contains \"" << part << "\"";
    return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

class RecordingLog final : public LogSink {
public:
    void log(LogLevel level, std::string_view message) override {
        std::lock_guard lock(m_mutex);
        m_lines.emplace_back(level, std::string(message));
    }
    std::vector<std::string> warnings() const {
        std::lock_guard lock(m_mutex);
        std::vector<std::string> out;
        for (const auto& [level, text] : m_lines)
            if (level == LogLevel::Warning) out.push_back(text);
        return out;
    }
    std::string all() const {
        std::lock_guard lock(m_mutex);
        std::string out;
        for (const auto& line : m_lines) out += line.second + "\n";
        return out;
    }

private:
    mutable std::mutex m_mutex;
    std::vector<std::pair<LogLevel, std::string>> m_lines;
};

class RecordingProgress final : public ProgressSink {
public:
    struct Update {
        std::string label;
        std::uint64_t done, total;
    };
    void update(std::string_view label, std::uint64_t done, std::uint64_t total) override {
        updates.push_back({std::string(label), done, total});
    }
    void finish(std::string_view label) override { finished.emplace_back(label); }
    std::vector<Update> updates;
    std::vector<std::string> finished;
};

std::string random_bytes(std::size_t size, unsigned seed = 1) {
    std::mt19937 gen(seed);
    std::string out(size, '\0');
    for (char& c : out) c = static_cast<char>(gen() & 0xff);
    return out;
}

HttpOptions fast_options() {
    HttpOptions options;
    options.backoff = 5ms;  // keeps retry tests quick; the doubling is still exercised
    options.connect_timeout = 5s;
    options.stall_timeout = 5s;
    return options;
}

// Expects `call` to throw slate::Error and returns it.
// A port on 127.0.0.1 that nothing listens on: bound, then released.
int closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Sends raw bytes to the server and reads until it closes the connection.
std::string raw_exchange(int port, const std::string& request) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string response;
    char chunk[4096];
    for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) response.append(chunk, static_cast<std::size_t>(n));
    ::close(fd);
    return response;
}

class HttpClientTest : public ::testing::Test {
protected:
    std::string put(const std::string& relative, const std::string& content) {
        write_file_atomic(root / relative, content);
        return content;
    }
    std::string url(const std::string& path) const { return server.url() + path; }

    test::TempDir dir;
    fs::path root = dir.path() / "root";
    fs::path temp = dir.path() / "downloads" / "file.partial";
    test::HttpServer server{root};
    RecordingLog log;
    RecordingProgress progress;
    CurlHttpClient client{fast_options(), log, progress};
};

TEST_F(HttpClientTest, DownloadsWithSizeHashAndValidators) {
    std::string content = put("dists/stable/InRelease", random_bytes(300'000));
    HttpResponse response = client.download({.url = url("/dists/stable/InRelease")}, temp);

    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.size, content.size());
    EXPECT_EQ(response.sha256, sha256_hex(content));
    EXPECT_EQ(read_file(temp), content);
    EXPECT_EQ(response.etag, "\"" + sha256_hex(content) + "\"");
    EXPECT_TRUE(contains(response.last_modified, " GMT"));
    struct stat st {};
    ASSERT_EQ(::stat(temp.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    EXPECT_TRUE(log.warnings().empty());
}

TEST_F(HttpClientTest, GetsSmallBodiesIntoMemory) {
    put("hello.txt", "hello, world\n");
    std::string body = "stale";
    HttpResponse response = client.get({.url = url("/hello.txt")}, body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body, "hello, world\n");
    EXPECT_EQ(response.size, body.size());
    EXPECT_EQ(response.sha256, sha256_hex(body));
}

TEST_F(HttpClientTest, MissingFileIsNotFoundAndNotRetried) {
    write_file_atomic(temp, "left over from before");
    Error e = error_from([&] { client.download({.url = url("/dists/nope/InRelease")}, temp); });
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_TRUE(contains(e.message(), url("/dists/nope/InRelease")));
    EXPECT_TRUE(contains(e.message(), "HTTP 404 Not Found"));
    EXPECT_EQ(server.request_count("/dists/nope/InRelease"), 1u);
    EXPECT_FALSE(fs::exists(temp));
}

TEST_F(HttpClientTest, RetriesServiceUnavailableThenSucceeds) {
    std::string content = put("pool/a.deb", random_bytes(5000));
    server.fail_next("/pool/a.deb", 503, 2);
    HttpResponse response = client.download({.url = url("/pool/a.deb")}, temp);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.sha256, sha256_hex(content));
    EXPECT_EQ(read_file(temp), content);  // the 503 pages never reach the file
    EXPECT_EQ(server.request_count("/pool/a.deb"), 3u);
    auto warnings = log.warnings();
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_TRUE(contains(warnings[0], "retrying " + url("/pool/a.deb") + " in 5ms (HTTP 503 Service Unavailable, attempt 2/5)"));
    EXPECT_TRUE(contains(warnings[1], "in 10ms (HTTP 503 Service Unavailable, attempt 3/5)"));
}

TEST_F(HttpClientTest, GivesUpAfterAllRetriesNamingTheUrl) {
    put("flaky", "x");
    server.fail_next("/flaky", 500, 1000);
    write_file_atomic(temp, "old");
    HttpOptions options = fast_options();
    options.retries = 3;
    CurlHttpClient impatient(options, log, progress);
    Error e = error_from([&] { impatient.download({.url = url("/flaky")}, temp); });
    EXPECT_EQ(e.code(), ErrorCode::Network);
    EXPECT_EQ(e.message(), "cannot fetch " + url("/flaky") + ": HTTP 500 Internal Server Error (after 4 attempts)");
    EXPECT_FALSE(e.hint().empty());
    EXPECT_EQ(server.request_count("/flaky"), 4u);
    EXPECT_EQ(log.warnings().size(), 3u);
    EXPECT_FALSE(fs::exists(temp));
}

TEST_F(HttpClientTest, OtherClientErrorsAreNotRetried) {
    put("bad", "x");
    server.fail_next("/bad", 400, 10);
    Error e = error_from([&] { client.download({.url = url("/bad")}, temp); });
    EXPECT_EQ(e.code(), ErrorCode::Network);
    EXPECT_TRUE(contains(e.message(), "HTTP 400 Bad Request"));
    EXPECT_FALSE(contains(e.message(), "attempts"));
    EXPECT_EQ(server.request_count("/bad"), 1u);
    EXPECT_TRUE(log.warnings().empty());
}

TEST_F(HttpClientTest, TooManyRequestsHonoursRetryAfter) {
    put("busy", "ok");
    server.fail_next("/busy", 429, 1, 1);
    auto start = std::chrono::steady_clock::now();
    std::string body;
    client.get({.url = url("/busy")}, body);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(body, "ok");
    ASSERT_EQ(log.warnings().size(), 1u);
    EXPECT_TRUE(contains(log.warnings()[0], "in 1.0s (HTTP 429 Too Many Requests, attempt 2/5)"));
}

TEST_F(HttpClientTest, DishonestTruncationIsRetried) {
    std::string content = put("Packages.xz", random_bytes(100'000));
    server.truncate_next("/Packages.xz", 1000, /*honest_length=*/false);
    HttpResponse response = client.download({.url = url("/Packages.xz")}, temp);
    EXPECT_EQ(response.size, content.size());
    EXPECT_EQ(response.sha256, sha256_hex(content));
    EXPECT_EQ(read_file(temp), content);  // the first attempt's bytes were truncated away
    EXPECT_EQ(server.request_count("/Packages.xz"), 2u);
    ASSERT_EQ(log.warnings().size(), 1u);
}

TEST_F(HttpClientTest, HonestTruncationAndCorruptionShowInSizeAndHash) {
    std::string content = put("f", random_bytes(4096));
    server.truncate_next("/f", 100, /*honest_length=*/true);
    HttpResponse shorter = client.download({.url = url("/f")}, temp);
    EXPECT_EQ(shorter.size, 100u);
    EXPECT_EQ(shorter.sha256, sha256_hex(content.substr(0, 100)));

    server.corrupt_next("/f");
    HttpResponse corrupted = client.download({.url = url("/f")}, temp);
    EXPECT_EQ(corrupted.size, content.size());
    EXPECT_NE(corrupted.sha256, sha256_hex(content));

    EXPECT_EQ(client.download({.url = url("/f")}, temp).sha256, sha256_hex(content));
}

TEST_F(HttpClientTest, BodyLongerThanExpectedIsAborted) {
    std::string content = put("big", random_bytes(200'000));
    Error e = error_from([&] { client.download({.url = url("/big"), .expected_size = 1000}, temp); });
    EXPECT_EQ(e.code(), ErrorCode::Integrity);
    EXPECT_TRUE(contains(e.message(), "more than the expected 1000 bytes"));
    EXPECT_EQ(server.request_count("/big"), 1u);
    EXPECT_FALSE(fs::exists(temp));
    // Exactly the expected size is fine.
    EXPECT_EQ(client.download({.url = url("/big"), .expected_size = content.size()}, temp).size, content.size());
}

TEST_F(HttpClientTest, EtagRevalidationGets304) {
    std::string content = put("Release", "Suite: stable\n");
    HttpResponse first = client.download({.url = url("/Release")}, temp);
    ASSERT_FALSE(first.etag.empty());

    HttpResponse again = client.download({.url = url("/Release"), .if_none_match = first.etag}, temp);
    EXPECT_TRUE(again.not_modified());
    EXPECT_EQ(again.size, 0u);
    EXPECT_EQ(again.etag, first.etag);
    EXPECT_FALSE(fs::exists(temp));  // documented: a 304 leaves no temp file

    put("Release", "Suite: stable\nChanged: yes\n");
    HttpResponse changed = client.download({.url = url("/Release"), .if_none_match = first.etag}, temp);
    EXPECT_EQ(changed.status, 200);
    EXPECT_EQ(read_file(temp), "Suite: stable\nChanged: yes\n");
    EXPECT_NE(changed.etag, first.etag);
}

TEST_F(HttpClientTest, IfModifiedSinceGets304UntilTheFileChanges) {
    put("Release", "one");
    fs::last_write_time(root / "Release", fs::file_time_type::clock::now() - 1h);
    HttpResponse first = client.download({.url = url("/Release")}, temp);
    ASSERT_FALSE(first.last_modified.empty());

    std::string body = "untouched";
    HttpResponse same = client.get({.url = url("/Release"), .if_modified_since = first.last_modified}, body);
    EXPECT_EQ(same.status, 304);
    EXPECT_EQ(body, "");

    put("Release", "two");  // mtime: now, an hour later than before
    HttpResponse newer = client.get({.url = url("/Release"), .if_modified_since = first.last_modified}, body);
    EXPECT_EQ(newer.status, 200);
    EXPECT_EQ(body, "two");
}

TEST_F(HttpClientTest, ConnectionRefusedIsAClearNetworkError) {
    std::string target = "http://127.0.0.1:" + std::to_string(closed_port()) + "/debian/dists/x/InRelease";
    HttpOptions options = fast_options();
    options.retries = 2;
    CurlHttpClient refused(options, log, progress);
    Error e = error_from([&] { refused.download({.url = target}, temp); });
    EXPECT_EQ(e.code(), ErrorCode::Network);
    EXPECT_TRUE(contains(e.message(), "cannot reach " + target + ": "));
    EXPECT_TRUE(contains(e.message(), "(after 3 attempts)"));
    EXPECT_TRUE(contains(e.hint(), "--mirror"));
    EXPECT_EQ(log.warnings().size(), 2u);
    EXPECT_TRUE(contains(log.warnings()[0], "Couldn't connect to server, attempt 2/3"));
    EXPECT_FALSE(fs::exists(temp));
}

TEST_F(HttpClientTest, StalledTransferIsAbandonedAndRetried) {
    put("slow", "eventually");
    server.delay_next("/slow", 4s);
    HttpOptions options = fast_options();
    options.stall_timeout = 1s;
    CurlHttpClient client_with_short_stall(options, log, progress);
    std::string body;
    auto start = std::chrono::steady_clock::now();
    client_with_short_stall.get({.url = url("/slow")}, body);
    EXPECT_EQ(body, "eventually");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);  // did not wait the stall out
    EXPECT_EQ(server.request_count("/slow"), 2u);
    ASSERT_EQ(log.warnings().size(), 1u);
    EXPECT_TRUE(contains(log.warnings()[0], "Timeout was reached"));
}

TEST_F(HttpClientTest, FollowsRedirectsButNotLoops) {
    std::string content = put("new/location", "moved here");
    server.redirect("/old", "/new/location");
    std::string body;
    HttpResponse response = client.get({.url = url("/old")}, body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body, content);

    server.redirect("/loop", "/loop");
    Error e = error_from([&] { client.get({.url = url("/loop")}, body); });
    EXPECT_EQ(e.code(), ErrorCode::Network);
    EXPECT_TRUE(contains(e.message(), "redirects"));
    EXPECT_EQ(server.request_count("/loop"), 6u);  // the first request and 5 redirects
}

TEST_F(HttpClientTest, FileUrlsServeALocalMirror) {
    std::string content = put("debian/dists/stable/Release", random_bytes(10'000));
    std::string file_url = "file://" + (root / "debian/dists/stable/Release").string();
    HttpResponse response = client.download({.url = file_url}, temp);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.sha256, sha256_hex(content));
    EXPECT_EQ(read_file(temp), content);
    ASSERT_FALSE(response.last_modified.empty());

    std::string body;
    EXPECT_EQ(client.get({.url = file_url, .if_modified_since = response.last_modified}, body).status, 304);

    Error e = error_from([&] { client.download({.url = "file://" + (root / "missing").string()}, temp); });
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_TRUE(contains(e.message(), (root / "missing").string()));
    EXPECT_FALSE(fs::exists(temp));
}

TEST_F(HttpClientTest, ProgressSinkSeesTheTransfer) {
    std::string content = put("large.deb", random_bytes(3'000'000));
    client.download({.url = url("/large.deb"), .progress_label = "large.deb", .expected_size = content.size()}, temp);
    ASSERT_GE(progress.updates.size(), 2u);  // at least one while the transfer ran, and the final one
    EXPECT_LT(progress.updates.front().done, content.size());
    for (const auto& update : progress.updates) {
        EXPECT_EQ(update.label, "large.deb");
        EXPECT_EQ(update.total, content.size());
        EXPECT_LE(update.done, content.size());
    }
    EXPECT_EQ(progress.updates.back().done, content.size());
    EXPECT_EQ(progress.finished, std::vector<std::string>{"large.deb"});

    progress.updates.clear();
    progress.finished.clear();
    client.download({.url = url("/large.deb")}, temp);  // no label: no progress
    EXPECT_TRUE(progress.updates.empty());
    EXPECT_TRUE(progress.finished.empty());
}

TEST_F(HttpClientTest, FailedLabelledTransferStillFinishesProgress) {
    EXPECT_THROW(client.download({.url = url("/absent"), .progress_label = "absent"}, temp), Error);
    EXPECT_EQ(progress.finished, std::vector<std::string>{"absent"});
}

TEST_F(HttpClientTest, CredentialsNeverAppearInMessages) {
    put("private", "x");
    server.fail_next("/private", 503, 100);
    HttpOptions options = fast_options();
    options.retries = 1;
    CurlHttpClient with_credentials(options, log, progress);
    std::string secret_url = "http://alice:s3cret@127.0.0.1:" + std::to_string(server.port()) + "/private";
    Error e = error_from([&] { with_credentials.download({.url = secret_url}, temp); });
    EXPECT_FALSE(contains(e.describe(), "s3cret"));
    EXPECT_TRUE(contains(e.message(), url("/private")));
    EXPECT_FALSE(contains(log.all(), "s3cret"));
    EXPECT_TRUE(contains(log.all(), url("/private")));
}

TEST_F(HttpClientTest, ClientsInSeveralThreadsDownloadInParallel) {
    constexpr int Threads = 4;
    std::vector<std::string> contents;
    for (int i = 0; i < Threads; ++i)
        contents.push_back(put("pool/p" + std::to_string(i) + ".deb", random_bytes(500'000, static_cast<unsigned>(i))));
    server.fail_next("/pool/p0.deb", 503, 1);
    std::vector<HttpResponse> responses(Threads);
    std::vector<std::thread> threads;
    for (int i = 0; i < Threads; ++i)
        threads.emplace_back([&, i] {
            NullProgress quiet;
            CurlHttpClient own(fast_options(), log, quiet);
            auto name = "p" + std::to_string(i) + ".deb";
            for (int round = 0; round < 3; ++round)
                responses[i] = own.download({.url = url("/pool/" + name)}, dir.path() / "parallel" / name);
        });
    for (auto& thread : threads) thread.join();
    for (int i = 0; i < Threads; ++i) EXPECT_EQ(responses[i].sha256, sha256_hex(contents[i])) << i;
}

// `openssl s_server -WWW` serving `dir` over TLS with a fresh self-signed
// certificate for 127.0.0.1 (cert.pem in `dir`), killed by the destructor.
class TlsFileServer {
public:
    explicit TlsFileServer(const fs::path& dir) : m_port(closed_port()) {
        auto made = run_process({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                                 "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                 (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()});
        if (made.exit_code != 0) throw std::runtime_error("openssl req failed: " + made.err);
        std::string accept = "127.0.0.1:" + std::to_string(m_port);
        m_pid = ::fork();
        if (m_pid == 0) {
            if (::chdir(dir.c_str()) != 0) ::_exit(127);
            ::execlp("openssl", "openssl", "s_server", "-WWW", "-quiet", "-accept", accept.c_str(), "-cert", "cert.pem",
                     "-key", "key.pem", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        for (int i = 0; i < 100 && !accepting(); ++i) std::this_thread::sleep_for(50ms);
    }
    ~TlsFileServer() {
        if (m_pid <= 0) return;
        ::kill(m_pid, SIGTERM);
        ::waitpid(m_pid, nullptr, 0);
    }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(m_port); }

private:
    bool accepting() const {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(m_port));
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return ok;
    }
    int m_port;
    pid_t m_pid = -1;
};

TEST(CurlHttpClientTls, ExtraCaBundleIsTrustedAndBadCertificatesAreNotRetried) {
    if (!find_program("openssl")) GTEST_SKIP() << "needs the openssl command";
    test::TempDir dir;
    write_file_atomic(dir.path() / "hello.txt", "over tls\n");
    TlsFileServer server(dir.path());
    RecordingLog log;
    NullProgress quiet;

    CurlHttpClient untrusting(fast_options(), log, quiet);
    std::string body;
    Error e = error_from([&] { untrusting.get({.url = server.url() + "/hello.txt"}, body); });
    EXPECT_EQ(e.code(), ErrorCode::Network);
    EXPECT_TRUE(contains(e.message(), "cannot verify the TLS certificate of " + server.url() + "/hello.txt"));
    EXPECT_TRUE(log.warnings().empty());  // a certificate problem is not transient

    HttpOptions options = fast_options();
    options.ca_file = (dir.path() / "cert.pem").string();
    CurlHttpClient trusting(options, log, quiet);
    HttpResponse response = trusting.get({.url = server.url() + "/hello.txt"}, body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(body, "over tls\n");
}

TEST(RedactUrl, StripsUserInfoOnly) {
    EXPECT_EQ(redact_url("https://user:pw@mirror.example/debian"), "https://mirror.example/debian");
    EXPECT_EQ(redact_url("http://token@host:8080/a@b"), "http://host:8080/a@b");
    EXPECT_EQ(redact_url("http://host/path@x"), "http://host/path@x");
    EXPECT_EQ(redact_url("file:///srv/mirror"), "file:///srv/mirror");
    EXPECT_EQ(redact_url("not a url"), "not a url");
}

TEST(FormatHttpDate, IsImfFixdate) {
    EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

// The server itself, on the wire: what other suites rely on.
class HttpServerTest : public ::testing::Test {
protected:
    test::TempDir dir;
    test::HttpServer server{dir.path() / "root"};
};

TEST_F(HttpServerTest, HeadAnswersHeadersOnly) {
    write_file_atomic(server.root() / "a.txt", "abcdef");
    std::string response = raw_exchange(server.port(), "HEAD /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(contains(response, "HTTP/1.1 200 OK\r\n"));
    EXPECT_TRUE(contains(response, "Content-Length: 6\r\n"));
    EXPECT_TRUE(contains(response, "ETag: \"" + sha256_hex("abcdef") + "\"\r\n"));
    EXPECT_EQ(response.substr(response.size() - 4), "\r\n\r\n");  // no body
    EXPECT_EQ(server.request_log(), std::vector<std::string>{"HEAD /a.txt 200"});
}

TEST_F(HttpServerTest, RefusesPathTraversal) {
    write_file_atomic(dir.path() / "secret", "outside the root");
    fs::create_symlink(dir.path() / "secret", server.root() / "link");
    for (std::string target : {"/../secret", "/%2e%2e/secret", "/sub/../../secret", "/link"}) {
        std::string response =
            raw_exchange(server.port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        EXPECT_TRUE(contains(response, "HTTP/1.1 403 Forbidden")) << target;
        EXPECT_FALSE(contains(response, "outside the root")) << target;
    }
}

TEST_F(HttpServerTest, KeepsConnectionsAliveAcrossRequests) {
    write_file_atomic(server.root() / "a", "1");
    write_file_atomic(server.root() / "b", "22");
    std::string response = raw_exchange(server.port(),
                                        "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                        "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(contains(response, "Content-Length: 1\r\nConnection: keep-alive\r\n\r\n1HTTP/1.1 200 OK"));
    EXPECT_TRUE(contains(response, "Connection: close\r\n\r\n22"));
    EXPECT_EQ(server.request_log(), (std::vector<std::string>{"GET /a 200", "GET /b 200"}));
}

}  // namespace
}  // namespace slate::util
