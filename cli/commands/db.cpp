// slate db import FEED... [--db PATH]
// slate db update [--source URL...] [--db PATH]
// slate db status [--db PATH] [--json]
//
// The local vulnerability database (libslate's vuln/database.hpp).

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/http.hpp"
#include "slate/vuln/database.hpp"
#include "terminal.hpp"

namespace slate::cli {
namespace {

namespace fs = std::filesystem;

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string format_time(std::int64_t seconds) {
    if (seconds <= 0) return "never";
    std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::string format_age(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    if (seconds < 120) return fmt::format("{} s", seconds);
    if (seconds < 7200) return fmt::format("{} min", seconds / 60);
    if (seconds < 172800) return fmt::format("{} h", seconds / 3600);
    return fmt::format("{} days", seconds / 86400);
}

void report_import(TerminalLog& log, const vuln::FeedRecord& record) {
    const auto& s = record.stats;
    for (const auto& warning : s.warnings) log.warning(warning);
    if (s.skipped > s.warnings.size())
        log.warning(fmt::format("{}: {} more malformed records skipped", record.location, s.skipped - s.warnings.size()));
    std::string extra;
    if (s.skipped) extra += fmt::format(", {} skipped as malformed", s.skipped);
    if (s.withdrawn) extra += fmt::format(", {} withdrawn", s.withdrawn);
    if (s.out_of_scope) extra += fmt::format(", {} about no Debian release", s.out_of_scope);
    log.info(fmt::format("{} ({}): {} records{}", record.location, vuln::to_string(record.kind), s.records, extra));
}

fs::path database_path(const Context& ctx, const std::string& flag) {
    if (!flag.empty()) return flag;
    return vuln::default_database_path(ctx.settings.effective_cache_dir());
}

struct DbArgs {
    std::string db;
    std::vector<std::string> feeds;    // import
    std::vector<std::string> sources;  // update
    bool json = false;                 // status
};

void run_import(Context& ctx, const DbArgs& args) {
    TerminalLog log(ctx.settings.verbosity());
    std::vector<vuln::FeedInput> inputs;
    for (const auto& feed : args.feeds) inputs.push_back({.path = feed});
    fs::path path = database_path(ctx, args.db);
    for (const auto& record : vuln::import_feeds(path, inputs, now_seconds())) report_import(log, record);
    log.info(fmt::format("database {} is ready", path.string()));
}

bool is_url(std::string_view text) {
    return text.starts_with("http://") || text.starts_with("https://") || text.starts_with("file://");
}

void run_update(Context& ctx, const DbArgs& args) {
    TerminalLog log(ctx.settings.verbosity());
    TerminalProgress progress;
    fs::path path = database_path(ctx, args.db);
    std::vector<vuln::FeedRecord> known;
    if (fs::exists(path)) known = vuln::Database(path).feeds();

    std::vector<std::string> urls = args.sources;
    if (urls.empty())
        for (const auto& record : known)
            if (is_url(record.location)) urls.push_back(record.location);
    if (urls.empty())
        throw Error(ErrorCode::Usage, "no feed URLs to update from",
                    "give --source URL (the tracker's JSON, an OSV zip or record, an OpenVEX document); later updates "
                    "reuse the URLs already in the database");
    for (const auto& url : urls)
        if (!is_url(url))
            throw Error(ErrorCode::Usage, fmt::format("--source {} is not an http(s):// or file:// URL", url),
                        "import local files with `slate db import FILE`");

    util::HttpOptions options;
    options.retries = ctx.settings.retries;
    util::CurlHttpClient http(options, log, progress);
    const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorCode::Io, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    util::TempDir downloads(dir, ".feeds-", "check that the database directory is writable");
    std::vector<vuln::FeedInput> inputs;
    for (std::size_t i = 0; i < urls.size(); ++i) {
        const std::string& url = urls[i];
        util::HttpRequest request{.url = url, .progress_label = url};
        for (const auto& record : known)
            if (record.location == url) {
                request.if_none_match = record.etag;
                request.if_modified_since = record.last_modified;
            }
        fs::path file = downloads.path() / fmt::format("feed-{}", i);
        util::HttpResponse response;
        try {
            response = http.download(request, file);
        } catch (const Error& e) {
            // The HTTP client's hints speak of Debian mirrors; a feed needs its own.
            throw Error(e.code(), fmt::format("cannot fetch feed {}: {}", url, e.message()),
                        "check the URL; the database was not changed (`slate db status` shows what it holds)");
        }
        if (response.not_modified()) {
            log.info(fmt::format("{}: not modified since the last update", url));
            continue;
        }
        inputs.push_back({.path = file, .location = url, .etag = response.etag, .last_modified = response.last_modified});
    }
    if (inputs.empty()) {
        log.info(fmt::format("database {} is up to date", path.string()));
        return;
    }
    for (const auto& record : vuln::import_feeds(path, inputs, now_seconds())) report_import(log, record);
    log.info(fmt::format("database {} is ready", path.string()));
}

void run_status(Context& ctx, const DbArgs& args) {
    fs::path path = database_path(ctx, args.db);
    vuln::Database db(path);
    vuln::DatabaseStatus status = db.status();
    std::int64_t now = now_seconds();
    std::string newest;
    for (const auto& feed : status.feeds)
        if (feed.stats.newest > newest) newest = feed.stats.newest;
    if (args.json) {
        nlohmann::ordered_json out;
        out["path"] = path.string();
        out["schema_version"] = status.schema_version;
        out["built"] = format_time(status.built);
        out["age_seconds"] = now - status.built;
        out["advisories"] = status.counts.advisories;
        out["statements"] = status.counts.affected;
        out["vex_documents"] = status.counts.vex_documents;
        out["newest_record"] = newest;
        out["feeds"] = nlohmann::ordered_json::array();
        for (const auto& feed : status.feeds)
            out["feeds"].push_back({{"location", feed.location},
                                    {"kind", vuln::to_string(feed.kind)},
                                    {"imported", format_time(feed.imported)},
                                    {"records", feed.stats.records},
                                    {"skipped", feed.stats.skipped},
                                    {"withdrawn", feed.stats.withdrawn},
                                    {"newest_record", feed.stats.newest},
                                    {"sha256", feed.sha256}});
        fmt::print("{}\n", out.dump(2));
        return;
    }
    fmt::print("database      {}\n", path.string());
    fmt::print("built         {} ({} ago)\n", format_time(status.built), format_age(now - status.built));
    fmt::print("advisories    {} ({} package statements, {} VEX documents)\n", status.counts.advisories,
               status.counts.affected, status.counts.vex_documents);
    fmt::print("newest record {}\n", newest.empty() ? "-" : newest);
    fmt::print("feeds:\n");
    for (const auto& feed : status.feeds)
        fmt::print("  {:<15} {:>7} records  imported {} ({} ago)  newest {}  {}\n", vuln::to_string(feed.kind),
                   feed.stats.records, format_time(feed.imported), format_age(now - feed.imported),
                   feed.stats.newest.empty() ? "-" : feed.stats.newest, feed.location);
}

}  // namespace

void add_db_command(CLI::App& app, Context& ctx) {
    auto args = std::make_shared<DbArgs>();
    auto* db = app.add_subcommand("db", "Build, update and inspect the local vulnerability database");
    db->require_subcommand(1);
    const std::string db_help = "The database file (default: <cache>/vuln/vuln.db)";

    auto* import = db->add_subcommand("import", "Import feeds: the Debian Security Tracker's JSON, OSV records "
                                                "(file, directory or zip), OpenVEX documents");
    import->add_option("feeds", args->feeds, "Feed files or directories")->required();
    import->add_option("--db", args->db, db_help);
    import->callback([&ctx, args] { run_import(ctx, *args); });

    auto* update = db->add_subcommand("update", "Fetch feeds over HTTP(S) (conditional requests) and import them");
    update->add_option("--source", args->sources, "A feed URL (repeatable); default: the URLs already imported");
    update->add_option("--db", args->db, db_help);
    update->callback([&ctx, args] { run_update(ctx, *args); });

    auto* status = db->add_subcommand("status", "Show the database's feeds, record counts, newest record and age");
    status->add_option("--db", args->db, db_help);
    status->add_flag("--json", args->json, "Print JSON");
    status->callback([&ctx, args] { run_status(ctx, *args); });
}

}  // namespace slate::cli
