// Cid::parse and Cid::from_bytes on arbitrary input: never crash, and every
// accepted CID prints back to exactly the text or bytes it came from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "blob/cid.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using soma::blob::Cid;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = Cid::parse(text);
  if (parsed.ok() && parsed->to_string() != text) std::abort();

  soma::core::ByteView bytes(data, size);
  auto decoded = Cid::from_bytes(bytes);
  if (decoded.ok()) {
    auto again = decoded->bytes();
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  return 0;
}
