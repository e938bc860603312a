// The decision message (/soma/join-decision/1, decider to requester) on
// arbitrary input: never a crash, every bound holds, and what decodes
// survives a round trip.
#include <cstddef>
#include <cstdint>

#include "membership_wire_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::membership::wire;
  fuzz::round_trip(
      soma::core::ByteView(data, size), decode_decision,
      [](const DecisionMessage& a, const DecisionMessage& b) {
        return a.decision == b.decision && a.space_name == b.space_name;
      },
      [](const DecisionMessage& m) {
        fuzz::check(!m.decision.empty() && m.decision.size() <= soma::cap::kMaxArtifactSize);
        fuzz::check(m.space_name.size() <= kMaxNameBytes);
      });
  return 0;
}
