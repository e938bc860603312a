// perf between real hosts: transfer sizes, the response bound and the
// allow list.
#include "p2p/perf/perf.h"

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
#include "p2p/ping/ping.h"
#include "p2p/transport/tcp.h"
#include "p2p/transport/upgrade.h"
#include "p2p/yamux/frame.h"
#include "unit/p2p/host_harness.h"

namespace soma::p2p {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace)

class PerfTest : public HostHarness {};

TEST_F(PerfTest, perf_uploads_and_downloads_the_requested_bytes) {
  auto a = make_host();
  auto b = make_host();
  perf::ServerConfig server;
  server.max_response_bytes = 4 * 1024 * 1024;
  ASSERT_TRUE(perf::register_handler(*a, server).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();

  auto stats = run(io_, perf::run(*b, conn, 3 * 1024 * 1024 + 5, 2 * 1024 * 1024 + 3));
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->uploaded, 3u * 1024 * 1024 + 5);
  EXPECT_EQ(stats->downloaded, 2u * 1024 * 1024 + 3);

  auto empty = run(io_, perf::run(*b, conn, 0, 0));
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->downloaded, 0u);

  // Asking for more than the server's bound gets the stream reset.
  auto greedy = run(io_, perf::run(*b, conn, 0, server.max_response_bytes + 1));
  ASSERT_FALSE(greedy.ok());
  EXPECT_EQ(greedy.error().code, core::ErrorCode::kUnavailable) << greedy.error().message;
  EXPECT_TRUE(conn->is_open());
}

TEST_F(PerfTest, perf_serves_only_allowed_peers_when_a_list_is_set) {
  auto a = make_host();
  auto b = make_host();
  perf::ServerConfig server;
  server.allowed_peers.insert(
      crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key()));
  ASSERT_TRUE(perf::register_handler(*a, server).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();
  auto refused = run(io_, perf::run(*b, conn, 10, 10));
  EXPECT_FALSE(refused.ok());
}

}  // namespace
}  // namespace soma::p2p
