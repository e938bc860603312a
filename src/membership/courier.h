#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

#include "membership/join_protocol.h"
#include "membership/membership_service.h"

namespace soma::membership {

// Decisions taken from the outbox per round.
inline constexpr std::size_t kDeliveryBatch = 16;
// The longest the courier sleeps without looking at the outbox, and how
// long it waits after the outbox could not be read.
inline constexpr std::chrono::seconds kCourierIdlePoll{60};
inline constexpr std::chrono::seconds kCourierErrorPause{5};

// Delivers the decisions waiting in the outbox, on a thread of its own:
// each due decision gets one attempt (JoinProtocol::deliver); the service
// records success or reschedules it with backoff. Because the outbox is in
// the database, decisions still undelivered when the daemon stops are
// retried after it starts again.
//
// Threading: start(), stop() from one thread; wake() from any. The service
// and protocol must outlive it.
class Courier {
 public:
  Courier(MembershipService& service, JoinProtocol& protocol);
  ~Courier();
  Courier(const Courier&) = delete;
  Courier& operator=(const Courier&) = delete;

  void start();
  // Ends the thread after the attempt in progress. Idempotent.
  void stop();
  // Looks at the outbox now (a decision was just queued).
  void wake();
  // Tried after an attempt that failed but may succeed later; returns
  // true when it handed the decision over another way (a mailbox), which
  // then counts as delivered. Set once, before start().
  void set_fallback(std::function<bool(const PendingDelivery&)> fallback);

 private:
  void run();
  // Sleeps until `until`, a wake() or stop(); false on stop.
  bool sleep_until(std::chrono::steady_clock::time_point until);

  MembershipService& service_;
  JoinProtocol& protocol_;
  std::function<bool(const PendingDelivery&)> fallback_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace soma::membership
