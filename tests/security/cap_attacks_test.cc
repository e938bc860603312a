// Forged, stretched and re-encoded membership capabilities presented to the
// authorizer, the one place every surface asks. Each is refused with its
// reason and a message that names the problem, and nothing is recorded: the
// attacker is still no member afterwards.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "cap/authorizer.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap/verify.h"
#include "crypto/random.h"
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

// A CBOR head (major type and argument) of exactly `width` argument bytes
// (0: in the initial byte), shortest or not, for hand-made encodings.
void put_head(core::Bytes& out, std::uint8_t major, std::uint64_t value, int width) {
  const auto m = static_cast<std::uint8_t>(major << 5);
  switch (width) {
    case 0:
      out.push_back(static_cast<std::uint8_t>(m | value));
      return;
    case 1:
      out.push_back(m | 24);
      break;
    case 2:
      out.push_back(m | 25);
      break;
    case 4:
      out.push_back(m | 26);
      break;
    default:
      out.push_back(m | 27);
      width = 8;
      break;
  }
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

int shortest_width(std::uint64_t v) {
  if (v < 24) return 0;
  if (v <= 0xff) return 1;
  if (v <= 0xffff) return 2;
  if (v <= 0xffffffff) return 4;
  return 8;
}

void put_bytes(core::Bytes& out, core::ByteView bytes, int width = -1) {
  put_head(out, 2, bytes.size(), width < 0 ? shortest_width(bytes.size()) : width);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

class CapAttacks : public ::testing::Test {
 protected:
  CapAttacks() { spaces.add(w.space); }

  // Presents `bytes` as `peer` and expects the refusal `reason` with
  // `needle` in its message, and that nothing was recorded.
  void expect_refused(const core::Bytes& bytes, const crypto::PeerId& peer, Reason reason,
                      const std::string& needle) {
    auto d = authorizer.present(w.space.id, peer, bytes);
    ASSERT_TRUE(d.ok()) << d.error().message;
    ASSERT_FALSE(d->allowed()) << "accepted as " << to_string(*d->role);
    ASSERT_TRUE(d->refusal.has_value());
    EXPECT_EQ(d->refusal->reason, reason)
        << "got " << to_string(d->refusal->reason) << ": " << d->refusal->message;
    EXPECT_NE(d->refusal->message.find(needle), std::string::npos)
        << "wanted \"" << needle << "\" in: " << d->refusal->message;
    expect_nothing_recorded(peer);
  }

  void expect_nothing_recorded(const crypto::PeerId& peer) {
    EXPECT_EQ(store.capability_count(), 0u);
    auto later = authorizer.authorize(w.space.id, peer);
    ASSERT_TRUE(later.ok()) << later.error().message;
    EXPECT_FALSE(later->allowed());
    ASSERT_TRUE(later->refusal.has_value());
    EXPECT_EQ(later->refusal->reason, Reason::kNoCapability);
  }

  // The carried envelope of `cap`, rebuilt by hand: payload then signature.
  static core::Bytes envelope_of(const Signed<MembershipCapability>& cap) {
    core::Bytes out;
    put_head(out, 5, 2, 0);
    put_head(out, 0, kEnvelopePayloadKey, 0);
    put_bytes(out, cap.envelope.payload);
    put_head(out, 0, kEnvelopeSignatureKey, 0);
    put_bytes(out, cap.envelope.signature);
    return out;
  }

  World w;
  MemoryCapabilityStore store;
  MemorySpaceDirectory spaces;
  ManualClock clock{kT0 + 2 * kMinute};
  Authorizer authorizer{store, spaces, clock};
};

TEST_F(CapAttacks, the_hand_made_envelope_of_a_valid_capability_is_the_carried_one_and_accepted) {
  // The baseline the re-encodings below start from.
  auto cap = w.from_owner(w.alice);
  ASSERT_EQ(envelope_of(cap), encode_signed(cap));
  auto d = authorizer.present(w.space.id, w.alice, envelope_of(cap));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->allowed());
}

TEST_F(CapAttacks, a_capability_a_stranger_signed_in_the_owners_name_is_a_bad_signature) {
  auto cap = w.from_owner(w.mallory);
  expect_refused(signed_bytes(cap.envelope.payload, w.mallory_key), w.mallory,
                 Reason::kBadSignature, "signature");
}

TEST_F(CapAttacks, a_capability_a_stranger_issued_to_itself_is_refused_as_not_authorized) {
  MembershipCapability body = w.from_owner(w.mallory).body;
  body.issuer = w.mallory;
  body.id = new_artifact_id();
  auto forged = sign(body, w.mallory_key);
  ASSERT_TRUE(forged.ok()) << forged.error().message;
  expect_refused(encode_signed(*forged), w.mallory, Reason::kIssuerNotAuthorized,
                 w.mallory.to_string());
}

TEST_F(CapAttacks, a_stranger_naming_itself_owner_of_the_space_is_refused_as_wrong_owner) {
  const SpaceRef own_version{w.space.id, w.mallory};
  auto cap = issue_membership(w.mallory_key, own_version,
                              {w.mallory, Role::kEditor, kT0, kT0 + 30 * kDay});
  ASSERT_TRUE(cap.ok()) << cap.error().message;
  expect_refused(encode_signed(*cap), w.mallory, Reason::kWrongOwner, w.owner.to_string());
}

TEST_F(CapAttacks, alices_capability_presented_on_a_channel_authenticated_as_mallory_is_refused) {
  auto cap = w.from_owner(w.alice);
  expect_refused(encode_signed(cap), w.mallory, Reason::kSubjectMismatch, w.alice.to_string());
}

TEST_F(CapAttacks, a_capability_expired_longer_ago_than_the_clock_skew_is_refused) {
  auto cap = w.from_owner(w.alice, Role::kEditor, kT0, kT0 + kMinute);
  clock.set(kT0 + kMinute + kClockSkewAllowance);
  expect_refused(encode_signed(cap), w.alice, Reason::kExpired, "expired");
}

TEST_F(CapAttacks, a_capability_expired_less_than_the_clock_skew_ago_is_still_accepted) {
  auto cap = w.from_owner(w.alice, Role::kEditor, kT0, kT0 + kMinute);
  clock.set(kT0 + kMinute + kClockSkewAllowance - 1);
  auto d = authorizer.present(w.space.id, w.alice, encode_signed(cap));
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(d->allowed()) << d->refusal->message;
  EXPECT_EQ(*d->role, Role::kEditor);
  EXPECT_EQ(store.capability_count(), 1u);
}

TEST_F(CapAttacks, a_recorded_capability_is_refused_on_use_once_it_expired_beyond_the_skew) {
  auto cap = w.from_owner(w.alice, Role::kEditor, kT0, kT0 + 10 * kMinute);
  auto presented = authorizer.present(w.space.id, w.alice, encode_signed(cap));
  ASSERT_TRUE(presented.ok() && presented->allowed());
  clock.set(kT0 + 10 * kMinute + kClockSkewAllowance);
  auto d = authorizer.authorize(w.space.id, w.alice);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_FALSE(d->allowed()) << "still allowed as " << to_string(*d->role);
  ASSERT_TRUE(d->refusal.has_value());
  EXPECT_EQ(d->refusal->reason, Reason::kExpired) << d->refusal->message;
  EXPECT_NE(d->refusal->message.find("expired"), std::string::npos) << d->refusal->message;
}

TEST_F(CapAttacks, a_capability_dated_further_ahead_than_the_clock_skew_is_not_yet_valid) {
  auto cap = w.from_owner(w.alice, Role::kEditor, kT0 + 10 * kMinute, kT0 + kDay);
  clock.set(kT0 + 10 * kMinute - kClockSkewAllowance - 1);
  expect_refused(encode_signed(cap), w.alice, Reason::kNotYetValid, "ms after now");
}

TEST_F(CapAttacks, a_capability_for_space_x_presented_for_space_y_is_refused_as_wrong_space) {
  const SpaceRef other{crypto::random_id(), w.owner};
  spaces.add(other);
  auto for_other = issue_membership(w.owner_key, other, {w.alice, Role::kEditor, kT0, kT0 + kDay});
  ASSERT_TRUE(for_other.ok()) << for_other.error().message;
  expect_refused(encode_signed(*for_other), w.alice, Reason::kWrongSpace, other.id);
}

TEST_F(CapAttacks, the_owner_role_granted_to_a_member_is_refused_as_not_grantable) {
  MembershipCapability body = w.from_owner(w.alice).body;
  body.role = Role::kOwner;
  auto forged = sign(body, w.owner_key);
  ASSERT_TRUE(forged.ok()) << forged.error().message;
  expect_refused(encode_signed(*forged), w.alice, Reason::kRoleNotGrantable, "owner");
}

TEST_F(CapAttacks, a_valid_signature_over_different_bytes_is_refused_as_bad_signature) {
  auto viewer = w.from_owner(w.alice, Role::kViewer);
  auto editor = w.from_owner(w.alice, Role::kEditor);
  Envelope spliced{editor.envelope.payload, viewer.envelope.signature};
  expect_refused(encode_envelope(spliced), w.alice, Reason::kBadSignature, "signature");
}

TEST_F(CapAttacks, a_non_shortest_integer_in_the_envelope_is_refused_as_not_deterministic) {
  auto cap = w.from_owner(w.alice);
  core::Bytes out;
  put_head(out, 5, 2, 0);
  put_head(out, 0, kEnvelopePayloadKey, 1);  // 18 01 where 01 is the only form
  put_bytes(out, cap.envelope.payload);
  put_head(out, 0, kEnvelopeSignatureKey, 0);
  put_bytes(out, cap.envelope.signature);
  expect_refused(out, w.alice, Reason::kNotDeterministic, "shortest");
}

TEST_F(CapAttacks, a_non_shortest_length_in_the_envelope_is_refused_as_not_deterministic) {
  auto cap = w.from_owner(w.alice);
  core::Bytes out;
  put_head(out, 5, 2, 0);
  put_head(out, 0, kEnvelopePayloadKey, 0);
  put_bytes(out, cap.envelope.payload, 4);
  put_head(out, 0, kEnvelopeSignatureKey, 0);
  put_bytes(out, cap.envelope.signature);
  expect_refused(out, w.alice, Reason::kNotDeterministic, "shortest");
}

TEST_F(CapAttacks, an_indefinite_length_envelope_is_refused_as_not_deterministic) {
  auto cap = w.from_owner(w.alice);
  core::Bytes out{0xbf};  // map of indefinite length
  put_head(out, 0, kEnvelopePayloadKey, 0);
  put_bytes(out, cap.envelope.payload);
  put_head(out, 0, kEnvelopeSignatureKey, 0);
  put_bytes(out, cap.envelope.signature);
  out.push_back(0xff);
  expect_refused(out, w.alice, Reason::kNotDeterministic, "indefinite");
}

TEST_F(CapAttacks, an_envelope_with_unsorted_map_keys_is_refused_as_not_deterministic) {
  auto cap = w.from_owner(w.alice);
  core::Bytes out;
  put_head(out, 5, 2, 0);
  put_head(out, 0, kEnvelopeSignatureKey, 0);
  put_bytes(out, cap.envelope.signature);
  put_head(out, 0, kEnvelopePayloadKey, 0);
  put_bytes(out, cap.envelope.payload);
  expect_refused(out, w.alice, Reason::kNotDeterministic, "order");
}

TEST_F(CapAttacks, an_envelope_with_a_duplicate_key_is_refused_as_not_deterministic) {
  auto cap = w.from_owner(w.alice);
  core::Bytes out;
  put_head(out, 5, 3, 0);
  put_head(out, 0, kEnvelopePayloadKey, 0);
  put_bytes(out, cap.envelope.payload);
  put_head(out, 0, kEnvelopePayloadKey, 0);
  put_bytes(out, cap.envelope.payload);
  put_head(out, 0, kEnvelopeSignatureKey, 0);
  put_bytes(out, cap.envelope.signature);
  expect_refused(out, w.alice, Reason::kNotDeterministic, "duplicate");
}

TEST_F(CapAttacks, a_valid_capability_followed_by_trailing_bytes_is_refused_as_malformed) {
  auto cap = w.from_owner(w.alice);
  core::Bytes out = encode_signed(cap);
  out.push_back(0x00);
  expect_refused(out, w.alice, Reason::kMalformed, "trailing");
}

TEST_F(CapAttacks, a_payload_the_owner_signed_in_a_non_deterministic_encoding_is_refused) {
  // Even the owner's own signature does not make a second byte form valid:
  // the payload map is re-encoded with its first key (0, the type) as 18 00.
  auto cap = w.from_owner(w.alice);
  const core::Bytes& payload = cap.envelope.payload;
  ASSERT_GE(payload.size(), 2u);
  ASSERT_EQ(payload[1], 0x00);
  core::Bytes stretched{payload[0], 0x18, 0x00};
  stretched.insert(stretched.end(), payload.begin() + 2, payload.end());
  expect_refused(signed_bytes(stretched, w.owner_key), w.alice, Reason::kNotDeterministic,
                 "shortest");
}

TEST_F(CapAttacks, a_capability_larger_than_the_artifact_limit_is_refused_before_decoding) {
  core::Bytes huge(kMaxArtifactSize + 1, 0x00);
  expect_refused(huge, w.alice, Reason::kTooLarge, std::to_string(kMaxArtifactSize));
}

}  // namespace
}  // namespace soma::cap
