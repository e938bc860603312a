// The repositories behind memberships: capabilities and revocations (the
// authorizer's storage), join requests and their outbox, joined spaces and
// the audit log, each over a real SQLite file.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "cap/issuance.h"
#include "cap/signing.h"
#include "crypto/random.h"
#include "store/capability_repository.h"
#include "store/join_request_repository.h"
#include "store/membership_repository.h"
#include "store/migrations.h"
#include "store/space_repository.h"

namespace soma::store {
namespace {

namespace fs = std::filesystem;

constexpr cap::Timestamp kNow = 1'800'000'000'000;
constexpr cap::Timestamp kDay = 24LL * 60 * 60 * 1000;

crypto::Ed25519PrivateKey key(std::uint8_t fill) {
  core::Bytes seed(crypto::kEd25519SeedSize, fill);
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

crypto::PeerId peer_of(const crypto::Ed25519PrivateKey& k) {
  return crypto::PeerId::from_public_key(k.public_key());
}

class MembershipRepositoriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    reopen();
    space_ = crypto::random_id();
    SpaceRecord row;
    row.id = space_;
    row.name = "Team";
    row.owner = peer_of(owner_key_).to_string();
    row.role = "owner";
    row.created_ms = row.updated_ms = kNow;
    ASSERT_TRUE(SpaceRepository(*db_).insert(row).ok());
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void reopen() {
    db_.reset();
    auto db = Database::open(dir_ / "soma.db", daemon_migrations());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
  }

  cap::SpaceRef ref() const { return cap::SpaceRef{space_, peer_of(owner_key_)}; }

  cap::AcceptedCapability accepted(const crypto::PeerId& subject, cap::Role role,
                                   cap::Timestamp issued_at) {
    auto c = cap::issue_membership(
        owner_key_, ref(), cap::MembershipGrant{subject, role, issued_at, issued_at + kDay});
    EXPECT_TRUE(c.ok()) << c.error().message;
    cap::AcceptedCapability a;
    a.id = c->body.id;
    a.space = space_;
    a.subject = subject;
    a.issuer = c->body.issuer;
    a.role = role;
    a.issued_at = issued_at;
    a.expires_at = issued_at + kDay;
    a.bytes = cap::encode_signed(*c);
    return a;
  }

  JoinRequestRecord request(const std::string& id, JoinDirection direction, const std::string& peer,
                            std::int64_t created_ms) {
    JoinRequestRecord r;
    r.id = id;
    r.direction = direction;
    r.space_id = space_;
    r.peer = peer;
    r.role = "editor";
    r.request = {1, 2, 3};
    r.created_ms = r.updated_ms = created_ms;
    return r;
  }

  fs::path dir_;
  std::unique_ptr<Database> db_;
  crypto::Ed25519PrivateKey owner_key_ = key(0x11);
  std::string space_;
};

TEST_F(MembershipRepositoriesTest, the_schema_is_at_the_latest_migration) {
  // Migration 3 holds these tables; later ones must have run too.
  EXPECT_GE(db_->schema_version(), 3);
  EXPECT_EQ(db_->schema_version(), daemon_migrations().back().version);
}

TEST_F(MembershipRepositoriesTest, records_a_capability_once_and_finds_it_by_subject_and_id) {
  CapabilityRepository caps(*db_);
  const auto subject = peer_of(key(0x22));
  const auto c = accepted(subject, cap::Role::kEditor, kNow);
  ASSERT_TRUE(caps.record_capability(c).ok());
  ASSERT_TRUE(caps.record_capability(c).ok());  // the same id again changes nothing

  auto held = caps.capabilities_for(space_, subject);
  ASSERT_TRUE(held.ok()) << held.error().message;
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ((*held)[0].id, c.id);
  EXPECT_EQ((*held)[0].role, cap::Role::kEditor);
  EXPECT_EQ((*held)[0].issuer, peer_of(owner_key_));
  EXPECT_EQ((*held)[0].expires_at, kNow + kDay);
  EXPECT_EQ((*held)[0].bytes, c.bytes);
  EXPECT_FALSE((*held)[0].delegated);

  auto known = caps.is_accepted(space_, c.id);
  ASSERT_TRUE(known.ok());
  EXPECT_TRUE(*known);
  auto other = caps.capabilities_for(space_, peer_of(key(0x33)));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
  auto found = caps.find(space_, c.id);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->subject, subject);
}

TEST_F(MembershipRepositoriesTest, counts_only_delegated_issuances_within_the_window) {
  CapabilityRepository caps(*db_);
  const auto issuer = peer_of(key(0x44));
  auto a = accepted(peer_of(key(0x22)), cap::Role::kViewer, kNow);
  a.issuer = issuer;
  a.delegated = true;
  auto b = accepted(peer_of(key(0x23)), cap::Role::kViewer, kNow + 1000);
  b.issuer = issuer;
  b.delegated = true;
  auto owner_issued = accepted(peer_of(key(0x24)), cap::Role::kViewer, kNow + 500);
  ASSERT_TRUE(caps.record_capability(a).ok());
  ASSERT_TRUE(caps.record_capability(b).ok());
  ASSERT_TRUE(caps.record_capability(owner_issued).ok());

  auto times = caps.issuance_times(space_, issuer, kNow, kNow + 999);
  ASSERT_TRUE(times.ok()) << times.error().message;
  EXPECT_EQ(*times, std::vector<cap::Timestamp>{kNow});
  auto all = caps.issuance_times(space_, issuer, kNow - 1, kNow + 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(MembershipRepositoriesTest, stores_revocations_that_decode_back_and_survive_reopening) {
  auto revocation = cap::revoke_member(owner_key_, ref(), peer_of(key(0x22)), kNow);
  ASSERT_TRUE(revocation.ok()) << revocation.error().message;
  {
    CapabilityRepository caps(*db_);
    ASSERT_TRUE(caps.record_revocation(*revocation).ok());
    ASSERT_TRUE(caps.record_revocation(*revocation).ok());
  }
  reopen();
  CapabilityRepository caps(*db_);
  auto stored = caps.revocations(space_);
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0], revocation->body);
  auto none = caps.revocations(crypto::random_id());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(MembershipRepositoriesTest, a_damaged_revocation_is_data_loss_not_silence) {
  auto revocation = cap::revoke_member(owner_key_, ref(), peer_of(key(0x22)), kNow);
  ASSERT_TRUE(revocation.ok());
  CapabilityRepository caps(*db_);
  ASSERT_TRUE(caps.record_revocation(*revocation).ok());
  ASSERT_TRUE(db_->exec("UPDATE revocations SET envelope = x'a0'").ok());
  auto stored = caps.revocations(space_);
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.error().code, core::ErrorCode::kDataLoss);
}

TEST_F(MembershipRepositoriesTest, space_owners_reads_the_owner_of_known_spaces_only) {
  SpaceOwners owners(*db_);
  auto owner = owners.owner_of(space_);
  ASSERT_TRUE(owner.ok()) << owner.error().message;
  ASSERT_TRUE(owner->has_value());
  EXPECT_EQ(**owner, peer_of(owner_key_));
  auto unknown = owners.owner_of(crypto::random_id());
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());

  ASSERT_TRUE(db_->exec("UPDATE spaces SET owner = 'not a peer'").ok());
  auto damaged = owners.owner_of(space_);
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, core::ErrorCode::kDataLoss);
}

TEST_F(MembershipRepositoriesTest, deleting_a_space_removes_its_capabilities_and_membership) {
  CapabilityRepository caps(*db_);
  const auto subject = peer_of(key(0x22));
  ASSERT_TRUE(caps.record_capability(accepted(subject, cap::Role::kEditor, kNow)).ok());
  MembershipRecord m;
  m.space_id = space_;
  m.owner = "12D3KooWowner";
  m.role = "editor";
  m.capability_id = core::Bytes(16, 7);
  m.expires_ms = kNow + kDay;
  m.joined_ms = m.updated_ms = kNow;
  ASSERT_TRUE(MembershipRepository(*db_).upsert(m).ok());

  auto removed = SpaceRepository(*db_).remove(space_);
  ASSERT_TRUE(removed.ok() && *removed);
  auto held = caps.capabilities_for(space_, subject);
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty());
  auto membership = MembershipRepository(*db_).find(space_);
  ASSERT_TRUE(membership.ok());
  EXPECT_FALSE(membership->has_value());
}

TEST_F(MembershipRepositoriesTest, join_requests_round_trip_every_field) {
  JoinRequestRepository repo(*db_);
  auto r =
      request("00112233445566778899aabbccddeeff", JoinDirection::kOutgoing, "12D3KooWpeer", kNow);
  r.owner = "12D3KooWowner";
  r.via = "/ip4/127.0.0.1/tcp/4001";
  r.peer_addrs = {"/ip4/127.0.0.1/tcp/1", "/ip4/10.0.0.1/tcp/2"};
  ASSERT_TRUE(repo.insert(r).ok());
  auto dup = repo.insert(r);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, core::ErrorCode::kAlreadyExists);

  r.state = JoinState::kApproved;
  r.granted_role = "viewer";
  r.expires_ms = kNow + kDay;
  r.reason = "welcome";
  r.decision = core::Bytes{9, 8, 7};
  r.decided_ms = kNow + 5;
  r.delivery = Delivery::kDelivered;
  r.space_name = "Team";
  r.detail = "ok";
  r.updated_ms = kNow + 6;
  auto updated = repo.update(r);
  ASSERT_TRUE(updated.ok() && *updated);

  auto found = repo.find(r.id);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const JoinRequestRecord& f = **found;
  EXPECT_EQ(f.direction, JoinDirection::kOutgoing);
  EXPECT_EQ(f.state, JoinState::kApproved);
  EXPECT_EQ(f.peer, "12D3KooWpeer");
  EXPECT_EQ(f.owner, "12D3KooWowner");
  EXPECT_EQ(f.peer_addrs, r.peer_addrs);
  EXPECT_EQ(f.via, r.via);
  EXPECT_EQ(f.request, (core::Bytes{1, 2, 3}));
  EXPECT_EQ(f.granted_role, std::optional<std::string>("viewer"));
  EXPECT_EQ(f.expires_ms, std::optional<std::int64_t>(kNow + kDay));
  EXPECT_EQ(f.reason, std::optional<std::string>("welcome"));
  EXPECT_EQ(f.decision, std::optional<core::Bytes>(core::Bytes{9, 8, 7}));
  EXPECT_EQ(f.decided_ms, std::optional<std::int64_t>(kNow + 5));
  EXPECT_EQ(f.delivery, Delivery::kDelivered);
  EXPECT_EQ(f.space_name, "Team");
  EXPECT_EQ(f.detail, "ok");
  EXPECT_EQ(f.created_ms, kNow);
  EXPECT_EQ(f.updated_ms, kNow + 6);

  auto missing = repo.update(request("ffff", JoinDirection::kIncoming, "p", kNow));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
}

TEST_F(MembershipRepositoriesTest, lists_filters_counts_and_finds_requests_by_prefix) {
  JoinRequestRepository repo(*db_);
  ASSERT_TRUE(repo.insert(request("aaaa0001", JoinDirection::kIncoming, "p1", kNow)).ok());
  ASSERT_TRUE(repo.insert(request("aaaa0002", JoinDirection::kIncoming, "p1", kNow + 1)).ok());
  ASSERT_TRUE(repo.insert(request("bbbb0001", JoinDirection::kIncoming, "p2", kNow + 2)).ok());
  ASSERT_TRUE(repo.insert(request("cccc0001", JoinDirection::kOutgoing, "p3", kNow + 3)).ok());
  auto done = request("dddd0001", JoinDirection::kIncoming, "p1", kNow + 4);
  done.state = JoinState::kRejected;
  ASSERT_TRUE(repo.insert(done).ok());

  JoinRequestFilter incoming_pending;
  incoming_pending.direction = JoinDirection::kIncoming;
  incoming_pending.state = JoinState::kPending;
  auto listed = repo.list(incoming_pending);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].id, "bbbb0001");  // newest first
  EXPECT_EQ((*listed)[2].id, "aaaa0001");
  auto all = repo.list(JoinRequestFilter{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);

  auto p1 = repo.count_pending_from("p1");
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(*p1, 2u);
  auto total = repo.count_pending_incoming();
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, 3u);

  auto prefix = repo.find_by_prefix("aaaa", 5);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->size(), 2u);
  auto one = repo.find_by_prefix("bbbb", 5);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].id, "bbbb0001");
  // A prefix is compared byte for byte: LIKE wildcards mean nothing.
  auto wildcard = repo.find_by_prefix("%", 5);
  ASSERT_TRUE(wildcard.ok());
  EXPECT_TRUE(wildcard->empty());
}

TEST_F(MembershipRepositoriesTest, outbox_hands_out_due_entries_and_reschedules_them) {
  JoinRequestRepository repo(*db_);
  ASSERT_TRUE(repo.insert(request("aaaa0001", JoinDirection::kIncoming, "p1", kNow)).ok());
  ASSERT_TRUE(repo.insert(request("aaaa0002", JoinDirection::kIncoming, "p2", kNow)).ok());
  ASSERT_TRUE(repo.enqueue(OutboxItem{"aaaa0001", "p1", 0, kNow, kNow + kDay, "", kNow}).ok());
  ASSERT_TRUE(repo.enqueue(OutboxItem{"aaaa0002", "p2", 0, kNow + 50, kNow + kDay, "", kNow}).ok());

  auto due = repo.due(kNow, 10);
  ASSERT_TRUE(due.ok()) << due.error().message;
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].request_id, "aaaa0001");
  auto next = repo.next_due();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, std::optional<std::int64_t>(kNow));

  auto moved = repo.reschedule("aaaa0001", 1, kNow + 100, "connection refused");
  ASSERT_TRUE(moved.ok() && *moved);
  auto item = repo.outbox_item("aaaa0001");
  ASSERT_TRUE(item.ok() && item->has_value());
  EXPECT_EQ((*item)->attempts, 1);
  EXPECT_EQ((*item)->last_error, "connection refused");
  next = repo.next_due();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, std::optional<std::int64_t>(kNow + 50));

  auto dropped = repo.dequeue("aaaa0002");
  ASSERT_TRUE(dropped.ok() && *dropped);
  auto size = repo.outbox_size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 1u);
  // An entry goes with its request.
  ASSERT_TRUE(db_->exec("DELETE FROM join_requests WHERE id = 'aaaa0001'").ok());
  size = repo.outbox_size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
  next = repo.next_due();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

TEST_F(MembershipRepositoriesTest, a_request_with_an_unknown_state_is_data_loss) {
  JoinRequestRepository repo(*db_);
  ASSERT_TRUE(repo.insert(request("aaaa0001", JoinDirection::kIncoming, "p1", kNow)).ok());
  ASSERT_TRUE(db_->exec("UPDATE join_requests SET state = 'maybe'").ok());
  auto found = repo.find("aaaa0001");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, core::ErrorCode::kDataLoss);
}

TEST_F(MembershipRepositoriesTest, membership_upsert_replaces_the_row_of_its_space) {
  MembershipRepository repo(*db_);
  MembershipRecord m;
  m.space_id = space_;
  m.owner = "12D3KooWowner";
  m.role = "viewer";
  m.capability_id = core::Bytes(16, 1);
  m.expires_ms = kNow + kDay;
  m.request_id = "aaaa";
  m.joined_ms = m.updated_ms = kNow;
  ASSERT_TRUE(repo.upsert(m).ok());
  m.role = "editor";
  m.capability_id = core::Bytes(16, 2);
  m.updated_ms = kNow + 1;
  ASSERT_TRUE(repo.upsert(m).ok());

  auto all = repo.list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].role, "editor");
  EXPECT_EQ((*all)[0].capability_id, core::Bytes(16, 2));
  EXPECT_EQ((*all)[0].joined_ms, kNow);

  // The space listing says how the space is held.
  auto space = SpaceRepository(*db_).find(space_);
  ASSERT_TRUE(space.ok() && space->has_value());
  EXPECT_EQ((*space)->membership_state, "joined");
  EXPECT_EQ((*space)->membership_expires_ms, kNow + kDay);
}

TEST_F(MembershipRepositoriesTest, audit_lists_per_space_in_order_after_an_id) {
  AuditRepository audit(*db_);
  AuditEntry e;
  e.time_ms = kNow;
  e.space_id = space_;
  e.action = "request.received";
  e.actor = "p1";
  auto first = audit.append(e);
  ASSERT_TRUE(first.ok());
  e.action = "decision.made";
  auto second = audit.append(e);
  ASSERT_TRUE(second.ok());
  e.space_id = "other";
  ASSERT_TRUE(audit.append(e).ok());
  EXPECT_GT(*second, *first);

  auto listed = audit.list(space_, 0, 100);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].action, "request.received");
  EXPECT_EQ((*listed)[1].action, "decision.made");
  auto after = audit.list(space_, *first, 100);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].id, *second);
  auto everything = audit.list("", 0, 100);
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(everything->size(), 3u);
}

}  // namespace
}  // namespace soma::store
