#include "store/document_repository.h"

namespace soma::store {

Status DocumentRepository::insert(const DocumentRecord& document) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO documents (page_id, format, text, structure, revision, updated_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, document.page_id)
      .bind(2, document.format)
      .bind(3, document.text)
      .bind(4, document.structure)
      .bind(5, static_cast<std::int64_t>(document.revision))
      .bind(6, document.updated_ms);
  SOMA_TRY(stmt->run());
  return write_blob_links(document);
}

Result<std::optional<DocumentRecord>> DocumentRepository::find(const std::string& page_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "SELECT page_id, format, text, structure, revision, updated_ms FROM documents "
      "WHERE page_id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, page_id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<DocumentRecord>();

  DocumentRecord d;
  d.page_id = stmt->column_text(0);
  d.format = stmt->column_text(1);
  d.text = stmt->column_text(2);
  d.structure = stmt->column_text(3);
  d.revision = static_cast<std::uint64_t>(stmt->column_int64(4));
  d.updated_ms = stmt->column_int64(5);

  auto links = db_.prepare("SELECT cid FROM document_blobs WHERE page_id = ? ORDER BY ordinal");
  if (!links) return links.take_error();
  links->bind(1, page_id);
  while (true) {
    auto link = links->step();
    if (!link) return link.take_error();
    if (!*link) break;
    d.blob_cids.push_back(links->column_text(0));
  }
  return std::optional<DocumentRecord>(std::move(d));
}

Status DocumentRepository::update(const DocumentRecord& document) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "UPDATE documents SET format = ?, text = ?, structure = ?, revision = ?, updated_ms = ? "
      "WHERE page_id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, document.format)
      .bind(2, document.text)
      .bind(3, document.structure)
      .bind(4, static_cast<std::int64_t>(document.revision))
      .bind(5, document.updated_ms)
      .bind(6, document.page_id);
  SOMA_TRY(stmt->run());

  auto clear = db_.prepare("DELETE FROM document_blobs WHERE page_id = ?");
  if (!clear) return clear.take_error();
  clear->bind(1, document.page_id);
  SOMA_TRY(clear->run());
  return write_blob_links(document);
}

Status DocumentRepository::write_blob_links(const DocumentRecord& document) {
  if (document.blob_cids.empty()) return {};
  std::lock_guard lock(db_.mutex());
  std::int64_t ordinal = 0;
  for (const std::string& cid : document.blob_cids) {
    auto stmt = db_.prepare("INSERT INTO document_blobs (page_id, cid, ordinal) VALUES (?, ?, ?)");
    if (!stmt) return stmt.take_error();
    stmt->bind(1, document.page_id).bind(2, cid).bind(3, ordinal++);
    SOMA_TRY(stmt->run());
  }
  return {};
}

}  // namespace soma::store
