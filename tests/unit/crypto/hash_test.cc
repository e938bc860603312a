#include <gtest/gtest.h>

#include <string>

#include "crypto/hkdf.h"
#include "crypto/sha256.h"
#include "test_hex.h"

namespace soma::crypto {
namespace {

using testing::hex;
using testing::unhex;

TEST(Sha256, hashes_abc_to_the_fips_180_value) {
  EXPECT_EQ(hex(sha256(core::as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, hashes_the_empty_string_to_the_known_value) {
  EXPECT_EQ(hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, incremental_hashing_matches_one_shot_and_resets) {
  Sha256 h;
  h.update(core::as_bytes("a"));
  h.update(core::as_bytes("bc"));
  EXPECT_EQ(h.finish(), sha256(core::as_bytes("abc")));
  EXPECT_EQ(h.finish(), sha256({}));
}

TEST(Hmac, matches_rfc_4231_test_case_2) {
  EXPECT_EQ(
      hex(hmac_sha256(core::as_bytes("Jefe"), core::as_bytes("what do ya want for nothing?"))),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Hkdf, matches_rfc_5869_test_case_1) {
  auto ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto salt = unhex("000102030405060708090a0b0c");
  auto info = unhex("f0f1f2f3f4f5f6f7f8f9");
  auto okm = hkdf_sha256(salt, ikm, info, 42);
  ASSERT_TRUE(okm.ok()) << okm.error().message;
  EXPECT_EQ(hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  // The extract step alone is HMAC(salt, ikm): the RFC's PRK.
  EXPECT_EQ(hex(hmac_sha256(salt, ikm)),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
}

TEST(Hkdf, rejects_zero_and_oversized_output_lengths) {
  EXPECT_EQ(hkdf_sha256({}, core::as_bytes("k"), {}, 0).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(hkdf_sha256({}, core::as_bytes("k"), {}, kHkdfMaxOutput + 1).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(hkdf_sha256({}, core::as_bytes("k"), {}, kHkdfMaxOutput).ok());
}

// Noise §4.3 defines HKDF through HMAC; the EVP_KDF path must agree with it.
Sha256Digest noise_output(const Sha256Digest& temp_key, const Sha256Digest* previous,
                          std::uint8_t index) {
  core::Bytes input;
  if (previous != nullptr) core::append(input, *previous);
  input.push_back(index);
  return hmac_sha256(temp_key, input);
}

void expect_noise_definition(core::ByteView ck, core::ByteView ikm) {
  Sha256Digest temp_key = hmac_sha256(ck, ikm);
  Sha256Digest o1 = noise_output(temp_key, nullptr, 1);
  Sha256Digest o2 = noise_output(temp_key, &o1, 2);
  Sha256Digest o3 = noise_output(temp_key, &o2, 3);

  auto two = hkdf2(ck, ikm);
  EXPECT_EQ(two[0], o1);
  EXPECT_EQ(two[1], o2);
  auto three = hkdf3(ck, ikm);
  EXPECT_EQ(three[0], o1);
  EXPECT_EQ(three[1], o2);
  EXPECT_EQ(three[2], o3);
}

TEST(Hkdf, noise_outputs_follow_the_hmac_chain_definition) {
  auto ck = sha256(core::as_bytes("Noise_XX_25519_ChaChaPoly_SHA256"));
  expect_noise_definition(
      ck, unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
}

TEST(Hkdf, noise_outputs_work_with_empty_input_key_material) {
  // Noise's Split() calls HKDF(ck, zerolen, 2).
  auto ck = sha256(core::as_bytes("chaining key"));
  expect_noise_definition(ck, {});
}

}  // namespace
}  // namespace soma::crypto
