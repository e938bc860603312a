#include "space/validation.h"

#include <fmt/format.h>

#include <cstdint>

#include "core/utf8.h"

namespace soma::space::validation {
namespace {

using core::Error;
using core::Status;

using core::utf8_sequence_length;

bool is_control(char c) {
  const auto b = static_cast<std::uint8_t>(c);
  return b < 0x20 || b == 0x7f;
}

// The code point of the well-formed sequence of `len` bytes at text[i].
char32_t decode(std::string_view text, std::size_t i, std::size_t len) {
  const auto b0 = static_cast<std::uint8_t>(text[i]);
  if (len == 1) return b0;
  char32_t cp = b0 & (0x7fu >> len);
  for (std::size_t k = 1; k < len; ++k) {
    cp = (cp << 6) | (static_cast<std::uint8_t>(text[i + k]) & 0x3fu);
  }
  return cp;
}

bool is_bidi_control(char32_t cp) {
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// Unicode White_Space, minus the C0 and C1 controls (refused on their own).
bool is_white_space(char32_t cp) {
  return cp == 0x20 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

}  // namespace

bool is_utf8(std::string_view text, std::size_t* bad_offset) {
  const std::size_t bad = core::first_invalid_utf8(text);
  if (bad == text.size()) return true;
  if (bad_offset != nullptr) *bad_offset = bad;
  return false;
}

Status check_name(std::string_view value, std::string_view what, std::size_t max_bytes) {
  if (value.empty()) return Error::invalid(fmt::format("{} is empty; give a non-empty one", what));
  if (value.size() > max_bytes) {
    return Error::invalid(fmt::format("{} is {} bytes long; the limit is {} bytes, shorten it",
                                      what, value.size(), max_bytes));
  }
  std::size_t bad = 0;
  if (!is_utf8(value, &bad)) {
    return Error::invalid(
        fmt::format("{} is not valid UTF-8 (bad byte at offset {}); send it as UTF-8", what, bad));
  }
  bool all_space = true;
  for (std::size_t i = 0; i < value.size();) {
    const std::size_t len = utf8_sequence_length(value, i);
    const char32_t cp = decode(value, i, len);
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      return Error::invalid(fmt::format(
          "{} contains a control character (U+{:04X} at byte offset {}); use printable text on "
          "one line",
          what, static_cast<std::uint32_t>(cp), i));
    }
    if (is_bidi_control(cp)) {
      return Error::invalid(fmt::format(
          "{} contains a bidirectional formatting character (U+{:04X} at byte offset {}), which "
          "can disguise a name in listings; remove it",
          what, static_cast<std::uint32_t>(cp), i));
    }
    if (!is_white_space(cp)) all_space = false;
    i += len;
  }
  if (all_space) {
    return Error::invalid(
        fmt::format("{} is only white space; give one with visible characters", what));
  }
  return {};
}

Status check_position(std::int64_t value, std::string_view what) {
  if (value < -kMaxPosition || value > kMaxPosition) {
    return Error::invalid(fmt::format("{} {} is out of range; positions lie between {} and {}",
                                      what, value, -kMaxPosition, kMaxPosition));
  }
  return {};
}

Status check_file_name(std::string_view value, std::string_view what, std::size_t max_bytes) {
  SOMA_TRY(check_name(value, what, max_bytes));
  if (value.find('/') != std::string_view::npos) {
    return Error::invalid(
        fmt::format("{} {} contains '/', which cannot appear in a file name on export; use another "
                    "character such as '-'",
                    what, printable(value)));
  }
  if (value == "." || value == "..") {
    return Error::invalid(fmt::format(
        "{} may not be \".\" or \"..\", which name directories on export; choose another", what));
  }
  return {};
}

Status check_text(std::string_view value, std::string_view what, std::size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Error::invalid(fmt::format("{} is {} bytes long; the limit is {} bytes, split it up",
                                      what, value.size(), max_bytes));
  }
  std::size_t bad = 0;
  if (!is_utf8(value, &bad)) {
    return Error::invalid(
        fmt::format("{} is not valid UTF-8 (bad byte at offset {}); send it as UTF-8", what, bad));
  }
  if (auto nul = value.find('\0'); nul != std::string_view::npos) {
    return Error::invalid(fmt::format("{} contains a NUL byte at offset {}; remove it", what, nul));
  }
  return {};
}

Status check_token(std::string_view value, std::string_view what) {
  constexpr std::size_t kMaxTokenBytes = 127;
  constexpr std::string_view kPunctuation = "!#$&-^_.+/;= ";
  if (value.empty()) return Error::invalid(fmt::format("{} is empty; give a non-empty one", what));
  if (value.size() > kMaxTokenBytes) {
    return Error::invalid(
        fmt::format("{} is {} bytes long; the limit is {}", what, value.size(), kMaxTokenBytes));
  }
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              kPunctuation.find(c) != std::string_view::npos;
    if (!ok) {
      return Error::invalid(fmt::format("{} {} may hold only ASCII letters, digits and {}", what,
                                        printable(value), kPunctuation));
    }
  }
  return {};
}

std::string printable(std::string_view value) {
  constexpr std::size_t kMaxShown = 64;
  std::string out = "\"";
  std::size_t i = 0;
  while (i < value.size() && i < kMaxShown) {
    std::size_t len = utf8_sequence_length(value, i);
    if (len == 0 || is_control(value[i]) || value[i] == '"' || value[i] == '\\') {
      if (value[i] == '"' || value[i] == '\\') {
        out += '\\';
        out += value[i];
      } else {
        out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<std::uint8_t>(value[i])));
      }
      ++i;
      continue;
    }
    out.append(value.substr(i, len));
    i += len;
  }
  out += '"';
  if (i < value.size()) out += fmt::format("… ({} bytes)", value.size());
  return out;
}

}  // namespace soma::space::validation
