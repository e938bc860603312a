#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::crypto {

// ChaCha20-Poly1305 as RFC 8439 §2.8 defines it (the IETF variant).
inline constexpr std::size_t kAeadKeySize = 32;
inline constexpr std::size_t kAeadNonceSize = 12;
inline constexpr std::size_t kAeadTagSize = 16;

using AeadKey = std::array<std::uint8_t, kAeadKeySize>;
using AeadNonce = std::array<std::uint8_t, kAeadNonceSize>;

// The 96-bit nonce Noise builds from its 64-bit message counter
// (Noise spec §12.3, the ChaChaPoly cipher functions): four zero bytes,
// then the counter in little-endian order.
AeadNonce counter_nonce(std::uint64_t counter);

// A ChaCha20-Poly1305 cipher keyed once and reused for many messages, so a
// stream of messages pays no per-call key setup or allocation.
// Not thread-safe: use one instance per direction and per thread. Movable,
// not copyable; the key schedule is wiped when the object is destroyed.
//
// Ciphertexts are laid out as `encrypted bytes ‖ 16-byte tag`.
class ChaChaPoly {
 public:
  // Errors: kInvalidArgument unless `key` is 32 bytes; kInternal if OpenSSL
  // cannot set up the cipher.
  static core::Result<ChaChaPoly> create(core::ByteView key);

  ChaChaPoly(ChaChaPoly&&) noexcept;
  ChaChaPoly& operator=(ChaChaPoly&&) noexcept;
  ~ChaChaPoly();

  // Encrypts `plaintext` into `out`, which must be exactly
  // plaintext.size() + 16 bytes; `out` may start at plaintext.data()
  // (in-place). Errors: kInvalidArgument for a wrong `out` size,
  // kInternal if OpenSSL fails.
  core::Status seal_into(const AeadNonce& nonce, core::ByteView ad, core::ByteView plaintext,
                         std::span<std::uint8_t> out);

  // Decrypts and authenticates `ciphertext` (encrypted bytes ‖ tag) into
  // `out`, which must be exactly ciphertext.size() - 16 bytes; in-place is
  // allowed. Errors: kInvalidArgument when the ciphertext is shorter than a
  // tag or `out` has the wrong size; kDataLoss when authentication fails (the
  // bytes were altered, or the key, nonce or associated data differ); `out`
  // is zeroed on any failure so unauthenticated bytes never escape.
  core::Status open_into(const AeadNonce& nonce, core::ByteView ad, core::ByteView ciphertext,
                         std::span<std::uint8_t> out);

  // Allocating forms of the above.
  core::Result<core::Bytes> seal(const AeadNonce& nonce, core::ByteView ad,
                                 core::ByteView plaintext);
  core::Result<core::Bytes> open(const AeadNonce& nonce, core::ByteView ad,
                                 core::ByteView ciphertext);
  // Noise's counter form: the nonce is counter_nonce(counter).
  core::Result<core::Bytes> seal(std::uint64_t counter, core::ByteView ad,
                                 core::ByteView plaintext);
  core::Result<core::Bytes> open(std::uint64_t counter, core::ByteView ad,
                                 core::ByteView ciphertext);

 private:
  struct Ctx;
  explicit ChaChaPoly(std::unique_ptr<Ctx> ctx);
  std::unique_ptr<Ctx> ctx_;
};

// One-shot forms for occasional use; they key a fresh cipher per call.
// Errors as for ChaChaPoly::create and ChaChaPoly::seal / open.
core::Result<core::Bytes> seal(core::ByteView key, const AeadNonce& nonce, core::ByteView ad,
                               core::ByteView plaintext);
core::Result<core::Bytes> open(core::ByteView key, const AeadNonce& nonce, core::ByteView ad,
                               core::ByteView ciphertext);
core::Result<core::Bytes> seal(core::ByteView key, std::uint64_t counter, core::ByteView ad,
                               core::ByteView plaintext);
core::Result<core::Bytes> open(core::ByteView key, std::uint64_t counter, core::ByteView ad,
                               core::ByteView ciphertext);

}  // namespace soma::crypto
