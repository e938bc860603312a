#include "crypto/keys.h"

#include <gtest/gtest.h>

#include <string>

#include "test_hex.h"

namespace soma::crypto {
namespace {

using testing::hex;
using testing::unhex;

// The peer-ids spec's test vectors.
constexpr const char* kSpecPrivate =
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d1ed1e8fae2c4a144b8be8f"
    "d4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr const char* kSpecPublic =
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr const char* kSpecSecp256k1Public =
    "08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99";
constexpr const char* kSpecSecp256k1Private =
    "0802122053DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB";
constexpr const char* kSpecEcdsaPublic =
    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530899d83abab"
    "44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb4dcec034e9f77c409e"
    "62";

void expect_malformed(core::ByteView in, const std::string& needle) {
  auto pub = decode_public_key(in);
  ASSERT_FALSE(pub.ok()) << "accepted " << hex(in);
  EXPECT_EQ(pub.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(pub.error().message.find(needle), std::string::npos) << pub.error().message;
}

TEST(Keys, decodes_the_spec_ed25519_private_key_and_derives_its_public_key) {
  auto key = decode_private_key(unhex(kSpecPrivate));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(hex(key->seed()), "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d");
  EXPECT_EQ(hex(encode_public_key(key->public_key())), kSpecPublic);
  EXPECT_EQ(hex(encode_private_key(*key)), kSpecPrivate);
}

TEST(Keys, decodes_the_spec_ed25519_public_key_and_reencodes_it_exactly) {
  auto key = decode_public_key(unhex(kSpecPublic));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(hex(key->raw()), "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
  EXPECT_EQ(hex(encode_public_key(*key)), kSpecPublic);
}

TEST(Keys, generated_keys_round_trip) {
  auto key = Ed25519PrivateKey::generate();
  auto back = decode_private_key(encode_private_key(key));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->seed(), key.seed());
  auto pub = decode_public_key(encode_public_key(key.public_key()));
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(*pub == key.public_key());
}

TEST(Keys, other_key_types_are_recognised_but_unsupported) {
  for (const char* vector : {kSpecSecp256k1Public, kSpecEcdsaPublic}) {
    auto framing = decode_key_message(unhex(vector));
    ASSERT_TRUE(framing.ok()) << framing.error().message;
    auto key = decode_public_key(unhex(vector));
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(key.error().message.find("unsupported key type"), std::string::npos);
  }
  EXPECT_EQ(decode_key_message(unhex(kSpecSecp256k1Public))->type, KeyType::kSecp256k1);
  EXPECT_EQ(decode_key_message(unhex(kSpecEcdsaPublic))->type, KeyType::kEcdsa);

  auto priv = decode_private_key(unhex(kSpecSecp256k1Private));
  ASSERT_FALSE(priv.ok());
  EXPECT_NE(priv.error().message.find("unsupported key type Secp256k1"), std::string::npos);

  auto rsa = decode_public_key(unhex("08001203010203"));
  ASSERT_FALSE(rsa.ok());
  EXPECT_NE(rsa.error().message.find("unsupported key type RSA"), std::string::npos);
}

TEST(Keys, rejects_every_truncation) {
  core::Bytes full = unhex(kSpecPublic);
  for (std::size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(n);
    EXPECT_FALSE(decode_public_key(core::ByteView(full).first(n)).ok());
  }
  core::Bytes priv = unhex(kSpecPrivate);
  for (std::size_t n = 0; n < priv.size(); ++n) {
    EXPECT_FALSE(decode_private_key(core::ByteView(priv).first(n)).ok());
  }
  expect_malformed(core::ByteView(full).first(10), "truncated");
  expect_malformed({}, "Type field is missing");
  expect_malformed(core::ByteView(full).first(2), "Data field is missing");
}

TEST(Keys, rejects_trailing_garbage) {
  core::Bytes in = unhex(kSpecPublic);
  in.push_back(0x00);
  expect_malformed(in, "trailing bytes");
}

TEST(Keys, rejects_duplicate_fields) {
  expect_malformed(unhex(std::string("0801") + kSpecPublic), "Type field appears more than once");
  core::Bytes twice = unhex(kSpecPublic);
  core::Bytes data_again = unhex("1201ff");
  core::append(twice, data_again);
  expect_malformed(twice, "Data field appears more than once");
}

TEST(Keys, rejects_fields_out_of_order_unknown_fields_and_wrong_wire_types) {
  expect_malformed(unhex("1220" + std::string(kSpecPublic).substr(8) + "0801"),
                   "Data field comes before the Type field");
  expect_malformed(unhex("1801" + std::string(kSpecPublic)), "unknown field 3");
  core::Bytes extra = unhex(kSpecPublic);
  core::append(extra, unhex("1801"));
  expect_malformed(extra, "unknown field 3");
  expect_malformed(unhex("0a0101"), "wrong wire type");  // field 1 as bytes
}

TEST(Keys, rejects_unknown_key_types_and_non_minimal_varints) {
  expect_malformed(unhex("08041200"), "unknown key type 4");
  expect_malformed(unhex("0881001220" + std::string(kSpecPublic).substr(8)), "minimally");
  expect_malformed(unhex("08011281" + std::string("00")), "minimally");
}

TEST(Keys, rejects_ed25519_data_of_the_wrong_length) {
  expect_malformed(unhex("0801121f" + std::string(kSpecPublic).substr(8, 62)), "32 bytes");
  auto priv = decode_private_key(unhex(kSpecPublic));  // 32 bytes of Data
  ASSERT_FALSE(priv.ok());
  EXPECT_NE(priv.error().message.find("64 bytes"), std::string::npos);
}

TEST(Keys, rejects_a_private_key_whose_public_half_does_not_match_the_seed) {
  core::Bytes in = unhex(kSpecPrivate);
  in.back() ^= 0x01;
  auto key = decode_private_key(in);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("does not belong"), std::string::npos);
}

TEST(Keys, accepts_the_legacy_96_byte_private_key_only_when_both_public_copies_match) {
  std::string priv_hex = kSpecPrivate;
  std::string data = priv_hex.substr(8);
  std::string pub = data.substr(64);
  auto key = decode_private_key(unhex("08011260" + data + pub));
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(hex(encode_private_key(*key)), kSpecPrivate);

  core::Bytes bad = unhex("08011260" + data + pub);
  bad.back() ^= 0x01;
  auto rejected = decode_private_key(bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.error().message.find("differ"), std::string::npos);
}

TEST(Keys, rejects_oversized_input_before_parsing_it) {
  core::Bytes big = unhex(kSpecPublic);
  big.resize(kMaxEncodedKeySize + 1, 0);
  expect_malformed(big, "limit");
}

}  // namespace
}  // namespace soma::crypto
