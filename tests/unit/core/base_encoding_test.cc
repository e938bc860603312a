#include "core/base_encoding.h"

#include <gtest/gtest.h>

namespace soma::core {
namespace {

TEST(Base58, encodes_known_vectors) {
  EXPECT_EQ(base58btc_encode(as_bytes("Hello World!")), "2NEpo7TZRRrLZSi2U");
  EXPECT_EQ(base58btc_encode(Bytes{0, 0, 0x28, 0x7f, 0xb4, 0xcd}), "11233QC4");
  EXPECT_EQ(base58btc_encode(Bytes{}), "");
}

TEST(Base58, decodes_what_it_encodes) {
  Bytes in{0, 1, 2, 3, 250, 251, 252, 0, 0};
  auto out = base58btc_decode(base58btc_encode(in));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, in);
}

TEST(Base58, rejects_characters_outside_the_alphabet) {
  auto r = base58btc_decode("0OIl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("base58"), std::string::npos);
}

TEST(Base32, matches_rfc4648_vectors_lowercase_unpadded) {
  EXPECT_EQ(base32_encode(as_bytes("")), "");
  EXPECT_EQ(base32_encode(as_bytes("f")), "my");
  EXPECT_EQ(base32_encode(as_bytes("fo")), "mzxq");
  EXPECT_EQ(base32_encode(as_bytes("foo")), "mzxw6");
  EXPECT_EQ(base32_encode(as_bytes("foob")), "mzxw6yq");
  EXPECT_EQ(base32_encode(as_bytes("fooba")), "mzxw6ytb");
  EXPECT_EQ(base32_encode(as_bytes("foobar")), "mzxw6ytboi");
}

TEST(Base32, decodes_and_rejects_non_canonical_tails) {
  auto ok = base32_decode("mzxw6ytboi");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(as_chars(*ok), "foobar");
  EXPECT_FALSE(base32_decode("mzxw6ytboj").ok());  // non-zero trailing bits
  EXPECT_FALSE(base32_decode("mz!").ok());
}

TEST(Hex, round_trips_and_rejects_odd_length) {
  EXPECT_EQ(hex_encode(Bytes{0x00, 0xab, 0xff}), "00abff");
  auto r = hex_decode("00ABff");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (Bytes{0x00, 0xab, 0xff}));
  EXPECT_FALSE(hex_decode("abc").ok());
  EXPECT_FALSE(hex_decode("zz").ok());
}

}  // namespace
}  // namespace soma::core
