#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include <string>

#include "test_hex.h"

namespace soma::crypto {
namespace {

using testing::hex;
using testing::unhex;

struct Rfc8032Vector {
  const char* name;
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 §7.1, TEST 1 to TEST 3.
const Rfc8032Vector kVectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9"
     "b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f1"
     "1d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984d"
     "c6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519, rfc_8032_vectors_derive_the_public_key_and_sign_exactly) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.name);
    auto key = Ed25519PrivateKey::from_seed(unhex(v.secret));
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(hex(key->public_key().raw()), v.public_key);
    EXPECT_EQ(hex(key->seed()), v.secret);
    EXPECT_EQ(hex(key->sign(unhex(v.message))), v.signature);
  }
}

TEST(Ed25519, rfc_8032_signatures_verify_and_tampered_messages_do_not) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.name);
    auto pub = Ed25519PublicKey::from_raw(unhex(v.public_key));
    ASSERT_TRUE(pub.ok()) << pub.error().message;
    core::Bytes message = unhex(v.message);
    core::Bytes signature = unhex(v.signature);
    EXPECT_TRUE(pub->verify(message, signature));

    core::Bytes longer = message;
    longer.push_back(0x00);
    EXPECT_FALSE(pub->verify(longer, signature));
    if (!message.empty()) {
      core::Bytes flipped = message;
      flipped[0] ^= 0x01;
      EXPECT_FALSE(pub->verify(flipped, signature));
    }
    core::Bytes bad_signature = signature;
    bad_signature[10] ^= 0x80;
    EXPECT_FALSE(pub->verify(message, bad_signature));
  }
}

TEST(Ed25519, signatures_of_the_wrong_length_are_invalid) {
  auto key = Ed25519PrivateKey::generate();
  auto sig = key.sign(core::as_bytes("hello"));
  EXPECT_TRUE(key.public_key().verify(core::as_bytes("hello"), sig));
  EXPECT_FALSE(key.public_key().verify(core::as_bytes("hello"), core::ByteView(sig).first(63)));
  EXPECT_FALSE(key.public_key().verify(core::as_bytes("hello"), {}));
}

TEST(Ed25519, another_key_does_not_verify_the_signature) {
  auto a = Ed25519PrivateKey::generate();
  auto b = Ed25519PrivateKey::generate();
  EXPECT_FALSE(a.public_key() == b.public_key());
  auto sig = a.sign(core::as_bytes("message"));
  EXPECT_FALSE(b.public_key().verify(core::as_bytes("message"), sig));
}

TEST(Ed25519, rejects_keys_and_seeds_of_the_wrong_length) {
  auto pub = Ed25519PublicKey::from_raw(core::Bytes(31, 1));
  ASSERT_FALSE(pub.ok());
  EXPECT_EQ(pub.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(pub.error().message.find("32 bytes"), std::string::npos);
  EXPECT_FALSE(Ed25519PublicKey::from_raw(core::Bytes(33, 1)).ok());
  EXPECT_FALSE(Ed25519PrivateKey::from_seed(core::Bytes(64, 1)).ok());
  EXPECT_FALSE(Ed25519PrivateKey::from_seed({}).ok());
}

TEST(Ed25519, copies_sign_and_verify_like_the_original) {
  auto key = Ed25519PrivateKey::generate();
  Ed25519PrivateKey copy = key;
  EXPECT_EQ(copy.seed(), key.seed());
  EXPECT_EQ(copy.sign(core::as_bytes("x")), key.sign(core::as_bytes("x")));
  Ed25519PublicKey pub = key.public_key();
  EXPECT_TRUE(pub == copy.public_key());
  EXPECT_TRUE(pub.verify(core::as_bytes("x"), copy.sign(core::as_bytes("x"))));

  Ed25519PrivateKey moved = std::move(copy);
  EXPECT_EQ(moved.sign(core::as_bytes("y")), key.sign(core::as_bytes("y")));
  // Moving copies, so the source stays usable rather than half-empty.
  EXPECT_EQ(copy.sign(core::as_bytes("y")), key.sign(core::as_bytes("y")));  // NOLINT
}

TEST(Ed25519, a_public_key_that_is_not_a_curve_point_verifies_nothing) {
  // y = 2^255 - 1 is not a canonical field element, so no point has it.
  core::Bytes raw(32, 0xff);
  raw[31] = 0x7f;
  auto pub = Ed25519PublicKey::from_raw(raw);
  ASSERT_TRUE(pub.ok());
  auto sig = Ed25519PrivateKey::generate().sign(core::as_bytes("m"));
  EXPECT_FALSE(pub->verify(core::as_bytes("m"), sig));
  EXPECT_FALSE(pub->verify(core::as_bytes("m"), Ed25519Signature{}));
}

}  // namespace
}  // namespace soma::crypto
