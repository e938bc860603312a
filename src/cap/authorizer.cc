#include "cap/authorizer.h"

#include <fmt/format.h>

#include <limits>
#include <utility>

#include "cap/signing.h"
#include "cap/verify.h"

namespace soma::cap {

Decision Decision::allow(Role role, Timestamp valid_until, std::optional<ArtifactId> capability) {
  Decision d;
  d.role = role;
  d.valid_until = valid_until;
  d.capability = capability;
  return d;
}

Decision Decision::refuse(Refusal refusal) {
  Decision d;
  d.refusal = std::move(refusal);
  return d;
}

Authorizer::Authorizer(CapabilityStore& store, const SpaceDirectory& spaces, const Clock& clock)
    : store_(store), spaces_(spaces), clock_(clock) {}

core::Result<std::optional<SpaceRef>> Authorizer::space_ref(std::string_view space) const {
  auto owner = spaces_.owner_of(space);
  if (!owner.ok()) return owner.take_error();
  if (!owner->has_value()) return std::optional<SpaceRef>();
  return std::optional<SpaceRef>(SpaceRef{std::string(space), std::move(**owner)});
}

namespace {

Decision unknown_space(std::string_view space) {
  return Decision::refuse(Refusal{Reason::kUnknownSpace,
                                  fmt::format("no space {} is known here", space.substr(0, 64))});
}

}  // namespace

core::Result<Decision> Authorizer::verify_and_record(
    const SpaceRef& space, const crypto::PeerId& peer,
    const Signed<MembershipCapability>& capability) {
  std::lock_guard lock(record_mutex_);
  auto verified = verify_membership(capability, space, peer, clock_.now(), store_);
  if (!verified.ok()) return verified.take_error();
  if (!verified->ok()) return Decision::refuse(verified->take_refusal());

  const MembershipCapability& c = capability.body;
  AcceptedCapability record;
  record.id = c.id;
  record.space = c.space;
  record.subject = c.subject;
  record.issuer = c.issuer;
  record.role = c.role;
  record.issued_at = c.issued_at;
  record.expires_at = c.expires_at;
  record.delegated = c.delegation.has_value();
  record.bytes = encode_signed(capability);
  SOMA_TRY(store_.record_capability(record));
  return Decision::allow(c.role, (*verified)->valid_until, c.id);
}

core::Result<Decision> Authorizer::present(std::string_view space, const crypto::PeerId& peer,
                                           core::ByteView capability) {
  auto ref = space_ref(space);
  if (!ref.ok()) return ref.take_error();
  if (!ref->has_value()) return unknown_space(space);
  auto decoded = decode_signed<MembershipCapability>(capability);
  if (!decoded.ok()) return Decision::refuse(decoded.take_refusal());
  return verify_and_record(**ref, peer, *decoded);
}

core::Result<Decision> Authorizer::admit_issued(const Signed<MembershipCapability>& capability) {
  auto ref = space_ref(capability.body.space);
  if (!ref.ok()) return ref.take_error();
  if (!ref->has_value()) return unknown_space(capability.body.space);
  // The receiver will authenticate as the subject; check it the same way.
  return verify_and_record(**ref, capability.body.subject, capability);
}

core::Result<Decision> Authorizer::accept_reported(std::string_view space,
                                                   const crypto::PeerId& issuer,
                                                   core::ByteView capability) {
  auto ref = space_ref(space);
  if (!ref.ok()) return ref.take_error();
  if (!ref->has_value()) return unknown_space(space);
  auto decoded = decode_signed<MembershipCapability>(capability);
  if (!decoded.ok()) return Decision::refuse(decoded.take_refusal());
  if (decoded->body.issuer != issuer) {
    return Decision::refuse(
        Refusal{Reason::kSubjectMismatch,
                fmt::format("the capability was issued by {}, but the peer reporting it is {}",
                            decoded->body.issuer.to_string(), issuer.to_string())});
  }
  return verify_and_record(**ref, decoded->body.subject, *decoded);
}

core::Result<Decision> Authorizer::authorize(std::string_view space,
                                             const crypto::PeerId& peer) const {
  auto ref = space_ref(space);
  if (!ref.ok()) return ref.take_error();
  if (!ref->has_value()) return unknown_space(space);
  if (peer == (*ref)->owner) {
    return Decision::allow(Role::kOwner, std::numeric_limits<Timestamp>::max(), std::nullopt);
  }

  auto held = store_.capabilities_for(space, peer);
  if (!held.ok()) return held.take_error();
  if (held->empty()) {
    return Decision::refuse(
        Refusal{Reason::kNoCapability,
                fmt::format("{} holds no capability for space {}", peer.to_string(), (*ref)->id)});
  }

  const Timestamp now = clock_.now();
  std::optional<Decision> best;
  // When nothing verifies, the newest capability's refusal is the one that
  // best explains why (it is the one the peer most likely meant to use).
  std::optional<Refusal> newest_refusal;
  Timestamp newest_issued_at = std::numeric_limits<Timestamp>::min();
  for (const AcceptedCapability& cap : *held) {
    auto verified = verify_membership(cap.bytes, **ref, peer, now, store_);
    if (!verified.ok()) return verified.take_error();
    if (!verified->ok()) {
      if (cap.issued_at >= newest_issued_at) {
        newest_issued_at = cap.issued_at;
        newest_refusal = verified->take_refusal();
      }
      continue;
    }
    const VerifiedMembership& m = **verified;
    const bool better =
        !best || role_rank(m.role) > role_rank(*best->role) ||
        (role_rank(m.role) == role_rank(*best->role) && m.valid_until > best->valid_until);
    if (better) best = Decision::allow(m.role, m.valid_until, m.capability.body.id);
  }
  if (best) return *best;
  return Decision::refuse(std::move(*newest_refusal));
}

core::Result<Checked<Signed<Revocation>>> Authorizer::accept_revocation(std::string_view space,
                                                                        core::ByteView revocation) {
  using Out = Checked<Signed<Revocation>>;
  auto ref = space_ref(space);
  if (!ref.ok()) return ref.take_error();
  if (!ref->has_value()) return Out(*unknown_space(space).refusal);
  auto verified = verify_revocation(revocation, **ref);
  if (!verified.ok()) return verified;
  SOMA_TRY(store_.record_revocation(*verified));
  return verified;
}

}  // namespace soma::cap
