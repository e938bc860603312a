#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::store {

using core::Error;
using core::Result;
using core::Status;

// One prepared statement. Bind indexes start at 1, column indexes at 0.
// Not thread-safe: use it while holding the Database's lock.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, core::ByteView value);
  Statement& bind_null(int index);
  Statement& bind_optional(int index, const std::optional<std::string>& value);

  // Advances: true when a row is ready, false when done.
  Result<bool> step();
  // Runs a statement that returns no rows.
  Status run();

  std::int64_t column_int64(int index) const;
  std::string column_text(int index) const;
  std::optional<std::string> column_optional_text(int index) const;
  core::Bytes column_blob(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// A numbered schema step. Applied in order, each inside its own transaction.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The SQLite database of one daemon: WAL journal, foreign keys on, a busy
// timeout, and one connection guarded by a recursive mutex. Repositories
// take the lock for each call; services wrap multi-step writes in
// transaction(), which holds the lock throughout.
class Database {
 public:
  // Opens (creating if needed) and brings the schema up to date. Fails,
  // naming the migration, when one fails or the file is newer than this
  // build knows.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& file,
                                                const std::vector<Migration>& migrations);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  std::int64_t last_insert_rowid();
  int changes();
  int schema_version();

  std::recursive_mutex& mutex() { return mutex_; }

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT; rolls back when fn returns an
  // error. fn returns Status.
  template <typename Fn>
  Status transaction(Fn&& fn) {
    std::lock_guard lock(mutex_);
    SOMA_TRY(exec("BEGIN IMMEDIATE"));
    Status s = fn();
    if (!s.ok()) {
      (void)exec("ROLLBACK");
      return s;
    }
    Status c = exec("COMMIT");
    if (!c.ok()) (void)exec("ROLLBACK");
    return c;
  }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  Status migrate(const std::vector<Migration>& migrations);

  sqlite3* db_;
  std::recursive_mutex mutex_;
};

// Error from the connection's last failure, prefixed by what was being done.
Error sqlite_error(sqlite3* db, std::string_view doing);

}  // namespace soma::store
