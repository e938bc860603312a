#include "store/request_outbox_repository.h"

#include <fmt/format.h>

#include <limits>

namespace soma::store {
namespace {

constexpr std::string_view kColumns =
    "request_id, target, attempts, next_attempt_ms, give_up_ms, last_error, created_ms";

RequestOutboxItem read_item(const Statement& stmt) {
  RequestOutboxItem item;
  item.request_id = stmt.column_text(0);
  item.target = stmt.column_text(1);
  item.attempts = stmt.column_int64(2);
  item.next_attempt_ms = stmt.column_int64(3);
  item.give_up_ms = stmt.column_int64(4);
  item.last_error = stmt.column_text(5);
  item.created_ms = stmt.column_int64(6);
  return item;
}

std::int64_t clamp_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit > kMax ? kMax : limit);
}

}  // namespace

Status RequestOutboxRepository::put(const RequestOutboxItem& item) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "INSERT INTO request_outbox ({}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO "
      "UPDATE SET target = excluded.target, attempts = excluded.attempts, next_attempt_ms = "
      "excluded.next_attempt_ms, give_up_ms = excluded.give_up_ms, last_error = "
      "excluded.last_error",
      kColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, item.request_id)
      .bind(2, item.target)
      .bind(3, item.attempts)
      .bind(4, item.next_attempt_ms)
      .bind(5, item.give_up_ms)
      .bind(6, item.last_error)
      .bind(7, item.created_ms);
  return stmt->run();
}

Result<std::vector<RequestOutboxItem>> RequestOutboxRepository::due(std::int64_t now_ms,
                                                                    std::size_t limit) {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare(fmt::format("SELECT {} FROM request_outbox WHERE next_attempt_ms <= ? "
                              "ORDER BY next_attempt_ms, request_id LIMIT ?",
                              kColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, now_ms).bind(2, clamp_limit(limit));
  std::vector<RequestOutboxItem> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(read_item(*stmt));
  }
  return out;
}

Result<std::optional<std::int64_t>> RequestOutboxRepository::next_due() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT min(next_attempt_ms) FROM request_outbox");
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row || stmt->column_is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt->column_int64(0));
}

Result<std::optional<RequestOutboxItem>> RequestOutboxRepository::find(
    const std::string& request_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare(fmt::format("SELECT {} FROM request_outbox WHERE request_id = ?", kColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, request_id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<RequestOutboxItem>();
  return std::optional<RequestOutboxItem>(read_item(*stmt));
}

Result<bool> RequestOutboxRepository::remove(const std::string& request_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM request_outbox WHERE request_id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, request_id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<std::uint64_t> RequestOutboxRepository::size() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM request_outbox");
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt->column_int64(0));
}

}  // namespace soma::store
