#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <numeric>
#include <string>

#include "crypto/random.h"
#include "test_hex.h"

namespace soma::crypto {
namespace {

using testing::hex;
using testing::unhex;

// RFC 8439 §2.8.2.
struct Rfc8439 : ::testing::Test {
  core::Bytes key = [] {
    core::Bytes k(32);
    std::iota(k.begin(), k.end(), std::uint8_t{0x80});
    return k;
  }();
  AeadNonce nonce = [] {
    AeadNonce n{};
    core::Bytes b = unhex("070000004041424344454647");
    std::copy(b.begin(), b.end(), n.begin());
    return n;
  }();
  core::Bytes ad = unhex("50515253c0c1c2c3c4c5c6c7");
  std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  std::string expected =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da"
      "92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585"
      "808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691";  // tag
};

TEST_F(Rfc8439, seal_produces_the_rfc_ciphertext_and_tag) {
  auto sealed = seal(key, nonce, ad, core::as_bytes(plaintext));
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  EXPECT_EQ(hex(*sealed), expected);
}

TEST_F(Rfc8439, open_recovers_the_plaintext) {
  auto opened = open(key, nonce, ad, unhex(expected));
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(core::as_chars(*opened), plaintext);
}

TEST_F(Rfc8439, tampering_with_tag_ciphertext_data_or_nonce_fails_authentication) {
  core::Bytes sealed = unhex(expected);
  auto expect_rejected = [](const core::Result<core::Bytes>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, core::ErrorCode::kDataLoss);
    EXPECT_NE(r.error().message.find("authentication failed"), std::string::npos);
  };

  core::Bytes bad_tag = sealed;
  bad_tag.back() ^= 0x01;
  expect_rejected(open(key, nonce, ad, bad_tag));

  core::Bytes bad_body = sealed;
  bad_body[5] ^= 0x40;
  expect_rejected(open(key, nonce, ad, bad_body));

  core::Bytes bad_ad = ad;
  bad_ad[0] ^= 0x01;
  expect_rejected(open(key, nonce, bad_ad, sealed));

  AeadNonce bad_nonce = nonce;
  bad_nonce[11] ^= 0x01;
  expect_rejected(open(key, bad_nonce, ad, sealed));

  core::Bytes bad_key = key;
  bad_key[0] ^= 0x01;
  expect_rejected(open(bad_key, nonce, ad, sealed));
}

TEST_F(Rfc8439, a_reused_cipher_matches_the_one_shot_form_message_after_message) {
  auto cipher = ChaChaPoly::create(key);
  ASSERT_TRUE(cipher.ok());
  for (int round = 0; round < 3; ++round) {
    auto sealed = cipher->seal(nonce, ad, core::as_bytes(plaintext));
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(hex(*sealed), expected);
    // A failed open in between must not disturb the next message.
    core::Bytes broken = *sealed;
    broken[0] ^= 1;
    EXPECT_FALSE(cipher->open(nonce, ad, broken).ok());
    auto opened = cipher->open(nonce, ad, *sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(core::as_chars(*opened), plaintext);
  }
}

TEST_F(Rfc8439, seal_and_open_work_in_place) {
  auto cipher = ChaChaPoly::create(key);
  ASSERT_TRUE(cipher.ok());
  core::Bytes buffer(plaintext.begin(), plaintext.end());
  buffer.resize(plaintext.size() + kAeadTagSize);
  std::span<std::uint8_t> all(buffer);
  ASSERT_TRUE(cipher->seal_into(nonce, ad, all.first(plaintext.size()), all).ok());
  EXPECT_EQ(hex(buffer), expected);
  ASSERT_TRUE(cipher->open_into(nonce, ad, buffer, all.first(plaintext.size())).ok());
  EXPECT_EQ(core::as_chars(core::ByteView(buffer).first(plaintext.size())), plaintext);
}

TEST_F(Rfc8439, failed_open_leaves_no_unauthenticated_plaintext) {
  auto cipher = ChaChaPoly::create(key);
  ASSERT_TRUE(cipher.ok());
  core::Bytes sealed = unhex(expected);
  sealed.back() ^= 0x01;
  core::Bytes out(plaintext.size(), 0xaa);
  auto st = cipher->open_into(nonce, ad, sealed, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(out, core::Bytes(plaintext.size(), 0));
}

TEST(Aead, counter_nonce_is_four_zero_bytes_then_the_little_endian_counter) {
  EXPECT_EQ(hex(counter_nonce(0)), "000000000000000000000000");
  EXPECT_EQ(hex(counter_nonce(1)), "000000000100000000000000");
  EXPECT_EQ(hex(counter_nonce(0x0102030405060708)), "000000000807060504030201");
}

TEST(Aead, counter_overloads_use_the_counter_nonce) {
  core::Bytes key = random_bytes(kAeadKeySize);
  auto by_counter = seal(key, std::uint64_t{42}, core::as_bytes("ad"), core::as_bytes("hi"));
  auto by_nonce = seal(key, counter_nonce(42), core::as_bytes("ad"), core::as_bytes("hi"));
  ASSERT_TRUE(by_counter.ok());
  ASSERT_TRUE(by_nonce.ok());
  EXPECT_EQ(*by_counter, *by_nonce);
  auto opened = open(key, std::uint64_t{42}, core::as_bytes("ad"), *by_counter);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(core::as_chars(*opened), "hi");
  EXPECT_FALSE(open(key, std::uint64_t{43}, core::as_bytes("ad"), *by_counter).ok());
}

TEST(Aead, empty_plaintext_yields_only_a_tag_that_still_authenticates) {
  core::Bytes key = random_bytes(kAeadKeySize);
  auto sealed = seal(key, std::uint64_t{0}, {}, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), kAeadTagSize);
  auto opened = open(key, std::uint64_t{0}, {}, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
  EXPECT_FALSE(open(key, std::uint64_t{0}, core::as_bytes("x"), *sealed).ok());
}

TEST(Aead, large_messages_round_trip) {
  core::Bytes key = random_bytes(kAeadKeySize);
  core::Bytes message = random_bytes(1 << 20);
  auto cipher = ChaChaPoly::create(key);
  ASSERT_TRUE(cipher.ok());
  auto sealed = cipher->seal(std::uint64_t{7}, {}, message);
  ASSERT_TRUE(sealed.ok());
  auto opened = cipher->open(std::uint64_t{7}, {}, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, message);
}

TEST(Aead, rejects_bad_key_sizes_short_ciphertexts_and_wrong_output_sizes) {
  auto bad_key = ChaChaPoly::create(core::Bytes(16));
  ASSERT_FALSE(bad_key.ok());
  EXPECT_EQ(bad_key.error().code, core::ErrorCode::kInvalidArgument);

  auto cipher = ChaChaPoly::create(random_bytes(kAeadKeySize));
  ASSERT_TRUE(cipher.ok());
  auto short_ct = cipher->open(std::uint64_t{0}, {}, core::Bytes(15));
  ASSERT_FALSE(short_ct.ok());
  EXPECT_EQ(short_ct.error().code, core::ErrorCode::kInvalidArgument);

  core::Bytes out(10);
  EXPECT_EQ(cipher->seal_into(counter_nonce(0), {}, core::Bytes(10), out).error().code,
            core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace soma::crypto
