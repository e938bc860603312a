// Feeds arbitrary bytes to the identify decoder as a message from a fixed
// authenticated peer. It may refuse them but must never crash, and whatever
// it accepts must stay within the declared bounds and re-encode.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/ed25519.h"
#include "crypto/peer_id.h"
#include "p2p/identify/identify.h"

namespace identify = soma::p2p::identify;

namespace {

const soma::crypto::PeerId& authenticated() {
  static const soma::crypto::PeerId peer = [] {
    std::array<std::uint8_t, 32> seed{};
    seed.fill(3);
    auto key = soma::crypto::Ed25519PrivateKey::from_seed(seed).value();
    return soma::crypto::PeerId::from_public_key(key.public_key());
  }();
  return peer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto info = identify::decode(soma::core::ByteView(data, size), authenticated());
  if (!info.ok()) return 0;
  if (info->listen_addrs.size() > identify::kMaxListenAddrs ||
      info->protocols.size() > identify::kMaxProtocols ||
      info->agent_version.size() > identify::kMaxStringSize ||
      info->protocol_version.size() > identify::kMaxStringSize) {
    std::abort();
  }
  auto again = identify::decode(identify::encode(*info), authenticated());
  if (!again.ok() || again->protocols != info->protocols ||
      again->listen_addrs != info->listen_addrs || again->agent_version != info->agent_version) {
    std::abort();
  }
  return 0;
}
