#pragma once

#include <filesystem>

#include "core/error.h"

namespace soma::daemon {

// Exclusive ownership of a data dir by one daemon process: an flock on
// DATA_DIR/daemon.lock, which holds the owner's pid for the message a
// second daemon prints. The kernel drops the lock when the process dies,
// so a crash never leaves the data dir locked. Move-only; the lock is held
// until the object is destroyed.
class DataDirLock {
 public:
  static constexpr const char* kFileName = "daemon.lock";

  // Fails with kFailedPrecondition, naming the other daemon's pid, when
  // another process holds the lock; that daemon's files are not touched.
  static core::Result<DataDirLock> acquire(const std::filesystem::path& data_dir);

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace soma::daemon
