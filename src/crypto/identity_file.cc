#include "crypto/identity_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>

#include "core/bytes.h"
#include "crypto/keys.h"
#include "crypto/random.h"

namespace soma::crypto {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;
constexpr mode_t kGroupOtherBits = 0077;

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// An OS failure on `path`, classified so callers can tell access problems
// from other I/O trouble.
core::Error os_error(const std::string& action, const fs::path& path, int err) {
  std::string msg = "cannot " + action + " " + path.string() + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) return core::Error::denied(std::move(msg));
  return core::Error::precondition(std::move(msg));
}

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, reporting the result (a late write error can surface here).
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

core::Status check_owner(const fs::path& path, const struct stat& st) {
  if (st.st_uid != ::geteuid()) {
    return core::Error::denied(path.string() + " is owned by uid " + std::to_string(st.st_uid) +
                               ", not by this process's uid " + std::to_string(::geteuid()) +
                               "; the identity must belong to the user running Soma");
  }
  return {};
}

// Creates `dir` (0700) when missing, then insists it is a private directory.
core::Status prepare_dir(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return os_error("inspect identity directory", dir, errno);
    if (dir.has_parent_path()) {
      std::error_code ec;
      fs::create_directories(dir.parent_path(), ec);
      if (ec) return os_error("create the parent of", dir, ec.value());
    }
    if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return os_error("create identity directory", dir, errno);
    }
    // The umask may have taken bits away; the mode must be exactly 0700.
    if (::chmod(dir.c_str(), kDirMode) != 0) {
      return os_error("set mode 0700 on identity directory", dir, errno);
    }
    if (::stat(dir.c_str(), &st) != 0) return os_error("inspect identity directory", dir, errno);
  }

  if (!S_ISDIR(st.st_mode)) {
    return core::Error::precondition("identity directory " + dir.string() +
                                     " exists but is not a directory");
  }
  SOMA_TRY(check_owner(dir, st));
  if ((st.st_mode & kGroupOtherBits) != 0) {
    return core::Error::denied(
        "identity directory " + dir.string() + " has mode " + mode_text(st.st_mode) +
        ", which lets group or others in; run `chmod 700 " + dir.string() + "` and start again");
  }
  return {};
}

// What reading the key file found.
struct Loaded {
  bool missing = false;
  std::optional<Ed25519PrivateKey> key;
};

core::Result<Loaded> load_existing(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Loaded{true, std::nullopt};
    if (errno == ELOOP) {
      return core::Error::denied("identity key " + path.string() +
                                 " is a symbolic link; it must be a regular file");
    }
    return os_error("open identity key", path, errno);
  }

  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("inspect identity key", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return core::Error::denied("identity key " + path.string() + " is not a regular file");
  }
  SOMA_TRY(check_owner(path, st));
  if ((st.st_mode & kGroupOtherBits) != 0) {
    return core::Error::denied("identity key " + path.string() + " has mode " +
                               mode_text(st.st_mode) +
                               ", which lets group or others read or change it; run `chmod 600 " +
                               path.string() + "` and start again");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxEncodedKeySize) {
    return core::Error::data_loss("identity key " + path.string() + " is " +
                                  std::to_string(st.st_size) +
                                  " bytes, far larger than any key; it is corrupt and was left "
                                  "untouched (move it away to create a new identity)");
  }

  // Read up to one byte past the limit, in case the file grew after fstat.
  core::Bytes bytes(kMaxEncodedKeySize + 1);
  std::size_t total = 0;
  while (total < bytes.size()) {
    ssize_t n = ::read(fd.get(), bytes.data() + total, bytes.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("read identity key", path, errno);
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
  }
  auto key = decode_private_key(core::ByteView(bytes).first(total));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!key.ok()) {
    return core::Error::data_loss("identity key " + path.string() +
                                  " is corrupt and was left untouched (" + key.error().message +
                                  "); restore it from a backup, or move it away to create a new "
                                  "identity with a new PeerId");
  }
  return Loaded{false, std::move(key).value()};
}

core::Status write_all(int fd, core::ByteView data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("write", path, errno);
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

core::Status sync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return os_error("open identity directory", dir, errno);
  if (::fsync(fd.get()) != 0) return os_error("sync identity directory", dir, errno);
  return {};
}

// Writes `encoded` to a private temporary file and links it into place as
// `path`. Returns false (and writes nothing) when `path` appeared meanwhile.
core::Result<bool> publish(const fs::path& dir, const fs::path& path, core::ByteView encoded) {
  fs::path tmp = dir / ("." + std::string(kIdentityFileName) + "." + random_id() + ".tmp");
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode));
  if (fd.get() < 0) return os_error("create temporary identity key", tmp, errno);

  auto fail = [&](core::Error e) -> core::Result<bool> {
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd.get(), kFileMode) != 0) return fail(os_error("set mode 0600 on", tmp, errno));
  if (auto st = write_all(fd.get(), encoded, tmp); !st.ok()) return fail(st.take_error());
  if (::fsync(fd.get()) != 0) return fail(os_error("sync", tmp, errno));
  if (fd.close() != 0) return fail(os_error("close", tmp, errno));

  // link() never replaces an existing file, unlike rename().
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) return false;
    return os_error("install identity key", path, err);
  }
  ::unlink(tmp.c_str());
  SOMA_TRY(sync_dir(dir));
  return true;
}

}  // namespace

core::Result<Ed25519PrivateKey> load_or_create_identity(const fs::path& dir) {
  SOMA_TRY(prepare_dir(dir));
  const fs::path path = dir / kIdentityFileName;

  auto loaded = load_existing(path);
  if (!loaded.ok()) return loaded.take_error();
  if (!loaded->missing) return std::move(*loaded->key);

  // No identity yet: create one.
  Ed25519PrivateKey key = Ed25519PrivateKey::generate();
  core::Bytes encoded = encode_private_key(key);
  auto published = publish(dir, path, encoded);
  OPENSSL_cleanse(encoded.data(), encoded.size());
  if (!published.ok()) return published.take_error();
  if (*published) return key;

  // Another process created the identity first; use theirs.
  auto theirs = load_existing(path);
  if (!theirs.ok()) return theirs.take_error();
  if (theirs->missing) {
    return core::Error::precondition("identity key " + path.string() +
                                     " appeared and vanished while it was being created");
  }
  return std::move(*theirs->key);
}

}  // namespace soma::crypto
