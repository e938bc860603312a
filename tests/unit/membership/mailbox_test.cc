// The mailbox's rules over a real SQLite database (limits, expiry, who may
// see and remove what) and its wire codec on valid, oversized and
// malformed input.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "membership/mailbox_store.h"
#include "membership/mailbox_wire.h"
#include "soma/wire/v1/mailbox.pb.h"
#include "store/migrations.h"
#include "unit/cap/memory_capability_store.h"

namespace soma::membership::mailbox {
namespace {

namespace fs = std::filesystem;
using cap::testing::ManualClock;

constexpr cap::Timestamp kStart = 1'800'000'000'000;

crypto::PeerId peer(std::uint8_t fill) {
  core::Bytes seed(crypto::kEd25519SeedSize, fill);
  return crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::from_seed(seed)->public_key());
}

core::Bytes bytes(std::size_t n, std::uint8_t fill = 0x5a) { return core::Bytes(n, fill); }

template <typename M>
core::Bytes serialize(const M& m) {
  std::string s = m.SerializeAsString();
  return core::Bytes(s.begin(), s.end());
}

class MailboxStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-mailbox-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto opened = store::Database::open(dir_ / "soma.db", store::daemon_migrations());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    db_ = std::move(*opened);
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }

  MailboxStore make(StoreLimits limits = {}) { return MailboxStore(*db_, clock_, limits); }

  fs::path dir_;
  std::unique_ptr<store::Database> db_;
  ManualClock clock_{kStart};
  crypto::PeerId alice_ = peer(0xa1), bob_ = peer(0xb2), carol_ = peer(0xc3);
};

TEST_F(MailboxStoreTest, a_recipient_fetches_its_items_and_they_go_once_acknowledged) {
  MailboxStore box = make();
  auto first = box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(10, 1), 0);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = box.deposit(carol_, bob_, Kind::kJoinRequest, bytes(20, 2), 0);
  ASSERT_TRUE(second.ok());

  auto items = box.fetch(bob_, 0);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].id, *first);
  EXPECT_EQ((*items)[0].depositor, alice_);
  EXPECT_EQ((*items)[0].kind, Kind::kJoinDecision);
  EXPECT_EQ((*items)[0].payload, bytes(10, 1));
  EXPECT_EQ((*items)[0].expires_ms, kStart + kDefaultItemLifetime);
  EXPECT_EQ((*items)[1].depositor, carol_);

  // Fetching again without acknowledging returns the same items.
  EXPECT_EQ(box.fetch(bob_, 0)->size(), 2u);
  auto removed = box.acknowledge(bob_, {*first});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1u);
  auto left = box.fetch(bob_, 0);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, *second);
}

TEST_F(MailboxStoreTest, a_peer_neither_sees_nor_removes_the_items_of_another) {
  MailboxStore box = make();
  auto id = box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(10), 0);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(box.fetch(carol_, 0)->empty());
  EXPECT_TRUE(box.fetch(alice_, 0)->empty());  // not even its depositor
  auto removed = box.acknowledge(carol_, {*id});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 0u);
  EXPECT_EQ(box.fetch(bob_, 0)->size(), 1u);
}

TEST_F(MailboxStoreTest, items_past_their_expiry_are_neither_returned_nor_kept) {
  MailboxStore box = make();
  ASSERT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(10), 60'000).ok());
  // A lifetime beyond the most allowed is cut to it.
  ASSERT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(10), kMaxItemLifetime * 4).ok());
  auto items = box.fetch(bob_, 0);
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1].expires_ms, kStart + kMaxItemLifetime);

  clock_.advance(60'000);
  ASSERT_EQ(box.fetch(bob_, 0)->size(), 1u);
  auto pruned = box.prune();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1u);
  clock_.advance(kMaxItemLifetime);
  EXPECT_TRUE(box.fetch(bob_, 0)->empty());
}

TEST_F(MailboxStoreTest, deposits_past_the_per_recipient_and_total_bounds_are_refused) {
  StoreLimits limits;
  limits.per_recipient = 2;
  limits.total = 3;
  MailboxStore box = make(limits);
  ASSERT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(1), 0).ok());
  ASSERT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(1), 0).ok());
  auto third = box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(1), 0);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, core::ErrorCode::kResourceExhausted);
  EXPECT_NE(third.error().message.find("for one peer"), std::string::npos);

  ASSERT_TRUE(box.deposit(alice_, carol_, Kind::kJoinDecision, bytes(1), 0).ok());
  auto full = box.deposit(alice_, alice_, Kind::kJoinDecision, bytes(1), 0);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, core::ErrorCode::kResourceExhausted);

  // Expired items make room again.
  clock_.advance(kDefaultItemLifetime);
  EXPECT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(1), 0).ok());
}

TEST_F(MailboxStoreTest, one_depositor_cannot_take_all_of_a_recipients_slots) {
  StoreLimits limits;
  limits.per_recipient = 4;
  limits.per_depositor = 2;
  MailboxStore box = make(limits);
  ASSERT_TRUE(box.deposit(alice_, bob_, Kind::kJoinRequest, bytes(1), 0).ok());
  ASSERT_TRUE(box.deposit(alice_, bob_, Kind::kJoinRequest, bytes(1), 0).ok());
  auto third = box.deposit(alice_, bob_, Kind::kJoinRequest, bytes(1), 0);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, core::ErrorCode::kResourceExhausted);
  EXPECT_NE(third.error().message.find("the most one peer may leave for another"),
            std::string::npos);
  // Bob still has room for others, and Alice for other recipients.
  EXPECT_TRUE(box.deposit(carol_, bob_, Kind::kJoinDecision, bytes(1), 0).ok());
  EXPECT_TRUE(box.deposit(alice_, carol_, Kind::kJoinRequest, bytes(1), 0).ok());
  EXPECT_EQ(box.fetch(bob_, 0)->size(), 3u);
}

TEST_F(MailboxStoreTest, deposits_are_rate_limited_per_depositor) {
  StoreLimits limits;
  limits.deposits_per_window = 2;
  MailboxStore box = make(limits);
  EXPECT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(1), 0).ok());
  EXPECT_TRUE(box.deposit(alice_, carol_, Kind::kJoinDecision, bytes(1), 0).ok());
  auto third = box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(1), 0);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, core::ErrorCode::kResourceExhausted);
  // Another depositor is not held back, and the window moves on.
  EXPECT_TRUE(box.deposit(carol_, bob_, Kind::kJoinDecision, bytes(1), 0).ok());
  clock_.advance(kDepositWindow);
  EXPECT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(1), 0).ok());
  EXPECT_EQ(box.refused_deposits(), 1u);
}

TEST_F(MailboxStoreTest, empty_and_oversized_payloads_are_refused) {
  MailboxStore box = make();
  auto empty = box.deposit(alice_, bob_, Kind::kJoinDecision, {}, 0);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, core::ErrorCode::kInvalidArgument);
  auto big = box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(kMaxPayloadSize + 1), 0);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(box.deposit(alice_, bob_, Kind::kJoinDecision, bytes(kMaxPayloadSize), 0).ok());
}

TEST_F(MailboxStoreTest, a_fetch_returns_at_most_one_batch) {
  MailboxStore box = make();
  for (std::size_t i = 0; i < kMaxFetchBatch + 3; ++i) {
    ASSERT_TRUE(
        box.deposit(peer(static_cast<std::uint8_t>(i + 1)), bob_, Kind::kJoinDecision, bytes(4), 0)
            .ok());
  }
  EXPECT_EQ(box.fetch(bob_, 0)->size(), kMaxFetchBatch);
  EXPECT_EQ(box.fetch(bob_, 1000)->size(), kMaxFetchBatch);
  EXPECT_EQ(box.fetch(bob_, 2)->size(), 2u);
}

TEST(MailboxWireTest, requests_and_replies_survive_a_round_trip) {
  const crypto::PeerId bob = peer(0xb2);
  auto deposit = decode_request(encode(Request(Deposit{bob, Kind::kJoinRequest, bytes(7), 1234})));
  ASSERT_TRUE(deposit.ok()) << deposit.error().message;
  const auto& d = std::get<Deposit>(*deposit);
  EXPECT_EQ(d.recipient, bob);
  EXPECT_EQ(d.kind, Kind::kJoinRequest);
  EXPECT_EQ(d.payload, bytes(7));
  EXPECT_EQ(d.ttl_ms, 1234);

  auto fetch = decode_request(encode(Request(Fetch{3})));
  ASSERT_TRUE(fetch.ok());
  EXPECT_EQ(std::get<Fetch>(*fetch).max_items, 3u);
  auto ack = decode_request(encode(Request(Ack{{4, 5}})));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(std::get<Ack>(*ack).ids, (std::vector<std::int64_t>{4, 5}));

  Reply reply;
  reply.ok = true;
  reply.items.push_back(Item{9, bob, Kind::kJoinDecision, bytes(3), kStart, kStart + 1});
  auto back = decode_reply(encode(reply));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->items.size(), 1u);
  EXPECT_EQ(back->items[0].id, 9);
  EXPECT_EQ(back->items[0].depositor, bob);
  EXPECT_EQ(back->items[0].expires_ms, kStart + 1);

  Reply no;
  no.refusal = core::Error::exhausted("full");
  auto refused = decode_reply(encode(no));
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->ok);
  EXPECT_EQ(refused->refusal.code, core::ErrorCode::kResourceExhausted);
  EXPECT_EQ(refused->refusal.message, "full");
}

TEST(MailboxWireTest, malformed_and_oversized_requests_are_refused_naming_the_problem) {
  EXPECT_FALSE(decode_request(bytes(kMaxRequestSize + 1)).ok());
  EXPECT_FALSE(decode_request(core::Bytes{0xff, 0xff, 0xff}).ok());
  auto nothing = decode_request({});
  ASSERT_FALSE(nothing.ok());
  EXPECT_NE(nothing.error().message.find("neither"), std::string::npos);

  soma::wire::v1::MailboxRequest m;
  auto* d = m.mutable_deposit();
  d->set_recipient("not a peer id");
  d->set_kind(soma::wire::v1::MAILBOX_KIND_JOIN_DECISION);
  d->set_payload("x");
  auto bad_peer = decode_request(serialize(m));
  ASSERT_FALSE(bad_peer.ok());
  EXPECT_NE(bad_peer.error().message.find("recipient"), std::string::npos);

  const core::Bytes bob = peer(0xb2).bytes();
  d->set_recipient(std::string(bob.begin(), bob.end()));
  d->set_kind(static_cast<soma::wire::v1::MailboxKind>(77));
  auto bad_kind = decode_request(serialize(m));
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_NE(bad_kind.error().message.find("kind 77"), std::string::npos);

  d->set_kind(soma::wire::v1::MAILBOX_KIND_JOIN_DECISION);
  d->clear_payload();
  EXPECT_FALSE(decode_request(serialize(m)).ok());
  d->set_payload(std::string(kMaxPayloadSize + 1, 'x'));
  auto big = decode_request(serialize(m));
  ASSERT_FALSE(big.ok());

  soma::wire::v1::MailboxRequest many;
  for (std::size_t i = 0; i <= kMaxAckIds; ++i) many.mutable_ack()->add_ids(1);
  auto too_many = decode_request(serialize(many));
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("at most"), std::string::npos);
}

TEST(MailboxWireTest, a_reply_with_more_items_than_a_batch_is_refused) {
  soma::wire::v1::MailboxReply m;
  m.set_ok(true);
  const core::Bytes bob = peer(0xb2).bytes();
  for (std::size_t i = 0; i <= kMaxFetchBatch; ++i) {
    auto* item = m.add_items();
    item->set_id(static_cast<std::int64_t>(i));
    item->set_depositor(std::string(bob.begin(), bob.end()));
    item->set_kind(soma::wire::v1::MAILBOX_KIND_JOIN_DECISION);
    item->set_payload("p");
  }
  auto decoded = decode_reply(serialize(m));
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("items"), std::string::npos);
}

}  // namespace
}  // namespace soma::membership::mailbox
