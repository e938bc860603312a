#include "crypto/x25519.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_hex.h"

namespace soma::crypto {
namespace {

using testing::hex;
using testing::unhex;

X25519PublicKey public_of(std::string_view h) {
  X25519PublicKey out{};
  core::Bytes bytes = unhex(h);
  EXPECT_EQ(bytes.size(), out.size());
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
  return out;
}

std::string x25519(std::string_view scalar, std::string_view u) {
  auto pair = X25519KeyPair::from_private(unhex(scalar));
  EXPECT_TRUE(pair.ok());
  auto out = dh(*pair, public_of(u));
  EXPECT_TRUE(out.ok()) << out.error().message;
  return out.ok() ? hex(*out) : std::string();
}

TEST(X25519, matches_rfc_7748_section_5_2_vectors) {
  EXPECT_EQ(x25519("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                   "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  // The u-coordinate has its top bit set, which X25519 must ignore.
  EXPECT_EQ(x25519("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                   "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

TEST(X25519, matches_rfc_7748_section_6_1_key_agreement) {
  auto alice = X25519KeyPair::from_private(
      unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = X25519KeyPair::from_private(
      unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(hex(alice->public_key()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hex(bob->public_key()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

  auto k1 = dh(*alice, bob->public_key());
  auto k2 = dh(*bob, alice->public_key());
  ASSERT_TRUE(k1.ok());
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(hex(*k1), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*k1, *k2);
}

TEST(X25519, generated_pairs_agree_on_a_secret) {
  auto a = X25519KeyPair::generate();
  auto b = X25519KeyPair::generate();
  EXPECT_NE(a.public_key(), b.public_key());
  auto k1 = dh(a, b.public_key());
  auto k2 = dh(b, a.public_key());
  ASSERT_TRUE(k1.ok());
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(*k1, *k2);

  X25519KeyPair copy = a;
  EXPECT_EQ(copy.private_key(), a.private_key());
  EXPECT_EQ(*dh(copy, b.public_key()), *k1);
}

TEST(X25519, rejects_small_order_points_that_give_an_all_zero_secret) {
  auto pair = X25519KeyPair::generate();
  const char* small_order[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // u = 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // u = 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
  };
  for (const char* u : small_order) {
    SCOPED_TRACE(u);
    auto out = dh(pair, public_of(u));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(out.error().message.find("small-order"), std::string::npos);
  }
}

TEST(X25519, rejects_private_keys_of_the_wrong_length) {
  auto pair = X25519KeyPair::from_private(core::Bytes(31, 7));
  ASSERT_FALSE(pair.ok());
  EXPECT_EQ(pair.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace soma::crypto
