#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "store/database.h"
#include "store/event_log.h"

namespace soma::blob {

using core::Result;
using core::Status;

struct BlobInfo {
  std::string cid;  // CIDv1 text, base32 ("bafk…" raw leaf or "bafy…" dag-pb root)
  std::uint64_t size = 0;
  std::uint64_t block_count = 0;  // leaves plus dag-pb nodes
  std::int64_t created_ms = 0;
  std::vector<std::string> space_ids;
};

struct Limits {
  static constexpr std::uint64_t kDefaultMaxBlobBytes = 4ull << 30;  // 4 GiB
  std::uint64_t max_blob_bytes = kDefaultMaxBlobBytes;
  std::uint64_t space_quota_bytes = 0;  // 0: no quota
};

struct VerifyProblem {
  std::string cid;
  std::string problem;
};

struct VerifyReport {
  std::uint64_t checked = 0;
  std::uint64_t bytes_checked = 0;
  std::vector<VerifyProblem> problems;
  std::uint64_t leftovers_removed = 0;
};

// One upload in progress. Bytes go to a temporary file as they arrive;
// nothing is visible until finish() succeeds. Destroying an unfinished
// upload removes its temporary file. Used by one thread at a time.
class Upload {
 public:
  virtual ~Upload() = default;
  // Fails with kResourceExhausted past the declared size or the limits.
  virtual Status write(core::ByteView data) = 0;
  // Checks that every declared byte arrived and, if given, the expected CID;
  // then syncs, renames into place and records the blob for the space.
  virtual Result<BlobInfo> finish() = 0;
  virtual std::uint64_t received() const = 0;
};

// The daemon's content-addressed store. Each blob's bytes live in one file
// named by its CID; the database holds its size, leaf digests and the
// spaces it is charged to. Thread-safe.
class BlobStore {
 public:
  // `dir` is created 0700 if missing. Leftover temporary files from a
  // crash are removed here.
  static Result<std::unique_ptr<BlobStore>> open(const std::filesystem::path& dir,
                                                 store::Database& db, store::EventLog& events,
                                                 Limits limits);
  virtual ~BlobStore() = default;

  // Starts an upload charged to `space_id`, which must exist. Rejects up
  // front a declared size over the blob limit or the space's quota.
  virtual Result<std::unique_ptr<Upload>> begin_upload(
      const std::string& space_id, std::uint64_t declared_size,
      const std::optional<std::string>& expected_cid, const std::string& name) = 0;

  virtual Result<BlobInfo> get(const std::string& cid) = 0;
  virtual Result<std::vector<BlobInfo>> list(const std::optional<std::string>& space_id) = 0;
  virtual bool space_has(const std::string& space_id, const std::string& cid) = 0;
  virtual Result<std::uint64_t> space_usage(const std::string& space_id) = 0;

  // Streams [offset, offset+length) (length 0: to the end) to `sink` in
  // pieces of at most one chunk. Every chunk is hashed and compared with
  // its leaf CID before any of it reaches the sink; a mismatch stops the
  // read with kDataLoss. A sink error stops the read and is returned.
  using Sink = std::function<Status(core::ByteView data, std::uint64_t offset)>;
  virtual Status read(const std::string& cid, std::uint64_t offset, std::uint64_t length,
                      const Sink& sink) = 0;

  // Re-hashes the named blobs (all when `cids` is empty) and rebuilds each
  // DAG to confirm its root CID; also reports files without records.
  virtual Result<VerifyReport> verify(const std::vector<std::string>& cids) = 0;

  virtual std::uint64_t blob_count() = 0;
  virtual std::uint64_t total_bytes() = 0;
  virtual const Limits& limits() const = 0;
};

}  // namespace soma::blob
