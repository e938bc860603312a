// Feeds arbitrary bytes to every Noise decoder: the handshake payload
// codec, a responder and an initiator handshake (as the remote's messages),
// and a transport decoder, in chunks whose size the first input byte picks.
// None may crash, buffer more than one frame, or report success for bytes
// an honest peer could not have produced.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/ed25519.h"
#include "p2p/noise/handshake.h"
#include "p2p/noise/payload.h"
#include "p2p/noise/session.h"

namespace noise = soma::p2p::noise;
using soma::core::Bytes;
using soma::core::ByteView;

namespace {

const noise::LocalKeys& local_keys() {
  static const noise::LocalKeys keys = [] {
    std::array<std::uint8_t, 32> seed{};
    seed.fill(7);
    return noise::LocalKeys::generate(soma::crypto::Ed25519PrivateKey::from_seed(seed).value());
  }();
  return keys;
}

void drive(noise::Handshake& hs, ByteView in, std::size_t chunk) {
  (void)hs.start();
  for (std::size_t off = 0; off < in.size(); off += chunk) {
    (void)hs.feed(in.subspan(off, std::min(chunk, in.size() - off)));
  }
  // Random bytes cannot authenticate as message 2 or 3.
  if (hs.status() == noise::HandshakeStatus::kDone) std::abort();
  if (hs.status() == noise::HandshakeStatus::kFailed && hs.error().message.empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = data[0] * 61 % 4096 + 1;
  ByteView in(data + 1, size - 1);

  (void)noise::decode_payload(in);

  auto responder = noise::Handshake::responder(local_keys());
  drive(responder, in, chunk);
  auto initiator = noise::Handshake::initiator(local_keys());
  drive(initiator, in, chunk);

  std::array<std::uint8_t, 32> key{};
  auto cipher = noise::CipherState::with_key(key);
  if (!cipher.ok()) std::abort();
  noise::Decoder decoder(std::move(cipher).value());
  Bytes plain;
  for (std::size_t off = 0; off < in.size(); off += chunk) {
    auto st = decoder.feed(in.subspan(off, std::min(chunk, in.size() - off)), plain);
    if (decoder.buffered() > noise::kMaxFrameSize) std::abort();
    if (!st.ok()) break;
  }
  return 0;
}
