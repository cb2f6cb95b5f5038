// The vulnerability database on disk (docs/vuln-db.md): SQLite, written by
// import_feeds() into a copy that replaces the file by rename, read through
// an immutable connection.

#include "slate/vuln/database.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "slate/error.hpp"
#include "slate/util/fs.hpp"
#include "slate/util/hash.hpp"
#include "vuln/sqlite.hpp"

namespace slate::vuln {
namespace {

namespace fs = std::filesystem;

constexpr const char* Schema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE feed(
  id INTEGER PRIMARY KEY, location TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, imported INTEGER NOT NULL,
  records INTEGER, skipped INTEGER, withdrawn INTEGER, out_of_scope INTEGER, newest TEXT,
  etag TEXT, last_modified TEXT, sha256 TEXT);
CREATE TABLE advisory(
  id INTEGER PRIMARY KEY, feed INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, aliases TEXT,
  summary TEXT, published TEXT, modified TEXT, cvss_vector TEXT, cvss_score REAL);
CREATE INDEX advisory_by_name ON advisory(name);
CREATE INDEX advisory_by_feed ON advisory(feed);
CREATE TABLE affected(
  ecosystem TEXT NOT NULL, package TEXT NOT NULL, advisory INTEGER NOT NULL, seq INTEGER NOT NULL,
  state INTEGER NOT NULL, fixed TEXT, ranges TEXT, versions TEXT, urgency TEXT, note TEXT,
  PRIMARY KEY(ecosystem, package, advisory, seq)) WITHOUT ROWID;
CREATE INDEX affected_by_advisory ON affected(advisory);
CREATE TABLE vex(feed INTEGER NOT NULL, document TEXT NOT NULL);
)sql";

// Ranges are stored as text: one range per line, events separated by spaces,
// each "<kind>:<version>" with kind i (introduced), f (fixed), l
// (last_affected) or m (limit). Debian versions never contain blanks.
std::string encode_ranges(const std::vector<std::vector<RangeEvent>>& ranges) {
    std::string out;
    for (const auto& range : ranges) {
        if (!out.empty()) out += '\n';
        bool first = true;
        for (const auto& event : range) {
            if (!first) out += ' ';
            first = false;
            switch (event.kind) {
            case RangeEvent::Kind::Introduced: out += "i:"; break;
            case RangeEvent::Kind::Fixed: out += "f:"; break;
            case RangeEvent::Kind::LastAffected: out += "l:"; break;
            case RangeEvent::Kind::Limit: out += "m:"; break;
            }
            out += event.version;
        }
    }
    return out;
}

template <typename Fn>
void split(std::string_view text, char separator, Fn&& fn) {
    while (!text.empty()) {
        auto end = text.find(separator);
        std::string_view part = text.substr(0, end);
        if (!part.empty()) fn(part);
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
}

std::vector<std::vector<RangeEvent>> decode_ranges(std::string_view text) {
    std::vector<std::vector<RangeEvent>> ranges;
    split(text, '\n', [&](std::string_view line) {
        std::vector<RangeEvent> range;
        split(line, ' ', [&](std::string_view item) {
            if (item.size() < 2 || item[1] != ':') return;
            RangeEvent event;
            switch (item[0]) {
            case 'i': event.kind = RangeEvent::Kind::Introduced; break;
            case 'f': event.kind = RangeEvent::Kind::Fixed; break;
            case 'l': event.kind = RangeEvent::Kind::LastAffected; break;
            default: event.kind = RangeEvent::Kind::Limit; break;
            }
            event.version = std::string(item.substr(2));
            range.push_back(std::move(event));
        });
        ranges.push_back(std::move(range));
    });
    return ranges;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ' ';
        out += item;
    }
    return out;
}

std::vector<std::string> words(std::string_view text) {
    std::vector<std::string> out;
    split(text, ' ', [&](std::string_view word) { out.emplace_back(word); });
    return out;
}

FeedKind feed_kind(std::string_view name) {
    if (name == "debian-tracker") return FeedKind::DebianTracker;
    if (name == "openvex") return FeedKind::OpenVex;
    return FeedKind::Osv;
}

// Writes advisories of one import into an open transaction.
class Writer {
public:
    Writer(sqlite3* db, const fs::path& path)
        : m_advisory(db, path,
                     "INSERT INTO advisory(feed, name, kind, aliases, summary, published, modified, cvss_vector, "
                     "cvss_score) VALUES(?,?,?,?,?,?,?,?,?)"),
          m_affected(db, path,
                     "INSERT INTO affected(advisory, ecosystem, package, state, fixed, ranges, versions, urgency, note, "
                     "seq) VALUES(?,?,?,?,?,?,?,?,?,?)"),
          m_db(db) {}

    void add(std::int64_t feed, const Advisory& advisory) {
        m_advisory.bind(1, feed).bind(2, advisory.id).bind(3, advisory.feed).bind(4, join(advisory.aliases));
        m_advisory.bind(5, advisory.summary).bind(6, advisory.published).bind(7, advisory.modified);
        m_advisory.bind(8, advisory.cvss_vector);
        if (advisory.cvss_score) m_advisory.bind(9, *advisory.cvss_score);
        m_advisory.run();
        std::int64_t row = sqlite3_last_insert_rowid(m_db);
        std::int64_t seq = 0;
        for (const auto& affected : advisory.affected) {
            m_affected.bind(1, row).bind(2, affected.ecosystem).bind(3, affected.package);
            m_affected.bind(4, static_cast<std::int64_t>(affected.state)).bind(5, affected.fixed);
            m_affected.bind(6, encode_ranges(affected.ranges)).bind(7, join(affected.versions));
            m_affected.bind(8, affected.urgency).bind(9, affected.note).bind(10, seq++);
            m_affected.run();
        }
    }

private:
    sql::Statement m_advisory;
    sql::Statement m_affected;
    sqlite3* m_db;
};

std::string file_sha256(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return {};
    return util::sha256_file_hex(path);  // streamed: feeds are large
}

// Reads one feed into the open transaction; returns its record.
FeedRecord import_one(sqlite3* db, const fs::path& db_path, const FeedInput& input, std::int64_t now) {
    FeedRecord record;
    record.kind = input.kind ? *input.kind : detect_feed(input.path);
    record.location = input.location.empty() ? fs::absolute(input.path).lexically_normal().string() : input.location;
    record.imported = now;
    record.etag = input.etag;
    record.last_modified = input.last_modified;
    record.sha256 = file_sha256(input.path);

    // Replace what an earlier import of the same location stored.
    sql::Statement find(db, db_path, "SELECT id FROM feed WHERE location = ?");
    find.bind(1, record.location);
    if (find.step()) {
        std::int64_t old = find.integer(0);
        for (const char* sql : {"DELETE FROM affected WHERE advisory IN (SELECT id FROM advisory WHERE feed = ?)",
                                "DELETE FROM advisory WHERE feed = ?", "DELETE FROM vex WHERE feed = ?",
                                "DELETE FROM feed WHERE id = ?"}) {
            sql::Statement remove(db, db_path, sql);
            remove.bind(1, old).run();
        }
    }
    sql::Statement insert(db, db_path, "INSERT INTO feed(location, kind, imported) VALUES(?,?,?)");
    insert.bind(1, record.location).bind(2, to_string(record.kind)).bind(3, now).run();
    std::int64_t feed = sqlite3_last_insert_rowid(db);

    Writer writer(db, db_path);
    auto sink = [&](Advisory&& advisory) { writer.add(feed, advisory); };
    switch (record.kind) {
    case FeedKind::DebianTracker: read_tracker(input.path, sink, record.stats); break;
    case FeedKind::Osv: read_osv(input.path, sink, record.stats); break;
    case FeedKind::OpenVex: {
        std::string text = util::read_file(input.path);
        try {
            auto document = nlohmann::json::parse(text);
            if (!document.is_object() || !document.contains("statements"))
                throw Error(ErrorCode::Parse, "it has no \"statements\"");
        } catch (const nlohmann::json::exception& e) {
            throw Error(ErrorCode::Parse, fmt::format("{} is not valid JSON: {}", input.path.string(), e.what()));
        }
        sql::Statement vex(db, db_path, "INSERT INTO vex(feed, document) VALUES(?,?)");
        vex.bind(1, feed).bind(2, text).run();
        record.stats.records = 1;
        break;
    }
    }
    sql::Statement update(db, db_path,
                          "UPDATE feed SET records=?, skipped=?, withdrawn=?, out_of_scope=?, newest=?, etag=?, "
                          "last_modified=?, sha256=? WHERE id=?");
    update.bind(1, static_cast<std::int64_t>(record.stats.records))
        .bind(2, static_cast<std::int64_t>(record.stats.skipped))
        .bind(3, static_cast<std::int64_t>(record.stats.withdrawn))
        .bind(4, static_cast<std::int64_t>(record.stats.out_of_scope))
        .bind(5, record.stats.newest)
        .bind(6, record.etag)
        .bind(7, record.last_modified)
        .bind(8, record.sha256)
        .bind(9, feed)
        .run();
    return record;
}

void check_schema(sqlite3* db, const fs::path& path) {
    int version = 0;
    try {
        sql::Statement meta(db, path, "SELECT value FROM meta WHERE key = 'schema_version'");
        if (meta.step()) version = std::atoi(std::string(meta.text(0)).c_str());
    } catch (const Error&) {
        throw Error(ErrorCode::Parse, fmt::format("{} is not a slate vulnerability database", path.string()),
                    "give the file `slate db import` wrote, or import the feeds again into a new --db");
    }
    if (version != DatabaseSchemaVersion)
        throw Error(ErrorCode::Parse,
                    fmt::format("{} is a vulnerability database of format {}; this slate reads format {}", path.string(),
                                version, DatabaseSchemaVersion),
                    "import the feeds again (slate db import or slate db update) to rebuild it");
}

void copy_database(const fs::path& from, sqlite3* to, const fs::path& to_path) {
    sql::Connection source = sql::open(from, SQLITE_OPEN_READONLY, false);
    check_schema(source.get(), from);
    sqlite3_backup* backup = sqlite3_backup_init(to, "main", source.get(), "main");
    if (!backup) sql::fail(to, to_path, "cannot copy the database into");
    int rc = sqlite3_backup_step(backup, -1);
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) sql::fail(to, to_path, "cannot copy the database into");
}

}  // namespace

void Database::Close::operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }

fs::path default_database_path(const fs::path& cache_dir) { return cache_dir / "vuln" / "vuln.db"; }

std::vector<FeedRecord> import_feeds(const fs::path& path, const std::vector<FeedInput>& inputs, std::int64_t now) {
    if (inputs.empty()) throw Error(ErrorCode::Usage, "no feeds to import", "name at least one feed file, directory or zip");
    std::error_code ec;
    if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
    if (ec) throw Error(ErrorCode::Io, fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));

    util::AtomicFile target(path);
    const fs::path& temp = target.temp_path();
    std::vector<FeedRecord> records;
    {
        sql::Connection db = sql::open(temp, SQLITE_OPEN_READWRITE, false);
        // The temporary copy is private until the rename: no journal needed,
        // and AtomicFile's fsync makes it durable before it becomes visible.
        sql::exec(db.get(), temp, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
        if (fs::exists(path, ec))
            copy_database(path, db.get(), temp);
        else
            sql::exec(db.get(), temp, Schema);
        sql::exec(db.get(), temp, "BEGIN");
        for (const auto& input : inputs) {
            try {
                records.push_back(import_one(db.get(), temp, input, now));
            } catch (Error& e) {
                // The location the user gave (a URL for `db update`), not a downloaded temporary file.
                e.add_context(fmt::format("while importing {} (the database was not changed)",
                                          input.location.empty() ? input.path.string() : input.location));
                throw;
            }
        }
        sql::Statement meta(db.get(), temp, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
        meta.bind(1, "schema_version").bind(2, std::to_string(DatabaseSchemaVersion)).run();
        meta.bind(1, "built").bind(2, std::to_string(now)).run();
        sql::exec(db.get(), temp, "COMMIT");
        sql::exec(db.get(), temp, "ANALYZE");
    }
    target.commit();
    return records;
}

struct Database::Queries {
    sql::Statement statements;
    sql::Statement advisory;
    std::unordered_map<std::int64_t, Advisory> advisories;  // by row, filled on demand
};

Database::Database(const fs::path& path) : m_path(path) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error(ErrorCode::NotFound, fmt::format("no vulnerability database at {}", path.string()),
                    "build one with `slate db import FEED...` or `slate db update --source URL`, or point --db at it");
    sql::Connection db = sql::open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, true);
    check_schema(db.get(), path);
    m_db.reset(db.release());
    m_queries = std::make_unique<Queries>(Queries{
        sql::Statement(m_db.get(), m_path,
                       "SELECT advisory, state, fixed, ranges, versions, urgency, note FROM affected "
                       "WHERE ecosystem = ? AND package = ?"),  // the primary key's order: by advisory
        sql::Statement(m_db.get(), m_path,
                       "SELECT name, kind, aliases, summary, published, modified, cvss_vector, cvss_score "
                       "FROM advisory WHERE id = ?"),
        {}});
}

Database::~Database() = default;
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;

std::vector<Database::Statement> Database::statements_for(std::string_view ecosystem, std::string_view package) const {
    std::vector<Statement> out;
    sql::Statement& query = m_queries->statements;
    query.bind(1, ecosystem).bind(2, package);
    while (query.step()) {
        Statement statement;
        statement.advisory = query.integer(0);
        Affected& affected = statement.affected;
        affected.ecosystem = ecosystem;
        affected.package = package;
        affected.state = static_cast<FixState>(query.integer(1));
        affected.fixed = query.text(2);
        affected.ranges = decode_ranges(query.text(3));
        affected.versions = words(query.text(4));
        affected.urgency = query.text(5);
        affected.note = query.text(6);
        out.push_back(std::move(statement));
    }
    query.reset();
    return out;
}

const Advisory& Database::advisory(std::int64_t row) const {
    auto& cache = m_queries->advisories;
    if (auto it = cache.find(row); it != cache.end()) return it->second;
    sql::Statement& query = m_queries->advisory;
    query.bind(1, row);
    Advisory advisory;
    if (query.step()) {
        advisory.id = query.text(0);
        advisory.feed = query.text(1);
        advisory.aliases = words(query.text(2));
        advisory.summary = query.text(3);
        advisory.published = query.text(4);
        advisory.modified = query.text(5);
        advisory.cvss_vector = query.text(6);
        if (!query.is_null(7)) advisory.cvss_score = query.real(7);
    }
    query.reset();
    return cache.emplace(row, std::move(advisory)).first->second;
}

std::vector<Advisory> Database::advisories_for(std::string_view ecosystem, std::string_view package) const {
    std::vector<Advisory> out;
    std::int64_t last = -1;
    for (auto& statement : statements_for(ecosystem, package)) {
        if (statement.advisory != last) {
            out.push_back(advisory(statement.advisory));
            last = statement.advisory;
        }
        out.back().affected.push_back(std::move(statement.affected));
    }
    return out;
}

std::vector<std::string> Database::vex_documents() const {
    std::vector<std::string> out;
    sql::Statement query(m_db.get(), m_path, "SELECT document FROM vex ORDER BY feed, rowid");
    while (query.step()) out.emplace_back(query.text(0));
    return out;
}

std::int64_t Database::built() const {
    sql::Statement query(m_db.get(), m_path, "SELECT value FROM meta WHERE key = 'built'");
    return query.step() ? std::atoll(std::string(query.text(0)).c_str()) : 0;
}

std::vector<FeedRecord> Database::feeds() const {
    std::vector<FeedRecord> out;
    sql::Statement query(m_db.get(), m_path,
                         "SELECT location, kind, imported, records, skipped, withdrawn, out_of_scope, newest, etag, "
                         "last_modified, sha256 FROM feed ORDER BY location");
    while (query.step()) {
        FeedRecord record;
        record.location = query.text(0);
        record.kind = feed_kind(query.text(1));
        record.imported = query.integer(2);
        record.stats.records = static_cast<std::size_t>(query.integer(3));
        record.stats.skipped = static_cast<std::size_t>(query.integer(4));
        record.stats.withdrawn = static_cast<std::size_t>(query.integer(5));
        record.stats.out_of_scope = static_cast<std::size_t>(query.integer(6));
        record.stats.newest = query.text(7);
        record.etag = query.text(8);
        record.last_modified = query.text(9);
        record.sha256 = query.text(10);
        out.push_back(std::move(record));
    }
    return out;
}

DatabaseStatus Database::status() const {
    DatabaseStatus status;
    status.built = built();
    status.schema_version = DatabaseSchemaVersion;
    status.feeds = feeds();
    auto count = [&](const char* sql) {
        sql::Statement query(m_db.get(), m_path, sql);
        return query.step() ? static_cast<std::size_t>(query.integer(0)) : 0;
    };
    status.counts.advisories = count("SELECT count(*) FROM advisory");
    status.counts.affected = count("SELECT count(*) FROM affected");
    status.counts.vex_documents = count("SELECT count(*) FROM vex");
    return status;
}

}  // namespace slate::vuln
