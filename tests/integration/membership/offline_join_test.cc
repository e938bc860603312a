// Joining when the other side is offline, with real daemons on loopback:
// a request whose owner cannot be reached waits on the requester and is
// sent again until it arrives (across restarts), and with a mailbox daemon
// requests and decisions reach peers that are offline when they are sent.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness/soma_harness.h"
#include "membership/membership_cli.h"

namespace soma::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

bool has_one_pending_incoming(const Daemon& d) {
  json incoming = requests(d, "incoming");
  return incoming.size() == 1 && incoming[0]["state"] == "pending";
}

TEST(OfflineJoinTest,
     a_request_to_an_offline_owner_arrives_once_it_is_back_and_the_decision_returns) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback);
  Daemon b(tmp / "b", kLoopback);

  // A is started once to learn its address (its port is kept), then stops.
  ASSERT_TRUE(a.start()) << a.stderr_text();
  const std::string a_id = peer_id(a);
  const std::string a_addr = loopback_addr(a);
  const std::string space = run_json(a, {"space", "create", "Team"})["id"];
  ASSERT_EQ(a.stop_gracefully(), 0);

  ASSERT_TRUE(b.start()) << b.stderr_text();
  json asked = run_json(b, {"join", space, "--via", a_addr, "--role", "editor"});
  EXPECT_EQ(asked["state"], "pending") << asked.dump();
  EXPECT_EQ(asked["peer"], a_id);
  EXPECT_NE(asked["detail"].get<std::string>().find("could not be reached"), std::string::npos)
      << asked.dump();
  const std::string id = asked["id"];
  auto human = b.soma({"requests", "--outgoing"});
  EXPECT_NE(human.out.find("pending"), std::string::npos) << human.out;

  // Asking again for the same space is refused while this one waits.
  auto again = b.soma({"join", space, "--via", a_addr});
  EXPECT_NE(again.exit_code, 0) << again.out;

  // B restarts: the request survives and is still waiting.
  ASSERT_EQ(b.stop_gracefully(), 0);
  ASSERT_TRUE(b.start()) << b.stderr_text();
  json waiting = requests(b, "outgoing");
  ASSERT_EQ(waiting.size(), 1u) << waiting.dump();
  EXPECT_EQ(waiting[0]["id"], id);
  EXPECT_EQ(waiting[0]["state"], "pending");

  // A comes back; the retry delivers the request.
  ASSERT_TRUE(a.start()) << a.stderr_text();
  ASSERT_TRUE(eventually([&] { return has_one_pending_incoming(a); }))
      << requests(b, "outgoing").dump() << b.stderr_text();
  json incoming = requests(a, "incoming")[0];
  EXPECT_EQ(incoming["id"], id);
  EXPECT_EQ(incoming["role"], "editor");

  // B restarts once more before A decides; the decision still reaches it.
  ASSERT_EQ(b.stop_gracefully(), 0);
  ASSERT_TRUE(b.start()) << b.stderr_text();
  json approved = run_json(a, {"approve", id});
  EXPECT_EQ(approved["state"], "approved");
  ASSERT_TRUE(eventually([&] { return !find_space(b, space).is_null(); }))
      << requests(a, "incoming").dump() << b.stderr_text();
  json joined = find_space(b, space);
  EXPECT_EQ(joined["role"], "editor");
  EXPECT_EQ(joined["membership"], "joined");
  EXPECT_EQ(joined["owner"], a_id);
  EXPECT_EQ(requests(b, "outgoing")[0]["state"], "approved");
}

class MailboxJoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // M serves a mailbox by its config file; A names it by flag, B by file.
    write_file(tmp_ / "m.toml", "serve_mailbox = true\n");
    m_ = std::make_unique<Daemon>(tmp_ / "m",
                                  with(kLoopback, {"--config", (tmp_ / "m.toml").string()}));
    ASSERT_TRUE(m_->start()) << m_->stderr_text();
    const std::string m_addr = loopback_addr(*m_);
    write_file(tmp_ / "b.toml", "mailbox = \"" + m_addr + "\"\n");
    a_ = std::make_unique<Daemon>(tmp_ / "a", with(kLoopback, {"--mailbox", m_addr}));
    b_ = std::make_unique<Daemon>(tmp_ / "b",
                                  with(kLoopback, {"--config", (tmp_ / "b.toml").string()}));
    ASSERT_TRUE(a_->start()) << a_->stderr_text();
    a_id_ = peer_id(*a_);
    a_addr_ = loopback_addr(*a_);
    space_ = run_json(*a_, {"space", "create", "Team"})["id"];
  }

  TempDir tmp_;
  std::unique_ptr<Daemon> m_, a_, b_;
  std::string a_id_, a_addr_, space_;
};

TEST_F(MailboxJoinTest,
       a_decision_reaches_the_requester_through_the_mailbox_while_the_owner_is_offline) {
  ASSERT_TRUE(b_->start()) << b_->stderr_text();
  json asked = run_json(*b_, {"join", space_, "--via", a_addr_, "--role", "viewer"});
  ASSERT_EQ(asked["state"], "pending") << asked.dump();
  ASSERT_EQ(asked["peer"], a_id_);
  ASSERT_TRUE(eventually([&] { return has_one_pending_incoming(*a_); }));
  ASSERT_EQ(b_->stop_gracefully(), 0);

  // B is gone: A's decision goes to the mailbox, then A goes too.
  json approved = run_json(*a_, {"approve", asked["id"]});
  EXPECT_EQ(approved["state"], "approved");
  ASSERT_TRUE(eventually([&] { return requests(*a_, "incoming")[0]["delivery"] == "delivered"; }))
      << requests(*a_, "incoming").dump() << a_->stderr_text();
  ASSERT_EQ(a_->stop_gracefully(), 0);

  // B fetches it from M when it starts.
  ASSERT_TRUE(b_->start()) << b_->stderr_text();
  ASSERT_TRUE(eventually([&] { return !find_space(*b_, space_).is_null(); }))
      << requests(*b_, "outgoing").dump() << b_->stderr_text();
  json joined = find_space(*b_, space_);
  EXPECT_EQ(joined["role"], "viewer");
  EXPECT_EQ(joined["owner"], a_id_);
  EXPECT_EQ(requests(*b_, "outgoing")[0]["state"], "approved");
}

TEST_F(MailboxJoinTest, a_request_left_in_the_mailbox_reaches_the_owner_when_it_starts) {
  ASSERT_EQ(a_->stop_gracefully(), 0);
  ASSERT_TRUE(b_->start()) << b_->stderr_text();
  json asked = run_json(*b_, {"join", space_, "--via", a_addr_});
  ASSERT_EQ(asked["state"], "pending") << asked.dump();
  ASSERT_TRUE(eventually([&] {
    json r = requests(*b_, "outgoing")[0];
    return r["detail"].get<std::string>().find("mailbox") != std::string::npos;
  })) << requests(*b_, "outgoing").dump()
      << b_->stderr_text();

  ASSERT_TRUE(a_->start()) << a_->stderr_text();
  ASSERT_TRUE(eventually([&] { return has_one_pending_incoming(*a_); })) << a_->stderr_text();
  EXPECT_EQ(requests(*a_, "incoming")[0]["id"], asked["id"]);
  json approved = run_json(*a_, {"approve", asked["id"]});
  EXPECT_EQ(approved["state"], "approved");
  ASSERT_TRUE(eventually([&] { return !find_space(*b_, space_).is_null(); })) << b_->stderr_text();
  EXPECT_EQ(find_space(*b_, space_)["role"], "member");
}

TEST(MailboxOptionsTest, a_mailbox_that_is_not_a_peer_or_address_stops_the_daemon_at_start) {
  TempDir tmp;
  Daemon flag(tmp / "a", with(kLoopback, {"--mailbox", "not-a-peer"}));
  EXPECT_FALSE(flag.start());
  EXPECT_EQ(flag.wait_exit(std::chrono::seconds(10)), 1);
  EXPECT_NE(flag.stderr_text().find("--mailbox"), std::string::npos) << flag.stderr_text();

  write_file(tmp / "bad.toml", "mailbox = 5\n");
  Daemon file(tmp / "b", with(kLoopback, {"--config", (tmp / "bad.toml").string()}));
  EXPECT_FALSE(file.start());
  EXPECT_EQ(file.wait_exit(std::chrono::seconds(10)), 1);
  EXPECT_NE(file.stderr_text().find("'mailbox'"), std::string::npos) << file.stderr_text();
}

}  // namespace
}  // namespace soma::testing
