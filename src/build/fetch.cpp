#include "slate/build/fetch.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "slate/error.hpp"
#include "slate/util/hash.hpp"

namespace slate::build {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr unsigned MaxWorkers = 64;
constexpr auto ReportInterval = 100ms;
constexpr std::size_t MaxListed = 10;  // files named in an --offline error

// Thrown inside a worker (through libcurl's progress callback or the retry
// log line) once another worker failed; it ends the transfer and the worker.
// Not a slate::Error, so nothing on the way up mistakes it for a failure.
struct Cancelled {};

std::string describe_size(std::uint64_t bytes) {
    if (bytes < 1024) return fmt::format("{} B", bytes);
    if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

// The state all workers share. Calls into the caller's sinks go through it,
// one at a time.
class FetchRun {
public:
    FetchRun(util::BlobCache& cache, const std::vector<FetchItem>& files, const FetchOptions& options,
             util::LogSink& log, util::ProgressSink& progress, unsigned workers)
        : m_cache(cache), m_files(files), m_options(options), m_log(log), m_progress(progress),
          m_in_flight(std::make_unique<std::atomic<std::uint64_t>[]>(workers)), m_workers(workers),
          m_paths(files.size()) {
        for (const auto& file : files) m_total += file.size;
        for (unsigned w = 0; w < workers; ++w) m_in_flight[w] = 0;
    }

    void work(unsigned worker);

    bool cancelled() const { return m_cancel.load(std::memory_order_relaxed); }
    std::uint64_t total() const { return m_total; }
    std::vector<fs::path> take_paths() { return std::move(m_paths); }
    std::exception_ptr first_error() const { return m_error; }  // read after all workers joined
    const std::vector<std::string>& missing() const { return m_missing; }

    void log(util::LogLevel level, std::string_view message) {
        std::lock_guard lock(m_sink_mutex);
        m_log.log(level, message);
    }

    void in_flight(unsigned worker, std::uint64_t bytes) {
        m_in_flight[worker].store(bytes, std::memory_order_relaxed);
        report(false);
    }

    // Sends the aggregated progress line, at most every ReportInterval unless `force`.
    void report(bool force) {
        std::uint64_t done = m_done.load(std::memory_order_relaxed);
        for (unsigned w = 0; w < m_workers; ++w) done += m_in_flight[w].load(std::memory_order_relaxed);
        std::lock_guard lock(m_sink_mutex);
        auto now = std::chrono::steady_clock::now();
        if (!force && now - m_last_report < ReportInterval) return;
        m_last_report = now;
        m_progress.update(m_options.progress_label, std::min(done, m_total), m_total);
    }

private:
    fs::path fetch_one(unsigned worker, util::HttpClient& http, const FetchItem& file);
    void completed(unsigned worker, std::uint64_t bytes) {
        m_in_flight[worker].store(0, std::memory_order_relaxed);
        m_done.fetch_add(bytes, std::memory_order_relaxed);
        report(false);
    }
    void fail(std::exception_ptr error) {
        std::lock_guard lock(m_error_mutex);
        if (!m_error) m_error = std::move(error);
        m_cancel.store(true);
    }

    util::BlobCache& m_cache;
    const std::vector<FetchItem>& m_files;  // distinct by SHA-256
    const FetchOptions& m_options;
    util::LogSink& m_log;
    util::ProgressSink& m_progress;

    std::unique_ptr<std::atomic<std::uint64_t>[]> m_in_flight;  // bytes of each worker's current transfer
    unsigned m_workers;
    std::uint64_t m_total = 0;
    std::atomic<std::uint64_t> m_done{0};  // bytes of finished files (downloaded or cached)
    std::atomic<std::size_t> m_next{0};    // the next file to take
    std::atomic<bool> m_cancel{false};

    std::mutex m_sink_mutex;  // serialises the caller's sinks; guards m_last_report
    std::chrono::steady_clock::time_point m_last_report{};

    std::mutex m_error_mutex;  // guards m_error and m_missing
    std::exception_ptr m_error;
    std::vector<std::string> m_missing;

    std::vector<fs::path> m_paths;  // each slot written by the one worker that took the file
};

// What one worker's HTTP client sees as its log: forwarded to the caller's
// sink. A retry is announced here before the client sleeps, so a cancelled
// run ends the transfer instead of waiting.
class WorkerLog final : public util::LogSink {
public:
    explicit WorkerLog(FetchRun& run) : m_run(run) {}
    void log(util::LogLevel level, std::string_view message) override {
        if (m_run.cancelled()) throw Cancelled{};
        m_run.log(level, message);
    }

private:
    FetchRun& m_run;
};

// What one worker's HTTP client sees as progress: the bytes of its current
// transfer, folded into the one aggregated line. Throwing here makes libcurl
// abort the transfer (the client removes the partial file and rethrows).
class WorkerProgress final : public util::ProgressSink {
public:
    WorkerProgress(FetchRun& run, unsigned worker) : m_run(run), m_worker(worker) {}
    void update(std::string_view, std::uint64_t done, std::uint64_t) override {
        if (m_run.cancelled()) throw Cancelled{};
        m_run.in_flight(m_worker, done);
    }
    void finish(std::string_view) override {}

private:
    FetchRun& m_run;
    unsigned m_worker;
};

// Each worker runs this on its own thread: nothing may escape it, so every
// exception is stored for the caller, which rethrows the first one.
void FetchRun::work(unsigned worker) {
    try {
        WorkerLog log(*this);
        WorkerProgress progress(*this, worker);
        util::CurlHttpClient http(m_options.http, log, progress);
        while (!cancelled()) {
            std::size_t index = m_next.fetch_add(1);
            if (index >= m_files.size()) break;
            m_paths[index] = fetch_one(worker, http, m_files[index]);
        }
    } catch (const Cancelled&) {
        // Another worker failed first; its error is the one reported.
    } catch (...) {
        fail(std::current_exception());
    }
}

fs::path FetchRun::fetch_one(unsigned worker, util::HttpClient& http, const FetchItem& file) {
    bool damaged = false;
    if (auto cached = m_cache.get(file.sha256, file.size, &damaged)) {
        completed(worker, file.size);
        return *cached;
    }
    if (damaged)
        log(util::LogLevel::Warning,
            fmt::format("the cached copy of {} was damaged (wrong size or SHA-256); fetching it again", file.label));
    if (m_options.offline) {
        std::lock_guard lock(m_error_mutex);
        m_missing.push_back(file.label);
        return {};
    }

    const std::string shown = util::redact_url(file.url);
    auto temp = m_cache.temp_path(file.sha256.substr(0, 16) + ".deb");
    util::HttpRequest request;
    request.url = file.url;
    request.expected_size = file.size;
    request.progress_label = file.label;  // non-empty: progress callbacks are what cancel a transfer
    util::HttpResponse response;
    try {
        response = http.download(request, temp.path());
    } catch (Error& e) {
        if (e.code() == ErrorCode::NotFound)
            throw Error(ErrorCode::NotFound, fmt::format("cannot fetch {}: {}", file.label, e.message()),
                        "the mirror no longer has this version (Debian removes superseded packages); run slate "
                        "lock again to pick the current one, or use a snapshot mirror");
        e.add_context(fmt::format("while fetching {} from {}", file.label, shown));
        throw;
    }
    m_in_flight[worker].store(0, std::memory_order_relaxed);
    if (response.size != file.size)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{} from {} is {} bytes, but the signed index promises {} (SHA-256 {} expected, "
                                "{} received)",
                                file.label, shown, response.size, file.size, file.sha256, response.sha256),
                    "the download was truncated, or the mirror is out of sync with its index; try again later or "
                    "use another mirror");
    if (response.sha256 != file.sha256)
        throw Error(ErrorCode::Integrity,
                    fmt::format("{} from {} has SHA-256 {}, but the signed index promises {}", file.label, shown,
                                response.sha256, file.sha256),
                    "the file was altered on the way or on the mirror; try again later or use another mirror, "
                    "and report it if it persists");
    auto path = m_cache.put_file(temp.path(), file.sha256);
    completed(worker, file.size);
    return path;
}

// Calls ProgressSink::finish for the aggregated line however fetch_all ends.
class FinishProgress {
public:
    FinishProgress(util::ProgressSink& sink, const std::string& label) : m_sink(sink), m_label(label) {}
    ~FinishProgress() {
        try {
            m_sink.finish(m_label);
        } catch (...) {  // a destructor must not throw; the fetch's own outcome matters more
        }
    }
    FinishProgress(const FinishProgress&) = delete;
    FinishProgress& operator=(const FinishProgress&) = delete;

private:
    util::ProgressSink& m_sink;
    const std::string& m_label;
};

std::string list_missing(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < MaxListed; ++i) text += (i ? ", " : "") + names[i];
    if (names.size() > MaxListed) text += fmt::format(" and {} more", names.size() - MaxListed);
    return text;
}

}  // namespace

std::vector<fs::path> fetch_all(util::BlobCache& cache, const std::vector<FetchItem>& items,
                                const FetchOptions& options, util::LogSink& log, util::ProgressSink& progress) {
    // One download per distinct file; `slot[i]` is item i's file.
    std::vector<FetchItem> files;
    std::vector<std::size_t> slot(items.size());
    std::map<std::string, std::size_t> by_sha;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& item = items[i];
        if (!util::is_sha256_hex(item.sha256))
            throw Error(ErrorCode::Internal, fmt::format("{}: \"{}\" is not a SHA-256 digest", item.label, item.sha256));
        if (item.url.empty()) throw Error(ErrorCode::Internal, fmt::format("{}: no URL to fetch it from", item.label));
        auto [it, added] = by_sha.emplace(item.sha256, files.size());
        if (added) {
            files.push_back(item);
            if (files.back().label.empty()) files.back().label = util::redact_url(item.url);
        } else if (files[it->second].size != item.size) {
            throw Error(ErrorCode::Internal, fmt::format("{} and {} have the same SHA-256 {} but sizes {} and {}",
                                                         files[it->second].label, item.label, item.sha256,
                                                         files[it->second].size, item.size));
        }
        slot[i] = it->second;
    }
    if (files.empty()) return {};

    const unsigned workers = static_cast<unsigned>(
        std::clamp<std::size_t>(std::min<std::size_t>(options.workers, files.size()), 1, MaxWorkers));
    FetchRun run(cache, files, options, log, progress, workers);
    FinishProgress finish(progress, options.progress_label);
    {
        std::vector<std::jthread> threads;
        threads.reserve(workers);
        try {
            for (unsigned w = 0; w < workers; ++w) threads.emplace_back([&run, w] { run.work(w); });
        } catch (const std::system_error& e) {
            // Fewer threads than asked for: the ones running drain the queue.
            if (threads.empty())
                throw Error(ErrorCode::Internal, fmt::format("cannot start a download thread: {}", e.what()));
            log.warning(fmt::format("downloading with {} threads instead of {}: {}", threads.size(), workers, e.what()));
        }
    }  // joined here

    if (auto error = run.first_error()) std::rethrow_exception(error);
    if (!run.missing().empty())
        throw Error(ErrorCode::NotFound,
                    fmt::format("{} of {} files {} not in the cache (--offline): {}", run.missing().size(),
                                files.size(), run.missing().size() == 1 ? "is" : "are", list_missing(run.missing())),
                    "run once without --offline to fill the cache");
    run.report(true);
    log.debug(fmt::format("{} files ({}) verified in the cache", files.size(), describe_size(run.total())));

    auto paths = run.take_paths();
    std::vector<fs::path> result;
    result.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) result.push_back(paths[slot[i]]);
    return result;
}

}  // namespace slate::build
