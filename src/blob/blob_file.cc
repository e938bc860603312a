#include "blob/blob_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace soma::blob::file {
namespace {

using core::Error;

Error sys_error(std::string_view doing, const std::filesystem::path& path, int err) {
  return Error::internal(std::string(doing) + " " + path.string() + ": " + std::strerror(err));
}

}  // namespace

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

Result<File> File::create_exclusive(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return sys_error("cannot create", path, errno);
  return File(fd);
}

Result<File> File::open_read(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Error::not_found(path.string() + " does not exist");
    return sys_error("cannot open", path, err);
  }
  return File(fd);
}

Status File::write_all(core::ByteView data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("cannot write", path, errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

Result<std::size_t> File::read_at(std::uint8_t* out, std::size_t size, std::uint64_t offset,
                                  const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd_, out + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("cannot read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Result<std::uint64_t> File::size(const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return sys_error("cannot stat", path, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

Status File::sync(const std::filesystem::path& path) {
  if (::fsync(fd_) != 0) return sys_error("cannot sync", path, errno);
  return {};
}

Status File::close(const std::filesystem::path& path) {
  int fd = fd_;
  fd_ = -1;
  if (fd >= 0 && ::close(fd) != 0) return sys_error("cannot close", path, errno);
  return {};
}

Result<bool> make_dir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return true;
  int err = errno;
  if (err != EEXIST) return sys_error("cannot create directory", dir, err);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return sys_error("cannot stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return Error::internal(dir.string() + " exists and is not a directory");
  return false;
}

Status sync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("cannot open directory", dir, errno);
  File f(fd);
  return f.sync(dir);
}

Status rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return sys_error("cannot rename " + from.string() + " to", to, errno);
  }
  return {};
}

Status remove(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return sys_error("cannot remove", path, errno);
  return {};
}

Result<bool> exists(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return sys_error("cannot stat", path, errno);
}

}  // namespace soma::blob::file
