#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cap/artifacts.h"
#include "cap/authorizer.h"
#include "cap/capability_store.h"
#include "cap/clock.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"
#include "membership/decider.h"
#include "membership/delegation_service.h"
#include "membership/rate_limiter.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/join_request_repository.h"
#include "store/membership_repository.h"

// The business rules of joining a space: asking to join, recording and
// deciding the requests that arrive, issuing the membership capability,
// getting the decision back to the requester and accepting it there, and
// the audit trail of all of it. The network protocols (join_protocol.h)
// and the gRPC API call it; it never touches the network itself.
namespace soma::membership {

using cap::Timestamp;

inline constexpr Timestamp kSecond = 1000;
inline constexpr Timestamp kMinute = 60 * kSecond;
inline constexpr Timestamp kHour = 60 * kMinute;
inline constexpr Timestamp kDay = 24 * kHour;

// Join requests one peer may send in kJoinRateWindow; more are refused
// (kResourceExhausted) before they are even decoded.
inline constexpr std::size_t kJoinRequestsPerWindow = 10;
inline constexpr Timestamp kJoinRateWindow = kMinute;
// Peers the rate limiter remembers at once.
inline constexpr std::size_t kMaxRateTrackedPeers = 4096;
// Requests waiting for a decision: from one peer, and in all.
inline constexpr std::size_t kMaxPendingRequestsPerPeer = 4;
inline constexpr std::size_t kMaxPendingRequests = 256;
// How long a membership lasts when the approver names no expiry.
inline constexpr Timestamp kDefaultMembershipLifetime = 365 * kDay;
// Delivery of a decision to its requester: the first retry comes after
// kFirstRetryDelay, each later one waits twice as long up to
// kMaxRetryDelay, and after kDeliveryGiveUpAfter the decision is marked
// undeliverable.
inline constexpr Timestamp kFirstRetryDelay = 1 * kSecond;
inline constexpr Timestamp kMaxRetryDelay = 5 * kMinute;
inline constexpr Timestamp kDeliveryGiveUpAfter = 7 * kDay;
// Shortest request id prefix `approve` and `reject` accept.
inline constexpr std::size_t kMinRequestPrefix = 8;
// Most requests or audit entries one listing returns.
inline constexpr std::size_t kMaxListing = 1000;

struct Limits {
  std::size_t requests_per_window = kJoinRequestsPerWindow;
  Timestamp rate_window = kJoinRateWindow;
  std::size_t max_rate_tracked_peers = kMaxRateTrackedPeers;
  std::size_t max_pending_per_peer = kMaxPendingRequestsPerPeer;
  std::size_t max_pending = kMaxPendingRequests;
  Timestamp default_lifetime = kDefaultMembershipLifetime;
  Timestamp first_retry_delay = kFirstRetryDelay;
  Timestamp max_retry_delay = kMaxRetryDelay;
  Timestamp delivery_give_up_after = kDeliveryGiveUpAfter;
};

// A join request as the API shows it.
struct JoinRequestInfo {
  std::string id;
  store::JoinDirection direction = store::JoinDirection::kIncoming;
  std::string space_id;
  std::string space_name;
  std::string peer;
  std::string owner;
  std::string role;
  store::JoinState state = store::JoinState::kPending;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::string granted_role;
  std::int64_t expires_ms = 0;
  std::string reason;
  std::int64_t decided_ms = 0;
  store::Delivery delivery = store::Delivery::kNone;
  std::string detail;
  std::string via;
};

// A request made here, signed and recorded, ready to be sent.
struct OutgoingJoin {
  std::string id;
  core::Bytes request;  // the signed JoinRequest envelope
};

// What the decider answers a requester over the wire.
struct IncomingAnswer {
  bool decided = false;
  crypto::PeerId owner;
  core::Bytes decision;  // decided: the signed JoinDecision
  std::string space_name;
};

// A decision on its way to its requester.
struct PendingDelivery {
  std::string request_id;
  crypto::PeerId peer;
  std::vector<std::string> addrs;  // where the requester said it listens
  core::Bytes decision;
  std::string space_name;  // approvals: the space's name
  std::int64_t attempts = 0;
};

struct RequestFilter {
  std::optional<store::JoinDirection> direction;
  std::optional<store::JoinState> state;
  std::string space;  // id; empty: every space
};

// Ownership: borrows everything it is given, which must outlive it.
// Threading: every member may be called from any thread; SQLite work runs
// on the caller's thread, so the network loop must hand calls to a worker
// (join_protocol.h does). Writes run in database transactions together with
// their audit entries and events.
//
// Lock order: the authorizer's present() and admit_issued() are called
// only inside a database transaction, so the database lock is always taken
// before the authorizer's. Other users of the same Authorizer must keep
// that order.
//
// Errors (core::Error): kInvalidArgument for malformed input or an artifact
// that does not verify, kNotFound for an unknown space or request,
// kPermissionDenied for a peer that may not do what it asks,
// kResourceExhausted past a rate or pending limit, kAlreadyExists and
// kFailedPrecondition for requests that conflict with the stored state,
// and the database's own.
class MembershipService {
 public:
  MembershipService(store::Database& db, store::EventLog& events, cap::Authorizer& authorizer,
                    cap::CapabilityStore& capabilities, const cap::SpaceDirectory& spaces,
                    const cap::Clock& clock, crypto::Ed25519PrivateKey identity,
                    Limits limits = {}, JoinDecider* decider = nullptr);
  ~MembershipService();
  MembershipService(const MembershipService&) = delete;
  MembershipService& operator=(const MembershipService&) = delete;

  const crypto::PeerId& local_peer() const { return local_peer_; }

  // Lets this peer decide requests for spaces it holds a delegation for,
  // issuing under that delegation and reporting what it issued to the
  // owner. Set once, before concurrent use; without it only spaces owned
  // here take requests.
  void set_delegations(DelegationService* delegations);

  // ---- The requester's side.

  // Signs a request to join `space_id` as `role` ("" is member) and records
  // it as pending, addressed to `via` (kept for display). Refused when the
  // space is held here already (kAlreadyExists) or a request for it is
  // pending (kAlreadyExists, naming it).
  core::Result<OutgoingJoin> begin_join(const std::string& space_id, const std::string& role,
                                        const std::string& via);
  // The request reached `peer` (as the channel authenticated it), which
  // recorded it and named `owner` as the space's owner. Only `peer` may
  // send its decision.
  core::Result<JoinRequestInfo> join_sent(const std::string& id, const crypto::PeerId& peer,
                                          const crypto::PeerId& owner);
  // The request did not get recorded by a decider: `why` says what
  // happened. `peer` is set when a channel to it was open, so a decision
  // it recorded after all is still accepted from it.
  core::Result<JoinRequestInfo> join_failed(const std::string& id,
                                            const std::optional<crypto::PeerId>& peer,
                                            const core::Error& why);
  // A decision arrived from `from` (authenticated by its channel). It must
  // answer a request made here, come from the peer that request went to,
  // be signed by it, and for an approval carry a capability whose subject
  // is this peer and that the authorizer accepts; the space is then joined
  // (recorded in `spaces` with its owner and `space_name`, and in
  // `memberships`). The same decision twice is accepted once.
  core::Result<JoinRequestInfo> receive_decision(const crypto::PeerId& from,
                                                 core::ByteView decision,
                                                 const std::string& space_name);

  // ---- The decider's side (this peer owns the space).

  // A request arrived from `from` (authenticated by its channel): rate
  // limited per peer, verified (signature, requester == from, age), for a
  // space this peer owns or holds a usable delegation for, within the
  // pending limits; then recorded as pending and offered to the decider.
  // A verdict the rules refuse (a role or expiry outside the delegation,
  // the issuer's rate) leaves the request pending, saying why. A request
  // already recorded gets its current answer again.
  core::Result<IncomingAnswer> receive_request(const crypto::PeerId& from, core::ByteView request,
                                               const std::vector<std::string>& addrs);
  // Approves a pending incoming request: issues a membership capability for
  // the requester signed with this peer's key, with `role` ("" grants the
  // role asked for) until `expires_at` (nullopt: Limits::default_lifetime
  // from now), and queues the decision for delivery. A delegate issues
  // under its usable delegation: the role must be one it allows, a default
  // expiry is cut to the delegation's limit (a given one past it is
  // refused), the authorizer applies the issuer's rate, and the capability
  // is queued for the owner too.
  core::Result<JoinRequestInfo> approve(const std::string& request, const std::string& role,
                                        std::optional<Timestamp> expires_at);
  // Rejects a pending incoming request, with an optional reason (at most
  // cap::kMaxReasonBytes), and queues the decision for delivery.
  core::Result<JoinRequestInfo> reject(const std::string& request, const std::string& reason);

  // ---- Delivery of decisions (the outbox).

  // Decisions due for an attempt now, earliest first.
  core::Result<std::vector<PendingDelivery>> due_deliveries(std::size_t limit);
  // When the next delivery is due, or nullopt when none waits.
  core::Result<std::optional<Timestamp>> next_delivery_at();
  core::Status delivery_succeeded(const std::string& request_id);
  // Reschedules with backoff, or gives up when `permanent` (the requester
  // refused the decision) or the delivery deadline passed.
  core::Status delivery_failed(const std::string& request_id, const core::Error& why,
                               bool permanent);
  // Called after every decision is queued (from the deciding thread), so a
  // delivery loop can wake up. Set once, before concurrent use.
  void set_decision_listener(std::function<void()> listener);

  // ---- Queries.

  core::Result<std::vector<JoinRequestInfo>> list_requests(const RequestFilter& filter);
  core::Result<JoinRequestInfo> get_request(const std::string& request);
  // The audit entries of `space` (an id, or the name of a space held here),
  // oldest first.
  core::Result<std::vector<store::AuditEntry>> audit(const std::string& space,
                                                     std::uint64_t after_id, std::size_t limit);
  // What `peer` may do in `space` right now, for protocols that serve space
  // content: the authorizer's decision (owner, a verified capability, or a
  // refusal saying why not).
  core::Result<cap::Decision> role_of(std::string_view space, const crypto::PeerId& peer) const;

 private:
  struct Impl;
  const crypto::PeerId local_peer_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace soma::membership
