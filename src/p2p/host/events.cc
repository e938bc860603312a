#include "p2p/host/events.h"

#include <spdlog/spdlog.h>

namespace soma::p2p::host {

bool EventQueue::push(Event event) {
  std::lock_guard lock(mutex_);
  if (events_.size() >= capacity_) {
    ++dropped_;
    spdlog::warn("host event queue full ({} events); dropped one, {} dropped so far", capacity_,
                 dropped_);
    return false;
  }
  events_.push_back(std::move(event));
  return true;
}

std::optional<Event> EventQueue::try_pop() {
  std::lock_guard lock(mutex_);
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::size_t EventQueue::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

std::uint64_t EventQueue::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace soma::p2p::host
