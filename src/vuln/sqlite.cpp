#include "vuln/sqlite.hpp"

#include <fmt/format.h>

#include "slate/error.hpp"

namespace slate::vuln::sql {

void fail(sqlite3* db, const std::filesystem::path& path, std::string_view what) {
    throw Error(ErrorCode::Io,
                fmt::format("{} {}: {}", what, path.string(), db ? sqlite3_errmsg(db) : "out of memory"));
}

Connection open(const std::filesystem::path& path, int flags, bool immutable) {
    sqlite3* raw = nullptr;
    std::string name = path.string();
    if (immutable) {
        // A URI so SQLite takes no locks and trusts the file never changes:
        // true here, since imports replace the file by rename.
        std::string escaped;
        for (char c : name) {
            if (c == '%' || c == '?' || c == '#') escaped += fmt::format("%{:02X}", static_cast<unsigned char>(c));
            else escaped += c;
        }
        name = "file:" + escaped + "?immutable=1";
        flags |= SQLITE_OPEN_URI;
    }
    int rc = sqlite3_open_v2(name.c_str(), &raw, flags, nullptr);
    Connection db(raw);
    if (rc != SQLITE_OK) fail(raw, path, "cannot open the vulnerability database");
    return db;
}

void exec(sqlite3* db, const std::filesystem::path& path, const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, "cannot write");
}

Statement::Statement(sqlite3* db, const std::filesystem::path& path, std::string_view sql) : m_db(db), m_path(&path) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK)
        fail(db, path, "cannot read the vulnerability database (is it a slate database?)");
    m_statement.reset(raw);
}

Statement& Statement::bind(int index, std::string_view text) {
    sqlite3_bind_text(m_statement.get(), index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}
Statement& Statement::bind(int index, std::int64_t value) {
    sqlite3_bind_int64(m_statement.get(), index, value);
    return *this;
}
Statement& Statement::bind(int index, double value) {
    sqlite3_bind_double(m_statement.get(), index, value);
    return *this;
}
Statement& Statement::bind_null(int index) {
    sqlite3_bind_null(m_statement.get(), index);
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(m_statement.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(m_db, *m_path, "cannot use the vulnerability database");
}

void Statement::run() {
    step();
    reset();
}

void Statement::reset() {
    sqlite3_reset(m_statement.get());
    sqlite3_clear_bindings(m_statement.get());
}

std::string_view Statement::text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_statement.get(), column));
    if (!data) return {};
    return {data, static_cast<std::size_t>(sqlite3_column_bytes(m_statement.get(), column))};
}
std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(m_statement.get(), column); }
double Statement::real(int column) const { return sqlite3_column_double(m_statement.get(), column); }
bool Statement::is_null(int column) const { return sqlite3_column_type(m_statement.get(), column) == SQLITE_NULL; }

}  // namespace slate::vuln::sql
