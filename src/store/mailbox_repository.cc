#include "store/mailbox_repository.h"

#include <limits>

namespace soma::store {
namespace {

std::int64_t clamp_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit > kMax ? kMax : limit);
}

Result<std::uint64_t> count(Statement& stmt) {
  auto row = stmt.step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt.column_int64(0));
}

}  // namespace

Result<std::int64_t> MailboxRepository::insert(const MailboxItemRecord& item) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO mailbox_items (recipient, depositor, kind, payload, deposited_ms, expires_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, item.recipient)
      .bind(2, item.depositor)
      .bind(3, item.kind)
      .bind(4, core::ByteView(item.payload))
      .bind(5, item.deposited_ms)
      .bind(6, item.expires_ms);
  SOMA_TRY(stmt->run());
  return db_.last_insert_rowid();
}

Result<std::vector<MailboxItemRecord>> MailboxRepository::for_recipient(
    const std::string& recipient, std::int64_t now_ms, std::size_t limit) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "SELECT id, recipient, depositor, kind, payload, deposited_ms, expires_ms FROM "
      "mailbox_items WHERE recipient = ? AND expires_ms > ? ORDER BY id LIMIT ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, recipient).bind(2, now_ms).bind(3, clamp_limit(limit));
  std::vector<MailboxItemRecord> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    MailboxItemRecord item;
    item.id = stmt->column_int64(0);
    item.recipient = stmt->column_text(1);
    item.depositor = stmt->column_text(2);
    item.kind = stmt->column_int64(3);
    item.payload = stmt->column_blob(4);
    item.deposited_ms = stmt->column_int64(5);
    item.expires_ms = stmt->column_int64(6);
    out.push_back(std::move(item));
  }
  return out;
}

Result<bool> MailboxRepository::remove(const std::string& recipient, std::int64_t id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM mailbox_items WHERE id = ? AND recipient = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id).bind(2, recipient);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<std::uint64_t> MailboxRepository::remove_expired(std::int64_t now_ms) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM mailbox_items WHERE expires_ms <= ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, now_ms);
  SOMA_TRY(stmt->run());
  return static_cast<std::uint64_t>(db_.changes());
}

Result<std::uint64_t> MailboxRepository::count_for(const std::string& recipient) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM mailbox_items WHERE recipient = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, recipient);
  return count(*stmt);
}

Result<std::uint64_t> MailboxRepository::count_from(const std::string& depositor,
                                                    const std::string& recipient) {
  std::lock_guard lock(db_.mutex());
  auto stmt =
      db_.prepare("SELECT count(*) FROM mailbox_items WHERE recipient = ? AND depositor = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, recipient);
  stmt->bind(2, depositor);
  return count(*stmt);
}

Result<std::uint64_t> MailboxRepository::count_all() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM mailbox_items");
  if (!stmt) return stmt.take_error();
  return count(*stmt);
}

}  // namespace soma::store
