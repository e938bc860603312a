// ping between real hosts.
#include "p2p/ping/ping.h"

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
#include "p2p/transport/tcp.h"
#include "p2p/transport/upgrade.h"
#include "p2p/yamux/frame.h"
#include "unit/p2p/host_harness.h"

namespace soma::p2p {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace)

class PingTest : public HostHarness {};

TEST_F(PingTest, ping_measures_a_round_trip) {
  auto a = make_host();
  auto b = make_host();
  ASSERT_TRUE(ping::register_handler(*a).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();
  auto rtt = run(io_, ping::ping(*b, conn));
  ASSERT_TRUE(rtt.ok()) << rtt.error().message;
  EXPECT_GT(rtt->count(), 0);
  EXPECT_LT(*rtt, std::chrono::nanoseconds(5s));

  // A peer without the handler answers "not supported".
  ASSERT_TRUE(b->set_handler(std::string(kEcho), echo).ok());
  auto back = run(io_, ping::ping(*a, a->connections(b->peer_id()).at(0)));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().code, core::ErrorCode::kNotFound) << back.error().message;
}

}  // namespace
}  // namespace soma::p2p
