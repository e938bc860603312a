#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "core/error.h"

namespace soma::api {

// The API is reachable only through a Unix socket of mode 0600 inside a
// directory of mode 0700 owned by the daemon's user. These checks enforce
// that; every failure is kPermissionDenied with a message that names the
// path, what is wrong and the command that fixes it.

// Creates `dir` (and missing parents) with mode 0700 when it does not
// exist. An existing `dir` must be a real directory (not a symlink) owned
// by the effective user with mode exactly 0700; anything looser is refused
// and left untouched.
core::Status ensure_socket_dir(const std::filesystem::path& dir);

// Unix socket paths are limited by sockaddr_un; a longer one fails with
// kInvalidArgument saying how to shorten it.
core::Status check_socket_path(const std::filesystem::path& socket);

// Removes a socket file left by a daemon that did not shut down cleanly.
// The data dir lock does not cover the socket (another data dir may share
// the socket dir), so it first connects: when something answers, the
// socket is live and is left alone, kAlreadyExists ("another daemon is
// listening on PATH"). Something that is not a socket is left alone and
// reported as kFailedPrecondition.
core::Status remove_stale_socket(const std::filesystem::path& socket);

// True when a process accepts connections on the Unix socket `socket`.
bool socket_is_live(const std::filesystem::path& socket);

// Which file a path is: st_dev and st_ino, to tell our socket from another
// created at the same path later.
struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const FileIdentity&) const = default;
};
std::optional<FileIdentity> identity_of(const std::filesystem::path& path);

// Confirms that the listening socket is a socket owned by us with mode 0600.
core::Status check_socket_file(const std::filesystem::path& socket);

// Sets the process umask for the lifetime of the object and restores the
// previous one after. The umask is process-wide: hold it only while the
// process creates nothing else concurrently (daemon startup).
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask);
  ~ScopedUmask();
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t previous_;
};

}  // namespace soma::api
