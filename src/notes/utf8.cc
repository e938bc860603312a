#include "notes/utf8.h"

#include <cstdint>
#include <cstdio>

#include "core/utf8.h"

namespace soma::notes {
using core::utf8_sequence_length;

bool is_valid_utf8(std::string_view text) { return core::is_utf8(text); }

std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = utf8_sequence_length(text, i);
    auto b = static_cast<std::uint8_t>(text[i]);
    if (n == 0 || (n == 1 && (b < 0x20 || b == 0x7F))) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", b);
      out += buf;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace soma::notes
