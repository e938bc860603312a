#pragma once

#include <string>
#include <string_view>

namespace soma::notes {

// True when `text` is well-formed UTF-8: no overlong forms, surrogates or
// code points past U+10FFFF.
bool is_valid_utf8(std::string_view text);

// `text` with every byte that is not part of well-formed UTF-8, and every
// control character, shown as \xNN, so a hostile name prints safely.
std::string printable(std::string_view text);

}  // namespace soma::notes
