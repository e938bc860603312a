#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>

#include "cap/artifacts.h"
#include "crypto/peer_id.h"

namespace soma::membership {

// Counts events per peer in a sliding window and refuses those past a
// limit: "at most `limit` in any `window`". Memory is bounded: at most
// `max_peers` peers are tracked; when a new one arrives at that bound the
// peer whose latest event is oldest is forgotten (it is the one least
// likely to be over its limit). Thread-safe.
class RateLimiter {
 public:
  RateLimiter(std::size_t limit, cap::Timestamp window, std::size_t max_peers);

  // Records an event of `peer` at `now` and returns true, or returns false
  // (recording nothing) when `peer` already had `limit` events in the
  // window ending at `now`.
  bool allow(const crypto::PeerId& peer, cap::Timestamp now);

  std::size_t tracked_peers() const;
  // How many events were refused since construction.
  std::uint64_t refused() const;

 private:
  void forget_oldest();

  const std::size_t limit_;
  const cap::Timestamp window_;
  const std::size_t max_peers_;
  mutable std::mutex mu_;
  std::map<crypto::PeerId, std::deque<cap::Timestamp>> events_;  // guarded by mu_
  std::uint64_t refused_ = 0;                                    // guarded by mu_
};

}  // namespace soma::membership
