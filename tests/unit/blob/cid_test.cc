#include "blob/cid.h"

#include <gtest/gtest.h>

#include <string>

#include "core/base_encoding.h"
#include "core/varint.h"

namespace soma::blob {
namespace {

// The CID IPFS gives an empty file with CIDv1 and raw leaves.
constexpr const char* kEmptyFile = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

core::Bytes binary(std::uint64_t version, std::uint64_t codec, std::uint64_t hash,
                   std::uint64_t length, std::size_t digest_bytes) {
  core::Bytes out;
  core::varint::append(out, version);
  core::varint::append(out, codec);
  core::varint::append(out, hash);
  core::varint::append(out, length);
  out.insert(out.end(), digest_bytes, 0xab);
  return out;
}

std::string text_of(const core::Bytes& b) { return "b" + core::base32_encode(b); }

TEST(Cid, names_the_empty_file_as_ipfs_does) {
  Cid cid = Cid::of(Codec::kRaw, {});
  EXPECT_EQ(cid.to_string(), kEmptyFile);
  EXPECT_EQ(cid.codec(), Codec::kRaw);
}

TEST(Cid, round_trips_raw_and_dag_pb_through_text_and_bytes) {
  for (Codec codec : {Codec::kRaw, Codec::kDagPb}) {
    Cid cid = Cid::of(codec, core::as_bytes("some bytes"));
    auto parsed = Cid::parse(cid.to_string());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, cid);
    auto from_bytes = Cid::from_bytes(cid.bytes());
    ASSERT_TRUE(from_bytes.ok()) << from_bytes.error().message;
    EXPECT_EQ(*from_bytes, cid);
    EXPECT_EQ(cid.bytes().size(), Cid::kBinarySize);
  }
  EXPECT_TRUE(Cid::of(Codec::kRaw, {}).to_string().starts_with("bafkrei"));
  EXPECT_TRUE(Cid::of(Codec::kDagPb, {}).to_string().starts_with("bafybei"));
}

TEST(Cid, parses_the_known_empty_file_cid) {
  auto cid = Cid::parse(kEmptyFile);
  ASSERT_TRUE(cid.ok()) << cid.error().message;
  EXPECT_EQ(cid->codec(), Codec::kRaw);
  EXPECT_EQ(core::hex_encode(cid->digest()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Cid, orders_and_compares_by_codec_then_digest) {
  Cid a = Cid::of(Codec::kRaw, core::as_bytes("a"));
  Cid b = Cid::of(Codec::kDagPb, core::as_bytes("a"));
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_EQ(a, Cid::of(Codec::kRaw, core::as_bytes("a")));
}

void expect_rejected(std::string_view text, std::string_view why) {
  auto r = Cid::parse(text);
  ASSERT_FALSE(r.ok()) << "accepted " << text;
  EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find(why), std::string::npos) << "message was: " << r.error().message;
}

TEST(Cid, rejects_cidv0_with_a_pointer_to_v1) {
  expect_rejected("QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH", "CIDv0");
  auto v0 = binary(0x12, 0x20, 0, 0, 0);
  v0.resize(34, 0xab);
  auto r = Cid::from_bytes(v0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("CIDv0"), std::string::npos);
}

TEST(Cid, rejects_other_multibases_and_upper_case) {
  expect_rejected("zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA", "multibase prefix 'z'");
  expect_rejected("BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU", "prefix 'B'");
  expect_rejected("bAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU", "lower-case");
  expect_rejected("", "empty");
  expect_rejected("b", "truncated varint");
  expect_rejected("bafkrei!", "not base32");
}

TEST(Cid, rejects_other_versions_codecs_and_hash_functions) {
  expect_rejected(text_of(binary(2, 0x55, 0x12, 32, 32)), "version 2");
  expect_rejected(text_of(binary(1, 0x71, 0x12, 32, 32)), "codec 0x71");
  expect_rejected(text_of(binary(1, 0x55, 0x1e, 32, 32)), "hash function 0x1e");
  expect_rejected(text_of(binary(1, 0x55, 0xb220, 32, 32)), "hash function 0xb220");
}

TEST(Cid, rejects_wrong_digest_length_truncation_and_trailing_bytes) {
  expect_rejected(text_of(binary(1, 0x55, 0x12, 20, 20)), "digest length 20");
  expect_rejected(text_of(binary(1, 0x55, 0x12, 32, 31)), "truncated");
  expect_rejected(text_of(binary(1, 0x55, 0x12, 32, 33)), "1 trailing bytes");
}

TEST(Cid, rejects_oversized_input_before_decoding) {
  expect_rejected("b" + std::string(Cid::kMaxTextSize, 'a'), "too long");
  core::Bytes big(Cid::kMaxBinarySize + 1, 0x01);
  auto r = Cid::from_bytes(big);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too long"), std::string::npos);
}

TEST(Cid, rejects_non_canonical_varints) {
  core::Bytes padded = {0x81, 0x00, 0x55, 0x12, 0x20};  // version 1 written in two bytes
  padded.insert(padded.end(), 32, 0xab);
  auto r = Cid::from_bytes(padded);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("minimally"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace soma::blob
