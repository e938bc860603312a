// The TCP transport and the connection upgrade between real hosts: who is
// authenticated, how dials fail, and how peers that stall or send garbage
// are cut off while others keep being served.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/keys.h"
#include "p2p/host/host.h"
#include "p2p/identify/identify.h"
#include "p2p/multistream/multistream.h"
#include "p2p/perf/perf.h"
#include "p2p/ping/ping.h"
#include "p2p/transport/tcp.h"
#include "p2p/transport/upgrade.h"
#include "p2p/yamux/frame.h"
#include "unit/p2p/host_harness.h"

namespace soma::p2p {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace)

class TransportTest : public HostHarness {};

TEST(TcpAddressTest, converts_multiaddrs_to_endpoints_and_back) {
  auto addr = Multiaddr::parse("/ip4/127.0.0.1/tcp/4001").value();
  auto ep = transport::endpoint_from_multiaddr(addr).value();
  EXPECT_EQ(ep.port(), 4001);
  EXPECT_EQ(ep.address().to_string(), "127.0.0.1");
  EXPECT_EQ(transport::multiaddr_from_endpoint(ep), addr);

  auto v6 = Multiaddr::parse("/ip6/::1/tcp/9").value();
  EXPECT_EQ(transport::multiaddr_from_endpoint(transport::endpoint_from_multiaddr(v6).value()), v6);

  EXPECT_FALSE(
      transport::endpoint_from_multiaddr(Multiaddr::parse("/dns4/a.b/tcp/1").value()).ok());
  EXPECT_FALSE(
      transport::endpoint_from_multiaddr(Multiaddr::parse("/ip4/1.2.3.4/udp/1").value()).ok());
}

TEST_F(TransportTest, dialer_and_listener_learn_each_others_authenticated_peer_id) {
  auto a = make_host();
  auto b = make_host();
  Multiaddr addr = listen(*a);

  auto conn = run(io_, b->connect(addr));
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  EXPECT_EQ((*conn)->remote_peer(), a->peer_id());
  spin(io_, 100ms);

  ASSERT_EQ(a->connections(b->peer_id()).size(), 1u);
  auto ev = a->events().try_pop();
  ASSERT_TRUE(ev.has_value());
  auto* connected = std::get_if<host::event::Connected>(&*ev);
  ASSERT_NE(connected, nullptr);
  EXPECT_EQ(connected->peer, b->peer_id());
  EXPECT_EQ(connected->role, transport::Role::kListener);

  // Dialing the same peer again reuses the connection.
  auto again = run(io_, b->connect(addr));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), conn->get());
}

TEST_F(TransportTest, dials_a_dns_name_after_resolving_it) {
  auto a = make_host();
  auto b = make_host();
  Multiaddr addr = listen(*a);
  auto port = transport::endpoint_from_multiaddr(addr.decapsulate(Protocol::kP2p))->port();
  auto named = Multiaddr::parse("/dns4/localhost/tcp/" + std::to_string(port) + "/p2p/" +
                                a->peer_id().to_string())
                   .value();
  auto conn = run(io_, b->connect(named));
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  EXPECT_EQ((*conn)->remote_peer(), a->peer_id());
  EXPECT_EQ((*conn)->info().remote_addr.to_string(), "/ip4/127.0.0.1/tcp/" + std::to_string(port));
}

TEST_F(TransportTest, a_refused_dial_reports_the_dial_phase) {
  auto a = make_host();
  auto b = make_host();
  Multiaddr addr = listen(*a);
  a->close();  // nobody listens there any more
  spin(io_, 50ms);
  auto conn = run(io_, b->connect(addr));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().code, core::ErrorCode::kUnavailable);
  ASSERT_TRUE(b->last_upgrade_failure().has_value());
  EXPECT_EQ(b->last_upgrade_failure()->phase, transport::Phase::kDial);
  EXPECT_EQ(b->last_upgrade_failure()->fault, transport::Fault::kNetwork);
}

TEST_F(TransportTest, dialing_an_address_of_the_wrong_peer_fails_the_handshake) {
  auto a = make_host();
  auto b = make_host();
  Multiaddr addr = listen(*a);
  auto stranger =
      crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  Multiaddr wrong = with_peer(addr.decapsulate(Protocol::kP2p), stranger);

  auto conn = run(io_, b->connect(wrong));
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.error().code, core::ErrorCode::kPermissionDenied) << conn.error().message;
  ASSERT_TRUE(b->last_upgrade_failure().has_value());
  EXPECT_EQ(b->last_upgrade_failure()->phase, transport::Phase::kHandshake);
  EXPECT_EQ(b->last_upgrade_failure()->fault, transport::Fault::kPeer);
  EXPECT_EQ(b->connection_count(), 0u);
}

TEST_F(TransportTest, a_peer_that_stalls_mid_handshake_is_cut_off_and_others_are_served) {
  host::Config config;
  config.timeouts.security_negotiation = 300ms;
  auto a = make_host(config);
  auto b = make_host();
  ASSERT_TRUE(ping::register_handler(*a).ok());
  Multiaddr addr = listen(*a);

  // A raw socket that connects and then says nothing.
  asio::ip::tcp::socket silent(io_);
  silent.connect(transport::endpoint_from_multiaddr(addr.decapsulate(Protocol::kP2p)).value());
  auto conn = run(io_, b->connect(addr)).value();
  EXPECT_TRUE(run(io_, ping::ping(*b, conn)).ok());

  spin(io_, 600ms);
  ASSERT_TRUE(a->last_upgrade_failure().has_value());
  EXPECT_TRUE(a->last_upgrade_failure()->timed_out);
  EXPECT_EQ(a->last_upgrade_failure()->phase, transport::Phase::kSecurityNegotiation);
  EXPECT_EQ(a->last_upgrade_failure()->fault, transport::Fault::kPeer);
  EXPECT_EQ(a->stats().upgrade_failures, 1u);

  // The silent socket was closed by the host.
  std::array<std::uint8_t, 64> buf{};
  std::error_code ec;
  std::size_t n = silent.read_some(asio::buffer(buf), ec);
  while (!ec && n > 0) n = silent.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_TRUE(run(io_, ping::ping(*b, conn)).ok());
}

TEST_F(TransportTest, garbage_after_connect_closes_only_that_connection) {
  auto a = make_host();
  auto b = make_host();
  ASSERT_TRUE(ping::register_handler(*a).ok());
  Multiaddr addr = listen(*a);
  auto conn = run(io_, b->connect(addr)).value();

  asio::ip::tcp::socket rude(io_);
  rude.connect(transport::endpoint_from_multiaddr(addr.decapsulate(Protocol::kP2p)).value());
  Bytes junk = pattern(300, 7);
  asio::write(rude, asio::buffer(junk));
  spin(io_, 300ms);

  EXPECT_EQ(a->stats().upgrade_failures, 1u);
  ASSERT_TRUE(a->last_upgrade_failure().has_value());
  EXPECT_EQ(a->last_upgrade_failure()->fault, transport::Fault::kPeer);
  EXPECT_FALSE(a->last_upgrade_failure()->timed_out);
  EXPECT_TRUE(conn->is_open());
  EXPECT_TRUE(run(io_, ping::ping(*b, conn)).ok());
}

TEST_F(TransportTest, a_peer_that_stalls_mid_frame_is_disconnected_at_the_deadline) {
  host::Config config;
  config.timeouts.frame = 300ms;
  auto a = make_host(config);
  Multiaddr addr = listen(*a);

  // A hand-driven client: a real upgrade, then half of a Noise frame.
  asio::ip::tcp::socket client(io_);
  client.connect(transport::endpoint_from_multiaddr(addr.decapsulate(Protocol::kP2p)).value());
  auto keys = noise::LocalKeys::generate(crypto::Ed25519PrivateKey::generate());
  transport::Timeouts timeouts;
  auto upgraded =
      run(io_, transport::upgrade(client, transport::Role::kDialer, keys, a->peer_id(), timeouts));
  ASSERT_TRUE(upgraded.ok()) << upgraded.failure.describe();
  Bytes partial{0x00, 0x40, 1, 2, 3, 4, 5};  // announces 64 bytes, sends 5
  asio::write(client, asio::buffer(partial));

  auto disconnected = run(io_, next_disconnected(a));
  ASSERT_TRUE(disconnected.has_value());
  EXPECT_TRUE(disconnected->reason.timed_out);
  EXPECT_EQ(disconnected->reason.fault, transport::Fault::kPeer);
  EXPECT_EQ(disconnected->reason.phase, transport::Phase::kRunning);
  EXPECT_EQ(a->connection_count(), 0u);
}

TEST_F(TransportTest, a_peer_that_stops_reading_is_disconnected_at_the_write_deadline) {
  host::Config config;
  config.timeouts.write = 500ms;
  auto a = make_host(config);
  ASSERT_TRUE(perf::register_handler(*a).ok());
  Multiaddr addr = listen(*a);

  // A hand-driven client asks for 256 MiB over perf, grants the window for
  // all of it, and then never reads.
  asio::ip::tcp::socket client(io_);
  client.connect(transport::endpoint_from_multiaddr(addr.decapsulate(Protocol::kP2p)).value());
  auto keys = noise::LocalKeys::generate(crypto::Ed25519PrivateKey::generate());
  transport::Timeouts timeouts;
  auto upgraded =
      run(io_, transport::upgrade(client, transport::Role::kDialer, keys, a->peer_id(), timeouts));
  ASSERT_TRUE(upgraded.ok()) << upgraded.failure.describe();

  constexpr std::uint32_t kWanted = 256u * 1024 * 1024;
  Bytes request;
  ASSERT_TRUE(multistream::append_message(request, multistream::kProtocolId).ok());
  ASSERT_TRUE(multistream::append_message(request, perf::kProtocolId).ok());
  for (int shift = 56; shift >= 0; shift -= 8) {
    request.push_back(static_cast<std::uint8_t>(std::uint64_t{kWanted} >> shift));
  }
  Bytes frames;
  yamux::append_frame(
      frames,
      yamux::FrameHeader::data(1, yamux::flag::kSyn, static_cast<std::uint32_t>(request.size())),
      request);
  yamux::append_frame(frames, yamux::FrameHeader::window_update(1, yamux::flag::kFin, kWanted));
  Bytes wire;
  ASSERT_TRUE(upgraded.session->encrypt(frames, wire).ok());
  asio::write(client, asio::buffer(wire));

  auto disconnected = run(io_, next_disconnected(a));
  ASSERT_TRUE(disconnected.has_value());
  EXPECT_TRUE(disconnected->reason.timed_out) << disconnected->reason.describe();
  EXPECT_EQ(disconnected->reason.fault, transport::Fault::kPeer);
  EXPECT_EQ(a->connection_count(), 0u);
}

TEST_F(TransportTest, inbound_connections_over_the_pending_handshake_limit_are_closed) {
  host::Config config;
  config.limits.max_pending_inbound = 1;
  config.timeouts.security_negotiation = 2000ms;
  auto a = make_host(config);
  auto b = make_host();
  ASSERT_TRUE(ping::register_handler(*a).ok());
  Multiaddr addr = listen(*a);
  auto endpoint = transport::endpoint_from_multiaddr(addr.decapsulate(Protocol::kP2p)).value();

  asio::ip::tcp::socket first(io_);
  first.connect(endpoint);
  spin(io_, 100ms);  // the first is now in its handshake
  asio::ip::tcp::socket second(io_);
  second.connect(endpoint);
  spin(io_, 100ms);
  EXPECT_EQ(a->stats().refused_inbound, 1u);

  // The refused socket was closed; the pending one is still waiting.
  std::array<std::uint8_t, 256> buf{};
  std::error_code ec;
  std::size_t n = second.read_some(asio::buffer(buf), ec);
  while (!ec && n > 0) n = second.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof);

  // Once the first handshake times out, a real peer gets in.
  spin(io_, 2500ms);
  auto conn = run(io_, b->connect(addr));
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  EXPECT_TRUE(run(io_, ping::ping(*b, *conn)).ok());
}

}  // namespace
}  // namespace soma::p2p
