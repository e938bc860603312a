// The deterministic CBOR decoder on arbitrary input: it never crashes, every
// failure says what and where, and whatever it accepts re-encodes to
// exactly the bytes it came from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "cap/cbor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::cap;
  soma::core::ByteView in(data, size);
  cbor::DecodeError error;
  auto value = cbor::decode(in, &error);
  if (!value.ok()) {
    if (error.offset > size || value.error().message.empty()) std::abort();
    return 0;
  }
  auto again = cbor::encode(*value);
  if (!again.ok() || again->size() != size || !std::equal(again->begin(), again->end(), data)) {
    std::abort();
  }
  return 0;
}
