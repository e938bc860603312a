#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cap/artifacts.h"
#include "cap/envelope.h"
#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"

// Making signed artifacts. Each helper fills in a fresh random id, signs
// with the given key (which decides the issuer, owner, requester or
// decider), and checks the result the way a receiver would before
// returning it, so nothing leaves this device that a verifier refuses for
// reasons known here. Revocations and issuer rate limits are not known
// here: pass capabilities through Authorizer::admit_issued before sending.
//
// Errors: kInvalidArgument for inconsistent arguments (a key that is not
// the owner's where the owner must sign, times out of order, the owner
// role for someone else); kPermissionDenied when a delegation does not
// cover what is asked. Pure functions; thread-safe.
namespace soma::cap {

struct MembershipGrant {
  crypto::PeerId subject;
  Role role = Role::kMember;
  Timestamp issued_at = 0;
  Timestamp expires_at = 0;
};

// Issues a membership capability signed by `issuer_key`: the owner's key
// with no delegation, or a delegate's key together with the owner-signed
// delegation it holds (embedded in the capability).
core::Result<Signed<MembershipCapability>> issue_membership(
    const crypto::Ed25519PrivateKey& issuer_key, const SpaceRef& space,
    const MembershipGrant& grant,
    const std::optional<Signed<IssuerCapability>>& delegation = std::nullopt);

struct DelegationGrant {
  crypto::PeerId delegate;
  std::vector<Role> roles;  // any order; sorted and de-duplicated here
  Timestamp issued_at = 0;
  Timestamp expires_at = 0;
  Timestamp max_member_expires_at = 0;
  std::uint32_t rate_per_hour = 0;
};

// The owner lets `grant.delegate` issue memberships. `owner_key` must be the
// key of space.owner.
core::Result<Signed<IssuerCapability>> issue_delegation(const crypto::Ed25519PrivateKey& owner_key,
                                                        const SpaceRef& space,
                                                        const DelegationGrant& grant);

// Owner-signed revocations.
core::Result<Signed<Revocation>> revoke_member(const crypto::Ed25519PrivateKey& owner_key,
                                               const SpaceRef& space, const crypto::PeerId& peer,
                                               Timestamp issued_at);
core::Result<Signed<Revocation>> revoke_capability(const crypto::Ed25519PrivateKey& owner_key,
                                                   const SpaceRef& space,
                                                   const ArtifactId& capability,
                                                   Timestamp issued_at);
// `after` is used only with IssuerPolicy::kRevokeIssuedAfter.
core::Result<Signed<Revocation>> revoke_issuer(const crypto::Ed25519PrivateKey& owner_key,
                                               const SpaceRef& space, const crypto::PeerId& issuer,
                                               IssuerPolicy policy, Timestamp after,
                                               Timestamp issued_at);

core::Result<Signed<JoinRequest>> request_join(const crypto::Ed25519PrivateKey& requester_key,
                                               std::string_view space_id, Role role,
                                               Timestamp created_at);

// An approval carrying `capability`, which must be issued by the decider to
// the requester for the request's space.
core::Result<Signed<JoinDecision>> approve_join(const crypto::Ed25519PrivateKey& decider_key,
                                                const JoinRequest& request,
                                                const Signed<MembershipCapability>& capability,
                                                Timestamp issued_at, std::string reason = {});

core::Result<Signed<JoinDecision>> reject_join(const crypto::Ed25519PrivateKey& decider_key,
                                               const JoinRequest& request, std::string reason,
                                               Timestamp issued_at);

}  // namespace soma::cap
