#include "blob/chunk_copy.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "blob/dag_builder.h"

namespace soma::blob {
namespace {

using core::Error;
using core::Result;
using core::Status;

// Direct I/O wants buffers, offsets and lengths in multiples of the
// device's block; 4096 covers every block size Linux file systems use.
constexpr std::size_t kDirectAlign = 4096;
constexpr std::size_t kBatchBytes = kCopyBatchChunks * kChunkSize;

std::size_t round_up(std::size_t n) { return (n + kDirectAlign - 1) / kDirectAlign * kDirectAlign; }

Error io_error(std::string_view doing, const std::string& name, int err) {
  std::string message = std::string(doing) + " " + name + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Error::exhausted(std::move(message));
  return Error::internal(std::move(message));
}

// Writes all of `data` at `offset`; 0, or the errno of the failed write.
int pwrite_all(int fd, const std::uint8_t* data, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

// An owned descriptor; -1 when there is none.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The same file opened again to bypass the page cache, without touching the
// caller's descriptor; -1 where the file system does not allow it.
int open_direct(int fd, int access) {
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  return ::open(path.c_str(), access | O_DIRECT | O_CLOEXEC | O_NOCTTY);
}

struct FreeAligned {
  void operator()(std::uint8_t* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<std::uint8_t[], FreeAligned>;

Buffer aligned_buffer(std::size_t bytes) {
  return Buffer(static_cast<std::uint8_t*>(std::aligned_alloc(kDirectAlign, round_up(bytes))));
}

// Asks the kernel how much of a range the page cache holds, without
// reading anything (cachestat, Linux 6.5). The structures and the number
// are the kernel's ABI, which the C library headers here predate.
struct CacheRange {
  std::uint64_t off;
  std::uint64_t len;
};
struct CacheStat {
  std::uint64_t nr_cache;
  std::uint64_t nr_dirty;
  std::uint64_t nr_writeback;
  std::uint64_t nr_evicted;
  std::uint64_t nr_recently_evicted;
};
constexpr long kCachestatSyscall = 451;

// Reads chunks from the page cache when it holds them and past it when it
// does not, which spares filling the cache with pages read once. Where the
// kernel cannot tell what the cache holds, every read goes through it.
// Safe to use from several threads.
class Source {
 public:
  Source(const CopyEnd& end, bool direct)
      : end_(end), direct_(direct ? open_direct(end.fd, O_RDONLY) : -1) {}

  // Reads up to `want` bytes at `offset` into `out`, which is aligned and
  // has room for round_up(want); fewer only at the end of the file.
  Result<std::size_t> read(std::uint8_t* out, std::size_t want, std::uint64_t offset) {
    std::size_t done = 0;
    if (direct_.get() >= 0 && direct_ok_.load(std::memory_order_relaxed) && !cached(offset, want)) {
      ssize_t n;
      do {
        n = ::pread(direct_.get(), out, round_up(want), static_cast<off_t>(offset));
      } while (n < 0 && errno == EINTR);
      if (n >= 0) {
        done = std::min(static_cast<std::size_t>(n), want);
        if (done == want) return done;
      } else if (errno == EINVAL) {
        direct_ok_.store(false);  // another alignment: use the cache from now on
      } else {
        return io_error("cannot read", end_.name, errno);
      }
    }

    // The cache, for the rest: a direct read ends short only at the end of
    // the file, which this confirms.
    auto rest = pread_full(end_.fd, out + done, want - done, offset + done);
    if (!rest) return Error::internal("cannot read " + end_.name + ": " + rest.error().message);
    return done + *rest;
  }

 private:
  // Whether the cache holds every page of the range (true when unknown).
  bool cached(std::uint64_t offset, std::size_t size) {
    if (!cachestat_ok_.load(std::memory_order_relaxed) || size == 0) return true;
    static const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    CacheRange range{offset, size};
    CacheStat stat{};
    if (::syscall(kCachestatSyscall, end_.fd, &range, &stat, 0) != 0) {
      cachestat_ok_.store(false);
      return true;
    }
    return stat.nr_cache >= (size + page - 1) / page;
  }

  const CopyEnd& end_;
  Fd direct_;
  std::atomic<bool> direct_ok_{true};
  std::atomic<bool> cachestat_ok_{true};
};

// Writes batches past the page cache where the file system allows it, so
// they reach the disk at once without a copy; otherwise through the cache,
// starting each batch's writeback right away. Used by one thread at a time.
class Sink {
 public:
  Sink(const CopyEnd& end, bool direct)
      : end_(end), direct_(direct ? open_direct(end.fd, O_WRONLY) : -1) {}

  // Writes `size` bytes at `offset` from `data`, which is aligned and has
  // room for round_up(size).
  Status write(std::uint8_t* data, std::size_t size, std::uint64_t offset) {
    if (size == 0) return {};
    if (direct_.get() >= 0 && direct_ok_) {
      // Direct writes come in whole blocks; the file is cut back in finish().
      std::size_t padded = round_up(size);
      std::memset(data + size, 0, padded - size);
      int err = pwrite_all(direct_.get(), data, padded, offset);
      if (err == 0) {
        padded_ = padded_ || padded != size;
        return {};
      }
      // EINVAL: this file system wants another alignment; use the cache.
      if (err != EINVAL) return io_error("cannot write", end_.name, err);
      direct_ok_ = false;
    }
    if (int err = pwrite_all(end_.fd, data, size, offset); err != 0) {
      return io_error("cannot write", end_.name, err);
    }
    (void)::sync_file_range(end_.fd, static_cast<off_t>(offset), static_cast<off_t>(size),
                            SYNC_FILE_RANGE_WRITE);
    return {};
  }

  // Gives the file its exact `size` when the last block was padded.
  Status finish(std::uint64_t size) {
    if (padded_ && ::ftruncate(end_.fd, static_cast<off_t>(size)) != 0) {
      return io_error("cannot truncate", end_.name, errno);
    }
    return {};
  }

 private:
  const CopyEnd& end_;
  Fd direct_;
  bool direct_ok_ = true;
  bool padded_ = false;
};

}  // namespace

Result<std::size_t> pread_full(int fd, std::uint8_t* out, std::size_t size, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::internal(std::strerror(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status copy_chunks(WorkerPool& pool, const CopyEnd& from, const CopyEnd& to, std::uint64_t size,
                   const ChunkCheck& check, const CopyProgress& progress, CacheUse cache) {
  const std::uint64_t chunks = dag_leaf_count(size);
  const std::uint64_t batches = (chunks + kCopyBatchChunks - 1) / kCopyBatchChunks;
  const bool direct = cache == CacheUse::kWhereItHelps;
  Source source(from, direct);
  Sink sink(to, direct);

  // Two batch buffers: one is written while the next is read into the other.
  const std::size_t buffer_bytes = std::max(
      kDirectAlign, round_up(static_cast<std::size_t>(std::min<std::uint64_t>(size, kBatchBytes))));
  Buffer buffers[2] = {aligned_buffer(buffer_bytes),
                       batches > 1 ? aligned_buffer(buffer_bytes) : Buffer()};
  if (!buffers[0] || (batches > 1 && !buffers[1])) {
    return Error::exhausted("no memory for a copy buffer of " + std::to_string(buffer_bytes) +
                            " bytes");
  }

  struct Batch {
    std::uint8_t* data;
    std::uint64_t offset;
    std::size_t size;
  };
  std::optional<Batch> unwritten;
  std::vector<std::optional<Error>> errors(kCopyBatchChunks + 1);
  std::atomic<bool> failed{false};

  for (std::uint64_t b = 0; b < batches; ++b) {
    const std::uint64_t first = b * kCopyBatchChunks;
    const auto count =
        static_cast<std::size_t>(std::min<std::uint64_t>(kCopyBatchChunks, chunks - first));
    std::uint8_t* buffer = buffers[b % 2].get();
    // Piece 0 writes the previous batch, which every check has passed.
    const std::size_t writes = unwritten ? 1 : 0;
    std::fill(errors.begin(), errors.end(), std::nullopt);

    pool.run(count + writes, [&](std::size_t piece, std::size_t) {
      if (failed.load(std::memory_order_relaxed)) return;
      Status done;
      if (piece < writes) {
        done = sink.write(unwritten->data, unwritten->size, unwritten->offset);
      } else {
        const std::size_t slot = piece - writes;
        const std::uint64_t index = first + slot;
        const std::uint64_t offset = index * kChunkSize;
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(kChunkSize, size - offset));
        std::uint8_t* chunk = buffer + slot * kChunkSize;
        auto got = source.read(chunk, want, offset);
        done = got ? check(index, core::ByteView(chunk, *got)) : Status(got.take_error());
      }
      if (!done.ok()) {
        errors[piece] = done.take_error();
        failed.store(true, std::memory_order_relaxed);
      }
    });
    for (auto& e : errors) {
      if (e) return std::move(*e);
    }
    if (unwritten && progress) SOMA_TRY(progress(unwritten->offset + unwritten->size));

    const std::uint64_t start = first * kChunkSize;
    const std::uint64_t end = std::min<std::uint64_t>(size, (first + count) * kChunkSize);
    unwritten = Batch{buffer, start, static_cast<std::size_t>(end - start)};
  }

  if (unwritten) {
    SOMA_TRY(sink.write(unwritten->data, unwritten->size, unwritten->offset));
    if (progress) SOMA_TRY(progress(size));
  }
  return sink.finish(size);
}

}  // namespace soma::blob
