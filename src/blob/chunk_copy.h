#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "blob/worker_pool.h"
#include "core/bytes.h"
#include "core/error.h"

// The data path shared by importing a file into the store and exporting a
// blob into a file: chunks of 256 KiB move from one descriptor to another
// at the same offsets, each checked on its way, on several threads.
namespace soma::blob {

// Chunks read and checked at once, then written with one call. While one
// batch is written the next is read and checked.
inline constexpr std::size_t kCopyBatchChunks = 32;

// One end of a copy: a borrowed descriptor of a regular file and the name
// messages use for it.
struct CopyEnd {
  int fd = -1;
  std::string name;
};

// Whether copy_chunks may bypass the page cache.
enum class CacheUse {
  kWhereItHelps,  // direct I/O where the file system allows it (see copy_chunks)
  kAlways,        // every read and write through the cache
};

// Looks at chunk `index` as read (shorter than expected only when the
// source ended early) before any of it is written; an error stops the copy.
// Runs on any pool thread, several at once, so it may only touch state of
// its own index.
using ChunkCheck = std::function<core::Status(std::uint64_t index, core::ByteView chunk)>;

// Told the bytes written so far after each batch; an error (the caller
// cancelled) stops the copy.
using CopyProgress = std::function<core::Status(std::uint64_t done)>;

// Copies the `size` bytes at the start of `from` to the same offsets of
// `to`, which must be empty. Every chunk is read, given to `check`, and
// written only once every chunk of its batch has passed. A file of 0 bytes
// has one empty chunk, as its DAG does.
//
// The page cache is used only where it helps: a chunk the cache holds is
// read from it, any other is read past it (O_DIRECT), and batches are
// written past it, so bytes are copied once and the final fsync has little
// left to do. Where the file system refuses direct I/O, the cache is used
// and each batch's writeback is started as soon as it is written. The
// descriptors' file offsets and flags are left as they are.
//
// Errors: the first of a read or write (kInternal naming the file;
// kResourceExhausted when its file system is full), of `check` or of
// `progress`. What was written stays in `to` for the caller to discard.
// Blocks until done.
core::Status copy_chunks(WorkerPool& pool, const CopyEnd& from, const CopyEnd& to,
                         std::uint64_t size, const ChunkCheck& check, const CopyProgress& progress,
                         CacheUse cache = CacheUse::kWhereItHelps);

// Reads up to `size` bytes at `offset`, fewer only at the end of the file.
core::Result<std::size_t> pread_full(int fd, std::uint8_t* out, std::size_t size,
                                     std::uint64_t offset);

}  // namespace soma::blob
