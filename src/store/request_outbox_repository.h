#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

// Join requests made here that wait to reach their target (table
// `request_outbox`): the target could not be dialed when the request was
// made, so it is retried with backoff, across restarts.
namespace soma::store {

struct RequestOutboxItem {
  std::string request_id;
  std::string target;  // the peer id or multiaddr the user named
  std::int64_t attempts = 0;
  std::int64_t next_attempt_ms = 0;
  std::int64_t give_up_ms = 0;
  std::string last_error;
  std::int64_t created_ms = 0;
};

// Each call takes the database lock; wrap several in
// Database::transaction() to make them atomic. Errors: the database's.
// Thread-safe.
class RequestOutboxRepository {
 public:
  explicit RequestOutboxRepository(Database& db) : db_(db) {}

  // Inserts, or replaces the entry of the same request.
  Status put(const RequestOutboxItem& item);
  // Entries due at `now_ms`, earliest first, at most `limit`.
  Result<std::vector<RequestOutboxItem>> due(std::int64_t now_ms, std::size_t limit);
  // When the earliest entry is due; nullopt when none waits.
  Result<std::optional<std::int64_t>> next_due();
  Result<std::optional<RequestOutboxItem>> find(const std::string& request_id);
  // False when the entry is gone.
  Result<bool> remove(const std::string& request_id);
  Result<std::uint64_t> size();

 private:
  Database& db_;
};

}  // namespace soma::store
