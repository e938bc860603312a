#include "store/database.h"

#include <fmt/format.h>

namespace soma::store {

Error sqlite_error(sqlite3* db, std::string_view doing) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = fmt::format("{}: {}", doing, sqlite3_errmsg(db));
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT: return Error::exists(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Error::precondition(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Error::data_loss(msg);
    case SQLITE_FULL: return Error::exhausted(msg);
    default: return Error::internal(msg);
  }
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Statement& Statement::bind(int index, core::ByteView value) {
  sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::bind_optional(int index, const std::optional<std::string>& value) {
  return value ? bind(index, std::string_view(*value)) : bind_null(index);
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, "database statement failed");
}

Status Statement::run() {
  auto r = step();
  if (!r) return r.take_error();
  return {};
}

std::int64_t Statement::column_int64(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  int n = sqlite3_column_bytes(stmt_, index);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), n);
}

std::optional<std::string> Statement::column_optional_text(int index) const {
  if (column_is_null(index)) return std::nullopt;
  return column_text(index);
}

core::Bytes Statement::column_blob(int index) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, index));
  int n = sqlite3_column_bytes(stmt_, index);
  return data == nullptr ? core::Bytes() : core::Bytes(data, data + n);
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& file,
                                                 const std::vector<Migration>& migrations) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(file.c_str(), &raw, flags, nullptr) != SQLITE_OK) {
    Error e = sqlite_error(raw, fmt::format("cannot open database {}", file.string()));
    sqlite3_close(raw);
    return e;
  }
  std::unique_ptr<Database> db(new Database(raw));
  sqlite3_busy_timeout(raw, 5000);

  // WAL with synchronous=FULL: a commit is on disk when it returns, so an
  // acknowledged write survives a kill or power loss.
  SOMA_TRY(db->exec("PRAGMA journal_mode=WAL"));
  SOMA_TRY(db->exec("PRAGMA synchronous=FULL"));
  SOMA_TRY(db->exec("PRAGMA foreign_keys=ON"));
  SOMA_TRY(db->migrate(migrations));
  return db;
}

Database::~Database() { sqlite3_close(db_); }

Status Database::exec(std::string_view sql) {
  std::lock_guard lock(mutex_);
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Error e = sqlite_error(db_, "database command failed");
    sqlite3_free(err);
    return e;
  }
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return sqlite_error(db_, "cannot prepare database statement");
  }
  return Statement(db_, stmt);
}

std::int64_t Database::last_insert_rowid() { return sqlite3_last_insert_rowid(db_); }

int Database::changes() { return sqlite3_changes(db_); }

int Database::schema_version() {
  std::lock_guard lock(mutex_);
  auto stmt = prepare("PRAGMA user_version");
  if (!stmt) return -1;
  auto row = stmt->step();
  return (row.ok() && *row) ? static_cast<int>(stmt->column_int64(0)) : -1;
}

Status Database::migrate(const std::vector<Migration>& migrations) {
  int current = schema_version();
  if (current < 0) return Error::data_loss("cannot read the database schema version");
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (current > latest) {
    return Error::precondition(fmt::format(
        "database schema version {} is newer than this build knows (latest migration {}); "
        "run a newer soma-daemon or restore a matching backup",
        current, latest));
  }

  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    Status s = transaction([&]() -> Status {
      if (auto r = exec(m.sql); !r) return r;
      return exec(fmt::format("PRAGMA user_version={}", m.version));
    });
    if (!s.ok()) {
      return Error{s.error().code, fmt::format("migration {} ({}) failed and was rolled back: {}",
                                               m.version, m.name, s.error().message)};
    }
  }
  return {};
}

}  // namespace soma::store
