// identify and identify push between real hosts, and the message codec.
#include "p2p/identify/identify.h"

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

class IdentifyTest : public HostHarness {};

TEST_F(IdentifyTest, identify_exchanges_agent_protocols_and_addresses) {
  host::Config config;
  config.agent_version = "soma/test-a";
  auto a = make_host(config);
  auto b = make_host();
  ASSERT_TRUE(identify::Service::start(a).ok());
  ASSERT_TRUE(identify::Service::start(b).ok());
  ASSERT_TRUE(ping::register_handler(*a).ok());
  Multiaddr a_addr = listen(*a);
  auto conn = run(io_, b->connect(a_addr)).value();

  auto identified = run(io_, next_identified(b, a->peer_id()));
  ASSERT_TRUE(identified.has_value());
  EXPECT_EQ(identified->peer, a->peer_id());
  EXPECT_EQ(identified->agent_version, "soma/test-a");
  EXPECT_EQ(identified->protocol_version, identify::kProtocolVersion);
  EXPECT_NE(std::find(identified->protocols.begin(), identified->protocols.end(),
                      std::string(ping::kProtocolId)),
            identified->protocols.end());
  ASSERT_EQ(identified->listen_addrs.size(), 1u);
  EXPECT_EQ(identified->listen_addrs[0], a_addr.decapsulate(Protocol::kP2p));
  ASSERT_TRUE(identified->observed_addr.has_value());
  EXPECT_EQ(*identified->observed_addr, conn->info().local_addr);

  const host::PeerRecord* record = b->peer_store().find(a->peer_id());
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->agent_version, "soma/test-a");
}

TEST_F(IdentifyTest, identify_push_tells_connected_peers_about_new_protocols) {
  auto a = make_host();
  auto b = make_host();
  auto service_a = identify::Service::start(a).value();
  ASSERT_TRUE(identify::Service::start(b).ok());
  auto conn = run(io_, b->connect(listen(*a))).value();
  ASSERT_TRUE(run(io_, next_identified(b, a->peer_id())).has_value());
  ASSERT_TRUE(run(io_, next_identified(a, b->peer_id())).has_value());

  ASSERT_TRUE(a->set_handler("/soma-test/new/1.0.0", echo).ok());
  run(io_, [](std::shared_ptr<identify::Service> s) -> awaitable<bool> {
    co_await s->push_all();
    co_return true;
  }(service_a));
  auto pushed = run(io_, next_identified(b, a->peer_id()));
  ASSERT_TRUE(pushed.has_value());
  EXPECT_NE(std::find(pushed->protocols.begin(), pushed->protocols.end(), "/soma-test/new/1.0.0"),
            pushed->protocols.end());
  const auto& known = b->peer_store().find(a->peer_id())->protocols;
  EXPECT_NE(std::find(known.begin(), known.end(), "/soma-test/new/1.0.0"), known.end());
}

TEST(IdentifyCodecTest, refuses_a_public_key_of_another_peer) {
  identify::Info info;
  info.agent_version = "x";
  auto key = crypto::Ed25519PrivateKey::generate();
  info.public_key = crypto::encode_public_key(key.public_key());
  Bytes message = identify::encode(info);

  auto self = crypto::PeerId::from_public_key(key.public_key());
  EXPECT_TRUE(identify::decode(message, self).ok());
  auto other = crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  auto refused = identify::decode(message, other);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kPermissionDenied);

  Bytes garbage{0xff, 0xff, 0xff};
  EXPECT_EQ(identify::decode(garbage, self).error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace soma::p2p
