#pragma once
// The local vulnerability database: an SQLite file built by importing feeds
// (feeds.hpp) and read by the matcher. docs/vuln-db.md describes the format.
//
// The file is never changed in place: an import copies it to a temporary file
// next to it, applies the feeds in one transaction, and renames the result
// over the old file. A failed, partial or corrupt feed therefore never
// replaces a working database, and readers open it as immutable (no locks).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slate/vuln/advisory.hpp"
#include "slate/vuln/feeds.hpp"

struct sqlite3;

namespace slate::vuln {

// The version of the file's layout; a database of another version must be rebuilt.
inline constexpr int DatabaseSchemaVersion = 1;

// One imported feed, as the database remembers it.
struct FeedRecord {
    std::string location;        // identity: the absolute path or the URL it came from
    FeedKind kind = FeedKind::Osv;
    std::int64_t imported = 0;   // seconds since the epoch
    FeedStats stats;             // counts and the newest record (warnings are not kept)
    std::string etag;            // from the HTTP response, for conditional updates
    std::string last_modified;
    std::string sha256;          // of the file imported (empty for a directory)
};

// One feed to import: a local file or directory. `location` defaults to the
// path made absolute; `db update` sets it to the URL and fills the HTTP validators.
struct FeedInput {
    std::filesystem::path path;
    std::string location{};
    std::optional<FeedKind> kind{};  // detected from the content when not given
    std::string etag{};
    std::string last_modified{};
};

struct DatabaseCounts {
    std::size_t advisories = 0;
    std::size_t affected = 0;       // (advisory, release, package) statements
    std::size_t vex_documents = 0;
};

struct DatabaseStatus {
    std::int64_t built = 0;         // when it was last written
    int schema_version = 0;
    std::vector<FeedRecord> feeds;  // by location
    DatabaseCounts counts;
};

// Imports `inputs` into the database at `path` (created when missing). A feed
// whose location is already in the database replaces its earlier records; the
// others stay. All or nothing: on any error the file at `path` is unchanged and
// no temporary file is left. Returns what each feed held, in input order.
std::vector<FeedRecord> import_feeds(const std::filesystem::path& path, const std::vector<FeedInput>& inputs,
                                     std::int64_t now);

// The default location: <cache>/vuln/vuln.db.
std::filesystem::path default_database_path(const std::filesystem::path& cache_dir);

// One open database. Not thread-safe: give each thread its own.
class Database {
public:
    // Read-only. Throws NotFound (with a hint to import feeds) when the file
    // does not exist, Parse when it is not a slate database or of another version.
    explicit Database(const std::filesystem::path& path);
    ~Database();
    Database(Database&&) noexcept;
    Database& operator=(Database&&) noexcept;

    const std::filesystem::path& path() const { return m_path; }

    // One statement and the advisory (by row) that makes it.
    struct Statement {
        std::int64_t advisory = 0;
        Affected affected;
    };
    // Every statement about source package `package` in `ecosystem`
    // ("Debian:12"): one indexed query that reads no advisory text.
    std::vector<Statement> statements_for(std::string_view ecosystem, std::string_view package) const;

    // An advisory's id, aliases, text and severity (its `affected` is empty).
    // Cached: the file never changes while it is open, and scans of a fleet
    // ask for the same advisories again and again.
    const Advisory& advisory(std::int64_t row) const;

    // Every advisory with a statement about `package` in `ecosystem`, each
    // carrying only those statements.
    std::vector<Advisory> advisories_for(std::string_view ecosystem, std::string_view package) const;

    // The OpenVEX documents imported as feeds, as JSON text.
    std::vector<std::string> vex_documents() const;

    DatabaseStatus status() const;
    std::int64_t built() const;
    std::vector<FeedRecord> feeds() const;

    struct Close {
        void operator()(sqlite3* db) const noexcept;
    };

private:
    struct Queries;
    std::filesystem::path m_path;
    std::unique_ptr<sqlite3, Close> m_db;
    std::unique_ptr<Queries> m_queries;
};

}  // namespace slate::vuln
