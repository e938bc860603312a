#pragma once

#include <vector>

#include "p2p/multiaddr/multiaddr.h"

// Which addresses reach this host. A listener bound to the unspecified
// address (/ip4/0.0.0.0, /ip6/::) accepts on every interface, but nobody
// can dial 0.0.0.0: peers need the interfaces' own addresses.
namespace soma::p2p::host {

// Each /ip4/0.0.0.0/tcp/P in `listen_addrs` becomes /ip4/<a>/tcp/P for
// every IPv4 address of an interface that is up, and each /ip6/::/tcp/P
// likewise for IPv6 (link-local addresses are left out: they need a zone
// that multiaddrs here do not carry). Other addresses are kept as they are;
// duplicates are dropped, order is kept. When the interfaces cannot be read
// the unspecified address becomes its loopback (127.0.0.1, ::1).
// Thread-safe: it reads the interface list on every call.
std::vector<Multiaddr> expand_unspecified(const std::vector<Multiaddr>& listen_addrs);

}  // namespace soma::p2p::host
