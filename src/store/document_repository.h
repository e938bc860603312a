#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace soma::store {

// One row of `documents` with its blob links (`document_blobs`, in order).
struct DocumentRecord {
  std::string page_id;
  std::string format;
  std::string text;
  std::string structure;
  std::uint64_t revision = 0;
  std::int64_t updated_ms = 0;
  std::vector<std::string> blob_cids;  // distinct; each must be in `blobs`
};

// The SQL for documents. A document row and its blob links are written
// together; callers wrap each write in Database::transaction() so both land
// or neither does. Thread-safe.
class DocumentRepository {
 public:
  explicit DocumentRepository(Database& db) : db_(db) {}

  Status insert(const DocumentRecord& document);
  Result<std::optional<DocumentRecord>> find(const std::string& page_id);
  // Replaces format, text, structure, revision, updated_ms and the blob
  // links of an existing document.
  Status update(const DocumentRecord& document);

 private:
  Status write_blob_links(const DocumentRecord& document);

  Database& db_;
};

}  // namespace soma::store
