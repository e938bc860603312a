#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace soma::store {

// One row of `attachments`. An empty page_id means the space's top level
// (NULL in SQL).
struct AttachmentRecord {
  std::string id;
  std::string space_id;
  std::string page_id;
  std::string name;
  std::string cid;
  std::uint64_t size = 0;
  std::string media_type;
  std::int64_t created_ms = 0;
};

// The SQL for attachments. Lists are ordered by name, then id. Each call
// takes the database lock. Thread-safe.
class AttachmentRepository {
 public:
  explicit AttachmentRepository(Database& db) : db_(db) {}

  Status insert(const AttachmentRecord& attachment);
  Result<std::optional<AttachmentRecord>> find(const std::string& id);
  // The attachments of one page ("" : those at the space's top level).
  Result<std::vector<AttachmentRecord>> list_page(const std::string& space_id,
                                                  const std::string& page_id);
  // Every attachment of the space.
  Result<std::vector<AttachmentRecord>> list_space(const std::string& space_id);
  // False when no such attachment exists.
  Result<bool> remove(const std::string& id);

 private:
  Database& db_;
};

}  // namespace soma::store
