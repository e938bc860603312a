#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace soma::store {

// One row of `spaces`, with the number of pages it holds.
struct SpaceRecord {
  std::string id;
  std::string name;
  std::string owner;
  std::string role;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::uint64_t page_count = 0;  // read-only: counted on load
  // Read-only, from `memberships`: how a space owned by another peer is
  // held ("joined"), and until when; empty and 0 for spaces created here.
  std::string membership_state;
  std::int64_t membership_expires_ms = 0;
};

// The SQL for spaces. Each call takes the database lock; callers that need
// several calls to be atomic wrap them in Database::transaction(). Errors
// are the database's (see sqlite_error). Thread-safe.
class SpaceRepository {
 public:
  explicit SpaceRepository(Database& db) : db_(db) {}

  Status insert(const SpaceRecord& space);
  Result<std::optional<SpaceRecord>> find(const std::string& id);
  // Every space with exactly this name, by id.
  Result<std::vector<SpaceRecord>> find_by_name(const std::string& name);
  // All spaces ordered by name, then id.
  Result<std::vector<SpaceRecord>> list();
  // Sets this device's role in the space (a joined space whose membership
  // changed). False when no such space exists.
  Result<bool> set_role(const std::string& id, const std::string& role, std::int64_t updated_ms);
  // False when no such space exists.
  Result<bool> rename(const std::string& id, const std::string& name, std::int64_t updated_ms);
  // Removes the space; the schema's cascades remove its pages, documents,
  // attachments and blob links. False when no such space exists.
  Result<bool> remove(const std::string& id);
  Result<std::uint64_t> count();
  // Spaces held here with this role.
  Result<std::uint64_t> count_with_role(const std::string& role);

 private:
  Database& db_;
};

}  // namespace soma::store
