#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "membership/membership_service.h"
#include "p2p/node/node.h"

// /soma/join/1, /soma/join-decision/1 and, with a DelegationService,
// /soma/capability/1 on the daemon's libp2p node (wire format: wire.h). The stream handlers are
// thin: on the network loop they read one bounded message, hand it to the MembershipService on a
// worker thread (SQLite never runs on the loop), and write the answer.
// The identity they pass on is always the stream's Noise-authenticated
// remote peer.
namespace soma::membership {

// How long one inbound stream may take, from its first byte to the answer.
inline constexpr std::chrono::seconds kStreamTimeout{10};
// Threads that run the service for the handlers.
inline constexpr std::size_t kWorkerThreads = 1;
// Handler jobs waiting for or running on the workers; a stream beyond it
// is answered "busy" (REFUSAL_BUSY) and counted, and the loop never waits.
inline constexpr std::size_t kMaxQueuedJobs = 32;
// How long one delivery attempt may take.
inline constexpr std::chrono::seconds kDeliveryTimeout{10};

// Threading: start() and stop() from the daemon's main thread; join() and
// deliver() from any thread but the node's loop (they block until their
// deadline). Lifetime: the service and node must outlive it; handlers keep
// only shared state, so a stream arriving after stop() is refused rather
// than touching a dead service.
class JoinProtocol {
 public:
  using Clock = std::chrono::steady_clock;

  JoinProtocol(MembershipService& service, p2p::node::Node& node);
  ~JoinProtocol();
  JoinProtocol(const JoinProtocol&) = delete;
  JoinProtocol& operator=(const JoinProtocol&) = delete;

  // Serves /soma/capability/1 too, handing what arrives to `delegations`.
  // Set once, before start().
  void set_delegations(DelegationService* delegations);

  // Serves the protocols on the node. Errors: the node's.
  core::Status start();
  // Stops taking work and waits for the jobs running on the workers.
  // Idempotent.
  void stop();

  // Asks `via` (a PeerId or multiaddr) to let this peer join `space` as
  // `role`: signs and records the request, sends it, and records the
  // answer. Errors: the service's, the peer's refusal (its code and
  // message, prefixed with who refused), kUnavailable when the peer cannot
  // be reached or does not answer by `deadline`.
  // When the peer cannot be reached (or is busy) and an unreachable
  // handler is set, the handler decides the answer instead (it queues the
  // request for another attempt).
  core::Result<JoinRequestInfo> join(const std::string& space, const std::string& via,
                                     const std::string& role, Clock::time_point deadline);

  // One attempt to send a request recorded by begin_join to `via`: a
  // recorded answer comes back as the request's new state. When
  // `unreachable`, nothing was recorded (the caller decides whether to try
  // again); any other failure was recorded with join_failed. `peer` is the
  // peer the channel reached, when one did.
  struct SendOutcome {
    core::Result<JoinRequestInfo> result;
    bool unreachable = false;
    std::optional<crypto::PeerId> peer;
  };
  SendOutcome send(const std::string& id, const core::Bytes& request, const std::string& via,
                   Clock::time_point deadline);
  using UnreachableHandler = std::function<core::Result<JoinRequestInfo>(
      const std::string& id, const std::string& via, const core::Error& why)>;
  // Set once, before start().
  void set_unreachable_handler(UnreachableHandler handler);

  // One attempt to hand a decision to its requester: over a live
  // connection or the addresses the node knows, then over the addresses
  // the requester announced. `permanent` tells a refusal by the requester
  // (retrying cannot help) from a peer that could not be reached.
  struct DeliveryOutcome {
    core::Status status;
    bool permanent = false;
  };
  DeliveryOutcome deliver(const PendingDelivery& delivery, Clock::time_point deadline);
  // One attempt to hand a pushed artifact to its peer over
  // /soma/capability/1: over a live connection or the addresses the node
  // knows for it.
  DeliveryOutcome push(const PendingPush& item, Clock::time_point deadline);

  // The peer `target` names (a PeerId, or a multiaddr, which is dialed so
  // the node knows where to find the peer afterwards). Errors: a malformed
  // target (kInvalidArgument), or the dial's.
  core::Result<crypto::PeerId> reach(const std::string& target, Clock::time_point deadline);

  // The addresses this node can be dialed at, as a request announces them
  // (at most wire::kMaxListenAddrs).
  std::vector<std::string> announced_addrs() const;

  // Streams refused because the workers were full.
  std::uint64_t busy_refusals() const;

  struct Shared;

 private:
  MembershipService& service_;
  p2p::node::Node& node_;
  std::shared_ptr<Shared> shared_;
  UnreachableHandler on_unreachable_;
};

}  // namespace soma::membership
