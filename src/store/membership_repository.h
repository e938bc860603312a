#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "store/database.h"

// Spaces this device joined (table `memberships`) and the membership audit
// log (`membership_audit`).
namespace soma::store {

// This device's membership of a space another peer owns. The space itself
// is a row of `spaces` with that owner; this row says how it is held.
struct MembershipRecord {
  std::string space_id;
  std::string owner;
  std::string role;
  std::string state = "joined";
  core::Bytes capability_id;  // 16 bytes: the capability in `capabilities`
  std::int64_t expires_ms = 0;
  std::string request_id;  // the join request it came from
  std::int64_t joined_ms = 0;
  std::int64_t updated_ms = 0;
};

// The SQL for memberships. Each call takes the database lock. Errors are
// the database's (see sqlite_error). Thread-safe.
class MembershipRepository {
 public:
  explicit MembershipRepository(Database& db) : db_(db) {}

  // Inserts, or replaces the row of the same space (a newer capability).
  Status upsert(const MembershipRecord& membership);
  Result<std::optional<MembershipRecord>> find(const std::string& space_id);
  // Ordered by space id.
  Result<std::vector<MembershipRecord>> list();

 private:
  Database& db_;
};

// One entry of the audit log.
struct AuditEntry {
  std::uint64_t id = 0;  // assigned on append; increases
  std::int64_t time_ms = 0;
  std::string space_id;
  std::string action;         // e.g. "request.received", "capability.issued"
  std::string actor;          // the peer that acted
  std::string subject;        // the peer it concerns
  std::string request_id;     // the join request, when one is involved
  std::string capability_id;  // hex, when a capability is involved
  std::string role;
  std::string detail;  // a short summary for people; never content
};

// The SQL for the membership audit log: append and read, never edit. Each
// call takes the database lock; append inside the transaction of the change
// it records. Errors are the database's. Thread-safe.
class AuditRepository {
 public:
  explicit AuditRepository(Database& db) : db_(db) {}

  // Appends and returns the new id.
  Result<std::uint64_t> append(const AuditEntry& entry);
  // The entries of `space_id` (every space when empty) with id > after_id,
  // oldest first, at most `limit`.
  Result<std::vector<AuditEntry>> list(const std::string& space_id, std::uint64_t after_id,
                                       std::size_t limit);

 private:
  Database& db_;
};

}  // namespace soma::store
