#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crypto/peer_id.h"
#include "p2p/multiaddr/multiaddr.h"
#include "p2p/transport/disconnect.h"
#include "p2p/transport/upgrade.h"

// What a Host tells the application, as values in a bounded queue.
namespace soma::p2p::host {

namespace event {

struct Connected {
  crypto::PeerId peer;
  Multiaddr remote_addr;
  transport::Role role = transport::Role::kDialer;
};

struct Disconnected {
  crypto::PeerId peer;
  Multiaddr remote_addr;
  transport::DisconnectReason reason;
};

// The peer answered identify; its public key matched its PeerId.
struct Identified {
  crypto::PeerId peer;
  std::string protocol_version;
  std::string agent_version;
  std::vector<std::string> protocols;
  std::vector<Multiaddr> listen_addrs;
  std::optional<Multiaddr> observed_addr;
};

}  // namespace event

using Event = std::variant<event::Connected, event::Disconnected, event::Identified>;

// A bounded FIFO between the network loop (push, never blocks) and the
// application (pop, from any thread). When full, the new event is dropped
// and counted. Thread-safe.
class EventQueue {
 public:
  explicit EventQueue(std::size_t capacity) : capacity_(capacity) {}

  // False when the queue was full and the event was dropped.
  bool push(Event event);
  std::optional<Event> try_pop();
  std::size_t size() const;
  std::uint64_t dropped() const;
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Event> events_;
  std::uint64_t dropped_ = 0;
};

}  // namespace soma::p2p::host
