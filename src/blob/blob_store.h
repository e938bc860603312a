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

// Threads that hash one file's chunks in import_file and export_file, the
// caller's among them. Chunks are independent, so two already double the
// hashing rate of one; more would take cores the rest of the daemon needs.
// The store keeps one thread more, to write a batch while the next is
// hashed; it mostly waits for the disk.
inline constexpr std::size_t kTransferThreads = 2;

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
// spaces it is charged to. Thread-safe. It owns kTransferThreads helper
// threads that read, hash and write chunks for import_file and
// export_file alongside the calling thread.
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

  // Told the bytes moved so far by import_file and export_file after each
  // batch of chunks. An error it returns (the caller went away) stops the
  // transfer, which then stores or leaves nothing.
  using TransferProgress = std::function<Status(std::uint64_t done)>;

  // Stores the regular file open at `fd` (borrowed; read with pread from
  // offset 0) as a blob charged to `space_id`. `size` is the size the
  // caller saw; the file must keep exactly that size, unmodified, while it
  // is read. Everything begin_upload checks is checked before a byte is
  // read. Chunks are read, hashed and written on the store's transfer
  // threads, batch by batch, and each batch's writeback starts at once, so
  // the final sync is short. Blocks the calling thread.
  // Errors: those of begin_upload and Upload::finish; kInvalidArgument when
  // `fd` is not a regular file; kFailedPrecondition when its size is not
  // `size`, or it grows, shrinks or is modified while read; the error
  // `progress` returns. Nothing is stored after an error.
  virtual Result<BlobInfo> import_file(int fd, const std::string& space_id, std::uint64_t size,
                                       const std::optional<std::string>& expected_cid,
                                       const std::string& name,
                                       const TransferProgress& progress) = 0;

  // Writes blob `cid` into the empty regular file open for writing at `fd`
  // (borrowed) from offset 0, each chunk checked against its leaf digest
  // before any of it is written, then syncs the file. Returns the bytes
  // written: the blob's size. Chunks move on the store's transfer threads.
  // Errors: kNotFound and kDataLoss as read() gives them;
  // kInvalidArgument when `fd` is not a regular file; kFailedPrecondition
  // when it is not empty; kResourceExhausted when its file system is full;
  // the error `progress` returns. After an error the file is truncated to
  // empty, so it never holds part of a blob.
  virtual Result<std::uint64_t> export_file(const std::string& cid, int fd,
                                            const TransferProgress& progress) = 0;

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
