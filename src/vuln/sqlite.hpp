#pragma once
// Small RAII wrappers over SQLite's C API for the vulnerability database:
// a connection, a prepared statement with typed binds and columns, and errors
// that become slate::Error naming the database file.

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace slate::vuln::sql {

struct CloseConnection {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
    void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};
using Connection = std::unique_ptr<sqlite3, CloseConnection>;

// Throws slate::Error(Io) "<what> <path>: <sqlite's message>".
[[noreturn]] void fail(sqlite3* db, const std::filesystem::path& path, std::string_view what);

// Opens `path` (SQLITE_OPEN_* flags; `uri` for "file:...?immutable=1").
Connection open(const std::filesystem::path& path, int flags, bool immutable);

// Runs statements that return no rows.
void exec(sqlite3* db, const std::filesystem::path& path, const char* sql);

class Statement {
public:
    Statement(sqlite3* db, const std::filesystem::path& path, std::string_view sql);

    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, double value);
    Statement& bind_null(int index);

    // True while there is a row; false when done. Throws on errors.
    bool step();
    // Steps a statement that returns no rows, then resets it for reuse.
    void run();
    void reset();

    std::string_view text(int column) const;
    std::int64_t integer(int column) const;
    double real(int column) const;
    bool is_null(int column) const;

private:
    sqlite3* m_db;
    const std::filesystem::path* m_path;
    std::unique_ptr<sqlite3_stmt, FinalizeStatement> m_statement;
};

}  // namespace slate::vuln::sql
