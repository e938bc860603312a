#include "notes/file_access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace soma::notes {
namespace {

namespace fs = std::filesystem;
using core::Error;
using core::Result;
using core::Status;

std::string errno_text(int err) { return std::strerror(err); }

std::vector<std::string> split_components(std::string_view rel) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= rel.size()) {
    std::size_t slash = rel.find('/', i);
    if (slash == std::string_view::npos) slash = rel.size();
    if (slash > i) parts.emplace_back(rel.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 10; ++i) s.push_back(kAlphabet[rng() % (sizeof kAlphabet - 1)]);
  return s;
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<SourceFolder> SourceFolder::open(const fs::path& dir) {
  char buf[PATH_MAX];
  if (::realpath(dir.c_str(), buf) == nullptr) {
    int err = errno;
    if (err == ENOENT) return Error::not_found("folder " + dir.string() + " does not exist");
    return Error::invalid("cannot open folder " + dir.string() + ": " + errno_text(err));
  }
  UniqueFd fd(::open(buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOTDIR) return Error::invalid(dir.string() + " is not a folder");
    return Error::invalid("cannot open folder " + dir.string() + ": " + errno_text(err));
  }
  return SourceFolder(fs::path(buf), std::move(fd));
}

Result<std::string> SourceFolder::resolve(std::string_view rel) const {
  // Lexically first: `..` may never climb above the folder.
  std::vector<std::string> parts;
  for (auto& part : split_components(rel)) {
    if (part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return Error::denied("path leaves the import folder");
      parts.pop_back();
      continue;
    }
    parts.push_back(std::move(part));
  }
  fs::path joined = real_root_;
  for (const auto& part : parts) joined /= part;

  // Then with every symbolic link resolved.
  char buf[PATH_MAX];
  if (::realpath(joined.c_str(), buf) == nullptr) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return Error::not_found("does not exist");
    return Error::denied("cannot resolve: " + errno_text(err));
  }
  std::string real(buf);
  const std::string& root = real_root_.native();
  if (real == root) return std::string();
  std::string prefix = root == "/" ? root : root + "/";
  if (real.compare(0, prefix.size(), prefix) != 0) {
    return Error::denied("resolves outside the import folder (through a symbolic link)");
  }
  return real.substr(prefix.size());
}

Result<UniqueFd> SourceFolder::open_file(std::string_view rel) const {
  auto real = resolve(rel);
  if (!real) return real.take_error();
  if (real->empty()) return Error::invalid("is a folder, not a file");

  // The resolved path holds no symbolic links; walk it refusing any, so a
  // link swapped in since resolve() cannot lead outside.
  std::vector<std::string> parts = split_components(*real);
  UniqueFd dir(::dup(root_fd_.get()));
  if (!dir.valid()) return Error::internal("cannot duplicate a descriptor: " + errno_text(errno));
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    UniqueFd next(
        ::openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return Error::denied("changed while being read: " + errno_text(errno));
    dir = std::move(next);
  }
  UniqueFd file(
      ::openat(dir.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!file.valid()) {
    int err = errno;
    if (err == ELOOP) return Error::denied("changed while being read");
    return Error::denied("cannot open: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return Error::denied("cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) return Error::invalid("is not a regular file");
  // Regular files never block; clear the flag that kept a FIFO from hanging.
  int flags = ::fcntl(file.get(), F_GETFL);
  if (flags >= 0) ::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK);
  return file;
}

Result<std::string> SourceFolder::read_file(std::string_view rel, std::uint64_t max_bytes) const {
  auto fd = open_file(rel);
  if (!fd) return fd.take_error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return Error::denied("cannot stat: " + errno_text(errno));
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return Error::exhausted("is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  Status s = read_chunks(fd->get(), 1 << 16, [&](core::ByteView chunk) -> Status {
    if (out.size() + chunk.size() > max_bytes) {
      return Error::exhausted("grew past " + std::to_string(max_bytes) + " bytes while read");
    }
    out.append(core::as_chars(chunk));
    return {};
  });
  if (!s) return s.take_error();
  return out;
}

Status read_chunks(int fd, std::size_t chunk, const std::function<Status(core::ByteView)>& sink) {
  std::vector<std::uint8_t> buf(chunk);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::denied("cannot read: " + errno_text(errno));
    }
    if (n == 0) return {};
    SOMA_TRY(sink(core::ByteView(buf.data(), static_cast<std::size_t>(n))));
  }
}

Error error_from_errno(int err, const std::string& what) {
  std::string message = what + ": " + errno_text(err);
  switch (err) {
    case EACCES:
    case EPERM:
      return Error::denied(std::move(message));
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
    case EINVAL:
      return Error::invalid(std::move(message));
    case ENOENT:
      return Error::not_found(std::move(message));
    case EEXIST:
      return Error::exists(std::move(message));
    case ENOSPC:
    case EDQUOT:
      return Error::exhausted(std::move(message));
    default:
      return Error::internal(std::move(message));
  }
}

Result<AtomicFile> AtomicFile::create(const fs::path& target, bool replace) {
  fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return error_from_errno(errno, "cannot open folder " + dir.string());
  return create_at(dir_fd.get(), target.filename().string(), target.string(), replace);
}

Result<AtomicFile> AtomicFile::create_at(int dir_fd, const std::string& name, std::string display,
                                         bool replace) {
  struct stat st {};
  if (!replace && ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return Error::exists(display + " already exists");
  }
  UniqueFd dir(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
  if (!dir.valid()) return Error::internal("cannot duplicate a descriptor: " + errno_text(errno));
  for (int attempt = 0; attempt < 16; ++attempt) {
    // The temporary name carries the target's name when that still fits.
    std::string suffix = ".soma-" + random_suffix() + ".tmp";
    std::string temp = "." + name + suffix;
    if (temp.size() > kMaxNameBytes) temp = suffix;
    UniqueFd fd(::openat(dir.get(), temp.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd.valid()) {
      return AtomicFile(std::move(dir), name, std::move(temp), std::move(display), std::move(fd),
                        replace);
    }
    if (errno != EEXIST) return error_from_errno(errno, "cannot create " + display);
  }
  return Error::internal("cannot find a free temporary name beside " + display);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : dir_(std::move(other.dir_)),
      name_(std::move(other.name_)),
      temp_(std::move(other.temp_)),
      display_(std::move(other.display_)),
      fd_(std::move(other.fd_)),
      replace_(other.replace_),
      committed_(other.committed_),
      written_(other.written_) {
  other.committed_ = true;  // the moved-from object owns no temporary file
}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_.empty() && dir_.valid()) ::unlinkat(dir_.get(), temp_.c_str(), 0);
}

Status AtomicFile::write(core::ByteView data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::exhausted("cannot write " + display_ + ": " + errno_text(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  written_ += data.size();
  return {};
}

Status AtomicFile::commit() {
  if (committed_) return Error::internal("file committed twice");
  if (::fsync(fd_.get()) != 0) {
    return Error::exhausted("cannot sync " + display_ + ": " + errno_text(errno));
  }
  fd_ = UniqueFd();
  int dir = dir_.get();
  if (replace_) {
    if (::renameat(dir, temp_.c_str(), dir, name_.c_str()) != 0) {
      return error_from_errno(errno, "cannot rename into " + display_);
    }
  } else {
    // Never replace a file that appeared meanwhile.
    if (::renameat2(dir, temp_.c_str(), dir, name_.c_str(), RENAME_NOREPLACE) != 0) {
      int err = errno;
      if (err == EEXIST) return Error::exists(display_ + " already exists");
      struct stat st {};
      bool unsupported = err == EINVAL || err == ENOSYS;
      if (!unsupported || ::fstatat(dir, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ||
          ::renameat(dir, temp_.c_str(), dir, name_.c_str()) != 0) {
        return error_from_errno(err, "cannot create " + display_);
      }
    }
  }
  committed_ = true;
  return {};
}

std::optional<std::string> fd_path(int fd) {
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  std::string target(PATH_MAX, '\0');
  ssize_t n = ::readlink(link.c_str(), target.data(), target.size());
  // A full buffer may be a truncated path.
  if (n <= 0 || static_cast<std::size_t>(n) >= target.size()) return std::nullopt;
  target.resize(static_cast<std::size_t>(n));
  if (target.front() != '/') return std::nullopt;  // "pipe:[…]", "anon_inode:…"
  return target;
}

std::optional<std::string> AtomicFile::temp_path() const {
  if (committed_ || !dir_.valid()) return std::nullopt;
  auto dir = fd_path(dir_.get());
  if (!dir) return std::nullopt;
  return *dir == "/" ? "/" + temp_ : *dir + "/" + temp_;
}

Status AtomicFile::adopt_written(std::uint64_t bytes) {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) {
    return error_from_errno(errno, "cannot check " + display_);
  }
  if (static_cast<std::uint64_t>(st.st_size) != written_ + bytes) {
    return Error::internal(display_ + " holds " + std::to_string(st.st_size) + " bytes, not the " +
                           std::to_string(written_ + bytes) + " written into it");
  }
  written_ += bytes;
  return {};
}

std::optional<std::string> join_lexically(std::string_view base, std::string_view path) {
  std::vector<std::string> parts;
  auto push = [&](std::string_view text) -> bool {
    std::size_t i = 0;
    while (i <= text.size()) {
      std::size_t slash = text.find('/', i);
      if (slash == std::string_view::npos) slash = text.size();
      std::string_view part = text.substr(i, slash - i);
      i = slash + 1;
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
        continue;
      }
      if (part.find('\0') != std::string_view::npos) return false;
      parts.emplace_back(part);
    }
    return true;
  };
  if (!push(base) || !push(path)) return std::nullopt;
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

}  // namespace soma::notes
