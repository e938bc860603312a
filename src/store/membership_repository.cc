#include "store/membership_repository.h"

#include <fmt/format.h>

#include <limits>

namespace soma::store {
namespace {

constexpr std::string_view kMembershipColumns =
    "space_id, owner, role, state, capability_id, expires_ms, request_id, joined_ms, updated_ms";

MembershipRecord read_membership(const Statement& stmt) {
  MembershipRecord m;
  m.space_id = stmt.column_text(0);
  m.owner = stmt.column_text(1);
  m.role = stmt.column_text(2);
  m.state = stmt.column_text(3);
  m.capability_id = stmt.column_blob(4);
  m.expires_ms = stmt.column_int64(5);
  m.request_id = stmt.column_text(6);
  m.joined_ms = stmt.column_int64(7);
  m.updated_ms = stmt.column_int64(8);
  return m;
}

constexpr std::string_view kAuditColumns =
    "id, time_ms, space_id, action, actor, subject, request_id, capability_id, role, detail";

}  // namespace

Status MembershipRepository::upsert(const MembershipRecord& m) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "INSERT INTO memberships ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (space_id) DO "
      "UPDATE SET owner = excluded.owner, role = excluded.role, state = excluded.state, "
      "capability_id = excluded.capability_id, expires_ms = excluded.expires_ms, request_id = "
      "excluded.request_id, updated_ms = excluded.updated_ms",
      kMembershipColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, m.space_id)
      .bind(2, m.owner)
      .bind(3, m.role)
      .bind(4, m.state)
      .bind(5, core::ByteView(m.capability_id))
      .bind(6, m.expires_ms)
      .bind(7, m.request_id)
      .bind(8, m.joined_ms)
      .bind(9, m.updated_ms);
  return stmt->run();
}

Result<std::optional<MembershipRecord>> MembershipRepository::find(const std::string& space_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      fmt::format("SELECT {} FROM memberships WHERE space_id = ?", kMembershipColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<MembershipRecord>();
  return std::optional<MembershipRecord>(read_membership(*stmt));
}

Result<std::vector<MembershipRecord>> MembershipRepository::list() {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare(fmt::format("SELECT {} FROM memberships ORDER BY space_id", kMembershipColumns));
  if (!stmt) return stmt.take_error();
  std::vector<MembershipRecord> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(read_membership(*stmt));
  }
  return out;
}

Result<std::uint64_t> AuditRepository::append(const AuditEntry& e) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO membership_audit (time_ms, space_id, action, actor, subject, request_id, "
      "capability_id, role, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, e.time_ms)
      .bind(2, e.space_id)
      .bind(3, e.action)
      .bind(4, e.actor)
      .bind(5, e.subject)
      .bind(6, e.request_id)
      .bind(7, e.capability_id)
      .bind(8, e.role)
      .bind(9, e.detail);
  SOMA_TRY(stmt->run());
  return static_cast<std::uint64_t>(db_.last_insert_rowid());
}

Result<std::vector<AuditEntry>> AuditRepository::list(const std::string& space_id,
                                                      std::uint64_t after_id, std::size_t limit) {
  constexpr auto kMaxId = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (after_id >= kMaxId || limit == 0) return std::vector<AuditEntry>{};
  constexpr auto kMaxLimit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  if (limit > kMaxLimit) limit = kMaxLimit;
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      fmt::format("SELECT {} FROM membership_audit WHERE (?1 = '' OR space_id = ?1) AND id > ?2 "
                  "ORDER BY id LIMIT ?3",
                  kAuditColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id)
      .bind(2, static_cast<std::int64_t>(after_id))
      .bind(3, static_cast<std::int64_t>(limit));
  std::vector<AuditEntry> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    AuditEntry e;
    e.id = static_cast<std::uint64_t>(stmt->column_int64(0));
    e.time_ms = stmt->column_int64(1);
    e.space_id = stmt->column_text(2);
    e.action = stmt->column_text(3);
    e.actor = stmt->column_text(4);
    e.subject = stmt->column_text(5);
    e.request_id = stmt->column_text(6);
    e.capability_id = stmt->column_text(7);
    e.role = stmt->column_text(8);
    e.detail = stmt->column_text(9);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace soma::store
