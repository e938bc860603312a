#include "api/socket_guard.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace soma::api {
namespace {

constexpr mode_t kSocketDirMode = 0700;
constexpr mode_t kSocketFileMode = 0600;

std::string errno_text(int err) { return std::generic_category().message(err); }

std::string mode_text(mode_t mode) { return fmt::format("{:04o}", mode & 07777); }

core::Status check_dir(const std::filesystem::path& dir, const struct stat& st) {
  const std::string p = dir.string();
  if (S_ISLNK(st.st_mode)) {
    return core::Error::denied(fmt::format(
        "socket directory {} is a symbolic link; it must be a real directory of mode 0700 "
        "owned by you (remove the link or pick another --socket-dir)",
        p));
  }
  if (!S_ISDIR(st.st_mode)) {
    return core::Error::denied(fmt::format(
        "socket directory {} is not a directory; move it away or pick another --socket-dir", p));
  }
  if (st.st_uid != geteuid()) {
    return core::Error::denied(fmt::format(
        "socket directory {} is owned by uid {}; it must be 0700 and owned by you (uid {}); "
        "pick another --socket-dir",
        p, st.st_uid, geteuid()));
  }
  if ((st.st_mode & 07777) != kSocketDirMode) {
    return core::Error::denied(
        fmt::format("socket directory {} has mode {}; it must be 0700 and owned by you "
                    "(chmod 700 {})",
                    p, mode_text(st.st_mode), p));
  }
  return {};
}

}  // namespace

core::Status ensure_socket_dir(const std::filesystem::path& dir) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) == 0) return check_dir(dir, st);
  if (errno != ENOENT) {
    return core::Error::denied(
        fmt::format("cannot inspect socket directory {}: {}", dir.string(), errno_text(errno)));
  }
  std::error_code ec;
  if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (ec) {
    return core::Error::denied(fmt::format("cannot create the parent of socket directory {}: {}",
                                           dir.string(), ec.message()));
  }
  if (mkdir(dir.c_str(), kSocketDirMode) == 0) {
    // mkdir applied the umask; set the exact mode the checks require.
    if (chmod(dir.c_str(), kSocketDirMode) != 0) {
      return core::Error::denied(fmt::format("cannot set mode 0700 on socket directory {}: {}",
                                             dir.string(), errno_text(errno)));
    }
  } else if (errno != EEXIST) {
    return core::Error::denied(
        fmt::format("cannot create socket directory {}: {}", dir.string(), errno_text(errno)));
  }
  // Check what exists now: another process may have won a race to create it.
  if (lstat(dir.c_str(), &st) != 0) {
    return core::Error::denied(
        fmt::format("cannot inspect socket directory {}: {}", dir.string(), errno_text(errno)));
  }
  return check_dir(dir, st);
}

core::Status check_socket_path(const std::filesystem::path& socket) {
  constexpr std::size_t kMaxPathBytes = sizeof(sockaddr_un{}.sun_path) - 1;
  const std::string p = socket.string();
  if (p.size() > kMaxPathBytes) {
    return core::Error::invalid(fmt::format(
        "socket path {} is {} bytes long; Unix sockets allow at most {}; pick a shorter "
        "--socket-dir",
        p, p.size(), kMaxPathBytes));
  }
  return {};
}

core::Status remove_stale_socket(const std::filesystem::path& socket) {
  struct stat st {};
  if (lstat(socket.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return core::Error::denied(
        fmt::format("cannot inspect {}: {}", socket.string(), errno_text(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return core::Error::precondition(
        fmt::format("{} exists and is not a socket; move it away so the daemon can listen there",
                    socket.string()));
  }
  if (socket_is_live(socket)) {
    return core::Error::exists(fmt::format(
        "another daemon is listening on {}; stop it or give this one another --socket-dir",
        socket.string()));
  }
  if (unlink(socket.c_str()) != 0 && errno != ENOENT) {
    return core::Error::denied(
        fmt::format("cannot remove the stale socket {}: {}", socket.string(), errno_text(errno)));
  }
  return {};
}

bool socket_is_live(const std::filesystem::path& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = socket.string();
  if (p.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  // A listening socket accepts (or queues) the connection; a leftover file
  // gives ECONNREFUSED.
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  const bool live = rc == 0 || errno == EAGAIN;
  ::close(fd);
  return live;
}

std::optional<FileIdentity> identity_of(const std::filesystem::path& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{st.st_dev, st.st_ino};
}

core::Status check_socket_file(const std::filesystem::path& socket) {
  struct stat st {};
  const std::string p = socket.string();
  if (lstat(socket.c_str(), &st) != 0) {
    return core::Error::denied(fmt::format("cannot inspect socket {}: {}", p, errno_text(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return core::Error::denied(fmt::format("{} is not a socket", p));
  }
  if (st.st_uid != geteuid()) {
    return core::Error::denied(
        fmt::format("socket {} is owned by uid {}, not by you (uid {})", p, st.st_uid, geteuid()));
  }
  if ((st.st_mode & 0777) != kSocketFileMode) {
    return core::Error::denied(
        fmt::format("socket {} has mode {}; it must be 0600", p, mode_text(st.st_mode)));
  }
  return {};
}

ScopedUmask::ScopedUmask(mode_t mask) : previous_(umask(mask)) {}
ScopedUmask::~ScopedUmask() { umask(previous_); }

}  // namespace soma::api
