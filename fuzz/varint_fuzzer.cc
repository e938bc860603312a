// The unsigned-varint and base decoders on arbitrary input: never crash, and
// whatever decodes encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/base_encoding.h"
#include "core/varint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  soma::core::ByteView bytes(data, size);
  auto v = soma::core::varint::decode_prefix(bytes);
  if (v.ok() && v->has_value()) {
    auto again = soma::core::varint::encode((*v)->value);
    if (again.size() != (*v)->size) std::abort();
    for (std::size_t i = 0; i < again.size(); ++i) {
      if (again[i] != data[i]) std::abort();
    }
  }

  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto b58 = soma::core::base58btc_decode(text); b58.ok()) {
    if (soma::core::base58btc_encode(*b58) != text) std::abort();
  }
  if (auto b32 = soma::core::base32_decode(text); b32.ok()) {
    (void)soma::core::base32_encode(*b32);
  }
  (void)soma::core::hex_decode(text);
  return 0;
}
