// Feeds arbitrary bytes to a multistream-select listener and dialer, in
// chunks whose size the first input byte picks. Neither may crash, and
// each must end in a consistent state: a selected protocol is one that was
// offered, and a failure always carries a message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "p2p/multistream/multistream.h"

namespace ms = soma::p2p::multistream;

namespace {

const std::vector<std::string> kProtocols = {"/noise", "/yamux/1.0.0", "/ipfs/ping/1.0.0"};

template <typename Negotiator>
void drive(Negotiator& n, soma::core::ByteView in, std::size_t chunk) {
  (void)n.start();
  for (std::size_t off = 0; off < in.size(); off += chunk) {
    auto step = n.feed(in.subspan(off, std::min(chunk, in.size() - off)));
    if (step.state != n.state()) std::abort();
  }
  switch (n.state()) {
    case ms::State::kSelected:
      if (std::find(kProtocols.begin(), kProtocols.end(), n.selected()) == kProtocols.end()) {
        std::abort();
      }
      (void)n.take_leftover();
      break;
    case ms::State::kFailed:
      if (n.error().message.empty()) std::abort();
      if (!n.take_leftover().empty()) std::abort();
      break;
    case ms::State::kNegotiating:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] % 32 + 1;
  soma::core::ByteView in(data + 1, size - 1);

  (void)ms::decode_message(in);
  auto listener = ms::Listener::create(kProtocols);
  auto dialer = ms::Dialer::create(kProtocols);
  if (!listener.ok() || !dialer.ok()) std::abort();
  drive(*listener, in, chunk);
  drive(*dialer, in, chunk);
  return 0;
}
