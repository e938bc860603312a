#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "blob/blob_file.h"
#include "core/error.h"

// Opening, on behalf of a local API caller, a file the caller named by
// path. The daemon and its callers run as one user, so the daemon may read
// and write what the caller can; what it must make sure of is that the
// path leads it to the very file the caller holds open, and never to a
// device, a FIFO or a directory.
namespace soma::blob {

// st_dev and st_ino of the file as the caller saw it.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
};

enum class FileAccess {
  kRead,   // a file to import; opened read-only
  kWrite,  // a file the caller created to export into; never created, truncated or followed
};

// PATH_MAX less its terminating NUL.
inline constexpr std::size_t kMaxCallerPathBytes = 4095;

// Opens `path` for `access` when it is a regular file whose device and
// inode are `identity`. Nothing else is opened: the path is checked with
// stat first, and the opened file again with fstat.
// Errors:
//   kInvalidArgument    `path` is empty, relative, longer than
//                       kMaxCallerPathBytes or holds a NUL byte; or the
//                       caller's file is not a regular file.
//   kFailedPrecondition this process cannot open `path`, or finds another
//                       file there: it may see another file system than the
//                       caller (another mount namespace or container). The
//                       caller should send the bytes itself instead.
//   kInternal           the system failed otherwise.
core::Result<file::File> open_caller_file(const std::string& path, FileAccess access,
                                          FileIdentity identity);

}  // namespace soma::blob
