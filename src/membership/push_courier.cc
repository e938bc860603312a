#include "membership/push_courier.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "membership/courier.h"

namespace soma::membership {

PushCourier::PushCourier(DelegationService& service, JoinProtocol& protocol)
    : service_(service), protocol_(protocol) {}

PushCourier::~PushCourier() { stop(); }

void PushCourier::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void PushCourier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PushCourier::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool PushCourier::stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool PushCourier::sleep_until(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, until, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

void PushCourier::run() {
  using std::chrono::steady_clock;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    auto due = service_.due_pushes(kPushBatch);
    if (!due) {
      spdlog::error("cannot read the push outbox: {}", due.error().message);
      if (!sleep_until(steady_clock::now() + kCourierErrorPause)) return;
      continue;
    }
    for (const PendingPush& p : *due) {
      if (stopping()) return;
      auto outcome = protocol_.push(p, steady_clock::now() + kPushTimeout);
      core::Status recorded;
      if (outcome.status.ok()) {
        spdlog::info("capability push delivered id={} peer={}", p.id, p.peer.to_string());
        recorded = service_.push_succeeded(p.id);
      } else {
        spdlog::debug("capability push not delivered id={} peer={} attempt={}: {}", p.id,
                      p.peer.to_string(), p.attempts + 1, outcome.status.error().message);
        recorded = service_.push_failed(p.id, outcome.status.error(), outcome.permanent);
      }
      if (!recorded.ok()) {
        spdlog::error("cannot record the push id={}: {}", p.id, recorded.error().message);
      }
    }
    if (due->size() == kPushBatch) continue;

    auto next = service_.next_push_at();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kCourierIdlePoll);
    if (next && *next) {
      const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      wait = std::min(wait, std::chrono::milliseconds(std::max<Timestamp>(0, **next - now_ms)));
    }
    wait = std::max(wait, std::chrono::milliseconds(10));
    if (!sleep_until(steady_clock::now() + wait)) return;
  }
}

}  // namespace soma::membership
