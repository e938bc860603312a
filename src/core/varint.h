#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::core::varint {

// Unsigned varint as multiformats defines it: little-endian base-128, at most
// nine bytes, minimal encoding only (a trailing zero byte is rejected).
inline constexpr std::size_t kMaxBytes = 9;

void append(Bytes& out, std::uint64_t value);
Bytes encode(std::uint64_t value);
std::size_t encoded_size(std::uint64_t value);

struct Decoded {
  std::uint64_t value = 0;
  std::size_t size = 0;  // bytes consumed
};

// Returns nullopt when `in` holds only a prefix of a varint (more bytes may
// complete it), and an error when the bytes can never form a valid varint.
Result<std::optional<Decoded>> decode_prefix(ByteView in);

// Decodes a varint that must be complete.
Result<Decoded> decode(ByteView in);

}  // namespace soma::core::varint
