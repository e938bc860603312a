// scan_links on arbitrary Markdown: never crash, and every link it reports
// lies inside the text, in order, without overlapping the one before.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "notes/link_scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t previous_end = 0;
  for (const auto& link : soma::notes::scan_links(text)) {
    if (link.begin > link.end || link.end > text.size()) std::abort();
    if (link.begin < previous_end) std::abort();
    previous_end = link.end;
    (void)soma::notes::classify_destination(link.destination);
  }
  return 0;
}
