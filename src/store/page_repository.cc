#include "store/page_repository.h"

namespace soma::store {
namespace {

constexpr std::string_view kSelect =
    "SELECT id, space_id, parent_id, title, kind, position, created_ms, updated_ms FROM pages ";
constexpr std::string_view kOrder = " ORDER BY position, title, id";

PageRecord read_page(const Statement& stmt) {
  PageRecord p;
  p.id = stmt.column_text(0);
  p.space_id = stmt.column_text(1);
  p.parent_id = stmt.column_optional_text(2).value_or("");
  p.title = stmt.column_text(3);
  p.kind = stmt.column_text(4);
  p.position = stmt.column_int64(5);
  p.created_ms = stmt.column_int64(6);
  p.updated_ms = stmt.column_int64(7);
  return p;
}

Result<std::vector<PageRecord>> read_all(Statement& stmt) {
  std::vector<PageRecord> out;
  while (true) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(read_page(stmt));
  }
  return out;
}

// Binds a parent id, turning "" (the top level) into NULL.
void bind_parent(Statement& stmt, int index, const std::string& parent_id) {
  if (parent_id.empty()) {
    stmt.bind_null(index);
  } else {
    stmt.bind(index, parent_id);
  }
}

Result<std::uint64_t> single_count(Statement& stmt) {
  auto row = stmt.step();
  if (!row) return row.take_error();
  if (!*row) return 0;
  return static_cast<std::uint64_t>(stmt.column_int64(0));
}

}  // namespace

Status PageRepository::insert(const PageRecord& page) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO pages (id, space_id, parent_id, title, kind, position, created_ms, "
      "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, page.id).bind(2, page.space_id);
  bind_parent(*stmt, 3, page.parent_id);
  stmt->bind(4, page.title)
      .bind(5, page.kind)
      .bind(6, page.position)
      .bind(7, page.created_ms)
      .bind(8, page.updated_ms);
  return stmt->run();
}

Result<std::optional<PageRecord>> PageRepository::find(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string(kSelect) + "WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<PageRecord>();
  return std::optional<PageRecord>(read_page(*stmt));
}

Result<std::vector<PageRecord>> PageRepository::children(const std::string& space_id,
                                                         const std::string& parent_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string(kSelect) + "WHERE space_id = ? AND parent_id IS ?" +
                          std::string(kOrder));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  bind_parent(*stmt, 2, parent_id);
  return read_all(*stmt);
}

Result<std::vector<PageRecord>> PageRepository::all_in_space(const std::string& space_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string(kSelect) + "WHERE space_id = ?" + std::string(kOrder));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  return read_all(*stmt);
}

Result<std::optional<std::int64_t>> PageRepository::max_position(const std::string& space_id,
                                                                 const std::string& parent_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT max(position) FROM pages WHERE space_id = ? AND parent_id IS ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  bind_parent(*stmt, 2, parent_id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row || stmt->column_is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt->column_int64(0));
}

Status PageRepository::update(const PageRecord& page) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "UPDATE pages SET title = ?, parent_id = ?, position = ?, updated_ms = ? WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, page.title);
  bind_parent(*stmt, 2, page.parent_id);
  stmt->bind(3, page.position).bind(4, page.updated_ms).bind(5, page.id);
  return stmt->run();
}

Status PageRepository::remove(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM pages WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  return stmt->run();
}

// The recursive queries use UNION, not UNION ALL, so that even a corrupted
// table with a parent cycle ends instead of looping.
Result<std::uint64_t> PageRepository::subtree_size(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "WITH RECURSIVE sub(id) AS (SELECT id FROM pages WHERE id = ? "
      "UNION SELECT p.id FROM pages p JOIN sub ON p.parent_id = sub.id) "
      "SELECT count(*) FROM sub");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  return single_count(*stmt);
}

Result<std::uint64_t> PageRepository::subtree_height(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "WITH RECURSIVE sub(id, level) AS (SELECT id, 1 FROM pages WHERE id = ? "
      "UNION SELECT p.id, sub.level + 1 FROM pages p JOIN sub ON p.parent_id = sub.id "
      "WHERE sub.level < 100000) "
      "SELECT coalesce(max(level), 0) FROM sub");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  return single_count(*stmt);
}

Result<std::uint64_t> PageRepository::depth(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM pages WHERE id = ? "
      "UNION SELECT p.id, p.parent_id FROM pages p JOIN up ON p.id = up.parent_id) "
      "SELECT count(*) FROM up");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  return single_count(*stmt);
}

Result<bool> PageRepository::is_ancestor_or_self(const std::string& ancestor,
                                                 const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM pages WHERE id = ? "
      "UNION SELECT p.id, p.parent_id FROM pages p JOIN up ON p.id = up.parent_id) "
      "SELECT 1 FROM up WHERE id = ? LIMIT 1");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id).bind(2, ancestor);
  auto row = stmt->step();
  if (!row) return row.take_error();
  return *row;
}

Result<std::uint64_t> PageRepository::count() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM pages");
  if (!stmt) return stmt.take_error();
  return single_count(*stmt);
}

}  // namespace soma::store
