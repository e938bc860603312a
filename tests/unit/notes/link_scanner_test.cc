#include "notes/link_scanner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace soma::notes {
namespace {

// The source bytes each link's range covers.
std::vector<std::string> ranges(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& link : scan_links(text)) {
    EXPECT_LE(link.begin, link.end);
    EXPECT_LE(link.end, text.size());
    out.emplace_back(text.substr(link.begin, link.end - link.begin));
  }
  return out;
}

std::vector<std::string> destinations(std::string_view text) {
  std::vector<std::string> out;
  for (const auto& link : scan_links(text)) out.push_back(link.destination);
  return out;
}

using Strings = std::vector<std::string>;

TEST(LinkScanner, finds_inline_links_and_images_with_exact_ranges) {
  std::string text = "See [the spec](spec/a.md) and ![logo](figs/logo.png) here.\n";
  EXPECT_EQ(ranges(text), (Strings{"spec/a.md", "figs/logo.png"}));
  auto links = scan_links(text);
  ASSERT_EQ(links.size(), 2u);
  EXPECT_FALSE(links[0].image);
  EXPECT_TRUE(links[1].image);
  EXPECT_EQ(links[0].syntax, LinkSyntax::kInline);
  EXPECT_EQ(links[0].begin, text.find("spec/a.md"));
}

TEST(LinkScanner, excludes_titles_from_the_destination) {
  std::string text = "[a](x.png \"a title\") [b](y.png 'other') [c](z.png (paren))\n";
  EXPECT_EQ(ranges(text), (Strings{"x.png", "y.png", "z.png"}));
}

TEST(LinkScanner, keeps_angle_brackets_in_the_range_and_drops_them_from_the_destination) {
  std::string text = "![pic](<my figs/a b.svg> \"t\")\n";
  EXPECT_EQ(ranges(text), (Strings{"<my figs/a b.svg>"}));
  EXPECT_EQ(destinations(text), (Strings{"my figs/a b.svg"}));
}

TEST(LinkScanner, decodes_escaped_parentheses_and_balanced_ones) {
  std::string text = "[a](x\\(1\\).png) [b](y(2).png)\n";
  EXPECT_EQ(ranges(text), (Strings{"x\\(1\\).png", "y(2).png"}));
  EXPECT_EQ(destinations(text), (Strings{"x(1).png", "y(2).png"}));
}

TEST(LinkScanner, finds_reference_definitions_cmark_drops) {
  std::string text =
      "Intro [one] and [two][2] and ![three].\n"
      "\n"
      "[one]: a.png\n"
      "[2]:\n"
      "   <b c.png> \"title\"\n"
      "[three]: ./three.svg 'x'\n";
  EXPECT_EQ(ranges(text), (Strings{"a.png", "<b c.png>", "./three.svg"}));
  auto links = scan_links(text);
  for (const auto& link : links) EXPECT_EQ(link.syntax, LinkSyntax::kReferenceDefinition);
}

TEST(LinkScanner, finds_definitions_that_open_a_paragraph_and_links_after_them) {
  std::string text = "[r]: r.png\n[s]: s.png\npara [r] and [t](t.png)\n";
  EXPECT_EQ(ranges(text), (Strings{"r.png", "s.png", "t.png"}));
}

TEST(LinkScanner, does_not_take_a_lazy_line_for_a_definition) {
  std::string text = "text first\n[r]: r.png\n";
  EXPECT_TRUE(ranges(text).empty());
}

TEST(LinkScanner, ignores_links_inside_code_spans_and_code_blocks) {
  std::string text =
      "Real [a](a.png) and `[b](b.png)` and ``[c](c.png)``.\n"
      "\n"
      "```\n"
      "[d](d.png)\n"
      "[e]: e.png\n"
      "```\n"
      "\n"
      "    [f](f.png)\n"
      "\n"
      "Escaped \\[g](g.png) is text.\n";
  EXPECT_EQ(ranges(text), (Strings{"a.png"}));
}

TEST(LinkScanner, finds_raw_html_images_and_anchors) {
  std::string text =
      "<p align=\"center\">\n"
      "<img src=\"figs/logo.svg\" width=100>\n"
      "</p>\n"
      "\n"
      "Inline <a href='doc.pdf'>doc</a> and <img alt=x src=pic.png />.\n";
  EXPECT_EQ(ranges(text), (Strings{"figs/logo.svg", "doc.pdf", "pic.png"}));
  auto links = scan_links(text);
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0].syntax, LinkSyntax::kHtmlAttribute);
  EXPECT_TRUE(links[0].image);
  EXPECT_FALSE(links[1].image);
}

TEST(LinkScanner, locates_links_inside_block_quotes_and_lists) {
  std::string text =
      "> quoted [a](\n"
      "> a.png)\n"
      "\n"
      "- item\n"
      "\t![b](b.png)\n"
      "  1. nested [c](<c.png>)\n";
  EXPECT_EQ(ranges(text), (Strings{"a.png", "b.png", "<c.png>"}));
}

TEST(LinkScanner, finds_definitions_inside_block_quotes) {
  std::string text = "> [q]: q.png\n> use [q]\n";
  EXPECT_EQ(ranges(text), (Strings{"q.png"}));
}

TEST(LinkScanner, treats_image_inside_link_text_as_its_own_destination) {
  std::string text = "[![badge](b.svg)](https://example.org)\n";
  EXPECT_EQ(ranges(text), (Strings{"b.svg", "https://example.org"}));
}

TEST(LinkScanner, reports_autolinks_as_external) {
  std::string text = "Mail <me@example.org> or <https://example.org/x>.\n";
  EXPECT_EQ(destinations(text), (Strings{"mailto:me@example.org", "https://example.org/x"}));
}

TEST(LinkScanner, decodes_entities_in_destinations) {
  std::string text = "[a](a&amp;b.png)\n";
  EXPECT_EQ(destinations(text), (Strings{"a&b.png"}));
  EXPECT_EQ(ranges(text), (Strings{"a&amp;b.png"}));
}

TEST(LinkScanner, handles_crlf_line_endings) {
  std::string text = "line one\r\n[a](a.png)\r\n\r\n[r]: r.png\r\n";
  EXPECT_EQ(ranges(text), (Strings{"a.png", "r.png"}));
}

TEST(LinkScanner, survives_malformed_markdown) {
  std::vector<std::string> inputs = {
      "[",
      "]",
      "[a](",
      "[a](<b",
      "![",
      "<img src=",
      "<a href=\"x",
      "[x]:",
      "[x]: <",
      std::string(3000, '['),
      std::string(3000, '(') + "x",
      "```\n[a](b)",
      std::string("[a](b\0c)", 8),
      "> > > > [a](b.png\n",
      "<!-- [a](b) -->\n[c](d)\n",
      // cmark reports this setext heading as ending on the paragraph's line.
      "\\`>[x]: =\n=\n`1. <a href=*\\ > <img src=  (      \n\nhttp://",
  };
  for (const auto& input : inputs) {
    std::size_t previous_end = 0;
    for (const auto& link : scan_links(input)) {
      EXPECT_LE(link.end, input.size());
      EXPECT_LE(link.begin, link.end);
      EXPECT_GE(link.begin, previous_end) << "ranges overlap in: " << input;
      previous_end = link.end;
    }
  }
  EXPECT_EQ(ranges("<!-- [a](b) -->\n\n[c](d)\n"), (Strings{"d"}));
}

TEST(LinkScanner, classifies_destinations) {
  EXPECT_EQ(classify_destination("https://x.org/a").kind, TargetKind::kExternal);
  EXPECT_EQ(classify_destination("mailto:a@b").kind, TargetKind::kExternal);
  EXPECT_EQ(classify_destination("//cdn.org/x.png").kind, TargetKind::kExternal);
  EXPECT_EQ(classify_destination("soma:blob/bafkrei").kind, TargetKind::kExternal);
  EXPECT_EQ(classify_destination("#intro").kind, TargetKind::kFragment);
  EXPECT_EQ(classify_destination("#intro").fragment, "intro");

  auto local = classify_destination("../figs/my%20pic.svg?raw=1#top");
  EXPECT_EQ(local.kind, TargetKind::kLocal);
  EXPECT_EQ(local.path, "../figs/my pic.svg");
  EXPECT_EQ(local.query, "raw=1");
  EXPECT_EQ(local.fragment, "top");
  EXPECT_TRUE(local.has_query);
  EXPECT_TRUE(local.has_fragment);

  auto plain = classify_destination("a/b.png");
  EXPECT_EQ(plain.path, "a/b.png");
  EXPECT_FALSE(plain.has_fragment);
  EXPECT_EQ(classify_destination("c:d/x").kind, TargetKind::kExternal);
  EXPECT_EQ(classify_destination("./x:y.png").kind, TargetKind::kLocal);
}

TEST(LinkScanner, keeps_malformed_percent_sequences) {
  EXPECT_EQ(percent_decode("a%2"), "a%2");
  EXPECT_EQ(percent_decode("a%zz%41"), "a%zzA");
}

}  // namespace
}  // namespace soma::notes
