#include "p2p/transport/deadline.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace soma::p2p::transport {

Deadline::Deadline(const asio::any_io_executor& executor)
    : timer_(executor), state_(std::make_shared<State>()) {}

Deadline::~Deadline() { cancel(); }

void Deadline::arm(std::chrono::steady_clock::duration after, std::function<void()> on_expiry) {
  std::uint64_t generation = ++state_->generation;
  state_->expired = false;
  timer_.expires_after(after);
  timer_.async_wait(
      [state = state_, generation, action = std::move(on_expiry)](const std::error_code& ec) {
        if (ec || state->generation != generation) return;
        state->expired = true;
        action();
      });
}

void Deadline::cancel() {
  ++state_->generation;
  timer_.cancel();
}

Signal::Signal(const asio::any_io_executor& executor)
    : timer_(executor, asio::steady_timer::time_point::max()) {}

asio::awaitable<void> Signal::wait() {
  // Only notify() ends the wait; the expiry stays at "never".
  co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
}

}  // namespace soma::p2p::transport
