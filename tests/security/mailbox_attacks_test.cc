// Attacks on /soma/mailbox/1 against a real daemon serving a mailbox on
// loopback, by libp2p peers of the test's own (real Noise and yamux). A
// peer only ever sees and removes the items addressed to the id its
// channel authenticated; malformed and oversized requests are refused and
// the mailbox goes on serving.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attacker_peer.h"
#include "harness/soma_harness.h"
#include "membership/mailbox_wire.h"

namespace soma::security {
namespace {

using json = nlohmann::json;
using soma::testing::Daemon;
using soma::testing::TempDir;
namespace mailbox = membership::mailbox;

const std::string kMailbox(mailbox::kProtocol);

std::string dial_addr(const Daemon& d) {
  auto r = d.soma({"status", "--json"});
  const json doc = json::parse(r.out, nullptr, false);
  if (doc.is_discarded()) return {};
  const std::string id = doc["peer_id"];
  for (const auto& a : doc["listen_addrs"]) {
    std::string addr = a.get<std::string>();
    if (addr.rfind("/ip4/127.0.0.1/tcp/", 0) != 0) continue;
    if (addr.find("/p2p/") == std::string::npos) addr += "/p2p/" + id;
    return addr;
  }
  return {};
}

class MailboxAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(m_.start()) << m_.stderr_text();
    addr_ = dial_addr(m_);
    ASSERT_FALSE(addr_.empty());
  }

  mailbox::Reply call(AttackerPeer& peer, const mailbox::Request& request) {
    auto answer = peer.exchange(addr_, kMailbox, mailbox::encode(request));
    EXPECT_TRUE(answer.ok()) << answer.error().message;
    if (!answer.ok()) return {};
    auto reply = mailbox::decode_reply(*answer);
    EXPECT_TRUE(reply.ok()) << reply.error().message;
    return reply.ok() ? *reply : mailbox::Reply{};
  }

  std::int64_t deposit_for_victim() {
    mailbox::Reply put = call(
        depositor_, mailbox::Request(mailbox::Deposit{
                        victim_.peer_id(), mailbox::Kind::kJoinDecision, core::Bytes{1, 2, 3}, 0}));
    EXPECT_TRUE(put.ok) << put.refusal.message;
    return put.deposited_id;
  }

  TempDir tmp_;
  Daemon m_{tmp_ / "m", {"--listen", "/ip4/127.0.0.1/tcp/0", "--serve-mailbox"}};
  std::string addr_;
  AttackerPeer depositor_, victim_, attacker_;
};

TEST_F(MailboxAttackTest, a_fetch_by_another_peer_returns_none_of_the_recipients_items) {
  const std::int64_t id = deposit_for_victim();

  // The attacker asks with its own channel: there is no field to name the
  // victim in, and it gets nothing of the victim's.
  mailbox::Reply stolen = call(attacker_, mailbox::Request(mailbox::Fetch{0}));
  EXPECT_TRUE(stolen.ok);
  EXPECT_TRUE(stolen.items.empty());
  // Nor does the depositor get back what it left for someone else.
  EXPECT_TRUE(call(depositor_, mailbox::Request(mailbox::Fetch{0})).items.empty());

  mailbox::Reply mine = call(victim_, mailbox::Request(mailbox::Fetch{0}));
  ASSERT_EQ(mine.items.size(), 1u);
  EXPECT_EQ(mine.items[0].id, id);
  EXPECT_EQ(mine.items[0].depositor, depositor_.peer_id());
  EXPECT_EQ(mine.items[0].payload, (core::Bytes{1, 2, 3}));
}

TEST_F(MailboxAttackTest, acknowledging_another_peers_items_removes_nothing) {
  const std::int64_t id = deposit_for_victim();
  mailbox::Reply acked =
      call(attacker_, mailbox::Request(mailbox::Ack{{id, id + 1, id - 1, 0, -1}}));
  EXPECT_TRUE(acked.ok);
  EXPECT_EQ(acked.removed, 0u);
  ASSERT_EQ(call(victim_, mailbox::Request(mailbox::Fetch{0})).items.size(), 1u);

  // Its recipient removes it.
  EXPECT_EQ(call(victim_, mailbox::Request(mailbox::Ack{{id}})).removed, 1u);
  EXPECT_TRUE(call(victim_, mailbox::Request(mailbox::Fetch{0})).items.empty());
}

TEST_F(MailboxAttackTest, malformed_and_oversized_requests_are_refused_and_the_mailbox_serves_on) {
  auto garbage = attacker_.exchange(addr_, kMailbox, core::Bytes{0xff, 0x01, 0x02});
  ASSERT_TRUE(garbage.ok()) << garbage.error().message;
  auto refused = mailbox::decode_reply(*garbage);
  ASSERT_TRUE(refused.ok());
  EXPECT_FALSE(refused->ok);
  EXPECT_EQ(refused->refusal.code, core::ErrorCode::kInvalidArgument);

  // A length prefix past the bound is refused before anything is read.
  core::Bytes huge = framed(core::Bytes(mailbox::kMaxRequestSize + 1, 0x0a));
  auto cut = attacker_.send_raw(addr_, kMailbox, huge);
  EXPECT_TRUE(!cut.ok() || cut->empty());

  const std::int64_t id = deposit_for_victim();
  mailbox::Reply mine = call(victim_, mailbox::Request(mailbox::Fetch{0}));
  ASSERT_EQ(mine.items.size(), 1u);
  EXPECT_EQ(mine.items[0].id, id);
}

TEST(MailboxServingTest, a_daemon_not_asked_to_serve_a_mailbox_does_not_speak_the_protocol) {
  TempDir tmp;
  Daemon d(tmp / "d", {"--listen", "/ip4/127.0.0.1/tcp/0"});
  ASSERT_TRUE(d.start()) << d.stderr_text();
  AttackerPeer peer;
  auto answer =
      peer.exchange(dial_addr(d), kMailbox, mailbox::encode(mailbox::Request(mailbox::Fetch{0})));
  EXPECT_FALSE(answer.ok());
}

}  // namespace
}  // namespace soma::security
