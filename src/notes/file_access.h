#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::notes {

// `path` taken relative to folder `base`, both '/'-separated and relative to
// one root, with "." and ".." applied; nullopt when ".." climbs above the
// root or a part holds a NUL byte. Reads nothing: the check is lexical.
std::optional<std::string> join_lexically(std::string_view base, std::string_view path);

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// A folder being imported. Every file is reached through a path that must
// stay inside the folder: `..` that climbs out and symbolic links that
// point out are refused, and the final open follows no symbolic link, so a
// link swapped in after the check is refused too. Not thread-safe.
class SourceFolder {
 public:
  // `dir` must be an existing folder; it is resolved to its real path.
  static core::Result<SourceFolder> open(const std::filesystem::path& dir);

  const std::filesystem::path& path() const { return real_root_; }

  // The real path of `rel` ('/'-separated, relative to the folder) with
  // every symbolic link resolved, relative to the folder again ("" for the
  // folder itself). kNotFound when it does not exist, kPermissionDenied
  // when it resolves outside the folder.
  core::Result<std::string> resolve(std::string_view rel) const;

  // Opens a regular file for reading. kInvalidArgument when it is not a
  // regular file; errors of resolve() otherwise.
  core::Result<UniqueFd> open_file(std::string_view rel) const;

  // Reads a whole regular file of at most `max_bytes`, else
  // kResourceExhausted.
  core::Result<std::string> read_file(std::string_view rel, std::uint64_t max_bytes) const;

 private:
  SourceFolder(std::filesystem::path real_root, UniqueFd root_fd)
      : real_root_(std::move(real_root)), root_fd_(std::move(root_fd)) {}

  std::filesystem::path real_root_;
  UniqueFd root_fd_;
};

// The longest file name (one path component) Linux file systems take.
constexpr std::size_t kMaxNameBytes = 255;

// `err` (an errno value) as an error saying what failed: EACCES/EPERM
// kPermissionDenied; ENOTDIR, ENAMETOOLONG, ELOOP, EINVAL kInvalidArgument;
// ENOENT kNotFound; EEXIST kAlreadyExists; ENOSPC/EDQUOT kResourceExhausted;
// anything else kInternal. The message is "<what>: <strerror>".
core::Error error_from_errno(int err, const std::string& what);

// A file written under a temporary name beside its target and renamed into
// place by commit(), so the target is never seen half-written. Destroying
// it uncommitted removes the temporary file. Not thread-safe.
class AtomicFile {
 public:
  // Fails with kAlreadyExists when `target` exists and `replace` is false.
  static core::Result<AtomicFile> create(const std::filesystem::path& target, bool replace = false);
  // The same for file `name` in the folder open as `dir_fd` (borrowed: it
  // is duplicated); `display` names the file in messages. Works whatever
  // the length of the folder's path.
  static core::Result<AtomicFile> create_at(int dir_fd, const std::string& name,
                                            std::string display, bool replace = false);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  core::Status write(core::ByteView data);
  // Syncs the bytes and renames the temporary file onto the target.
  core::Status commit();
  std::uint64_t written() const { return written_; }

  // The temporary file, for another process (the daemon) to write into:
  // its descriptor, still owned here, and its absolute path as this
  // process sees it (nullopt when the system cannot tell).
  int fd() const { return fd_.get(); }
  std::optional<std::string> temp_path() const;
  // Counts `bytes` someone else wrote into the temporary file; fails unless
  // it now holds exactly written() + `bytes`.
  core::Status adopt_written(std::uint64_t bytes);

 private:
  AtomicFile(UniqueFd dir, std::string name, std::string temp, std::string display, UniqueFd fd,
             bool replace)
      : dir_(std::move(dir)),
        name_(std::move(name)),
        temp_(std::move(temp)),
        display_(std::move(display)),
        fd_(std::move(fd)),
        replace_(replace) {}

  UniqueFd dir_;
  std::string name_;
  std::string temp_;
  std::string display_;
  UniqueFd fd_;
  bool replace_ = false;
  bool committed_ = false;
  std::uint64_t written_ = 0;
};

// The absolute path of the file open at `fd` as this process sees it, from
// /proc/self/fd; nullopt when there is none to tell (no /proc, a pipe).
std::optional<std::string> fd_path(int fd);

// Reads `fd` to its end in chunks of at most `chunk` bytes, handing each
// to `sink`; stops at the first error the sink returns.
core::Status read_chunks(int fd, std::size_t chunk,
                         const std::function<core::Status(core::ByteView)>& sink);

}  // namespace soma::notes
