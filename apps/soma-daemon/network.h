#pragma once

#include <vector>

#include "core/error.h"
#include "p2p/multiaddr/multiaddr.h"
#include "p2p/node/node.h"
#include "store/listen_port_repository.h"

namespace soma::daemon {

// Where the daemon listens when no address is configured: TCP on every
// IPv4 and IPv6 interface, on a port chosen once and then remembered.
std::vector<p2p::Multiaddr> default_listen_addrs();

// Called from the daemon's main thread at startup; the node is thread-safe
// and the repository takes the database lock.
//
// Opens a listener on each of `addrs`. An address with port 0 first gets
// the port remembered for it in `ports`, when that port is still free, else
// a new random one (said in the log), which is remembered for the next
// start. With `defaults`, the IPv6 address first tries the IPv4 one's port
// when it has none remembered, and one that cannot be bound (no IPv6 on
// this machine) is left out with a note in the log. Errors: the first
// address that cannot be bound, named in the message (kInvalidArgument or
// kUnavailable from the node); listeners opened before stay open.
core::Status open_listeners(p2p::node::Node& node, store::ListenPortRepository& ports,
                            const std::vector<p2p::Multiaddr>& addrs, bool defaults);

}  // namespace soma::daemon
