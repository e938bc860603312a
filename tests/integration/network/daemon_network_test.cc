// Two real daemons on loopback find, dial, ping and identify each other
// through the CLI; listen addresses are configured, remembered and refused
// as a person would expect.
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::vector<std::string> kLoopback = {"--listen", "/ip4/127.0.0.1/tcp/0"};

json run_json(const Daemon& d, std::vector<std::string> args, int expected_exit = 0) {
  args.push_back("--json");
  auto r = d.soma(args);
  EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
  auto doc = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out;
  return doc.is_discarded() ? json::object() : doc;
}

json status(const Daemon& d) { return run_json(d, {"status"}); }

// The first listen address on 127.0.0.1, which every test daemon has.
std::string loopback_addr(const Daemon& d) {
  const json doc = status(d);
  for (const auto& a : doc["listen_addrs"]) {
    std::string addr = a.get<std::string>();
    if (addr.rfind("/ip4/127.0.0.1/tcp/", 0) == 0) return addr;
  }
  ADD_FAILURE() << "no 127.0.0.1 listen address in " << doc.dump();
  return {};
}

std::string port_of(const std::string& addr) {
  auto start = addr.find("/tcp/") + 5;
  return addr.substr(start, addr.find('/', start) - start);
}

bool lists_peer(const json& peers, const std::string& peer_id, const std::string& direction) {
  for (const auto& p : peers["peers"]) {
    if (p["peer_id"] != peer_id || !p["connected"].get<bool>()) continue;
    for (const auto& c : p["connections"]) {
      if (c["direction"] == direction) return true;
    }
  }
  return false;
}

bool contains(const json& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(DaemonNetwork, two_daemons_dial_list_ping_and_identify_each_other) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback);
  Daemon b(tmp / "b", kLoopback);
  ASSERT_TRUE(a.start()) << a.stderr_text();
  ASSERT_TRUE(b.start()) << b.stderr_text();
  json a_status = status(a);
  const std::string a_id = a_status["peer_id"];
  const std::string b_id = status(b)["peer_id"];

  // Status shows one dialable address, ending in this daemon's id.
  ASSERT_EQ(a_status["listen_addrs"].size(), 1u) << a_status.dump();
  const std::string a_addr = a_status["listen_addrs"][0];
  EXPECT_EQ(a_addr.rfind("/ip4/127.0.0.1/tcp/", 0), 0u) << a_addr;
  EXPECT_NE(a_addr.find("/p2p/" + a_id), std::string::npos) << a_addr;
  EXPECT_NE(port_of(a_addr), "0");
  auto human = a.soma({"status"});
  EXPECT_NE(human.out.find(a_addr), std::string::npos) << human.out;

  json dialed = run_json(b, {"dial", a_addr});
  EXPECT_EQ(dialed["peer_id"], a_id);
  EXPECT_EQ(dialed["already_connected"], false);
  auto dial_line = b.soma({"dial", a_addr});
  EXPECT_EQ(dial_line.exit_code, 0) << dial_line.err;
  EXPECT_NE(dial_line.out.find("already connected to " + a_id), std::string::npos) << dial_line.out;

  EXPECT_TRUE(lists_peer(run_json(b, {"peers"}), a_id, "outbound"));
  // The listener registers the connection as its upgrade ends; give it a
  // moment rather than racing it.
  bool a_sees_b = false;
  for (int i = 0; i < 50 && !a_sees_b; ++i) {
    a_sees_b = lists_peer(run_json(a, {"peers"}), b_id, "inbound");
    if (!a_sees_b) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(a_sees_b);
  auto table = a.soma({"peers"});
  EXPECT_NE(table.out.find(b_id), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("inbound"), std::string::npos) << table.out;

  json pinged = run_json(b, {"ping", a_id, "--count", "3"});
  EXPECT_EQ(pinged["peer_id"], a_id);
  ASSERT_EQ(pinged["rtt_ns"].size(), 3u) << pinged.dump();
  for (const auto& rtt : pinged["rtt_ns"]) EXPECT_GT(rtt.get<std::uint64_t>(), 0u);
  auto ping_lines = b.soma({"ping", a_id, "-c", "2"});
  EXPECT_EQ(ping_lines.exit_code, 0) << ping_lines.err;
  EXPECT_NE(ping_lines.out.find("pong 2 from " + a_id), std::string::npos) << ping_lines.out;

  json identified = run_json(b, {"identify", a_id});
  EXPECT_EQ(identified["peer_id"], a_id);
  EXPECT_EQ(identified["agent_version"], "soma/" + a_status["version"].get<std::string>());
  EXPECT_TRUE(contains(identified["protocols"], "/ipfs/ping/1.0.0")) << identified.dump();
  EXPECT_TRUE(contains(identified["protocols"], "/ipfs/id/1.0.0")) << identified.dump();
  EXPECT_TRUE(contains(identified["listen_addrs"], a_addr.substr(0, a_addr.find("/p2p/"))))
      << identified.dump();
  EXPECT_EQ(identified["observed_addr"].get<std::string>().rfind("/ip4/127.0.0.1/tcp/", 0), 0u);

  // A pings B back over the connection B opened.
  json back = run_json(a, {"ping", b_id, "--count", "1"});
  EXPECT_EQ(back["rtt_ns"].size(), 1u);
}

TEST(DaemonNetwork, stopping_a_daemon_closes_its_connections_and_its_listener) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback);
  Daemon b(tmp / "b", kLoopback);
  ASSERT_TRUE(a.start()) << a.stderr_text();
  ASSERT_TRUE(b.start()) << b.stderr_text();
  const std::string a_addr = loopback_addr(a);
  const std::string a_id = status(a)["peer_id"];
  run_json(b, {"dial", a_addr});
  ASSERT_TRUE(lists_peer(run_json(b, {"peers"}), a_id, "outbound"));

  EXPECT_EQ(a.stop_gracefully(), 0);
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = run_json(b, {"peers"})["peers"].empty();
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(gone) << "B still lists A after A stopped";
  json failed = run_json(b, {"dial", a_addr}, 4);
  EXPECT_EQ(failed["error"]["code"], "UNAVAILABLE");
  // The known address stays listed once the connection is gone.
  json known = run_json(b, {"peers", "--all"});
  ASSERT_EQ(known["peers"].size(), 1u) << known.dump();
  EXPECT_EQ(known["peers"][0]["peer_id"], a_id);
  EXPECT_EQ(known["peers"][0]["connected"], false);
  EXPECT_FALSE(known["peers"][0]["addrs"].empty());
}

TEST(DaemonNetwork, keeps_its_default_listen_port_across_restarts) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  std::string before = loopback_addr(daemon);
  ASSERT_FALSE(before.empty());
  EXPECT_NE(port_of(before), "0");
  EXPECT_EQ(daemon.stop_gracefully(), 0);

  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  EXPECT_EQ(loopback_addr(daemon), before);
}

TEST(DaemonNetwork, picks_a_new_port_and_says_so_when_the_remembered_one_is_taken) {
  TempDir tmp;
  Daemon daemon(tmp / "data", kLoopback);
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  std::string before = loopback_addr(daemon);
  EXPECT_EQ(daemon.stop_gracefully(), 0);

  // Something else takes the port while the daemon is down.
  asio::io_context io;
  asio::ip::tcp::acceptor squatter(io,
                                   {asio::ip::make_address("127.0.0.1"),
                                    static_cast<asio::ip::port_type>(std::stoi(port_of(before)))});
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  std::string after = loopback_addr(daemon);
  EXPECT_NE(port_of(after), port_of(before));
  EXPECT_NE(daemon.stderr_text().find("port " + port_of(before) + " remembered for"),
            std::string::npos)
      << daemon.stderr_text();
  squatter.close();

  // The new port is the one kept from now on.
  EXPECT_EQ(daemon.stop_gracefully(), 0);
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  EXPECT_EQ(loopback_addr(daemon), after);
}

TEST(DaemonNetwork, a_listen_address_that_does_not_parse_stops_startup_naming_it) {
  TempDir tmp;
  Daemon daemon(tmp / "data", {"--listen", "garbage"});
  EXPECT_FALSE(daemon.start());
  auto code = daemon.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(daemon.stderr_text().find("'garbage'"), std::string::npos) << daemon.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));

  Daemon udp(tmp / "udp", {"--listen", "/ip4/127.0.0.1/udp/4001"});
  EXPECT_FALSE(udp.start());
  ASSERT_EQ(udp.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(udp.stderr_text().find("/ip4/127.0.0.1/udp/4001"), std::string::npos)
      << udp.stderr_text();
}

TEST(DaemonNetwork, a_listen_address_in_use_stops_startup_naming_it) {
  TempDir tmp;
  asio::io_context io;
  asio::ip::tcp::acceptor taken(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::string addr = "/ip4/127.0.0.1/tcp/" + std::to_string(taken.local_endpoint().port());
  Daemon daemon(tmp / "data", {"--listen", addr});
  EXPECT_FALSE(daemon.start());
  ASSERT_EQ(daemon.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(daemon.stderr_text().find("cannot listen on " + addr), std::string::npos)
      << daemon.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
}

TEST(DaemonNetwork, dialing_a_closed_port_fails_unavailable_with_a_clear_message) {
  TempDir tmp;
  Daemon b(tmp / "b", kLoopback);
  ASSERT_TRUE(b.start()) << b.stderr_text();
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::string addr = "/ip4/127.0.0.1/tcp/" + std::to_string(probe.local_endpoint().port());
  probe.close();

  json failed = run_json(b, {"dial", addr}, 4);
  EXPECT_EQ(failed["error"]["code"], "UNAVAILABLE");
  std::string message = failed["error"]["message"];
  EXPECT_NE(message.find(addr), std::string::npos) << message;
  EXPECT_NE(message.find("refused"), std::string::npos) << message;
  EXPECT_EQ(message.find("soma-daemon"), std::string::npos)
      << "a peer that cannot be reached is not the daemon: " << message;

  auto human = b.soma({"ping", addr});
  EXPECT_EQ(human.exit_code, 4);
  EXPECT_NE(human.err.find(addr), std::string::npos) << human.err;
}

TEST(DaemonNetwork, bad_targets_are_refused_with_the_right_codes) {
  TempDir tmp;
  Daemon b(tmp / "b", kLoopback);
  ASSERT_TRUE(b.start()) << b.stderr_text();
  // A valid peer id nobody here has heard of.
  Daemon other(tmp / "other", {"--no-listen"});
  ASSERT_TRUE(other.start()) << other.stderr_text();
  const std::string stranger = status(other)["peer_id"];

  json unknown = run_json(b, {"ping", stranger}, 2);
  EXPECT_EQ(unknown["error"]["code"], "NOT_FOUND");
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find(stranger), std::string::npos);
  EXPECT_EQ(run_json(b, {"identify", stranger}, 2)["error"]["code"], "NOT_FOUND");

  json garbage = run_json(b, {"dial", "not-a-peer"}, 1);
  EXPECT_EQ(garbage["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_NE(garbage["error"]["message"].get<std::string>().find("not-a-peer"), std::string::npos);
  EXPECT_EQ(run_json(b, {"dial", status(b)["peer_id"]}, 1)["error"]["code"], "INVALID_ARGUMENT");
  auto count = b.soma({"ping", stranger, "--count", "0"});
  EXPECT_EQ(count.exit_code, 1) << count.err;
}

TEST(DaemonNetwork, a_no_listen_daemon_has_no_listen_addrs_but_can_dial_out) {
  TempDir tmp;
  Daemon a(tmp / "a", kLoopback);
  Daemon quiet(tmp / "quiet", {"--no-listen"});
  ASSERT_TRUE(a.start()) << a.stderr_text();
  ASSERT_TRUE(quiet.start()) << quiet.stderr_text();
  EXPECT_TRUE(status(quiet)["listen_addrs"].empty());
  auto human = quiet.soma({"status"});
  EXPECT_NE(human.out.find("listening:  -"), std::string::npos) << human.out;

  json dialed = run_json(quiet, {"dial", loopback_addr(a)});
  EXPECT_EQ(dialed["peer_id"], status(a)["peer_id"]);

  Daemon both(tmp / "both", {"--no-listen", "--listen", "/ip4/127.0.0.1/tcp/0"});
  EXPECT_FALSE(both.start());
  EXPECT_EQ(both.wait_exit(10s), std::optional<int>(1));
}

TEST(DaemonNetwork, listen_addresses_come_from_the_config_file_unless_a_flag_says_otherwise) {
  TempDir tmp;
  write_file(tmp / "soma.toml", "listen = [\"/ip4/127.0.0.1/tcp/0\"]\n");
  Daemon from_file(tmp / "a", {"--config", (tmp / "soma.toml").string()});
  ASSERT_TRUE(from_file.start()) << from_file.stderr_text();
  auto addrs = status(from_file)["listen_addrs"];
  ASSERT_EQ(addrs.size(), 1u) << addrs.dump();
  EXPECT_EQ(addrs[0].get<std::string>().rfind("/ip4/127.0.0.1/tcp/", 0), 0u);

  Daemon flag_wins(tmp / "b", {"--config", (tmp / "soma.toml").string(), "--no-listen"});
  ASSERT_TRUE(flag_wins.start()) << flag_wins.stderr_text();
  EXPECT_TRUE(status(flag_wins)["listen_addrs"].empty());

  write_file(tmp / "bad.toml", "listen = [\"/ip4/127.0.0.1/tcp/0\", \"nope\"]\n");
  Daemon bad(tmp / "c", {"--config", (tmp / "bad.toml").string()});
  EXPECT_FALSE(bad.start());
  EXPECT_EQ(bad.wait_exit(10s), std::optional<int>(1));
  EXPECT_NE(bad.stderr_text().find("'nope'"), std::string::npos) << bad.stderr_text();
}

}  // namespace
}  // namespace soma::testing
