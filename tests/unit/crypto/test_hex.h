#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/base_encoding.h"
#include "core/bytes.h"

namespace soma::crypto::testing {

// Test vectors are written in hex; a typo in one should fail loudly.
inline core::Bytes unhex(std::string_view hex) {
  auto bytes = core::hex_decode(hex);
  EXPECT_TRUE(bytes.ok()) << "bad hex in test vector: " << hex;
  return bytes.ok() ? *bytes : core::Bytes{};
}

inline std::string hex(core::ByteView bytes) { return core::hex_encode(bytes); }

}  // namespace soma::crypto::testing
