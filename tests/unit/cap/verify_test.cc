#include "cap/verify.h"

#include <gtest/gtest.h>

#include <string>

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
using testing::MemoryCapabilityStore;
using testing::signed_bytes;
using testing::World;

template <typename T>
void expect_refused(const core::Result<Checked<T>>& result, Reason reason,
                    const std::string& needle = "") {
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_FALSE(result->ok()) << "accepted; expected " << to_string(reason);
  EXPECT_EQ(result->refusal().reason, reason)
      << "got " << to_string(result->refusal().reason) << ": " << result->refusal().message;
  EXPECT_NE(result->refusal().message.find(needle), std::string::npos)
      << "wanted \"" << needle << "\" in: " << result->refusal().message;
}

template <typename T>
void expect_refused(const Checked<T>& result, Reason reason, const std::string& needle = "") {
  ASSERT_FALSE(result.ok()) << "accepted; expected " << to_string(reason);
  EXPECT_EQ(result.refusal().reason, reason)
      << "got " << to_string(result.refusal().reason) << ": " << result.refusal().message;
  EXPECT_NE(result.refusal().message.find(needle), std::string::npos)
      << "wanted \"" << needle << "\" in: " << result.refusal().message;
}

template <typename T>
void expect_accepted(const core::Result<Checked<T>>& result) {
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(result->ok()) << to_string(result->refusal().reason) << ": "
                            << result->refusal().message;
}

class Verify : public ::testing::Test {
 protected:
  core::Result<Checked<VerifiedMembership>> verify(const core::Bytes& carried,
                                                   const crypto::PeerId& peer,
                                                   Timestamp now = kT0 + 2 * kMinute) {
    return verify_membership(carried, w.space, peer, now, store);
  }
  core::Result<Checked<VerifiedMembership>> verify(const Signed<MembershipCapability>& cap,
                                                   const crypto::PeerId& peer,
                                                   Timestamp now = kT0 + 2 * kMinute) {
    return verify(encode_signed(cap), peer, now);
  }

  void store_revocation(const core::Result<Signed<Revocation>>& r) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto verified = verify_revocation(encode_signed(*r), w.space);
    ASSERT_TRUE(verified.ok()) << verified.refusal().message;
    ASSERT_TRUE(store.record_revocation(*verified).ok());
  }

  // Records a delegated capability as already accepted, for rate tests.
  void record_accepted(const Signed<MembershipCapability>& cap) {
    AcceptedCapability a;
    a.id = cap.body.id;
    a.space = cap.body.space;
    a.subject = cap.body.subject;
    a.issuer = cap.body.issuer;
    a.role = cap.body.role;
    a.issued_at = cap.body.issued_at;
    a.expires_at = cap.body.expires_at;
    a.delegated = cap.body.delegation.has_value();
    a.bytes = encode_signed(cap);
    ASSERT_TRUE(store.record_capability(a).ok());
  }

  // Signs `c` with `key` through sign(), which checks only that the key is
  // the issuer's: how an issuer that ignores its delegation's limits would.
  Signed<MembershipCapability> signed_by(MembershipCapability c,
                                         const crypto::Ed25519PrivateKey& key) {
    c.id = new_artifact_id();
    auto s = sign(std::move(c), key);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return std::move(*s);
  }

  World w;
  MemoryCapabilityStore store;
};

// --- accepted cases ---------------------------------------------------------

TEST_F(Verify, accepts_an_owner_issued_capability_for_its_subject) {
  auto cap = w.from_owner(w.alice, Role::kEditor);
  auto r = verify(cap, w.alice);
  expect_accepted(r);
  EXPECT_EQ((*r)->role, Role::kEditor);
  EXPECT_EQ((*r)->valid_until, kT0 + 30 * kDay);
  EXPECT_FALSE((*r)->delegated());
}

TEST_F(Verify, accepts_a_delegated_capability_and_ends_it_with_the_delegation) {
  auto d = w.delegation();
  auto cap = w.from_bot(w.alice, d);
  auto r = verify(cap, w.alice);
  expect_accepted(r);
  EXPECT_EQ((*r)->role, Role::kMember);
  EXPECT_TRUE((*r)->delegated());
  EXPECT_EQ((*r)->valid_until, kT0 + kDay);  // the delegation ends before the capability
}

// --- decoding ----------------------------------------------------------------

TEST_F(Verify, refuses_trailing_bytes) {
  core::Bytes carried = encode_signed(w.from_owner(w.alice));
  carried.push_back(0x00);
  expect_refused(verify(carried, w.alice), Reason::kMalformed, "trailing bytes");
}

TEST_F(Verify, refuses_truncated_bytes) {
  core::Bytes carried = encode_signed(w.from_owner(w.alice));
  carried.pop_back();
  expect_refused(verify(carried, w.alice), Reason::kMalformed, "truncated");
  carried.resize(1);
  expect_refused(verify(carried, w.alice), Reason::kMalformed, "exceeds");
}

TEST_F(Verify, refuses_an_artifact_over_the_size_limit_before_decoding_it) {
  core::Bytes carried = encode_signed(w.from_owner(w.alice));
  carried.resize(kMaxArtifactSize + 1, 0x00);
  expect_refused(verify(carried, w.alice), Reason::kTooLarge, "4096");
}

class NonDeterministic : public Verify {
 protected:
  // `payload` signed by the owner, so only its encoding is wrong.
  void expect_not_deterministic(const core::Bytes& edited, const std::string& needle) {
    expect_refused(verify(signed_bytes(edited, w.owner_key), w.alice), Reason::kNotDeterministic,
                   needle);
  }
  core::Bytes payload = w.from_owner(w.alice).envelope.payload;
};

TEST_F(NonDeterministic, refuses_a_non_shortest_integer_even_when_signed) {
  ASSERT_EQ(payload[1], 0x00);  // key 0 (type) …
  ASSERT_EQ(payload[2], 0x01);  // … is 1
  payload.insert(payload.begin() + 2, 0x18);
  expect_not_deterministic(payload, "non-shortest encoding at byte 2");
}

TEST_F(NonDeterministic, refuses_unsorted_map_keys_even_when_signed) {
  std::swap(payload[1], payload[3]);  // 00 01 01 01 -> 01 01 00 01
  expect_not_deterministic(payload, "unsorted map keys at byte 3");
}

TEST_F(NonDeterministic, refuses_an_indefinite_length_map_even_when_signed) {
  ASSERT_EQ(payload[0], 0xaa);  // a map of 10 entries
  payload[0] = 0xbf;
  payload.push_back(0xff);
  expect_not_deterministic(payload, "indefinite length at byte 0");
}

TEST_F(NonDeterministic, refuses_a_non_deterministic_embedded_delegation) {
  auto d = w.delegation();
  core::Bytes dp = d.envelope.payload;
  dp.insert(dp.begin() + 2, 0x18);  // type 2 written as 18 02
  Envelope bad{dp, w.owner_key.sign(dp)};
  // sign() re-checks by decoding, so the forgery is assembled by hand.
  cbor::Value::Map entries;
  auto good = cbor::decode(w.from_bot(w.alice, d).envelope.payload);
  for (const auto& [k, v] : good->as_map()) {
    entries.emplace_back(k, k.as_unsigned() == 10 ? envelope_value(bad) : v);
  }
  core::Bytes p = *cbor::encode(cbor::Value::map(entries));
  expect_refused(verify(signed_bytes(p, w.bot_key), w.alice), Reason::kNotDeterministic,
                 "key 10 (delegation): issuer capability: CBOR non-shortest encoding");
}

// --- signature, space, owner, subject ----------------------------------------

TEST_F(Verify, refuses_a_capability_signed_by_a_stranger_in_the_owners_name) {
  core::Bytes forged = signed_bytes(w.from_owner(w.mallory).envelope.payload, w.mallory_key);
  expect_refused(verify(forged, w.mallory), Reason::kBadSignature,
                 "not " + w.owner.to_string() + "'s signature");
}

TEST_F(Verify, refuses_a_capability_a_stranger_issues_in_its_own_name) {
  MembershipCapability c = w.from_owner(w.alice).body;
  c.issuer = w.mallory;
  expect_refused(verify(signed_by(c, w.mallory_key), w.alice), Reason::kIssuerNotAuthorized,
                 "carries no delegation");
}

TEST_F(Verify, refuses_a_stranger_claiming_to_own_the_space) {
  MembershipCapability c = w.from_owner(w.alice).body;
  c.owner = w.mallory;
  c.issuer = w.mallory;
  expect_refused(verify(signed_by(c, w.mallory_key), w.alice), Reason::kWrongOwner,
                 "names " + w.mallory.to_string() + " as owner");
}

TEST_F(Verify, refuses_a_capability_for_another_space) {
  SpaceRef other{crypto::random_id(), w.owner};
  auto cap = issue_membership(w.owner_key, other, {w.alice, Role::kEditor, kT0, kT0 + kDay});
  ASSERT_TRUE(cap.ok());
  expect_refused(verify(*cap, w.alice), Reason::kWrongSpace, "is for space " + other.id);
}

TEST_F(Verify, refuses_a_capability_presented_by_someone_other_than_its_subject) {
  auto cap = w.from_owner(w.alice);
  expect_refused(verify(cap, w.bob), Reason::kSubjectMismatch,
                 "the peer on this connection is " + w.bob.to_string());
}

TEST_F(Verify, refuses_the_owner_role_for_anyone_but_the_owner) {
  MembershipCapability c = w.from_owner(w.alice).body;
  c.role = Role::kOwner;
  expect_refused(verify(signed_by(c, w.owner_key), w.alice), Reason::kRoleNotGrantable);
  auto refused = issue_membership(w.owner_key, w.space, {w.alice, Role::kOwner, kT0, kT0 + kDay});
  EXPECT_FALSE(refused.ok());
  // The owner may carry an owner capability for itself.
  expect_accepted(verify(w.from_owner(w.owner, Role::kOwner), w.owner));
}

// --- time --------------------------------------------------------------------

TEST_F(Verify, allows_expiry_up_to_the_clock_skew_allowance_and_not_after) {
  auto cap = w.from_owner(w.alice, Role::kEditor, kT0, kT0 + kHour);
  expect_accepted(verify(cap, w.alice, kT0 + kHour + kClockSkewAllowance - 1));
  expect_refused(verify(cap, w.alice, kT0 + kHour + kClockSkewAllowance), Reason::kExpired,
                 "expired at");
}

TEST_F(Verify, refuses_a_capability_issued_further_in_the_future_than_the_skew) {
  const Timestamp now = kT0;
  auto soon = w.from_owner(w.alice, Role::kEditor, now + kClockSkewAllowance, now + kDay);
  expect_accepted(verify(soon, w.alice, now));
  auto later = w.from_owner(w.alice, Role::kEditor, now + kClockSkewAllowance + 1, now + kDay);
  expect_refused(verify(later, w.alice, now), Reason::kNotYetValid);
}

TEST_F(Verify, a_capability_whose_times_overflow_with_the_skew_is_handled) {
  auto cap = w.from_owner(w.alice, Role::kEditor, kT0, std::numeric_limits<Timestamp>::max());
  expect_accepted(verify(cap, w.alice, kT0));
}

// --- delegation --------------------------------------------------------------

TEST_F(Verify, refuses_a_delegation_not_signed_by_the_owner) {
  auto d = w.delegation();
  Signed<IssuerCapability> forged{d.body,
                                  {d.envelope.payload, w.mallory_key.sign(d.envelope.payload)}};
  MembershipCapability c = w.from_bot(w.alice, d).body;
  c.delegation = forged;
  expect_refused(verify(signed_by(c, w.bot_key), w.alice), Reason::kDelegationInvalid,
                 "delegation: issuer capability: the signature is not");
}

TEST_F(Verify, refuses_a_delegation_made_out_to_another_peer) {
  DelegationGrant g{w.bob, {Role::kMember}, kT0, kT0 + kDay, kT0 + 7 * kDay, 10};
  auto for_bob = issue_delegation(w.owner_key, w.space, g);
  ASSERT_TRUE(for_bob.ok());
  MembershipCapability c = w.from_bot(w.alice, w.delegation()).body;
  c.delegation = *for_bob;
  expect_refused(verify(signed_by(c, w.bot_key), w.alice), Reason::kDelegationInvalid,
                 "the delegation is for " + w.bob.to_string());
}

TEST_F(Verify, refuses_a_delegation_dated_further_ahead_than_the_skew) {
  auto d = w.delegation(10, kT0 + 8 * kMinute, kT0 + kDay);
  auto cap = w.from_bot(w.alice, d, kT0 + 4 * kMinute);
  expect_refused(verify(cap, w.alice, kT0), Reason::kDelegationInvalid, "not valid yet");
  expect_accepted(verify(cap, w.alice, kT0 + 3 * kMinute));
}

TEST_F(Verify, refuses_a_delegated_capability_once_the_delegation_expired) {
  auto d = w.delegation(10, kT0, kT0 + kHour);
  auto cap = w.from_bot(w.alice, d, kT0 + kMinute, Role::kMember, kT0 + 2 * kDay);
  expect_accepted(verify(cap, w.alice, kT0 + kHour));
  expect_refused(verify(cap, w.alice, kT0 + kHour + kClockSkewAllowance),
                 Reason::kDelegationExpired);
}

TEST_F(Verify, refuses_a_capability_issued_after_its_delegation_expired) {
  auto d = w.delegation(10, kT0, kT0 + kHour);
  MembershipCapability c = w.from_bot(w.alice, d).body;
  c.issued_at = kT0 + kHour + kMinute;  // after the delegation, but within the skew of now
  expect_refused(verify(signed_by(c, w.bot_key), w.alice, kT0 + kHour + 2 * kMinute),
                 Reason::kIssuedOutsideDelegation, "outside its delegation's validity");
  EXPECT_FALSE(issue_membership(w.bot_key, w.space,
                                {w.alice, Role::kMember, kT0 + kHour + kMinute, kT0 + kDay}, d)
                   .ok());
}

TEST_F(Verify, refuses_a_capability_backdated_before_its_delegation) {
  auto d = w.delegation(10, kT0, kT0 + kDay);
  MembershipCapability c = w.from_bot(w.alice, d).body;
  c.issued_at = kT0 - kClockSkewAllowance - 1;
  expect_refused(verify(signed_by(c, w.bot_key), w.alice), Reason::kIssuedOutsideDelegation);
}

TEST_F(Verify, refuses_a_role_the_delegation_does_not_allow) {
  auto d = w.delegation();
  MembershipCapability c = w.from_bot(w.alice, d).body;
  c.role = Role::kEditor;
  expect_refused(verify(signed_by(c, w.bot_key), w.alice), Reason::kDelegationRoleNotAllowed,
                 "grant the editor role");
  auto refused = issue_membership(w.bot_key, w.space, {w.alice, Role::kEditor, kT0, kT0 + kDay}, d);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kPermissionDenied);
}

TEST_F(Verify, refuses_a_membership_lasting_past_the_delegations_limit) {
  auto d = w.delegation();
  MembershipCapability c = w.from_bot(w.alice, d).body;
  c.expires_at = d.body.max_member_expires_at + 1;
  expect_refused(verify(signed_by(c, w.bot_key), w.alice), Reason::kDelegationExpiryExceeded);
}

TEST_F(Verify, refuses_a_capability_whose_delegation_was_revoked) {
  auto d = w.delegation();
  auto cap = w.from_bot(w.alice, d);
  store_revocation(revoke_capability(w.owner_key, w.space, d.body.id, kT0 + 2 * kMinute));
  expect_refused(verify(cap, w.alice, kT0 + 3 * kMinute), Reason::kDelegationRevoked);
}

// --- revocations -------------------------------------------------------------

TEST_F(Verify, refuses_a_revoked_member_until_the_owner_readmits_them) {
  auto d = w.delegation();
  auto old_cap = w.from_owner(w.alice, Role::kEditor, kT0);
  store_revocation(revoke_member(w.owner_key, w.space, w.alice, kT0 + kMinute));
  expect_refused(verify(old_cap, w.alice), Reason::kMemberRevoked,
                 w.alice.to_string() + " was revoked");
  // A delegate cannot re-admit a revoked member, however late it issues.
  auto from_bot = w.from_bot(w.alice, d, kT0 + 10 * kMinute);
  expect_refused(verify(from_bot, w.alice, kT0 + 11 * kMinute), Reason::kMemberRevoked);
  // The owner can, with a newer capability.
  auto readmitted = w.from_owner(w.alice, Role::kViewer, kT0 + 10 * kMinute);
  expect_accepted(verify(readmitted, w.alice, kT0 + 11 * kMinute));
}

TEST_F(Verify, refuses_a_capability_revoked_by_id_and_only_that_one) {
  auto revoked = w.from_owner(w.alice, Role::kEditor);
  auto other = w.from_owner(w.alice, Role::kViewer);
  store_revocation(revoke_capability(w.owner_key, w.space, revoked.body.id, kT0 + kMinute));
  expect_refused(verify(revoked, w.alice), Reason::kCapabilityRevoked, to_hex(revoked.body.id));
  expect_accepted(verify(other, w.alice));
}

TEST_F(Verify, issuer_revoked_keeping_what_it_issued_stops_only_later_issuance) {
  auto d = w.delegation();
  auto before = w.from_bot(w.alice, d, kT0 + kMinute);
  auto after = w.from_bot(w.bob, d, kT0 + 20 * kMinute);
  store_revocation(
      revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kKeepIssued, 0, kT0 + 10 * kMinute));
  expect_accepted(verify(before, w.alice, kT0 + 21 * kMinute));
  expect_refused(verify(after, w.bob, kT0 + 21 * kMinute), Reason::kIssuerRevoked, "keep issued");
}

TEST_F(Verify, issuer_revoked_after_a_time_stops_what_it_issued_after_that_time) {
  auto d = w.delegation();
  auto early = w.from_bot(w.alice, d, kT0 + kMinute);
  auto late = w.from_bot(w.bob, d, kT0 + 5 * kMinute);
  store_revocation(revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kRevokeIssuedAfter,
                                 kT0 + 2 * kMinute, kT0 + 10 * kMinute));
  expect_accepted(verify(early, w.alice, kT0 + 11 * kMinute));
  expect_refused(verify(late, w.bob, kT0 + 11 * kMinute), Reason::kIssuerRevoked);
}

TEST_F(Verify, issuer_revoked_entirely_stops_everything_it_issued) {
  auto d = w.delegation();
  auto early = w.from_bot(w.alice, d, kT0 + kMinute);
  store_revocation(
      revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kRevokeAll, 0, kT0 + 10 * kMinute));
  expect_refused(verify(early, w.alice, kT0 + 11 * kMinute), Reason::kIssuerRevoked, "revoke all");
  // The owner's own capabilities are untouched by an issuer revocation.
  expect_accepted(verify(w.from_owner(w.bob), w.bob, kT0 + 11 * kMinute));
}

TEST_F(Verify, revocations_of_another_space_do_not_apply) {
  SpaceRef other{crypto::random_id(), w.owner};
  auto r = revoke_member(w.owner_key, other, w.alice, kT0 + kMinute);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(store.record_revocation(*r).ok());
  expect_accepted(verify(w.from_owner(w.alice), w.alice));
}

// --- rate limit --------------------------------------------------------------

TEST_F(Verify, refuses_the_issuers_capability_that_exceeds_its_rate_in_a_sliding_hour) {
  auto d = w.delegation(/*rate=*/2);
  auto first = w.from_bot(w.alice, d, kT0 + kMinute);
  auto second = w.from_bot(w.bob, d, kT0 + 31 * kMinute);
  record_accepted(first);
  record_accepted(second);
  const Timestamp now = kT0 + 2 * kHour;

  // A third within an hour of the first: refused.
  auto third = w.from_bot(w.mallory, d, kT0 + 60 * kMinute);
  expect_refused(verify(third, w.mallory, now), Reason::kRateLimited, "2 capabilities per hour");
  // Backdating does not help: the window slides both ways.
  auto backdated = w.from_bot(w.mallory, d, kT0 + kMinute / 2);
  expect_refused(verify(backdated, w.mallory, now), Reason::kRateLimited);
  // Exactly an hour after the first it fits again.
  auto later = w.from_bot(w.mallory, d, kT0 + 61 * kMinute);
  expect_accepted(verify(later, w.mallory, now));
  // Capabilities already accepted are not counted twice.
  expect_accepted(verify(second, w.bob, now));
}

TEST_F(Verify, a_delegation_with_rate_zero_can_issue_nothing) {
  auto d = w.delegation(/*rate=*/0);
  expect_refused(verify(w.from_bot(w.alice, d), w.alice), Reason::kRateLimited);
}

TEST_F(Verify, context_failures_are_errors_not_refusals) {
  store.fail_reads_with(core::Error::unavailable("disk on fire"));
  auto r = verify(w.from_owner(w.alice), w.alice);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::ErrorCode::kUnavailable);
}

// --- issuer capabilities -----------------------------------------------------

TEST_F(Verify, verifies_a_delegation_on_receipt) {
  auto d = w.delegation();
  auto ok = verify_issuer_capability(encode_signed(d), w.space, kT0 + kMinute, store);
  expect_accepted(ok);
  EXPECT_EQ((*ok)->body.delegate, w.bot);

  expect_refused(verify_issuer_capability(encode_signed(d), w.space, kT0 + kDay + kHour, store),
                 Reason::kDelegationExpired);
  expect_refused(verify_issuer_capability(signed_bytes(d.envelope.payload, w.mallory_key), w.space,
                                          kT0, store),
                 Reason::kBadSignature);
  SpaceRef wrong_owner{w.space.id, w.mallory};
  expect_refused(verify_issuer_capability(encode_signed(d), wrong_owner, kT0, store),
                 Reason::kWrongOwner);
}

TEST_F(Verify, a_revoked_delegation_is_refused_on_receipt) {
  auto d = w.delegation();
  store_revocation(revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kRevokeIssuedAfter,
                                 kT0 + 10 * kMinute, kT0 + 5 * kMinute));
  expect_accepted(verify_issuer_capability(encode_signed(d), w.space, kT0 + 9 * kMinute, store));
  expect_refused(verify_issuer_capability(encode_signed(d), w.space, kT0 + 11 * kMinute, store),
                 Reason::kIssuerRevoked);
  store_revocation(revoke_capability(w.owner_key, w.space, d.body.id, kT0 + 6 * kMinute));
  expect_refused(verify_issuer_capability(encode_signed(d), w.space, kT0 + 7 * kMinute, store),
                 Reason::kDelegationRevoked);
}

// --- revocations -------------------------------------------------------------

TEST_F(Verify, accepts_only_revocations_signed_by_the_spaces_owner) {
  auto r = revoke_member(w.owner_key, w.space, w.alice, kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(verify_revocation(encode_signed(*r), w.space).ok());

  expect_refused(verify_revocation(signed_bytes(r->envelope.payload, w.mallory_key), w.space),
                 Reason::kBadSignature);
  SpaceRef mallorys{w.space.id, w.mallory};
  auto by_mallory = revoke_member(w.mallory_key, mallorys, w.alice, kT0);
  ASSERT_TRUE(by_mallory.ok());
  expect_refused(verify_revocation(encode_signed(*by_mallory), w.space), Reason::kWrongOwner);
  SpaceRef other{crypto::random_id(), w.owner};
  expect_refused(verify_revocation(encode_signed(*r), other), Reason::kWrongSpace);
  EXPECT_FALSE(revoke_member(w.mallory_key, w.space, w.alice, kT0).ok());
}

// --- join requests and decisions ---------------------------------------------

TEST_F(Verify, verifies_a_join_request_from_the_peer_on_the_channel) {
  auto req = request_join(w.alice_key, w.space.id, Role::kMember, kT0);
  ASSERT_TRUE(req.ok());
  const core::Bytes carried = encode_signed(*req);
  EXPECT_TRUE(verify_join_request(carried, w.space.id, w.alice, kT0 + kMinute).ok());
  expect_refused(verify_join_request(carried, w.space.id, w.mallory, kT0),
                 Reason::kSubjectMismatch);
  expect_refused(verify_join_request(carried, crypto::random_id(), w.alice, kT0),
                 Reason::kWrongSpace);
  expect_refused(verify_join_request(carried, w.space.id, w.alice, kT0 + kJoinRequestLifetime + 1),
                 Reason::kExpired);
  expect_refused(verify_join_request(carried, w.space.id, w.alice, kT0 - kClockSkewAllowance - 1),
                 Reason::kNotYetValid);
  expect_refused(verify_join_request(signed_bytes(req->envelope.payload, w.mallory_key), w.space.id,
                                     w.alice, kT0),
                 Reason::kBadSignature);
}

TEST_F(Verify, verifies_a_join_decision_against_the_request_it_answers) {
  auto req = *request_join(w.alice_key, w.space.id, Role::kMember, kT0);
  auto d = w.delegation();
  auto cap = w.from_bot(w.alice, d);
  auto approval = approve_join(w.bot_key, req.body, cap, kT0 + kMinute);
  ASSERT_TRUE(approval.ok()) << approval.error().message;
  auto ok =
      verify_join_decision(encode_signed(*approval), req.body, w.space, kT0 + 2 * kMinute, store);
  expect_accepted(ok);
  EXPECT_EQ((*ok)->body.outcome, JoinOutcome::kApproved);

  auto other_req = *request_join(w.alice_key, w.space.id, Role::kMember, kT0);
  expect_refused(verify_join_decision(encode_signed(*approval), other_req.body, w.space,
                                      kT0 + 2 * kMinute, store),
                 Reason::kRequestMismatch);

  auto rejection = reject_join(w.owner_key, req.body, "full", kT0 + kMinute);
  ASSERT_TRUE(rejection.ok());
  expect_accepted(
      verify_join_decision(encode_signed(*rejection), req.body, w.space, kT0 + 2 * kMinute, store));
}

TEST_F(Verify, refuses_an_approval_whose_capability_someone_else_issued_or_that_fails) {
  auto req = *request_join(w.alice_key, w.space.id, Role::kMember, kT0);
  auto d = w.delegation();
  // Signed by the owner, but carrying the bot's capability.
  JoinDecision decision;
  decision.request = req.body.nonce;
  decision.space = w.space.id;
  decision.requester = w.alice;
  decision.decider = w.owner;
  decision.outcome = JoinOutcome::kApproved;
  decision.issued_at = kT0 + kMinute;
  decision.capability = w.from_bot(w.alice, d);
  auto mixed = sign(decision, w.owner_key);
  ASSERT_TRUE(mixed.ok()) << mixed.error().message;
  expect_refused(
      verify_join_decision(encode_signed(*mixed), req.body, w.space, kT0 + 2 * kMinute, store),
      Reason::kRequestMismatch, "issued by " + w.bot.to_string());

  // An approval whose capability has since been revoked.
  auto cap = w.from_owner(w.alice, Role::kMember, kT0);
  auto approval = approve_join(w.owner_key, req.body, cap, kT0 + kMinute);
  ASSERT_TRUE(approval.ok());
  store_revocation(revoke_capability(w.owner_key, w.space, cap.body.id, kT0 + kMinute));
  expect_refused(
      verify_join_decision(encode_signed(*approval), req.body, w.space, kT0 + 2 * kMinute, store),
      Reason::kCapabilityRevoked, "the approval's capability");
}

}  // namespace
}  // namespace soma::cap
