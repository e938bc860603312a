#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "store/database.h"

// Delegations (table `delegations`): owner-signed issuer capabilities this
// device issued as a space's owner or holds as a delegate, and the push
// outbox (`push_outbox`) that carries signed artifacts to other peers.
namespace soma::store {

struct DelegationRecord {
  std::string space_id;
  core::Bytes id;  // 16 bytes: the issuer capability's id
  std::string delegate;
  std::string roles;  // comma-separated role names, as the capability lists them
  std::int64_t issued_ms = 0;
  std::int64_t expires_ms = 0;
  std::int64_t max_member_expires_ms = 0;
  std::int64_t rate_per_hour = 0;
  core::Bytes envelope;  // the signed IssuerCapability
  std::int64_t recorded_ms = 0;
};

// Each call takes the database lock; wrap several in
// Database::transaction() to make them atomic. Errors: the database's.
// Thread-safe.
class DelegationRepository {
 public:
  explicit DelegationRepository(Database& db) : db_(db) {}

  // Storing an id that is already there changes nothing and succeeds.
  Status insert(const DelegationRecord& delegation);
  // The delegations of `delegate` in `space_id`, the latest expiry first.
  Result<std::vector<DelegationRecord>> held_by(const std::string& space_id,
                                                const std::string& delegate);
  // Every delegation of `space_id`, oldest first, at most `limit`.
  Result<std::vector<DelegationRecord>> list(const std::string& space_id, std::size_t limit);

 private:
  Database& db_;
};

struct PushItem {
  std::int64_t id = 0;  // assigned on enqueue
  std::string peer;
  std::int64_t kind = 0;  // the wire's Kind
  std::string space_id;
  std::string space_name;
  core::Bytes artifact;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_ms = 0;
  std::int64_t give_up_ms = 0;
  std::string last_error;
  std::int64_t created_ms = 0;
};

class PushOutboxRepository {
 public:
  explicit PushOutboxRepository(Database& db) : db_(db) {}

  // Returns the new entry's id.
  Result<std::int64_t> enqueue(const PushItem& item);
  // Entries due at `now_ms`, earliest first, at most `limit`.
  Result<std::vector<PushItem>> due(std::int64_t now_ms, std::size_t limit);
  // When the earliest entry is due; nullopt when none waits.
  Result<std::optional<std::int64_t>> next_due();
  Result<std::optional<PushItem>> find(std::int64_t id);
  // False when the entry is gone.
  Result<bool> reschedule(std::int64_t id, std::int64_t attempts, std::int64_t next_attempt_ms,
                          const std::string& error);
  Result<bool> remove(std::int64_t id);
  // Entries waiting for `peer` in `space_id` (for status displays and tests).
  Result<std::uint64_t> waiting_for(const std::string& peer, const std::string& space_id);

 private:
  Database& db_;
};

}  // namespace soma::store
