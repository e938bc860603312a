#include "membership/rate_limiter.h"

#include <limits>

namespace soma::membership {

RateLimiter::RateLimiter(std::size_t limit, cap::Timestamp window, std::size_t max_peers)
    : limit_(limit), window_(window), max_peers_(max_peers == 0 ? 1 : max_peers) {}

bool RateLimiter::allow(const crypto::PeerId& peer, cap::Timestamp now) {
  std::lock_guard lock(mu_);
  auto it = events_.find(peer);
  if (it == events_.end()) {
    if (events_.size() >= max_peers_) forget_oldest();
    it = events_.emplace(peer, std::deque<cap::Timestamp>{}).first;
  }
  std::deque<cap::Timestamp>& times = it->second;
  while (!times.empty() && times.front() <= now - window_) times.pop_front();
  if (times.size() >= limit_) {
    ++refused_;
    return false;
  }
  times.push_back(now);
  return true;
}

void RateLimiter::forget_oldest() {
  auto oldest = events_.end();
  cap::Timestamp oldest_time = std::numeric_limits<cap::Timestamp>::max();
  for (auto it = events_.begin(); it != events_.end(); ++it) {
    const cap::Timestamp latest = it->second.empty() ? std::numeric_limits<cap::Timestamp>::min()
                                                     : it->second.back();
    if (latest < oldest_time || oldest == events_.end()) {
      oldest = it;
      oldest_time = latest;
    }
  }
  if (oldest != events_.end()) events_.erase(oldest);
}

std::size_t RateLimiter::tracked_peers() const {
  std::lock_guard lock(mu_);
  return events_.size();
}

std::uint64_t RateLimiter::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}

}  // namespace soma::membership
