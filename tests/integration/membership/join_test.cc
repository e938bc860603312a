// Two real daemons on loopback share a space through the CLI: B asks, A
// approves or rejects, the decision travels back over /soma/join-decision/1
// (also after B was offline), and both keep the result across restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
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

std::vector<std::string> event_kinds(const Daemon& d) {
  std::vector<std::string> out;
  const json listed = run_json(d, {"events"});
  for (const auto& e : listed["events"]) out.push_back(e["kind"]);
  return out;
}

class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.start()) << a_.stderr_text();
    ASSERT_TRUE(b_.start()) << b_.stderr_text();
    a_id_ = peer_id(a_);
    b_id_ = peer_id(b_);
    a_addr_ = loopback_addr(a_);
    space_ = run_json(a_, {"space", "create", "Team"})["id"];
  }

  // B asks A to join as `role`; returns the request id.
  std::string join(const std::string& role) {
    json asked = run_json(b_, {"join", space_, "--via", a_addr_, "--role", role});
    EXPECT_EQ(asked["state"], "pending") << asked.dump();
    EXPECT_EQ(asked["peer"], a_id_);
    return asked["id"];
  }

  TempDir tmp_;
  Daemon a_{tmp_ / "a", kLoopback};
  Daemon b_{tmp_ / "b", kLoopback};
  std::string a_id_, b_id_, a_addr_, space_;
};

TEST_F(JoinTest, owner_approval_makes_the_requester_an_editor_that_survives_restarts) {
  const std::string id = join("editor");

  // Pending on both sides.
  json incoming = requests(a_, "incoming");
  ASSERT_EQ(incoming.size(), 1u) << incoming.dump();
  EXPECT_EQ(incoming[0]["id"], id);
  EXPECT_EQ(incoming[0]["state"], "pending");
  EXPECT_EQ(incoming[0]["peer"], b_id_);
  EXPECT_EQ(incoming[0]["role"], "editor");
  EXPECT_EQ(incoming[0]["space_name"], "Team");
  json outgoing = requests(b_, "outgoing");
  ASSERT_EQ(outgoing.size(), 1u) << outgoing.dump();
  EXPECT_EQ(outgoing[0]["state"], "pending");
  EXPECT_EQ(outgoing[0]["peer"], a_id_);
  auto table = a_.soma({"requests"});
  EXPECT_NE(table.out.find(id.substr(0, 12)), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("pending"), std::string::npos) << table.out;
  EXPECT_TRUE(find_space(b_, space_).is_null());

  // A approves by a prefix of the id, as editor for 30 days.
  json approved =
      run_json(a_, {"approve", id.substr(0, 10), "--role", "editor", "--expires", "30d"});
  EXPECT_EQ(approved["state"], "approved");
  EXPECT_EQ(approved["granted_role"], "editor");
  const auto month_ms = 30LL * 24 * 3600 * 1000;
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_NEAR(static_cast<double>(approved["expires_ms"].get<std::int64_t>()),
              static_cast<double>(now_ms + month_ms), 120'000.0);

  ASSERT_TRUE(eventually([&] { return !find_space(b_, space_).is_null(); })) << b_.stderr_text();
  json joined = find_space(b_, space_);
  EXPECT_EQ(joined["role"], "editor");
  EXPECT_EQ(joined["membership"], "joined");
  EXPECT_EQ(joined["owner"], a_id_);
  EXPECT_EQ(joined["name"], "Team");
  auto spaces_table = b_.soma({"spaces"});
  EXPECT_NE(spaces_table.out.find("joined"), std::string::npos) << spaces_table.out;
  EXPECT_NE(spaces_table.out.find("editor"), std::string::npos) << spaces_table.out;
  ASSERT_TRUE(eventually([&] { return requests(a_, "incoming")[0]["delivery"] == "delivered"; }));
  EXPECT_EQ(requests(b_, "outgoing")[0]["state"], "approved");
  EXPECT_TRUE(contains(event_kinds(a_), "join.request_received"));
  EXPECT_TRUE(contains(event_kinds(b_), "join.decision_received"));
  EXPECT_TRUE(contains(event_kinds(b_), "space.joined"));

  // Both restart and keep it.
  EXPECT_EQ(a_.stop_gracefully(), 0);
  EXPECT_EQ(b_.stop_gracefully(), 0);
  ASSERT_TRUE(a_.start()) << a_.stderr_text();
  ASSERT_TRUE(b_.start()) << b_.stderr_text();
  json kept = find_space(b_, space_);
  ASSERT_FALSE(kept.is_null());
  EXPECT_EQ(kept["role"], "editor");
  EXPECT_EQ(kept["membership"], "joined");
  EXPECT_EQ(find_space(a_, space_)["membership"], "owned");
  EXPECT_EQ(requests(a_, "incoming")[0]["state"], "approved");

  // A's audit lists the request, the decision and the issuance.
  json audit = run_json(a_, {"audit", "Team"})["entries"];
  std::vector<std::string> actions;
  for (const auto& e : audit) actions.push_back(e["action"]);
  ASSERT_GE(actions.size(), 3u) << audit.dump();
  EXPECT_EQ(actions[0], "request.received");
  EXPECT_EQ(actions[1], "decision.made");
  EXPECT_EQ(actions[2], "capability.issued");
  EXPECT_TRUE(contains(actions, "decision.delivered"));
  EXPECT_EQ(audit[0]["actor"], b_id_);
  EXPECT_EQ(audit[2]["subject"], b_id_);
  EXPECT_EQ(audit[2]["role"], "editor");
  EXPECT_FALSE(audit[2]["capability_id"].get<std::string>().empty());
  auto human = a_.soma({"audit", "Team"});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("capability.issued"), std::string::npos) << human.out;
}

TEST_F(JoinTest, a_rejection_reaches_the_requester_as_rejected) {
  const std::string id = join("viewer");
  json rejected = run_json(a_, {"reject", id, "--reason", "not this team"});
  EXPECT_EQ(rejected["state"], "rejected");

  ASSERT_TRUE(eventually([&] { return requests(b_, "outgoing")[0]["state"] == "rejected"; }))
      << b_.stderr_text();
  json outgoing = requests(b_, "outgoing")[0];
  EXPECT_EQ(outgoing["reason"], "not this team");
  EXPECT_TRUE(find_space(b_, space_).is_null());
  // Deciding it again is refused.
  auto again = a_.soma({"approve", id, "--json"});
  EXPECT_EQ(again.exit_code, 5) << again.out;
  EXPECT_NE(again.out.find("FAILED_PRECONDITION"), std::string::npos) << again.out;
}

TEST_F(JoinTest, approving_an_unknown_request_is_not_found) {
  auto r = a_.soma({"approve", "0123456789abcdef0123456789abcdef", "--json"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc["error"]["code"], "NOT_FOUND");
  auto bad = a_.soma({"approve", "xyz"});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  auto bad_expiry = a_.soma({"approve", "0123456789abcdef", "--expires", "soon"});
  EXPECT_EQ(bad_expiry.exit_code, 1);
  EXPECT_NE(bad_expiry.err.find("RFC 3339"), std::string::npos) << bad_expiry.err;
}

TEST_F(JoinTest, asking_for_a_space_the_owner_does_not_have_is_refused_clearly) {
  const std::string missing = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
  auto r = b_.soma({"join", missing, "--via", a_addr_});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no space " + missing), std::string::npos) << r.err;
  json outgoing = requests(b_, "outgoing");
  ASSERT_EQ(outgoing.size(), 1u);
  EXPECT_EQ(outgoing[0]["state"], "failed");
  EXPECT_TRUE(requests(a_, "incoming").empty());

  // A space id that is not one is caught before anything is sent.
  auto bad = b_.soma({"join", "not-a-space", "--via", a_addr_});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
}

TEST_F(JoinTest, a_decision_made_while_the_requester_is_offline_arrives_after_it_returns) {
  const std::string id = join("member");
  EXPECT_EQ(b_.stop_gracefully(), 0);

  json approved = run_json(a_, {"approve", id});
  EXPECT_EQ(approved["state"], "approved");
  // The first attempt finds B gone; the decision waits in the outbox.
  ASSERT_TRUE(eventually([&] {
    json r = requests(a_, "incoming")[0];
    return r["delivery"] == "pending" && !r["detail"].get<std::string>().empty();
  })) << requests(a_, "incoming").dump();

  ASSERT_TRUE(b_.start()) << b_.stderr_text();
  ASSERT_TRUE(eventually([&] { return !find_space(b_, space_).is_null(); }, 60s))
      << requests(a_, "incoming").dump();
  EXPECT_EQ(find_space(b_, space_)["role"], "member");
  ASSERT_TRUE(eventually([&] { return requests(a_, "incoming")[0]["delivery"] == "delivered"; }));
}

}  // namespace
}  // namespace soma::testing
