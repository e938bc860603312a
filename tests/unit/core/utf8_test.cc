#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace soma::core {
namespace {

TEST(Utf8, accepts_every_sequence_length_up_to_the_last_code_point) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain ascii"));
  EXPECT_TRUE(is_utf8("\xC3\xA9"));          // U+00E9
  EXPECT_TRUE(is_utf8("\xE2\x82\xAC"));      // U+20AC
  EXPECT_TRUE(is_utf8("\xF0\x9F\x98\x80"));  // U+1F600
  EXPECT_TRUE(is_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80", 0), 4u);
}

TEST(Utf8, finds_the_first_bad_byte_of_each_ill_formed_kind) {
  EXPECT_EQ(first_invalid_utf8("ab\xC0\xAF"), 2u);          // overlong '/'
  EXPECT_EQ(first_invalid_utf8("a\xE0\x80\xAF"), 1u);       // overlong, three bytes
  EXPECT_EQ(first_invalid_utf8("\xED\xA0\x80"), 0u);        // a UTF-16 surrogate
  EXPECT_EQ(first_invalid_utf8("xy\xF4\x90\x80\x80"), 2u);  // past U+10FFFF
  EXPECT_EQ(first_invalid_utf8("abc\xE2\x82"), 3u);         // cut short by the end
  EXPECT_EQ(first_invalid_utf8("\x80"), 0u);                // a lone continuation byte
  EXPECT_EQ(first_invalid_utf8("\xFF"), 0u);
  EXPECT_EQ(first_invalid_utf8(std::string("a\0b", 3)), 3u);  // NUL is well-formed
}

}  // namespace
}  // namespace soma::core
