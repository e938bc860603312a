// The join answer (/soma/join/1, decider to requester) on arbitrary input:
// never a crash, every bound holds, a decided answer carries a decision,
// and what decodes survives a round trip.
#include <cstddef>
#include <cstdint>

#include "membership_wire_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::membership::wire;
  fuzz::round_trip(
      soma::core::ByteView(data, size), decode_join_answer,
      [](const JoinAnswer& a, const JoinAnswer& b) {
        return a.status == b.status && a.owner == b.owner && a.decision == b.decision &&
               a.space_name == b.space_name && fuzz::same(a.refusal, b.refusal);
      },
      [](const JoinAnswer& m) {
        fuzz::check(m.decision.size() <= soma::cap::kMaxArtifactSize);
        fuzz::check(m.space_name.size() <= kMaxNameBytes);
        fuzz::check(m.owner.size() <= kMaxAddrBytes);
        fuzz::check(m.refusal.message.size() <= kMaxTextBytes);
        if (m.status == JoinAnswer::Status::kDecided) fuzz::check(!m.decision.empty());
      });
  return 0;
}
