#pragma once

#include <cstddef>
#include <string_view>

// Well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no UTF-16
// surrogates, nothing past U+10FFFF. Names, titles, CBOR text strings and
// imported notes are all checked against this one definition.
namespace soma::core {

// Length (1-4) of the well-formed sequence starting at text[i], or 0 when
// none starts there (including a sequence cut short by the end of text).
// Requires i < text.size().
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// Offset of the first byte that is not part of a well-formed sequence, or
// text.size() when every byte is.
std::size_t first_invalid_utf8(std::string_view text);

inline bool is_utf8(std::string_view text) { return first_invalid_utf8(text) == text.size(); }

}  // namespace soma::core
