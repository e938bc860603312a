#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::crypto {

inline constexpr std::size_t kX25519KeySize = 32;

using X25519PublicKey = std::array<std::uint8_t, kX25519KeySize>;
using X25519SharedSecret = std::array<std::uint8_t, kX25519KeySize>;

// An X25519 key pair (RFC 7748), as Noise uses for its ephemeral and static
// keys. Value type: copies share one read-only OpenSSL key, so dh() may run
// on several threads at once. Our copy of the private half is wiped
// (OPENSSL_cleanse) on destruction, OpenSSL's when the last sharer goes.
// Never log it.
class X25519KeyPair {
 public:
  // A new key pair from the CSPRNG (aborts if the CSPRNG fails).
  static X25519KeyPair generate();
  // Errors: kInvalidArgument unless `private_key` is exactly 32 bytes.
  // Clamping is applied by X25519 itself, so any 32 bytes are a valid key.
  static core::Result<X25519KeyPair> from_private(core::ByteView private_key);

  // Copy-only on purpose: a "moved-from" pair stays a valid copy.
  X25519KeyPair(const X25519KeyPair&) = default;
  X25519KeyPair& operator=(const X25519KeyPair&) = default;
  ~X25519KeyPair();

  const X25519PublicKey& public_key() const { return public_; }
  const std::array<std::uint8_t, kX25519KeySize>& private_key() const { return private_; }

 private:
  friend core::Result<X25519SharedSecret> dh(const X25519KeyPair&, const X25519PublicKey&);
  struct Key;
  X25519KeyPair() = default;

  std::array<std::uint8_t, kX25519KeySize> private_{};
  X25519PublicKey public_{};
  std::shared_ptr<const Key> key_;
};

// X25519(local private, peer public). Thread-safe.
// Errors: kInvalidArgument when the result is all zeros, which happens
// exactly when the peer sent a small-order point: such a "shared" secret is
// known to anyone, so the handshake must fail.
core::Result<X25519SharedSecret> dh(const X25519KeyPair& local, const X25519PublicKey& peer);

}  // namespace soma::crypto
