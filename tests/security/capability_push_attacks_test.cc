// Attacks on /soma/capability/1 against real daemons on loopback: an
// attacker peer with identities of its own pushes delegations, revocations
// and issued memberships it has no right to. Each is refused with a reason
// that says what was wrong, the daemon's recorded state (spaces, members,
// audit) is unchanged, and honest pushes still work.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attacker_peer.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "crypto/random.h"
#include "harness/soma_harness.h"
#include "membership/delegation_service.h"
#include "membership/wire.h"

namespace soma::security {
namespace {

using json = nlohmann::json;
using soma::testing::Daemon;
using soma::testing::TempDir;
namespace wire = membership::wire;
using Kind = wire::PushMessage::Kind;

const std::vector<std::string> kLoopback = {"--listen", "/ip4/127.0.0.1/tcp/0"};
const std::string kPush(wire::kCapabilityProtocol);

json run_json(const Daemon& d, std::vector<std::string> args, int expected_exit = 0) {
  args.push_back("--json");
  auto r = d.soma(args);
  EXPECT_EQ(r.exit_code, expected_exit) << "soma " << args[0] << ": " << r.out << r.err;
  auto doc = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out;
  return doc.is_discarded() ? json::object() : doc;
}

std::string dial_addr(const Daemon& d) {
  const json doc = run_json(d, {"status"});
  const std::string id = doc["peer_id"];
  for (const auto& a : doc["listen_addrs"]) {
    std::string addr = a.get<std::string>();
    if (addr.rfind("/ip4/127.0.0.1/tcp/", 0) != 0) continue;
    if (addr.find("/p2p/") == std::string::npos) addr += "/p2p/" + id;
    return addr;
  }
  ADD_FAILURE() << "no 127.0.0.1 listen address in " << doc.dump();
  return {};
}

cap::Timestamp now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

crypto::PeerId id_of(const crypto::Ed25519PrivateKey& k) {
  return crypto::PeerId::from_public_key(k.public_key());
}

// Everything a push could change on a daemon.
json recorded(const Daemon& d, const std::string& space) {
  json r;
  r["spaces"] = run_json(d, {"spaces"})["spaces"];
  auto members = d.soma({"members", space, "--json"});
  r["members"] =
      members.exit_code == 0 ? json::parse(members.out, nullptr, false) : json(members.err);
  auto audit = d.soma({"audit", space, "--json"});
  r["audit"] = audit.exit_code == 0 ? json::parse(audit.out, nullptr, false) : json(audit.err);
  return r;
}

void expect_refused(const core::Result<core::Bytes>& reply, core::ErrorCode code,
                    const std::string& needle) {
  ASSERT_TRUE(reply.ok()) << "no answer: " << reply.error().message;
  auto ack = wire::decode_push_ack(*reply);
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  ASSERT_FALSE(ack->accepted);
  EXPECT_EQ(ack->refusal.code, code) << ack->refusal.message;
  EXPECT_NE(ack->refusal.message.find(needle), std::string::npos)
      << "wanted \"" << needle << "\" in: " << ack->refusal.message;
}

core::Bytes push(Kind kind, const core::Bytes& artifact) {
  return wire::encode(wire::PushMessage{kind, artifact, "Lure"});
}

// A daemon A owning space "Team" and the attacker M.
class PushAttacks : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.start()) << a_.stderr_text();
    a_id_ = run_json(a_, {"status"})["peer_id"];
    a_addr_ = dial_addr(a_);
    space_ = run_json(a_, {"space", "create", "Team"})["id"];
  }

  // A delegation signed by `owner_key` for a space of its own.
  core::Bytes delegation(const crypto::Ed25519PrivateKey& owner_key, const crypto::PeerId& to,
                         const std::string& space) {
    const cap::Timestamp now = now_ms();
    auto d = cap::issue_delegation(
        owner_key, cap::SpaceRef{space, id_of(owner_key)},
        cap::DelegationGrant{to, {cap::Role::kEditor}, now, now + 3600'000, now + 3600'000, 5});
    EXPECT_TRUE(d.ok()) << d.error().message;
    return cap::encode_signed(*d);
  }

  TempDir tmp_;
  Daemon a_{tmp_ / "a", kLoopback};
  AttackerPeer m_;
  std::string a_id_, a_addr_, space_;
};

TEST_F(PushAttacks, a_delegation_relayed_by_someone_but_its_owner_is_refused) {
  const json before = recorded(a_, space_);
  const auto other = crypto::Ed25519PrivateKey::generate();
  const std::string elsewhere = crypto::random_id();
  auto a_peer = crypto::PeerId::parse(a_id_);
  ASSERT_TRUE(a_peer.ok());
  expect_refused(
      m_.exchange(a_addr_, kPush, push(Kind::kDelegation, delegation(other, *a_peer, elsewhere))),
      core::ErrorCode::kPermissionDenied, "only the owner hands out delegations");
  EXPECT_EQ(recorded(a_, space_), before);
  auto unknown = a_.soma({"members", elsewhere, "--json"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
}

TEST_F(PushAttacks, a_delegation_for_another_peer_is_refused) {
  const json before = recorded(a_, space_);
  const auto someone = crypto::Ed25519PrivateKey::generate();
  expect_refused(m_.exchange(a_addr_, kPush,
                             push(Kind::kDelegation,
                                  delegation(m_.key(), id_of(someone), crypto::random_id()))),
                 core::ErrorCode::kPermissionDenied, "not this peer");
  EXPECT_EQ(recorded(a_, space_), before);
}

TEST_F(PushAttacks, a_delegation_claiming_a_space_the_daemon_knows_with_another_owner_is_refused) {
  const json before = recorded(a_, space_);
  auto a_peer = crypto::PeerId::parse(a_id_);
  ASSERT_TRUE(a_peer.ok());
  // M "owns" A's own space id in its artifact.
  expect_refused(
      m_.exchange(a_addr_, kPush, push(Kind::kDelegation, delegation(m_.key(), *a_peer, space_))),
      core::ErrorCode::kPermissionDenied, "as this peer knows it");
  EXPECT_EQ(recorded(a_, space_), before);
}

TEST_F(PushAttacks, a_revocation_not_signed_by_the_owner_is_refused) {
  const json before = recorded(a_, space_);
  auto forged = cap::revoke_member(m_.key(), cap::SpaceRef{space_, m_.peer_id()},
                                   id_of(crypto::Ed25519PrivateKey::generate()), now_ms());
  ASSERT_TRUE(forged.ok()) << forged.error().message;
  expect_refused(m_.exchange(a_addr_, kPush, push(Kind::kRevocation, cap::encode_signed(*forged))),
                 core::ErrorCode::kPermissionDenied, "owner");
  EXPECT_EQ(recorded(a_, space_), before);
}

TEST_F(PushAttacks, a_membership_reported_by_a_peer_that_did_not_issue_it_is_refused) {
  const json before = recorded(a_, space_);
  // A self-made "owner" capability for A's space: wrong owner.
  auto self_made = cap::issue_membership(
      m_.key(), cap::SpaceRef{space_, m_.peer_id()},
      cap::MembershipGrant{id_of(crypto::Ed25519PrivateKey::generate()), cap::Role::kEditor,
                           now_ms(), now_ms() + 3600'000});
  ASSERT_TRUE(self_made.ok()) << self_made.error().message;
  expect_refused(m_.exchange(a_addr_, kPush, push(Kind::kIssued, cap::encode_signed(*self_made))),
                 core::ErrorCode::kPermissionDenied, "owner");
  // One signed by someone else, reported by M: not M's to report.
  const auto other = crypto::Ed25519PrivateKey::generate();
  auto others = cap::issue_membership(
      other, cap::SpaceRef{space_, id_of(other)},
      cap::MembershipGrant{m_.peer_id(), cap::Role::kEditor, now_ms(), now_ms() + 3600'000});
  ASSERT_TRUE(others.ok());
  expect_refused(m_.exchange(a_addr_, kPush, push(Kind::kIssued, cap::encode_signed(*others))),
                 core::ErrorCode::kPermissionDenied, "issued by");
  EXPECT_EQ(recorded(a_, space_), before);
}

TEST_F(PushAttacks, malformed_and_oversized_pushes_are_refused_before_they_are_acted_on) {
  const json before = recorded(a_, space_);
  expect_refused(m_.exchange(a_addr_, kPush, core::Bytes{0xff, 0xff, 0xff}),
                 core::ErrorCode::kInvalidArgument, "not a valid protobuf message");
  expect_refused(m_.exchange(a_addr_, kPush,
                             push(Kind::kRevocation, core::Bytes(cap::kMaxArtifactSize + 1, 0xa2))),
                 core::ErrorCode::kInvalidArgument, "more than the 4096 allowed");
  expect_refused(m_.exchange(a_addr_, kPush, push(Kind::kRevocation, core::Bytes{0xa2, 0x01})),
                 core::ErrorCode::kInvalidArgument, "");
  const core::Bytes huge(wire::kMaxMessageSize + 1, 0x0a);
  auto reply = m_.send_raw(a_addr_, kPush, framed(huge));
  EXPECT_TRUE(!reply.ok() || reply->empty()) << "the daemon answered an oversized message";
  EXPECT_EQ(recorded(a_, space_), before);
}

TEST_F(PushAttacks, a_flood_of_pushes_is_rate_limited) {
  auto forged = cap::revoke_member(m_.key(), cap::SpaceRef{space_, m_.peer_id()},
                                   id_of(crypto::Ed25519PrivateKey::generate()), now_ms());
  ASSERT_TRUE(forged.ok());
  const core::Bytes message = push(Kind::kRevocation, cap::encode_signed(*forged));
  for (std::size_t i = 0; i < membership::kPushesPerWindow; ++i) {
    expect_refused(m_.exchange(a_addr_, kPush, message), core::ErrorCode::kPermissionDenied,
                   "owner");
  }
  expect_refused(m_.exchange(a_addr_, kPush, message), core::ErrorCode::kResourceExhausted,
                 "too many capability pushes");
  // The daemon still answers others.
  AttackerPeer other;
  expect_refused(other.exchange(a_addr_, kPush, message), core::ErrorCode::kPermissionDenied,
                 "owner");
}

}  // namespace
}  // namespace soma::security
