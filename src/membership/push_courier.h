#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "membership/delegation_service.h"
#include "membership/join_protocol.h"

namespace soma::membership {

// Pushes taken from the outbox per round.
inline constexpr std::size_t kPushBatch = 16;
// How long one push attempt may take.
inline constexpr std::chrono::seconds kPushTimeout{10};

// Sends the artifacts waiting in the push outbox (delegations, revocations,
// reports of issued memberships), on a thread of its own: each due entry
// gets one attempt (JoinProtocol::push); the service removes it or
// reschedules it with backoff. The outbox is in the database, so what is
// still unsent when the daemon stops goes out after it starts again.
//
// Threading: start(), stop() from one thread; wake() from any. The service
// and protocol must outlive it.
class PushCourier {
 public:
  PushCourier(DelegationService& service, JoinProtocol& protocol);
  ~PushCourier();
  PushCourier(const PushCourier&) = delete;
  PushCourier& operator=(const PushCourier&) = delete;

  void start();
  // Ends the thread after the attempt in progress. Idempotent.
  void stop();
  // Looks at the outbox now (something was just queued).
  void wake();

 private:
  void run();
  bool stopping();
  // Sleeps until `until`, a wake() or stop(); false on stop.
  bool sleep_until(std::chrono::steady_clock::time_point until);

  DelegationService& service_;
  JoinProtocol& protocol_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace soma::membership
