// Delegated joins and revocation with real daemons on loopback: the owner A
// lets C approve joins (`soma delegate`), C approves within its roles at
// once and tells A, A sees the new member as valid; a role C may not grant
// waits; after A revokes C, C approves nothing more. And a revoked member
// is refused by the owner's authorizer and learns of its revocation.
#include <gtest/gtest.h>

#include <algorithm>
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

// The entries of `soma members` for `peer` of the given kind.
std::vector<json> member_entries(const Daemon& d, const std::string& space, const std::string& peer,
                                 const std::string& kind) {
  std::vector<json> out;
  const json listed = run_json(d, {"members", space});
  for (const auto& m : listed["members"]) {
    if (m["peer"] == peer && m["kind"] == kind) out.push_back(m);
  }
  return out;
}

std::vector<std::string> audit_actions(const Daemon& d, const std::string& space) {
  std::vector<std::string> out;
  const json entries = run_json(d, {"audit", space})["entries"];
  for (const auto& e : entries) out.push_back(e["action"]);
  return out;
}

TEST(DelegationTest, a_delegate_approves_within_its_roles_until_the_owner_revokes_it) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback), c(tmp / "c", kLoopback);
  Daemon b2(tmp / "b2", kLoopback), b3(tmp / "b3", kLoopback), b4(tmp / "b4", kLoopback);
  for (Daemon* d : {&a, &c, &b2, &b3, &b4}) ASSERT_TRUE(d->start()) << d->stderr_text();
  const std::string a_id = peer_id(a), c_id = peer_id(c), b2_id = peer_id(b2);
  const std::string c_addr = loopback_addr(c);
  const std::string space = run_json(a, {"space", "create", "Team"})["id"];

  // A delegates editor and viewer to C, reaching it by address.
  json delegated = run_json(a, {"delegate", space, c_addr, "--roles", "viewer,editor", "--expires",
                                "40d", "--max-member-expiry", "30d", "--rate", "5/h"});
  EXPECT_EQ(delegated["delegate"], c_id);
  EXPECT_EQ(delegated["owner"], a_id);
  EXPECT_EQ(delegated["roles"], json({"editor", "viewer"}));
  EXPECT_EQ(delegated["rate_per_hour"], 5);
  EXPECT_EQ(delegated["state"], "valid");

  // C learns the space and its owner from the delegation.
  ASSERT_TRUE(eventually([&] { return !find_space(c, space).is_null(); })) << c.stderr_text();
  json held = find_space(c, space);
  EXPECT_EQ(held["owner"], a_id);
  EXPECT_EQ(held["name"], "Team");
  EXPECT_EQ(held["role"], "issuer");
  EXPECT_EQ(held["membership"], "delegated");
  auto on_c = member_entries(c, space, c_id, "delegation");
  ASSERT_EQ(on_c.size(), 1u);
  EXPECT_EQ(on_c[0]["state"], "valid");
  EXPECT_EQ(on_c[0]["roles"], json({"editor", "viewer"}));
  EXPECT_TRUE(contains(audit_actions(a, space), "delegation.issued"));
  EXPECT_TRUE(contains(audit_actions(c, space), "delegation.received"));

  // B2 asks C for editor: C approves at once.
  json joined = run_json(b2, {"join", space, "--via", c_addr, "--role", "editor"});
  EXPECT_EQ(joined["state"], "approved") << joined.dump();
  EXPECT_EQ(joined["granted_role"], "editor");
  EXPECT_EQ(joined["owner"], a_id);
  json b2_space = find_space(b2, space);
  ASSERT_FALSE(b2_space.is_null());
  EXPECT_EQ(b2_space["role"], "editor");
  EXPECT_EQ(b2_space["owner"], a_id);
  EXPECT_EQ(b2_space["membership"], "joined");
  // The membership is capped by the delegation's limit (30 days).
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LE(joined["expires_ms"].get<std::int64_t>(), now_ms + 30LL * 24 * 3600 * 1000 + 60'000);
  EXPECT_GT(joined["expires_ms"].get<std::int64_t>(), now_ms + 29LL * 24 * 3600 * 1000);

  // C tells A; A's authorizer accepts B2 as editor, issued by C.
  ASSERT_TRUE(eventually([&] { return !member_entries(a, space, b2_id, "membership").empty(); }))
      << a.stderr_text() << c.stderr_text();
  json on_a = member_entries(a, space, b2_id, "membership")[0];
  EXPECT_EQ(on_a["role"], "editor");
  EXPECT_EQ(on_a["issuer"], c_id);
  EXPECT_EQ(on_a["state"], "valid");
  EXPECT_EQ(on_a["access"], "editor");
  EXPECT_TRUE(contains(audit_actions(a, space), "capability.reported"));
  EXPECT_TRUE(contains(audit_actions(c, space), "capability.issued"));

  // A role C may not grant waits for a person.
  json asked = run_json(b3, {"join", space, "--via", c_addr, "--role", "member"});
  EXPECT_EQ(asked["state"], "pending") << asked.dump();
  const std::string b3_request = asked["id"];
  json incoming = run_json(c, {"requests", "--incoming", "--state", "pending"})["requests"];
  ASSERT_EQ(incoming.size(), 1u) << incoming.dump();
  EXPECT_EQ(incoming[0]["role"], "member");
  EXPECT_EQ(incoming[0]["owner"], a_id);
  // Approving it by hand as member is refused: the delegation does not allow it.
  auto by_hand = c.soma({"approve", b3_request, "--json"});
  EXPECT_EQ(by_hand.exit_code, 3) << by_hand.out << by_hand.err;
  EXPECT_NE(by_hand.out.find("editor, viewer only"), std::string::npos) << by_hand.out;

  // A revokes C as an issuer, keeping what it issued so far.
  json revoked = run_json(a, {"revoke", space, c_id, "--issued", "keep"});
  EXPECT_EQ(revoked["kind"], "issuer");
  EXPECT_EQ(revoked["policy"], "keep issued");
  EXPECT_GE(revoked["recipients"].get<int>(), 2);  // C and B2
  auto on_a_c = member_entries(a, space, c_id, "delegation");
  ASSERT_EQ(on_a_c.size(), 1u);
  EXPECT_EQ(on_a_c[0]["state"], "revoked");
  ASSERT_TRUE(eventually([&] {
    auto d = member_entries(c, space, c_id, "delegation");
    return !d.empty() && d[0]["state"] == "revoked";
  })) << c.stderr_text();
  EXPECT_TRUE(contains(audit_actions(c, space), "revocation.accepted"));
  EXPECT_EQ(find_space(c, space)["membership"], "revoked");

  // What C issued before stays valid (keep)...
  EXPECT_EQ(member_entries(a, space, b2_id, "membership")[0]["state"], "valid");
  // ...but C approves nothing more: by hand, or a new request.
  auto after = c.soma({"approve", b3_request, "--role", "viewer", "--json"});
  EXPECT_EQ(after.exit_code, 3) << after.out << after.err;
  EXPECT_NE(after.out.find("no delegation"), std::string::npos) << after.out;
  auto refused = b4.soma({"join", space, "--via", c_addr, "--role", "viewer"});
  EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("no delegation"), std::string::npos) << refused.err;
  EXPECT_TRUE(find_space(b4, space).is_null());
  EXPECT_EQ(run_json(c, {"requests", "--incoming", "--state", "approved"})["requests"].size(), 1u);
}

TEST(DelegationTest, a_delegation_made_while_the_delegate_is_offline_arrives_once_it_is_back) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback), c(tmp / "c", kLoopback);
  ASSERT_TRUE(a.start()) << a.stderr_text();
  ASSERT_TRUE(c.start()) << c.stderr_text();
  const std::string c_id = peer_id(c);
  const std::string space = run_json(a, {"space", "create", "Team"})["id"];
  // A learns where C is, then C goes away.
  run_json(a, {"dial", loopback_addr(c)});
  EXPECT_EQ(c.stop_gracefully(), 0);

  json delegated = run_json(a, {"delegate", space, c_id, "--roles", "viewer"});
  EXPECT_EQ(delegated["delegate"], c_id);
  EXPECT_EQ(delegated["rate_per_hour"], 10);  // the default

  // The push waits in A's outbox and reaches C once it is back.
  ASSERT_TRUE(c.start()) << c.stderr_text();
  ASSERT_TRUE(eventually([&] { return !find_space(c, space).is_null(); }, 90s))
      << a.stderr_text() << c.stderr_text();
  EXPECT_EQ(find_space(c, space)["membership"], "delegated");
  auto held = member_entries(c, space, c_id, "delegation");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]["roles"], json({"viewer"}));
  EXPECT_EQ(held[0]["state"], "valid");
}

TEST(DelegationTest, a_delegate_approves_nothing_once_its_delegation_expired) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback), c(tmp / "c", kLoopback);
  Daemon b2(tmp / "b2", kLoopback), b3(tmp / "b3", kLoopback);
  for (Daemon* d : {&a, &c, &b2, &b3}) ASSERT_TRUE(d->start()) << d->stderr_text();
  const std::string c_id = peer_id(c);
  const std::string c_addr = loopback_addr(c);
  const std::string space = run_json(a, {"space", "create", "Team"})["id"];

  json delegated =
      run_json(a, {"delegate", space, c_addr, "--roles", "member", "--expires", "10s"});
  const std::int64_t expires_ms = delegated["expires_ms"];
  ASSERT_TRUE(eventually([&] { return !find_space(c, space).is_null(); })) << c.stderr_text();

  // Within the delegation: approved, and the membership ends with it.
  json joined = run_json(b2, {"join", space, "--via", c_addr});
  EXPECT_EQ(joined["state"], "approved") << joined.dump();
  EXPECT_EQ(joined["expires_ms"], expires_ms);

  // Once it expired: nothing more, and C says so.
  const auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  while (now() <= expires_ms) std::this_thread::sleep_for(100ms);
  auto refused = b3.soma({"join", space, "--via", c_addr});
  EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("no delegation"), std::string::npos) << refused.err;
  EXPECT_TRUE(find_space(b3, space).is_null());
  auto held = member_entries(c, space, c_id, "delegation");
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]["state"], "expired");
}

TEST(DelegationTest, a_revoked_member_is_refused_by_the_owner_and_learns_of_it) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback), b(tmp / "b", kLoopback);
  ASSERT_TRUE(a.start()) << a.stderr_text();
  ASSERT_TRUE(b.start()) << b.stderr_text();
  const std::string b_id = peer_id(b);
  const std::string a_addr = loopback_addr(a);
  const std::string space = run_json(a, {"space", "create", "Team"})["id"];

  json asked = run_json(b, {"join", space, "--via", a_addr, "--role", "editor"});
  ASSERT_EQ(asked["state"], "pending") << asked.dump();
  run_json(a, {"approve", asked["id"]});
  ASSERT_TRUE(eventually([&] { return !find_space(b, space).is_null(); })) << b.stderr_text();
  auto before = member_entries(a, space, b_id, "membership");
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0]["state"], "valid");
  EXPECT_EQ(before[0]["access"], "editor");

  // Revoking a member needs no policy; a peer that is not a member or a
  // space that is not A's are refused clearly.
  json revoked = run_json(a, {"revoke", "Team", b_id});
  EXPECT_EQ(revoked["kind"], "member");
  EXPECT_EQ(revoked["peer"], b_id);
  EXPECT_EQ(revoked["recipients"], 1);
  auto not_owner = b.soma({"revoke", space, peer_id(a), "--json"});
  EXPECT_NE(not_owner.exit_code, 0);
  auto bad_policy = a.soma({"revoke", space, b_id, "--issued", "some"});
  EXPECT_EQ(bad_policy.exit_code, 1) << bad_policy.err;

  // A's authorizer refuses B now.
  auto after = member_entries(a, space, b_id, "membership");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["state"], "revoked");
  EXPECT_EQ(after[0]["access"], "none");
  EXPECT_TRUE(contains(audit_actions(a, space), "revocation.issued"));
  auto table = a.soma({"members", "Team"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("revoked"), std::string::npos) << table.out;

  // B receives the revocation and sees it.
  ASSERT_TRUE(eventually([&] { return find_space(b, space)["membership"] == "revoked"; }))
      << b.stderr_text() << a.stderr_text();
  auto on_b = member_entries(b, space, b_id, "membership");
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0]["state"], "revoked");
  EXPECT_EQ(on_b[0]["access"], "none");
  EXPECT_TRUE(contains(audit_actions(b, space), "revocation.accepted"));
}

}  // namespace
}  // namespace soma::testing
