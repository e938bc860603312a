#include "membership/courier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace soma::membership {

Courier::Courier(MembershipService& service, JoinProtocol& protocol)
    : service_(service), protocol_(protocol) {}

Courier::~Courier() { stop(); }

void Courier::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void Courier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Courier::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Courier::set_fallback(std::function<bool(const PendingDelivery&)> fallback) {
  fallback_ = std::move(fallback);
}

bool Courier::sleep_until(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, until, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

void Courier::run() {
  using std::chrono::steady_clock;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }

    auto due = service_.due_deliveries(kDeliveryBatch);
    if (!due) {
      spdlog::error("cannot read the decision outbox: {}", due.error().message);
      if (!sleep_until(steady_clock::now() + kCourierErrorPause)) return;
      continue;
    }
    for (const PendingDelivery& d : *due) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      auto outcome = protocol_.deliver(d, steady_clock::now() + kDeliveryTimeout);
      core::Status recorded;
      if (outcome.status.ok()) {
        spdlog::info("join decision delivered request={} peer={}", d.request_id,
                     d.peer.to_string());
        recorded = service_.delivery_succeeded(d.request_id);
      } else if (!outcome.permanent && fallback_ && fallback_(d)) {
        spdlog::info("join decision handed to the mailbox request={} peer={}", d.request_id,
                     d.peer.to_string());
        recorded = service_.delivery_succeeded(d.request_id);
      } else {
        spdlog::debug("join decision not delivered request={} peer={} attempt={}: {}", d.request_id,
                      d.peer.to_string(), d.attempts + 1, outcome.status.error().message);
        recorded =
            service_.delivery_failed(d.request_id, outcome.status.error(), outcome.permanent);
      }
      if (!recorded.ok()) {
        spdlog::error("cannot record the delivery of request={}: {}", d.request_id,
                      recorded.error().message);
      }
    }
    if (due->size() == kDeliveryBatch) continue;

    // Sleep until the next decision is due, capped so a clock change
    // cannot stall delivery for long.
    auto next = service_.next_delivery_at();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kCourierIdlePoll);
    if (next && *next) {
      const auto until_due = std::chrono::milliseconds(
          std::max<Timestamp>(0, **next - std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()));
      wait = std::min(wait, until_due);
    }
    wait = std::max(wait, std::chrono::milliseconds(10));
    if (!sleep_until(steady_clock::now() + wait)) return;
  }
}

}  // namespace soma::membership
