#include "cap/issuance.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "cap/signing.h"
#include "cap/verify.h"

namespace soma::cap {
namespace {

crypto::PeerId peer_of(const crypto::Ed25519PrivateKey& key) {
  return crypto::PeerId::from_public_key(key.public_key());
}

core::Status require_owner_key(const crypto::Ed25519PrivateKey& key, const SpaceRef& space,
                               std::string_view what) {
  if (!space.owner.matches(key.public_key())) {
    return core::Error::invalid(fmt::format("only the owner of space {} ({}) can sign a {}",
                                            space.id, space.owner.to_string(), what));
  }
  return {};
}

core::Status require_order(Timestamp issued_at, Timestamp expires_at, std::string_view what) {
  if (issued_at < 0 || expires_at <= issued_at) {
    return core::Error::invalid(
        fmt::format("a {} must expire after it is issued (issued_at {} ms, expires_at {} ms)", what,
                    issued_at, expires_at));
  }
  return {};
}

}  // namespace

core::Result<Signed<MembershipCapability>> issue_membership(
    const crypto::Ed25519PrivateKey& issuer_key, const SpaceRef& space,
    const MembershipGrant& grant, const std::optional<Signed<IssuerCapability>>& delegation) {
  SOMA_TRY(require_order(grant.issued_at, grant.expires_at, MembershipCapability::kName));
  MembershipCapability c;
  c.id = new_artifact_id();
  c.space = space.id;
  c.owner = space.owner;
  c.subject = grant.subject;
  c.role = grant.role;
  c.issuer = peer_of(issuer_key);
  c.issued_at = grant.issued_at;
  c.expires_at = grant.expires_at;
  if (c.issuer == space.owner) {
    if (delegation) {
      return core::Error::invalid("the owner issues memberships without a delegation");
    }
  } else {
    if (!delegation) {
      return core::Error::denied(
          fmt::format("{} is not the owner of space {} and needs a delegation to issue memberships",
                      c.issuer.to_string(), space.id));
    }
    c.delegation = delegation;
  }
  auto signed_cap = sign(std::move(c), issuer_key);
  if (!signed_cap.ok()) return signed_cap;
  // Checked as the subject will check it, at the time it claims.
  auto checked = check_membership(*signed_cap, space, grant.subject, grant.issued_at);
  if (!checked.ok()) {
    const Refusal& r = checked.refusal();
    const bool delegation_problem = r.reason == Reason::kDelegationInvalid ||
                                    r.reason == Reason::kDelegationExpired ||
                                    r.reason == Reason::kDelegationRoleNotAllowed ||
                                    r.reason == Reason::kDelegationExpiryExceeded ||
                                    r.reason == Reason::kIssuedOutsideDelegation;
    return core::Error{
        delegation_problem ? core::ErrorCode::kPermissionDenied : core::ErrorCode::kInvalidArgument,
        "cannot issue this membership: " + r.message};
  }
  return signed_cap;
}

core::Result<Signed<IssuerCapability>> issue_delegation(const crypto::Ed25519PrivateKey& owner_key,
                                                        const SpaceRef& space,
                                                        const DelegationGrant& grant) {
  SOMA_TRY(require_owner_key(owner_key, space, IssuerCapability::kName));
  SOMA_TRY(require_order(grant.issued_at, grant.expires_at, IssuerCapability::kName));
  IssuerCapability d;
  d.id = new_artifact_id();
  d.space = space.id;
  d.owner = space.owner;
  d.delegate = grant.delegate;
  d.roles = grant.roles;
  std::sort(d.roles.begin(), d.roles.end());
  d.roles.erase(std::unique(d.roles.begin(), d.roles.end()), d.roles.end());
  if (d.roles.empty()) return core::Error::invalid("a delegation must allow at least one role");
  if (d.roles.front() == Role::kOwner) {
    return core::Error::invalid("the owner role cannot be delegated");
  }
  d.issued_at = grant.issued_at;
  d.expires_at = grant.expires_at;
  d.max_member_expires_at = grant.max_member_expires_at;
  d.rate_per_hour = grant.rate_per_hour;
  return sign(std::move(d), owner_key);
}

namespace {

Revocation revocation_base(const SpaceRef& space, RevocationKind kind, Timestamp issued_at) {
  Revocation r;
  r.id = new_artifact_id();
  r.space = space.id;
  r.owner = space.owner;
  r.kind = kind;
  r.issued_at = issued_at;
  return r;
}

}  // namespace

core::Result<Signed<Revocation>> revoke_member(const crypto::Ed25519PrivateKey& owner_key,
                                               const SpaceRef& space, const crypto::PeerId& peer,
                                               Timestamp issued_at) {
  SOMA_TRY(require_owner_key(owner_key, space, Revocation::kName));
  Revocation r = revocation_base(space, RevocationKind::kMember, issued_at);
  r.peer = peer;
  return sign(std::move(r), owner_key);
}

core::Result<Signed<Revocation>> revoke_capability(const crypto::Ed25519PrivateKey& owner_key,
                                                   const SpaceRef& space,
                                                   const ArtifactId& capability,
                                                   Timestamp issued_at) {
  SOMA_TRY(require_owner_key(owner_key, space, Revocation::kName));
  Revocation r = revocation_base(space, RevocationKind::kCapability, issued_at);
  r.capability = capability;
  return sign(std::move(r), owner_key);
}

core::Result<Signed<Revocation>> revoke_issuer(const crypto::Ed25519PrivateKey& owner_key,
                                               const SpaceRef& space, const crypto::PeerId& issuer,
                                               IssuerPolicy policy, Timestamp after,
                                               Timestamp issued_at) {
  SOMA_TRY(require_owner_key(owner_key, space, Revocation::kName));
  Revocation r = revocation_base(space, RevocationKind::kIssuer, issued_at);
  r.peer = issuer;
  r.policy = policy;
  if (policy == IssuerPolicy::kRevokeIssuedAfter) r.after = after;
  return sign(std::move(r), owner_key);
}

core::Result<Signed<JoinRequest>> request_join(const crypto::Ed25519PrivateKey& requester_key,
                                               std::string_view space_id, Role role,
                                               Timestamp created_at) {
  JoinRequest r;
  r.nonce = new_artifact_id();
  r.space = std::string(space_id);
  r.requester = peer_of(requester_key);
  r.role = role;
  r.created_at = created_at;
  return sign(std::move(r), requester_key);
}

core::Result<Signed<JoinDecision>> approve_join(const crypto::Ed25519PrivateKey& decider_key,
                                                const JoinRequest& request,
                                                const Signed<MembershipCapability>& capability,
                                                Timestamp issued_at, std::string reason) {
  const MembershipCapability& c = capability.body;
  const crypto::PeerId decider = peer_of(decider_key);
  if (c.subject != request.requester || c.space != request.space || c.issuer != decider) {
    return core::Error::invalid(
        "an approval must carry a capability the decider issued to the requester for the "
        "requested space");
  }
  JoinDecision d;
  d.request = request.nonce;
  d.space = request.space;
  d.requester = request.requester;
  d.decider = decider;
  d.outcome = JoinOutcome::kApproved;
  d.issued_at = issued_at;
  d.reason = std::move(reason);
  d.capability = capability;
  return sign(std::move(d), decider_key);
}

core::Result<Signed<JoinDecision>> reject_join(const crypto::Ed25519PrivateKey& decider_key,
                                               const JoinRequest& request, std::string reason,
                                               Timestamp issued_at) {
  JoinDecision d;
  d.request = request.nonce;
  d.space = request.space;
  d.requester = request.requester;
  d.decider = peer_of(decider_key);
  d.outcome = JoinOutcome::kRejected;
  d.issued_at = issued_at;
  d.reason = std::move(reason);
  return sign(std::move(d), decider_key);
}

}  // namespace soma::cap
