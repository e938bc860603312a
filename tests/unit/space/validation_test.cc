#include "space/validation.h"

#include <gtest/gtest.h>

#include <string>

#include "space/space_service.h"

namespace soma::space::validation {
namespace {

using core::ErrorCode;

TEST(Utf8, accepts_well_formed_text_in_every_sequence_length) {
  EXPECT_TRUE(is_utf8("plain ascii"));
  EXPECT_TRUE(is_utf8("Z\xc3\xbcrich"));             // ü
  EXPECT_TRUE(is_utf8("\xe6\x9d\xb1\xe4\xba\xac"));  // 東京
  EXPECT_TRUE(is_utf8("\xf0\x9f\x93\x9d notes"));    // 📝
  EXPECT_TRUE(is_utf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF
  EXPECT_TRUE(is_utf8(""));
}

TEST(Utf8, rejects_malformed_sequences_and_reports_the_offset) {
  std::size_t at = 99;
  EXPECT_FALSE(is_utf8("ab\xc3\x28", &at));  // bad continuation
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_utf8("\xe0\x80\xaf"));      // overlong, three bytes
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_utf8("\xf8\x88\x80\x80\x80"));
  EXPECT_FALSE(is_utf8("abc\xe6\x9d", &at));  // truncated at the end
  EXPECT_EQ(at, 3u);
  EXPECT_FALSE(is_utf8("\x80"));
}

TEST(Names, rejects_empty_control_characters_bad_utf8_and_overlong_names) {
  const std::size_t max = SpaceService::kMaxNameBytes;
  for (std::string bad :
       {std::string(), std::string("line\nbreak"), std::string("tab\there"), std::string("del\x7f"),
        std::string("nul\0x", 5), std::string("\xc3\x28"), std::string(max + 1, 'a')}) {
    auto s = check_name(bad, "space name", max);
    ASSERT_FALSE(s.ok()) << printable(bad);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find("space name"), std::string::npos) << s.error().message;
  }
  EXPECT_TRUE(check_name(std::string(max, 'a'), "space name", max).ok());
  EXPECT_TRUE(check_name("Z\xc3\xbcrich / \xe6\x9d\xb1\xe4\xba\xac", "space name", max).ok());
}

TEST(Names, says_what_is_wrong_with_a_name) {
  EXPECT_NE(check_name("", "page title", 10).error().message.find("empty"), std::string::npos);
  EXPECT_NE(check_name("a\nb", "page title", 10).error().message.find("control character"),
            std::string::npos);
  EXPECT_NE(check_name("\xff", "page title", 10).error().message.find("UTF-8"), std::string::npos);
  EXPECT_NE(check_name("abcdefghijk", "page title", 10).error().message.find("limit is 10"),
            std::string::npos);
}

TEST(FileNames, rejects_slash_and_dot_names) {
  auto slash = check_file_name("a/b", "page title", 255);
  ASSERT_FALSE(slash.ok());
  EXPECT_NE(slash.error().message.find("'/'"), std::string::npos);
  EXPECT_FALSE(check_file_name(".", "page title", 255).ok());
  EXPECT_FALSE(check_file_name("..", "page title", 255).ok());
  EXPECT_TRUE(check_file_name("...", "page title", 255).ok());
  EXPECT_TRUE(check_file_name("notes.md", "page title", 255).ok());
}

TEST(Text, allows_newlines_but_not_nul_or_bad_utf8) {
  EXPECT_TRUE(check_text("# Title\n\n\tbody\r\n", "document text", 100).ok());
  EXPECT_TRUE(check_text("", "document text", 100).ok());
  EXPECT_FALSE(check_text(std::string("a\0b", 3), "document text", 100).ok());
  EXPECT_FALSE(check_text("\xed\xbf\xbf", "document text", 100).ok());
  EXPECT_FALSE(check_text(std::string(101, 'x'), "document text", 100).ok());
}

TEST(Tokens, accept_media_types_and_reject_other_characters) {
  EXPECT_TRUE(check_token("image/png", "media type").ok());
  EXPECT_TRUE(check_token("text/plain; charset=utf-8", "media type").ok());
  EXPECT_FALSE(check_token("", "media type").ok());
  EXPECT_FALSE(check_token("text/\nplain", "media type").ok());
  EXPECT_FALSE(check_token("\xc3\xbc", "media type").ok());
  EXPECT_FALSE(check_token(std::string(128, 'a'), "media type").ok());
}

TEST(Printable, escapes_control_and_invalid_bytes_and_cuts_long_values) {
  EXPECT_EQ(printable("plain"), "\"plain\"");
  EXPECT_EQ(printable("a\nb"), "\"a\\x0ab\"");
  EXPECT_EQ(printable("\xff"), "\"\\xff\"");
  EXPECT_EQ(printable("say \"hi\""), "\"say \\\"hi\\\"\"");
  std::string long_value(1000, 'x');
  std::string q = printable(long_value);
  EXPECT_LT(q.size(), 100u);
  EXPECT_NE(q.find("1000 bytes"), std::string::npos);
}

TEST(PageKinds, parse_note_and_folder_and_default_to_note) {
  EXPECT_EQ(*parse_page_kind("note"), PageKind::kNote);
  EXPECT_EQ(*parse_page_kind("folder"), PageKind::kFolder);
  EXPECT_EQ(*parse_page_kind(""), PageKind::kNote);
  auto bad = parse_page_kind("Folder");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(to_string(PageKind::kFolder), "folder");
  EXPECT_EQ(to_string(PageKind::kNote), "note");
}

}  // namespace
}  // namespace soma::space::validation
