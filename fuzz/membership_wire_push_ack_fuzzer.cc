// The capability push acknowledgement (/soma/capability/1, receiver to
// sender) on arbitrary input: never a crash, a refusal's message stays
// within its bound, and what decodes survives a round trip.
#include <cstddef>
#include <cstdint>

#include "membership_wire_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::membership::wire;
  fuzz::round_trip(
      soma::core::ByteView(data, size), decode_push_ack,
      [](const PushAck& a, const PushAck& b) {
        return a.accepted == b.accepted && (a.accepted || fuzz::same(a.refusal, b.refusal));
      },
      [](const PushAck& m) {
        if (!m.accepted) fuzz::check(m.refusal.message.size() <= kMaxTextBytes);
      });
  return 0;
}
