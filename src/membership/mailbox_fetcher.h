#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "membership/mailbox_protocol.h"
#include "membership/membership_service.h"

namespace soma::membership {

// A Courier fallback that leaves a decision that could not be delivered
// in `mailbox`, addressed to its requester. The client must outlive it.
std::function<bool(const PendingDelivery&)> leave_decision_in(mailbox::MailboxClient& mailbox);

// How often the configured mailbox is asked for items, besides at start.
inline constexpr std::chrono::seconds kMailboxPollInterval{30};
// Batches fetched per round at most, so one round ends.
inline constexpr std::size_t kMailboxRoundsPerPoll = 8;

// Collects what other peers left for this one in its mailbox (a peer
// serving /soma/mailbox/1), at start and every kMailboxPollInterval:
// join decisions go to MembershipService::receive_decision as from their
// signer (whose signature the service verifies, so the mailbox cannot
// forge one), join requests to receive_request as from their signer. An
// item is acknowledged (and so removed from the mailbox) once handled or
// refused for good; one refused for a passing reason (busy, rate limit)
// stays for the next round.
//
// Threading: start(), stop() from one thread; wake() from any.
class MailboxFetcher {
 public:
  MailboxFetcher(MembershipService& service, mailbox::MailboxClient& client);
  ~MailboxFetcher();
  MailboxFetcher(const MailboxFetcher&) = delete;
  MailboxFetcher& operator=(const MailboxFetcher&) = delete;

  void start();
  void stop();
  void wake();

  // One round now, on the caller's thread: returns how many items were
  // handled, or the mailbox's error.
  core::Result<std::uint32_t> poll_once();

 private:
  void run();
  // True when the item is done with (handled, or refused for good).
  bool handle(const mailbox::Item& item);
  bool sleep_until(std::chrono::steady_clock::time_point until);

  MembershipService& service_;
  mailbox::MailboxClient& client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool woken_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace soma::membership
