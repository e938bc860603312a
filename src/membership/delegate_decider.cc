#include "membership/delegate_decider.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace soma::membership {

DelegateDecides::DelegateDecides(DelegationService& delegations, const cap::SpaceDirectory& spaces,
                                 Timestamp default_lifetime)
    : delegations_(delegations), spaces_(spaces), default_lifetime_(default_lifetime) {}

Verdict DelegateDecides::on_request(const IncomingJoin& request) {
  Verdict pending;
  auto owner = spaces_.owner_of(request.space_id);
  if (!owner || !*owner) return pending;
  if (**owner == delegations_.local_peer()) return pending;

  auto usable = delegations_.usable_delegation(request.space_id, **owner);
  if (!usable) {
    spdlog::warn("cannot read the delegations of space={}: {}", request.space_id,
                 usable.error().message);
    return pending;
  }
  if (!*usable) return pending;
  const cap::IssuerCapability& d = (*usable)->body;
  if (!d.allows(request.role)) {
    spdlog::info(
        "request={} asks for {}, which the delegation for space={} does not allow; it "
        "stays pending",
        request.id, cap::to_string(request.role), request.space_id);
    return pending;
  }
  Verdict approve;
  approve.kind = Verdict::Kind::kApprove;
  approve.role = request.role;
  // A membership this delegate grants is honoured only while the delegation
  // lasts, so it never claims to last longer.
  approve.expires_at =
      std::min({request.received_at + default_lifetime_, d.max_member_expires_at, d.expires_at});
  return approve;
}

}  // namespace soma::membership
