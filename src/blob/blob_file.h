#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/bytes.h"
#include "core/error.h"

// POSIX file operations the blob store needs for crash safety: exclusive
// creation, full writes, fsync of files and directories, atomic rename.
// Errors are kInternal values naming the path and the system's reason.
namespace soma::blob::file {

using core::Result;
using core::Status;

// An owned file descriptor, closed on destruction. Move-only.
class File {
 public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  File(File&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  // Creates a new file (failing if it exists) for writing, mode 0600.
  static Result<File> create_exclusive(const std::filesystem::path& path);
  // Opens an existing file for reading; kNotFound when it does not exist.
  static Result<File> open_read(const std::filesystem::path& path);

  bool is_open() const { return fd_ >= 0; }
  // The descriptor, still owned by this object; -1 when closed.
  int fd() const { return fd_; }
  Status write_all(core::ByteView data, const std::filesystem::path& path);
  // Reads up to `size` bytes at `offset`, fewer only at the end of the file.
  Result<std::size_t> read_at(std::uint8_t* out, std::size_t size, std::uint64_t offset,
                              const std::filesystem::path& path);
  Result<std::uint64_t> size(const std::filesystem::path& path);
  Status sync(const std::filesystem::path& path);
  Status close(const std::filesystem::path& path);

 private:
  int fd_ = -1;
};

// Creates `dir` with mode 0700 unless it exists; true when it was created.
Result<bool> make_dir(const std::filesystem::path& dir);
// Makes directory entries (creations, renames, removals) in `dir` durable.
Status sync_dir(const std::filesystem::path& dir);
// Atomically replaces `to` with `from`.
Status rename(const std::filesystem::path& from, const std::filesystem::path& to);
// Removes a file; a file already gone is not an error.
Status remove(const std::filesystem::path& path);
Result<bool> exists(const std::filesystem::path& path);

}  // namespace soma::blob::file
