#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "core/error.h"
#include "p2p/multiaddr/multiaddr.h"

// TCP addressing: the ip4|ip6 + tcp multiaddrs Soma dials and listens on, and
// their Asio endpoints. Pure functions; safe on any thread.
namespace soma::p2p::transport {

// The endpoint of /ip4/<a>/tcp/<p> or /ip6/<a>/tcp/<p>, optionally followed
// by /p2p/<id>. Errors: kInvalidArgument naming the first component that does
// not fit (dns names are not resolved here; relayed addresses are not TCP).
core::Result<asio::ip::tcp::endpoint> endpoint_from_multiaddr(const Multiaddr& addr);

// Where a dial goes: an IP endpoint, or a DNS name to resolve first.
struct DialTarget {
  std::optional<asio::ip::tcp::endpoint> endpoint;  // ip4 / ip6
  std::string host;                                 // dns / dns4 / dns6
  Protocol dns = Protocol::kDns;                    // which name lookup
  std::uint16_t port = 0;
};

// Accepts what endpoint_from_multiaddr() does plus /dns/<name>/tcp/<p>,
// /dns4/... and /dns6/... (with an optional /p2p/<id>).
core::Result<DialTarget> dial_target(const Multiaddr& addr);

// Whether a resolved address suits the lookup: /dns4 wants IPv4, /dns6
// IPv6, /dns either.
bool matches_family(Protocol dns, const asio::ip::address& address);

// /ip4/<a>/tcp/<p> or /ip6/<a>/tcp/<p>.
Multiaddr multiaddr_from_endpoint(const asio::ip::tcp::endpoint& endpoint);

}  // namespace soma::p2p::transport
