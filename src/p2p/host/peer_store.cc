#include "p2p/host/peer_store.h"

#include <algorithm>

namespace soma::p2p::host {

PeerRecord& PeerStore::touch(const crypto::PeerId& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    // Make room by forgetting the peer updated longest ago.
    while (!peers_.empty() && peers_.size() >= limits_.max_peers) {
      auto oldest = std::min_element(
          peers_.begin(), peers_.end(),
          [](const auto& a, const auto& b) { return a.second.last_update < b.second.last_update; });
      peers_.erase(oldest);
      ++evicted_;
    }
    it = peers_.emplace(peer, PeerRecord{}).first;
  }
  it->second.last_update = ++clock_;
  return it->second;
}

std::size_t PeerStore::add_addrs(const crypto::PeerId& peer, const std::vector<Multiaddr>& addrs) {
  if (limits_.max_peers == 0) return addrs.size();
  PeerRecord& record = touch(peer);
  for (const Multiaddr& raw : addrs) {
    Multiaddr addr = raw.decapsulate(Protocol::kP2p);
    if (addr.empty()) continue;
    auto& list = record.addrs;
    list.erase(std::remove(list.begin(), list.end(), addr), list.end());
    list.insert(list.begin(), std::move(addr));
  }
  std::size_t dropped = 0;
  if (record.addrs.size() > limits_.max_addrs_per_peer) {
    dropped = record.addrs.size() - limits_.max_addrs_per_peer;
    record.addrs.resize(limits_.max_addrs_per_peer);
  }
  return dropped;
}

std::size_t PeerStore::set_protocols(const crypto::PeerId& peer,
                                     std::vector<std::string> protocols) {
  if (limits_.max_peers == 0) return protocols.size();
  PeerRecord& record = touch(peer);
  std::size_t dropped = 0;
  if (protocols.size() > limits_.max_protocols_per_peer) {
    dropped = protocols.size() - limits_.max_protocols_per_peer;
    protocols.resize(limits_.max_protocols_per_peer);
  }
  record.protocols = std::move(protocols);
  return dropped;
}

void PeerStore::set_agent_version(const crypto::PeerId& peer, std::string agent_version) {
  if (limits_.max_peers == 0) return;
  touch(peer).agent_version = std::move(agent_version);
}

const PeerRecord* PeerStore::find(const crypto::PeerId& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

}  // namespace soma::p2p::host
