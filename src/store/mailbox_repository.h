#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "store/database.h"

// Items this daemon holds for other peers (table `mailbox_items`). The
// SQL only: limits, expiry policy and who may see what live in
// membership::MailboxStore.
namespace soma::store {

struct MailboxItemRecord {
  std::int64_t id = 0;
  std::string recipient;  // PeerId text
  std::string depositor;  // PeerId text
  std::int64_t kind = 0;
  core::Bytes payload;
  std::int64_t deposited_ms = 0;
  std::int64_t expires_ms = 0;
};

// Each call takes the database lock; wrap several in
// Database::transaction() to make them atomic. Errors: the database's.
// Thread-safe.
class MailboxRepository {
 public:
  explicit MailboxRepository(Database& db) : db_(db) {}

  // Stores the item (its id is ignored) and returns the id given to it.
  Result<std::int64_t> insert(const MailboxItemRecord& item);
  // The items for `recipient` not expired at `now_ms`, oldest first.
  Result<std::vector<MailboxItemRecord>> for_recipient(const std::string& recipient,
                                                       std::int64_t now_ms, std::size_t limit);
  // Removes item `id` only if it is addressed to `recipient`; false
  // otherwise.
  Result<bool> remove(const std::string& recipient, std::int64_t id);
  // Removes every item expired at `now_ms`; returns how many.
  Result<std::uint64_t> remove_expired(std::int64_t now_ms);
  Result<std::uint64_t> count_for(const std::string& recipient);
  Result<std::uint64_t> count_from(const std::string& depositor, const std::string& recipient);
  Result<std::uint64_t> count_all();

 private:
  Database& db_;
};

}  // namespace soma::store
