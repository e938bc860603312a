// Host behaviour over real loopback connections: streams with backpressure,
// half-close and reset, limits, idle trimming, the event queue and the peer
// store.
#include "p2p/host/host.h"

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

class HostTest : public HostHarness {};

TEST_F(HostTest, echo_carries_megabytes_intact_in_both_directions) {
  auto a = make_host();
  auto b = make_host();
  ASSERT_TRUE(a->set_handler(std::string(kEcho), echo).ok());
  Multiaddr addr = listen(*a);
  auto conn = run(io_, b->connect(addr)).value();

  Bytes data = pattern(4 * 1024 * 1024 + 17, 1);
  Bytes back = run(io_, echo_through(b, conn, data));
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
}

TEST_F(HostTest, many_concurrent_streams_each_arrive_intact) {
  auto a = make_host();
  auto b = make_host();
  ASSERT_TRUE(a->set_handler(std::string(kEcho), echo).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();

  constexpr int kStreams = 20;
  int intact = 0;
  int finished = 0;
  for (int i = 0; i < kStreams; ++i) {
    asio::co_spawn(
        io_,
        [](HostTest* t, std::shared_ptr<Host> h, std::shared_ptr<transport::Connection> c, int seed,
           int& ok, int& done) -> awaitable<void> {
          Bytes data = pattern(256 * 1024, static_cast<std::uint8_t>(seed));
          Bytes back = co_await t->echo_through(h, c, data);
          if (back == data) ++ok;
          ++done;
        }(this, b, conn, i, intact, finished),
        asio::detached);
  }
  auto end = std::chrono::steady_clock::now() + 30s;
  io_.restart();
  while (finished < kStreams && std::chrono::steady_clock::now() < end) io_.run_one_for(100ms);
  EXPECT_EQ(finished, kStreams);
  EXPECT_EQ(intact, kStreams);
}

TEST_F(HostTest, half_close_still_delivers_the_other_sides_data) {
  auto a = make_host();
  auto b = make_host();
  // The server reads everything first, then answers after our FIN.
  ASSERT_TRUE(a->set_handler("/soma-test/count/1.0.0", [](Stream s) -> awaitable<void> {
                 auto all = co_await s.read_to_end(1 << 20);
                 if (!all.ok()) co_return;
                 std::string answer = "got " + std::to_string(all->size());
                 (void)co_await s.write_all(core::as_bytes(answer));
                 (void)s.close_write();
               }).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();

  auto answer = run(io_,
                    [](std::shared_ptr<Host> h,
                       std::shared_ptr<transport::Connection> c) -> awaitable<std::string> {
                      std::vector<std::string> wanted{"/soma-test/count/1.0.0"};
                      auto s = co_await h->new_stream(c, std::move(wanted));
                      if (!s.ok()) co_return "open failed: " + s.error().message;
                      Bytes data = pattern(1000, 3);
                      (void)co_await s->write_all(data);
                      EXPECT_TRUE(s->close_write().ok());
                      // Writing after our FIN is refused, reading goes on.
                      auto late = co_await s->write_all(data);
                      EXPECT_EQ(late.error().code, core::ErrorCode::kFailedPrecondition);
                      auto all = co_await s->read_to_end(1024);
                      if (!all.ok()) co_return "read failed: " + all.error().message;
                      co_return std::string(core::as_chars(*all));
                    }(b, conn));
  EXPECT_EQ(answer, "got 1000");
}

TEST_F(HostTest, a_slow_reader_holds_back_the_writer) {
  auto a = make_host();
  auto b = make_host();
  // The server starts reading only when told to.
  auto go = std::make_shared<bool>(false);
  auto received = std::make_shared<std::size_t>(0);
  ASSERT_TRUE(a->set_handler("/soma-test/slow/1.0.0", [go, received](Stream s) -> awaitable<void> {
                 asio::steady_timer wait(co_await asio::this_coro::executor);
                 while (!*go) {
                   wait.expires_after(10ms);
                   co_await wait.async_wait(use_awaitable);
                 }
                 auto all = co_await s.read_to_end(8 * 1024 * 1024);
                 if (all.ok()) *received = all->size();
               }).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();

  auto written = std::make_shared<bool>(false);
  asio::co_spawn(
      io_,
      [](std::shared_ptr<Host> h, std::shared_ptr<transport::Connection> c,
         std::shared_ptr<bool> done) -> awaitable<void> {
        std::vector<std::string> wanted{"/soma-test/slow/1.0.0"};
        auto s = co_await h->new_stream(c, std::move(wanted));
        if (!s.ok()) co_return;
        Bytes data = pattern(4 * 1024 * 1024, 5);
        if ((co_await s->write_all(data)).ok()) *done = s->close_write().ok();
      }(b, conn, written),
      asio::detached);

  // 4 MiB cannot fit in the initial window plus the send buffer.
  spin(io_, 300ms);
  EXPECT_FALSE(*written);
  *go = true;
  auto end = std::chrono::steady_clock::now() + 20s;
  io_.restart();
  while (*received == 0 && std::chrono::steady_clock::now() < end) io_.run_one_for(100ms);
  EXPECT_TRUE(*written);
  EXPECT_EQ(*received, 4u * 1024 * 1024);
}

TEST_F(HostTest, reset_by_the_peer_is_seen_as_reset) {
  auto a = make_host();
  auto b = make_host();
  ASSERT_TRUE(a->set_handler("/soma-test/reset/1.0.0", [](Stream s) -> awaitable<void> {
                 std::array<std::uint8_t, 4> first{};
                 (void)co_await s.read_exact(first);
                 s.reset();
               }).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();

  auto outcome = run(
      io_,
      [](std::shared_ptr<Host> h,
         std::shared_ptr<transport::Connection> c) -> awaitable<std::pair<bool, core::ErrorCode>> {
        std::vector<std::string> wanted{"/soma-test/reset/1.0.0"};
        auto s = co_await h->new_stream(c, std::move(wanted));
        EXPECT_TRUE(s.ok());
        (void)co_await s->write_all(core::as_bytes("ping"));
        std::array<std::uint8_t, 16> buf{};
        auto n = co_await s->read_some(buf);
        co_return std::make_pair(s->reset_by_peer(),
                                 n.ok() ? core::ErrorCode::kInternal : n.error().code);
      }(b, conn));
  EXPECT_TRUE(outcome.first);
  EXPECT_EQ(outcome.second, core::ErrorCode::kUnavailable);
  // The connection outlives the stream.
  EXPECT_TRUE(conn->is_open());
}

TEST_F(HostTest, streams_over_the_limit_are_refused_and_the_connection_keeps_serving) {
  host::Config config;
  config.limits.max_streams_per_connection = 4;
  auto a = make_host(config);
  auto b = make_host();
  ASSERT_TRUE(a->set_handler(std::string(kEcho), echo).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();

  auto counts = run(io_,
                    [](std::shared_ptr<Host> h,
                       std::shared_ptr<transport::Connection> c) -> awaitable<std::pair<int, int>> {
                      std::vector<Stream> held;
                      int opened = 0;
                      int refused = 0;
                      for (int i = 0; i < 8; ++i) {
                        std::vector<std::string> wanted{std::string(kEcho)};
                        auto s = co_await h->new_stream(c, std::move(wanted));
                        if (s.ok()) {
                          ++opened;
                          held.push_back(*s);
                        } else {
                          ++refused;
                        }
                      }
                      co_return std::make_pair(opened, refused);
                    }(b, conn));
  EXPECT_EQ(counts.first, 4);
  EXPECT_EQ(counts.second, 4);
  EXPECT_TRUE(conn->is_open());
  spin(io_, 50ms);

  // With the held streams gone, the same connection serves again.
  Bytes data = pattern(1000, 9);
  EXPECT_TRUE(run(io_, echo_through(b, conn, data)) == data);
}

TEST_F(HostTest, idle_connections_are_closed_with_a_reason) {
  host::Config config;
  config.limits.idle_timeout = 200ms;
  auto a = make_host(config);
  auto b = make_host();
  auto conn = run(io_, b->connect(listen(*a))).value();
  spin(io_, 1500ms);
  EXPECT_FALSE(conn->is_open());
  EXPECT_EQ(a->connection_count(), 0u);
  EXPECT_GE(a->stats().idle_closed, 1u);
  ASSERT_TRUE(conn->reason().has_value());
}

TEST_F(HostTest, connections_per_peer_are_limited) {
  host::Config config;
  config.limits.max_connections_per_peer = 1;
  auto a = make_host(config);
  auto b = make_host();
  Multiaddr addr = listen(*a).decapsulate(Protocol::kP2p);  // no /p2p/: no reuse
  ASSERT_TRUE(run(io_, b->connect(addr)).ok());
  (void)run(io_, b->connect(addr));
  spin(io_, 200ms);
  EXPECT_EQ(a->connections(b->peer_id()).size(), 1u);
  EXPECT_EQ(b->connections(a->peer_id()).size(), 1u);
}

TEST(EventQueueTest, drops_and_counts_events_when_full) {
  host::EventQueue queue(2);
  crypto::PeerId p =
      crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  EXPECT_TRUE(queue.push(host::event::Connected{p, {}, transport::Role::kDialer}));
  EXPECT_TRUE(queue.push(host::event::Connected{p, {}, transport::Role::kDialer}));
  EXPECT_FALSE(queue.push(host::event::Connected{p, {}, transport::Role::kDialer}));
  EXPECT_EQ(queue.dropped(), 1u);
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_TRUE(queue.try_pop().has_value());
  EXPECT_TRUE(queue.push(host::event::Connected{p, {}, transport::Role::kDialer}));
}

TEST(PeerStoreTest, keeps_addresses_protocols_and_peers_within_bounds) {
  host::Limits limits;
  limits.max_peers = 2;
  limits.max_addrs_per_peer = 2;
  limits.max_protocols_per_peer = 1;
  host::PeerStore store(limits);
  auto id = [] {
    return crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  };
  auto p1 = id(), p2 = id(), p3 = id();
  std::vector<Multiaddr> addrs{Multiaddr::parse("/ip4/1.1.1.1/tcp/1").value(),
                               Multiaddr::parse("/ip4/1.1.1.1/tcp/2").value(),
                               Multiaddr::parse("/ip4/1.1.1.1/tcp/3").value()};
  EXPECT_EQ(store.add_addrs(p1, addrs), 1u);
  ASSERT_EQ(store.find(p1)->addrs.size(), 2u);
  EXPECT_EQ(store.find(p1)->addrs[0], addrs[2]);  // newest first
  EXPECT_EQ(store.set_protocols(p1, {"/a", "/b"}), 1u);
  store.set_agent_version(p2, "x");
  store.set_agent_version(p3, "y");  // evicts p1, updated longest ago
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.find(p1), nullptr);
  EXPECT_EQ(store.evicted(), 1u);
}

}  // namespace
}  // namespace soma::p2p
