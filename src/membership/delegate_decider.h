#pragma once

#include "cap/capability_store.h"
#include "cap/clock.h"
#include "crypto/peer_id.h"
#include "membership/decider.h"
#include "membership/delegation_service.h"

namespace soma::membership {

// The daemon's decider. Requests for spaces owned here stay pending for
// the owner (as OwnerDecides). Requests that reach this peer as a delegate
// are approved at once when its usable delegation allows the role asked
// for, with a membership lasting `default_lifetime` cut to the
// delegation's limit; anything else stays pending. The approval then goes
// through MembershipService::approve, so the authorizer applies the same
// rules (revocations, the issuer's rate) as every receiver will, and a
// refusal there leaves the request pending too.
//
// Thread-safe: it only reads through thread-safe services.
class DelegateDecides final : public JoinDecider {
 public:
  DelegateDecides(DelegationService& delegations, const cap::SpaceDirectory& spaces,
                  Timestamp default_lifetime);

  Verdict on_request(const IncomingJoin& request) override;

 private:
  DelegationService& delegations_;
  const cap::SpaceDirectory& spaces_;
  const Timestamp default_lifetime_;
};

}  // namespace soma::membership
