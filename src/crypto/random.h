#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/bytes.h"

namespace soma::crypto {

// Bytes from OpenSSL's CSPRNG. Thread-safe. A CSPRNG that cannot produce
// output leaves nothing safe to do, so the process aborts with a message
// rather than hand out predictable keys or ids.
core::Bytes random_bytes(std::size_t n);

// Fills `out` from the CSPRNG; aborts like random_bytes on failure.
void fill_random(std::span<std::uint8_t> out);

// A fresh identifier for spaces, pages and attachments: 16 random bytes as
// lower-case unpadded base32, always 26 characters. Thread-safe.
std::string random_id();

inline constexpr std::size_t kRandomIdLength = 26;

}  // namespace soma::crypto
