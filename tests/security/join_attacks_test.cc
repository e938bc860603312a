// Attacks on /soma/join/1 and /soma/join-decision/1 against real daemons on
// loopback. The attacker is a libp2p peer of the test's own (its own
// identity, real Noise and yamux) that writes hostile bytes and artifacts.
// Each attack is refused with a reason that says what was wrong, the
// daemon's recorded state (requests, spaces, audit) is unchanged, and the
// daemon goes on serving honest peers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "attacker_peer.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap/verify.h"
#include "core/base_encoding.h"
#include "crypto/random.h"
#include "harness/soma_harness.h"
#include "membership/join_protocol.h"
#include "membership/wire.h"

namespace soma::security {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using soma::testing::Daemon;
using soma::testing::TempDir;
namespace wire = membership::wire;

const std::vector<std::string> kLoopback = {"--listen", "/ip4/127.0.0.1/tcp/0"};
const std::string kJoin(wire::kJoinProtocol);
const std::string kDecision(wire::kDecisionProtocol);

json run_json(const Daemon& d, std::vector<std::string> args, int expected_exit = 0) {
  args.push_back("--json");
  auto r = d.soma(args);
  EXPECT_EQ(r.exit_code, expected_exit) << "soma " << args[0] << ": " << r.out << r.err;
  auto doc = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out;
  return doc.is_discarded() ? json::object() : doc;
}

std::string peer_id(const Daemon& d) { return run_json(d, {"status"})["peer_id"]; }

// The daemon's 127.0.0.1 address, ending in /p2p/<its id>.
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

json requests(const Daemon& d, const std::string& direction) {
  return run_json(d, {"requests", "--" + direction})["requests"];
}

cap::Timestamp now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a daemon has recorded about membership: every request, space and
// audit entry of `space`. An attack must leave it exactly as it was.
struct Recorded {
  json requests;
  json spaces;
  json audit;
  friend bool operator==(const Recorded&, const Recorded&) = default;
};

Recorded recorded(const Daemon& d, const std::string& space) {
  Recorded r;
  r.requests = run_json(d, {"requests"})["requests"];
  r.spaces = run_json(d, {"spaces"})["spaces"];
  auto audit = d.soma({"audit", space, "--json"});
  r.audit = audit.exit_code == 0 ? json::parse(audit.out, nullptr, false) : json(audit.err);
  return r;
}

std::string dump(const Recorded& r) {
  return r.requests.dump() + "\n" + r.spaces.dump() + "\n" + r.audit.dump();
}

void expect_refused(const core::Result<core::Bytes>& reply, core::ErrorCode code,
                    const std::string& needle) {
  ASSERT_TRUE(reply.ok()) << "no answer: " << reply.error().message;
  auto answer = wire::decode_join_answer(*reply);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_EQ(answer->status, wire::JoinAnswer::Status::kRefused);
  EXPECT_EQ(answer->refusal.code, code) << answer->refusal.message;
  EXPECT_NE(answer->refusal.message.find(needle), std::string::npos)
      << "wanted \"" << needle << "\" in: " << answer->refusal.message;
}

void expect_ack_refused(const core::Result<core::Bytes>& reply, core::ErrorCode code,
                        const std::string& needle) {
  ASSERT_TRUE(reply.ok()) << "no answer: " << reply.error().message;
  auto ack = wire::decode_decision_ack(*reply);
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  ASSERT_FALSE(ack->accepted);
  EXPECT_EQ(ack->refusal.code, code) << ack->refusal.message;
  EXPECT_NE(ack->refusal.message.find(needle), std::string::npos)
      << "wanted \"" << needle << "\" in: " << ack->refusal.message;
}

// `envelope` encoded with the payload's length in four bytes where the
// deterministic encoding uses the fewest: the same artifact in a second byte
// form, which every verifier must refuse.
core::Bytes stretched(const cap::Envelope& envelope) {
  core::Bytes out{0xa2, 0x01, 0x5a};
  const auto n = static_cast<std::uint32_t>(envelope.payload.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(n >> shift));
  out.insert(out.end(), envelope.payload.begin(), envelope.payload.end());
  out.insert(out.end(), {0x02, 0x58, 0x40});
  out.insert(out.end(), envelope.signature.begin(), envelope.signature.end());
  return out;
}

// A join request message carrying `request`, as a requester sends it.
core::Bytes join_message(const cap::Signed<cap::JoinRequest>& request) {
  return wire::encode(wire::JoinRequestMessage{cap::encode_signed(request), {}});
}

core::Bytes decision_message(const cap::Signed<cap::JoinDecision>& decision) {
  return wire::encode(wire::DecisionMessage{cap::encode_signed(decision), "Lure"});
}

// A daemon A owning space "Team", an honest requester B, and an attacker M.
class JoinAttacks : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.start()) << a_.stderr_text();
    ASSERT_TRUE(b_.start()) << b_.stderr_text();
    a_id_ = peer_id(a_);
    b_id_ = peer_id(b_);
    a_addr_ = dial_addr(a_);
    b_addr_ = dial_addr(b_);
    space_ = run_json(a_, {"space", "create", "Team"})["id"];
  }

  // M's own signed request to join the space, dated `created_at`.
  cap::Signed<cap::JoinRequest> request_by(const crypto::Ed25519PrivateKey& key,
                                           cap::Timestamp created_at) {
    auto r = cap::request_join(key, space_, cap::Role::kEditor, created_at);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return std::move(*r);
  }

  // B asks A to join, which must still work after an attack.
  void expect_b_can_still_join() {
    json asked = run_json(b_, {"join", space_, "--via", a_addr_});
    EXPECT_EQ(asked["state"], "pending") << asked.dump();
    bool seen = false;
    for (const auto& r : requests(a_, "incoming")) seen = seen || r["peer"] == b_id_;
    EXPECT_TRUE(seen) << "A did not record B's request after the attack";
  }

  TempDir tmp_;
  Daemon a_{tmp_ / "a", kLoopback};
  Daemon b_{tmp_ / "b", kLoopback};
  AttackerPeer m_;
  std::string a_id_, b_id_, a_addr_, b_addr_, space_;
};

TEST_F(JoinAttacks, a_truncated_join_message_is_refused_as_invalid_and_records_nothing) {
  const Recorded before = recorded(a_, space_);
  core::Bytes message = join_message(request_by(m_.key(), now_ms()));
  message.resize(message.size() / 2);
  expect_refused(m_.exchange(a_addr_, kJoin, message), core::ErrorCode::kInvalidArgument,
                 "not a valid protobuf message");
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
  expect_b_can_still_join();
}

TEST_F(JoinAttacks, a_frame_shorter_than_its_length_prefix_gets_no_answer_and_records_nothing) {
  const Recorded before = recorded(a_, space_);
  const core::Bytes message = join_message(request_by(m_.key(), now_ms()));
  core::Bytes raw = framed(message);
  raw.resize(raw.size() - 10);  // the prefix promises ten bytes that never come
  auto reply = m_.send_raw(a_addr_, kJoin, raw);
  EXPECT_TRUE(!reply.ok() || reply->empty())
      << "the daemon answered a frame it never received whole";
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
  expect_b_can_still_join();
}

TEST_F(JoinAttacks, an_oversized_join_message_is_cut_off_before_it_is_read_and_records_nothing) {
  const Recorded before = recorded(a_, space_);
  const core::Bytes huge(wire::kMaxMessageSize + 1, 0x0a);
  auto reply = m_.send_raw(a_addr_, kJoin, framed(huge));
  EXPECT_TRUE(!reply.ok() || reply->empty()) << "the daemon answered an oversized message";
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
  expect_b_can_still_join();
}

TEST_F(JoinAttacks, an_artifact_larger_than_the_limit_inside_a_join_message_is_refused) {
  const Recorded before = recorded(a_, space_);
  const core::Bytes message =
      wire::encode(wire::JoinRequestMessage{core::Bytes(cap::kMaxArtifactSize + 1, 0xa2), {}});
  expect_refused(m_.exchange(a_addr_, kJoin, message), core::ErrorCode::kInvalidArgument,
                 "more than the 4096 allowed");
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
}

TEST_F(JoinAttacks, a_join_request_whose_requester_is_not_the_channels_peer_is_refused) {
  const Recorded before = recorded(a_, space_);
  // Signed by someone else: M relays a request it did not make.
  const auto someone = crypto::Ed25519PrivateKey::generate();
  const auto someone_id = crypto::PeerId::from_public_key(someone.public_key());
  expect_refused(m_.exchange(a_addr_, kJoin, join_message(request_by(someone, now_ms()))),
                 core::ErrorCode::kPermissionDenied, someone_id.to_string());
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
}

TEST_F(JoinAttacks, a_join_request_in_a_second_byte_form_is_refused_as_not_deterministic) {
  const Recorded before = recorded(a_, space_);
  const auto request = request_by(m_.key(), now_ms());
  const core::Bytes message =
      wire::encode(wire::JoinRequestMessage{stretched(request.envelope), {}});
  expect_refused(m_.exchange(a_addr_, kJoin, message), core::ErrorCode::kInvalidArgument,
                 "shortest");
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
}

TEST_F(JoinAttacks, a_join_request_whose_signature_is_over_other_bytes_is_refused) {
  const Recorded before = recorded(a_, space_);
  const auto signed_one = request_by(m_.key(), now_ms());
  const auto other = request_by(m_.key(), now_ms());
  const cap::Envelope spliced{other.envelope.payload, signed_one.envelope.signature};
  const core::Bytes message =
      wire::encode(wire::JoinRequestMessage{cap::encode_envelope(spliced), {}});
  expect_refused(m_.exchange(a_addr_, kJoin, message), core::ErrorCode::kPermissionDenied,
                 "signature");
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
}

TEST_F(JoinAttacks, a_replayed_join_request_older_than_its_lifetime_is_refused_as_expired) {
  const Recorded before = recorded(a_, space_);
  const cap::Timestamp old = now_ms() - cap::kJoinRequestLifetime - membership::kHour;
  expect_refused(m_.exchange(a_addr_, kJoin, join_message(request_by(m_.key(), old))),
                 core::ErrorCode::kPermissionDenied, "older than");
  EXPECT_EQ(recorded(a_, space_), before) << dump(recorded(a_, space_));
}

TEST_F(JoinAttacks, a_replayed_join_request_is_answered_again_but_recorded_once) {
  const core::Bytes message = join_message(request_by(m_.key(), now_ms()));
  auto first = m_.exchange(a_addr_, kJoin, message);
  ASSERT_TRUE(first.ok()) << first.error().message;
  const Recorded after_first = recorded(a_, space_);
  ASSERT_EQ(after_first.requests.size(), 1u) << after_first.requests.dump();
  auto again = m_.exchange(a_addr_, kJoin, message);
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto answer = wire::decode_join_answer(*again);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, wire::JoinAnswer::Status::kPending);
  EXPECT_EQ(recorded(a_, space_), after_first) << dump(recorded(a_, space_));
}

TEST_F(JoinAttacks, a_flood_of_join_requests_is_rate_limited_and_the_daemon_stays_responsive) {
  int limited = 0;
  std::string limited_message;
  for (std::size_t i = 0; i < membership::kJoinRequestsPerWindow + 5; ++i) {
    auto reply = m_.exchange(a_addr_, kJoin, join_message(request_by(m_.key(), now_ms())));
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    auto answer = wire::decode_join_answer(*reply);
    ASSERT_TRUE(answer.ok()) << answer.error().message;
    if (answer->status == wire::JoinAnswer::Status::kRefused &&
        answer->refusal.message.find("too many join requests") != std::string::npos) {
      EXPECT_EQ(answer->refusal.code, core::ErrorCode::kResourceExhausted);
      ++limited;
      limited_message = answer->refusal.message;
    }
  }
  EXPECT_EQ(limited, 5) << limited_message;
  EXPECT_NE(limited_message.find(m_.peer_id().to_string()), std::string::npos) << limited_message;
  EXPECT_NE(limited_message.find("at most 10 in 60 s"), std::string::npos) << limited_message;

  // Only the pending limit's worth of M's requests was recorded.
  std::size_t from_m = 0;
  for (const auto& r : requests(a_, "incoming")) from_m += r["peer"] == m_.peer_id().to_string();
  EXPECT_EQ(from_m, membership::kMaxPendingRequestsPerPeer);

  // The API answers, and another peer is still heard.
  const auto started = std::chrono::steady_clock::now();
  auto status = a_.soma({"status"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_LT(took, membership::kStreamTimeout) << "soma status hung behind the flood";
  expect_b_can_still_join();
}

TEST_F(JoinAttacks, a_stalled_half_message_is_timed_out_while_others_are_served) {
  const Recorded before = recorded(a_, space_);
  const core::Bytes message = join_message(request_by(m_.key(), now_ms()));
  core::Bytes half = framed(message);
  half.resize(half.size() / 2);
  auto stall = m_.stall(a_addr_, kJoin, half);
  ASSERT_TRUE(stall.ok()) << stall.error().message;

  // While M hangs on, B is served.
  expect_b_can_still_join();

  auto ended = m_.wait_ended(*stall, membership::kStreamTimeout + 20s);
  ASSERT_TRUE(ended.has_value()) << "the daemon never ended the stalled stream";
  EXPECT_GE(*ended, membership::kStreamTimeout - 1s) << "ended before the timeout, not by it";
  const Recorded after = recorded(a_, space_);
  for (const auto& r : after.requests) EXPECT_NE(r["peer"], m_.peer_id().to_string());
  EXPECT_EQ(after.audit["entries"].size(), before.audit["entries"].size() + 1)
      << "only B's request may have been audited";
}

// ---- Decisions sent to a requester.

TEST_F(JoinAttacks, a_decision_for_a_request_never_made_is_refused_by_the_requester) {
  const Recorded before = recorded(b_, space_);
  cap::JoinRequest never;
  never.nonce = cap::new_artifact_id();
  never.space = space_;
  never.requester = crypto::PeerId::parse(b_id_).value();
  never.created_at = now_ms();
  auto decision = cap::reject_join(m_.key(), never, "no", now_ms());
  ASSERT_TRUE(decision.ok()) << decision.error().message;
  expect_ack_refused(m_.exchange(b_addr_, kDecision, decision_message(*decision)),
                     core::ErrorCode::kNotFound,
                     "no join request " + cap::to_hex(never.nonce) + " was sent from here");
  EXPECT_EQ(recorded(b_, space_), before) << dump(recorded(b_, space_));
}

TEST_F(JoinAttacks, a_decision_from_a_peer_the_request_did_not_go_to_is_refused) {
  json asked = run_json(b_, {"join", space_, "--via", a_addr_});
  ASSERT_EQ(asked["state"], "pending") << asked.dump();
  const Recorded before = recorded(b_, space_);

  // M learned the request's id and answers it, signing as itself.
  cap::JoinRequest seen;
  auto nonce = core::hex_decode(asked["id"].get<std::string>());
  ASSERT_TRUE(nonce.ok() && nonce->size() == cap::kArtifactIdSize);
  std::copy(nonce->begin(), nonce->end(), seen.nonce.begin());
  seen.space = space_;
  seen.requester = crypto::PeerId::parse(b_id_).value();
  seen.role = cap::Role::kMember;
  seen.created_at = now_ms();
  auto rejection = cap::reject_join(m_.key(), seen, "go away", now_ms());
  ASSERT_TRUE(rejection.ok()) << rejection.error().message;
  expect_ack_refused(
      m_.exchange(b_addr_, kDecision, decision_message(*rejection)),
      core::ErrorCode::kPermissionDenied,
      "came from " + m_.peer_id().to_string() + ", but the request went to " + a_id_);
  EXPECT_EQ(recorded(b_, space_), before) << dump(recorded(b_, space_));
}

// M poses as the owner of a space of its own that B asks to join; the
// approvals it then sends carry capabilities B must refuse.
class RogueDecider : public JoinAttacks {
 protected:
  void SetUp() override {
    JoinAttacks::SetUp();
    rogue_space_ = crypto::random_id();
    // The handler runs on the attacker's loop and may outlive this fixture's
    // own members, so it shares only what it owns.
    auto inbox = std::make_shared<Inbox>();
    const std::string b_id = b_id_;
    const std::string owner = m_.peer_id().to_string();
    auto answer_pending = [inbox, b_id, owner](const crypto::PeerId& from,
                                               const core::Bytes& bytes) {
      auto message = wire::decode_join_request(bytes);
      if (message.ok()) {
        auto request = cap::decode_signed<cap::JoinRequest>(message->request);
        if (request.ok() && from.to_string() == b_id) {
          std::lock_guard lock(inbox->mutex);
          inbox->request = request->body;
        }
      }
      wire::JoinAnswer answer;
      answer.status = wire::JoinAnswer::Status::kPending;
      answer.owner = owner;
      return wire::encode(answer);
    };
    ASSERT_TRUE(m_.serve(kJoin, answer_pending).ok());
    json asked = run_json(b_, {"join", rogue_space_, "--via", m_.address()});
    ASSERT_EQ(asked["state"], "pending") << asked.dump();
    {
      std::lock_guard lock(inbox->mutex);
      received_ = inbox->request;
    }
    ASSERT_TRUE(received_.has_value()) << "B's request never reached the attacker";
    before_ = recorded(b_, rogue_space_);
  }

  cap::SpaceRef rogue() const { return {rogue_space_, m_.peer_id()}; }

  // A capability M issues for the rogue space to `subject`.
  cap::Signed<cap::MembershipCapability> capability_for(const crypto::PeerId& subject,
                                                        cap::Timestamp issued_at,
                                                        cap::Timestamp expires_at) {
    auto c = cap::issue_membership(m_.key(), rogue(),
                                   {subject, cap::Role::kEditor, issued_at, expires_at});
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(*c);
  }

  // M's approval of B's request carrying `capability`, signed by M even
  // where approve_join would refuse to.
  cap::Signed<cap::JoinDecision> approval(cap::Signed<cap::MembershipCapability> capability) {
    cap::JoinDecision d;
    d.request = received_->nonce;
    d.space = received_->space;
    d.requester = received_->requester;
    d.decider = m_.peer_id();
    d.outcome = cap::JoinOutcome::kApproved;
    d.issued_at = now_ms();
    d.capability = std::move(capability);
    auto signed_decision = cap::sign(std::move(d), m_.key());
    EXPECT_TRUE(signed_decision.ok()) << signed_decision.error().message;
    return std::move(*signed_decision);
  }

  void expect_refused_and_unchanged(const cap::Signed<cap::JoinDecision>& decision,
                                    core::ErrorCode code, const std::string& needle) {
    expect_ack_refused(m_.exchange(b_addr_, kDecision, decision_message(decision)), code, needle);
    EXPECT_EQ(recorded(b_, rogue_space_), before_) << dump(recorded(b_, rogue_space_));
  }

  std::string rogue_space_;
  struct Inbox {
    std::mutex mutex;
    std::optional<cap::JoinRequest> request;
  };
  std::optional<cap::JoinRequest> received_;
  Recorded before_;
};

TEST_F(RogueDecider, a_valid_approval_from_the_peer_asked_is_accepted) {
  // The control: the attacks below differ from this only in what they forge.
  const auto b = crypto::PeerId::parse(b_id_).value();
  auto decision = approval(capability_for(b, now_ms(), now_ms() + membership::kDay));
  auto reply = m_.exchange(b_addr_, kDecision, decision_message(decision));
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  auto ack = wire::decode_decision_ack(*reply);
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_TRUE(ack->accepted) << ack->refusal.message;
}

TEST_F(RogueDecider, an_approval_whose_capability_names_another_subject_is_refused) {
  const auto other =
      crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  auto decision = approval(capability_for(other, now_ms(), now_ms() + membership::kDay));
  expect_refused_and_unchanged(decision, core::ErrorCode::kPermissionDenied, other.to_string());
}

TEST_F(RogueDecider, an_approval_whose_capability_a_stranger_signed_is_a_bad_signature) {
  const auto b = crypto::PeerId::parse(b_id_).value();
  auto capability = capability_for(b, now_ms(), now_ms() + membership::kDay);
  const auto stranger = crypto::Ed25519PrivateKey::generate();
  capability.envelope.signature = stranger.sign(capability.envelope.payload);
  expect_refused_and_unchanged(approval(std::move(capability)), core::ErrorCode::kPermissionDenied,
                               "signature");
}

TEST_F(RogueDecider, a_valid_approval_in_a_second_byte_form_is_refused_as_not_deterministic) {
  const auto b = crypto::PeerId::parse(b_id_).value();
  auto decision = approval(capability_for(b, now_ms(), now_ms() + membership::kDay));
  const core::Bytes message =
      wire::encode(wire::DecisionMessage{stretched(decision.envelope), "Lure"});
  expect_ack_refused(m_.exchange(b_addr_, kDecision, message), core::ErrorCode::kInvalidArgument,
                     "shortest");
  EXPECT_EQ(recorded(b_, rogue_space_), before_) << dump(recorded(b_, rogue_space_));
}

TEST_F(RogueDecider, an_approval_whose_capability_expired_beyond_the_skew_is_refused) {
  const auto b = crypto::PeerId::parse(b_id_).value();
  const cap::Timestamp now = now_ms();
  auto decision = approval(capability_for(b, now - 2 * membership::kDay,
                                          now - cap::kClockSkewAllowance - membership::kMinute));
  expect_refused_and_unchanged(decision, core::ErrorCode::kPermissionDenied, "expired");
}

TEST_F(RogueDecider, an_approval_whose_capability_is_for_another_space_is_refused) {
  const auto b = crypto::PeerId::parse(b_id_).value();
  const cap::SpaceRef elsewhere{crypto::random_id(), m_.peer_id()};
  auto capability = cap::issue_membership(
      m_.key(), elsewhere, {b, cap::Role::kEditor, now_ms(), now_ms() + membership::kDay});
  ASSERT_TRUE(capability.ok()) << capability.error().message;
  expect_refused_and_unchanged(approval(std::move(*capability)), core::ErrorCode::kPermissionDenied,
                               elsewhere.id);
}

}  // namespace
}  // namespace soma::security
