// The network node as the daemon uses it: hosts on loop threads of their
// own, driven from the test's thread through blocking calls with deadlines.
#include "p2p/node/node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "p2p/host/interface_addrs.h"
#include "p2p/identify/identify.h"
#include "p2p/ping/ping.h"
#include "p2p/transport/tcp.h"

namespace soma::p2p::node {
namespace {

using namespace std::chrono_literals;

constexpr auto kCallTime = 20s;

std::unique_ptr<Node> start_node(Config config = {}) {
  config.host.agent_version = "soma/test";
  auto node = Node::start(crypto::Ed25519PrivateKey::generate(), std::move(config));
  EXPECT_TRUE(node.ok()) << node.error().message;
  return node.ok() ? std::move(*node) : nullptr;
}

Multiaddr loopback_any_port() { return Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value(); }

template <typename T>
T answered(const Answer<T>& answer) {
  EXPECT_TRUE(answer.has_value()) << "the network loop did not answer in time";
  if (!answer) throw std::runtime_error("no answer");
  EXPECT_TRUE(answer->ok()) << answer->error().message;
  if (!answer->ok()) throw std::runtime_error(answer->error().message);
  return answer->value();
}

template <typename T>
core::ErrorCode failure_code(const Answer<T>& answer) {
  EXPECT_TRUE(answer.has_value()) << "the network loop did not answer in time";
  if (!answer) return core::ErrorCode::kInternal;
  EXPECT_FALSE(answer->ok());
  return answer->ok() ? core::ErrorCode::kInternal : answer->error().code;
}

TEST(NodeTarget, reads_peer_ids_and_multiaddrs_and_names_what_it_expected) {
  auto id = crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  auto by_id = parse_target(id.to_string());
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(std::get<crypto::PeerId>(*by_id), id);

  auto by_addr = parse_target("/ip4/127.0.0.1/tcp/4001");
  ASSERT_TRUE(by_addr.ok());
  EXPECT_EQ(to_string(*by_addr), "/ip4/127.0.0.1/tcp/4001");

  auto garbage = parse_target("garbage");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_NE(garbage.error().message.find("neither a peer id"), std::string::npos);

  auto bad_addr = parse_target("/ip4/300.0.0.1/tcp/1");
  ASSERT_FALSE(bad_addr.ok());
  EXPECT_NE(bad_addr.error().message.find("/ip4/300.0.0.1/tcp/1"), std::string::npos);
  EXPECT_FALSE(parse_target("").ok());
  auto huge = parse_target(std::string(1 << 20, '/'));
  ASSERT_FALSE(huge.ok());
  EXPECT_LT(huge.error().message.size(), 200u);
}

TEST(InterfaceAddrs, expands_the_unspecified_address_to_loopback_among_others_and_keeps_the_rest) {
  auto wildcard = Multiaddr::parse("/ip4/0.0.0.0/tcp/4321").value();
  auto fixed = Multiaddr::parse("/ip4/192.0.2.7/tcp/9").value();
  auto out = host::expand_unspecified({wildcard, fixed, fixed});
  EXPECT_NE(std::find(out.begin(), out.end(), Multiaddr::parse("/ip4/127.0.0.1/tcp/4321").value()),
            out.end());
  EXPECT_EQ(std::count(out.begin(), out.end(), fixed), 1);
  EXPECT_EQ(std::find(out.begin(), out.end(), wildcard), out.end());
}

TEST(Node, two_nodes_dial_list_ping_and_identify_each_other) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(a && b);
  auto bound = a->listen(loopback_any_port());
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  auto dialable = a->dialable_addrs();
  ASSERT_EQ(dialable.size(), 1u);
  EXPECT_EQ(dialable[0].peer_id(), a->peer_id());

  auto dialed = answered(b->dial(dialable[0], Clock::now() + kCallTime));
  EXPECT_EQ(dialed.peer, a->peer_id());
  EXPECT_EQ(dialed.addr, *bound);
  EXPECT_FALSE(dialed.already_connected);
  auto again = answered(b->dial(dialable[0], Clock::now() + kCallTime));
  EXPECT_TRUE(again.already_connected);

  auto on_a = answered(a->peers(false, Clock::now() + kCallTime));
  ASSERT_EQ(on_a.size(), 1u);
  EXPECT_EQ(on_a[0].peer, b->peer_id());
  ASSERT_EQ(on_a[0].connections.size(), 1u);
  EXPECT_EQ(on_a[0].connections[0].role, transport::Role::kListener);
  EXPECT_GT(on_a[0].connections[0].since.time_since_epoch().count(), 0);

  auto pinged = answered(b->ping(a->peer_id(), 3, Clock::now() + kCallTime));
  EXPECT_EQ(pinged.peer, a->peer_id());
  ASSERT_EQ(pinged.rtts.size(), 3u);
  for (auto rtt : pinged.rtts) EXPECT_GT(rtt.count(), 0);

  auto identified = answered(b->identify(a->peer_id(), Clock::now() + kCallTime));
  EXPECT_EQ(identified.info.agent_version, "soma/test");
  const auto& protocols = identified.info.protocols;
  EXPECT_NE(std::find(protocols.begin(), protocols.end(), ping::kProtocolId), protocols.end());
  EXPECT_NE(std::find(protocols.begin(), protocols.end(), identify::kProtocolId), protocols.end());
  EXPECT_EQ(identified.info.listen_addrs, std::vector<Multiaddr>{*bound});

  auto on_b = answered(b->peers(false, Clock::now() + kCallTime));
  ASSERT_EQ(on_b.size(), 1u);
  EXPECT_EQ(on_b[0].connections.at(0).role, transport::Role::kDialer);
  EXPECT_EQ(on_b[0].agent_version, "soma/test");
}

TEST(Node, a_peer_id_without_connection_or_address_is_not_found) {
  auto a = start_node();
  ASSERT_TRUE(a);
  auto stranger =
      crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  EXPECT_EQ(failure_code(a->ping(stranger, 1, Clock::now() + kCallTime)),
            core::ErrorCode::kNotFound);
  EXPECT_EQ(failure_code(a->identify(stranger, Clock::now() + kCallTime)),
            core::ErrorCode::kNotFound);
}

TEST(Node, dialing_a_closed_port_is_unavailable_and_names_the_address) {
  auto a = start_node();
  ASSERT_TRUE(a);
  // Bind a port, then close it: nothing listens there any more.
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto port = probe.local_endpoint().port();
  probe.close();
  std::string addr = "/ip4/127.0.0.1/tcp/" + std::to_string(port);
  auto answer = a->dial(Multiaddr::parse(addr).value(), Clock::now() + kCallTime);
  ASSERT_TRUE(answer.has_value());
  ASSERT_FALSE(answer->ok());
  EXPECT_EQ(answer->error().code, core::ErrorCode::kUnavailable);
  EXPECT_NE(answer->error().message.find(addr), std::string::npos) << answer->error().message;
}

TEST(Node, refuses_to_dial_itself_by_id_or_by_address) {
  auto a = start_node();
  ASSERT_TRUE(a);
  auto bound = a->listen(loopback_any_port());
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(failure_code(a->dial(a->peer_id(), Clock::now() + kCallTime)),
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(failure_code(a->dial(*bound, Clock::now() + kCallTime)),
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(failure_code(a->ping(a->peer_id(), 1, Clock::now() + kCallTime)),
            core::ErrorCode::kInvalidArgument);
}

TEST(Node, refuses_a_ping_count_out_of_range) {
  auto a = start_node();
  ASSERT_TRUE(a);
  EXPECT_EQ(failure_code(a->ping(a->peer_id(), 0, Clock::now() + kCallTime)),
            core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(failure_code(a->ping(a->peer_id(), kMaxPingCount + 1, Clock::now() + kCallTime)),
            core::ErrorCode::kInvalidArgument);
}

TEST(Node, a_caller_stops_waiting_at_its_deadline_and_waiting_calls_are_bounded) {
  Config config;
  config.max_pending_calls = 1;
  config.host.timeouts.security_negotiation = 1500ms;
  auto a = start_node(config);
  ASSERT_TRUE(a);
  // A listener that never accepts: the kernel completes the TCP handshake
  // and the dial then waits for a negotiation that never comes.
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::string addr = "/ip4/127.0.0.1/tcp/" + std::to_string(silent.local_endpoint().port());

  auto started = Clock::now();
  auto stalled = a->dial(Multiaddr::parse(addr).value(), Clock::now() + 200ms);
  EXPECT_FALSE(stalled.has_value());
  EXPECT_LT(Clock::now() - started, 1s);

  // The abandoned dial still holds the one place.
  EXPECT_EQ(failure_code(a->peers(false, Clock::now() + kCallTime)),
            core::ErrorCode::kResourceExhausted);

  // Once the negotiation deadline ends it, calls get through again.
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    auto listing = a->peers(false, Clock::now() + kCallTime);
    served = listing && listing->ok();
    if (!served) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(served);
}

TEST(Node, calls_after_stop_are_unavailable_and_stop_closes_the_listener) {
  auto a = start_node();
  ASSERT_TRUE(a);
  auto bound = a->listen(loopback_any_port());
  ASSERT_TRUE(bound.ok());
  a->stop();
  a->stop();
  EXPECT_EQ(failure_code(a->peers(false, Clock::now() + kCallTime)), core::ErrorCode::kUnavailable);
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  std::error_code ec;
  auto endpoint = transport::endpoint_from_multiaddr(*bound);
  ASSERT_TRUE(endpoint.ok());
  socket.connect(*endpoint, ec);
  EXPECT_TRUE(ec) << "the listener still accepts after stop()";
}

}  // namespace
}  // namespace soma::p2p::node
