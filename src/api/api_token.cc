#include "api/api_token.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "core/base_encoding.h"
#include "crypto/random.h"

namespace soma::api {
namespace {

constexpr std::size_t kTokenHexChars = kApiTokenBytes * 2;
// Enough for the token, a newline and stray whitespace; reading stops here
// so a huge file cannot make us allocate.
constexpr std::size_t kMaxTokenFileBytes = 256;

std::string errno_text(int err) { return std::generic_category().message(err); }

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool is_token_text(std::string_view text) {
  if (text.size() != kTokenHexChars) return false;
  for (char c : text) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!hex) return false;
  }
  return true;
}

core::Result<std::string> read_token_from(int fd, const std::filesystem::path& file) {
  std::array<char, kMaxTokenFileBytes> buf{};
  std::size_t used = 0;
  while (used < buf.size()) {
    ssize_t n = read(fd, buf.data() + used, buf.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::Error::internal(
          fmt::format("cannot read the API token file {}: {}", file.string(), errno_text(errno)));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  std::string_view text(buf.data(), used);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (!is_token_text(text)) {
    return core::Error::invalid(fmt::format(
        "the API token file {} does not hold a token (64 lower-case hex characters); delete it "
        "and restart the daemon to make a new one",
        file.string()));
  }
  return std::string(text);
}

core::Status check_token_file_owner_and_mode(int fd, const std::filesystem::path& file) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return core::Error::internal(
        fmt::format("cannot inspect the API token file {}: {}", file.string(), errno_text(errno)));
  }
  const std::string p = file.string();
  if (!S_ISREG(st.st_mode)) {
    return core::Error::denied(
        fmt::format("the API token file {} is not a regular file; remove it", p));
  }
  if (st.st_uid != geteuid()) {
    return core::Error::denied(
        fmt::format("the API token file {} is owned by uid {}; it must be owned by you (uid {})", p,
                    st.st_uid, geteuid()));
  }
  if ((st.st_mode & 077) != 0) {
    return core::Error::denied(fmt::format(
        "the API token file {} has mode {:04o}; it must be 0600 and owned by you (chmod 600 {})", p,
        st.st_mode & 07777, p));
  }
  return {};
}

core::Status write_new_token(int fd, const std::filesystem::path& file, const std::string& token) {
  const std::string line = token + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(fd, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::Error::internal(
          fmt::format("cannot write the API token file {}: {}", file.string(), errno_text(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) {
    return core::Error::internal(
        fmt::format("cannot sync the API token file {}: {}", file.string(), errno_text(errno)));
  }
  return {};
}

}  // namespace

core::Result<std::string> load_or_create_api_token(const std::filesystem::path& file) {
  // O_EXCL makes creation atomic; if the file appears in between, it is
  // read and checked like any existing file.
  Fd created(open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (created.get() >= 0) {
    std::string token = core::hex_encode(crypto::random_bytes(kApiTokenBytes));
    auto written = write_new_token(created.get(), file, token);
    if (!written.ok()) {
      unlink(file.c_str());
      return written.take_error();
    }
    return token;
  }
  if (errno != EEXIST) {
    return core::Error::denied(
        fmt::format("cannot create the API token file {}: {}", file.string(), errno_text(errno)));
  }
  Fd existing(open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (existing.get() < 0) {
    return core::Error::denied(
        fmt::format("cannot open the API token file {}: {}", file.string(), errno_text(errno)));
  }
  SOMA_TRY(check_token_file_owner_and_mode(existing.get(), file));
  return read_token_from(existing.get(), file);
}

core::Result<std::string> read_api_token(const std::filesystem::path& file) {
  Fd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return core::Error::not_found(
          fmt::format("the API token file {} does not exist", file.string()));
    }
    return core::Error::denied(
        fmt::format("cannot open the API token file {}: {}", file.string(), errno_text(errno)));
  }
  return read_token_from(fd.get(), file);
}

bool api_token_matches(std::string_view expected, std::string_view presented) {
  if (expected.empty() || presented.size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), presented.data(), expected.size()) == 0;
}

}  // namespace soma::api
