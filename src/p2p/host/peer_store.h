#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crypto/peer_id.h"
#include "p2p/host/limits.h"
#include "p2p/multiaddr/multiaddr.h"

// What the host knows about other peers: addresses to dial, the protocols
// they announced and their agent. Fed by identify and by dialing, so every
// container has a bound (Limits::max_peers, max_addrs_per_peer,
// max_protocols_per_peer). Not thread-safe: the network loop owns it.
namespace soma::p2p::host {

struct PeerRecord {
  std::vector<Multiaddr> addrs;  // newest first
  std::vector<std::string> protocols;
  std::string agent_version;
  std::uint64_t last_update = 0;  // a logical clock, for eviction
};

class PeerStore {
 public:
  explicit PeerStore(const Limits& limits) : limits_(limits) {}

  // Adds addresses (without their /p2p/ part), newest first; beyond
  // max_addrs_per_peer the oldest go. Returns how many were dropped.
  std::size_t add_addrs(const crypto::PeerId& peer, const std::vector<Multiaddr>& addrs);
  // Replaces the protocol list; entries past max_protocols_per_peer are
  // dropped and counted in the return value.
  std::size_t set_protocols(const crypto::PeerId& peer, std::vector<std::string> protocols);
  void set_agent_version(const crypto::PeerId& peer, std::string agent_version);

  const PeerRecord* find(const crypto::PeerId& peer) const;
  // Every remembered peer, for listings.
  const std::map<crypto::PeerId, PeerRecord>& peers() const { return peers_; }
  std::size_t size() const { return peers_.size(); }
  std::uint64_t evicted() const { return evicted_; }

 private:
  PeerRecord& touch(const crypto::PeerId& peer);

  Limits limits_;
  std::map<crypto::PeerId, PeerRecord> peers_;
  std::uint64_t clock_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace soma::p2p::host
