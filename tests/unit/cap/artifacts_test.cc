#include "cap/artifacts.h"

#include <gtest/gtest.h>

#include <string>

#include "cap/cbor.h"
#include "cap/envelope.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap_world.h"

namespace soma::cap {
namespace {

using cbor::Value;
using testing::edit_payload;
using testing::hex;
using testing::kDay;
using testing::kMinute;
using testing::kT0;
using testing::signed_bytes;
using testing::World;

template <typename T>
Signed<T> round_trip(const Signed<T>& original) {
  core::Bytes carried = encode_signed(original);
  auto decoded = decode_signed<T>(carried);
  EXPECT_TRUE(decoded.ok()) << decoded.refusal().message;
  EXPECT_EQ(decoded->envelope, original.envelope);
  EXPECT_EQ(encode_signed(*decoded), carried);
  EXPECT_FALSE(check_signature(*decoded).has_value());
  return std::move(*decoded);
}

template <typename T>
void expect_malformed(core::ByteView payload, const std::string& needle) {
  auto decoded = T::decode(payload);
  ASSERT_FALSE(decoded.ok()) << "accepted " << hex(payload);
  EXPECT_EQ(decoded.refusal().reason, Reason::kMalformed) << decoded.refusal().message;
  EXPECT_NE(decoded.refusal().message.find(needle), std::string::npos)
      << "wanted \"" << needle << "\" in: " << decoded.refusal().message;
  EXPECT_EQ(decoded.refusal().message.rfind(std::string(T::kName), 0), 0u)
      << decoded.refusal().message;
}

TEST(Artifacts, membership_capability_from_the_owner_round_trips) {
  World w;
  auto cap = w.from_owner(w.alice, Role::kEditor);
  auto back = round_trip(cap);
  EXPECT_EQ(back.body.id, cap.body.id);
  EXPECT_EQ(back.body.space, w.space.id);
  EXPECT_EQ(back.body.owner, w.owner);
  EXPECT_EQ(back.body.subject, w.alice);
  EXPECT_EQ(back.body.role, Role::kEditor);
  EXPECT_EQ(back.body.issuer, w.owner);
  EXPECT_EQ(back.body.issued_at, kT0);
  EXPECT_EQ(back.body.expires_at, kT0 + 30 * kDay);
  EXPECT_FALSE(back.body.delegation.has_value());
}

TEST(Artifacts, membership_capability_embeds_its_delegation_byte_for_byte) {
  World w;
  auto d = w.delegation();
  auto cap = w.from_bot(w.alice, d);
  auto back = round_trip(cap);
  ASSERT_TRUE(back.body.delegation.has_value());
  EXPECT_EQ(back.body.delegation->envelope, d.envelope);
  EXPECT_EQ(back.body.delegation->body, d.body);
  EXPECT_EQ(back.body.issuer, w.bot);
}

TEST(Artifacts, issuer_capability_round_trips) {
  World w;
  auto d = w.delegation(25);
  auto back = round_trip(d);
  EXPECT_EQ(back.body, d.body);
  EXPECT_EQ(back.body.delegate, w.bot);
  EXPECT_EQ(back.body.roles, (std::vector<Role>{Role::kViewer, Role::kMember}));
  EXPECT_EQ(back.body.rate_per_hour, 25u);
  EXPECT_EQ(back.body.max_member_expires_at, kT0 + 7 * kDay);
}

TEST(Artifacts, every_kind_of_revocation_round_trips) {
  World w;
  ArtifactId target = new_artifact_id();
  std::vector<Signed<Revocation>> all = {
      *revoke_member(w.owner_key, w.space, w.alice, kT0),
      *revoke_capability(w.owner_key, w.space, target, kT0),
      *revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kKeepIssued, 0, kT0),
      *revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kRevokeIssuedAfter, kT0 - kDay,
                     kT0),
      *revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kRevokeAll, 0, kT0),
  };
  for (const auto& r : all) EXPECT_EQ(round_trip(r).body, r.body);
  EXPECT_EQ(all[1].body.capability, target);
  EXPECT_EQ(all[3].body.after, kT0 - kDay);
}

TEST(Artifacts, join_request_and_both_decisions_round_trip) {
  World w;
  auto request = request_join(w.alice_key, w.space.id, Role::kMember, kT0);
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(round_trip(*request).body, request->body);

  auto d = w.delegation();
  auto cap = w.from_bot(w.alice, d);
  auto approval = approve_join(w.bot_key, request->body, cap, kT0 + kMinute);
  ASSERT_TRUE(approval.ok()) << approval.error().message;
  auto back = round_trip(*approval);
  EXPECT_EQ(back.body.outcome, JoinOutcome::kApproved);
  ASSERT_TRUE(back.body.capability.has_value());
  EXPECT_EQ(back.body.capability->envelope, cap.envelope);

  auto rejection = reject_join(w.owner_key, request->body, "not this week", kT0 + kMinute);
  ASSERT_TRUE(rejection.ok()) << rejection.error().message;
  auto no = round_trip(*rejection);
  EXPECT_EQ(no.body.outcome, JoinOutcome::kRejected);
  EXPECT_EQ(no.body.reason, "not this week");
  EXPECT_FALSE(no.body.capability.has_value());
}

TEST(Artifacts, payload_starts_with_type_and_version_under_keys_0_and_1) {
  World w;
  auto cap = w.from_owner(w.alice);
  // aa: a map of 10 entries; 00 01: type 1 (membership); 01 01: version 1.
  EXPECT_EQ(hex(cap.envelope.payload).substr(0, 10), "aa00010101");
}

TEST(Artifacts, strict_decoding_refuses_unknown_missing_and_mistyped_keys) {
  World w;
  const core::Bytes p = w.from_owner(w.alice).envelope.payload;
  expect_malformed<MembershipCapability>(edit_payload(p, 42, Value::unsigned_integer(1)),
                                         "unknown key 42");
  expect_malformed<MembershipCapability>(edit_payload(p, 5, std::nullopt),
                                         "missing key 5 (subject)");
  expect_malformed<MembershipCapability>(
      edit_payload(p, 8, Value::text("yesterday")),
      "key 8 (issued_at) must be an unsigned integer, found a text string");
  expect_malformed<MembershipCapability>(edit_payload(p, 8, Value::integer(-5)),
                                         "found a negative integer");
  expect_malformed<MembershipCapability>(edit_payload(p, 6, Value::unsigned_integer(9)),
                                         "unknown role 9");
  expect_malformed<MembershipCapability>(edit_payload(p, 5, Value::bytes(core::Bytes{1, 2, 3})),
                                         "key 5 (subject) is not a valid PeerId");
  expect_malformed<MembershipCapability>(edit_payload(p, 2, Value::bytes(core::Bytes(15, 0))),
                                         "key 2 (id) must be 16 bytes");
  expect_malformed<MembershipCapability>(edit_payload(p, 3, Value::text("Not-A-Space")),
                                         "key 3 (space) is invalid");
  expect_malformed<MembershipCapability>(edit_payload(p, 1, Value::unsigned_integer(2)),
                                         "format version 2 is not supported");
  expect_malformed<MembershipCapability>(edit_payload(p, 9, Value::unsigned_integer(kT0)),
                                         "expires_at must be later than issued_at");
  auto not_a_map = cbor::encode(Value::array({}));
  expect_malformed<MembershipCapability>(*not_a_map, "must be a map");
  auto text_key = cbor::encode(Value::map({{Value::text("type"), Value::unsigned_integer(1)}}));
  expect_malformed<MembershipCapability>(*text_key, "keys must be unsigned integers");
}

TEST(Artifacts, one_kind_of_artifact_never_decodes_as_another) {
  World w;
  auto revocation = *revoke_member(w.owner_key, w.space, w.alice, kT0);
  expect_malformed<MembershipCapability>(revocation.envelope.payload,
                                         "key 0 (type) is 3 (revocation), expected 1");
  auto cap = w.from_owner(w.alice);
  expect_malformed<IssuerCapability>(cap.envelope.payload, "expected 2 (issuer capability)");
}

TEST(Artifacts, delegation_roles_must_be_sorted_unique_and_never_owner) {
  World w;
  const core::Bytes p = w.delegation().envelope.payload;
  auto roles = [](std::initializer_list<std::uint64_t> list) {
    Value::Array a;
    for (auto r : list) a.push_back(Value::unsigned_integer(r));
    return Value::array(a);
  };
  expect_malformed<IssuerCapability>(edit_payload(p, 6, roles({4, 3})), "ascending order");
  expect_malformed<IssuerCapability>(edit_payload(p, 6, roles({3, 3})), "ascending order");
  expect_malformed<IssuerCapability>(edit_payload(p, 6, roles({1, 3})),
                                     "the owner role cannot be delegated");
  expect_malformed<IssuerCapability>(edit_payload(p, 6, roles({})), "at least one role");
  expect_malformed<IssuerCapability>(edit_payload(p, 6, roles({7})), "unknown role 7");
  expect_malformed<IssuerCapability>(edit_payload(p, 5, Value::bytes(w.owner.bytes())),
                                     "the owner cannot be its own delegate");
}

TEST(Artifacts, revocation_carries_exactly_the_keys_of_its_kind) {
  World w;
  const core::Bytes member = revoke_member(w.owner_key, w.space, w.alice, kT0)->envelope.payload;
  expect_malformed<Revocation>(edit_payload(member, 9, Value::unsigned_integer(3)),
                               "a member revocation must not have key 9 (policy)");
  expect_malformed<Revocation>(edit_payload(member, 7, std::nullopt),
                               "a member revocation needs key 7 (peer)");
  expect_malformed<Revocation>(edit_payload(member, 5, Value::unsigned_integer(4)),
                               "unknown kind 4");
  expect_malformed<Revocation>(edit_payload(member, 7, Value::bytes(w.owner.bytes())),
                               "the owner cannot be revoked");

  const core::Bytes issuer =
      revoke_issuer(w.owner_key, w.space, w.bot, IssuerPolicy::kRevokeAll, 0, kT0)
          ->envelope.payload;
  expect_malformed<Revocation>(edit_payload(issuer, 10, Value::unsigned_integer(kT0)),
                               "must not have key 10 (after)");
  expect_malformed<Revocation>(edit_payload(issuer, 9, Value::unsigned_integer(2)),
                               "needs key 10 (after)");
  expect_malformed<Revocation>(edit_payload(issuer, 9, Value::unsigned_integer(0)),
                               "unknown policy 0");
}

TEST(Artifacts, join_decisions_carry_a_capability_exactly_when_approved) {
  World w;
  auto request = *request_join(w.alice_key, w.space.id, Role::kMember, kT0);
  const core::Bytes rejection = reject_join(w.owner_key, request.body, "", kT0)->envelope.payload;
  expect_malformed<JoinDecision>(edit_payload(rejection, 6, Value::unsigned_integer(1)),
                                 "an approval needs key 9 (capability)");
  expect_malformed<JoinDecision>(edit_payload(rejection, 6, Value::unsigned_integer(3)),
                                 "unknown outcome 3");
  expect_malformed<JoinDecision>(edit_payload(rejection, 8, Value::text("")),
                                 "must not be empty when present");
  expect_malformed<JoinDecision>(
      edit_payload(rejection, 8, Value::text(std::string(kMaxReasonBytes + 1, 'x'))),
      "more than the 256 allowed");

  auto cap = w.from_owner(w.alice);
  const core::Bytes approval = approve_join(w.owner_key, request.body, cap, kT0)->envelope.payload;
  expect_malformed<JoinDecision>(edit_payload(approval, 6, Value::unsigned_integer(2)),
                                 "a rejection must not carry key 9 (capability)");
  // The embedded capability is decoded strictly too, and errors say where.
  Value bad_envelope = envelope_value(cap.envelope);
  bad_envelope = Value::map({{Value::unsigned_integer(1), Value::bytes(core::Bytes{0xa0})},
                             {Value::unsigned_integer(2), Value::bytes(cap.envelope.signature)}});
  expect_malformed<JoinDecision>(edit_payload(approval, 9, bad_envelope),
                                 "join decision: key 9 (capability): membership capability: "
                                 "missing key 0 (type)");
}

TEST(Artifacts, join_requests_cannot_ask_for_the_owner_role) {
  World w;
  const core::Bytes p = request_join(w.alice_key, w.space.id, Role::kMember, kT0)->envelope.payload;
  expect_malformed<JoinRequest>(edit_payload(p, 5, Value::unsigned_integer(1)),
                                "nobody can ask to join as the owner");
}

TEST(Artifacts, envelope_decoding_is_strict) {
  World w;
  auto cap = w.from_owner(w.alice);
  const core::Bytes carried = encode_signed(cap);

  auto with_extra = cbor::encode(Value::map({
      {Value::unsigned_integer(1), Value::bytes(cap.envelope.payload)},
      {Value::unsigned_integer(2), Value::bytes(cap.envelope.signature)},
      {Value::unsigned_integer(3), Value::null()},
  }));
  auto r = decode_signed<MembershipCapability>(*with_extra);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refusal().reason, Reason::kMalformed);
  EXPECT_NE(r.refusal().message.find("key other than 1"), std::string::npos);

  auto short_sig = cbor::encode(Value::map({
      {Value::unsigned_integer(1), Value::bytes(cap.envelope.payload)},
      {Value::unsigned_integer(2), Value::bytes(core::Bytes(63, 0))},
  }));
  r = decode_signed<MembershipCapability>(*short_sig);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.refusal().message.find("64 bytes"), std::string::npos);

  auto text_payload = cbor::encode(Value::map({
      {Value::unsigned_integer(1), Value::text("hi")},
      {Value::unsigned_integer(2), Value::bytes(cap.envelope.signature)},
  }));
  r = decode_signed<MembershipCapability>(*text_payload);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.refusal().message.find("key 1 (payload) must be a byte string"), std::string::npos);

  // The envelope's own encoding must be deterministic too: the signature's
  // length written in two bytes instead of one.
  core::Bytes long_form = carried;
  const std::size_t sig_head = long_form.size() - 64 - 2;
  ASSERT_EQ(long_form[sig_head], 0x58);
  long_form[sig_head] = 0x59;
  long_form.insert(long_form.begin() + static_cast<std::ptrdiff_t>(sig_head) + 1, 0x00);
  r = decode_signed<MembershipCapability>(long_form);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refusal().reason, Reason::kNotDeterministic) << r.refusal().message;
}

TEST(Artifacts, sign_refuses_a_key_that_is_not_the_signers) {
  World w;
  MembershipCapability c = w.from_owner(w.alice).body;
  auto forged = sign(c, w.mallory_key);
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(forged.error().message.find("does not belong to " + w.owner.to_string()),
            std::string::npos);
}

TEST(Artifacts, sign_refuses_fields_that_would_not_decode) {
  World w;
  MembershipCapability c = w.from_owner(w.alice).body;
  c.space = "not a space id";
  auto bad = sign(c, w.owner_key);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("key 3 (space)"), std::string::npos) << bad.error().message;

  c = w.from_owner(w.alice).body;
  c.issued_at = -1;
  EXPECT_FALSE(sign(c, w.owner_key).ok());

  c = w.from_owner(w.alice).body;
  c.subject = crypto::PeerId();
  EXPECT_FALSE(sign(c, w.owner_key).ok());
}

TEST(Artifacts, space_ids_are_canonical_lowercase_base32_of_16_bytes) {
  EXPECT_TRUE(check_space_id(crypto::random_id()).ok());
  EXPECT_TRUE(check_space_id("aaaaaaaaaaaaaaaaaaaaaaaaaa").ok());
  EXPECT_FALSE(check_space_id("aaaaaaaaaaaaaaaaaaaaaaaaa").ok());   // 25 characters
  EXPECT_FALSE(check_space_id("AAAAAAAAAAAAAAAAAAAAAAAAAA").ok());  // upper case
  EXPECT_FALSE(check_space_id("aaaaaaaaaaaaaaaaaaaaaaaaab").ok());  // stray low bits
  EXPECT_FALSE(check_space_id("aaaaaaaaaaaaaaaaaaaaaaaaa1").ok());  // not base32
}

TEST(Artifacts, roles_have_names_and_ranks) {
  for (Role r : {Role::kOwner, Role::kEditor, Role::kViewer, Role::kMember, Role::kBot}) {
    auto parsed = parse_role(to_string(r));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, r);
  }
  auto unknown = parse_role("admin");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("owner, editor, viewer, member, bot"), std::string::npos);
  EXPECT_GT(role_rank(Role::kOwner), role_rank(Role::kEditor));
  EXPECT_GT(role_rank(Role::kEditor), role_rank(Role::kMember));
  EXPECT_GT(role_rank(Role::kMember), role_rank(Role::kViewer));
  EXPECT_GT(role_rank(Role::kViewer), role_rank(Role::kBot));
}

TEST(Artifacts, artifact_ids_are_random) {
  EXPECT_NE(new_artifact_id(), new_artifact_id());
  EXPECT_EQ(to_hex(ArtifactId{}).size(), 32u);
}

TEST(Artifacts, a_forged_payload_still_decodes_so_verification_can_name_the_problem) {
  World w;
  // Decoding never looks at signatures: a payload signed by the wrong key
  // decodes, and check_signature says what is wrong.
  core::Bytes forged = signed_bytes(w.from_owner(w.alice).envelope.payload, w.mallory_key);
  auto decoded = decode_signed<MembershipCapability>(forged);
  ASSERT_TRUE(decoded.ok());
  auto bad = check_signature(*decoded);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->reason, Reason::kBadSignature);
  EXPECT_NE(bad->message.find("not " + w.owner.to_string() + "'s signature"), std::string::npos);
}

}  // namespace
}  // namespace soma::cap
