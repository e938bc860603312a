#include "membership/wire.h"

#include <gtest/gtest.h>

#include <string>

#include "cap/envelope.h"
#include "soma/wire/v1/capability.pb.h"
#include "soma/wire/v1/join.pb.h"

namespace soma::membership::wire {
namespace {

core::Bytes bytes_of(const google::protobuf::MessageLite& m) {
  std::string s = m.SerializeAsString();
  return core::Bytes(s.begin(), s.end());
}

TEST(JoinWire, a_join_request_round_trips) {
  JoinRequestMessage m{core::Bytes{1, 2, 3}, {"/ip4/127.0.0.1/tcp/4001"}};
  auto back = decode_join_request(encode(m));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->request, m.request);
  EXPECT_EQ(back->listen_addrs, m.listen_addrs);
}

TEST(JoinWire, answers_round_trip_in_each_status) {
  JoinAnswer pending;
  pending.status = JoinAnswer::Status::kPending;
  pending.owner = "12D3KooWowner";
  auto p = decode_join_answer(encode(pending));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->status, JoinAnswer::Status::kPending);
  EXPECT_EQ(p->owner, "12D3KooWowner");

  JoinAnswer decided;
  decided.status = JoinAnswer::Status::kDecided;
  decided.decision = core::Bytes{9, 9};
  decided.space_name = "Team";
  auto d = decode_join_answer(encode(decided));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->decision, decided.decision);
  EXPECT_EQ(d->space_name, "Team");

  JoinAnswer refused;
  refused.refusal = core::Error::not_found("there is no space x here");
  auto r = decode_join_answer(encode(refused));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, JoinAnswer::Status::kRefused);
  EXPECT_EQ(r->refusal.code, core::ErrorCode::kNotFound);
  EXPECT_EQ(r->refusal.message, "there is no space x here");
}

TEST(JoinWire, a_peers_internal_failure_arrives_as_unavailable) {
  JoinAnswer refused;
  refused.refusal = core::Error::internal("disk on fire");
  auto r = decode_join_answer(encode(refused));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->refusal.code, core::ErrorCode::kUnavailable);
}

TEST(JoinWire, decisions_and_acks_round_trip) {
  auto m = decode_decision(encode(DecisionMessage{core::Bytes{4, 5}, "Team"}));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->decision, (core::Bytes{4, 5}));
  EXPECT_EQ(m->space_name, "Team");
  auto ok = decode_decision_ack(encode(DecisionAck{true, {}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->accepted);
  auto no = decode_decision_ack(encode(DecisionAck{false, core::Error::denied("not you")}));
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(no->accepted);
  EXPECT_EQ(no->refusal.code, core::ErrorCode::kPermissionDenied);
}

TEST(JoinWire, rejects_an_artifact_larger_than_the_artifact_limit) {
  soma::wire::v1::JoinRequestMessage m;
  m.set_request(std::string(cap::kMaxArtifactSize + 1, 'x'));
  auto back = decode_join_request(bytes_of(m));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, core::ErrorCode::kInvalidArgument);
}

TEST(JoinWire, rejects_too_many_or_too_long_addresses) {
  soma::wire::v1::JoinRequestMessage many;
  many.set_request("x");
  for (std::size_t i = 0; i <= kMaxListenAddrs; ++i) many.add_listen_addrs("/ip4/1.2.3.4/tcp/1");
  EXPECT_FALSE(decode_join_request(bytes_of(many)).ok());

  soma::wire::v1::JoinRequestMessage long_addr;
  long_addr.set_request("x");
  long_addr.add_listen_addrs(std::string(kMaxAddrBytes + 1, 'a'));
  EXPECT_FALSE(decode_join_request(bytes_of(long_addr)).ok());
}

TEST(JoinWire, rejects_empty_artifacts_unknown_statuses_and_garbage) {
  soma::wire::v1::JoinRequestMessage empty;
  EXPECT_FALSE(decode_join_request(bytes_of(empty)).ok());
  soma::wire::v1::JoinAnswer unknown;
  unknown.set_status(static_cast<soma::wire::v1::JoinAnswer::Status>(42));
  EXPECT_FALSE(decode_join_answer(bytes_of(unknown)).ok());
  soma::wire::v1::JoinAnswer decided_without_decision;
  decided_without_decision.set_status(soma::wire::v1::JoinAnswer::STATUS_DECIDED);
  EXPECT_FALSE(decode_join_answer(bytes_of(decided_without_decision)).ok());
  const core::Bytes garbage{0xff, 0xff, 0xff};
  EXPECT_FALSE(decode_decision(garbage).ok());
  EXPECT_FALSE(decode_decision_ack(garbage).ok());
  EXPECT_FALSE(decode_decision_ack(core::Bytes{}).ok());  // no status at all
}

TEST(JoinWire, rejects_a_message_over_the_protocol_maximum) {
  const core::Bytes huge(kMaxMessageSize + 1, 0);
  auto back = decode_join_request(huge);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message.find("larger"), std::string::npos);
}

TEST(CapabilityWire, pushes_and_acks_round_trip) {
  for (auto kind : {PushMessage::Kind::kDelegation, PushMessage::Kind::kRevocation,
                    PushMessage::Kind::kIssued}) {
    PushMessage m{kind, core::Bytes{7, 8, 9}, "Team"};
    auto back = decode_push(encode(m));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->kind, kind);
    EXPECT_EQ(back->artifact, m.artifact);
    EXPECT_EQ(back->space_name, "Team");
  }
  auto yes = decode_push_ack(encode(PushAck{true, {}}));
  ASSERT_TRUE(yes.ok());
  EXPECT_TRUE(yes->accepted);
  auto no = decode_push_ack(encode(PushAck{false, core::Error::denied("not the owner")}));
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(no->accepted);
  EXPECT_EQ(no->refusal.code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(no->refusal.message, "not the owner");
}

TEST(CapabilityWire, rejects_unknown_kinds_empty_or_oversized_artifacts_and_long_names) {
  soma::wire::v1::CapabilityPush m;
  m.set_kind(static_cast<soma::wire::v1::CapabilityPush::Kind>(9));
  m.set_artifact("x");
  auto unknown = decode_push(bytes_of(m));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown kind"), std::string::npos);

  m.set_kind(soma::wire::v1::CapabilityPush::KIND_REVOCATION);
  m.clear_artifact();
  EXPECT_FALSE(decode_push(bytes_of(m)).ok());

  m.set_artifact(std::string(cap::kMaxArtifactSize + 1, 'a'));
  auto big = decode_push(bytes_of(m));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("artifact"), std::string::npos);

  m.set_artifact("x");
  m.set_space_name(std::string(kMaxNameBytes + 1, 'n'));
  EXPECT_FALSE(decode_push(bytes_of(m)).ok());

  const core::Bytes garbage{0xff, 0xff, 0xff};
  EXPECT_FALSE(decode_push(garbage).ok());
  EXPECT_FALSE(decode_push_ack(garbage).ok());
  const core::Bytes huge(kMaxMessageSize + 1, 0);
  EXPECT_FALSE(decode_push(huge).ok());
}

}  // namespace
}  // namespace soma::membership::wire
