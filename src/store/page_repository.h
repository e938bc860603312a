#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace soma::store {

// One row of `pages`. An empty parent_id is a top-level page (NULL in SQL).
struct PageRecord {
  std::string id;
  std::string space_id;
  std::string parent_id;
  std::string title;
  std::string kind;
  std::int64_t position = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

// The SQL for the page tree. Sibling order is (position, title, id)
// everywhere. Each call takes the database lock; callers that need several
// calls to be atomic wrap them in Database::transaction(). Thread-safe.
class PageRepository {
 public:
  explicit PageRepository(Database& db) : db_(db) {}

  Status insert(const PageRecord& page);
  Result<std::optional<PageRecord>> find(const std::string& id);
  // Children of parent_id ("" : the top level) in sibling order.
  Result<std::vector<PageRecord>> children(const std::string& space_id,
                                           const std::string& parent_id);
  // Every page of the space, in sibling order (not grouped by parent).
  Result<std::vector<PageRecord>> all_in_space(const std::string& space_id);
  // The highest position among the children of parent_id, if it has any.
  Result<std::optional<std::int64_t>> max_position(const std::string& space_id,
                                                   const std::string& parent_id);
  // Writes title, parent_id, position and updated_ms of an existing page.
  Status update(const PageRecord& page);
  // Removes the page; the schema's cascades remove its subtree, documents
  // and attachments.
  Status remove(const std::string& id);

  // How many pages the subtree rooted at `id` holds, the root included.
  Result<std::uint64_t> subtree_size(const std::string& id);
  // How many levels the subtree rooted at `id` spans (1: a leaf).
  Result<std::uint64_t> subtree_height(const std::string& id);
  // The number of pages on the path from the top level to `id`, both ends
  // included (1: a top-level page).
  Result<std::uint64_t> depth(const std::string& id);
  // True when `ancestor` is `id` itself or one of its ancestors.
  Result<bool> is_ancestor_or_self(const std::string& ancestor, const std::string& id);
  Result<std::uint64_t> count();

 private:
  Database& db_;
};

}  // namespace soma::store
