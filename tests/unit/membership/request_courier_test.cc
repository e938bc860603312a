// RequestCourier on its own thread, over a real SQLite database and a real
// libp2p node on loopback, wired to JoinProtocol as the daemon wires it. A
// manual clock decides when an attempt is due, so the backoff schedule is
// exact; the test waits for each attempt by watching the database.
#include "membership/request_courier.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "crypto/random.h"
#include "membership/join_protocol.h"
#include "p2p/node/node.h"
#include "store/capability_repository.h"
#include "store/event_log.h"
#include "store/migrations.h"
#include "store/request_outbox_repository.h"
#include "store/space_repository.h"
#include "unit/cap/memory_capability_store.h"

namespace soma::membership {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cap::testing::ManualClock;
using store::JoinDirection;
using store::JoinState;

constexpr Timestamp kStart = 1'800'000'000'000;  // 2027-01-15T08:00:00Z
constexpr Timestamp kFirstRetry = 1 * kSecond;
constexpr Timestamp kMaxRetry = 4 * kSecond;
constexpr Timestamp kGiveUpAfter = 20 * kSecond;
// How long a wait for the courier may take before the test fails; each
// wait ends as soon as the state it waits for is recorded.
constexpr auto kPatience = 30s;
constexpr auto kCallTime = 10s;

Limits courier_limits() {
  Limits limits;
  limits.first_retry_delay = kFirstRetry;
  limits.max_retry_delay = kMaxRetry;
  limits.delivery_give_up_after = kGiveUpAfter;
  return limits;
}

// A port on 127.0.0.1 that nothing listens on: bound, then closed.
std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  return port;
}

template <typename Done>
bool eventually(Done done) {
  const auto until = std::chrono::steady_clock::now() + kPatience;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One daemon's join stack: its database, membership service, libp2p node
// (not listening until asked) and the join protocols served on it.
struct Daemon {
  Daemon(const fs::path& dir, const ManualClock& clock, const crypto::Ed25519PrivateKey& k)
      : id(crypto::PeerId::from_public_key(k.public_key())) {
    auto opened = store::Database::open(dir / "soma.db", store::daemon_migrations());
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    db = std::move(*opened);
    events = std::make_unique<store::EventLog>(*db);
    capabilities = std::make_unique<store::CapabilityRepository>(*db);
    owners = std::make_unique<store::SpaceOwners>(*db);
    authorizer = std::make_unique<cap::Authorizer>(*capabilities, *owners, clock);
    service = std::make_unique<MembershipService>(*db, *events, *authorizer, *capabilities, *owners,
                                                  clock, k, courier_limits());
    p2p::node::Config config;
    config.host.agent_version = "soma/test";
    auto started = p2p::node::Node::start(k, std::move(config));
    EXPECT_TRUE(started.ok()) << started.error().message;
    node = std::move(*started);
    join = std::make_unique<JoinProtocol>(*service, *node);
  }

  ~Daemon() {
    if (join) join->stop();
    if (node) node->stop();
  }

  std::string create_space(const std::string& name) {
    store::SpaceRecord row;
    row.id = crypto::random_id();
    row.name = name;
    row.owner = id.to_string();
    row.role = "owner";
    row.created_ms = row.updated_ms = kStart;
    EXPECT_TRUE(store::SpaceRepository(*db).insert(row).ok());
    return row.id;
  }

  crypto::PeerId id;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::EventLog> events;
  std::unique_ptr<store::CapabilityRepository> capabilities;
  std::unique_ptr<store::SpaceOwners> owners;
  std::unique_ptr<cap::Authorizer> authorizer;
  std::unique_ptr<MembershipService> service;
  std::unique_ptr<p2p::node::Node> node;
  std::unique_ptr<JoinProtocol> join;
};

class RequestCourierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-request-courier-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "requester");
    requester_ =
        std::make_unique<Daemon>(dir_ / "requester", clock_, crypto::Ed25519PrivateKey::generate());
    ASSERT_TRUE(requester_->node);
    courier_ = std::make_unique<RequestCourier>(*requester_->db, clock_, *requester_->service,
                                                *requester_->join, nullptr, courier_limits());
    RequestCourier* courier = courier_.get();
    requester_->join->set_unreachable_handler(
        [courier](const std::string& id, const std::string& via, const core::Error& why) {
          return courier->queue(id, via, why);
        });
    ASSERT_TRUE(requester_->join->start().ok());
    courier_->start();
    outbox_ = std::make_unique<store::RequestOutboxRepository>(*requester_->db);
  }

  void TearDown() override {
    if (courier_) courier_->stop();
    courier_.reset();
    target_.reset();
    requester_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::optional<store::RequestOutboxItem> outbox_item(const std::string& id) {
    auto found = outbox_->find(id);
    EXPECT_TRUE(found.ok()) << found.error().message;
    return found.ok() ? *found : std::nullopt;
  }

  std::uint64_t outbox_size() {
    auto n = outbox_->size();
    EXPECT_TRUE(n.ok()) << n.error().message;
    return n.ok() ? *n : 0;
  }

  JoinRequestInfo request(const std::string& id) {
    auto info = requester_->service->get_request(id);
    EXPECT_TRUE(info.ok()) << info.error().message;
    return info.ok() ? *info : JoinRequestInfo{};
  }

  // Asks to join `space` through `via`, which cannot be reached now; the
  // request must come back queued.
  JoinRequestInfo join_unreachable(const std::string& space, const std::string& via) {
    auto queued =
        requester_->join->join(space, via, "editor", std::chrono::steady_clock::now() + kCallTime);
    EXPECT_TRUE(queued.ok()) << queued.error().message;
    return queued.ok() ? *queued : JoinRequestInfo{};
  }

  // Lets the attempt due at `at` run and waits until the outbox shows
  // `attempts` attempts or the request left it.
  void run_attempt_at(Timestamp at, const std::string& id, std::int64_t attempts) {
    clock_.set(at);
    courier_->wake();
    EXPECT_TRUE(eventually([&] {
      auto item = outbox_item(id);
      return !item || item->attempts >= attempts;
    })) << "no attempt "
        << attempts << " at " << at;
  }

  fs::path dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<Daemon> requester_;
  std::unique_ptr<Daemon> target_;
  std::unique_ptr<RequestCourier> courier_;
  std::unique_ptr<store::RequestOutboxRepository> outbox_;
};

TEST_F(RequestCourierTest, retries_with_doubling_capped_delays_then_fails_naming_target_and_count) {
  const auto absent =
      crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  const std::string addr = fmt::format("/ip4/127.0.0.1/tcp/{}", closed_port());
  const std::string via = addr + "/p2p/" + absent.to_string();
  const std::string space = crypto::random_id();

  const JoinRequestInfo queued = join_unreachable(space, via);
  ASSERT_FALSE(queued.id.empty());
  const std::string id = queued.id;
  EXPECT_EQ(queued.direction, JoinDirection::kOutgoing);
  EXPECT_EQ(queued.state, JoinState::kPending);
  EXPECT_EQ(queued.via, via);
  // The peer the target names, so its decision is accepted however it comes.
  EXPECT_EQ(queued.peer, absent.to_string());
  EXPECT_EQ(queued.owner, absent.to_string());
  EXPECT_EQ(queued.detail.rfind(via + " could not be reached (", 0), 0u) << queued.detail;
  EXPECT_TRUE(contains(queued.detail, addr)) << queued.detail;
  EXPECT_TRUE(contains(queued.detail, "; trying again from 2027-01-15T08:00:01Z")) << queued.detail;

  auto item = outbox_item(id);
  ASSERT_TRUE(item);
  EXPECT_EQ(item->target, via);
  EXPECT_EQ(item->attempts, 1);  // the send join() made
  EXPECT_EQ(item->next_attempt_ms, kStart + kFirstRetry);
  EXPECT_EQ(item->give_up_ms, kStart + kGiveUpAfter);
  EXPECT_EQ(item->created_ms, kStart);
  EXPECT_TRUE(contains(item->last_error, addr)) << item->last_error;

  // Each failed attempt waits twice as long as the one before, up to
  // kMaxRetry: 1 s after join(), then 2 s, 4 s, 4 s, 4 s.
  struct Expected {
    Timestamp at;
    std::int64_t attempts;
    Timestamp next;
    const char* next_text;
  };
  const Expected schedule[] = {
      {kStart + 1'000, 2, kStart + 3'000, "2027-01-15T08:00:03Z"},
      {kStart + 3'000, 3, kStart + 7'000, "2027-01-15T08:00:07Z"},
      {kStart + 7'000, 4, kStart + 11'000, "2027-01-15T08:00:11Z"},
      {kStart + 11'000, 5, kStart + 15'000, "2027-01-15T08:00:15Z"},
      {kStart + 15'000, 6, kStart + 19'000, "2027-01-15T08:00:19Z"},
  };
  for (const Expected& step : schedule) {
    SCOPED_TRACE(fmt::format("attempt {}", step.attempts));
    const auto before = outbox_item(id);
    ASSERT_TRUE(before);
    ASSERT_EQ(before->next_attempt_ms, step.at);
    run_attempt_at(step.at, id, step.attempts);
    item = outbox_item(id);
    ASSERT_TRUE(item) << "the request left the outbox early: " << request(id).detail;
    EXPECT_EQ(item->attempts, step.attempts);
    EXPECT_EQ(item->next_attempt_ms, step.next);
    EXPECT_EQ(item->give_up_ms, kStart + kGiveUpAfter);
    EXPECT_TRUE(contains(item->last_error, addr)) << item->last_error;

    const JoinRequestInfo waiting = request(id);
    EXPECT_EQ(waiting.state, JoinState::kPending);
    EXPECT_EQ(waiting.detail, fmt::format("attempt {} to reach {} failed ({}); next at {}",
                                          step.attempts, via, item->last_error, step.next_text));
    EXPECT_EQ(outbox_size(), 1u);
  }

  // The attempt at 19 s fails too, and the next one would come after the
  // give-up time (20 s): the request fails and leaves the outbox.
  clock_.set(kStart + 19'000);
  courier_->wake();
  ASSERT_TRUE(eventually([&] { return request(id).state != JoinState::kPending; }))
      << request(id).detail;
  const JoinRequestInfo failed = request(id);
  EXPECT_EQ(failed.state, JoinState::kFailed);
  EXPECT_EQ(failed.detail.rfind(via + " could not be reached in 7 attempts; last: ", 0), 0u)
      << failed.detail;
  EXPECT_TRUE(contains(failed.detail, addr)) << failed.detail;
  EXPECT_EQ(failed.updated_ms, kStart + 19'000);
  // The request fails first, then its entry leaves the outbox.
  EXPECT_TRUE(eventually([&] { return outbox_size() == 0; }));
  EXPECT_FALSE(outbox_item(id));

  // Failed, the space may be asked for again.
  clock_.set(kStart + 20'000);
  const JoinRequestInfo again = join_unreachable(space, via);
  EXPECT_NE(again.id, id);
  EXPECT_EQ(again.state, JoinState::kPending);
  EXPECT_EQ(outbox_size(), 1u);
}

TEST_F(RequestCourierTest, a_target_away_past_the_give_up_time_gets_one_more_attempt_then_fails) {
  const auto absent =
      crypto::PeerId::from_public_key(crypto::Ed25519PrivateKey::generate().public_key());
  const std::string addr = fmt::format("/ip4/127.0.0.1/tcp/{}", closed_port());
  const std::string via = addr + "/p2p/" + absent.to_string();

  const std::string id = join_unreachable(crypto::random_id(), via).id;
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(outbox_item(id));

  // The daemon was away for an hour, far past the give-up time.
  clock_.set(kStart + kHour);
  courier_->wake();
  ASSERT_TRUE(eventually([&] { return request(id).state != JoinState::kPending; }));
  const JoinRequestInfo failed = request(id);
  EXPECT_EQ(failed.state, JoinState::kFailed);
  EXPECT_EQ(failed.detail.rfind(via + " could not be reached in 2 attempts; last: ", 0), 0u)
      << failed.detail;
  EXPECT_TRUE(contains(failed.detail, addr)) << failed.detail;
  // The request fails first, then its entry leaves the outbox.
  EXPECT_TRUE(eventually([&] { return outbox_size() == 0; }));
}

TEST_F(RequestCourierTest, a_target_that_comes_up_records_the_request_and_it_leaves_the_outbox) {
  fs::create_directories(dir_ / "target");
  target_ =
      std::make_unique<Daemon>(dir_ / "target", clock_, crypto::Ed25519PrivateKey::generate());
  ASSERT_TRUE(target_->node);
  ASSERT_TRUE(target_->join->start().ok());
  const std::string space = target_->create_space("Team");

  // Its port is known, but it does not listen yet.
  const std::uint16_t port = closed_port();
  const std::string addr = fmt::format("/ip4/127.0.0.1/tcp/{}", port);
  const std::string via = addr + "/p2p/" + target_->id.to_string();
  const JoinRequestInfo queued = join_unreachable(space, via);
  ASSERT_FALSE(queued.id.empty());
  const std::string id = queued.id;
  EXPECT_EQ(queued.state, JoinState::kPending);
  EXPECT_TRUE(contains(queued.detail, "could not be reached")) << queued.detail;
  ASSERT_TRUE(outbox_item(id));
  auto none_yet = target_->service->get_request(id);
  EXPECT_FALSE(none_yet.ok());

  auto bound = target_->node->listen(p2p::Multiaddr::parse(addr).value());
  ASSERT_TRUE(bound.ok()) << bound.error().message;

  clock_.set(kStart + kFirstRetry);
  courier_->wake();
  ASSERT_TRUE(eventually([&] { return !outbox_item(id); })) << request(id).detail;
  EXPECT_EQ(outbox_size(), 0u);

  // Sent: still pending, now waiting for the target's decision.
  const JoinRequestInfo sent = request(id);
  EXPECT_EQ(sent.state, JoinState::kPending);
  EXPECT_EQ(sent.peer, target_->id.to_string());
  EXPECT_EQ(sent.owner, target_->id.to_string());
  EXPECT_EQ(sent.detail, "");
  EXPECT_EQ(sent.updated_ms, kStart + kFirstRetry);

  // The target recorded it, from the requester, for its space.
  auto recorded = target_->service->get_request(id);
  ASSERT_TRUE(recorded.ok()) << recorded.error().message;
  EXPECT_EQ(recorded->direction, JoinDirection::kIncoming);
  EXPECT_EQ(recorded->state, JoinState::kPending);
  EXPECT_EQ(recorded->peer, requester_->id.to_string());
  EXPECT_EQ(recorded->space_id, space);
  EXPECT_EQ(recorded->role, "editor");
}

}  // namespace
}  // namespace soma::membership
