#include "core/varint.h"

namespace soma::core::varint {

void append(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

Bytes encode(std::uint64_t value) {
  Bytes out;
  append(out, value);
  return out;
}

std::size_t encoded_size(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

Result<std::optional<Decoded>> decode_prefix(ByteView in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i >= kMaxBytes) return Error::invalid("varint longer than 9 bytes");
    std::uint8_t b = in[i];
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) return Error::invalid("varint is not minimally encoded");
      return std::optional<Decoded>(Decoded{value, i + 1});
    }
  }
  if (in.size() >= kMaxBytes) return Error::invalid("varint longer than 9 bytes");
  return std::optional<Decoded>();
}

Result<Decoded> decode(ByteView in) {
  auto r = decode_prefix(in);
  if (!r) return r.take_error();
  if (!r->has_value()) return Error::invalid("truncated varint");
  return **r;
}

}  // namespace soma::core::varint
