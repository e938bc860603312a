#pragma once

#include <mutex>
#include <optional>
#include <string_view>

#include "cap/artifacts.h"
#include "cap/capability_store.h"
#include "cap/clock.h"
#include "cap/refusal.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"

namespace soma::cap {

// The outcome of one authorization question. Either a role (allowed) or a
// refusal saying precisely why not.
struct Decision {
  std::optional<Role> role;              // set exactly when allowed
  Timestamp valid_until = 0;             // when the granting capability stops; owner: max
  std::optional<ArtifactId> capability;  // the granting capability; none for the owner
  std::optional<Refusal> refusal;        // set exactly when refused

  bool allowed() const { return role.has_value(); }

  static Decision allow(Role role, Timestamp valid_until, std::optional<ArtifactId> capability);
  static Decision refuse(Refusal refusal);
};

// The one place that decides whether an authenticated peer is a member of a
// space, and with which role, for every surface (sync, blobs, join, API).
//
// Thread-safe: calls may come from any thread. present() and admit_issued()
// verify and record under one mutex, so two capabilities racing for the
// last slot of an issuer's rate cannot both be accepted. The store,
// directory and clock must outlive the authorizer and be thread-safe.
//
// Errors (core::Error) are only the store's or directory's failures; every
// "no" is a Decision carrying a Refusal.
class Authorizer {
 public:
  Authorizer(CapabilityStore& store, const SpaceDirectory& spaces, const Clock& clock);

  Authorizer(const Authorizer&) = delete;
  Authorizer& operator=(const Authorizer&) = delete;

  // On receipt: `peer`, authenticated by the channel, presents `capability`
  // for `space`. The capability is verified in full (verify_membership);
  // when it verifies it is recorded, so authorize() finds it later and it
  // counts toward its issuer's rate.
  core::Result<Decision> present(std::string_view space, const crypto::PeerId& peer,
                                 core::ByteView capability);

  // On issuance: a capability this device signed, checked exactly as its
  // receiver will check it (revocations and the issuer's rate included)
  // and recorded before it is handed out. Refused capabilities must not be
  // sent.
  core::Result<Decision> admit_issued(const Signed<MembershipCapability>& capability);

  // On a report by its issuer: `issuer`, authenticated by the channel,
  // hands over a membership capability it issued (a delegate telling the
  // owner). Refused unless `issuer` signed it; then verified as its
  // subject's receiver would (verify_membership with the subject as the
  // peer, revocations and the issuer's rate included) and recorded.
  core::Result<Decision> accept_reported(std::string_view space, const crypto::PeerId& issuer,
                                         core::ByteView capability);

  // On use: may `peer` act in `space`, and as what? The space's owner is
  // always "owner". Anyone else needs a recorded capability that still
  // verifies now (expiry and revocations since receipt are applied); of
  // several, the one with the highest role, then the latest end, wins.
  core::Result<Decision> authorize(std::string_view space, const crypto::PeerId& peer) const;

  // On receipt of a revocation: verified against the space's owner, then
  // stored, so it applies to every later decision.
  core::Result<Checked<Signed<Revocation>>> accept_revocation(std::string_view space,
                                                              core::ByteView revocation);

 private:
  core::Result<std::optional<SpaceRef>> space_ref(std::string_view space) const;
  core::Result<Decision> verify_and_record(const SpaceRef& space, const crypto::PeerId& peer,
                                           const Signed<MembershipCapability>& capability);

  CapabilityStore& store_;
  const SpaceDirectory& spaces_;
  const Clock& clock_;
  std::mutex record_mutex_;
};

}  // namespace soma::cap
