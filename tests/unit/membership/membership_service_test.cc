// The join flow's rules between two real MembershipServices, each over its
// own SQLite database: the messages travel as the bytes the wire carries,
// handed over directly (the network is exercised by the integration tests).
#include "membership/membership_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "cap/issuance.h"
#include "cap/signing.h"
#include "crypto/random.h"
#include "store/capability_repository.h"
#include "store/migrations.h"
#include "store/space_repository.h"
#include "unit/cap/memory_capability_store.h"

namespace soma::membership {
namespace {

namespace fs = std::filesystem;
using cap::testing::ManualClock;
using store::Delivery;
using store::JoinDirection;
using store::JoinState;

constexpr Timestamp kStart = 1'800'000'000'000;

crypto::Ed25519PrivateKey key(std::uint8_t fill) {
  core::Bytes seed(crypto::kEd25519SeedSize, fill);
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

crypto::PeerId peer_of(const crypto::Ed25519PrivateKey& k) {
  return crypto::PeerId::from_public_key(k.public_key());
}

// One daemon's membership stack over a database file in `dir`.
struct Peer {
  Peer(const fs::path& dir, const ManualClock& clock, crypto::Ed25519PrivateKey k,
       Limits limits = {})
      : identity(k), id(peer_of(k)) {
    auto opened = store::Database::open(dir / "soma.db", store::daemon_migrations());
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    db = std::move(*opened);
    events = std::make_unique<store::EventLog>(*db);
    capabilities = std::make_unique<store::CapabilityRepository>(*db);
    owners = std::make_unique<store::SpaceOwners>(*db);
    authorizer = std::make_unique<cap::Authorizer>(*capabilities, *owners, clock);
    service = std::make_unique<MembershipService>(*db, *events, *authorizer, *capabilities, *owners,
                                                  clock, k, limits);
  }

  std::string create_space(const std::string& name) {
    store::SpaceRecord row;
    row.id = crypto::random_id();
    row.name = name;
    row.owner = id.to_string();
    row.role = "owner";
    row.created_ms = row.updated_ms = kStart;
    EXPECT_TRUE(store::SpaceRepository(*db).insert(row).ok());
    return row.id;
  }

  std::vector<store::Event> events_of_kind(const std::string& kind) {
    std::vector<store::Event> out;
    auto all = events->list_after(0, 1000);
    EXPECT_TRUE(all.ok());
    for (auto& e : *all) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  std::vector<std::string> audit_actions(const std::string& space) {
    auto entries = service->audit(space, 0, 0);
    EXPECT_TRUE(entries.ok()) << entries.error().message;
    std::vector<std::string> out;
    for (const auto& e : *entries) out.push_back(e.action);
    return out;
  }

  crypto::Ed25519PrivateKey identity;
  crypto::PeerId id;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::EventLog> events;
  std::unique_ptr<store::CapabilityRepository> capabilities;
  std::unique_ptr<store::SpaceOwners> owners;
  std::unique_ptr<cap::Authorizer> authorizer;
  std::unique_ptr<MembershipService> service;
};

class MembershipServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-membership-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
    fs::create_directories(dir_ / "c");
    a_ = std::make_unique<Peer>(dir_ / "a", clock_, key(0xa1), limits_);
    b_ = std::make_unique<Peer>(dir_ / "b", clock_, key(0xb2), limits_);
    space_ = a_->create_space("Team");
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // B asks A to join as `role`; returns the request id once A recorded it.
  std::string request_join(const std::string& role = "editor") {
    auto begun = b_->service->begin_join(space_, role, "/ip4/127.0.0.1/tcp/1");
    EXPECT_TRUE(begun.ok()) << begun.error().message;
    if (!begun.ok()) return {};
    auto answer = a_->service->receive_request(b_->id, begun->request, {"/ip4/127.0.0.1/tcp/9"});
    EXPECT_TRUE(answer.ok()) << answer.error().message;
    if (answer.ok()) {
      EXPECT_FALSE(answer->decided);
      EXPECT_EQ(answer->owner, a_->id);
    }
    auto sent = b_->service->join_sent(begun->id, a_->id, a_->id);
    EXPECT_TRUE(sent.ok()) << sent.error().message;
    return begun->id;
  }

  // Hands A's due decisions to B, as the courier would.
  void deliver_all() {
    auto due = a_->service->due_deliveries(16);
    ASSERT_TRUE(due.ok()) << due.error().message;
    for (const auto& d : *due) {
      EXPECT_EQ(d.peer, b_->id);
      auto got = b_->service->receive_decision(a_->id, d.decision, d.space_name);
      ASSERT_TRUE(got.ok()) << got.error().message;
      ASSERT_TRUE(a_->service->delivery_succeeded(d.request_id).ok());
    }
  }

  fs::path dir_;
  ManualClock clock_{kStart};
  Limits limits_;
  std::unique_ptr<Peer> a_;
  std::unique_ptr<Peer> b_;
  std::string space_;
};

TEST_F(MembershipServiceTest, approval_makes_the_requester_a_member_with_the_granted_role) {
  const std::string id = request_join("viewer");

  auto pending_a = a_->service->get_request(id);
  ASSERT_TRUE(pending_a.ok());
  EXPECT_EQ(pending_a->direction, JoinDirection::kIncoming);
  EXPECT_EQ(pending_a->state, JoinState::kPending);
  EXPECT_EQ(pending_a->peer, b_->id.to_string());
  EXPECT_EQ(pending_a->space_name, "Team");
  auto pending_b = b_->service->get_request(id);
  ASSERT_TRUE(pending_b.ok());
  EXPECT_EQ(pending_b->direction, JoinDirection::kOutgoing);
  EXPECT_EQ(pending_b->state, JoinState::kPending);

  auto approved = a_->service->approve(id, "editor", kStart + 30 * kDay);
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  EXPECT_EQ(approved->state, JoinState::kApproved);
  EXPECT_EQ(approved->granted_role, "editor");
  EXPECT_EQ(approved->expires_ms, kStart + 30 * kDay);
  EXPECT_EQ(approved->delivery, Delivery::kPending);
  deliver_all();

  // B holds the space, owned by A, as editor; both authorizers agree.
  auto joined = b_->service->get_request(id);
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(joined->state, JoinState::kApproved);
  EXPECT_EQ(joined->granted_role, "editor");
  auto row = store::SpaceRepository(*b_->db).find(space_);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->owner, a_->id.to_string());
  EXPECT_EQ((*row)->role, "editor");
  EXPECT_EQ((*row)->name, "Team");
  EXPECT_EQ((*row)->membership_state, "joined");
  auto b_role = b_->service->role_of(space_, b_->id);
  ASSERT_TRUE(b_role.ok());
  ASSERT_TRUE(b_role->allowed()) << b_role->refusal->message;
  EXPECT_EQ(*b_role->role, cap::Role::kEditor);
  auto a_view = a_->service->role_of(space_, b_->id);
  ASSERT_TRUE(a_view.ok());
  ASSERT_TRUE(a_view->allowed());
  EXPECT_EQ(*a_view->role, cap::Role::kEditor);
  auto b_sees_owner = b_->service->role_of(space_, a_->id);
  ASSERT_TRUE(b_sees_owner.ok() && b_sees_owner->allowed());
  EXPECT_EQ(*b_sees_owner->role, cap::Role::kOwner);

  auto delivered = a_->service->get_request(id);
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(delivered->delivery, Delivery::kDelivered);

  EXPECT_EQ(a_->audit_actions("Team"),
            (std::vector<std::string>{"request.received", "decision.made", "capability.issued",
                                      "decision.delivered"}));
  EXPECT_EQ(b_->audit_actions(space_),
            (std::vector<std::string>{"request.sent", "decision.received", "capability.accepted"}));
  EXPECT_EQ(a_->events_of_kind("join.request_received").size(), 1u);
  EXPECT_EQ(a_->events_of_kind("join.approved").size(), 1u);
  EXPECT_EQ(b_->events_of_kind("join.decision_received").size(), 1u);
  EXPECT_EQ(b_->events_of_kind("space.joined").size(), 1u);
}

TEST_F(MembershipServiceTest, membership_survives_reopening_both_databases) {
  const std::string id = request_join();
  ASSERT_TRUE(a_->service->approve(id, "", std::nullopt).ok());
  deliver_all();
  a_ = std::make_unique<Peer>(dir_ / "a", clock_, key(0xa1));
  b_ = std::make_unique<Peer>(dir_ / "b", clock_, key(0xb2));

  auto role = b_->service->role_of(space_, b_->id);
  ASSERT_TRUE(role.ok());
  ASSERT_TRUE(role->allowed());
  EXPECT_EQ(*role->role, cap::Role::kEditor);
  EXPECT_EQ(role->valid_until, kStart + kDefaultMembershipLifetime);
  auto listed = a_->service->list_requests(RequestFilter{JoinDirection::kIncoming, {}, ""});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state, JoinState::kApproved);
}

TEST_F(MembershipServiceTest, rejection_reaches_the_requester_with_its_reason) {
  const std::string id = request_join();
  auto rejected = a_->service->reject(id.substr(0, 10), "not this team");
  ASSERT_TRUE(rejected.ok()) << rejected.error().message;
  EXPECT_EQ(rejected->state, JoinState::kRejected);
  deliver_all();

  auto b_side = b_->service->get_request(id);
  ASSERT_TRUE(b_side.ok());
  EXPECT_EQ(b_side->state, JoinState::kRejected);
  EXPECT_EQ(b_side->reason, "not this team");
  auto row = store::SpaceRepository(*b_->db).find(space_);
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->has_value());
  auto role = b_->service->role_of(space_, b_->id);
  ASSERT_TRUE(role.ok());
  EXPECT_FALSE(role->allowed());
  EXPECT_EQ(role->refusal->reason, cap::Reason::kUnknownSpace);
}

TEST_F(MembershipServiceTest, refuses_a_request_naming_another_peer_than_its_channel) {
  auto begun = b_->service->begin_join(space_, "member", "x");
  ASSERT_TRUE(begun.ok());
  const auto stranger = peer_of(key(0xc3));
  auto answer = a_->service->receive_request(stranger, begun->request, {});
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(answer.error().message.find(stranger.to_string()), std::string::npos);
  auto listed = a_->service->list_requests({});
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST_F(MembershipServiceTest, refuses_a_request_for_an_unknown_space_or_one_owned_elsewhere) {
  const std::string unknown = crypto::random_id();
  auto begun = b_->service->begin_join(unknown, "member", "x");
  ASSERT_TRUE(begun.ok());
  auto answer = a_->service->receive_request(b_->id, begun->request, {});
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, core::ErrorCode::kNotFound);

  // A space A holds but does not own.
  store::SpaceRecord row;
  row.id = crypto::random_id();
  row.name = "Theirs";
  row.owner = peer_of(key(0xc3)).to_string();
  row.role = "editor";
  ASSERT_TRUE(store::SpaceRepository(*a_->db).insert(row).ok());
  auto other = b_->service->begin_join(row.id, "member", "x");
  ASSERT_TRUE(other.ok());
  auto refused = a_->service->receive_request(b_->id, other->request, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kPermissionDenied);
}

TEST_F(MembershipServiceTest, refuses_malformed_and_stale_requests) {
  const core::Bytes garbage{0xa2, 0x01, 0x40};
  auto bad = a_->service->receive_request(b_->id, garbage, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, core::ErrorCode::kInvalidArgument);

  auto begun = b_->service->begin_join(space_, "member", "x");
  ASSERT_TRUE(begun.ok());
  clock_.advance(cap::kJoinRequestLifetime + kDay);
  auto stale = a_->service->receive_request(b_->id, begun->request, {});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, core::ErrorCode::kPermissionDenied);
}

TEST_F(MembershipServiceTest, rate_limits_requests_per_peer) {
  Limits tight;
  tight.requests_per_window = 2;
  a_ = std::make_unique<Peer>(dir_ / "a", clock_, key(0xa1), tight);
  const core::Bytes garbage{0x00};
  // Refused ones count too, so a flood of junk is limited as well.
  EXPECT_EQ(a_->service->receive_request(b_->id, garbage, {}).error().code,
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(a_->service->receive_request(b_->id, garbage, {}).error().code,
            core::ErrorCode::kInvalidArgument);
  auto limited = a_->service->receive_request(b_->id, garbage, {});
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, core::ErrorCode::kResourceExhausted);
  // Another peer is not affected; the limit lifts after the window.
  EXPECT_EQ(a_->service->receive_request(peer_of(key(0xc3)), garbage, {}).error().code,
            core::ErrorCode::kInvalidArgument);
  clock_.advance(tight.rate_window);
  EXPECT_EQ(a_->service->receive_request(b_->id, garbage, {}).error().code,
            core::ErrorCode::kInvalidArgument);
}

TEST_F(MembershipServiceTest, bounds_pending_requests_per_peer_and_in_total) {
  Limits tight;
  tight.max_pending_per_peer = 2;
  tight.max_pending = 3;
  a_ = std::make_unique<Peer>(dir_ / "a", clock_, key(0xa1), tight);
  auto c = std::make_unique<Peer>(dir_ / "c", clock_, key(0xc3));

  // B's own service allows one pending request per space, so B asks for
  // three spaces.
  std::vector<std::string> spaces{space_, a_->create_space("Two"), a_->create_space("Three")};
  for (int i = 0; i < 3; ++i) {
    auto begun = b_->service->begin_join(spaces[i], "member", "x");
    ASSERT_TRUE(begun.ok()) << begun.error().message;
    auto answer = a_->service->receive_request(b_->id, begun->request, {});
    if (i < 2) {
      ASSERT_TRUE(answer.ok()) << answer.error().message;
    } else {
      ASSERT_FALSE(answer.ok());
      EXPECT_EQ(answer.error().code, core::ErrorCode::kResourceExhausted);
    }
  }
  auto from_c = c->service->begin_join(space_, "member", "x");
  ASSERT_TRUE(from_c.ok());
  ASSERT_TRUE(a_->service->receive_request(c->id, from_c->request, {}).ok());
  auto from_c2 = c->service->begin_join(spaces[1], "member", "x");
  ASSERT_TRUE(from_c2.ok());
  auto full = a_->service->receive_request(c->id, from_c2->request, {});
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, core::ErrorCode::kResourceExhausted);
}

TEST_F(MembershipServiceTest, a_repeated_request_gets_its_current_answer) {
  auto begun = b_->service->begin_join(space_, "viewer", "x");
  ASSERT_TRUE(begun.ok());
  ASSERT_TRUE(a_->service->receive_request(b_->id, begun->request, {}).ok());
  auto again = a_->service->receive_request(b_->id, begun->request, {});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->decided);
  ASSERT_TRUE(b_->service->join_sent(begun->id, a_->id, a_->id).ok());

  ASSERT_TRUE(a_->service->approve(begun->id, "", std::nullopt).ok());
  auto decided = a_->service->receive_request(b_->id, begun->request, {});
  ASSERT_TRUE(decided.ok()) << decided.error().message;
  ASSERT_TRUE(decided->decided);
  EXPECT_EQ(decided->space_name, "Team");
  // The decision in the answer is enough to join.
  auto joined = b_->service->receive_decision(a_->id, decided->decision, decided->space_name);
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  EXPECT_EQ(joined->granted_role, "viewer");
  // And the same decision delivered again is accepted once, idempotently.
  auto twice = b_->service->receive_decision(a_->id, decided->decision, decided->space_name);
  ASSERT_TRUE(twice.ok()) << twice.error().message;
  EXPECT_EQ(b_->events_of_kind("space.joined").size(), 1u);
}

TEST_F(MembershipServiceTest, refuses_a_decision_for_a_request_never_made) {
  auto c = std::make_unique<Peer>(dir_ / "c", clock_, key(0xc3));
  auto begun = c->service->begin_join(space_, "member", "x");
  ASSERT_TRUE(begun.ok());
  ASSERT_TRUE(a_->service->receive_request(c->id, begun->request, {}).ok());
  auto approved = a_->service->approve(begun->id, "", std::nullopt);
  ASSERT_TRUE(approved.ok());
  auto due = a_->service->due_deliveries(16);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);

  // C's decision handed to B: B never asked.
  auto got = b_->service->receive_decision(a_->id, (*due)[0].decision, "Team");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, core::ErrorCode::kNotFound);
  auto row = store::SpaceRepository(*b_->db).find(space_);
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->has_value());
}

TEST_F(MembershipServiceTest, refuses_a_decision_from_a_peer_the_request_did_not_go_to) {
  const std::string id = request_join();
  ASSERT_TRUE(a_->service->approve(id, "", std::nullopt).ok());
  auto due = a_->service->due_deliveries(16);
  ASSERT_TRUE(due.ok() && due->size() == 1u);
  auto got = b_->service->receive_decision(peer_of(key(0xc3)), (*due)[0].decision, "Team");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, core::ErrorCode::kPermissionDenied);
  auto still = b_->service->get_request(id);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->state, JoinState::kPending);
}

TEST_F(MembershipServiceTest, refuses_a_decision_for_another_space) {
  const std::string id = request_join();
  // A signs an approval for the same nonce but another of its spaces.
  const std::string other = a_->create_space("Other");
  auto begun_req = cap::request_join(b_->identity, other, cap::Role::kEditor, kStart);
  ASSERT_TRUE(begun_req.ok());
  cap::JoinRequest forged = begun_req->body;
  auto nonce = core::Bytes();
  for (std::size_t i = 0; i < id.size(); i += 2) {
    nonce.push_back(static_cast<std::uint8_t>(std::stoi(id.substr(i, 2), nullptr, 16)));
  }
  std::copy(nonce.begin(), nonce.end(), forged.nonce.begin());
  auto capability = cap::issue_membership(
      a_->identity, cap::SpaceRef{other, a_->id},
      cap::MembershipGrant{b_->id, cap::Role::kEditor, kStart, kStart + kDay});
  ASSERT_TRUE(capability.ok());
  auto decision = cap::approve_join(a_->identity, forged, *capability, kStart);
  ASSERT_TRUE(decision.ok()) << decision.error().message;

  auto got = b_->service->receive_decision(a_->id, cap::encode_signed(*decision), "Other");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(got.error().message.find("space"), std::string::npos);
}

TEST_F(MembershipServiceTest, refuses_an_approval_whose_capability_names_another_subject) {
  const std::string id = request_join();
  auto stored = store::JoinRequestRepository(*b_->db).find(id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  auto decoded = cap::decode_signed<cap::JoinRequest>((*stored)->request);
  ASSERT_TRUE(decoded.ok());

  // A well-signed approval of B's request whose capability is made out to C.
  const auto c_id = peer_of(key(0xc3));
  auto capability =
      cap::issue_membership(a_->identity, cap::SpaceRef{space_, a_->id},
                            cap::MembershipGrant{c_id, cap::Role::kEditor, kStart, kStart + kDay});
  ASSERT_TRUE(capability.ok());
  cap::JoinDecision d;
  d.request = decoded->body.nonce;
  d.space = space_;
  d.requester = b_->id;
  d.decider = a_->id;
  d.outcome = cap::JoinOutcome::kApproved;
  d.issued_at = kStart;
  d.capability = *capability;
  auto signed_decision = cap::sign(d, a_->identity);
  ASSERT_TRUE(signed_decision.ok()) << signed_decision.error().message;

  auto got = b_->service->receive_decision(a_->id, cap::encode_signed(*signed_decision), "Team");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, core::ErrorCode::kPermissionDenied);
  auto row = store::SpaceRepository(*b_->db).find(space_);
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->has_value());
  auto caps = b_->capabilities->capabilities_for(space_, c_id);
  ASSERT_TRUE(caps.ok());
  EXPECT_TRUE(caps->empty());
}

TEST_F(MembershipServiceTest, approve_and_reject_refuse_what_cannot_be_decided) {
  auto unknown = a_->service->approve("0123456789abcdef0123456789abcdef", "", std::nullopt);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, core::ErrorCode::kNotFound);
  auto not_hex = a_->service->approve("zzzzzzzzzz", "", std::nullopt);
  ASSERT_FALSE(not_hex.ok());
  EXPECT_EQ(not_hex.error().code, core::ErrorCode::kInvalidArgument);
  auto too_short = a_->service->approve("0123", "", std::nullopt);
  ASSERT_FALSE(too_short.ok());
  EXPECT_EQ(too_short.error().code, core::ErrorCode::kInvalidArgument);

  const std::string id = request_join();
  auto as_owner = a_->service->approve(id, "owner", std::nullopt);
  ASSERT_FALSE(as_owner.ok());
  EXPECT_EQ(as_owner.error().code, core::ErrorCode::kInvalidArgument);
  auto past = a_->service->approve(id, "", kStart - 1);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, core::ErrorCode::kInvalidArgument);
  auto long_reason = a_->service->reject(id, std::string(cap::kMaxReasonBytes + 1, 'x'));
  ASSERT_FALSE(long_reason.ok());
  EXPECT_EQ(long_reason.error().code, core::ErrorCode::kInvalidArgument);
  // A reason is signed and shown on the requester's device: no terminal
  // escapes, no lines.
  for (const std::string reason : {"\x1b[31mred", "two\nlines", "bad \xff byte"}) {
    auto refused = a_->service->reject(id, reason);
    ASSERT_FALSE(refused.ok()) << reason;
    EXPECT_EQ(refused.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(refused.error().message.find("the reason"), std::string::npos)
        << refused.error().message;
  }
  // B cannot decide its own outgoing request.
  auto own = b_->service->approve(id, "", std::nullopt);
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().code, core::ErrorCode::kFailedPrecondition);

  ASSERT_TRUE(a_->service->approve(id, "", std::nullopt).ok());
  auto twice = a_->service->reject(id, "");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, core::ErrorCode::kFailedPrecondition);
}

TEST_F(MembershipServiceTest, begin_join_refuses_a_space_held_here_or_already_asked_for) {
  auto own = a_->service->begin_join(space_, "member", "x");
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().code, core::ErrorCode::kAlreadyExists);
  auto as_owner = b_->service->begin_join(space_, "owner", "x");
  ASSERT_FALSE(as_owner.ok());
  EXPECT_EQ(as_owner.error().code, core::ErrorCode::kInvalidArgument);
  auto bad_id = b_->service->begin_join("not-a-space", "member", "x");
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.error().code, core::ErrorCode::kInvalidArgument);

  const std::string id = request_join();
  auto again = b_->service->begin_join(space_, "member", "x");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find(id), std::string::npos);

  // A request that never reached anyone does not block a new one.
  auto c = std::make_unique<Peer>(dir_ / "c", clock_, key(0xc3));
  auto lost = c->service->begin_join(space_, "member", "x");
  ASSERT_TRUE(lost.ok());
  auto retry = c->service->begin_join(space_, "member", "x");
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  auto first = c->service->get_request(lost->id);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, JoinState::kFailed);
}

TEST_F(MembershipServiceTest, failed_deliveries_back_off_and_give_up_when_refused) {
  const std::string id = request_join();
  ASSERT_TRUE(a_->service->approve(id, "", std::nullopt).ok());

  const core::Error offline = core::Error::unavailable("connection refused");
  ASSERT_TRUE(a_->service->delivery_failed(id, offline, false).ok());
  auto next = a_->service->next_delivery_at();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, kStart + kFirstRetryDelay);
  auto none_due = a_->service->due_deliveries(16);
  ASSERT_TRUE(none_due.ok());
  EXPECT_TRUE(none_due->empty());
  clock_.advance(kFirstRetryDelay);
  ASSERT_TRUE(a_->service->delivery_failed(id, offline, false).ok());
  next = a_->service->next_delivery_at();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, kStart + kFirstRetryDelay + 2 * kFirstRetryDelay);
  auto pending = a_->service->get_request(id);
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->delivery, Delivery::kPending);
  EXPECT_NE(pending->detail.find("connection refused"), std::string::npos);

  ASSERT_TRUE(
      a_->service->delivery_failed(id, core::Error::not_found("no such request"), true).ok());
  auto failed = a_->service->get_request(id);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->delivery, Delivery::kFailed);
  next = a_->service->next_delivery_at();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  auto actions = a_->audit_actions(space_);
  EXPECT_EQ(actions.back(), "decision.undeliverable");
}

TEST_F(MembershipServiceTest, delivery_gives_up_after_its_deadline) {
  Limits quick;
  quick.delivery_give_up_after = 10 * kSecond;
  quick.first_retry_delay = 4 * kSecond;
  a_ = std::make_unique<Peer>(dir_ / "a", clock_, key(0xa1), quick);
  const std::string id = request_join();
  ASSERT_TRUE(a_->service->approve(id, "", std::nullopt).ok());
  const core::Error offline = core::Error::unavailable("connection refused");
  ASSERT_TRUE(a_->service->delivery_failed(id, offline, false).ok());  // next at +4 s
  clock_.advance(4 * kSecond);
  ASSERT_TRUE(a_->service->delivery_failed(id, offline, false).ok());  // next at +12 s: too late
  auto failed = a_->service->get_request(id);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->delivery, Delivery::kFailed);
}

TEST_F(MembershipServiceTest, undelivered_decisions_survive_reopening_the_database) {
  const std::string id = request_join();
  ASSERT_TRUE(a_->service->approve(id, "", std::nullopt).ok());
  a_ = std::make_unique<Peer>(dir_ / "a", clock_, key(0xa1));
  auto due = a_->service->due_deliveries(16);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].request_id, id);
  EXPECT_EQ((*due)[0].addrs, std::vector<std::string>{"/ip4/127.0.0.1/tcp/9"});
  EXPECT_EQ((*due)[0].space_name, "Team");
}

TEST_F(MembershipServiceTest, audit_finds_a_space_by_name_or_id_and_refuses_unknown_names) {
  request_join();
  auto by_name = a_->service->audit("Team", 0, 0);
  auto by_id = a_->service->audit(space_, 0, 0);
  ASSERT_TRUE(by_name.ok() && by_id.ok());
  EXPECT_EQ(by_name->size(), 1u);
  EXPECT_EQ(by_id->size(), 1u);
  auto unknown = a_->service->audit("Nope", 0, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, core::ErrorCode::kNotFound);
  // B does not hold the space yet, but its id still shows B's history.
  auto b_history = b_->service->audit(space_, 0, 0);
  ASSERT_TRUE(b_history.ok());
  EXPECT_EQ(b_history->size(), 1u);
}

}  // namespace
}  // namespace soma::membership
