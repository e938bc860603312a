#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace soma::notes {

// Where a destination was written.
enum class LinkSyntax {
  kInline,               // [text](dest "title") or ![alt](dest)
  kReferenceDefinition,  // [label]: dest "title"
  kAutolink,             // <https://example.org>
  kHtmlAttribute,        // <img src="dest"> or <a href="dest">
};

// One link or image destination found in a Markdown text.
struct Link {
  LinkSyntax syntax = LinkSyntax::kInline;
  bool image = false;       // an image (![..](..), <img src>) rather than a link
  std::size_t begin = 0;    // byte range of the destination in the source:
  std::size_t end = 0;      // angle brackets included, title and quotes excluded
  std::string destination;  // the destination as Markdown/HTML means it: angle
                            // brackets removed, escapes and entities decoded
};

// Finds every link and image destination of `markdown`, in the order they
// appear in the source. Links inside code spans and code blocks are not
// links. Destinations used by reference links appear once, at their
// definition. Any input is accepted; malformed Markdown yields fewer links,
// never an error. Pure function, safe from any thread.
std::vector<Link> scan_links(std::string_view markdown);

enum class TargetKind {
  kExternal,  // has a scheme (https:, mailto:, soma:) or starts with //
  kFragment,  // #section, or empty: a place in the same document
  kLocal,     // a path relative to the document, or absolute
};

// What a destination points at. For kLocal, `path` is percent-decoded and
// `fragment` / `query` are split off (without their # and ?) and kept
// verbatim; `has_fragment` / `has_query` tell an empty part from none.
struct LinkTarget {
  TargetKind kind = TargetKind::kLocal;
  std::string path;
  std::string fragment;
  std::string query;
  bool has_fragment = false;
  bool has_query = false;
};

LinkTarget classify_destination(std::string_view destination);

// Decodes %XX sequences; a malformed sequence is kept as written.
std::string percent_decode(std::string_view text);

}  // namespace soma::notes
