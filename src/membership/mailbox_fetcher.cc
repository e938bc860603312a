#include "membership/mailbox_fetcher.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "cap/signing.h"
#include "membership/join_protocol.h"
#include "membership/wire.h"
#include "p2p/multiaddr/multiaddr.h"

namespace soma::membership {
namespace {

// A refusal that may not happen next time.
bool passing(const core::Error& error) {
  return error.code == core::ErrorCode::kUnavailable ||
         error.code == core::ErrorCode::kResourceExhausted ||
         error.code == core::ErrorCode::kInternal;
}

// The announced addresses that parse and name `from` (or nobody), each
// ending in /p2p/<from>, so an item cannot steer a decision elsewhere.
std::vector<std::string> checked_addrs(const std::vector<std::string>& addrs,
                                       const crypto::PeerId& from) {
  std::vector<std::string> out;
  auto suffix = p2p::Multiaddr::from_components({{p2p::Protocol::kP2p, from.bytes()}});
  if (!suffix.ok()) return out;
  for (const std::string& text : addrs) {
    auto addr = p2p::Multiaddr::parse(text);
    if (!addr.ok()) continue;
    if (auto named = addr->peer_id(); named && *named != from) continue;
    auto full = addr->decapsulate(p2p::Protocol::kP2p).encapsulate(*suffix);
    if (full.ok()) out.push_back(full->to_string());
  }
  return out;
}

}  // namespace

std::function<bool(const PendingDelivery&)> leave_decision_in(mailbox::MailboxClient& mailbox) {
  return [&mailbox](const PendingDelivery& d) {
    wire::DecisionMessage message{d.decision, d.space_name};
    auto deposited = mailbox.deposit(d.peer, mailbox::Kind::kJoinDecision, wire::encode(message),
                                     std::chrono::steady_clock::now() + kDeliveryTimeout);
    if (!deposited) {
      spdlog::debug("join decision not left in the mailbox request={}: {}", d.request_id,
                    deposited.error().message);
      return false;
    }
    return true;
  };
}

MailboxFetcher::MailboxFetcher(MembershipService& service, mailbox::MailboxClient& client)
    : service_(service), client_(client) {}

MailboxFetcher::~MailboxFetcher() { stop(); }

void MailboxFetcher::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void MailboxFetcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MailboxFetcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool MailboxFetcher::sleep_until(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, until, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

bool MailboxFetcher::handle(const mailbox::Item& item) {
  if (item.kind == mailbox::Kind::kJoinDecision) {
    auto message = wire::decode_decision(item.payload);
    if (!message) {
      spdlog::debug("mailbox item {} dropped: {}", item.id, message.error().message);
      return true;
    }
    auto decoded = cap::decode_signed<cap::JoinDecision>(message->decision);
    if (!decoded.ok()) {
      spdlog::debug("mailbox item {} dropped: {}", item.id, decoded.refusal().message);
      return true;
    }
    // As from its signer: the service checks the signature and that the
    // request went to that peer.
    auto received =
        service_.receive_decision(decoded->body.decider, message->decision, message->space_name);
    if (!received) {
      spdlog::debug("mailbox decision {} refused: {}", item.id, received.error().message);
      return !passing(received.error());
    }
    spdlog::info("join decision received from the mailbox request={}", received->id);
    return true;
  }

  auto message = wire::decode_join_request(item.payload);
  if (!message) {
    spdlog::debug("mailbox item {} dropped: {}", item.id, message.error().message);
    return true;
  }
  auto decoded = cap::decode_signed<cap::JoinRequest>(message->request);
  if (!decoded.ok()) {
    spdlog::debug("mailbox item {} dropped: {}", item.id, decoded.refusal().message);
    return true;
  }
  const crypto::PeerId requester = decoded->body.requester;
  auto received = service_.receive_request(requester, message->request,
                                           checked_addrs(message->listen_addrs, requester));
  if (!received) {
    spdlog::debug("mailbox join request {} refused: {}", item.id, received.error().message);
    return !passing(received.error());
  }
  spdlog::info("join request received from the mailbox peer={}", requester.to_string());
  return true;
}

core::Result<std::uint32_t> MailboxFetcher::poll_once() {
  std::uint32_t handled = 0;
  for (std::size_t round = 0; round < kMailboxRoundsPerPoll; ++round) {
    auto items = client_.fetch(std::chrono::steady_clock::now() + kDeliveryTimeout);
    if (!items) return items.take_error();
    if (items->empty()) break;
    std::vector<std::int64_t> done;
    for (const mailbox::Item& item : *items) {
      if (handle(item)) done.push_back(item.id);
    }
    if (done.empty()) break;
    auto removed = client_.acknowledge(done, std::chrono::steady_clock::now() + kDeliveryTimeout);
    if (!removed) return removed.take_error();
    handled += static_cast<std::uint32_t>(done.size());
    if (done.size() < items->size()) break;
  }
  return handled;
}

void MailboxFetcher::run() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    auto polled = poll_once();
    if (!polled) {
      spdlog::debug("mailbox {} not read: {}", p2p::node::to_string(client_.target()),
                    polled.error().message);
    }
    if (!sleep_until(std::chrono::steady_clock::now() + kMailboxPollInterval)) return;
  }
}

}  // namespace soma::membership
