#include "store/delegation_repository.h"

#include <fmt/format.h>

#include <limits>

namespace soma::store {
namespace {

constexpr std::string_view kDelegationColumns =
    "space_id, id, delegate, roles, issued_ms, expires_ms, max_member_expires_ms, rate_per_hour, "
    "envelope, recorded_ms";

DelegationRecord read_delegation(const Statement& stmt) {
  DelegationRecord d;
  d.space_id = stmt.column_text(0);
  d.id = stmt.column_blob(1);
  d.delegate = stmt.column_text(2);
  d.roles = stmt.column_text(3);
  d.issued_ms = stmt.column_int64(4);
  d.expires_ms = stmt.column_int64(5);
  d.max_member_expires_ms = stmt.column_int64(6);
  d.rate_per_hour = stmt.column_int64(7);
  d.envelope = stmt.column_blob(8);
  d.recorded_ms = stmt.column_int64(9);
  return d;
}

constexpr std::string_view kPushColumns =
    "id, peer, kind, space_id, space_name, artifact, attempts, next_attempt_ms, give_up_ms, "
    "last_error, created_ms";

PushItem read_push(const Statement& stmt) {
  PushItem p;
  p.id = stmt.column_int64(0);
  p.peer = stmt.column_text(1);
  p.kind = stmt.column_int64(2);
  p.space_id = stmt.column_text(3);
  p.space_name = stmt.column_text(4);
  p.artifact = stmt.column_blob(5);
  p.attempts = stmt.column_int64(6);
  p.next_attempt_ms = stmt.column_int64(7);
  p.give_up_ms = stmt.column_int64(8);
  p.last_error = stmt.column_text(9);
  p.created_ms = stmt.column_int64(10);
  return p;
}

std::int64_t clamp_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit > kMax ? kMax : limit);
}

template <typename T, typename Read>
Result<std::vector<T>> collect(Statement& stmt, Read read) {
  std::vector<T> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(read(stmt));
  }
  return out;
}

}  // namespace

Status DelegationRepository::insert(const DelegationRecord& d) {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare(fmt::format("INSERT INTO delegations ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT (space_id, id) DO NOTHING",
                              kDelegationColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, d.space_id)
      .bind(2, core::ByteView(d.id))
      .bind(3, d.delegate)
      .bind(4, d.roles)
      .bind(5, d.issued_ms)
      .bind(6, d.expires_ms)
      .bind(7, d.max_member_expires_ms)
      .bind(8, d.rate_per_hour)
      .bind(9, core::ByteView(d.envelope))
      .bind(10, d.recorded_ms);
  return stmt->run();
}

Result<std::vector<DelegationRecord>> DelegationRepository::held_by(const std::string& space_id,
                                                                    const std::string& delegate) {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare(fmt::format("SELECT {} FROM delegations WHERE space_id = ? AND delegate = ? "
                              "ORDER BY expires_ms DESC, id",
                              kDelegationColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id).bind(2, delegate);
  return collect<DelegationRecord>(*stmt, read_delegation);
}

Result<std::vector<DelegationRecord>> DelegationRepository::list(const std::string& space_id,
                                                                 std::size_t limit) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      fmt::format("SELECT {} FROM delegations WHERE space_id = ? ORDER BY issued_ms, id LIMIT ?",
                  kDelegationColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id).bind(2, clamp_limit(limit));
  return collect<DelegationRecord>(*stmt, read_delegation);
}

Result<std::int64_t> PushOutboxRepository::enqueue(const PushItem& p) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO push_outbox (peer, kind, space_id, space_name, artifact, attempts, "
      "next_attempt_ms, give_up_ms, last_error, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, p.peer)
      .bind(2, p.kind)
      .bind(3, p.space_id)
      .bind(4, p.space_name)
      .bind(5, core::ByteView(p.artifact))
      .bind(6, p.attempts)
      .bind(7, p.next_attempt_ms)
      .bind(8, p.give_up_ms)
      .bind(9, p.last_error)
      .bind(10, p.created_ms);
  SOMA_TRY(stmt->run());
  return db_.last_insert_rowid();
}

Result<std::vector<PushItem>> PushOutboxRepository::due(std::int64_t now_ms, std::size_t limit) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "SELECT {} FROM push_outbox WHERE next_attempt_ms <= ? ORDER BY next_attempt_ms, id LIMIT ?",
      kPushColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, now_ms).bind(2, clamp_limit(limit));
  return collect<PushItem>(*stmt, read_push);
}

Result<std::optional<std::int64_t>> PushOutboxRepository::next_due() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT min(next_attempt_ms) FROM push_outbox");
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row || stmt->column_is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt->column_int64(0));
}

Result<std::optional<PushItem>> PushOutboxRepository::find(std::int64_t id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format("SELECT {} FROM push_outbox WHERE id = ?", kPushColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<PushItem>();
  return std::optional<PushItem>(read_push(*stmt));
}

Result<bool> PushOutboxRepository::reschedule(std::int64_t id, std::int64_t attempts,
                                              std::int64_t next_attempt_ms,
                                              const std::string& error) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "UPDATE push_outbox SET attempts = ?, next_attempt_ms = ?, last_error = ? WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, attempts).bind(2, next_attempt_ms).bind(3, error).bind(4, id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<bool> PushOutboxRepository::remove(std::int64_t id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM push_outbox WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<std::uint64_t> PushOutboxRepository::waiting_for(const std::string& peer,
                                                        const std::string& space_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM push_outbox WHERE peer = ? AND space_id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, peer).bind(2, space_id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt->column_int64(0));
}

}  // namespace soma::store
