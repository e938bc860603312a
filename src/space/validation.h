#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

// Checks for the names, titles and texts people give spaces, pages,
// documents and attachments. Each failure is kInvalidArgument with a message
// that says which value is wrong, how, and what to do instead.
namespace soma::space::validation {

// True when `text` is well-formed UTF-8: no overlong forms, no surrogates,
// nothing past U+10FFFF. Returns the offset of the first bad byte otherwise.
bool is_utf8(std::string_view text, std::size_t* bad_offset = nullptr);

// A non-empty single-line label: valid UTF-8, no control characters
// (U+0000-U+001F, U+007F-U+009F), no bidirectional formatting characters
// (U+202A-U+202E, U+2066-U+2069, which can make a listing show names in an
// order or shape other than the real one), not only white space, at most
// max_bytes. `what` names it in errors ("space name").
core::Status check_name(std::string_view value, std::string_view what, std::size_t max_bytes);

// A name that also becomes a file name on export: check_name, plus no '/'
// and neither "." nor "..".
core::Status check_file_name(std::string_view value, std::string_view what, std::size_t max_bytes);

// Page positions lie in [-kMaxPosition, kMaxPosition], so "after the last
// sibling" (last + 1) always exists and every position is exact as a
// double in JSON.
inline constexpr std::int64_t kMaxPosition = std::int64_t{1} << 53;
core::Status check_position(std::int64_t value, std::string_view what);

// Free text: valid UTF-8 without NUL bytes, at most max_bytes.
core::Status check_text(std::string_view value, std::string_view what, std::size_t max_bytes);

// A short identifier such as a document format or media type: 1 to 127
// ASCII characters from [A-Za-z0-9] and "!#$&-^_.+/;= ".
core::Status check_token(std::string_view value, std::string_view what);

// `value` made safe to echo in an error message: quoted, control and
// non-UTF-8 bytes escaped as \xNN, cut after 64 bytes.
std::string printable(std::string_view value);

}  // namespace soma::space::validation
