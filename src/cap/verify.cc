#include "cap/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "cap/signing.h"

namespace soma::cap {
namespace {

// Timestamps come from payloads and may be anything up to INT64_MAX, so
// adding an allowance saturates instead of overflowing.
Timestamp plus(Timestamp t, Timestamp d) {
  if (d > 0 && t > std::numeric_limits<Timestamp>::max() - d) {
    return std::numeric_limits<Timestamp>::max();
  }
  if (d < 0 && t < std::numeric_limits<Timestamp>::min() - d) {
    return std::numeric_limits<Timestamp>::min();
  }
  return t + d;
}

std::string peer_text(const crypto::PeerId& id) { return id.to_string(); }

Refusal refuse(Reason reason, std::string message) { return Refusal{reason, std::move(message)}; }

template <typename T>
std::optional<Refusal> check_space_and_owner(const T& body, const SpaceRef& space) {
  if (body.space != space.id) {
    return refuse(Reason::kWrongSpace,
                  fmt::format("{} is for space {}, not {}", T::kName, body.space, space.id));
  }
  if (body.owner != space.owner) {
    return refuse(Reason::kWrongOwner,
                  fmt::format("{} names {} as owner of space {}, but its owner is {}", T::kName,
                              peer_text(body.owner), space.id, peer_text(space.owner)));
  }
  return std::nullopt;
}

// True when an issuer revocation makes a capability issued at `issued_at`
// by the revoked issuer invalid.
bool issuer_revocation_covers(const Revocation& r, Timestamp issued_at) {
  switch (r.policy) {
    case IssuerPolicy::kKeepIssued:
      return issued_at > r.issued_at;
    case IssuerPolicy::kRevokeIssuedAfter:
      return issued_at > r.after;
    case IssuerPolicy::kRevokeAll:
      return true;
  }
  return true;
}

std::optional<Refusal> check_delegation(const MembershipCapability& c, const SpaceRef& space,
                                        Timestamp now) {
  if (!c.delegation) {
    return refuse(Reason::kIssuerNotAuthorized,
                  fmt::format("membership capability was issued by {}, who is not the owner of "
                              "space {} and carries no delegation from the owner",
                              peer_text(c.issuer), space.id));
  }
  const IssuerCapability& d = c.delegation->body;
  if (auto bad = check_signature(*c.delegation)) {
    return refuse(Reason::kDelegationInvalid, "delegation: " + bad->message);
  }
  if (auto bad = check_space_and_owner(d, space)) {
    return refuse(Reason::kDelegationInvalid, "delegation: " + bad->message);
  }
  if (d.delegate != c.issuer) {
    return refuse(Reason::kDelegationInvalid,
                  fmt::format("the delegation is for {}, but the capability was issued by {}",
                              peer_text(d.delegate), peer_text(c.issuer)));
  }
  if (now < plus(d.issued_at, -kClockSkewAllowance)) {
    return refuse(Reason::kDelegationInvalid,
                  fmt::format("the delegation is not valid yet: issued at {} ms, now is {} ms",
                              d.issued_at, now));
  }
  if (now >= plus(d.expires_at, kClockSkewAllowance)) {
    return refuse(Reason::kDelegationExpired,
                  fmt::format("the delegation of {} expired at {} ms; now is {} ms",
                              peer_text(d.delegate), d.expires_at, now));
  }
  if (c.issued_at < plus(d.issued_at, -kClockSkewAllowance) || c.issued_at >= d.expires_at) {
    return refuse(Reason::kIssuedOutsideDelegation,
                  fmt::format("the capability was issued at {} ms, outside its delegation's "
                              "validity [{}, {}) ms",
                              c.issued_at, d.issued_at, d.expires_at));
  }
  if (!d.allows(c.role)) {
    return refuse(Reason::kDelegationRoleNotAllowed,
                  fmt::format("the delegation does not let {} grant the {} role",
                              peer_text(d.delegate), to_string(c.role)));
  }
  if (c.expires_at > d.max_member_expires_at) {
    return refuse(Reason::kDelegationExpiryExceeded,
                  fmt::format("the capability expires at {} ms, past the delegation's limit of "
                              "{} ms",
                              c.expires_at, d.max_member_expires_at));
  }
  return std::nullopt;
}

std::optional<Refusal> check_revocations(const MembershipCapability& c, const SpaceRef& space,
                                         const std::vector<Revocation>& revocations) {
  // One pass per kind, so the most specific reason wins when several apply.
  for (const Revocation& r : revocations) {
    if (r.space != space.id || r.kind != RevocationKind::kCapability) continue;
    if (r.capability == c.id) {
      return refuse(Reason::kCapabilityRevoked,
                    fmt::format("membership capability {} was revoked by the owner at {} ms",
                                to_hex(c.id), r.issued_at));
    }
    if (c.delegation && r.capability == c.delegation->body.id) {
      return refuse(Reason::kDelegationRevoked,
                    fmt::format("the delegation {} this capability relies on was revoked at {} ms",
                                to_hex(r.capability), r.issued_at));
    }
  }
  for (const Revocation& r : revocations) {
    if (r.space != space.id || r.kind != RevocationKind::kMember || r.peer != c.subject) continue;
    // Only the owner can re-admit a revoked member, with a newer capability.
    if (c.delegation || c.issued_at <= r.issued_at) {
      return refuse(Reason::kMemberRevoked,
                    fmt::format("{} was revoked as a member of space {} at {} ms",
                                peer_text(c.subject), space.id, r.issued_at));
    }
  }
  if (c.delegation) {
    for (const Revocation& r : revocations) {
      if (r.space != space.id || r.kind != RevocationKind::kIssuer || r.peer != c.issuer) continue;
      if (issuer_revocation_covers(r, c.issued_at)) {
        return refuse(
            Reason::kIssuerRevoked,
            fmt::format("issuer {} was revoked at {} ms ({}), which covers capabilities "
                        "issued at {} ms",
                        peer_text(c.issuer), r.issued_at, to_string(r.policy), c.issued_at));
      }
    }
  }
  return std::nullopt;
}

// No N + 1 accepted capabilities of one issuer (this one included) may have
// issued_at values less than kRateWindow apart.
core::Result<std::optional<Refusal>> check_rate(const MembershipCapability& c,
                                                const VerifyContext& context) {
  auto accepted = context.is_accepted(c.space, c.id);
  if (!accepted.ok()) return accepted.take_error();
  if (*accepted) return std::optional<Refusal>();  // counted when it was accepted

  const std::uint32_t limit = c.delegation->body.rate_per_hour;
  auto times = context.issuance_times(c.space, c.issuer, plus(c.issued_at, 1 - kRateWindow),
                                      plus(c.issued_at, kRateWindow - 1));
  if (!times.ok()) return times.take_error();
  times->push_back(c.issued_at);
  std::sort(times->begin(), times->end());
  for (std::size_t i = 0; i + limit < times->size(); ++i) {
    if ((*times)[i + limit] - (*times)[i] < kRateWindow) {
      return std::optional<Refusal>(refuse(
          Reason::kRateLimited,
          fmt::format("issuer {} may issue {} capabilities per hour, and this one would be one "
                      "more than that within an hour",
                      peer_text(c.issuer), limit)));
    }
  }
  return std::optional<Refusal>();
}

}  // namespace

Checked<VerifiedMembership> check_membership(const Signed<MembershipCapability>& capability,
                                             const SpaceRef& space,
                                             const crypto::PeerId& authenticated_peer,
                                             Timestamp now) {
  const MembershipCapability& c = capability.body;
  if (auto bad = check_signature(capability)) return *bad;
  if (auto bad = check_space_and_owner(c, space)) return *bad;
  if (c.subject != authenticated_peer) {
    return refuse(Reason::kSubjectMismatch,
                  fmt::format("the capability is for {}, but the peer on this connection is {}",
                              peer_text(c.subject), peer_text(authenticated_peer)));
  }
  if (c.issued_at > plus(now, kClockSkewAllowance)) {
    return refuse(Reason::kNotYetValid,
                  fmt::format("the capability is issued at {} ms, more than {} ms after now ({} "
                              "ms)",
                              c.issued_at, kClockSkewAllowance, now));
  }
  if (now >= plus(c.expires_at, kClockSkewAllowance)) {
    return refuse(Reason::kExpired,
                  fmt::format("the capability expired at {} ms; now is {} ms", c.expires_at, now));
  }
  if (c.role == Role::kOwner && c.subject != space.owner) {
    return refuse(Reason::kRoleNotGrantable,
                  fmt::format("only {} is the owner of space {}; the owner role cannot be granted",
                              peer_text(space.owner), space.id));
  }
  Timestamp valid_until = c.expires_at;
  if (c.issuer != space.owner) {
    if (auto bad = check_delegation(c, space, now)) return *bad;
    valid_until = std::min(valid_until, c.delegation->body.expires_at);
  }
  return VerifiedMembership{capability, c.role, valid_until};
}

core::Result<Checked<VerifiedMembership>> verify_membership(
    const Signed<MembershipCapability>& capability, const SpaceRef& space,
    const crypto::PeerId& authenticated_peer, Timestamp now, const VerifyContext& context) {
  auto checked = check_membership(capability, space, authenticated_peer, now);
  if (!checked.ok()) return checked;
  const MembershipCapability& c = capability.body;

  auto revocations = context.revocations(space.id);
  if (!revocations.ok()) return revocations.take_error();
  if (auto bad = check_revocations(c, space, *revocations)) {
    return Checked<VerifiedMembership>(std::move(*bad));
  }
  if (c.delegation) {
    auto rate = check_rate(c, context);
    if (!rate.ok()) return rate.take_error();
    if (*rate) return Checked<VerifiedMembership>(std::move(**rate));
  }
  return checked;
}

core::Result<Checked<VerifiedMembership>> verify_membership(
    core::ByteView signed_capability, const SpaceRef& space,
    const crypto::PeerId& authenticated_peer, Timestamp now, const VerifyContext& context) {
  auto decoded = decode_signed<MembershipCapability>(signed_capability);
  if (!decoded.ok()) return Checked<VerifiedMembership>(decoded.take_refusal());
  return verify_membership(*decoded, space, authenticated_peer, now, context);
}

core::Result<Checked<Signed<IssuerCapability>>> verify_issuer_capability(
    core::ByteView signed_capability, const SpaceRef& space, Timestamp now,
    const VerifyContext& context) {
  using Out = Checked<Signed<IssuerCapability>>;
  auto decoded = decode_signed<IssuerCapability>(signed_capability);
  if (!decoded.ok()) return Out(decoded.take_refusal());
  const IssuerCapability& d = decoded->body;
  if (auto bad = check_signature(*decoded)) return Out(std::move(*bad));
  if (auto bad = check_space_and_owner(d, space)) return Out(std::move(*bad));
  if (now < plus(d.issued_at, -kClockSkewAllowance)) {
    return Out(refuse(Reason::kNotYetValid,
                      fmt::format("the delegation is issued at {} ms, more than {} ms after now "
                                  "({} ms)",
                                  d.issued_at, kClockSkewAllowance, now)));
  }
  if (now >= plus(d.expires_at, kClockSkewAllowance)) {
    return Out(
        refuse(Reason::kDelegationExpired,
               fmt::format("the delegation expired at {} ms; now is {} ms", d.expires_at, now)));
  }
  auto revocations = context.revocations(space.id);
  if (!revocations.ok()) return revocations.take_error();
  for (const Revocation& r : *revocations) {
    if (r.space != space.id) continue;
    if (r.kind == RevocationKind::kCapability && r.capability == d.id) {
      return Out(
          refuse(Reason::kDelegationRevoked,
                 fmt::format("delegation {} was revoked at {} ms", to_hex(d.id), r.issued_at)));
    }
    if (r.kind == RevocationKind::kIssuer && r.peer == d.delegate &&
        issuer_revocation_covers(r, now)) {
      return Out(refuse(Reason::kIssuerRevoked,
                        fmt::format("issuer {} was revoked at {} ms ({})", peer_text(d.delegate),
                                    r.issued_at, to_string(r.policy))));
    }
  }
  return Out(std::move(*decoded));
}

Checked<Signed<Revocation>> verify_revocation(core::ByteView signed_revocation,
                                              const SpaceRef& space) {
  auto decoded = decode_signed<Revocation>(signed_revocation);
  if (!decoded.ok()) return decoded;
  if (auto bad = check_signature(*decoded)) return *bad;
  if (auto bad = check_space_and_owner(decoded->body, space)) return *bad;
  return decoded;
}

Checked<Signed<JoinRequest>> verify_join_request(core::ByteView signed_request,
                                                 std::string_view space_id,
                                                 const crypto::PeerId& authenticated_peer,
                                                 Timestamp now) {
  auto decoded = decode_signed<JoinRequest>(signed_request);
  if (!decoded.ok()) return decoded;
  const JoinRequest& r = decoded->body;
  if (auto bad = check_signature(*decoded)) return *bad;
  if (r.requester != authenticated_peer) {
    return refuse(Reason::kSubjectMismatch,
                  fmt::format("the join request is from {}, but the peer on this connection is {}",
                              peer_text(r.requester), peer_text(authenticated_peer)));
  }
  if (r.space != space_id) {
    return refuse(Reason::kWrongSpace,
                  fmt::format("the join request is for space {}, not {}", r.space, space_id));
  }
  if (r.created_at > plus(now, kClockSkewAllowance)) {
    return refuse(Reason::kNotYetValid,
                  fmt::format("the join request is dated {} ms, more than {} ms after now ({} ms)",
                              r.created_at, kClockSkewAllowance, now));
  }
  if (plus(r.created_at, kJoinRequestLifetime) < now) {
    return refuse(Reason::kExpired,
                  fmt::format("the join request is from {} ms, older than the {} ms a request "
                              "stays valid",
                              r.created_at, kJoinRequestLifetime));
  }
  return decoded;
}

core::Result<Checked<Signed<JoinDecision>>> verify_join_decision(core::ByteView signed_decision,
                                                                 const JoinRequest& request,
                                                                 const SpaceRef& space,
                                                                 Timestamp now,
                                                                 const VerifyContext& context) {
  using Out = Checked<Signed<JoinDecision>>;
  auto decoded = decode_signed<JoinDecision>(signed_decision);
  if (!decoded.ok()) return Out(decoded.take_refusal());
  const JoinDecision& d = decoded->body;
  if (auto bad = check_signature(*decoded)) return Out(std::move(*bad));
  if (d.space != space.id) {
    return Out(refuse(Reason::kWrongSpace,
                      fmt::format("the join decision is for space {}, not {}", d.space, space.id)));
  }
  if (d.request != request.nonce || d.space != request.space || d.requester != request.requester) {
    return Out(refuse(Reason::kRequestMismatch,
                      fmt::format("the join decision answers request {} of {}, not request {} of "
                                  "{}",
                                  to_hex(d.request), peer_text(d.requester), to_hex(request.nonce),
                                  peer_text(request.requester))));
  }
  if (d.outcome == JoinOutcome::kApproved) {
    const Signed<MembershipCapability>& cap = *d.capability;
    if (cap.body.issuer != d.decider) {
      return Out(refuse(Reason::kRequestMismatch,
                        fmt::format("the approval is signed by {}, but its capability was issued "
                                    "by {}",
                                    peer_text(d.decider), peer_text(cap.body.issuer))));
    }
    auto verified = verify_membership(cap, space, request.requester, now, context);
    if (!verified.ok()) return verified.take_error();
    if (!verified->ok()) {
      Refusal inner = verified->take_refusal();
      return Out(Refusal{inner.reason, "the approval's capability: " + inner.message});
    }
  }
  return Out(std::move(*decoded));
}

}  // namespace soma::cap
