#include "cap/cbor.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cap_test_util.h"

namespace soma::cap::cbor {
namespace {

using testing::hex;
using testing::unhex;

Value u(std::uint64_t v) { return Value::unsigned_integer(v); }
Value t(std::string_view s) { return Value::text(s); }

struct Example {
  std::string diagnostic;
  Value value;
  std::string hex;
};

// RFC 8949 Appendix A, every example in the subset Soma supports.
std::vector<Example> supported_examples() {
  Value::Array one_to_25;
  for (std::uint64_t i = 1; i <= 25; ++i) one_to_25.push_back(u(i));
  return {
      {"0", u(0), "00"},
      {"1", u(1), "01"},
      {"10", u(10), "0a"},
      {"23", u(23), "17"},
      {"24", u(24), "1818"},
      {"25", u(25), "1819"},
      {"100", u(100), "1864"},
      {"1000", u(1000), "1903e8"},
      {"1000000", u(1000000), "1a000f4240"},
      {"1000000000000", u(1000000000000ULL), "1b000000e8d4a51000"},
      {"18446744073709551615", u(18446744073709551615ULL), "1bffffffffffffffff"},
      {"-18446744073709551616", Value::negative_integer(18446744073709551615ULL),
       "3bffffffffffffffff"},
      {"-1", Value::integer(-1), "20"},
      {"-10", Value::integer(-10), "29"},
      {"-100", Value::integer(-100), "3863"},
      {"-1000", Value::integer(-1000), "3903e7"},
      {"false", Value::boolean(false), "f4"},
      {"true", Value::boolean(true), "f5"},
      {"null", Value::null(), "f6"},
      {"h''", Value::bytes({}), "40"},
      {"h'01020304'", Value::bytes(unhex("01020304")), "4401020304"},
      {"\"\"", t(""), "60"},
      {"\"a\"", t("a"), "6161"},
      {"\"IETF\"", t("IETF"), "6449455446"},
      {"\"\\\"\\\\\"", t("\"\\"), "62225c"},
      {"\"\\u00fc\"", t("\xc3\xbc"), "62c3bc"},
      {"\"\\u6c34\"", t("\xe6\xb0\xb4"), "63e6b0b4"},
      {"\"\\ud800\\udd51\"", t("\xf0\x90\x85\x91"), "64f0908591"},
      {"[]", Value::array({}), "80"},
      {"[1, 2, 3]", Value::array({u(1), u(2), u(3)}), "83010203"},
      {"[1, [2, 3], [4, 5]]",
       Value::array({u(1), Value::array({u(2), u(3)}), Value::array({u(4), u(5)})}),
       "8301820203820405"},
      {"[1, ..., 25]", Value::array(one_to_25),
       "98190102030405060708090a0b0c0d0e0f101112131415161718181819"},
      {"{}", Value::map({}), "a0"},
      {"{1: 2, 3: 4}", Value::map({{u(1), u(2)}, {u(3), u(4)}}), "a201020304"},
      {"{\"a\": 1, \"b\": [2, 3]}",
       Value::map({{t("a"), u(1)}, {t("b"), Value::array({u(2), u(3)})}}), "a26161016162820203"},
      {"[\"a\", {\"b\": \"c\"}]", Value::array({t("a"), Value::map({{t("b"), t("c")}})}),
       "826161a161626163"},
      {"{\"a\": \"A\", ..., \"e\": \"E\"}",
       Value::map({{t("a"), t("A")},
                   {t("b"), t("B")},
                   {t("c"), t("C")},
                   {t("d"), t("D")},
                   {t("e"), t("E")}}),
       "a56161614161626142616361436164614461656145"},
  };
}

struct Rejected {
  std::string hex;
  Failure failure;
  std::size_t offset;
};

void expect_rejected(const Rejected& r) {
  DecodeError error;
  auto v = decode(unhex(r.hex), &error);
  ASSERT_FALSE(v.ok()) << "accepted " << r.hex;
  EXPECT_EQ(v.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(error.failure, r.failure)
      << r.hex << ": got " << to_string(error.failure) << " (" << v.error().message << ")";
  EXPECT_EQ(error.offset, r.offset) << r.hex << ": " << v.error().message;
  EXPECT_NE(v.error().message.find(std::string(to_string(r.failure))), std::string::npos)
      << v.error().message;
  EXPECT_NE(v.error().message.find("at byte " + std::to_string(r.offset)), std::string::npos)
      << v.error().message;
}

TEST(Cbor, encoder_reproduces_every_supported_rfc8949_example) {
  for (const auto& e : supported_examples()) {
    auto bytes = encode(e.value);
    ASSERT_TRUE(bytes.ok()) << e.diagnostic << ": " << bytes.error().message;
    EXPECT_EQ(hex(*bytes), e.hex) << e.diagnostic;
  }
}

TEST(Cbor, decoder_accepts_every_supported_rfc8949_example) {
  for (const auto& e : supported_examples()) {
    auto v = decode(unhex(e.hex));
    ASSERT_TRUE(v.ok()) << e.diagnostic << ": " << v.error().message;
    EXPECT_EQ(*v, e.value) << e.diagnostic;
  }
}

TEST(Cbor, decoder_rejects_the_rfc8949_floats_as_unsupported) {
  for (const char* h : {"f90000",
                        "f98000",
                        "f93c00",
                        "fb3ff199999999999a",
                        "f93e00",
                        "f97bff",
                        "fa47c35000",
                        "fa7f7fffff",
                        "fb7e37e43c8800759c",
                        "f90001",
                        "f90400",
                        "f9c400",
                        "fbc010666666666666",
                        "f97c00",
                        "f97e00",
                        "f9fc00",
                        "fa7f800000",
                        "fa7fc00000",
                        "faff800000",
                        "fb7ff0000000000000",
                        "fb7ff8000000000000",
                        "fbfff0000000000000"}) {
    expect_rejected({h, Failure::kUnsupported, 0});
  }
}

TEST(Cbor, decoder_rejects_the_rfc8949_tags_and_other_simple_values_as_unsupported) {
  for (const char* h : {"c249010000000000000000", "c349010000000000000000",
                        "c074323031332d30332d32315432303a30343a30305a", "c11a514b67b0",
                        "c1fb41d452d9ec200000", "d74401020304", "d818456449455446",
                        "d82076687474703a2f2f7777772e6578616d706c652e636f6d", "f7", "f0", "f8ff"}) {
    expect_rejected({h, Failure::kUnsupported, 0});
  }
}

TEST(Cbor, decoder_rejects_the_rfc8949_indefinite_length_examples_where_they_start) {
  const std::vector<Rejected> cases = {
      {"5f42010243030405ff", Failure::kIndefiniteLength, 0},
      {"7f657374726561646d696e67ff", Failure::kIndefiniteLength, 0},
      {"9fff", Failure::kIndefiniteLength, 0},
      {"9f018202039f0405ffff", Failure::kIndefiniteLength, 0},
      {"9f01820203820405ff", Failure::kIndefiniteLength, 0},
      {"83018202039f0405ff", Failure::kIndefiniteLength, 5},
      {"83019f0203ff820405", Failure::kIndefiniteLength, 2},
      {"9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", Failure::kIndefiniteLength, 0},
      {"bf61610161629f0203ffff", Failure::kIndefiniteLength, 0},
      {"826161bf61626163ff", Failure::kIndefiniteLength, 3},
      {"bf6346756ef563416d7421ff", Failure::kIndefiniteLength, 0},
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(Cbor, decoder_rejects_non_shortest_arguments) {
  const std::vector<Rejected> cases = {
      {"1817", Failure::kNonShortest, 0},                // 23 in one extra byte
      {"1900ff", Failure::kNonShortest, 0},              // 255 in two bytes
      {"1a0000ffff", Failure::kNonShortest, 0},          // 65535 in four bytes
      {"1b00000000ffffffff", Failure::kNonShortest, 0},  // 2^32-1 in eight bytes
      {"3817", Failure::kNonShortest, 0},                // -24 the long way
      {"580161", Failure::kNonShortest, 0},              // byte string length
      {"78016161", Failure::kNonShortest, 0},            // text string length
      {"980101", Failure::kNonShortest, 0},              // array count
      {"b8010000", Failure::kNonShortest, 0},            // map count
      {"82011805", Failure::kNonShortest, 2},            // inside an array
  };
  for (const auto& c : cases) expect_rejected(c);
}

TEST(Cbor, map_keys_sort_bytewise_not_length_first) {
  // 100 encodes as 18 64 and -1 as 20: bytewise 100 comes first, although
  // its encoding is longer (RFC 8949 §4.2.1, unlike RFC 7049 canonical CBOR).
  auto bytes = encode(Value::map({{Value::integer(-1), u(0)}, {u(100), u(0)}}));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(hex(*bytes),
            "a2186400"
            "2000");
  expect_rejected({"a22000186400", Failure::kUnsortedMapKeys, 3});
}

TEST(Cbor, decoder_rejects_unsorted_and_repeated_map_keys) {
  expect_rejected({"a202000100", Failure::kUnsortedMapKeys, 3});
  expect_rejected({"a2616201616100", Failure::kUnsortedMapKeys, 4});
  expect_rejected({"a201000100", Failure::kDuplicateMapKey, 3});
  // A nested map is checked too.
  expect_rejected({"a101a202000100", Failure::kUnsortedMapKeys, 5});
}

TEST(Cbor, decoder_rejects_invalid_utf8_at_the_bad_byte) {
  expect_rejected({"62c328", Failure::kInvalidUtf8, 1});      // lead byte without continuation
  expect_rejected({"6261ff", Failure::kInvalidUtf8, 2});      // 0xff never appears
  expect_rejected({"63eda080", Failure::kInvalidUtf8, 1});    // a UTF-16 surrogate
  expect_rejected({"62c080", Failure::kInvalidUtf8, 1});      // overlong NUL
  expect_rejected({"64f4908080", Failure::kInvalidUtf8, 1});  // past U+10FFFF
  expect_rejected({"8261616261ff", Failure::kInvalidUtf8, 5});
}

TEST(Cbor, decoder_rejects_truncated_input) {
  expect_rejected({"", Failure::kTruncated, 0});
  expect_rejected({"1903", Failure::kTruncated, 0});
  expect_rejected({"821903", Failure::kTruncated, 1});
  expect_rejected({"1b0000000100", Failure::kTruncated, 0});
  expect_rejected({"44010203", Failure::kLengthExceedsInput, 0});
}

TEST(Cbor, decoder_bounds_declared_lengths_by_the_remaining_input) {
  // Huge declared lengths fail before anything is allocated for them.
  expect_rejected({"5bffffffffffffffff", Failure::kLengthExceedsInput, 0});
  expect_rejected({"7b7fffffffffffffff", Failure::kLengthExceedsInput, 0});
  expect_rejected({"9bffffffffffffffff", Failure::kLengthExceedsInput, 0});
  expect_rejected({"bb7fffffffffffffff", Failure::kLengthExceedsInput, 0});
  expect_rejected({"440102", Failure::kLengthExceedsInput, 0});
  expect_rejected({"830102", Failure::kLengthExceedsInput, 0});
  expect_rejected({"a2010203", Failure::kLengthExceedsInput, 0});
}

TEST(Cbor, decoder_rejects_trailing_bytes) {
  expect_rejected({"0000", Failure::kTrailingBytes, 1});
  expect_rejected({"8101ff", Failure::kTrailingBytes, 2});
}

TEST(Cbor, decoder_rejects_malformed_initial_bytes) {
  expect_rejected({"1c", Failure::kMalformed, 0});  // reserved additional information
  expect_rejected({"5d", Failure::kMalformed, 0});
  expect_rejected({"ff", Failure::kMalformed, 0});  // break outside an indefinite item
  expect_rejected({"1f", Failure::kMalformed, 0});  // indefinite integer
}

TEST(Cbor, nesting_is_limited_to_the_named_depth) {
  core::Bytes ok(kMaxNestingDepth - 1, 0x81);
  ok.push_back(0x80);
  auto v = decode(ok);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*encode(*v), ok);

  core::Bytes deep(kMaxNestingDepth, 0x81);
  deep.push_back(0x80);
  expect_rejected({hex(deep), Failure::kTooDeep, kMaxNestingDepth});

  Value nested = Value::array({});
  for (std::size_t i = 0; i < kMaxNestingDepth; ++i) nested = Value::array({nested});
  EXPECT_FALSE(encode(nested).ok());
}

TEST(Cbor, encoder_refuses_what_the_decoder_would_refuse) {
  auto bad_text = encode(Value::text("\xc3("));
  ASSERT_FALSE(bad_text.ok());
  EXPECT_NE(bad_text.error().message.find("UTF-8"), std::string::npos);

  auto dup = encode(Value::map({{u(1), u(2)}, {u(1), u(3)}}));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("same key twice"), std::string::npos);
}

TEST(Cbor, integers_cover_the_full_64_bit_range_both_ways) {
  EXPECT_EQ(hex(*encode(Value::integer(std::numeric_limits<std::int64_t>::min()))),
            "3b7fffffffffffffff");
  EXPECT_EQ(hex(*encode(Value::integer(std::numeric_limits<std::int64_t>::max()))),
            "1b7fffffffffffffff");
  auto v = decode(unhex("3bffffffffffffffff"));
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is(Value::Kind::kNegative));
  EXPECT_EQ(v->negative_argument(), std::numeric_limits<std::uint64_t>::max());
}

TEST(Cbor, decoded_values_re_encode_to_the_same_bytes) {
  for (const char* h : {"a26161016162820203", "8301820203820405", "a3006161016162026163",
                        "83f4f5f6", "a21864002040"}) {
    auto v = decode(unhex(h));
    ASSERT_TRUE(v.ok()) << h << ": " << v.error().message;
    EXPECT_EQ(hex(*encode(*v)), h);
  }
}

TEST(Cbor, find_returns_the_value_under_an_integer_key) {
  auto v = decode(unhex("a201020304"));
  ASSERT_TRUE(v.ok());
  ASSERT_NE(v->find(3), nullptr);
  EXPECT_EQ(v->find(3)->as_unsigned(), 4u);
  EXPECT_EQ(v->find(2), nullptr);
}

}  // namespace
}  // namespace soma::cap::cbor
