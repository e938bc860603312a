#include "data_dir_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <string>
#include <system_error>

namespace soma::daemon {
namespace {

// A pid in decimal and a newline fit easily; anything more is not ours.
constexpr std::size_t kMaxLockFileBytes = 32;

std::string errno_text(int err) { return std::generic_category().message(err); }

// The pid written by the lock's holder, or empty when unreadable.
std::string holder_pid(int fd) {
  std::array<char, kMaxLockFileBytes> buf{};
  ssize_t n = pread(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return {};
  std::string_view text(buf.data(), static_cast<std::size_t>(n));
  long pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end == text.data() || pid <= 0) return {};
  return std::to_string(pid);
}

}  // namespace

core::Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& data_dir) {
  const std::filesystem::path file = data_dir / kFileName;
  // No O_TRUNC: if another daemon holds the lock, its pid must survive.
  int fd = open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    std::string msg = fmt::format("cannot open {}: {}", file.string(), errno_text(err));
    if (err == EACCES || err == EPERM) return core::Error::denied(std::move(msg));
    return core::Error::precondition(std::move(msg));
  }
  DataDirLock lock(fd);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      std::string pid = holder_pid(fd);
      return core::Error::precondition(fmt::format(
          "another soma-daemon (pid {}) is already using {}; stop it first or pick another "
          "--data-dir",
          pid.empty() ? "unknown" : pid, data_dir.string()));
    }
    return core::Error::precondition(
        fmt::format("cannot lock {}: {}", file.string(), errno_text(errno)));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return core::Error::precondition(
        fmt::format("cannot write our pid to {}: {}", file.string(), errno_text(errno)));
  }
  return lock;
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace soma::daemon
