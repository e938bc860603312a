#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/sha256.h"

namespace soma::crypto {

// Functions here that return no Result abort only if OpenSSL itself fails
// (memory exhaustion, a broken install): wrong key material is never
// returned.

// HMAC-SHA256 (RFC 2104) of `data` under `key`. Thread-safe.
Sha256Digest hmac_sha256(core::ByteView key, core::ByteView data);

// The most RFC 5869 lets one HKDF-SHA256 call produce: 255 hash blocks.
inline constexpr std::size_t kHkdfMaxOutput = 255 * 32;

// HKDF-SHA256 (RFC 5869): extract with `salt` (empty means the RFC's
// zero-filled default), then expand with `info` to `length` bytes.
// Errors: kInvalidArgument when length is 0 or above kHkdfMaxOutput.
core::Result<core::Bytes> hkdf_sha256(core::ByteView salt, core::ByteView ikm, core::ByteView info,
                                      std::size_t length);

// Noise's HKDF(chaining_key, input_key_material, n) (Noise spec §4.3):
// n 32-byte outputs, equal to HKDF-SHA256 with salt = chaining key, empty
// info. The chaining key is 32 bytes (the hash length) in Noise; other
// lengths are accepted as HMAC keys. Thread-safe.
std::array<Sha256Digest, 2> hkdf2(core::ByteView chaining_key, core::ByteView ikm);
std::array<Sha256Digest, 3> hkdf3(core::ByteView chaining_key, core::ByteView ikm);

}  // namespace soma::crypto
