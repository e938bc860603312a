// The decision acknowledgement (/soma/join-decision/1, requester to
// decider) on arbitrary input: never a crash, a refusal's message stays
// within its bound, and what decodes survives a round trip.
#include <cstddef>
#include <cstdint>

#include "membership_wire_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::membership::wire;
  fuzz::round_trip(
      soma::core::ByteView(data, size), decode_decision_ack,
      [](const DecisionAck& a, const DecisionAck& b) {
        return a.accepted == b.accepted && (a.accepted || fuzz::same(a.refusal, b.refusal));
      },
      [](const DecisionAck& m) {
        if (!m.accepted) fuzz::check(m.refusal.message.size() <= kMaxTextBytes);
      });
  return 0;
}
