#include "core/varint.h"

#include <gtest/gtest.h>

namespace soma::core {
namespace {

TEST(Varint, encodes_values_as_multiformats_examples) {
  EXPECT_EQ(varint::encode(1), (Bytes{0x01}));
  EXPECT_EQ(varint::encode(127), (Bytes{0x7f}));
  EXPECT_EQ(varint::encode(128), (Bytes{0x80, 0x01}));
  EXPECT_EQ(varint::encode(255), (Bytes{0xff, 0x01}));
  EXPECT_EQ(varint::encode(300), (Bytes{0xac, 0x02}));
  EXPECT_EQ(varint::encode(16384), (Bytes{0x80, 0x80, 0x01}));
}

TEST(Varint, round_trips_large_values) {
  for (std::uint64_t v : {0ull, 1ull, 0x3fffull, 0xffffffffull, (1ull << 63) - 1}) {
    Bytes b = varint::encode(v);
    auto d = varint::decode(b);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->value, v);
    EXPECT_EQ(d->size, b.size());
    EXPECT_EQ(varint::encoded_size(v), b.size());
  }
}

TEST(Varint, reports_a_prefix_as_incomplete) {
  Bytes b{0x80, 0x80};
  auto d = varint::decode_prefix(b);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_value());
  EXPECT_FALSE(varint::decode(b).ok());
}

TEST(Varint, rejects_non_minimal_encoding) {
  Bytes b{0x81, 0x00};
  auto d = varint::decode(b);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
}

TEST(Varint, rejects_more_than_nine_bytes) {
  Bytes b(10, 0x80);
  EXPECT_FALSE(varint::decode_prefix(b).ok());
}

}  // namespace
}  // namespace soma::core
