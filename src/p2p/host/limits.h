#pragma once

#include <chrono>
#include <cstddef>

// Named bounds of a Host. Each constant is a default a config file may
// override through Limits.
namespace soma::p2p::host {

// Established connections in total, and to any one peer.
inline constexpr std::size_t kDefaultMaxConnections = 256;
inline constexpr std::size_t kDefaultMaxConnectionsPerPeer = 2;
// Inbound connections still in the upgrade (negotiation and handshake); more
// are closed as they arrive, so half-open peers cannot exhaust the host.
inline constexpr std::size_t kDefaultMaxPendingInbound = 32;
// Streams the peer may hold open on one connection; more are reset.
inline constexpr std::size_t kDefaultMaxStreamsPerConnection = 256;
// Events waiting for the application; more are dropped and counted.
inline constexpr std::size_t kDefaultMaxQueuedEvents = 1024;
// Peers the peer store remembers; the least recently updated goes first.
inline constexpr std::size_t kDefaultMaxPeers = 1024;
inline constexpr std::size_t kDefaultMaxAddrsPerPeer = 16;
inline constexpr std::size_t kDefaultMaxProtocolsPerPeer = 64;
// A connection without streams for this long is closed.
inline constexpr std::chrono::milliseconds kDefaultIdleTimeout{120'000};
// multistream-select on a new stream must finish within this.
inline constexpr std::chrono::milliseconds kDefaultStreamNegotiationTimeout{10'000};

struct Limits {
  std::size_t max_connections = kDefaultMaxConnections;
  std::size_t max_connections_per_peer = kDefaultMaxConnectionsPerPeer;
  std::size_t max_pending_inbound = kDefaultMaxPendingInbound;
  std::size_t max_streams_per_connection = kDefaultMaxStreamsPerConnection;
  std::size_t max_queued_events = kDefaultMaxQueuedEvents;
  std::size_t max_peers = kDefaultMaxPeers;
  std::size_t max_addrs_per_peer = kDefaultMaxAddrsPerPeer;
  std::size_t max_protocols_per_peer = kDefaultMaxProtocolsPerPeer;
  std::chrono::milliseconds idle_timeout = kDefaultIdleTimeout;
  std::chrono::milliseconds stream_negotiation_timeout = kDefaultStreamNegotiationTimeout;
};

}  // namespace soma::p2p::host
