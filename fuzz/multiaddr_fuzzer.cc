// Feeds arbitrary bytes to both multiaddr decoders. Whatever either accepts
// must survive the round trip through the other form unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "p2p/multiaddr/multiaddr.h"

using soma::p2p::Multiaddr;

namespace {

void check_round_trip(const Multiaddr& m) {
  auto from_text = Multiaddr::parse(m.to_string());
  if (!from_text.ok() || from_text->bytes() != m.bytes()) std::abort();
  auto from_bytes = Multiaddr::from_bytes(m.bytes());
  if (!from_bytes.ok() || from_bytes->to_string() != m.to_string()) std::abort();
  if (m.bytes().size() > soma::p2p::kMaxMultiaddrBytes) std::abort();
  if (m.components().size() > soma::p2p::kMaxMultiaddrComponents) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  soma::core::ByteView bytes(data, size);
  if (auto m = Multiaddr::from_bytes(bytes); m.ok()) check_round_trip(*m);
  if (auto m = Multiaddr::parse(soma::core::as_chars(bytes)); m.ok()) check_round_trip(*m);
  return 0;
}
