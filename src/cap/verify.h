#pragma once

#include <string_view>
#include <vector>

#include "cap/artifacts.h"
#include "cap/envelope.h"
#include "cap/refusal.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"

// Verification of signed artifacts against a space, an authenticated peer
// and a time. The peer is always the one the channel authenticated (the
// Noise handshake's remote PeerId), never an id taken from a payload.
//
// The order of the checks is fixed and documented in docs/capabilities.md;
// the first failing check decides the Reason. Functions are thread-safe as
// long as the VerifyContext they are given is.
namespace soma::cap {

// How far apart two honest clocks may be. An artifact issued up to this
// much "in the future" is accepted, and one is still accepted this long
// after it expires.
inline constexpr Timestamp kClockSkewAllowance = 5 * 60 * 1000;  // 5 minutes
// The window of an issuer's rate limit: "N per hour" means no N + 1
// accepted capabilities of one issuer have issued_at values less than this
// apart.
inline constexpr Timestamp kRateWindow = 60 * 60 * 1000;  // 1 hour
// A join request older than this is refused as expired.
inline constexpr Timestamp kJoinRequestLifetime = 7LL * 24 * 60 * 60 * 1000;  // 7 days

// What a verifier knows beyond the artifact: revocations and the
// capabilities it accepted before. The storage layer implements it (see
// capability_store.h). Errors from it are passed through unchanged.
class VerifyContext {
 public:
  virtual ~VerifyContext() = default;

  // Every revocation known for `space`; each was checked with
  // verify_revocation against the space's owner before it was stored.
  virtual core::Result<std::vector<Revocation>> revocations(std::string_view space) const = 0;

  // True when a membership capability with this id was already accepted in
  // `space`, and so already counted against its issuer's rate.
  virtual core::Result<bool> is_accepted(std::string_view space, const ArtifactId& id) const = 0;

  // The issued_at of every delegated membership capability accepted in
  // `space` from `issuer` whose issued_at lies in [from, to].
  virtual core::Result<std::vector<Timestamp>> issuance_times(std::string_view space,
                                                              const crypto::PeerId& issuer,
                                                              Timestamp from,
                                                              Timestamp to) const = 0;
};

struct VerifiedMembership {
  Signed<MembershipCapability> capability;
  Role role = Role::kMember;
  // When the membership stops: the capability's expiry, or the delegation's
  // when that comes first (clock-skew allowance not included).
  Timestamp valid_until = 0;

  bool delegated() const { return capability.body.delegation.has_value(); }
};

// Verifies a membership capability presented by `authenticated_peer` for
// `space` at `now`, in this order: size, strict decoding, signature by the
// issuer, space id, owner, subject == authenticated_peer, time window,
// role grantable, the issuer's authority (owner, or an embedded owner-signed
// delegation valid now, at issuance, for this role and expiry), revocations,
// the issuer's rate limit. Errors (core::Error): only the context's own.
core::Result<Checked<VerifiedMembership>> verify_membership(
    core::ByteView signed_capability, const SpaceRef& space,
    const crypto::PeerId& authenticated_peer, Timestamp now, const VerifyContext& context);
core::Result<Checked<VerifiedMembership>> verify_membership(
    const Signed<MembershipCapability>& capability, const SpaceRef& space,
    const crypto::PeerId& authenticated_peer, Timestamp now, const VerifyContext& context);

// Every check of verify_membership that needs no context: everything but
// revocations and the rate limit. Issuers run it before handing a
// capability out.
Checked<VerifiedMembership> check_membership(const Signed<MembershipCapability>& capability,
                                             const SpaceRef& space,
                                             const crypto::PeerId& authenticated_peer,
                                             Timestamp now);

// Verifies a delegation on receipt (a delegate learning it may issue) or
// before use: decoding, the owner's signature, space, owner, validity at
// `now`, and that no revocation stops the delegate issuing at `now`.
core::Result<Checked<Signed<IssuerCapability>>> verify_issuer_capability(
    core::ByteView signed_capability, const SpaceRef& space, Timestamp now,
    const VerifyContext& context);

// Verifies a revocation before it is stored or acted on: decoding, the
// owner's signature, space and owner. Revocations do not expire.
Checked<Signed<Revocation>> verify_revocation(core::ByteView signed_revocation,
                                              const SpaceRef& space);

// Verifies a join request on receipt: decoding, the requester's signature,
// requester == authenticated_peer, the space, and created_at within
// [now - kJoinRequestLifetime, now + kClockSkewAllowance].
Checked<Signed<JoinRequest>> verify_join_request(core::ByteView signed_request,
                                                 std::string_view space_id,
                                                 const crypto::PeerId& authenticated_peer,
                                                 Timestamp now);

// Verifies the decision on `request` (which the requester made itself):
// decoding, the decider's signature, that it answers this request (nonce,
// space, requester; kRequestMismatch otherwise), and for an approval that
// the capability was issued by the decider and verifies for the requester
// with verify_membership.
core::Result<Checked<Signed<JoinDecision>>> verify_join_decision(core::ByteView signed_decision,
                                                                 const JoinRequest& request,
                                                                 const SpaceRef& space,
                                                                 Timestamp now,
                                                                 const VerifyContext& context);

}  // namespace soma::cap
