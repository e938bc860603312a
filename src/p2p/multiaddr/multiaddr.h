#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"

namespace soma::p2p {

// The multiaddr protocols Soma understands, with their codes from the
// multiformats multiaddr table. Any other code is refused as unknown.
enum class Protocol : std::uint32_t {
  kIp4 = 0x04,
  kTcp = 0x06,
  kIp6 = 0x29,
  kDns = 0x35,
  kDns4 = 0x36,
  kDns6 = 0x37,
  kDnsaddr = 0x38,
  kUdp = 0x0111,
  kP2pCircuit = 0x0122,
  kP2p = 0x01a5,
  kQuicV1 = 0x01cd,
  kWs = 0x01dd,
  kWss = 0x01de,
};

// The text name of a protocol ("ip4", "p2p-circuit", ...).
std::string_view protocol_name(Protocol protocol);

// Bounds on what a multiaddr may hold. A relayed address over a secure
// websocket (/dns4/h/tcp/443/wss/p2p/R/p2p-circuit/p2p/P) has 8 components
// and fits easily; anything beyond these limits is refused before allocating.
inline constexpr std::size_t kMaxMultiaddrBytes = 1024;
inline constexpr std::size_t kMaxMultiaddrTextSize = 2048;
inline constexpr std::size_t kMaxMultiaddrComponents = 16;
inline constexpr std::size_t kMaxDnsNameSize = 255;

// One protocol of a multiaddr with its value in binary form: 4 bytes for
// ip4, 16 for ip6, a 2-byte big-endian port for tcp/udp, the name's bytes
// for the dns family, the PeerId multihash (crypto::PeerId::bytes()) for p2p, and nothing for the
// protocols without a value.
struct Component {
  Protocol protocol = Protocol::kIp4;
  core::Bytes value;

  // The value in text form ("127.0.0.1", "4001", "12D3KooW..."); empty
  // for protocols without a value.
  std::string value_text() const;

  friend bool operator==(const Component&, const Component&) = default;
};

// A validated multiaddr. Every instance holds only components that passed
// the checks of parse()/from_bytes(), so its binary and text forms always
// round-trip. A value type: copyable, no shared state, safe to use from any
// thread as long as one instance is not mutated concurrently.
class Multiaddr {
 public:
  // The empty multiaddr, which only decapsulate() produces; parse() and
  // from_bytes() refuse empty input.
  Multiaddr() = default;

  // Parses the text form ("/ip4/127.0.0.1/tcp/4001"). Refuses unknown
  // protocols, missing or extra values, malformed IPs, ports above 65535,
  // bad PeerIds and input over the size limits, with a kInvalidArgument or
  // kResourceExhausted error naming the offending component. /ipfs/ is read
  // as /p2p/, and a p2p value may be base58btc or a CIDv1 (libp2p-key).
  static core::Result<Multiaddr> parse(std::string_view text);

  // Decodes the binary form. The whole input must be one multiaddr:
  // truncated values, bad varints and trailing bytes are errors.
  static core::Result<Multiaddr> from_bytes(core::ByteView bytes);

  // Builds a multiaddr from components, validating each value as
  // from_bytes() would.
  static core::Result<Multiaddr> from_components(std::vector<Component> components);

  const core::Bytes& bytes() const { return bytes_; }
  const std::vector<Component>& components() const { return components_; }
  bool empty() const { return components_.empty(); }

  // The canonical text form: /p2p/ with base58btc PeerIds, ip6 as
  // inet_ntop prints it, ports without leading zeros.
  std::string to_string() const;

  // This multiaddr followed by `inner`. Fails only when the result would
  // exceed the size limits.
  core::Result<Multiaddr> encapsulate(const Multiaddr& inner) const;

  // Removes the last occurrence of `protocol` and everything after it.
  // Returns a copy of this multiaddr when `protocol` does not occur.
  Multiaddr decapsulate(Protocol protocol) const;

  // Removes the last occurrence of `suffix` (as a whole sequence of
  // components) and everything after it; a copy when it does not occur.
  Multiaddr decapsulate(const Multiaddr& suffix) const;

  // The PeerId of the last /p2p/ component, if there is one: for
  // /p2p/R/p2p-circuit/p2p/P this is P, the peer the address reaches.
  std::optional<crypto::PeerId> peer_id() const;

  friend bool operator==(const Multiaddr& a, const Multiaddr& b) { return a.bytes_ == b.bytes_; }

 private:
  explicit Multiaddr(std::vector<Component> components);

  std::vector<Component> components_;
  core::Bytes bytes_;
};

}  // namespace soma::p2p
