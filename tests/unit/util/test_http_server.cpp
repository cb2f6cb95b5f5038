#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/util/http.hpp"
#include "slate/util/http_server.hpp"
#include "slate/util/log.hpp"

namespace slate::util {
namespace {

using namespace std::chrono_literals;

// A plain TCP client, so the tests control every byte on the wire.
class RawClient {
public:
    explicit RawClient(std::uint16_t port) {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (m_fd < 0 || ::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::runtime_error("cannot connect to the test server");
    }
    ~RawClient() {
        if (m_fd >= 0) ::close(m_fd);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    void send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send failed");
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    struct Response {
        int status = 0;
        std::string head;
        std::string body;
        std::string header(const std::string& name) const {
            std::string lower_head = head;
            for (char& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            auto at = lower_head.find("\r\n" + name + ":");
            if (at == std::string::npos) return {};
            auto start = head.find_first_not_of(' ', at + name.size() + 3);
            return head.substr(start, head.find("\r\n", start) - start);
        }
    };

    // One response (Content-Length framed); nullopt when the connection
    // closed first or nothing came within `timeout`.
    std::optional<Response> read_response(std::chrono::milliseconds timeout = 5s) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        std::size_t head_end;
        while ((head_end = m_buffer.find("\r\n\r\n")) == std::string::npos)
            if (!fill(deadline)) return std::nullopt;
        Response response;
        response.head = m_buffer.substr(0, head_end);
        response.status = std::stoi(response.head.substr(9, 3));
        std::size_t length = 0;
        if (auto text = response.header("content-length"); !text.empty()) length = std::stoul(text);
        while (m_buffer.size() < head_end + 4 + length)
            if (!fill(deadline)) return std::nullopt;
        response.body = m_buffer.substr(head_end + 4, length);
        m_buffer.erase(0, head_end + 4 + length);
        return response;
    }

    // True when the server closes the connection within `timeout`.
    bool closed_within(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (fill(deadline)) {
        }
        return m_closed;
    }

private:
    bool fill(std::chrono::steady_clock::time_point deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return false;
        pollfd fd{m_fd, POLLIN, 0};
        if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) return false;
        char chunk[4096];
        ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            m_closed = true;
            return false;
        }
        m_buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int m_fd = -1;
    std::string m_buffer;
    bool m_closed = false;
};

// Answers with a JSON echo of the request.
HttpServerResponse echo(const HttpServerRequest& request) {
    nlohmann::json query = request.query;
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : request.headers) headers[name] = value;
    nlohmann::json body = {{"method", request.method}, {"path", request.path}, {"query", query},
                           {"headers", headers},       {"body", request.body}, {"peer", request.peer}};
    return HttpServerResponse::json(200, body.dump());
}

HttpServerOptions small_limits() {
    HttpServerOptions options;
    options.threads = 2;
    options.max_header_bytes = 1024;
    options.max_body_bytes = 100;
    options.read_timeout = 1s;
    options.keep_alive_timeout = 2s;
    return options;
}

TEST(HttpServer, ParsesTheRequestAndAnswers) {
    HttpServer server(small_limits(), echo);
    server.start();
    ASSERT_NE(server.port(), 0);
    EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()));

    RawClient client(server.port());
    client.send("POST /a%20b/c?x=1&name=hello+world&x=2&empty= HTTP/1.1\r\nHost: t\r\nX-Thing:  value \r\n"
                "Content-Length: 5\r\n\r\nhello");
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->header("content-type"), "application/json");
    EXPECT_EQ(response->header("connection"), "keep-alive");
    auto json = nlohmann::json::parse(response->body);
    EXPECT_EQ(json["method"], "POST");
    EXPECT_EQ(json["path"], "/a b/c");
    EXPECT_EQ(json["query"]["x"], "1");  // the first of repeated names
    EXPECT_EQ(json["query"]["name"], "hello world");
    EXPECT_EQ(json["query"]["empty"], "");
    EXPECT_EQ(json["headers"]["x-thing"], "value");
    EXPECT_EQ(json["body"], "hello");
    EXPECT_TRUE(json["peer"].get<std::string>().starts_with("127.0.0.1:"));
}

TEST(HttpServer, KeepsConnectionsAliveAndAnswersPipelinedRequests) {
    HttpServer server(small_limits(), echo);
    server.start();
    RawClient client(server.port());
    // Two requests in one write, then a third after the answers.
    client.send("GET /one HTTP/1.1\r\nHost: t\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n\r\n");
    auto first = client.read_response();
    auto second = client.read_response();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(nlohmann::json::parse(first->body)["path"], "/one");
    EXPECT_EQ(nlohmann::json::parse(second->body)["path"], "/two");
    client.send("GET /three HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    auto third = client.read_response();
    ASSERT_TRUE(third);
    EXPECT_EQ(nlohmann::json::parse(third->body)["path"], "/three");
    EXPECT_EQ(third->header("connection"), "close");
    EXPECT_TRUE(client.closed_within(2s));
    EXPECT_EQ(server.requests_served(), 3u);
}

TEST(HttpServer, Http10ClosesUnlessAskedToKeepAlive) {
    HttpServer server(small_limits(), echo);
    server.start();
    {
        RawClient client(server.port());
        client.send("GET / HTTP/1.0\r\n\r\n");
        auto response = client.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 200);
        EXPECT_TRUE(client.closed_within(2s));
    }
    RawClient client(server.port());
    client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(client.read_response());
    client.send("GET /again HTTP/1.0\r\n\r\n");
    auto again = client.read_response();
    ASSERT_TRUE(again);
    EXPECT_EQ(nlohmann::json::parse(again->body)["path"], "/again");
}

struct Refused {
    std::string request;
    int status;
    std::string message_part;
};

TEST(HttpServer, RefusesMalformedAndOversizedRequestsAndCloses) {
    std::atomic<int> handled{0};
    HttpServer server(small_limits(), [&](const HttpServerRequest& request) {
        ++handled;
        return echo(request);
    });
    server.start();
    const std::vector<Refused> cases = {
        {"GARBAGE\r\n\r\n", 400, "request line"},
        {"GET /x HTTP/1.1 extra\r\nHost: t\r\n\r\n", 400, "request line"},
        {"GET relative HTTP/1.1\r\nHost: t\r\n\r\n", 400, "absolute path"},
        {"GET /x HTTP/2.0\r\nHost: t\r\n\r\n", 505, "not supported"},
        {"GET /x HTTP/1.1\r\n\r\n", 400, "Host"},
        {"GET /x HTTP/1.1\r\nHost: t\r\nBad Name: v\r\n\r\n", 400, "header name"},
        {"GET /x HTTP/1.1\r\nHost: t\r\nX: a\r\n  folded\r\n\r\n", 400, "folding"},
        {"GET /x HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n", 400, "':'"},
        {"GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400, "percent"},
        {"GET /x?a=%0 HTTP/1.1\r\nHost: t\r\n\r\n", 400, "percent"},
        {"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400, "Content-Length"},
        {"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "conflicting"},
        {"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413, "over the limit"},
        {"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 411, "chunked"},
        {"GET /x HTTP/1.1\r\nHost: t\r\nExpect: magic\r\n\r\n", 417, "Expect"},
        {"GET /x HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431, "headers over"},
        // Never finished: no blank line, and more than the header limit.
        {"GET /x HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'a'), 431, "headers over"},
    };
    for (const auto& c : cases) {
        RawClient client(server.port());
        client.send(c.request);
        auto response = client.read_response();
        ASSERT_TRUE(response) << c.request;
        EXPECT_EQ(response->status, c.status) << c.request;
        auto json = nlohmann::json::parse(response->body);
        EXPECT_EQ(json["code"], c.status);
        EXPECT_NE(json["message"].get<std::string>().find(c.message_part), std::string::npos)
            << json["message"] << " for " << c.request;
        EXPECT_EQ(response->header("connection"), "close");
        EXPECT_TRUE(client.closed_within(2s)) << c.request;
    }
    EXPECT_EQ(handled.load(), 0);
    // The server still serves after all that.
    RawClient client(server.port());
    client.send("GET /fine HTTP/1.1\r\nHost: t\r\n\r\n");
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(handled.load(), 1);
}

TEST(HttpServer, AcceptsABodyAtTheLimitAndAnswersExpectContinue) {
    HttpServer server(small_limits(), echo);
    server.start();
    RawClient client(server.port());
    client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
    auto interim = client.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    client.send(std::string(100, 'b'));
    auto response = client.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["body"], std::string(100, 'b'));
}

TEST(HttpServer, HeadGetsTheLengthWithoutTheBody) {
    HttpServer server(small_limits(), [](const HttpServerRequest&) { return HttpServerResponse::text(200, "12345"); });
    server.start();
    RawClient client(server.port());
    client.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    // The HEAD answer announces 5 bytes but carries none: the next bytes are the GET's answer.
    auto head = client.read_response(2s);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->header("content-length"), "5");
    EXPECT_TRUE(head->body.starts_with("HTTP/"));
}

TEST(HttpServer, TimesOutSlowRequestsAndIdleConnections) {
    auto options = small_limits();
    options.read_timeout = 300ms;
    options.keep_alive_timeout = 300ms;
    HttpServer server(options, echo);
    server.start();
    {
        // A request that never completes gets 408 after read_timeout.
        RawClient client(server.port());
        client.send("GET /slow HTTP/1.1\r\nHost: t\r\n");
        auto started = std::chrono::steady_clock::now();
        auto response = client.read_response(3s);
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 408);
        EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
    }
    {
        // A body that stops short, too.
        RawClient client(server.port());
        client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
        auto response = client.read_response(3s);
        ASSERT_TRUE(response);
        EXPECT_EQ(response->status, 408);
    }
    // An idle kept-alive connection is closed quietly.
    RawClient client(server.port());
    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(client.read_response());
    EXPECT_TRUE(client.closed_within(3s));
}

TEST(HttpServer, HandlerErrorsBecomeStatusesAndTheServerGoesOn) {
    HttpServer server(small_limits(), [](const HttpServerRequest& request) -> HttpServerResponse {
        if (request.path == "/missing") throw Error(ErrorCode::NotFound, "no such thing", "look elsewhere");
        if (request.path == "/bad") throw Error(ErrorCode::Usage, "bad input");
        if (request.path == "/crash") throw std::runtime_error("boom");
        if (request.path == "/inject") return HttpServerResponse{200, {{"X-Evil", "a\r\nSet-Cookie: x"}}, ""};
        return HttpServerResponse::text(200, "ok");
    });
    server.start();
    RawClient client(server.port());
    auto ask = [&](const std::string& path) {
        client.send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
        auto response = client.read_response();
        if (!response) throw std::runtime_error("no answer for " + path);
        return *response;
    };
    auto missing = ask("/missing");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(nlohmann::json::parse(missing.body)["message"], "no such thing (look elsewhere)");
    EXPECT_EQ(ask("/bad").status, 400);
    auto crash = ask("/crash");
    EXPECT_EQ(crash.status, 500);
    EXPECT_EQ(crash.body.find("boom"), std::string::npos);  // internals are not shown to clients
    auto inject = ask("/inject");
    EXPECT_EQ(inject.status, 500);
    EXPECT_EQ(inject.head.find("Set-Cookie"), std::string::npos);
    EXPECT_EQ(ask("/ok").status, 200);
}

TEST(HttpServer, ServesManyClientsAtOnceWithTheCurlClient) {
    auto options = small_limits();
    options.threads = 4;
    options.max_body_bytes = 64 * 1024;
    std::atomic<int> handled{0};
    HttpServer server(options, [&](const HttpServerRequest& request) {
        ++handled;
        return HttpServerResponse::text(request.method == "POST" ? 201 : 200, request.method + " " + request.path +
                                                                                   " " + request.body);
    });
    server.start();
    constexpr int Clients = 12, Requests = 20;
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < Clients; ++c)
        threads.emplace_back([&, c] {
            NullLog log;
            NullProgress progress;
            CurlHttpClient http(HttpOptions{}, log, progress);
            for (int r = 0; r < Requests; ++r) {
                std::string path = "/c" + std::to_string(c) + "/r" + std::to_string(r);
                std::string body;
                if (r % 2 == 0) {
                    auto response = http.get(HttpRequest{.url = server.url() + path}, body);
                    if (response.status == 200 && body == "GET " + path + " ") ++good;
                } else {
                    std::string payload(1000 + r, 'p');
                    auto response = http.post(HttpPostRequest{.url = server.url() + path, .body = payload}, body);
                    if (response.status == 201 && body == "POST " + path + " " + payload) ++good;
                }
            }
        });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(good.load(), Clients * Requests);
    EXPECT_EQ(handled.load(), Clients * Requests);
}

TEST(HttpServer, PostReturnsRefusalsWithTheirBodies) {
    HttpServer server(small_limits(), [](const HttpServerRequest&) {
        return HttpServerResponse::error(400, "the signature does not verify");
    });
    server.start();
    NullLog log;
    NullProgress progress;
    CurlHttpClient http(HttpOptions{}, log, progress);
    std::string body;
    auto response = http.post(HttpPostRequest{.url = server.url() + "/x", .body = "{}"}, body);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(nlohmann::json::parse(body)["message"], "the signature does not verify");
    // Over the server's body limit: 413 with its explanation.
    response = http.post(HttpPostRequest{.url = server.url() + "/x", .body = std::string(500, 'x')}, body);
    EXPECT_EQ(response.status, 413);
}

TEST(HttpServer, AnIdleKeptAliveClientDoesNotStarveOthers) {
    auto options = small_limits();
    options.threads = 1;
    options.keep_alive_timeout = 30s;
    HttpServer server(options, echo);
    server.start();
    RawClient holder(server.port());
    holder.send("GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(holder.read_response());
    // The only worker is now waiting on `holder`'s next request.
    RawClient other(server.port());
    other.send("GET /second HTTP/1.1\r\nHost: t\r\n\r\n");
    auto started = std::chrono::steady_clock::now();
    auto response = other.read_response(5s);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    EXPECT_TRUE(holder.closed_within(1s));
}

TEST(HttpServer, StopsPromptlyWithConnectionsOpen) {
    HttpServer server(small_limits(), echo);
    server.start();
    RawClient idle(server.port());
    idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(idle.read_response());
    RawClient half(server.port());
    half.send("GET /never-finished HTTP/1.1\r\n");
    EXPECT_FALSE(server.wait_for(100ms));
    auto started = std::chrono::steady_clock::now();
    std::thread stopper([&] { server.stop(); });
    EXPECT_TRUE(server.wait_for(5s));
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    EXPECT_TRUE(idle.closed_within(1s));
    EXPECT_TRUE(half.closed_within(1s));
    // Nobody listens any more.
    EXPECT_THROW(RawClient(server.port()), std::runtime_error);
}

TEST(HttpServer, ReportsAnAddressInUse) {
    HttpServer first(small_limits(), echo);
    auto options = small_limits();
    options.port = first.port();
    try {
        HttpServer second(options, echo);
        FAIL() << "a second server bound the same port";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Network);
        EXPECT_NE(e.message().find("Address already in use"), std::string::npos) << e.message();
    }
}

TEST(ParseListenAddress, AcceptsHostPortForms) {
    EXPECT_EQ(parse_listen_address("127.0.0.1:0"), (std::pair<std::string, std::uint16_t>{"127.0.0.1", 0}));
    EXPECT_EQ(parse_listen_address("[::1]:8080"), (std::pair<std::string, std::uint16_t>{"::1", 8080}));
    EXPECT_EQ(parse_listen_address(":3000"), (std::pair<std::string, std::uint16_t>{"127.0.0.1", 3000}));
    EXPECT_EQ(parse_listen_address("3000"), (std::pair<std::string, std::uint16_t>{"127.0.0.1", 3000}));
    EXPECT_EQ(parse_listen_address("0.0.0.0:1"), (std::pair<std::string, std::uint16_t>{"0.0.0.0", 1}));
    for (const char* bad : {"", "host:", "host:65536", "::1:80", "[::1]", "1.2.3.4:x"})
        EXPECT_THROW(parse_listen_address(bad), Error) << bad;
}

}  // namespace
}  // namespace slate::util
