// fetch_all against the fixture archive's real .debs, served on 127.0.0.1 by
// the test HttpServer (real sockets, real libcurl), with the server's fault
// injection standing in for a bad mirror.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "slate/build/fetch.hpp"
#include "slate/deb/package_index.hpp"
#include "slate/error.hpp"
#include "slate/util/cache.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "support/fixture_archive.hpp"
#include "support/http_server.hpp"
#include "support/paths.hpp"

namespace slate::build {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

class RecordingLog final : public util::LogSink {
public:
    void log(util::LogLevel level, std::string_view message) override {
        std::lock_guard lock(m_mutex);
        if (level == util::LogLevel::Warning) m_warnings.emplace_back(message);
    }
    std::vector<std::string> warnings() const {
        std::lock_guard lock(m_mutex);
        return m_warnings;
    }

private:
    mutable std::mutex m_mutex;
    std::vector<std::string> m_warnings;
};

// fetch_all promises that calls never overlap: this sink would notice if they did.
class RecordingProgress final : public util::ProgressSink {
public:
    void update(std::string_view label, std::uint64_t done, std::uint64_t total) override {
        if (m_busy.exchange(true)) overlapped = true;
        labels.emplace(label);
        last_done = done;
        last_total = total;
        if (done < max_done) went_backwards = true;
        max_done = std::max(max_done, done);
        ++updates;
        m_busy = false;
    }
    void finish(std::string_view label) override { finished.emplace_back(label); }

    std::set<std::string> labels;
    std::vector<std::string> finished;
    std::uint64_t last_done = 0, last_total = 0, max_done = 0;
    int updates = 0;
    bool overlapped = false, went_backwards = false;

private:
    std::atomic<bool> m_busy{false};
};

class FetchTest : public ::testing::Test {
protected:
    void SetUp() override {
        m_archive = test::fixture_archive();
        m_server = std::make_unique<test::HttpServer>(m_archive / "debian");
        auto packages = util::read_file(m_archive / "debian/dists/fixture/main/binary-amd64/Packages");
        auto index = deb::PackageIndex::parse(packages, "fixture amd64 Packages");
        for (std::uint32_t i = 0; i < index.size(); ++i) {
            auto record = index.record(i);
            FetchItem item;
            item.url = m_server->url() + "/" + std::string(record.filename);
            item.sha256 = std::string(record.sha256);
            item.size = record.size;
            item.label = fmt::format("{} {} ({})", record.name, record.version, record.architecture);
            m_paths[item.label] = "/" + std::string(record.filename);
            m_items.push_back(std::move(item));
        }
        m_options.http.retries = 1;
        m_options.http.backoff = 10ms;
        m_options.workers = 4;
    }

    std::vector<fs::path> fetch(const std::vector<FetchItem>& items) {
        return fetch_all(m_cache, items, m_options, m_log, m_progress);
    }
    const FetchItem& item(const std::string& name) const {
        for (const auto& i : m_items)
            if (i.label.starts_with(name + " ")) return i;
        throw std::runtime_error("no fixture package " + name);
    }
    // The URL path the server sees for an item.
    std::string path_of(const FetchItem& i) const { return m_paths.at(i.label); }
    std::size_t temp_files() const {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(m_cache_dir.path() / "tmp")) ++n;
        return n;
    }
    std::size_t blobs() const {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(m_cache_dir.path() / "blobs/sha256")) ++n;
        return n;
    }
    std::uint64_t total_size() const {
        std::uint64_t total = 0;
        for (const auto& i : m_items) total += i.size;
        return total;
    }

    fs::path m_archive;
    std::unique_ptr<test::HttpServer> m_server;
    std::vector<FetchItem> m_items;
    std::map<std::string, std::string> m_paths;
    test::TempDir m_cache_dir;
    util::BlobCache m_cache{m_cache_dir.path()};
    FetchOptions m_options;
    RecordingLog m_log;
    RecordingProgress m_progress;
};

TEST_F(FetchTest, DownloadsEveryPackageVerifiedAndInInputOrder) {
    ASSERT_GT(m_items.size(), 20u);
    auto paths = fetch(m_items);
    ASSERT_EQ(paths.size(), m_items.size());
    for (std::size_t i = 0; i < m_items.size(); ++i) {
        EXPECT_EQ(paths[i], m_cache.blob_path(m_items[i].sha256)) << m_items[i].label;
        EXPECT_EQ(util::sha256_file_hex(paths[i]), m_items[i].sha256) << m_items[i].label;
        EXPECT_EQ(fs::file_size(paths[i]), m_items[i].size);
        EXPECT_EQ(m_server->request_count(path_of(m_items[i])), 1u) << m_items[i].label;
    }
    EXPECT_EQ(temp_files(), 0u);
    // One aggregated line that ends at the total of all packages.
    EXPECT_EQ(m_progress.labels, std::set<std::string>{"packages"});
    EXPECT_EQ(m_progress.finished, std::vector<std::string>{"packages"});
    EXPECT_EQ(m_progress.last_done, total_size());
    EXPECT_EQ(m_progress.last_total, total_size());
    EXPECT_FALSE(m_progress.overlapped);
    EXPECT_TRUE(m_log.warnings().empty());
}

TEST_F(FetchTest, DownloadsRunInParallel) {
    // Every answer waits 400 ms: one at a time, 16 files take 6.4 s; with 8 workers about 0.8 s.
    std::vector<FetchItem> items(m_items.begin(), m_items.begin() + 16);
    for (const auto& i : items) m_server->delay_next(path_of(i), 400ms);
    m_options.workers = 8;
    auto start = std::chrono::steady_clock::now();
    auto paths = fetch(items);
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(paths.size(), 16u);
    EXPECT_LT(elapsed, 3s) << "the downloads did not overlap";
}

TEST_F(FetchTest, SameFileTwiceIsFetchedOnce) {
    auto paths = fetch({item("hello"), item("libc6"), item("hello")});
    ASSERT_EQ(paths.size(), 3u);
    EXPECT_EQ(paths[0], paths[2]);
    EXPECT_EQ(m_server->request_count(path_of(item("hello"))), 1u);
    EXPECT_EQ(m_progress.last_total, item("hello").size + item("libc6").size);
}

TEST_F(FetchTest, CacheHitsNeedNoNetwork) {
    auto first = fetch(m_items);
    m_server.reset();  // the mirror is gone: every URL now fails to connect
    RecordingProgress progress;
    auto second = fetch_all(m_cache, m_items, m_options, m_log, progress);
    EXPECT_EQ(first, second);
    EXPECT_EQ(progress.last_done, total_size());
    EXPECT_TRUE(m_log.warnings().empty());
}

TEST_F(FetchTest, OfflineUsesTheCache) {
    fetch({item("hello")});
    m_options.offline = true;
    auto paths = fetch({item("hello")});
    EXPECT_EQ(util::sha256_file_hex(paths[0]), item("hello").sha256);
    EXPECT_EQ(m_server->request_count(path_of(item("hello"))), 1u);
}

TEST_F(FetchTest, OfflineMissListsEveryMissingFile) {
    fetch({item("hello")});
    m_options.offline = true;
    try {
        fetch({item("hello"), item("libfoo1"), item("app")});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
        EXPECT_TRUE(contains(e.message(), "2 of 3 files are not in the cache (--offline)"));
        EXPECT_TRUE(contains(e.message(), item("libfoo1").label));
        EXPECT_TRUE(contains(e.message(), item("app").label));
        EXPECT_FALSE(contains(e.message(), item("hello").label));
        EXPECT_TRUE(contains(e.hint(), "without --offline"));
    }
    EXPECT_EQ(m_server->request_count(path_of(item("libfoo1"))), 0u);
    EXPECT_EQ(m_server->request_count(path_of(item("app"))), 0u);
}

TEST_F(FetchTest, DamagedCacheEntryIsFetchedAgainWithAWarning) {
    auto paths = fetch({item("hello")});
    {
        std::fstream f(paths[0], std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(100);
        f.put('\xff');
    }
    ASSERT_NE(util::sha256_file_hex(paths[0]), item("hello").sha256);
    auto again = fetch({item("hello")});
    EXPECT_EQ(util::sha256_file_hex(again[0]), item("hello").sha256);
    EXPECT_EQ(m_server->request_count(path_of(item("hello"))), 2u);
    auto warnings = m_log.warnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_TRUE(contains(warnings[0], item("hello").label));
    EXPECT_TRUE(contains(warnings[0], "damaged"));
}

TEST_F(FetchTest, DamagedCacheEntryOfflineIsMissing) {
    auto paths = fetch({item("hello")});
    fs::resize_file(paths[0], 10);
    m_options.offline = true;
    EXPECT_THROW(fetch({item("hello")}), Error);
    EXPECT_FALSE(fs::exists(paths[0])) << "a damaged blob must not stay in the cache";
}

TEST_F(FetchTest, HashMismatchNamesPackageUrlAndBothHashes) {
    const auto& hello = item("hello");
    m_server->corrupt_next(path_of(hello));
    try {
        fetch({hello});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Integrity);
        EXPECT_TRUE(contains(e.message(), hello.label));
        EXPECT_TRUE(contains(e.message(), hello.url));
        EXPECT_TRUE(contains(e.message(), hello.sha256));
        // The hash actually received: that of the corrupted body.
        std::string received = e.message().substr(e.message().find("SHA-256 ") + 8, 64);
        EXPECT_TRUE(util::is_sha256_hex(received)) << e.message();
        EXPECT_NE(received, hello.sha256);
    }
    EXPECT_FALSE(m_cache.contains(hello.sha256));
    EXPECT_EQ(temp_files(), 0u);
}

TEST_F(FetchTest, TruncatedDownloadIsRefused) {
    const auto& hello = item("hello");
    m_server->truncate_next(path_of(hello), hello.size / 2, /*honest_length=*/true);
    try {
        fetch({hello});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Integrity);
        EXPECT_TRUE(contains(e.message(), hello.label));
        EXPECT_TRUE(contains(e.message(), fmt::format("is {} bytes", hello.size / 2)));
        EXPECT_TRUE(contains(e.message(), fmt::format("promises {}", hello.size)));
    }
    EXPECT_FALSE(m_cache.contains(hello.sha256));
    EXPECT_EQ(temp_files(), 0u);
}

TEST_F(FetchTest, ConnectionCutShortIsRetried) {
    // The server announces the full length and closes early: libcurl sees a
    // partial transfer, which the client retries.
    const auto& hello = item("hello");
    m_server->truncate_next(path_of(hello), hello.size / 2, /*honest_length=*/false);
    auto paths = fetch({hello});
    EXPECT_EQ(util::sha256_file_hex(paths[0]), hello.sha256);
    EXPECT_EQ(m_server->request_count(path_of(hello)), 2u);
}

TEST_F(FetchTest, NotFoundNamesThePackageAndStopsTheRest) {
    m_options.workers = 1;
    const auto& first = m_items.front();
    m_server->fail_next(path_of(first), 404);
    try {
        fetch(m_items);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::NotFound);
        EXPECT_TRUE(contains(e.message(), first.label));
        EXPECT_TRUE(contains(e.message(), "404"));
        EXPECT_TRUE(contains(e.hint(), "slate lock"));
    }
    // Nothing after the failure was requested.
    EXPECT_EQ(m_server->request_log().size(), 1u);
    EXPECT_EQ(blobs(), 0u);
    EXPECT_EQ(temp_files(), 0u);
}

TEST_F(FetchTest, FirstFailureAbortsTransfersInFlight) {
    // Worker 1 fails at once; the other three are stuck in slow transfers
    // (bodies arriving, then a 2 s stall each time a retry starts): they must
    // end at their next progress tick, not run to completion. Not-yet-started
    // files are never requested.
    m_options.workers = 4;
    std::vector<FetchItem> items;
    items.push_back(item("hello"));
    m_server->fail_next(path_of(item("hello")), 404);
    for (const auto& i : m_items)
        if (!i.label.starts_with("hello ") && items.size() < 12) {
            m_server->truncate_next(path_of(i), i.size / 2, /*honest_length=*/false, 5);
            m_server->delay_next(path_of(i), 2s, 5);
            items.push_back(i);
        }
    m_options.http.retries = 4;
    m_options.http.backoff = 2s;
    auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(fetch(items), Error);
    auto elapsed = std::chrono::steady_clock::now() - start;
    // Without cancellation: 5 attempts x (2 s delay + backoff) for each file.
    EXPECT_LT(elapsed, 6s);
    std::size_t requested = 0;
    for (const auto& i : items) requested += m_server->request_count(path_of(i)) > 0;
    EXPECT_LE(requested, 4u);
    EXPECT_EQ(temp_files(), 0u);
}

TEST_F(FetchTest, UnreachableMirrorIsANetworkError) {
    auto url = m_server->url();
    m_server.reset();
    try {
        fetch({item("hello")});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::Network);
        EXPECT_TRUE(contains(e.describe(), item("hello").label));
    }
    EXPECT_EQ(temp_files(), 0u);
}

TEST_F(FetchTest, EmptyListDoesNothing) {
    EXPECT_TRUE(fetch({}).empty());
    EXPECT_EQ(m_progress.updates, 0);
}

TEST_F(FetchTest, MalformedDigestIsRefusedBeforeAnyDownload) {
    auto bad = item("hello");
    bad.sha256 = "abc";
    EXPECT_THROW(fetch({item("libc6"), bad}), Error);
    EXPECT_TRUE(m_server->request_log().empty());
}

}  // namespace
}  // namespace slate::build
