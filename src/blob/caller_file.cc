#include "blob/caller_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace soma::blob {
namespace {

using core::Error;

std::string_view kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

bool same_file(const struct stat& st, FileIdentity identity) {
  return static_cast<std::uint64_t>(st.st_dev) == identity.device &&
         static_cast<std::uint64_t>(st.st_ino) == identity.inode;
}

// A stat result that must be the caller's regular file. Another file is a
// precondition failure (the caller can still send the bytes); the caller's
// own file being something else than a regular file is its mistake.
core::Status check(const struct stat& st, const std::string& path, FileIdentity identity) {
  if (!same_file(st, identity)) {
    return Error::precondition("the daemon sees another file at " + path +
                               " than the caller does (another mount namespace?); send the "
                               "bytes over the API instead");
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::invalid(path + " is " + std::string(kind_of(st.st_mode)) +
                          ", not a regular file; only regular files can be imported or exported");
  }
  return {};
}

Error unreachable(const std::string& path, int err) {
  return Error::precondition("the daemon cannot open " + path + ": " + std::strerror(err) +
                             "; send the bytes over the API instead");
}

}  // namespace

core::Result<file::File> open_caller_file(const std::string& path, FileAccess access,
                                          FileIdentity identity) {
  // Validate the path before the file system sees it.
  if (path.empty() || path.front() != '/') {
    return Error::invalid("the file's path must be absolute, not \"" + path + "\"");
  }
  if (path.size() > kMaxCallerPathBytes) {
    return Error::invalid("the file's path is " + std::to_string(path.size()) + " bytes; at most " +
                          std::to_string(kMaxCallerPathBytes) + " are allowed");
  }
  if (path.find('\0') != std::string::npos) {
    return Error::invalid("the file's path holds a NUL byte");
  }

  // Look before opening: opening a device or a FIFO can block or have
  // effects of its own. A file the daemon is to write into must be the
  // caller's file itself, not a link to it.
  struct stat st {};
  int looked =
      access == FileAccess::kWrite ? ::lstat(path.c_str(), &st) : ::stat(path.c_str(), &st);
  if (looked != 0) return unreachable(path, errno);
  SOMA_TRY(check(st, path, identity));

  // O_NONBLOCK and O_NOCTTY keep a file swapped in meanwhile from blocking
  // or becoming our terminal; fstat then checks what was really opened.
  int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  flags |= access == FileAccess::kWrite ? (O_WRONLY | O_NOFOLLOW) : O_RDONLY;
  file::File f(::open(path.c_str(), flags));
  if (!f.is_open()) return unreachable(path, errno);
  if (::fstat(f.fd(), &st) != 0) {
    return Error::internal("cannot stat " + path + ": " + std::strerror(errno));
  }
  SOMA_TRY(check(st, path, identity));
  return f;
}

}  // namespace soma::blob
