#include "store/space_repository.h"

namespace soma::store {
namespace {

constexpr std::string_view kColumns =
    "s.id, s.name, s.owner, s.role, s.created_ms, s.updated_ms, "
    "(SELECT count(*) FROM pages p WHERE p.space_id = s.id), "
    "(SELECT m.state FROM memberships m WHERE m.space_id = s.id), "
    "(SELECT m.expires_ms FROM memberships m WHERE m.space_id = s.id)";

SpaceRecord read_space(const Statement& stmt) {
  SpaceRecord s;
  s.id = stmt.column_text(0);
  s.name = stmt.column_text(1);
  s.owner = stmt.column_text(2);
  s.role = stmt.column_text(3);
  s.created_ms = stmt.column_int64(4);
  s.updated_ms = stmt.column_int64(5);
  s.page_count = static_cast<std::uint64_t>(stmt.column_int64(6));
  s.membership_state = stmt.column_text(7);
  s.membership_expires_ms = stmt.column_int64(8);
  return s;
}

Result<std::vector<SpaceRecord>> read_all(Statement& stmt) {
  std::vector<SpaceRecord> out;
  while (true) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(read_space(stmt));
  }
  return out;
}

}  // namespace

Status SpaceRepository::insert(const SpaceRecord& space) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO spaces (id, name, owner, role, created_ms, updated_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space.id)
      .bind(2, space.name)
      .bind(3, space.owner)
      .bind(4, space.role)
      .bind(5, space.created_ms)
      .bind(6, space.updated_ms);
  return stmt->run();
}

Result<std::optional<SpaceRecord>> SpaceRepository::find(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare(std::string("SELECT ") + std::string(kColumns) + " FROM spaces s WHERE s.id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<SpaceRecord>();
  return std::optional<SpaceRecord>(read_space(*stmt));
}

Result<std::vector<SpaceRecord>> SpaceRepository::find_by_name(const std::string& name) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string("SELECT ") + std::string(kColumns) +
                          " FROM spaces s WHERE s.name = ? ORDER BY s.id");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, name);
  return read_all(*stmt);
}

Result<std::vector<SpaceRecord>> SpaceRepository::list() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string("SELECT ") + std::string(kColumns) +
                          " FROM spaces s ORDER BY s.name, s.id");
  if (!stmt) return stmt.take_error();
  return read_all(*stmt);
}

Result<bool> SpaceRepository::rename(const std::string& id, const std::string& name,
                                     std::int64_t updated_ms) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("UPDATE spaces SET name = ?, updated_ms = ? WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, name).bind(2, updated_ms).bind(3, id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<bool> SpaceRepository::set_role(const std::string& id, const std::string& role,
                                       std::int64_t updated_ms) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("UPDATE spaces SET role = ?, updated_ms = ? WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, role).bind(2, updated_ms).bind(3, id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<bool> SpaceRepository::remove(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM spaces WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<std::uint64_t> SpaceRepository::count() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM spaces");
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt->column_int64(0));
}

Result<std::uint64_t> SpaceRepository::count_with_role(const std::string& role) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM spaces WHERE role = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, role);
  auto row = stmt->step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt->column_int64(0));
}

}  // namespace soma::store
