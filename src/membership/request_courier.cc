#include "membership/request_courier.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "membership/courier.h"
#include "membership/wire.h"

namespace soma::membership {
namespace {

using core::Error;

std::string format_time(Timestamp ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return fmt::format("{} ms", ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The peer a target names: a peer id, or a multiaddr ending in /p2p/.
std::optional<crypto::PeerId> named_peer(const std::string& via) {
  auto target = p2p::node::parse_target(via);
  if (!target) return std::nullopt;
  if (const auto* peer = std::get_if<crypto::PeerId>(&*target)) return *peer;
  return std::get<p2p::Multiaddr>(*target).peer_id();
}

}  // namespace

RequestCourier::RequestCourier(store::Database& db, const cap::Clock& clock,
                               MembershipService& service, JoinProtocol& protocol,
                               mailbox::MailboxClient* mailbox, Limits limits)
    : db_(db),
      clock_(clock),
      service_(service),
      protocol_(protocol),
      mailbox_(mailbox),
      limits_(limits),
      requests_(db),
      outbox_(db) {}

RequestCourier::~RequestCourier() { stop(); }

core::Result<JoinRequestInfo> RequestCourier::queue(const std::string& id, const std::string& via,
                                                    const core::Error& why) {
  auto found = requests_.find(id);
  if (!found) return found.take_error();
  if (!*found || (*found)->direction != store::JoinDirection::kOutgoing ||
      (*found)->state != store::JoinState::kPending) {
    return Error::precondition(fmt::format("join request {} is not waiting to be sent", id));
  }
  store::JoinRequestRecord r = std::move(**found);
  const Timestamp now = clock_.now();
  const Timestamp next = now + limits_.first_retry_delay;
  // Known now, so a decision from that peer is accepted even when it
  // arrives through a mailbox.
  if (auto peer = named_peer(via); peer && r.peer.empty()) {
    r.peer = peer->to_string();
    r.owner = r.peer;
  }
  r.detail = fmt::format("{} could not be reached ({}); trying again from {}", via, why.message,
                         format_time(next));
  r.updated_ms = now;

  store::RequestOutboxItem item;
  item.request_id = id;
  item.target = via;
  // The send that could not reach `via` was the first attempt: counting it
  // makes the next wait twice first_retry_delay, as the backoff promises,
  // and the count a failure reports the real one.
  item.attempts = 1;
  item.next_attempt_ms = next;
  item.give_up_ms = now + limits_.delivery_give_up_after;
  item.last_error = why.message;
  item.created_ms = now;
  core::Status done = db_.transaction([&]() -> core::Status {
    auto updated = requests_.update(r);
    if (!updated) return updated.take_error();
    return outbox_.put(item);
  });
  if (!done.ok()) return done.take_error();
  spdlog::info("join request queued request={} target={}: {}", id, via, why.message);
  wake();
  return service_.get_request(id);
}

void RequestCourier::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void RequestCourier::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RequestCourier::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

bool RequestCourier::sleep_until(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, until, [this] { return stopping_ || woken_; });
  woken_ = false;
  return !stopping_;
}

core::Status RequestCourier::reschedule(const store::RequestOutboxItem& item,
                                        const core::Error& why) {
  const Timestamp now = clock_.now();
  const std::int64_t attempts = item.attempts + 1;
  Timestamp delay = limits_.first_retry_delay;
  for (std::int64_t i = 1; i < attempts && delay < limits_.max_retry_delay; ++i) delay *= 2;
  delay = std::min(delay, limits_.max_retry_delay);
  const Timestamp next = now + delay;

  if (next > item.give_up_ms) {
    spdlog::info("join request given up request={} target={} after {} attempts", item.request_id,
                 item.target, attempts);
    auto failed = service_.join_failed(
        item.request_id, std::nullopt,
        Error{why.code, fmt::format("{} could not be reached in {} attempts; last: {}", item.target,
                                    attempts, why.message)});
    if (!failed) return failed.take_error();
    auto removed = outbox_.remove(item.request_id);
    if (!removed) return removed.take_error();
    return {};
  }

  store::RequestOutboxItem moved = item;
  moved.attempts = attempts;
  moved.next_attempt_ms = next;
  moved.last_error = why.message;
  return db_.transaction([&]() -> core::Status {
    auto r = requests_.find(item.request_id);
    if (!r) return r.take_error();
    if (*r) {
      (*r)->detail = fmt::format("attempt {} to reach {} failed ({}); next at {}", attempts,
                                 item.target, why.message, format_time(next));
      (*r)->updated_ms = now;
      auto updated = requests_.update(**r);
      if (!updated) return updated.take_error();
    }
    return outbox_.put(moved);
  });
}

bool RequestCourier::leave_in_mailbox(const store::JoinRequestRecord& r, const std::string& via) {
  std::optional<crypto::PeerId> peer = named_peer(via);
  if (!peer && !r.peer.empty()) {
    auto parsed = crypto::PeerId::parse(r.peer);
    if (parsed) peer = std::move(*parsed);
  }
  if (!peer) return false;

  wire::JoinRequestMessage message{r.request, protocol_.announced_addrs()};
  auto deposited = mailbox_->deposit(*peer, mailbox::Kind::kJoinRequest, wire::encode(message),
                                     std::chrono::steady_clock::now() + kDeliveryTimeout);
  if (!deposited) {
    spdlog::debug("join request not left in the mailbox request={}: {}", r.id,
                  deposited.error().message);
    return false;
  }
  auto sent = service_.join_sent(r.id, *peer, *peer);
  if (!sent) {
    spdlog::error("cannot record request={} as sent: {}", r.id, sent.error().message);
    return true;
  }
  auto stored = requests_.find(r.id);
  if (stored && *stored) {
    (*stored)->detail = fmt::format("left in the mailbox of {} for {}",
                                    p2p::node::to_string(mailbox_->target()), peer->to_string());
    (void)requests_.update(**stored);
  }
  spdlog::info("join request left in the mailbox request={} peer={}", r.id, peer->to_string());
  return true;
}

void RequestCourier::attempt(const store::RequestOutboxItem& item) {
  auto found = requests_.find(item.request_id);
  if (!found) {
    spdlog::error("cannot read join request {}: {}", item.request_id, found.error().message);
    return;
  }
  if (!*found || (*found)->direction != store::JoinDirection::kOutgoing ||
      (*found)->state != store::JoinState::kPending) {
    // Decided, failed or superseded meanwhile: nothing left to send.
    (void)outbox_.remove(item.request_id);
    return;
  }
  const store::JoinRequestRecord& r = **found;

  auto outcome = protocol_.send(r.id, r.request, item.target,
                                std::chrono::steady_clock::now() + kDeliveryTimeout);
  core::Status recorded;
  if (!outcome.unreachable) {
    if (outcome.result) {
      spdlog::info("join request delivered request={} target={}", r.id, item.target);
    } else {
      spdlog::info("join request refused request={} target={}: {}", r.id, item.target,
                   outcome.result.error().message);
    }
    auto removed = outbox_.remove(r.id);
    if (!removed) recorded = removed.take_error();
  } else if (mailbox_ != nullptr && leave_in_mailbox(r, item.target)) {
    auto removed = outbox_.remove(r.id);
    if (!removed) recorded = removed.take_error();
  } else {
    spdlog::debug("join request not delivered request={} target={} attempt={}: {}", r.id,
                  item.target, item.attempts + 1, outcome.result.error().message);
    recorded = reschedule(item, outcome.result.error());
  }
  if (!recorded.ok()) {
    spdlog::error("cannot record the attempt for request={}: {}", r.id, recorded.error().message);
  }
}

void RequestCourier::run() {
  using std::chrono::steady_clock;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }

    auto due = outbox_.due(clock_.now(), kRequestBatch);
    if (!due) {
      spdlog::error("cannot read the request outbox: {}", due.error().message);
      if (!sleep_until(steady_clock::now() + kCourierErrorPause)) return;
      continue;
    }
    for (const store::RequestOutboxItem& item : *due) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      attempt(item);
    }
    if (due->size() == kRequestBatch) continue;

    // Sleep until the next request is due, capped so a clock change cannot
    // stall the retries for long.
    auto next = outbox_.next_due();
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(kCourierIdlePoll);
    if (next && *next) {
      wait =
          std::min(wait, std::chrono::milliseconds(std::max<Timestamp>(0, **next - clock_.now())));
    }
    wait = std::max(wait, std::chrono::milliseconds(10));
    if (!sleep_until(steady_clock::now() + wait)) return;
  }
}

}  // namespace soma::membership
