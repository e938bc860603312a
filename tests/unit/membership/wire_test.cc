#include "membership/wire.h"

#include <gtest/gtest.h>

#include <string>

#include "cap/envelope.h"
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

}  // namespace
}  // namespace soma::membership::wire
