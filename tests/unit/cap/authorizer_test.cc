#include "cap/authorizer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap_world.h"
#include "memory_capability_store.h"

namespace soma::cap {
namespace {

using testing::kDay;
using testing::kHour;
using testing::kMinute;
using testing::kT0;
using testing::ManualClock;
using testing::MemoryCapabilityStore;
using testing::MemorySpaceDirectory;
using testing::World;

void expect_allowed(const core::Result<Decision>& d, Role role) {
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(d->allowed()) << to_string(d->refusal->reason) << ": " << d->refusal->message;
  EXPECT_EQ(*d->role, role);
  EXPECT_FALSE(d->refusal.has_value());
}

void expect_refused(const core::Result<Decision>& d, Reason reason,
                    const std::string& needle = "") {
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_FALSE(d->allowed()) << "allowed as " << to_string(*d->role);
  ASSERT_TRUE(d->refusal.has_value());
  EXPECT_EQ(d->refusal->reason, reason)
      << "got " << to_string(d->refusal->reason) << ": " << d->refusal->message;
  EXPECT_NE(d->refusal->message.find(needle), std::string::npos)
      << "wanted \"" << needle << "\" in: " << d->refusal->message;
}

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() { spaces.add(w.space); }

  World w;
  MemoryCapabilityStore store;
  MemorySpaceDirectory spaces;
  ManualClock clock{kT0 + 2 * kMinute};
  Authorizer authorizer{store, spaces, clock};
};

TEST_F(AuthorizerTest, the_owner_is_always_owner) {
  auto d = authorizer.authorize(w.space.id, w.owner);
  expect_allowed(d, Role::kOwner);
  EXPECT_FALSE(d->capability.has_value());
}

TEST_F(AuthorizerTest, an_unknown_space_is_refused_with_its_reason) {
  expect_refused(authorizer.authorize(crypto::random_id(), w.alice), Reason::kUnknownSpace);
  auto cap = w.from_owner(w.alice);
  expect_refused(authorizer.present(crypto::random_id(), w.alice, encode_signed(cap)),
                 Reason::kUnknownSpace);
}

TEST_F(AuthorizerTest, a_peer_without_a_capability_is_refused) {
  expect_refused(authorizer.authorize(w.space.id, w.alice), Reason::kNoCapability,
                 w.alice.to_string() + " holds no capability");
}

TEST_F(AuthorizerTest, a_presented_capability_is_recorded_and_authorizes_later_use) {
  auto cap = w.from_owner(w.alice, Role::kEditor);
  auto presented = authorizer.present(w.space.id, w.alice, encode_signed(cap));
  expect_allowed(presented, Role::kEditor);
  EXPECT_EQ(*presented->capability, cap.body.id);
  EXPECT_EQ(store.capability_count(), 1u);

  auto later = authorizer.authorize(w.space.id, w.alice);
  expect_allowed(later, Role::kEditor);
  EXPECT_EQ(later->valid_until, kT0 + 30 * kDay);
  // Nobody else gains anything from it.
  expect_refused(authorizer.authorize(w.space.id, w.bob), Reason::kNoCapability);
}

TEST_F(AuthorizerTest, a_refused_capability_is_not_recorded) {
  auto cap = w.from_owner(w.alice);
  expect_refused(authorizer.present(w.space.id, w.bob, encode_signed(cap)),
                 Reason::kSubjectMismatch);
  expect_refused(authorizer.present(w.space.id, w.alice, core::Bytes{0x01, 0x02}),
                 Reason::kMalformed);
  EXPECT_EQ(store.capability_count(), 0u);
  expect_refused(authorizer.authorize(w.space.id, w.alice), Reason::kNoCapability);
}

TEST_F(AuthorizerTest, expiry_applies_on_use) {
  auto cap = w.from_owner(w.alice, Role::kEditor, kT0, kT0 + kHour);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(cap)), Role::kEditor);
  clock.set(kT0 + kHour + kClockSkewAllowance);
  expect_refused(authorizer.authorize(w.space.id, w.alice), Reason::kExpired);
}

TEST_F(AuthorizerTest, a_revocation_received_after_acceptance_applies_on_use) {
  auto cap = w.from_owner(w.alice, Role::kEditor);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(cap)), Role::kEditor);

  auto r = revoke_member(w.owner_key, w.space, w.alice, kT0 + 3 * kMinute);
  ASSERT_TRUE(r.ok());
  auto accepted = authorizer.accept_revocation(w.space.id, encode_signed(*r));
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  ASSERT_TRUE(accepted->ok()) << accepted->refusal().message;

  clock.set(kT0 + 4 * kMinute);
  expect_refused(authorizer.authorize(w.space.id, w.alice), Reason::kMemberRevoked);
}

TEST_F(AuthorizerTest, a_revocation_not_signed_by_the_owner_is_neither_stored_nor_applied) {
  auto cap = w.from_owner(w.alice, Role::kEditor);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(cap)), Role::kEditor);

  SpaceRef claimed{w.space.id, w.mallory};
  auto forged = revoke_member(w.mallory_key, claimed, w.alice, kT0 + kMinute);
  ASSERT_TRUE(forged.ok());
  auto accepted = authorizer.accept_revocation(w.space.id, encode_signed(*forged));
  ASSERT_TRUE(accepted.ok());
  ASSERT_FALSE(accepted->ok());
  EXPECT_EQ(accepted->refusal().reason, Reason::kWrongOwner);

  expect_allowed(authorizer.authorize(w.space.id, w.alice), Role::kEditor);
}

TEST_F(AuthorizerTest, the_highest_valid_role_wins_and_the_next_takes_over_when_it_goes) {
  auto viewer = w.from_owner(w.alice, Role::kViewer);
  auto editor = w.from_owner(w.alice, Role::kEditor);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(viewer)), Role::kViewer);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(editor)), Role::kEditor);
  auto d = authorizer.authorize(w.space.id, w.alice);
  expect_allowed(d, Role::kEditor);
  EXPECT_EQ(*d->capability, editor.body.id);

  auto r = revoke_capability(w.owner_key, w.space, editor.body.id, kT0 + 3 * kMinute);
  ASSERT_TRUE(authorizer.accept_revocation(w.space.id, encode_signed(*r))->ok());
  expect_allowed(authorizer.authorize(w.space.id, w.alice), Role::kViewer);
}

TEST_F(AuthorizerTest, when_nothing_verifies_the_newest_capabilitys_reason_is_given) {
  auto old_cap = w.from_owner(w.alice, Role::kViewer, kT0, kT0 + kHour);
  auto new_cap = w.from_owner(w.alice, Role::kEditor, kT0 + kMinute, kT0 + 2 * kHour);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(old_cap)), Role::kViewer);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(new_cap)), Role::kEditor);
  auto r = revoke_capability(w.owner_key, w.space, new_cap.body.id, kT0 + 3 * kMinute);
  ASSERT_TRUE(authorizer.accept_revocation(w.space.id, encode_signed(*r))->ok());
  clock.set(kT0 + 90 * kMinute);  // old one expired, new one revoked
  expect_refused(authorizer.authorize(w.space.id, w.alice), Reason::kCapabilityRevoked);
}

TEST_F(AuthorizerTest, enforces_the_issuer_rate_across_presentations) {
  auto d = w.delegation(/*rate=*/2);
  auto a = w.from_bot(w.alice, d, kT0 + kMinute);
  auto b = w.from_bot(w.bob, d, kT0 + 2 * kMinute);
  auto c = w.from_bot(w.mallory, d, kT0 + 3 * kMinute);
  clock.set(kT0 + 4 * kMinute);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(a)), Role::kMember);
  expect_allowed(authorizer.present(w.space.id, w.bob, encode_signed(b)), Role::kMember);
  expect_refused(authorizer.present(w.space.id, w.mallory, encode_signed(c)), Reason::kRateLimited);
  // Presenting an accepted capability again does not use up the rate.
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(a)), Role::kMember);
  expect_allowed(authorizer.authorize(w.space.id, w.bob), Role::kMember);
  EXPECT_EQ(store.capability_count(), 2u);
}

TEST_F(AuthorizerTest, checks_and_records_what_this_device_issues) {
  auto d = w.delegation(/*rate=*/1);
  auto a = w.from_bot(w.alice, d, kT0 + kMinute);
  auto b = w.from_bot(w.bob, d, kT0 + 2 * kMinute);
  expect_allowed(authorizer.admit_issued(a), Role::kMember);
  expect_refused(authorizer.admit_issued(b), Reason::kRateLimited);
  expect_allowed(authorizer.authorize(w.space.id, w.alice), Role::kMember);
  expect_refused(authorizer.authorize(w.space.id, w.bob), Reason::kNoCapability);

  auto r =
      revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kKeepIssued, 0, kT0 + 3 * kMinute);
  ASSERT_TRUE(authorizer.accept_revocation(w.space.id, encode_signed(*r))->ok());
  clock.set(kT0 + 2 * kHour);
  auto late = w.from_bot(w.bob, d, kT0 + 2 * kHour);
  expect_refused(authorizer.admit_issued(late), Reason::kIssuerRevoked);
  expect_allowed(authorizer.authorize(w.space.id, w.alice), Role::kMember);
}

TEST_F(AuthorizerTest, racing_presentations_never_exceed_the_issuer_rate) {
  constexpr int kPeers = 8;
  constexpr std::uint32_t kRate = 3;
  auto d = w.delegation(kRate);
  std::vector<crypto::Ed25519PrivateKey> keys;
  std::vector<Signed<MembershipCapability>> caps;
  for (int i = 0; i < kPeers; ++i) {
    keys.push_back(testing::fixed_key(static_cast<std::uint8_t>(0x40 + i)));
    caps.push_back(w.from_bot(testing::peer_of(keys.back()), d, kT0 + kMinute + i));
  }
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kPeers; ++i) {
    threads.emplace_back([&, i] {
      auto r = authorizer.present(w.space.id, caps[i].body.subject, encode_signed(caps[i]));
      if (r.ok() && r->allowed()) ++allowed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), static_cast<int>(kRate));
  EXPECT_EQ(store.capability_count(), kRate);
}

TEST_F(AuthorizerTest, storage_failures_are_errors_not_refusals) {
  auto cap = w.from_owner(w.alice);
  expect_allowed(authorizer.present(w.space.id, w.alice, encode_signed(cap)), Role::kEditor);
  store.fail_reads_with(core::Error::unavailable("disk on fire"));
  auto d = authorizer.authorize(w.space.id, w.alice);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, core::ErrorCode::kUnavailable);
  // The owner needs no storage read beyond the space record.
  expect_allowed(authorizer.authorize(w.space.id, w.owner), Role::kOwner);
}

TEST_F(AuthorizerTest, refusals_map_to_error_codes_a_surface_can_report) {
  Refusal r{Reason::kRateLimited, "slow down"};
  EXPECT_EQ(r.to_error().code, core::ErrorCode::kResourceExhausted);
  EXPECT_EQ(r.to_error().message, "slow down");
  EXPECT_EQ(error_code(Reason::kMalformed), core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code(Reason::kUnknownSpace), core::ErrorCode::kNotFound);
  EXPECT_EQ(error_code(Reason::kMemberRevoked), core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(to_string(Reason::kIssuedOutsideDelegation), "issued_outside_delegation");
}

}  // namespace
}  // namespace soma::cap
