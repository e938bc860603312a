#include "membership/join_protocol.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <optional>
#include <utility>

#include "membership/wire.h"
#include "p2p/host/message.h"
#include "p2p/multiaddr/multiaddr.h"
#include "p2p/transport/deadline.h"

namespace soma::membership {

struct JoinProtocol::Shared {
  MembershipService* service = nullptr;
  DelegationService* delegations = nullptr;
  asio::thread_pool pool{kWorkerThreads};
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::uint64_t> busy{0};
  std::atomic<bool> stopped{false};
};

namespace {

using core::Error;
using core::Result;
using p2p::Multiaddr;
using p2p::transport::Stream;
using SharedPtr = std::shared_ptr<JoinProtocol::Shared>;

// Runs `fn` (a service call) on a worker and resumes on the loop with its
// result. When the workers are full or stopping, answers "busy" at once.
//
// Here and below, no co_await expression builds a temporary that owns
// memory (a lambda with captures, a vector): GCC 12 can destroy such
// temporaries twice across the suspension. They are named locals instead.
template <typename T, typename Fn>
asio::awaitable<Result<T>> offload(SharedPtr shared, std::string_view proto, Fn fn) {
  if (shared->stopped.load()) co_return Error::unavailable("the peer is shutting down");
  if (shared->in_flight.fetch_add(1) >= kMaxQueuedJobs) {
    shared->in_flight.fetch_sub(1);
    shared->busy.fetch_add(1);
    spdlog::warn("{} stream refused: {} jobs are queued for the workers, the most allowed", proto,
                 kMaxQueuedJobs);
    co_return Error::unavailable("the peer is busy; try again shortly");
  }
  auto job = [fn = std::move(fn)]() mutable -> asio::awaitable<std::optional<Result<T>>> {
    co_return std::optional<Result<T>>(fn());
  };
  auto spawned = asio::co_spawn(shared->pool.get_executor(), std::move(job), asio::use_awaitable);
  auto out = co_await std::move(spawned);
  shared->in_flight.fetch_sub(1);
  if (!out) co_return Error::internal("a membership job ended without a result");
  co_return std::move(*out);
}

// The announced addresses that parse, each ending in /p2p/<from>, so a
// requester cannot steer a decision to another peer.
std::vector<std::string> checked_addrs(const std::vector<std::string>& addrs,
                                       const crypto::PeerId& from) {
  std::vector<std::string> out;
  auto suffix = Multiaddr::from_components({{p2p::Protocol::kP2p, from.bytes()}});
  if (!suffix.ok()) return out;
  for (const std::string& text : addrs) {
    auto addr = Multiaddr::parse(text);
    if (!addr.ok()) continue;
    if (auto named = addr->peer_id(); named && *named != from) continue;
    auto full = addr->decapsulate(p2p::Protocol::kP2p).encapsulate(*suffix);
    if (full.ok()) out.push_back(full->to_string());
  }
  return out;
}

// Reads one message, runs `handle` on it, writes the answer, all within
// kStreamTimeout. Peer-caused failures are logged at debug.
template <typename Handle>
asio::awaitable<void> serve(Stream stream, std::string_view proto, Handle handle) {
  p2p::transport::Deadline deadline(co_await asio::this_coro::executor);
  Stream guarded = stream;
  deadline.arm(kStreamTimeout, [guarded]() mutable { guarded.reset(); });
  const std::string peer = stream.remote_peer().to_string();

  auto message = co_await p2p::host::read_message(stream, wire::kMaxMessageSize);
  if (!message.ok()) {
    spdlog::debug("{} stream from peer={} ended without a message: {}", proto, peer,
                  message.error().message);
    deadline.cancel();
    stream.reset();
    co_return;
  }
  auto answering = handle(stream.remote_peer(), std::move(*message));
  core::Bytes answer = co_await std::move(answering);
  auto sent = co_await p2p::host::write_message(stream, answer);
  if (sent.ok()) sent = stream.close_write();
  if (!sent.ok()) {
    spdlog::debug("{} answer to peer={} was not sent: {}", proto, peer, sent.error().message);
  }
  deadline.cancel();
}

wire::JoinAnswer refused(const Error& error) {
  wire::JoinAnswer answer;
  answer.status = wire::JoinAnswer::Status::kRefused;
  answer.refusal = error;
  return answer;
}

asio::awaitable<core::Bytes> answer_join(SharedPtr shared, crypto::PeerId from, core::Bytes bytes) {
  auto message = wire::decode_join_request(bytes);
  if (!message.ok()) {
    spdlog::debug("join request from peer={} refused: {}", from.to_string(),
                  message.error().message);
    co_return wire::encode(refused(message.error()));
  }
  auto addrs = checked_addrs(message->listen_addrs, from);
  auto job = [service = shared->service, from, request = std::move(message->request),
              addrs = std::move(addrs)]() {
    return service->receive_request(from, request, addrs);
  };
  auto pending = offload<IncomingAnswer>(shared, wire::kJoinProtocol, std::move(job));
  auto recorded = co_await std::move(pending);
  if (!recorded.ok()) {
    spdlog::debug("join request from peer={} refused: {}", from.to_string(),
                  recorded.error().message);
    co_return wire::encode(refused(recorded.error()));
  }
  wire::JoinAnswer answer;
  answer.status =
      recorded->decided ? wire::JoinAnswer::Status::kDecided : wire::JoinAnswer::Status::kPending;
  answer.owner = recorded->owner.to_string();
  answer.decision = std::move(recorded->decision);
  answer.space_name = std::move(recorded->space_name);
  co_return wire::encode(answer);
}

asio::awaitable<core::Bytes> answer_decision(SharedPtr shared, crypto::PeerId from,
                                             core::Bytes bytes) {
  wire::DecisionAck ack;
  auto message = wire::decode_decision(bytes);
  if (!message.ok()) {
    ack.refusal = message.error();
  } else {
    auto job = [service = shared->service, from, m = std::move(*message)]() {
      return service->receive_decision(from, m.decision, m.space_name);
    };
    auto pending = offload<JoinRequestInfo>(shared, wire::kDecisionProtocol, std::move(job));
    auto stored = co_await std::move(pending);
    if (stored.ok()) {
      ack.accepted = true;
    } else {
      ack.refusal = stored.error();
    }
  }
  if (!ack.accepted) {
    spdlog::debug("join decision from peer={} refused: {}", from.to_string(), ack.refusal.message);
  }
  co_return wire::encode(ack);
}

asio::awaitable<core::Bytes> answer_push(SharedPtr shared, crypto::PeerId from, core::Bytes bytes) {
  wire::PushAck ack;
  auto message = wire::decode_push(bytes);
  if (!message.ok()) {
    ack.refusal = message.error();
  } else {
    auto job = [delegations = shared->delegations, from,
                m = std::move(*message)]() -> Result<bool> {
      SOMA_TRY(delegations->receive(from, m));
      return true;
    };
    auto pending = offload<bool>(shared, wire::kCapabilityProtocol, std::move(job));
    auto stored = co_await std::move(pending);
    if (stored.ok()) {
      ack.accepted = true;
    } else {
      ack.refusal = stored.error();
    }
  }
  if (!ack.accepted) {
    spdlog::debug("capability push from peer={} refused: {}", from.to_string(),
                  ack.refusal.message);
  }
  co_return wire::encode(ack);
}

// A node call that did not answer in time, as an error.
Error no_answer(std::string_view what, const std::string& target) {
  return Error::unavailable(fmt::format(
      "{} {} did not answer in time; it may be slow or unreachable, try again", what, target));
}

Error from_peer(const Error& error, const crypto::PeerId& peer) {
  return Error{error.code, fmt::format("peer {} refused: {}", peer.to_string(), error.message)};
}

}  // namespace

JoinProtocol::JoinProtocol(MembershipService& service, p2p::node::Node& node)
    : service_(service), node_(node), shared_(std::make_shared<Shared>()) {
  shared_->service = &service_;
}

JoinProtocol::~JoinProtocol() { stop(); }

core::Status JoinProtocol::start() {
  SharedPtr shared = shared_;
  SOMA_TRY(node_.set_handler(std::string(wire::kJoinProtocol), [shared](Stream stream) {
    return serve(std::move(stream), wire::kJoinProtocol,
                 [shared](crypto::PeerId from, core::Bytes bytes) {
                   return answer_join(shared, std::move(from), std::move(bytes));
                 });
  }));
  SOMA_TRY(node_.set_handler(std::string(wire::kDecisionProtocol), [shared](Stream stream) {
    return serve(std::move(stream), wire::kDecisionProtocol,
                 [shared](crypto::PeerId from, core::Bytes bytes) {
                   return answer_decision(shared, std::move(from), std::move(bytes));
                 });
  }));
  if (shared->delegations == nullptr) return {};
  return node_.set_handler(std::string(wire::kCapabilityProtocol), [shared](Stream stream) {
    return serve(std::move(stream), wire::kCapabilityProtocol,
                 [shared](crypto::PeerId from, core::Bytes bytes) {
                   return answer_push(shared, std::move(from), std::move(bytes));
                 });
  });
}

void JoinProtocol::set_delegations(DelegationService* delegations) {
  shared_->delegations = delegations;
}

void JoinProtocol::stop() {
  if (shared_->stopped.exchange(true)) return;
  shared_->pool.join();
}

std::uint64_t JoinProtocol::busy_refusals() const { return shared_->busy.load(); }

std::vector<std::string> JoinProtocol::announced_addrs() const {
  std::vector<std::string> addrs;
  for (const auto& addr : node_.dialable_addrs()) {
    if (addrs.size() == wire::kMaxListenAddrs) break;
    addrs.push_back(addr.to_string());
  }
  return addrs;
}

void JoinProtocol::set_unreachable_handler(UnreachableHandler handler) {
  on_unreachable_ = std::move(handler);
}

core::Result<JoinRequestInfo> JoinProtocol::join(const std::string& space, const std::string& via,
                                                 const std::string& role,
                                                 Clock::time_point deadline) {
  auto target = p2p::node::parse_target(via);
  if (!target) return target.take_error();
  auto begun = service_.begin_join(space, role, via);
  if (!begun) return begun.take_error();

  SendOutcome sent = send(begun->id, begun->request, via, deadline);
  if (!sent.unreachable) return std::move(sent.result);
  if (on_unreachable_) return on_unreachable_(begun->id, via, sent.result.error());
  auto failed = service_.join_failed(begun->id, sent.peer, sent.result.error());
  if (!failed) return failed.take_error();
  return sent.result.error();
}

JoinProtocol::SendOutcome JoinProtocol::send(const std::string& id, const core::Bytes& request,
                                             const std::string& via, Clock::time_point deadline) {
  auto target = p2p::node::parse_target(via);
  if (!target) return {target.take_error(), false, std::nullopt};

  // Reach the peer first, so its authenticated id is known (and recorded)
  // even if the exchange fails half way.
  auto dialed = node_.dial(*target, deadline);
  if (!dialed || !dialed->ok()) {
    Error why = dialed ? dialed->error() : no_answer("peer", via);
    if (why.code == core::ErrorCode::kUnavailable) return {why, true, std::nullopt};
    auto failed = service_.join_failed(id, std::nullopt, why);
    if (!failed) return {failed.take_error(), false, std::nullopt};
    return {why, false, std::nullopt};
  }
  const crypto::PeerId peer = (*dialed)->peer;

  std::vector<std::string> addrs = announced_addrs();
  auto exchanged = node_.exchange(peer, std::string(wire::kJoinProtocol),
                                  wire::encode(wire::JoinRequestMessage{request, std::move(addrs)}),
                                  wire::kMaxMessageSize, deadline);
  std::optional<Error> failure;
  std::optional<wire::JoinAnswer> answer;
  if (!exchanged) {
    failure = no_answer("peer", peer.to_string());
  } else if (!exchanged->ok()) {
    failure = exchanged->error();
  } else {
    auto decoded = wire::decode_join_answer((*exchanged)->reply);
    if (!decoded) {
      failure = Error::unavailable(fmt::format("peer {} answered with a malformed message: {}",
                                               peer.to_string(), decoded.error().message));
    } else if (decoded->status == wire::JoinAnswer::Status::kRefused) {
      failure = from_peer(decoded->refusal, peer);
    } else {
      answer = std::move(*decoded);
    }
  }
  if (failure) {
    // A stream that broke or a peer that was busy may do better later.
    if (failure->code == core::ErrorCode::kUnavailable) return {*failure, true, peer};
    auto failed = service_.join_failed(id, peer, *failure);
    if (!failed) return {failed.take_error(), false, peer};
    return {*failure, false, peer};
  }

  // The peer asked is taken as the owner unless it names another: the
  // decision is then verified against that owner.
  crypto::PeerId owner = peer;
  if (!answer->owner.empty()) {
    auto named = crypto::PeerId::parse(answer->owner);
    if (named) owner = std::move(*named);
  }
  auto sent = service_.join_sent(id, peer, owner);
  if (!sent) return {sent.take_error(), false, peer};
  if (answer->status == wire::JoinAnswer::Status::kPending) return {std::move(sent), false, peer};
  return {service_.receive_decision(peer, answer->decision, answer->space_name), false, peer};
}

JoinProtocol::DeliveryOutcome JoinProtocol::deliver(const PendingDelivery& delivery,
                                                    Clock::time_point deadline) {
  const core::Bytes message =
      wire::encode(wire::DecisionMessage{delivery.decision, delivery.space_name});

  // The peer by id first (a live connection, or what identify taught the
  // node), then each address it announced with its request.
  std::vector<p2p::node::Target> targets{delivery.peer};
  for (const std::string& text : delivery.addrs) {
    auto addr = Multiaddr::parse(text);
    if (addr.ok()) targets.emplace_back(std::move(*addr));
  }

  Error last =
      Error::unavailable(fmt::format("peer {} has no known address", delivery.peer.to_string()));
  for (const auto& target : targets) {
    if (Clock::now() >= deadline) break;
    auto exchanged = node_.exchange(target, std::string(wire::kDecisionProtocol), message,
                                    wire::kMaxMessageSize, deadline);
    if (!exchanged) {
      last = no_answer("peer", p2p::node::to_string(target));
      continue;
    }
    if (!exchanged->ok()) {
      // A peer id with no connection and no address is not a failure of
      // the peer; keep the more telling error of an address if one comes.
      if (exchanged->error().code != core::ErrorCode::kNotFound || targets.size() == 1) {
        last = exchanged->error();
      }
      continue;
    }
    if ((*exchanged)->peer != delivery.peer) {
      last = Error::unavailable(
          fmt::format("{} is now peer {}, not {}", p2p::node::to_string(target),
                      (*exchanged)->peer.to_string(), delivery.peer.to_string()));
      continue;
    }
    auto ack = wire::decode_decision_ack((*exchanged)->reply);
    if (!ack) {
      return {Error::unavailable(fmt::format("peer {} answered with a malformed message: {}",
                                             delivery.peer.to_string(), ack.error().message)),
              false};
    }
    if (ack->accepted) return {core::Status{}, false};
    // Busy or rate limited is worth another try; anything else the
    // requester will refuse again.
    const bool transient = ack->refusal.code == core::ErrorCode::kUnavailable ||
                           ack->refusal.code == core::ErrorCode::kResourceExhausted;
    return {from_peer(ack->refusal, delivery.peer), !transient};
  }
  return {last, false};
}

core::Result<crypto::PeerId> JoinProtocol::reach(const std::string& text,
                                                 Clock::time_point deadline) {
  auto target = p2p::node::parse_target(text);
  if (!target) return target.take_error();
  if (const auto* peer = std::get_if<crypto::PeerId>(&*target)) return *peer;
  auto dialed = node_.dial(*target, deadline);
  if (!dialed) return no_answer("peer", text);
  if (!dialed->ok()) return dialed->error();
  return (*dialed)->peer;
}

JoinProtocol::DeliveryOutcome JoinProtocol::push(const PendingPush& item,
                                                 Clock::time_point deadline) {
  const core::Bytes message = wire::encode(item.message);
  const p2p::node::Target target{item.peer};
  auto exchanged = node_.exchange(target, std::string(wire::kCapabilityProtocol), message,
                                  wire::kMaxMessageSize, deadline);
  if (!exchanged) return {no_answer("peer", item.peer.to_string()), false};
  if (!exchanged->ok()) return {exchanged->error(), false};
  auto ack = wire::decode_push_ack((*exchanged)->reply);
  if (!ack) {
    return {Error::unavailable(fmt::format("peer {} answered with a malformed message: {}",
                                           item.peer.to_string(), ack.error().message)),
            false};
  }
  if (ack->accepted) return {core::Status{}, false};
  const bool transient = ack->refusal.code == core::ErrorCode::kUnavailable ||
                         ack->refusal.code == core::ErrorCode::kResourceExhausted;
  return {from_peer(ack->refusal, item.peer), !transient};
}

}  // namespace soma::membership
