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

TEST(Names, rejects_names_of_only_white_space) {
  for (const char* blank : {" ", "   ", "\xc2\xa0", " \xe3\x80\x80 "}) {  // NBSP, ideographic
    auto s = check_name(blank, "space name", 255);
    ASSERT_FALSE(s.ok()) << printable(blank);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.error().message,
              "space name is only white space; give one with visible characters");
  }
  EXPECT_TRUE(check_name(" a ", "space name", 255).ok());
}

TEST(Names, rejects_bidirectional_formatting_characters) {
  // U+202E RIGHT-TO-LEFT OVERRIDE, U+202A, U+2066 LRI, U+2069 PDI.
  for (const char* spoof : {"invoice\xe2\x80\xae"
                            "fdp.exe",
                            "\xe2\x80\xaa"
                            "a",
                            "a\xe2\x81\xa6"
                            "b",
                            "a\xe2\x81\xa9"}) {
    auto s = check_file_name(spoof, "attachment name", 255);
    ASSERT_FALSE(s.ok()) << printable(spoof);
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(s.error().message.find("bidirectional formatting character"), std::string::npos)
        << s.error().message;
  }
  auto s = check_name(
      "invoice\xe2\x80\xae"
      "fdp.exe",
      "page title", 255);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "page title contains a bidirectional formatting character (U+202E at byte offset 7), "
            "which can disguise a name in listings; remove it");
  // Neighbours of the ranges are ordinary characters.
  EXPECT_TRUE(check_name("a\xe2\x80\xaf"
                         "b",
                         "page title", 255)
                  .ok());  // U+202F
  EXPECT_TRUE(check_name("a\xe2\x81\xaa"
                         "b",
                         "page title", 255)
                  .ok());  // U+206A
}

TEST(Names, rejects_c1_control_characters) {
  auto s = check_name(
      "a\xc2\x9b"
      "31m",
      "blob name", 255);  // U+009B CSI
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "blob name contains a control character (U+009B at byte offset 1); use printable "
            "text on one line");
}

TEST(Positions, accepts_the_documented_range_and_refuses_beyond_it) {
  EXPECT_TRUE(check_position(0, "page position").ok());
  EXPECT_TRUE(check_position(kMaxPosition, "page position").ok());
  EXPECT_TRUE(check_position(-kMaxPosition, "page position").ok());
  auto s = check_position(kMaxPosition + 1, "page position");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().message,
            "page position 9007199254740993 is out of range; positions lie between "
            "-9007199254740992 and 9007199254740992");
  EXPECT_FALSE(check_position(INT64_MIN, "page position").ok());
}

}  // namespace
}  // namespace soma::space::validation
