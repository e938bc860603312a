#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::crypto {

inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SignatureSize = 64;

using Ed25519Signature = std::array<std::uint8_t, kEd25519SignatureSize>;

// An Ed25519 public key (RFC 8032). Immutable value type: copies are cheap
// (they share one read-only OpenSSL key) and may be used from any thread.
class Ed25519PublicKey {
 public:
  // Copy-only on purpose: a "moved-from" key stays a valid copy.
  Ed25519PublicKey(const Ed25519PublicKey&) = default;
  Ed25519PublicKey& operator=(const Ed25519PublicKey&) = default;

  // Accepts exactly 32 bytes. Whether they encode a curve point is checked
  // by OpenSSL when verifying: bytes that are not a point verify nothing.
  // Errors: kInvalidArgument for a wrong length or a key OpenSSL rejects.
  static core::Result<Ed25519PublicKey> from_raw(core::ByteView raw);

  const std::array<std::uint8_t, kEd25519PublicKeySize>& raw() const { return raw_; }

  // True only when `signature` is a valid RFC 8032 signature of `message`
  // by this key. A signature of the wrong length is simply invalid.
  bool verify(core::ByteView message, core::ByteView signature) const;

  friend bool operator==(const Ed25519PublicKey& a, const Ed25519PublicKey& b) {
    return a.raw_ == b.raw_;
  }

 private:
  struct Key;
  Ed25519PublicKey(std::array<std::uint8_t, kEd25519PublicKeySize> raw, std::shared_ptr<Key> key)
      : raw_(raw), key_(std::move(key)) {}

  std::array<std::uint8_t, kEd25519PublicKeySize> raw_{};
  std::shared_ptr<Key> key_;
};

// An Ed25519 private key, held as its 32-byte seed. Copies share one
// read-only OpenSSL key, so signing from several threads at once is safe.
// Our copy of the seed is wiped (OPENSSL_cleanse) when the object dies, and
// OpenSSL wipes its own copy when the last sharer goes.
// Never log a private key or its seed.
class Ed25519PrivateKey {
 public:
  // A new key from the CSPRNG (aborts if the CSPRNG fails; see random.h).
  static Ed25519PrivateKey generate();
  // Errors: kInvalidArgument unless `seed` is exactly 32 bytes.
  static core::Result<Ed25519PrivateKey> from_seed(core::ByteView seed);

  // Copy-only on purpose: a "moved-from" key stays a valid copy.
  Ed25519PrivateKey(const Ed25519PrivateKey&) = default;
  Ed25519PrivateKey& operator=(const Ed25519PrivateKey&) = default;
  ~Ed25519PrivateKey();

  // The secret seed (RFC 8032's 32-byte private key). Handle with care.
  const std::array<std::uint8_t, kEd25519SeedSize>& seed() const { return seed_; }
  const Ed25519PublicKey& public_key() const { return public_; }

  // Deterministic RFC 8032 signature (pure Ed25519, no pre-hash). Aborts
  // only if OpenSSL itself fails (memory exhaustion), never on any input.
  Ed25519Signature sign(core::ByteView message) const;

 private:
  struct Key;
  Ed25519PrivateKey(std::array<std::uint8_t, kEd25519SeedSize> seed, std::shared_ptr<Key> key,
                    Ed25519PublicKey pub)
      : seed_(seed), key_(std::move(key)), public_(std::move(pub)) {}

  std::array<std::uint8_t, kEd25519SeedSize> seed_{};
  std::shared_ptr<Key> key_;
  Ed25519PublicKey public_;
};

}  // namespace soma::crypto
