#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base_encoding.h"
#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"

namespace soma::cap::testing {

// Test vectors are written in hex; a typo in one should fail loudly.
inline core::Bytes unhex(std::string_view hex) {
  auto bytes = core::hex_decode(hex);
  EXPECT_TRUE(bytes.ok()) << "bad hex in test vector: " << hex;
  return bytes.ok() ? *bytes : core::Bytes{};
}

inline std::string hex(core::ByteView bytes) { return core::hex_encode(bytes); }

// A fixed key per name byte, so failures reproduce.
inline crypto::Ed25519PrivateKey fixed_key(std::uint8_t fill) {
  core::Bytes seed(crypto::kEd25519SeedSize, fill);
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

inline crypto::PeerId peer_of(const crypto::Ed25519PrivateKey& key) {
  return crypto::PeerId::from_public_key(key.public_key());
}

}  // namespace soma::cap::testing
