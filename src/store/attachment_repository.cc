#include "store/attachment_repository.h"

namespace soma::store {
namespace {

constexpr std::string_view kSelect =
    "SELECT id, space_id, page_id, name, cid, size, media_type, created_ms FROM attachments ";
constexpr std::string_view kOrder = " ORDER BY name, id";

AttachmentRecord read_attachment(const Statement& stmt) {
  AttachmentRecord a;
  a.id = stmt.column_text(0);
  a.space_id = stmt.column_text(1);
  a.page_id = stmt.column_optional_text(2).value_or("");
  a.name = stmt.column_text(3);
  a.cid = stmt.column_text(4);
  a.size = static_cast<std::uint64_t>(stmt.column_int64(5));
  a.media_type = stmt.column_text(6);
  a.created_ms = stmt.column_int64(7);
  return a;
}

Result<std::vector<AttachmentRecord>> read_all(Statement& stmt) {
  std::vector<AttachmentRecord> out;
  while (true) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(read_attachment(stmt));
  }
  return out;
}

}  // namespace

Status AttachmentRepository::insert(const AttachmentRecord& attachment) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO attachments (id, space_id, page_id, name, cid, size, media_type, created_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, attachment.id).bind(2, attachment.space_id);
  if (attachment.page_id.empty()) {
    stmt->bind_null(3);
  } else {
    stmt->bind(3, attachment.page_id);
  }
  stmt->bind(4, attachment.name)
      .bind(5, attachment.cid)
      .bind(6, static_cast<std::int64_t>(attachment.size))
      .bind(7, attachment.media_type)
      .bind(8, attachment.created_ms);
  return stmt->run();
}

Result<std::optional<AttachmentRecord>> AttachmentRepository::find(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string(kSelect) + "WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<AttachmentRecord>();
  return std::optional<AttachmentRecord>(read_attachment(*stmt));
}

Result<std::vector<AttachmentRecord>> AttachmentRepository::list_page(const std::string& space_id,
                                                                      const std::string& page_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string(kSelect) + "WHERE space_id = ? AND page_id IS ?" +
                          std::string(kOrder));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  if (page_id.empty()) {
    stmt->bind_null(2);
  } else {
    stmt->bind(2, page_id);
  }
  return read_all(*stmt);
}

Result<std::vector<AttachmentRecord>> AttachmentRepository::list_space(
    const std::string& space_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(std::string(kSelect) + "WHERE space_id = ?" + std::string(kOrder));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  return read_all(*stmt);
}

Result<bool> AttachmentRepository::remove(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM attachments WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

}  // namespace soma::store
