#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "store/database.h"

namespace soma::store {

// One row of `blobs`. `leaves` holds the blob's leaf digests, 32 bytes
// each, in order; listings leave it empty and fill leaf_count instead.
struct BlobRecord {
  std::string cid;
  std::uint64_t size = 0;
  core::Bytes leaves;
  std::uint64_t leaf_count = 0;
  std::int64_t created_ms = 0;
};

// The SQL for blobs and the spaces they are charged to. Each call takes the
// database lock; callers that need several calls to be atomic wrap them in
// Database::transaction(). Errors are the database's (see sqlite_error).
// Thread-safe.
class BlobRepository {
 public:
  explicit BlobRepository(Database& db) : db_(db) {}

  Result<bool> space_exists(const std::string& space_id);

  // Inserts the blob unless a row with its CID exists; true when inserted.
  Result<bool> insert(const BlobRecord& blob);
  // Charges the blob to the space unless it already is; true when added.
  Result<bool> link_space(const std::string& space_id, const std::string& cid,
                          std::int64_t added_ms);

  // The blob with its leaf digests.
  Result<std::optional<BlobRecord>> find(const std::string& cid);
  Result<bool> exists(const std::string& cid);
  // Ids of the spaces the blob is charged to, sorted.
  Result<std::vector<std::string>> spaces_of(const std::string& cid);
  // Blobs (without leaf digests) ordered by CID: all of them, or those of
  // one space.
  Result<std::vector<BlobRecord>> list(const std::optional<std::string>& space_id);
  Result<std::vector<std::string>> all_cids();

  Result<bool> space_has(const std::string& space_id, const std::string& cid);
  // Sum of the sizes of the distinct blobs charged to the space.
  Result<std::uint64_t> space_usage(const std::string& space_id);

  Result<std::uint64_t> count();
  Result<std::uint64_t> total_bytes();

 private:
  Database& db_;
};

}  // namespace soma::store
