// A delegated issuer stepping outside what the owner allowed, delegations
// and approvals used after they lapsed or were revoked, and revocations
// forged by someone other than the owner. Each is refused by the one
// authorizer with its reason and a message that names the problem, and
// nothing it knows changes: no capability is recorded, no revocation stored.
#include <gtest/gtest.h>

#include <string>

#include "cap/authorizer.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap/verify.h"
#include "unit/cap/cap_world.h"
#include "unit/cap/memory_capability_store.h"

namespace soma::cap {
namespace {

using testing::kDay;
using testing::kMinute;
using testing::kT0;
using testing::ManualClock;
using testing::MemoryCapabilityStore;
using testing::MemorySpaceDirectory;
using testing::signed_bytes;
using testing::World;

class DelegationAttacks : public ::testing::Test {
 protected:
  DelegationAttacks() { spaces.add(w.space); }

  std::size_t revocation_count() const {
    auto known = store.revocations(w.space.id);
    EXPECT_TRUE(known.ok()) << known.error().message;
    return known.ok() ? known->size() : 0;
  }

  // Presents `bytes` as `peer` and expects the refusal `reason` with
  // `needle` in its message, and that the store is as it was.
  void expect_refused(const core::Bytes& bytes, const crypto::PeerId& peer, Reason reason,
                      const std::string& needle) {
    const auto capabilities_before = store.capability_count();
    const auto revocations_before = revocation_count();
    auto d = authorizer.present(w.space.id, peer, bytes);
    ASSERT_TRUE(d.ok()) << d.error().message;
    ASSERT_FALSE(d->allowed()) << "accepted as " << to_string(*d->role);
    ASSERT_TRUE(d->refusal.has_value());
    EXPECT_EQ(d->refusal->reason, reason)
        << "got " << to_string(d->refusal->reason) << ": " << d->refusal->message;
    EXPECT_NE(d->refusal->message.find(needle), std::string::npos)
        << "wanted \"" << needle << "\" in: " << d->refusal->message;
    EXPECT_EQ(store.capability_count(), capabilities_before);
    EXPECT_EQ(revocation_count(), revocations_before);
  }

  void expect_no_member(const crypto::PeerId& peer, Reason reason) {
    auto d = authorizer.authorize(w.space.id, peer);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_FALSE(d->allowed());
    ASSERT_TRUE(d->refusal.has_value());
    EXPECT_EQ(d->refusal->reason, reason)
        << "got " << to_string(d->refusal->reason) << ": " << d->refusal->message;
  }

  // A membership the bot signs itself from `honest`'s fields after `edit`,
  // bypassing the checks issue_membership makes: what a buggy or hostile
  // delegate could send.
  template <typename Edit>
  core::Bytes forged_by_bot(Signed<MembershipCapability> honest, Edit edit) {
    MembershipCapability body = std::move(honest.body);
    body.id = new_artifact_id();
    edit(body);
    auto forged = sign(std::move(body), w.bot_key);
    EXPECT_TRUE(forged.ok()) << forged.error().message;
    return forged.ok() ? encode_signed(*forged) : core::Bytes{};
  }

  World w;
  MemoryCapabilityStore store;
  MemorySpaceDirectory spaces;
  ManualClock clock{kT0 + 2 * kMinute};
  Authorizer authorizer{store, spaces, clock};
};

TEST_F(DelegationAttacks, a_delegate_granting_a_role_outside_its_allowed_roles_is_refused) {
  const auto d = w.delegation();  // member and viewer only
  const auto bytes = forged_by_bot(w.from_bot(w.alice, d),
                                   [](MembershipCapability& c) { c.role = Role::kEditor; });
  expect_refused(bytes, w.alice, Reason::kDelegationRoleNotAllowed, "editor");
  expect_no_member(w.alice, Reason::kNoCapability);
}

TEST_F(DelegationAttacks, issuing_a_role_outside_the_delegation_is_refused_before_signing) {
  const auto d = w.delegation();
  auto c =
      issue_membership(w.bot_key, w.space, {w.alice, Role::kEditor, kT0 + kMinute, kT0 + kDay}, d);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, core::ErrorCode::kPermissionDenied);
}

TEST_F(DelegationAttacks, a_delegate_granting_an_expiry_past_its_limit_is_refused) {
  const auto d = w.delegation();  // no membership past kT0 + 7 days
  const auto bytes = forged_by_bot(w.from_bot(w.alice, d),
                                   [](MembershipCapability& c) { c.expires_at = kT0 + 8 * kDay; });
  expect_refused(bytes, w.alice, Reason::kDelegationExpiryExceeded, "expir");
  expect_no_member(w.alice, Reason::kNoCapability);
}

TEST_F(DelegationAttacks, a_capability_issued_under_a_delegation_is_refused_after_it_expires) {
  const auto d = w.delegation();  // valid for one day from kT0
  const auto cap = w.from_bot(w.alice, d);
  clock.set(kT0 + kDay + kClockSkewAllowance + kMinute);
  expect_refused(encode_signed(cap), w.alice, Reason::kDelegationExpired, "delegation");
  expect_no_member(w.alice, Reason::kNoCapability);

  // Nor may the delegate use it to issue any more.
  auto still = verify_issuer_capability(encode_signed(d), w.space, clock.now(), store);
  ASSERT_TRUE(still.ok()) << still.error().message;
  ASSERT_FALSE(still->ok());
  EXPECT_EQ(still->refusal().reason, Reason::kDelegationExpired) << still->refusal().message;
}

TEST_F(DelegationAttacks, a_capability_issued_under_a_revoked_delegation_is_refused) {
  const auto d = w.delegation();
  auto revocation = revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kRevokeAll, 0, kT0);
  ASSERT_TRUE(revocation.ok()) << revocation.error().message;
  auto stored = authorizer.accept_revocation(w.space.id, encode_signed(*revocation));
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  ASSERT_TRUE(stored->ok()) << stored->refusal().message;

  const auto cap = w.from_bot(w.alice, d);
  expect_refused(encode_signed(cap), w.alice, Reason::kIssuerRevoked, w.bot.to_string());
  expect_no_member(w.alice, Reason::kNoCapability);

  auto still = verify_issuer_capability(encode_signed(d), w.space, clock.now(), store);
  ASSERT_TRUE(still.ok()) << still.error().message;
  ASSERT_FALSE(still->ok());
  EXPECT_EQ(still->refusal().reason, Reason::kIssuerRevoked) << still->refusal().message;
}

TEST_F(DelegationAttacks, a_replayed_old_approval_is_refused_after_the_member_is_revoked) {
  const auto d = w.delegation();
  auto request = request_join(w.alice_key, w.space.id, Role::kMember, kT0);
  ASSERT_TRUE(request.ok()) << request.error().message;
  const auto cap = w.from_bot(w.alice, d);
  auto approval = approve_join(w.bot_key, request->body, cap, kT0 + kMinute);
  ASSERT_TRUE(approval.ok()) << approval.error().message;

  auto first = authorizer.present(w.space.id, w.alice, encode_signed(cap));
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->allowed()) << first->refusal->message;

  auto revocation = revoke_member(w.owner_key, w.space, w.alice, kT0 + 2 * kMinute);
  ASSERT_TRUE(revocation.ok()) << revocation.error().message;
  auto stored = authorizer.accept_revocation(w.space.id, encode_signed(*revocation));
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  ASSERT_TRUE(stored->ok()) << stored->refusal().message;
  clock.set(kT0 + 3 * kMinute);

  // The old decision no longer verifies, and its capability grants nothing.
  auto replayed =
      verify_join_decision(encode_signed(*approval), request->body, w.space, clock.now(), store);
  ASSERT_TRUE(replayed.ok()) << replayed.error().message;
  ASSERT_FALSE(replayed->ok());
  EXPECT_EQ(replayed->refusal().reason, Reason::kMemberRevoked) << replayed->refusal().message;

  expect_refused(encode_signed(cap), w.alice, Reason::kMemberRevoked, w.alice.to_string());
  expect_no_member(w.alice, Reason::kMemberRevoked);
}

TEST_F(DelegationAttacks, a_revocation_signed_by_someone_other_than_the_owner_is_refused) {
  const auto cap = w.from_owner(w.alice);
  auto first = authorizer.present(w.space.id, w.alice, encode_signed(cap));
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(first->allowed());

  // The owner's fields signed with another key.
  auto honest = revoke_member(w.owner_key, w.space, w.alice, kT0 + kMinute);
  ASSERT_TRUE(honest.ok()) << honest.error().message;
  auto forged = authorizer.accept_revocation(w.space.id,
                                             signed_bytes(honest->envelope.payload, w.mallory_key));
  ASSERT_TRUE(forged.ok()) << forged.error().message;
  ASSERT_FALSE(forged->ok());
  EXPECT_EQ(forged->refusal().reason, Reason::kBadSignature) << forged->refusal().message;

  // A stranger naming itself owner.
  Revocation body = honest->body;
  body.id = new_artifact_id();
  body.owner = w.mallory;
  auto self_signed = sign(std::move(body), w.mallory_key);
  ASSERT_TRUE(self_signed.ok()) << self_signed.error().message;
  auto impostor = authorizer.accept_revocation(w.space.id, encode_signed(*self_signed));
  ASSERT_TRUE(impostor.ok()) << impostor.error().message;
  ASSERT_FALSE(impostor->ok());
  EXPECT_EQ(impostor->refusal().reason, Reason::kWrongOwner) << impostor->refusal().message;

  EXPECT_EQ(revocation_count(), 0u);
  auto still = authorizer.authorize(w.space.id, w.alice);
  ASSERT_TRUE(still.ok()) << still.error().message;
  ASSERT_TRUE(still->allowed());
  EXPECT_EQ(*still->role, Role::kEditor);
}

}  // namespace
}  // namespace soma::cap
