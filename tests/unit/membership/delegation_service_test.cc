// Delegated issuance and revocation between real services, each over its
// own SQLite database: the owner A delegates to C, requesters ask C, and
// pushed artifacts travel as the bytes /soma/capability/1 carries, handed
// over directly (the network is exercised by the integration tests).
#include "membership/delegation_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "cap/issuance.h"
#include "cap/signing.h"
#include "crypto/random.h"
#include "membership/delegate_decider.h"
#include "membership/membership_service.h"
#include "store/capability_repository.h"
#include "store/migrations.h"
#include "store/space_repository.h"
#include "unit/cap/memory_capability_store.h"

namespace soma::membership {
namespace {

namespace fs = std::filesystem;
using cap::testing::ManualClock;
using store::JoinState;

constexpr Timestamp kStart = 1'800'000'000'000;

crypto::Ed25519PrivateKey key(std::uint8_t fill) {
  core::Bytes seed(crypto::kEd25519SeedSize, fill);
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

// One daemon's membership stack, wired as the daemon wires it.
struct Node {
  Node(const fs::path& dir, const ManualClock& clock, crypto::Ed25519PrivateKey k)
      : id(crypto::PeerId::from_public_key(k.public_key())) {
    fs::create_directories(dir);
    auto opened = store::Database::open(dir / "soma.db", store::daemon_migrations());
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    db = std::move(*opened);
    events = std::make_unique<store::EventLog>(*db);
    capabilities = std::make_unique<store::CapabilityRepository>(*db);
    owners = std::make_unique<store::SpaceOwners>(*db);
    authorizer = std::make_unique<cap::Authorizer>(*capabilities, *owners, clock);
    delegations = std::make_unique<DelegationService>(*db, *events, *authorizer, *capabilities,
                                                      *owners, clock, k);
    decider = std::make_unique<DelegateDecides>(*delegations, *owners, kDefaultMembershipLifetime);
    service = std::make_unique<MembershipService>(*db, *events, *authorizer, *capabilities, *owners,
                                                  clock, k, Limits{}, decider.get());
    service->set_delegations(delegations.get());
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

  // Hands every due push to `to` as from this node; returns how many
  // `to` accepted.
  int push_to(Node& to) {
    auto due = delegations->due_pushes(100);
    EXPECT_TRUE(due.ok()) << due.error().message;
    int accepted = 0;
    for (const auto& p : *due) {
      if (p.peer != to.id) continue;
      auto got = to.delegations->receive(id, p.message);
      EXPECT_TRUE(got.ok()) << got.error().message;
      if (got.ok()) {
        ++accepted;
        EXPECT_TRUE(delegations->push_succeeded(p.id).ok());
      }
    }
    return accepted;
  }

  std::optional<cap::Role> role_of(const std::string& space, const crypto::PeerId& peer) {
    auto d = service->role_of(space, peer);
    EXPECT_TRUE(d.ok());
    if (!d.ok() || !d->allowed()) return std::nullopt;
    return d->role;
  }

  crypto::PeerId id;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::EventLog> events;
  std::unique_ptr<store::CapabilityRepository> capabilities;
  std::unique_ptr<store::SpaceOwners> owners;
  std::unique_ptr<cap::Authorizer> authorizer;
  std::unique_ptr<DelegationService> delegations;
  std::unique_ptr<DelegateDecides> decider;
  std::unique_ptr<MembershipService> service;
};

class DelegationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-delegation-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    a_ = std::make_unique<Node>(dir_ / "a", clock_, key(0xa1));
    c_ = std::make_unique<Node>(dir_ / "c", clock_, key(0xc3));
    b_ = std::make_unique<Node>(dir_ / "b", clock_, key(0xb2));
    d_ = std::make_unique<Node>(dir_ / "d", clock_, key(0xd4));
    space_ = a_->create_space("Team");
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    c_.reset();
    d_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  DelegationInfo delegate_to_c(std::vector<std::string> roles, std::uint32_t rate) {
    DelegateArgs args;
    args.space = "Team";
    args.peer = c_->id.to_string();
    args.roles = std::move(roles);
    args.expires_at = kStart + 20 * kDay;
    args.max_member_expires_at = kStart + 10 * kDay;
    args.rate_per_hour = rate;
    auto d = a_->delegations->delegate(args);
    EXPECT_TRUE(d.ok()) << d.error().message;
    return d.ok() ? *d : DelegationInfo{};
  }

  // `who` asks C to join as `role`: the answer C gives, after `who`
  // handled it.
  core::Result<IncomingAnswer> ask_c(Node& who, const std::string& role) {
    auto begun = who.service->begin_join(space_, role, "c");
    if (!begun) return begun.take_error();
    auto answer = c_->service->receive_request(who.id, begun->request, {});
    if (!answer) return answer.take_error();
    auto sent = who.service->join_sent(begun->id, c_->id, answer->owner);
    EXPECT_TRUE(sent.ok()) << sent.error().message;
    if (answer->decided) {
      auto got = who.service->receive_decision(c_->id, answer->decision, answer->space_name);
      EXPECT_TRUE(got.ok()) << got.error().message;
    }
    return answer;
  }

  fs::path dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<Node> a_, c_, b_, d_;
  std::string space_;
};

TEST_F(DelegationServiceTest, a_delegate_approves_within_roles_and_rate_and_reports_to_the_owner) {
  const DelegationInfo d = delegate_to_c({"viewer", "editor"}, 1);
  EXPECT_EQ(d.roles, (std::vector<std::string>{"editor", "viewer"}));
  ASSERT_EQ(a_->push_to(*c_), 1);

  // C now knows the space and its owner.
  auto row = store::SpaceRepository(*c_->db).find(space_);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->owner, a_->id.to_string());
  EXPECT_EQ((*row)->role, "issuer");
  EXPECT_EQ((*row)->membership_state, "delegated");

  // B asks for editor: approved at once, capped at the delegation's limit.
  auto answer = ask_c(*b_, "editor");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_TRUE(answer->decided);
  EXPECT_EQ(answer->owner, a_->id);
  EXPECT_EQ(b_->role_of(space_, b_->id), cap::Role::kEditor);
  auto b_requests = b_->service->list_requests({});
  ASSERT_TRUE(b_requests.ok());
  ASSERT_EQ(b_requests->size(), 1u);
  EXPECT_EQ((*b_requests)[0].expires_ms, kStart + 10 * kDay);

  // A knows nothing of B until C reports it; then its authorizer agrees.
  EXPECT_EQ(a_->role_of(space_, b_->id), std::nullopt);
  ASSERT_EQ(c_->push_to(*a_), 1);
  EXPECT_EQ(a_->role_of(space_, b_->id), cap::Role::kEditor);

  // D asks within the roles, but C's rate (1 per hour) is spent: pending,
  // saying why.
  clock_.advance(kMinute);
  auto second = ask_c(*d_, "viewer");
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->decided);
  auto pending = c_->service->list_requests({std::nullopt, JoinState::kPending, ""});
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_NE((*pending)[0].detail.find("per hour"), std::string::npos) << (*pending)[0].detail;

  // An hour later the rate allows it, by hand.
  clock_.advance(kHour);
  auto approved = c_->service->approve((*pending)[0].id, "", std::nullopt);
  ASSERT_TRUE(approved.ok()) << approved.error().message;
  EXPECT_EQ(approved->granted_role, "viewer");
}

TEST_F(DelegationServiceTest,
       a_decision_pushed_before_the_inline_answer_lands_is_retried_not_lost) {
  delegate_to_c({"editor"}, 10);
  ASSERT_EQ(a_->push_to(*c_), 1);

  // C approves at once and queues the decision for delivery as well; its
  // courier may reach B before B has read C's inline answer.
  auto begun = b_->service->begin_join(space_, "editor", "c");
  ASSERT_TRUE(begun.ok()) << begun.error().message;
  auto answer = c_->service->receive_request(b_->id, begun->request, {});
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_TRUE(answer->decided);
  auto due = c_->service->due_deliveries(16);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);

  auto early = b_->service->receive_decision(c_->id, (*due)[0].decision, "Team");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, core::ErrorCode::kUnavailable) << early.error().message;

  // Once B has the answer, the courier's retry is the same decision: accepted.
  ASSERT_TRUE(b_->service->join_sent(begun->id, c_->id, answer->owner).ok());
  auto inline_decision = b_->service->receive_decision(c_->id, answer->decision, "Team");
  ASSERT_TRUE(inline_decision.ok()) << inline_decision.error().message;
  auto retried = b_->service->receive_decision(c_->id, (*due)[0].decision, "Team");
  ASSERT_TRUE(retried.ok()) << retried.error().message;
  EXPECT_EQ(retried->state, JoinState::kApproved);
  EXPECT_EQ(b_->role_of(space_, b_->id), cap::Role::kEditor);
}

TEST_F(DelegationServiceTest, roles_outside_the_delegation_stay_pending_and_cannot_be_approved) {
  delegate_to_c({"viewer"}, 10);
  ASSERT_EQ(a_->push_to(*c_), 1);
  auto answer = ask_c(*b_, "editor");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_FALSE(answer->decided);
  auto pending = c_->service->list_requests({std::nullopt, JoinState::kPending, ""});
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  auto by_hand = c_->service->approve((*pending)[0].id, "", std::nullopt);
  ASSERT_FALSE(by_hand.ok());
  EXPECT_EQ(by_hand.error().code, core::ErrorCode::kPermissionDenied);
  // Granting a lower role it allows works; an expiry past the limit not.
  auto too_long = c_->service->approve((*pending)[0].id, "viewer", kStart + 11 * kDay);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, core::ErrorCode::kPermissionDenied);
  auto viewer = c_->service->approve((*pending)[0].id, "viewer", std::nullopt);
  ASSERT_TRUE(viewer.ok()) << viewer.error().message;
  EXPECT_EQ(viewer->expires_ms, kStart + 10 * kDay);
}

TEST_F(DelegationServiceTest, memberships_may_not_outlast_the_delegation_that_grants_them) {
  DelegateArgs args;
  args.space = "Team";
  args.peer = c_->id.to_string();
  args.roles = {"editor"};
  args.expires_at = kStart + kDay;
  args.max_member_expires_at = kStart + 10 * kDay;
  args.rate_per_hour = 10;
  auto refused = a_->delegations->delegate(args);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("is later than --expires"), std::string::npos)
      << refused.error().message;
  auto none = a_->delegations->due_pushes(10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());  // nothing was signed or queued

  args.max_member_expires_at = args.expires_at;
  EXPECT_TRUE(a_->delegations->delegate(args).ok());
}

TEST_F(DelegationServiceTest, an_expired_delegation_approves_nothing) {
  delegate_to_c({"editor"}, 10);
  ASSERT_EQ(a_->push_to(*c_), 1);
  clock_.set(kStart + 20 * kDay);  // exactly its expiry
  auto answer = ask_c(*b_, "editor");
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(answer.error().message.find("no delegation"), std::string::npos)
      << answer.error().message;
  EXPECT_EQ(b_->role_of(space_, b_->id), std::nullopt);
}

TEST_F(DelegationServiceTest, delegations_are_accepted_only_from_the_owner_for_this_peer) {
  delegate_to_c({"editor"}, 10);
  auto due = a_->delegations->due_pushes(10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  const wire::PushMessage message = (*due)[0].message;

  // Relayed by someone else, or handed to another peer: refused.
  auto relayed = c_->delegations->receive(b_->id, message);
  ASSERT_FALSE(relayed.ok());
  EXPECT_EQ(relayed.error().code, core::ErrorCode::kPermissionDenied);
  auto wrong_peer = d_->delegations->receive(a_->id, message);
  ASSERT_FALSE(wrong_peer.ok());
  EXPECT_EQ(wrong_peer.error().code, core::ErrorCode::kPermissionDenied);
  // A flipped byte breaks the signature.
  wire::PushMessage tampered = message;
  tampered.artifact[tampered.artifact.size() - 1] ^= 1;
  EXPECT_FALSE(c_->delegations->receive(a_->id, tampered).ok());
  // A membership capability presented as a delegation is malformed.
  wire::PushMessage wrong_kind = message;
  wrong_kind.kind = wire::PushMessage::Kind::kIssued;
  EXPECT_FALSE(c_->delegations->receive(a_->id, wrong_kind).ok());
  EXPECT_FALSE(store::SpaceRepository(*c_->db).find(space_)->has_value());

  // The real one, twice: stored once.
  ASSERT_TRUE(c_->delegations->receive(a_->id, message).ok());
  ASSERT_TRUE(c_->delegations->receive(a_->id, message).ok());
  auto members = c_->delegations->members(space_);
  ASSERT_TRUE(members.ok()) << members.error().message;
  ASSERT_EQ(members->size(), 2u);  // the owner and C's delegation
  EXPECT_EQ((*members)[1].kind, "delegation");
  EXPECT_EQ((*members)[1].state, "valid");
  auto audit = c_->service->audit(space_, 0, 0);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "delegation.received");
}

TEST_F(DelegationServiceTest, a_delegate_keeps_a_bounded_number_of_delegations_per_space) {
  for (std::size_t i = 0; i < kMaxDelegationsPerSpace; ++i) delegate_to_c({"editor"}, 10);
  EXPECT_EQ(a_->push_to(*c_), static_cast<int>(kMaxDelegationsPerSpace));
  delegate_to_c({"editor"}, 10);
  auto due = a_->delegations->due_pushes(10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  auto refused = c_->delegations->receive(a_->id, (*due)[0].message);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kResourceExhausted);
}

TEST_F(DelegationServiceTest, revoking_the_issuer_stops_it_and_revokes_what_it_issued_by_policy) {
  delegate_to_c({"editor"}, 10);
  ASSERT_EQ(a_->push_to(*c_), 1);
  ASSERT_TRUE(ask_c(*b_, "editor").ok());
  ASSERT_EQ(c_->push_to(*a_), 1);
  ASSERT_EQ(a_->role_of(space_, b_->id), cap::Role::kEditor);

  // Revoking a delegate needs a policy for what it issued.
  RevokeArgs plain{"Team", c_->id.to_string(), std::nullopt, 0};
  auto refused = a_->delegations->revoke(plain);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kInvalidArgument);
  // Only the owner revokes.
  RevokeArgs by_c{space_, b_->id.to_string(), std::nullopt, 0};
  EXPECT_EQ(c_->delegations->revoke(by_c).error().code, core::ErrorCode::kPermissionDenied);

  clock_.advance(kSecond);
  RevokeArgs all{"Team", c_->id.to_string(), cap::IssuerPolicy::kRevokeAll, 0};
  auto revoked = a_->delegations->revoke(all);
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  EXPECT_EQ(revoked->kind, "issuer");
  EXPECT_EQ(revoked->recipients, 2u);  // C and B
  // A refuses B at once.
  EXPECT_EQ(a_->role_of(space_, b_->id), std::nullopt);

  // C and B learn of it; C issues nothing more, B is out.
  clock_.advance(kSecond);
  ASSERT_EQ(a_->push_to(*c_), 1);
  ASSERT_EQ(a_->push_to(*b_), 1);
  EXPECT_EQ(b_->role_of(space_, b_->id), std::nullopt);
  auto b_row = store::SpaceRepository(*b_->db).find(space_);
  ASSERT_TRUE(b_row.ok() && b_row->has_value());
  EXPECT_EQ((*b_row)->membership_state, "revoked");
  auto after = ask_c(*d_, "editor");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, core::ErrorCode::kPermissionDenied);
  auto members = c_->delegations->members(space_);
  ASSERT_TRUE(members.ok());
  bool saw_revoked_delegation = false;
  for (const auto& m : *members) {
    if (m.kind == "delegation") saw_revoked_delegation = m.state == "revoked";
  }
  EXPECT_TRUE(saw_revoked_delegation);
  auto row = store::SpaceRepository(*c_->db).find(space_);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->membership_state, "revoked");
}

TEST_F(DelegationServiceTest, a_revoked_member_may_ask_again_and_the_owner_readmits_it) {
  // B asks A, A approves, B holds the decision.
  auto join_through_a = [&](const std::string& role) -> std::optional<core::ErrorCode> {
    auto begun = b_->service->begin_join(space_, role, "a");
    if (!begun) return begun.error().code;
    auto answer = a_->service->receive_request(b_->id, begun->request, {});
    EXPECT_TRUE(answer.ok()) << answer.error().message;
    EXPECT_TRUE(b_->service->join_sent(begun->id, a_->id, a_->id).ok());
    auto approved = a_->service->approve(begun->id, "", std::nullopt);
    EXPECT_TRUE(approved.ok()) << approved.error().message;
    auto due = a_->service->due_deliveries(16);
    EXPECT_TRUE(due.ok() && due->size() == 1u);
    auto got = b_->service->receive_decision(a_->id, (*due)[0].decision, "Team");
    EXPECT_TRUE(got.ok()) << got.error().message;
    EXPECT_TRUE(a_->service->delivery_succeeded(begun->id).ok());
    return std::nullopt;
  };
  ASSERT_EQ(join_through_a("editor"), std::nullopt);
  ASSERT_EQ(b_->role_of(space_, b_->id), cap::Role::kEditor);
  // A member in good standing has nothing to ask for.
  EXPECT_EQ(join_through_a("viewer"), core::ErrorCode::kAlreadyExists);

  clock_.advance(kSecond);
  ASSERT_TRUE(a_->delegations->revoke({"Team", b_->id.to_string(), std::nullopt, 0}).ok());
  ASSERT_EQ(a_->push_to(*b_), 1);
  ASSERT_EQ(b_->role_of(space_, b_->id), std::nullopt);

  // Out, B may ask again; only the owner's newer capability lets it back.
  clock_.advance(kSecond);
  ASSERT_EQ(join_through_a("viewer"), std::nullopt);
  EXPECT_EQ(b_->role_of(space_, b_->id), cap::Role::kViewer);
  EXPECT_EQ(a_->role_of(space_, b_->id), cap::Role::kViewer);
  auto row = store::SpaceRepository(*b_->db).find(space_);
  ASSERT_TRUE(row.ok() && row->has_value());
  EXPECT_EQ((*row)->membership_state, "joined");
  EXPECT_EQ((*row)->role, "viewer");
}

TEST_F(DelegationServiceTest, revocations_must_be_the_owners) {
  delegate_to_c({"editor"}, 10);
  ASSERT_EQ(a_->push_to(*c_), 1);
  // B signs a "revocation" of C in A's space: C refuses it.
  auto forged = cap::revoke_issuer(key(0xb2), cap::SpaceRef{space_, b_->id}, c_->id,
                                   cap::IssuerPolicy::kRevokeAll, 0, kStart);
  ASSERT_TRUE(forged.ok()) << forged.error().message;
  wire::PushMessage m{wire::PushMessage::Kind::kRevocation, cap::encode_signed(*forged), ""};
  auto got = c_->delegations->receive(b_->id, m);
  ASSERT_FALSE(got.ok());
  clock_.advance(kSecond);
  auto usable = c_->delegations->usable_delegation(space_, a_->id);
  ASSERT_TRUE(usable.ok());
  EXPECT_TRUE(usable->has_value());
  // A revocation for a space C does not know is not found.
  auto elsewhere = d_->delegations->receive(b_->id, m);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.error().code, core::ErrorCode::kNotFound);
}

TEST_F(DelegationServiceTest, a_failed_push_is_retried_with_backoff_then_given_up) {
  delegate_to_c({"editor"}, 10);
  auto due = a_->delegations->due_pushes(10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  const std::int64_t id = (*due)[0].id;
  ASSERT_TRUE(a_->delegations->push_failed(id, core::Error::unavailable("gone"), false).ok());
  EXPECT_TRUE(a_->delegations->due_pushes(10)->empty());
  auto next = a_->delegations->next_push_at();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, kStart + kPushFirstRetryDelay);
  clock_.advance(kPushFirstRetryDelay);
  ASSERT_EQ(a_->delegations->due_pushes(10)->size(), 1u);
  ASSERT_TRUE(a_->delegations->push_failed(id, core::Error::denied("no"), true).ok());
  EXPECT_FALSE(a_->delegations->next_push_at()->has_value());
}

}  // namespace
}  // namespace soma::membership
