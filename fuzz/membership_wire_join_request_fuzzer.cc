// The join request message (/soma/join/1, requester to decider) on
// arbitrary input: never a crash, every bound holds, and what decodes
// survives a round trip.
#include <cstddef>
#include <cstdint>

#include "membership_wire_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::membership::wire;
  fuzz::round_trip(
      soma::core::ByteView(data, size), decode_join_request,
      [](const JoinRequestMessage& a, const JoinRequestMessage& b) {
        return a.request == b.request && a.listen_addrs == b.listen_addrs;
      },
      [](const JoinRequestMessage& m) {
        fuzz::check(!m.request.empty() && m.request.size() <= soma::cap::kMaxArtifactSize);
        fuzz::check(m.listen_addrs.size() <= kMaxListenAddrs);
        for (const auto& addr : m.listen_addrs) fuzz::check(addr.size() <= kMaxAddrBytes);
      });
  return 0;
}
