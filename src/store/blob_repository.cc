#include "store/blob_repository.h"

#include <mutex>

namespace soma::store {
namespace {

Result<std::vector<std::string>> read_texts(Statement& stmt) {
  std::vector<std::string> out;
  while (true) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(stmt.column_text(0));
  }
  return out;
}

// Runs a query whose single row holds one integer.
Result<std::int64_t> read_int(Statement& stmt) {
  auto row = stmt.step();
  if (!row) return row.take_error();
  if (!*row) return Error::internal("aggregate query returned no row");
  return stmt.column_int64(0);
}

}  // namespace

Result<bool> BlobRepository::space_exists(const std::string& space_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT 1 FROM spaces WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  return stmt->step();
}

Result<bool> BlobRepository::insert(const BlobRecord& blob) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT OR IGNORE INTO blobs (cid, size, leaves, created_ms) VALUES (?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, blob.cid)
      .bind(2, static_cast<std::int64_t>(blob.size))
      .bind(3, core::ByteView(blob.leaves))
      .bind(4, blob.created_ms);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<bool> BlobRepository::link_space(const std::string& space_id, const std::string& cid,
                                        std::int64_t added_ms) {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare("INSERT OR IGNORE INTO space_blobs (space_id, cid, added_ms) VALUES (?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id).bind(2, cid).bind(3, added_ms);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<std::optional<BlobRecord>> BlobRepository::find(const std::string& cid) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT cid, size, leaves, created_ms FROM blobs WHERE cid = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, cid);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<BlobRecord>();
  BlobRecord b;
  b.cid = stmt->column_text(0);
  b.size = static_cast<std::uint64_t>(stmt->column_int64(1));
  b.leaves = stmt->column_blob(2);
  b.leaf_count = b.leaves.size() / 32;
  b.created_ms = stmt->column_int64(3);
  return std::optional<BlobRecord>(std::move(b));
}

Result<bool> BlobRepository::exists(const std::string& cid) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT 1 FROM blobs WHERE cid = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, cid);
  return stmt->step();
}

Result<std::vector<std::string>> BlobRepository::spaces_of(const std::string& cid) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT space_id FROM space_blobs WHERE cid = ? ORDER BY space_id");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, cid);
  return read_texts(*stmt);
}

Result<std::vector<BlobRecord>> BlobRepository::list(const std::optional<std::string>& space_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = space_id ? db_.prepare(
                             "SELECT b.cid, b.size, length(b.leaves) / 32, b.created_ms "
                             "FROM blobs b JOIN space_blobs sb ON sb.cid = b.cid "
                             "WHERE sb.space_id = ? ORDER BY b.cid")
                       : db_.prepare(
                             "SELECT cid, size, length(leaves) / 32, created_ms "
                             "FROM blobs ORDER BY cid");
  if (!stmt) return stmt.take_error();
  if (space_id) stmt->bind(1, *space_id);
  std::vector<BlobRecord> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    BlobRecord b;
    b.cid = stmt->column_text(0);
    b.size = static_cast<std::uint64_t>(stmt->column_int64(1));
    b.leaf_count = static_cast<std::uint64_t>(stmt->column_int64(2));
    b.created_ms = stmt->column_int64(3);
    out.push_back(std::move(b));
  }
  return out;
}

Result<std::vector<std::string>> BlobRepository::all_cids() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT cid FROM blobs ORDER BY cid");
  if (!stmt) return stmt.take_error();
  return read_texts(*stmt);
}

Result<bool> BlobRepository::space_has(const std::string& space_id, const std::string& cid) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT 1 FROM space_blobs WHERE space_id = ? AND cid = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id).bind(2, cid);
  return stmt->step();
}

Result<std::uint64_t> BlobRepository::space_usage(const std::string& space_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "SELECT COALESCE(SUM(b.size), 0) FROM space_blobs sb JOIN blobs b ON b.cid = sb.cid "
      "WHERE sb.space_id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space_id);
  auto v = read_int(*stmt);
  if (!v) return v.take_error();
  return static_cast<std::uint64_t>(*v);
}

Result<std::uint64_t> BlobRepository::count() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM blobs");
  if (!stmt) return stmt.take_error();
  auto v = read_int(*stmt);
  if (!v) return v.take_error();
  return static_cast<std::uint64_t>(*v);
}

Result<std::uint64_t> BlobRepository::total_bytes() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT COALESCE(SUM(size), 0) FROM blobs");
  if (!stmt) return stmt.take_error();
  auto v = read_int(*stmt);
  if (!v) return v.take_error();
  return static_cast<std::uint64_t>(*v);
}

}  // namespace soma::store
