#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cap/artifacts.h"
#include "cap/authorizer.h"
#include "cap/clock.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"
#include "membership/wire.h"
#include "store/capability_repository.h"
#include "store/database.h"
#include "store/event_log.h"

// The business rules of delegated issuance and revocation: the owner lets
// a peer issue memberships (an IssuerCapability), withdraws members and
// issuers (Revocations), and every artifact reaches the peers that must
// know it through the push outbox (/soma/capability/1, push_protocol.h).
// A delegate stores what it is given after verifying it, and issues under
// it (MembershipService::approve, DelegateDecides). It never touches the
// network itself.
namespace soma::membership {

using cap::Timestamp;

// Peers one revocation is pushed to at most: the space's members and
// delegates as this device knows them.
inline constexpr std::size_t kMaxPushRecipients = 256;
// Pushes one peer may send in kPushRateWindow; more are refused
// (kResourceExhausted) before they are decoded.
inline constexpr std::size_t kPushesPerWindow = 30;
inline constexpr Timestamp kPushRateWindow = 60 * 1000;
inline constexpr std::size_t kMaxPushRateTrackedPeers = 4096;
// Spaces this device learns through delegations alone (held as "issuer")
// at most; a delegation for one more is refused (kResourceExhausted).
inline constexpr std::size_t kMaxIssuerSpaces = 256;
// Delegations one delegate keeps per space, and revocations a peer keeps
// per space it does not own; one more is refused (kResourceExhausted).
inline constexpr std::size_t kMaxDelegationsPerSpace = 16;
inline constexpr std::size_t kMaxRevocationsPerSpace = 1024;
// Delegations and capabilities one listing shows at most.
inline constexpr std::size_t kMaxMembersListed = 1000;
// A pushed artifact is retried with backoff (first after
// kPushFirstRetryDelay, doubling up to kPushMaxRetryDelay) until it
// arrives or kPushGiveUpAfter passes.
inline constexpr Timestamp kPushFirstRetryDelay = 1000;
inline constexpr Timestamp kPushMaxRetryDelay = 5 * 60 * 1000;
inline constexpr Timestamp kPushGiveUpAfter = 7LL * 24 * 60 * 60 * 1000;

struct DelegateArgs {
  std::string space;  // id or name
  std::string peer;   // the delegate's PeerId
  std::vector<std::string> roles;
  Timestamp expires_at = 0;
  Timestamp max_member_expires_at = 0;
  std::uint32_t rate_per_hour = 0;
};

struct DelegationInfo {
  std::string id;  // hex
  std::string space_id;
  std::string space_name;
  std::string owner;
  std::string delegate;
  std::vector<std::string> roles;
  Timestamp issued_ms = 0;
  Timestamp expires_ms = 0;
  Timestamp max_member_expires_ms = 0;
  std::uint32_t rate_per_hour = 0;
  std::string state;  // "valid", "expired" or "revoked"
  std::string detail;
};

struct RevokeArgs {
  std::string space;  // id or name
  std::string peer;
  // Set: revoke `peer` as an issuer, with this policy for what it issued.
  // Unset: revoke every membership capability of `peer`.
  std::optional<cap::IssuerPolicy> issued;
  Timestamp after = 0;  // with kRevokeIssuedAfter
};

struct RevocationInfo {
  std::string id;  // hex
  std::string space_id;
  std::string kind;  // "member", "capability" or "issuer"
  std::string peer;
  std::string policy;  // issuer revocations
  Timestamp after_ms = 0;
  Timestamp issued_ms = 0;
  std::size_t recipients = 0;  // peers it is on its way to
};

// One line of `soma members`: the owner, a membership capability or a
// delegation, with its state now.
struct MemberInfo {
  std::string peer;
  std::string kind;                // "owner", "membership" or "delegation"
  std::string role;                // membership: the role; delegation: "issuer"
  std::vector<std::string> roles;  // delegation: the roles it may grant
  std::string issuer;              // membership: who signed it
  std::string capability_id;       // hex
  Timestamp issued_ms = 0;
  Timestamp expires_ms = 0;  // 0 for the owner
  std::string state;         // "owner", "valid", "expired", "revoked" or "invalid"
  std::string detail;        // why it is not valid
  // What the authorizer lets this peer do in the space now (its best
  // capability decides), or "none".
  std::string access;
};

// An artifact on its way to a peer.
struct PendingPush {
  std::int64_t id = 0;
  crypto::PeerId peer;
  wire::PushMessage message;
  std::int64_t attempts = 0;
};

// Ownership: borrows everything, which must outlive it. Threading: every
// member may be called from any thread; SQLite work runs on the caller's
// thread. Lock order as in MembershipService: the database lock before the
// authorizer's.
//
// Errors (core::Error): kInvalidArgument for malformed input or an artifact
// that does not verify, kNotFound for an unknown space, kPermissionDenied
// for a peer that may not do what it asks, and the database's own.
class DelegationService {
 public:
  DelegationService(store::Database& db, store::EventLog& events, cap::Authorizer& authorizer,
                    store::CapabilityRepository& capabilities, const cap::SpaceDirectory& spaces,
                    const cap::Clock& clock, crypto::Ed25519PrivateKey identity);
  ~DelegationService();
  DelegationService(const DelegationService&) = delete;
  DelegationService& operator=(const DelegationService&) = delete;

  const crypto::PeerId& local_peer() const { return local_peer_; }

  // ---- The owner's side.

  // Signs an IssuerCapability for `args.peer` (owner only), stores and
  // audits it, and queues it for the delegate.
  core::Result<DelegationInfo> delegate(const DelegateArgs& args);
  // Signs a Revocation (owner only), stores it through the authorizer (so
  // it applies at once), audits it, and queues it for every member and
  // delegate of the space known here, the revoked peer included.
  core::Result<RevocationInfo> revoke(const RevokeArgs& args);

  // ---- Any peer.

  // The owner, the membership capabilities and the delegations known here
  // for `space` (id or name), each with its state now.
  core::Result<std::vector<MemberInfo>> members(const std::string& space);

  // An artifact pushed by `from` (authenticated by its channel):
  //  - a delegation: must be signed by the space's owner and sent by it,
  //    name this peer as delegate and verify now; the space is then known
  //    here (with that owner) and the delegation stored;
  //  - a revocation: must verify against the space's owner as recorded
  //    here; it is stored and applies to every later decision;
  //  - an issued membership: this peer must own the space and `from` must
  //    have signed it; the authorizer verifies and records it.
  // Receiving the same artifact twice changes nothing and succeeds. Each
  // peer may push kPushesPerWindow artifacts per kPushRateWindow.
  core::Status receive(const crypto::PeerId& from, const wire::PushMessage& message);

  // ---- The delegate's side.

  // The delegation this peer holds for `space` (owned by `owner`) that lets
  // it issue now (strictly before its expiry, not revoked), the latest
  // expiry first; nullopt when there is none.
  core::Result<std::optional<cap::Signed<cap::IssuerCapability>>> usable_delegation(
      const std::string& space, const crypto::PeerId& owner);
  // Queues `capability`, issued here under a delegation, for the space's
  // owner. Call inside the database transaction that records the issuance.
  core::Status queue_report(const cap::Signed<cap::MembershipCapability>& capability);

  // ---- The push outbox.

  core::Result<std::vector<PendingPush>> due_pushes(std::size_t limit);
  core::Result<std::optional<Timestamp>> next_push_at();
  core::Status push_succeeded(std::int64_t id);
  // Reschedules with backoff, or drops it (audited) when `permanent` or
  // past its deadline.
  core::Status push_failed(std::int64_t id, const core::Error& why, bool permanent);
  // Called after something was queued (from the queuing thread). Set once,
  // before concurrent use.
  void set_push_listener(std::function<void()> listener);
  // Called by queue_report's callers after their transaction committed.
  void notify_push();

 private:
  struct Impl;
  const crypto::PeerId local_peer_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace soma::membership
