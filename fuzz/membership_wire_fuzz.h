#pragma once

// Shared by the membership_wire_*_fuzzer targets: the oracle that a decoded
// message respects the decoder's bounds and survives an encode/decode round
// trip unchanged.

#include <cstdlib>

#include "cap/envelope.h"
#include "core/error.h"
#include "membership/wire.h"

namespace soma::membership::wire::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

inline bool same(const core::Error& a, const core::Error& b) {
  return a.code == b.code && a.message == b.message;
}

// Decodes `bytes` with `decode`, then re-encodes and decodes the result,
// which must succeed and compare equal under `equal`.
template <typename Decode, typename Equal, typename Bounds>
void round_trip(core::ByteView bytes, Decode decode, Equal equal, Bounds bounds) {
  auto first = decode(bytes);
  if (!first.ok()) {
    check(!first.error().message.empty());
    return;
  }
  check(bytes.size() <= kMaxMessageSize);
  bounds(*first);
  const core::Bytes again = encode(*first);
  auto second = decode(again);
  check(second.ok());
  check(equal(*first, *second));
}

}  // namespace soma::membership::wire::fuzz
