#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cap/clock.h"
#include "membership/join_protocol.h"
#include "membership/mailbox_protocol.h"
#include "membership/membership_service.h"
#include "store/database.h"
#include "store/join_request_repository.h"
#include "store/request_outbox_repository.h"

namespace soma::membership {

// Requests taken from the request outbox per round.
inline constexpr std::size_t kRequestBatch = 16;

// Gets join requests to their target when it could not be reached at
// first: the request stays pending, waits in the request outbox (in the
// database, so it survives restarts) and is sent again with backoff
// (Limits::first_retry_delay doubling up to max_retry_delay) until the
// target records it, refuses it, or delivery_give_up_after passes (the
// request then fails). With a mailbox configured and a target that names
// its peer id, a failed attempt leaves the request in that mailbox
// instead, addressed to the target.
//
// Threading: start(), stop() from one thread; queue() and wake() from
// any. Everything it borrows must outlive it.
class RequestCourier {
 public:
  RequestCourier(store::Database& db, const cap::Clock& clock, MembershipService& service,
                 JoinProtocol& protocol, mailbox::MailboxClient* mailbox, Limits limits = {});
  ~RequestCourier();
  RequestCourier(const RequestCourier&) = delete;
  RequestCourier& operator=(const RequestCourier&) = delete;

  // Records that request `id` could not reach `via` (`why`) and schedules
  // the next attempt; returns the request as the API shows it (pending,
  // with a detail saying when it is tried again).
  core::Result<JoinRequestInfo> queue(const std::string& id, const std::string& via,
                                      const core::Error& why);

  void start();
  // Ends the thread after the attempt in progress. Idempotent.
  void stop();
  void wake();

 private:
  void run();
  void attempt(const store::RequestOutboxItem& item);
  // Leaves the request in the mailbox; true when it is there.
  bool leave_in_mailbox(const store::JoinRequestRecord& r, const std::string& via);
  core::Status reschedule(const store::RequestOutboxItem& item, const core::Error& why);
  bool sleep_until(std::chrono::steady_clock::time_point until);

  store::Database& db_;
  const cap::Clock& clock_;
  MembershipService& service_;
  JoinProtocol& protocol_;
  mailbox::MailboxClient* mailbox_;
  const Limits limits_;
  store::JoinRequestRepository requests_;
  store::RequestOutboxRepository outbox_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace soma::membership
