#include "notes/link_scanner.h"

#include <cmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace soma::notes {
namespace {

// CommonMark caps: link labels and nested parentheses in destinations.
constexpr std::size_t kMaxLabelLength = 999;
constexpr int kMaxDestinationParens = 32;
// Markdown nests containers only so deep before it stops meaning anything;
// the walk over cmark's tree stops there instead of exhausting the stack.
constexpr int kMaxTreeDepth = 256;

bool is_ascii_punct(char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}
bool is_space_or_tab(char c) { return c == ' ' || c == '\t'; }
bool is_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes one entity at text[i] == '&'; returns its length or 0.
std::size_t decode_entity(std::string_view text, std::size_t i, std::string& out) {
  std::size_t j = i + 1;
  if (j < text.size() && text[j] == '#') {
    ++j;
    bool hex = j < text.size() && (text[j] == 'x' || text[j] == 'X');
    if (hex) ++j;
    std::uint32_t cp = 0;
    std::size_t digits = 0;
    while (j < text.size() && digits < (hex ? 6u : 7u)) {
      char c = text[j];
      int v = -1;
      if (is_digit(c))
        v = c - '0';
      else if (hex && c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
      else if (hex && c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
      if (v < 0) break;
      cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(v);
      ++digits;
      ++j;
    }
    if (digits == 0 || j >= text.size() || text[j] != ';') return 0;
    append_utf8(out, cp);
    return j + 1 - i;
  }
  static const std::pair<std::string_view, std::uint32_t> kNamed[] = {
      {"amp", '&'},   {"lt", '<'},    {"gt", '>'},    {"quot", '"'},
      {"apos", '\''}, {"nbsp", 0xA0}, {"lpar", '('},  {"rpar", ')'},
      {"lsqb", '['},  {"rsqb", ']'},  {"num", '#'},   {"percnt", '%'},
      {"quest", '?'}, {"sol", '/'},   {"colon", ':'}, {"equals", '='},
  };
  for (const auto& [name, cp] : kNamed) {
    if (text.substr(j, name.size()) == name && j + name.size() < text.size() &&
        text[j + name.size()] == ';') {
      append_utf8(out, cp);
      return name.size() + 2;
    }
  }
  return 0;
}

// Markdown destinations and titles: backslash escapes and entities.
std::string unescape_markdown(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\\' && i + 1 < text.size() && is_ascii_punct(text[i + 1])) {
      out.push_back(text[i + 1]);
      i += 2;
    } else if (text[i] == '&') {
      std::size_t n = decode_entity(text, i, out);
      if (n == 0) out.push_back('&');
      i += n == 0 ? 1 : n;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

// HTML attribute values: entities only.
std::string unescape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '&') {
      std::size_t n = decode_entity(text, i, out);
      if (n == 0) out.push_back('&');
      i += n == 0 ? 1 : n;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

// Link labels match case-insensitively with whitespace runs collapsed.
std::string normalize_label(std::string_view label) {
  std::string out;
  bool pending_space = false;
  for (char c : label) {
    if (is_whitespace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(ascii_lower(c));
  }
  return out;
}

// Text of a block with its container prefixes (block-quote markers, list
// markers, indentation) removed, mapped byte for byte to the source.
struct Stripped {
  std::string text;
  std::vector<std::size_t> source;  // source offset of each byte of text

  // The source range of text[b, e), when it is contiguous there.
  std::optional<std::pair<std::size_t, std::size_t>> source_range(std::size_t b,
                                                                  std::size_t e) const {
    if (b >= e) {
      if (b < source.size()) return std::make_pair(source[b], source[b]);
      return std::nullopt;
    }
    if (source[e - 1] - source[b] != e - 1 - b) return std::nullopt;
    return std::make_pair(source[b], source[e - 1] + 1);
  }
};

struct Lines {
  std::vector<std::size_t> begin;  // index 0 is line 1
  std::vector<std::size_t> end;    // excluding the line terminator

  explicit Lines(std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        begin.push_back(start);
        end.push_back(i);
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < s.size() || begin.empty()) {
      begin.push_back(start);
      end.push_back(s.size());
    }
  }
  int count() const { return static_cast<int>(begin.size()); }
};

// Length of a list marker ("-", "+", "*", "1." or "1)") followed by
// whitespace or the end of the line at s[p], or 0.
std::size_t list_marker_length(std::string_view s, std::size_t p, std::size_t e) {
  std::size_t q = p;
  if (q < e && (s[q] == '-' || s[q] == '+' || s[q] == '*')) {
    ++q;
  } else {
    std::size_t digits = 0;
    while (q < e && is_digit(s[q]) && digits < 9) {
      ++q;
      ++digits;
    }
    if (digits == 0 || q >= e || (s[q] != '.' && s[q] != ')')) return 0;
    ++q;
  }
  if (q < e && !is_space_or_tab(s[q])) return 0;
  return q - p;
}

struct Containers {
  int quote_depth = 0;          // block quotes around the block
  std::vector<int> item_lines;  // first lines of the list items around it
};

Stripped strip_lines(std::string_view src, const Lines& lines, int first, int last,
                     const Containers& ctx) {
  Stripped out;
  for (int line = first; line <= last && line <= lines.count(); ++line) {
    std::size_t p = lines.begin[static_cast<std::size_t>(line - 1)];
    std::size_t e = lines.end[static_cast<std::size_t>(line - 1)];
    int quotes = ctx.quote_depth;
    int items = static_cast<int>(std::count(ctx.item_lines.begin(), ctx.item_lines.end(), line));
    for (;;) {
      while (p < e && is_space_or_tab(src[p])) ++p;
      if (p < e && src[p] == '>' && quotes > 0) {
        ++p;
        --quotes;
        if (p < e && is_space_or_tab(src[p])) ++p;
        continue;
      }
      std::size_t marker = items > 0 ? list_marker_length(src, p, e) : 0;
      if (marker > 0) {
        p += marker;
        --items;
        continue;
      }
      break;
    }
    for (; p < e; ++p) {
      out.text.push_back(src[p]);
      out.source.push_back(p);
    }
    out.text.push_back('\n');
    out.source.push_back(e);
  }
  return out;
}

// Skips spaces and tabs, at most one line ending, then spaces and tabs.
std::size_t skip_spnl(std::string_view t, std::size_t i) {
  while (i < t.size() && is_space_or_tab(t[i])) ++i;
  if (i < t.size() && t[i] == '\n') {
    ++i;
    while (i < t.size() && is_space_or_tab(t[i])) ++i;
  }
  return i;
}

struct Destination {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string value;
};

// A link destination at t[i]: <…> or a run of non-space characters with
// balanced parentheses. An empty bare destination is allowed only before
// `allow_empty_before`.
std::optional<Destination> parse_destination(std::string_view t, std::size_t i,
                                             char allow_empty_before) {
  if (i < t.size() && t[i] == '<') {
    std::size_t m = i + 1;
    while (m < t.size()) {
      char c = t[m];
      if (c == '\\' && m + 1 < t.size() && is_ascii_punct(t[m + 1])) {
        m += 2;
      } else if (c == '>') {
        break;
      } else if (c == '<' || c == '\n') {
        return std::nullopt;
      } else {
        ++m;
      }
    }
    if (m >= t.size()) return std::nullopt;
    return Destination{i, m + 1, unescape_markdown(t.substr(i + 1, m - i - 1))};
  }
  std::size_t m = i;
  int depth = 0;
  while (m < t.size()) {
    char c = t[m];
    auto u = static_cast<unsigned char>(c);
    if (c == '\\' && m + 1 < t.size() && is_ascii_punct(t[m + 1])) {
      m += 2;
    } else if (c == '(') {
      if (++depth > kMaxDestinationParens) return std::nullopt;
      ++m;
    } else if (c == ')') {
      if (depth == 0) break;
      --depth;
      ++m;
    } else if (u <= 0x20 || u == 0x7F) {
      break;
    } else {
      ++m;
    }
  }
  if (depth != 0) return std::nullopt;
  if (m == i && (allow_empty_before == 0 || m >= t.size() || t[m] != allow_empty_before)) {
    return std::nullopt;
  }
  return Destination{i, m, unescape_markdown(t.substr(i, m - i))};
}

// A title ("…", '…' or (…)) at t[i]; returns the offset after it.
std::optional<std::size_t> parse_title(std::string_view t, std::size_t i) {
  if (i >= t.size()) return std::nullopt;
  char open = t[i];
  char close = open == '(' ? ')' : open;
  if (open != '"' && open != '\'' && open != '(') return std::nullopt;
  for (std::size_t m = i + 1; m < t.size(); ++m) {
    char c = t[m];
    if (c == '\\' && m + 1 < t.size() && is_ascii_punct(t[m + 1])) {
      ++m;
    } else if (c == close) {
      return m + 1;
    } else if (open == '(' && c == '(') {
      return std::nullopt;
    } else if (c == '\n') {
      // A blank line ends the paragraph, and with it any title.
      std::size_t next = t.find_first_not_of(" \t", m + 1);
      if (next == std::string_view::npos || t[next] == '\n') return std::nullopt;
    }
  }
  return std::nullopt;
}

// A link label [ … ] at t[i]; returns the offset after ']'.
std::optional<std::size_t> parse_label(std::string_view t, std::size_t i) {
  if (i >= t.size() || t[i] != '[') return std::nullopt;
  for (std::size_t m = i + 1; m < t.size() && m - i - 1 <= kMaxLabelLength; ++m) {
    char c = t[m];
    if (c == '\\' && m + 1 < t.size() && is_ascii_punct(t[m + 1])) {
      ++m;
    } else if (c == '[') {
      return std::nullopt;
    } else if (c == ']') {
      return m + 1;
    }
  }
  return std::nullopt;
}

bool only_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return is_whitespace(c); });
}

struct Definition {
  std::string label;    // as written
  std::size_t end = 0;  // offset after the definition's line
  Destination dest;
};

// A link reference definition starting at t[i], at the start of a line.
std::optional<Definition> parse_definition(std::string_view t, std::size_t i) {
  auto label_end = parse_label(t, i);
  if (!label_end || *label_end >= t.size() || t[*label_end] != ':') return std::nullopt;
  std::string_view label = t.substr(i + 1, *label_end - i - 2);
  if (only_blank(label)) return std::nullopt;

  std::size_t p = skip_spnl(t, *label_end + 1);
  auto dest = parse_destination(t, p, 0);
  if (!dest) return std::nullopt;
  if (dest->end == dest->begin) return std::nullopt;

  auto line_end_after = [&](std::size_t q) -> std::optional<std::size_t> {
    while (q < t.size() && is_space_or_tab(t[q])) ++q;
    if (q >= t.size()) return q;
    if (t[q] == '\n') return q + 1;
    return std::nullopt;
  };

  // A title must be separated from the destination by whitespace, and
  // nothing but whitespace may follow it on its line.
  std::size_t q = skip_spnl(t, dest->end);
  if (q > dest->end) {
    if (auto title_end = parse_title(t, q)) {
      if (auto end = line_end_after(*title_end)) {
        return Definition{std::string(label), *end, std::move(*dest)};
      }
    }
  }
  if (auto end = line_end_after(dest->end)) {
    return Definition{std::string(label), *end, std::move(*dest)};
  }
  return std::nullopt;
}

// Autolink <scheme:…> or <user@host> at t[i] == '<'.
std::optional<std::pair<std::size_t, std::string>> parse_autolink(std::string_view t,
                                                                  std::size_t i) {
  std::size_t m = i + 1;
  std::size_t scheme = 0;
  while (m < t.size() && scheme < 33 &&
         (is_alnum(t[m]) || (scheme > 0 && (t[m] == '+' || t[m] == '.' || t[m] == '-')))) {
    if (scheme == 0 && !is_alpha(t[m])) break;
    ++m;
    ++scheme;
  }
  if (scheme >= 2 && scheme <= 32 && m < t.size() && t[m] == ':') {
    std::size_t q = m + 1;
    while (q < t.size()) {
      auto u = static_cast<unsigned char>(t[q]);
      if (t[q] == '>') return std::make_pair(q + 1, std::string(t.substr(i + 1, q - i - 1)));
      if (u <= 0x20 || t[q] == '<' || u == 0x7F) break;
      ++q;
    }
  }

  // Email form.
  static constexpr std::string_view kLocal = ".!#$%&'*+/=?^_`{|}~-";
  std::size_t q = i + 1;
  while (q < t.size() && (is_alnum(t[q]) || kLocal.find(t[q]) != std::string_view::npos)) ++q;
  if (q == i + 1 || q >= t.size() || t[q] != '@') return std::nullopt;
  ++q;
  bool label_start = true;
  std::size_t label_len = 0;
  while (q < t.size()) {
    char c = t[q];
    if (is_alnum(c) || (c == '-' && !label_start)) {
      label_start = false;
      if (++label_len > 63) return std::nullopt;
    } else if (c == '.' && !label_start && t[q - 1] != '-') {
      label_start = true;
      label_len = 0;
    } else if (c == '>' && !label_start && t[q - 1] != '-') {
      return std::make_pair(q + 1, "mailto:" + std::string(t.substr(i + 1, q - i - 1)));
    } else {
      return std::nullopt;
    }
    ++q;
  }
  return std::nullopt;
}

struct HtmlTag {
  std::size_t end = 0;
  std::optional<Link> link;  // src of <img>, href of <a>
};

// Raw HTML at t[i] == '<': comments, processing instructions, declarations,
// CDATA, closing tags and open tags. For <img src> and <a href> the
// attribute value is returned as a link, its range relative to t.
std::optional<HtmlTag> parse_html_tag(std::string_view t, std::size_t i) {
  auto find_end = [&](std::string_view closer, std::size_t from) -> std::optional<HtmlTag> {
    std::size_t at = t.find(closer, from);
    if (at == std::string_view::npos) return std::nullopt;
    return HtmlTag{at + closer.size(), std::nullopt};
  };
  std::string_view rest = t.substr(i);
  if (rest.starts_with("<!--")) {
    if (rest.substr(4).starts_with(">") || rest.substr(4).starts_with("->")) return std::nullopt;
    return find_end("-->", i + 4);
  }
  if (rest.starts_with("<?")) return find_end("?>", i + 2);
  if (rest.starts_with("<![CDATA[")) return find_end("]]>", i + 9);
  if (rest.size() > 2 && rest[1] == '!' && is_alpha(rest[2])) return find_end(">", i + 2);

  std::size_t m = i + 1;
  bool closing = m < t.size() && t[m] == '/';
  if (closing) ++m;
  if (m >= t.size() || !is_alpha(t[m])) return std::nullopt;
  std::size_t name_begin = m;
  while (m < t.size() && (is_alnum(t[m]) || t[m] == '-')) ++m;
  std::string name;
  for (std::size_t k = name_begin; k < m; ++k) name.push_back(ascii_lower(t[k]));
  if (closing) {
    while (m < t.size() && is_whitespace(t[m])) ++m;
    if (m < t.size() && t[m] == '>') return HtmlTag{m + 1, std::nullopt};
    return std::nullopt;
  }

  std::string_view wanted = name == "img" ? "src" : name == "a" ? "href" : "";
  HtmlTag tag;
  for (;;) {
    std::size_t ws = m;
    while (m < t.size() && is_whitespace(t[m])) ++m;
    if (m >= t.size()) return std::nullopt;
    if (t[m] == '>') {
      tag.end = m + 1;
      return tag;
    }
    if (t[m] == '/' && m + 1 < t.size() && t[m + 1] == '>') {
      tag.end = m + 2;
      return tag;
    }
    if (m == ws) return std::nullopt;  // attributes need leading whitespace
    char c = t[m];
    if (!(is_alpha(c) || c == '_' || c == ':')) return std::nullopt;
    std::size_t attr_begin = m;
    while (m < t.size() &&
           (is_alnum(t[m]) || t[m] == '_' || t[m] == '.' || t[m] == ':' || t[m] == '-')) {
      ++m;
    }
    std::string attr;
    for (std::size_t k = attr_begin; k < m; ++k) attr.push_back(ascii_lower(t[k]));

    std::size_t before_eq = m;
    while (m < t.size() && is_whitespace(t[m])) ++m;
    if (m >= t.size() || t[m] != '=') {
      m = before_eq;
      continue;
    }
    ++m;
    while (m < t.size() && is_whitespace(t[m])) ++m;
    if (m >= t.size()) return std::nullopt;
    std::size_t vb = 0;
    std::size_t ve = 0;
    if (t[m] == '"' || t[m] == '\'') {
      std::size_t close = t.find(t[m], m + 1);
      if (close == std::string_view::npos) return std::nullopt;
      vb = m + 1;
      ve = close;
      m = close + 1;
    } else {
      static constexpr std::string_view kStop = " \t\n\r\f\v\"'=<>`";
      vb = m;
      while (m < t.size() && kStop.find(t[m]) == std::string_view::npos) ++m;
      if (m == vb) return std::nullopt;
      ve = m;
    }
    if (!wanted.empty() && attr == wanted && !tag.link) {
      Link link;
      link.syntax = LinkSyntax::kHtmlAttribute;
      link.image = name == "img";
      link.begin = vb;
      link.end = ve;
      link.destination = unescape_html(t.substr(vb, ve - vb));
      tag.link = std::move(link);
    }
  }
}

// A backtick string at t[i]: returns the offset after the code span it
// opens, or after the string itself when nothing closes it.
std::size_t skip_code_span(std::string_view t, std::size_t i) {
  std::size_t run = 0;
  while (i + run < t.size() && t[i + run] == '`') ++run;
  std::size_t m = i + run;
  while (m < t.size()) {
    std::size_t at = t.find('`', m);
    if (at == std::string_view::npos) break;
    std::size_t len = 0;
    while (at + len < t.size() && t[at + len] == '`') ++len;
    if (len == run) return at + len;
    m = at + len;
  }
  return i + run;
}

// A link candidate in stripped text coordinates, before cross-checking.
struct Candidate {
  Link link;            // begin/end in stripped text
  bool checked = true;  // must match one of cmark's link nodes
};

struct InlineScan {
  std::vector<Candidate> candidates;
};

// Walks inline content left to right the way CommonMark resolves links:
// escapes, code spans, autolinks and raw HTML first, then brackets.
InlineScan scan_inlines(std::string_view t, std::size_t from,
                        const std::map<std::string, std::string>& definitions) {
  struct Opener {
    std::size_t pos;
    bool image;
    bool active;
  };
  InlineScan out;
  std::vector<Opener> openers;
  std::size_t i = from;

  auto defined = [&](std::string_view label) {
    if (label.size() > kMaxLabelLength || only_blank(label)) return false;
    for (std::size_t k = 0; k < label.size(); ++k) {
      if (label[k] == '\\') {
        ++k;
      } else if (label[k] == '[' || label[k] == ']') {
        return false;
      }
    }
    return definitions.count(normalize_label(label)) > 0;
  };

  while (i < t.size()) {
    char c = t[i];
    if (c == '\\') {
      i += (i + 1 < t.size() && is_ascii_punct(t[i + 1])) ? 2 : 1;
    } else if (c == '`') {
      i = skip_code_span(t, i);
    } else if (c == '<') {
      if (auto autolink = parse_autolink(t, i)) {
        Link link;
        link.syntax = LinkSyntax::kAutolink;
        link.begin = i + 1;
        link.end = autolink->first - 1;
        link.destination = autolink->second;
        out.candidates.push_back({std::move(link), true});
        i = autolink->first;
      } else if (auto tag = parse_html_tag(t, i)) {
        if (tag->link) out.candidates.push_back({std::move(*tag->link), false});
        i = tag->end;
      } else {
        ++i;
      }
    } else if (c == '!' && i + 1 < t.size() && t[i + 1] == '[') {
      openers.push_back({i, true, true});
      i += 2;
    } else if (c == '[') {
      openers.push_back({i, false, true});
      ++i;
    } else if (c == ']') {
      if (openers.empty()) {
        ++i;
        continue;
      }
      Opener op = openers.back();
      openers.pop_back();
      if (!op.active) {
        ++i;
        continue;
      }
      bool linked = false;
      std::size_t next = i + 1;

      // Inline form: ](dest "title")
      if (next < t.size() && t[next] == '(') {
        std::size_t p = skip_spnl(t, next + 1);
        if (auto dest = parse_destination(t, p, ')')) {
          std::size_t q = skip_spnl(t, dest->end);
          std::optional<std::size_t> close;
          if (q < t.size() && t[q] == ')') {
            close = q + 1;
          } else if (q > dest->end) {
            if (auto title_end = parse_title(t, q)) {
              std::size_t r = skip_spnl(t, *title_end);
              if (r < t.size() && t[r] == ')') close = r + 1;
            }
          }
          if (close) {
            Link link;
            link.syntax = LinkSyntax::kInline;
            link.image = op.image;
            link.begin = dest->begin;
            link.end = dest->end;
            link.destination = std::move(dest->value);
            out.candidates.push_back({std::move(link), true});
            linked = true;
            next = *close;
          }
        }
      }

      // Reference forms: [text][label], [text][], [text]
      if (!linked) {
        std::string_view contents =
            t.substr(op.pos + (op.image ? 2 : 1), i - op.pos - (op.image ? 2 : 1));
        auto label_end = parse_label(t, next);
        if (label_end && *label_end - next > 2) {
          if (defined(t.substr(next + 1, *label_end - next - 2))) {
            linked = true;
            next = *label_end;
          }
        } else if (defined(contents)) {
          linked = true;
          if (label_end) next = *label_end;
        }
      }

      if (linked) {
        if (!op.image) {
          for (auto& o : openers) {
            if (!o.image) o.active = false;
          }
        }
        i = next;
      } else {
        ++i;
      }
    } else {
      ++i;
    }
  }
  return out;
}

// HTML blocks: every tag in the block, with <img src> and <a href>.
std::vector<Link> scan_html(std::string_view t) {
  std::vector<Link> out;
  std::size_t i = 0;
  while ((i = t.find('<', i)) != std::string_view::npos) {
    if (auto tag = parse_html_tag(t, i)) {
      if (tag->link) out.push_back(std::move(*tag->link));
      i = tag->end;
    } else {
      ++i;
    }
  }
  return out;
}

struct NodeDeleter {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
};
using NodePtr = std::unique_ptr<cmark_node, NodeDeleter>;

NodePtr parse(std::string_view text) {
  return NodePtr(cmark_parse_document(text.data(), text.size(), CMARK_OPT_DEFAULT));
}

// What the block walk learns from cmark's tree.
struct InlineBlock {
  int first = 0;
  int last = 0;
  bool paragraph = false;
  Containers ctx;
  std::vector<std::string> urls;  // cmark's link and image destinations, in order
};
struct HtmlBlock {
  int first = 0;
  int last = 0;
  Containers ctx;
};
struct Outline {
  std::vector<InlineBlock> inline_blocks;
  std::vector<HtmlBlock> html_blocks;
  std::vector<bool> covered;                // index: line number; true when inside a leaf block
  std::vector<std::pair<int, int>> quotes;  // line ranges of block quotes
  std::vector<int> item_lines;
};

void collect_urls(cmark_node* node, std::vector<std::string>& urls, int depth) {
  if (depth > kMaxTreeDepth) return;
  for (cmark_node* c = cmark_node_first_child(node); c != nullptr; c = cmark_node_next(c)) {
    // Children first: an image inside a link's text closes before the link.
    collect_urls(c, urls, depth + 1);
    cmark_node_type type = cmark_node_get_type(c);
    if (type == CMARK_NODE_LINK || type == CMARK_NODE_IMAGE) {
      const char* url = cmark_node_get_url(c);
      urls.emplace_back(url != nullptr ? url : "");
    }
  }
}

void walk_blocks(cmark_node* node, Containers ctx, Outline& out, int depth) {
  if (depth > kMaxTreeDepth) return;
  for (cmark_node* c = cmark_node_first_child(node); c != nullptr; c = cmark_node_next(c)) {
    int first = cmark_node_get_start_line(c);
    int last = std::max(first, cmark_node_get_end_line(c));
    switch (cmark_node_get_type(c)) {
      case CMARK_NODE_BLOCK_QUOTE: {
        Containers inner = ctx;
        ++inner.quote_depth;
        out.quotes.emplace_back(first, last);
        walk_blocks(c, inner, out, depth + 1);
        break;
      }
      case CMARK_NODE_ITEM: {
        Containers inner = ctx;
        inner.item_lines.push_back(first);
        out.item_lines.push_back(first);
        walk_blocks(c, inner, out, depth + 1);
        break;
      }
      case CMARK_NODE_LIST:
        walk_blocks(c, ctx, out, depth + 1);
        break;
      case CMARK_NODE_PARAGRAPH:
      case CMARK_NODE_HEADING: {
        InlineBlock block{first, last, cmark_node_get_type(c) == CMARK_NODE_PARAGRAPH, ctx, {}};
        collect_urls(c, block.urls, depth + 1);
        out.inline_blocks.push_back(std::move(block));
        for (int l = first; l <= last && l < static_cast<int>(out.covered.size()); ++l) {
          out.covered[static_cast<std::size_t>(l)] = true;
        }
        break;
      }
      case CMARK_NODE_HTML_BLOCK:
        out.html_blocks.push_back({first, last, ctx});
        [[fallthrough]];
      default:
        for (int l = first; l <= last && l < static_cast<int>(out.covered.size()); ++l) {
          if (l >= 1) out.covered[static_cast<std::size_t>(l)] = true;
        }
        break;
    }
  }
}

// A run of definition candidates at the start of a paragraph, or in lines
// cmark dropped from the tree because they held only definitions.
struct DefinitionRun {
  Stripped stripped;
  std::vector<Definition> defs;
  std::size_t block = SIZE_MAX;  // index into inline_blocks, or SIZE_MAX for a gap
};

std::vector<Definition> parse_definitions(const std::string& t) {
  std::vector<Definition> defs;
  std::size_t i = 0;
  while (i < t.size() && t[i] == '[') {
    auto def = parse_definition(t, i);
    if (!def) break;
    i = def->end;
    defs.push_back(std::move(*def));
  }
  return defs;
}

// Asks cmark which labels are defined, and as what: each label becomes a
// shortcut reference in its own paragraph ahead of the unchanged document.
std::map<std::string, std::string> resolve_labels(std::string_view markdown,
                                                  const std::vector<std::string>& labels) {
  std::map<std::string, std::string> resolved;
  if (labels.empty()) return resolved;
  std::string doc;
  for (const auto& label : labels) {
    doc += '[';
    for (char c : label) doc += (c == '\n' || c == '\r') ? ' ' : c;
    doc += "]\n\n";
  }
  doc.append(markdown);
  NodePtr root = parse(doc);
  if (!root) return resolved;
  cmark_node* para = cmark_node_first_child(root.get());
  for (const auto& label : labels) {
    if (para == nullptr) break;
    cmark_node* child = cmark_node_first_child(para);
    if (child != nullptr && cmark_node_next(child) == nullptr &&
        cmark_node_get_type(child) == CMARK_NODE_LINK) {
      const char* url = cmark_node_get_url(child);
      resolved.emplace(normalize_label(label), url != nullptr ? url : "");
    }
    para = cmark_node_next(para);
  }
  return resolved;
}

}  // namespace

std::vector<Link> scan_links(std::string_view markdown) {
  std::vector<Link> result;
  NodePtr root = parse(markdown);
  if (!root) return result;
  Lines lines(markdown);

  Outline outline;
  outline.covered.assign(static_cast<std::size_t>(lines.count()) + 2, false);
  walk_blocks(root.get(), Containers{}, outline, 0);

  // Definition candidates: at the start of paragraphs and in dropped lines.
  std::vector<DefinitionRun> runs;
  for (std::size_t b = 0; b < outline.inline_blocks.size(); ++b) {
    const auto& block = outline.inline_blocks[b];
    if (!block.paragraph) continue;
    DefinitionRun run;
    run.stripped = strip_lines(markdown, lines, block.first, block.last, block.ctx);
    run.defs = parse_definitions(run.stripped.text);
    run.block = b;
    runs.push_back(std::move(run));
  }
  for (int line = 1; line <= lines.count();) {
    if (outline.covered[static_cast<std::size_t>(line)]) {
      ++line;
      continue;
    }
    Containers ctx;
    for (const auto& [qb, qe] : outline.quotes) {
      if (qb <= line && line <= qe) ++ctx.quote_depth;
    }
    ctx.item_lines = outline.item_lines;
    int last = line;
    while (last + 1 <= lines.count() && !outline.covered[static_cast<std::size_t>(last + 1)]) {
      ++last;
    }
    DefinitionRun run;
    run.stripped = strip_lines(markdown, lines, line, last, ctx);
    // Blank lines separate former paragraphs; each may start a run.
    std::size_t i = 0;
    const std::string& t = run.stripped.text;
    while (i < t.size()) {
      if (t[i] == '[') {
        auto def = parse_definition(t, i);
        if (def) {
          i = def->end;
          run.defs.push_back(std::move(*def));
          continue;
        }
      }
      std::size_t nl = t.find('\n', i);
      i = nl == std::string::npos ? t.size() : nl + 1;
    }
    if (!run.defs.empty()) runs.push_back(std::move(run));
    line = last + 1;
  }

  // The first definition of a label is the one that counts.
  std::stable_sort(runs.begin(), runs.end(), [](const DefinitionRun& a, const DefinitionRun& b) {
    return a.stripped.source.front() < b.stripped.source.front();
  });
  std::vector<std::string> labels;
  std::set<std::string> seen;
  for (const auto& run : runs) {
    for (const auto& def : run.defs) {
      if (seen.insert(normalize_label(def.label)).second) labels.push_back(def.label);
    }
  }
  std::map<std::string, std::string> definitions = resolve_labels(markdown, labels);

  // Keep the candidates cmark agrees are definitions; a paragraph's run
  // stops at the first one it does not.
  std::vector<std::size_t> inline_start(outline.inline_blocks.size(), 0);
  std::set<std::string> first_seen;
  struct Found {
    std::size_t source_begin;
    Link link;
  };
  std::vector<Found> found;
  auto emit = [&](const Stripped& s, Link link) {
    auto range = s.source_range(link.begin, link.end);
    if (!range) return;
    link.begin = range->first;
    link.end = range->second;
    found.push_back({link.begin, std::move(link)});
  };
  for (auto& run : runs) {
    for (auto& def : run.defs) {
      std::string key = normalize_label(def.label);
      auto it = definitions.find(key);
      bool ok = it != definitions.end();
      if (ok && first_seen.insert(key).second) ok = it->second == def.dest.value;
      if (!ok) {
        if (run.block != SIZE_MAX) break;
        continue;
      }
      if (run.block != SIZE_MAX) inline_start[run.block] = def.end;
      Link link;
      link.syntax = LinkSyntax::kReferenceDefinition;
      link.begin = def.dest.begin;
      link.end = def.dest.end;
      link.destination = def.dest.value;
      emit(run.stripped, std::move(link));
    }
  }

  // Inline links, cross-checked in order against cmark's link nodes.
  for (std::size_t b = 0; b < outline.inline_blocks.size(); ++b) {
    const auto& block = outline.inline_blocks[b];
    Stripped s = strip_lines(markdown, lines, block.first, block.last, block.ctx);
    InlineScan scan = scan_inlines(s.text, inline_start[b], definitions);
    std::size_t cursor = 0;
    for (auto& cand : scan.candidates) {
      if (cand.checked) {
        auto it = std::find(block.urls.begin() + static_cast<std::ptrdiff_t>(cursor),
                            block.urls.end(), cand.link.destination);
        if (it == block.urls.end()) continue;
        cursor = static_cast<std::size_t>(it - block.urls.begin()) + 1;
      }
      emit(s, std::move(cand.link));
    }
  }
  for (const auto& block : outline.html_blocks) {
    Stripped s = strip_lines(markdown, lines, block.first, block.last, block.ctx);
    for (auto& link : scan_html(s.text)) emit(s, std::move(link));
  }

  std::stable_sort(found.begin(), found.end(),
                   [](const Found& a, const Found& b) { return a.source_begin < b.source_begin; });
  // cmark's block positions can overlap at their edges (a setext heading's
  // end, for one); a byte range is reported once, so rewriting stays sound.
  result.reserve(found.size());
  std::size_t covered_to = 0;
  for (auto& f : found) {
    if (!result.empty() && f.link.begin < covered_to) continue;
    covered_to = f.link.end;
    result.push_back(std::move(f.link));
  }
  return result;
}

std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

LinkTarget classify_destination(std::string_view destination) {
  LinkTarget target;
  if (destination.empty() || destination.front() == '#') {
    target.kind = TargetKind::kFragment;
    if (!destination.empty()) {
      target.fragment = std::string(destination.substr(1));
      target.has_fragment = true;
    }
    return target;
  }
  if (destination.starts_with("//")) {
    target.kind = TargetKind::kExternal;
    return target;
  }
  // A scheme: a letter, then letters, digits, '+', '-', '.', then ':'
  // before any '/', '?' or '#'.
  if (is_alpha(destination.front())) {
    std::size_t i = 1;
    while (i < destination.size() && (is_alnum(destination[i]) || destination[i] == '+' ||
                                      destination[i] == '-' || destination[i] == '.')) {
      ++i;
    }
    if (i < destination.size() && destination[i] == ':') {
      target.kind = TargetKind::kExternal;
      return target;
    }
  }

  target.kind = TargetKind::kLocal;
  std::string_view rest = destination;
  if (auto hash = rest.find('#'); hash != std::string_view::npos) {
    target.fragment = std::string(rest.substr(hash + 1));
    target.has_fragment = true;
    rest = rest.substr(0, hash);
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    target.query = std::string(rest.substr(q + 1));
    target.has_query = true;
    rest = rest.substr(0, q);
  }
  target.path = percent_decode(rest);
  if (target.path.empty() && !target.has_query) target.kind = TargetKind::kFragment;
  return target;
}

}  // namespace soma::notes
