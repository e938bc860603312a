// The capability push (/soma/capability/1, sender to receiver) on arbitrary
// input: never a crash, the artifact and name stay within their bounds, and
// what decodes survives a round trip.
#include <cstddef>
#include <cstdint>

#include "membership_wire_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace soma::membership::wire;
  fuzz::round_trip(
      soma::core::ByteView(data, size), decode_push,
      [](const PushMessage& a, const PushMessage& b) {
        return a.kind == b.kind && a.artifact == b.artifact && a.space_name == b.space_name;
      },
      [](const PushMessage& m) {
        fuzz::check(!m.artifact.empty() && m.artifact.size() <= soma::cap::kMaxArtifactSize);
        fuzz::check(m.space_name.size() <= kMaxNameBytes);
      });
  return 0;
}
