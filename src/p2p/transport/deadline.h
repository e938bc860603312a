#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

// Timing helpers for the network loop. Both belong to one io_context thread.
namespace soma::p2p::transport {

// Runs an action once if not cancelled or re-armed in time: closes a socket
// that stalls, resets a stream that hangs. The action never runs after
// cancel(), arm() or destruction, even if the timer had already fired.
class Deadline {
 public:
  explicit Deadline(const asio::any_io_executor& executor);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(std::chrono::steady_clock::duration after, std::function<void()> on_expiry);
  void cancel();
  // True once the action ran (until the next arm()).
  bool expired() const { return state_->expired; }

 private:
  struct State {
    std::uint64_t generation = 0;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

// Wakes coroutines waiting for a condition to change. Waiters re-check their
// condition after every wake-up: wake-ups may be spurious, and a notify()
// with no waiter is not remembered.
class Signal {
 public:
  explicit Signal(const asio::any_io_executor& executor);
  asio::awaitable<void> wait();
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

}  // namespace soma::p2p::transport
