// Soma's libp2p host against js-libp2p (tests/interop/libp2p/peer.mjs under
// Node), in both directions: C++ dials JS, JS dials C++. The host runs on its
// own io_context thread, as it does in the daemon; the JS peer is a real
// Node process speaking TCP + Noise + yamux.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/logging.h"
#include "crypto/ed25519.h"
#include "p2p/host/host.h"
#include "p2p/identify/identify.h"
#include "p2p/perf/perf.h"
#include "p2p/ping/ping.h"

extern char** environ;

namespace soma::p2p {
namespace {

namespace fs = std::filesystem;
using asio::awaitable;
using core::Bytes;
using host::Host;
using nlohmann::json;
using transport::Stream;
using namespace std::chrono_literals;

const fs::path kInteropDir = fs::path(SOMA_SOURCE_DIR) / "tests" / "interop";
const fs::path kPeerScript = kInteropDir / "libp2p" / "peer.mjs";
const fs::path kPolyfill = kInteropDir / "libp2p" / "polyfill.mjs";

constexpr std::string_view kEcho = "/soma-test/echo/1.0.0";
constexpr std::string_view kCount = "/soma-test/count/1.0.0";
constexpr std::string_view kReset = "/soma-test/reset/1.0.0";
constexpr std::string_view kHold = "/soma-test/hold/1.0.0";
constexpr std::size_t kMiB = 1024 * 1024;

// The same bytes peer.mjs makes (xorshift32).
Bytes pattern(std::size_t n, std::uint32_t seed) {
  Bytes out(n);
  std::uint32_t x = 0x9e3779b9u * (seed + 1u);
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

// A Node process running peer.mjs; its stdout is read line by line as JSON.
class NodePeer {
 public:
  explicit NodePeer(const std::vector<std::string>& args) {
    int in[2];
    int out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    std::vector<std::string> argv{"node", "--import", kPolyfill.string(), kPeerScript.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    if (posix_spawnp(&pid_, "node", &actions, nullptr, cargv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }

  ~NodePeer() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }

  bool started() const { return pid_ > 0; }

  // The next JSON line, or nullopt at EOF or after `timeout`.
  std::optional<json> next(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        auto parsed = json::parse(line, nullptr, false);
        if (parsed.is_discarded()) continue;  // not ours (a stray log line)
        return parsed;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char chunk[65536];
      ssize_t n = read(stdout_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // The first line whose `key` is `value`.
  std::optional<json> wait_for(const std::string& key, const std::string& value,
                               std::chrono::milliseconds timeout = 120s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      auto line = next(left);
      if (!line) return std::nullopt;
      if (line->contains(key) && (*line)[key] == value) return line;
      seen_.push_back(*line);
    }
  }

  const std::vector<json>& seen() const { return seen_; }

  int wait_exit() {
    if (stdin_ >= 0) {
      close(stdin_);
      stdin_ = -1;
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  bool exited_ = false;
  std::string buffer_;
  std::vector<json> seen_;
};

// Runs `task` on the host's loop thread and waits for its result.
template <typename T>
T run_on(asio::io_context& io, awaitable<T> task) {
  auto out = std::make_shared<std::optional<T>>();
  auto done = asio::co_spawn(
      io,
      [](awaitable<T> t, std::shared_ptr<std::optional<T>> o) -> awaitable<void> {
        o->emplace(co_await std::move(t));
      }(std::move(task), out),
      asio::use_future);
  if (done.wait_for(240s) != std::future_status::ready) {
    throw std::runtime_error("task on the host loop did not finish in time");
  }
  done.get();
  return std::move(**out);
}

// --- handlers the JS peer talks to -----------------------------------------

awaitable<void> echo(Stream stream) {
  std::vector<std::uint8_t> buffer(64 * 1024);
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n.ok() || *n == 0) break;
    if (!(co_await stream.write_all(core::ByteView(buffer.data(), *n))).ok()) co_return;
  }
  (void)stream.close_write();
}

awaitable<void> count(Stream stream) {
  auto all = co_await stream.read_to_end(16 * kMiB);
  if (!all.ok()) co_return;
  std::string answer = "got " + std::to_string(all->size());
  (void)co_await stream.write_all(core::as_bytes(answer));
  (void)stream.close_write();
}

awaitable<void> reset_after_four(Stream stream) {
  std::array<std::uint8_t, 4> first{};
  (void)co_await stream.read_exact(first);
  stream.reset();
}

awaitable<void> hold(Stream stream) {
  (void)co_await stream.read_to_end(kMiB);
  (void)stream.close_write();
}

class Libp2pInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kInteropDir / "node_modules" / "libp2p" / "package.json"))
        << "js-libp2p is not installed: run npm ci in tests/interop";
    static const bool logging = [] {
      core::init_logging("libp2p_interop_tests");  // level from $SOMA_LOG
      return true;
    }();
    (void)logging;
    runner_ = std::make_unique<Host::Runner>();
  }

  void TearDown() override {
    if (host_) {
      run_on(runner_->io(), [](std::shared_ptr<Host> h) -> awaitable<bool> {
        h->close();
        co_return true;
      }(host_));
    }
    runner_->stop();
    host_.reset();
  }

  // Creates the host on its loop with every test protocol, listening on
  // loopback; returns its full address.
  std::string start_host(host::Config config = {}) {
    auto made = run_on(
        runner_->io(),
        [](asio::io_context& io, host::Config c) -> awaitable<core::Result<std::shared_ptr<Host>>> {
          auto h = Host::create(io, crypto::Ed25519PrivateKey::generate(), std::move(c));
          if (!h.ok()) co_return h;
          auto& host = *h;
          auto service = identify::Service::start(host);
          if (!service.ok()) co_return service.take_error();
          std::vector<core::Status> registered{
              ping::register_handler(*host),
              perf::register_handler(*host),
              host->set_handler(std::string(kEcho), echo),
              host->set_handler(std::string(kCount), count),
              host->set_handler(std::string(kReset), reset_after_four),
              host->set_handler(std::string(kHold), hold)};
          for (auto& st : registered) {
            if (!st.ok()) co_return st.take_error();
          }
          auto bound = host->listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
          if (!bound.ok()) co_return bound.take_error();
          co_return h;
        }(runner_->io(), std::move(config)));
    EXPECT_TRUE(made.ok()) << made.error().message;
    if (!made.ok()) return {};
    host_ = *made;
    listen_addr_ = host_->listen_addrs().at(0);
    return listen_addr_.to_string() + "/p2p/" + host_->peer_id().to_string();
  }

  // Starts a listening JS peer and dials it; returns the connection.
  std::shared_ptr<transport::Connection> dial_js(NodePeer& js) {
    auto ready = js.wait_for("event", "ready", 30s);
    EXPECT_TRUE(ready.has_value()) << "the JS peer did not start";
    if (!ready) return nullptr;
    js_peer_ = (*ready)["peerId"].get<std::string>();
    js_addr_ = (*ready)["addrs"][0].get<std::string>();
    auto conn =
        run_on(runner_->io(),
               [](std::shared_ptr<Host> h,
                  Multiaddr a) -> awaitable<core::Result<std::shared_ptr<transport::Connection>>> {
                 co_return co_await h->connect(std::move(a));
               }(host_, Multiaddr::parse(js_addr_).value()));
    EXPECT_TRUE(conn.ok()) << conn.error().message;
    return conn.ok() ? *conn : nullptr;
  }

  // Echoes `data` through a new stream on `conn`: writes concurrently with
  // reading back, then compares.
  static awaitable<bool> echo_once(std::shared_ptr<Host> h,
                                   std::shared_ptr<transport::Connection> c, Bytes data) {
    std::vector<std::string> wanted{std::string(kEcho)};
    auto opened = co_await h->new_stream(c, std::move(wanted));
    if (!opened.ok()) co_return false;
    Stream s = *opened;
    auto writer = [](Stream w, const Bytes& d) -> awaitable<void> {
      if ((co_await w.write_all(d)).ok()) (void)w.close_write();
    };
    asio::co_spawn(co_await asio::this_coro::executor, writer(s, data), asio::detached);
    auto back = co_await s.read_to_end(data.size() + 1);
    co_return back.ok() && *back == data;
  }

  // Echoes 1 MiB made from `seed` and records 1 (intact) or 0 in results[seed].
  static awaitable<void> echo_into(std::shared_ptr<Host> h,
                                   std::shared_ptr<transport::Connection> c, int seed,
                                   std::shared_ptr<std::vector<int>> results) {
    Bytes data = pattern(kMiB, static_cast<std::uint32_t>(100 + seed));
    bool intact = co_await echo_once(std::move(h), std::move(c), std::move(data));
    (*results)[static_cast<std::size_t>(seed)] = intact ? 1 : 0;
  }

  // Runs scenarios in a JS dialer against this host; returns the scenario's
  // result line.
  json js_scenario(const std::string& addr, const std::string& scenario) {
    NodePeer js({"dial", addr, scenario});
    EXPECT_TRUE(js.started()) << "cannot start node";
    std::string name = scenario.substr(0, scenario.find('='));
    auto result = js.wait_for("scenario", name, 180s);
    EXPECT_TRUE(result.has_value()) << "the JS dialer printed no result for " << scenario;
    auto done = js.wait_for("event", "done", 30s);
    EXPECT_TRUE(done.has_value());
    EXPECT_EQ(js.wait_exit(), 0);
    return result.value_or(json::object());
  }

  std::unique_ptr<Host::Runner> runner_;
  std::shared_ptr<Host> host_;
  Multiaddr listen_addr_;
  std::string js_peer_;
  std::string js_addr_;
};

bool contains(const json& list, std::string_view value) {
  for (const auto& v : list) {
    if (v.is_string() && v.get<std::string>() == value) return true;
  }
  return false;
}

template <typename T>
bool contains(const std::vector<T>& list, const T& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// --- C++ dials JS ----------------------------------------------------------

TEST_F(Libp2pInterop, cpp_dials_js_ping_round_trip) {
  start_host();
  NodePeer js({"listen"});
  auto conn = dial_js(js);
  ASSERT_NE(conn, nullptr);
  auto rtt = run_on(runner_->io(), ping::ping(*host_, conn));
  ASSERT_TRUE(rtt.ok()) << rtt.error().message;
  EXPECT_GT(rtt->count(), 0);
}

TEST_F(Libp2pInterop, cpp_dials_js_identify_exchanges_agent_protocols_and_addresses) {
  start_host();
  NodePeer js({"listen"});
  auto conn = dial_js(js);
  ASSERT_NE(conn, nullptr);

  // What we learned about the JS peer.
  auto identified =
      run_on(runner_->io(),
             [](std::shared_ptr<Host> h) -> awaitable<std::optional<host::event::Identified>> {
               for (int i = 0; i < 30; ++i) {
                 auto e = co_await h->next_event(1000ms);
                 if (!e) continue;
                 if (auto* id = std::get_if<host::event::Identified>(&*e)) co_return *id;
               }
               co_return std::nullopt;
             }(host_));
  ASSERT_TRUE(identified.has_value());
  EXPECT_EQ(identified->peer.to_string(), js_peer_);
  EXPECT_EQ(identified->agent_version.rfind("js-libp2p/", 0), 0u) << identified->agent_version;
  EXPECT_TRUE(contains(identified->protocols, std::string("/ipfs/id/1.0.0")));
  EXPECT_TRUE(contains(identified->protocols, std::string(kEcho)));
  Multiaddr js_listen = Multiaddr::parse(js_addr_).value().decapsulate(Protocol::kP2p);
  EXPECT_TRUE(contains(identified->listen_addrs, js_listen));
  ASSERT_TRUE(identified->observed_addr.has_value());
  EXPECT_EQ(identified->observed_addr->decapsulate(Protocol::kP2p), conn->info().local_addr);

  // What the JS peer learned about us.
  auto theirs = js.wait_for("event", "identify", 30s);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ((*theirs)["peerId"], host_->peer_id().to_string());
  EXPECT_EQ((*theirs)["agentVersion"], host_->config().agent_version);
  EXPECT_EQ((*theirs)["protocolVersion"], std::string(identify::kProtocolVersion));
  EXPECT_TRUE(contains((*theirs)["protocols"], kEcho));
  EXPECT_TRUE(contains((*theirs)["protocols"], ping::kProtocolId));
  EXPECT_TRUE(contains((*theirs)["listenAddrs"], listen_addr_.to_string()));
  EXPECT_EQ(
      (*theirs)["observedAddr"].get<std::string>().rfind(conn->info().remote_addr.to_string(), 0),
      0u);
}

TEST_F(Libp2pInterop, cpp_dials_js_echo_of_64_mib_arrives_intact) {
  start_host();
  NodePeer js({"listen"});
  auto conn = dial_js(js);
  ASSERT_NE(conn, nullptr);
  EXPECT_TRUE(run_on(runner_->io(), echo_once(host_, conn, pattern(64 * kMiB, 1))));
}

TEST_F(Libp2pInterop, cpp_dials_js_100_concurrent_streams_of_1_mib_arrive_intact) {
  start_host();
  NodePeer js({"listen"});
  auto conn = dial_js(js);
  ASSERT_NE(conn, nullptr);
  int intact = run_on(
      runner_->io(),
      [](std::shared_ptr<Host> h, std::shared_ptr<transport::Connection> c) -> awaitable<int> {
        auto results = std::make_shared<std::vector<int>>(100, -1);
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 100; ++i) {
          asio::co_spawn(ex, echo_into(h, c, i, results), asio::detached);
        }
        asio::steady_timer tick(ex);
        for (int waited = 0; waited < 1200; ++waited) {
          if (std::count(results->begin(), results->end(), -1) == 0) break;
          tick.expires_after(100ms);
          co_await tick.async_wait(asio::use_awaitable);
        }
        co_return static_cast<int>(std::count(results->begin(), results->end(), 1));
      }(host_, conn));
  EXPECT_EQ(intact, 100);
}

TEST_F(Libp2pInterop, cpp_dials_js_half_close_still_delivers_the_answer) {
  start_host();
  NodePeer js({"listen"});
  auto conn = dial_js(js);
  ASSERT_NE(conn, nullptr);
  auto answer = run_on(runner_->io(),
                       [](std::shared_ptr<Host> h,
                          std::shared_ptr<transport::Connection> c) -> awaitable<std::string> {
                         std::vector<std::string> wanted{std::string(kCount)};
                         auto s = co_await h->new_stream(c, std::move(wanted));
                         if (!s.ok()) co_return "open failed: " + s.error().message;
                         if (!(co_await s->write_all(pattern(1000, 3))).ok())
                           co_return "write failed";
                         if (!s->close_write().ok()) co_return "close_write failed";
                         auto all = co_await s->read_to_end(1024);
                         if (!all.ok()) co_return "read failed: " + all.error().message;
                         co_return std::string(core::as_chars(*all));
                       }(host_, conn));
  EXPECT_EQ(answer, "got 1000");
}

TEST_F(Libp2pInterop, cpp_dials_js_reset_is_seen_as_reset) {
  start_host();
  NodePeer js({"listen"});
  auto conn = dial_js(js);
  ASSERT_NE(conn, nullptr);
  auto reset_by_peer = run_on(
      runner_->io(),
      [](std::shared_ptr<Host> h, std::shared_ptr<transport::Connection> c) -> awaitable<bool> {
        std::vector<std::string> wanted{std::string(kReset)};
        auto s = co_await h->new_stream(c, std::move(wanted));
        if (!s.ok()) co_return false;
        (void)co_await s->write_all(core::as_bytes("ping"));
        std::array<std::uint8_t, 16> buf{};
        auto n = co_await s->read_some(buf);
        co_return !n.ok() && s->reset_by_peer();
      }(host_, conn));
  EXPECT_TRUE(reset_by_peer);
  EXPECT_TRUE(conn->is_open());
}

TEST_F(Libp2pInterop, cpp_dials_js_perf_uploads_and_downloads) {
  start_host();
  NodePeer js({"listen"});
  auto conn = dial_js(js);
  ASSERT_NE(conn, nullptr);
  auto stats = run_on(runner_->io(), perf::run(*host_, conn, 8 * kMiB, 8 * kMiB));
  ASSERT_TRUE(stats.ok()) << stats.error().message;
  EXPECT_EQ(stats->uploaded, 8 * kMiB);
  EXPECT_EQ(stats->downloaded, 8 * kMiB);
}

// --- JS dials C++ ----------------------------------------------------------

TEST_F(Libp2pInterop, js_dials_cpp_ping_round_trip) {
  auto result = js_scenario(start_host(), "ping");
  EXPECT_EQ(result["ok"], true) << result.dump();
}

TEST_F(Libp2pInterop, js_dials_cpp_identify_exchanges_agent_protocols_and_addresses) {
  std::string addr = start_host();
  auto result = js_scenario(addr, "identify");
  EXPECT_EQ(result["ok"], true) << result.dump();
  EXPECT_EQ(result["agentVersion"], host_->config().agent_version);
  EXPECT_TRUE(contains(result["protocols"], kEcho)) << result.dump();
  EXPECT_TRUE(contains(result["protocols"], identify::kPushProtocolId)) << result.dump();
  EXPECT_TRUE(contains(result["listenAddrs"], listen_addr_.to_string())) << result.dump();
  ASSERT_TRUE(result["observedAddr"].is_string()) << result.dump();
  EXPECT_EQ(result["observedAddr"].get<std::string>().rfind("/ip4/127.0.0.1/tcp/", 0), 0u);

  // And we identified the JS peer on the inbound connection.
  auto identified =
      run_on(runner_->io(),
             [](std::shared_ptr<Host> h) -> awaitable<std::optional<host::event::Identified>> {
               for (int i = 0; i < 10; ++i) {
                 auto e = co_await h->next_event(500ms);
                 if (!e) continue;
                 if (auto* id = std::get_if<host::event::Identified>(&*e)) co_return *id;
               }
               co_return std::nullopt;
             }(host_));
  ASSERT_TRUE(identified.has_value());
  EXPECT_EQ(identified->agent_version.rfind("js-libp2p/", 0), 0u);
  EXPECT_TRUE(contains(identified->protocols, std::string(kEcho)));
}

TEST_F(Libp2pInterop, js_dials_cpp_echo_of_64_mib_arrives_intact) {
  auto result = js_scenario(start_host(), "echo-64m");
  EXPECT_EQ(result["ok"], true) << result.dump();
}

TEST_F(Libp2pInterop, js_dials_cpp_100_concurrent_streams_of_1_mib_arrive_intact) {
  auto result = js_scenario(start_host(), "streams-100x1m");
  EXPECT_EQ(result["ok"], true) << result.dump();
  EXPECT_EQ(result["intact"], 100);
}

TEST_F(Libp2pInterop, js_dials_cpp_half_close_still_delivers_the_answer) {
  auto result = js_scenario(start_host(), "half-close");
  EXPECT_EQ(result["ok"], true) << result.dump();
  EXPECT_EQ(result["answer"], "got 1000");
}

TEST_F(Libp2pInterop, js_dials_cpp_reset_is_seen_as_reset) {
  auto result = js_scenario(start_host(), "reset");
  EXPECT_EQ(result["ok"], true) << result.dump();
}

TEST_F(Libp2pInterop, js_dials_cpp_perf_uploads_and_downloads) {
  auto result = js_scenario(start_host(), "perf");
  EXPECT_EQ(result["ok"], true) << result.dump();
  EXPECT_EQ(result["downloaded"], 8 * kMiB);
}

TEST_F(Libp2pInterop, js_dials_cpp_streams_over_the_limit_are_refused_and_the_host_keeps_serving) {
  host::Config config;
  config.limits.max_streams_per_connection = 8;
  auto result = js_scenario(start_host(config), "stream-limit=20");
  EXPECT_EQ(result["ok"], true) << result.dump();
  EXPECT_GE(result["refused"].get<int>(), 12) << result.dump();
  EXPECT_GE(result["opened"].get<int>(), 1) << result.dump();
  EXPECT_LE(result["opened"].get<int>(), 8) << result.dump();
}

}  // namespace
}  // namespace soma::p2p
