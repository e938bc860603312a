// A real soma-daemon and a js-libp2p node (tests/interop/libp2p/peer.mjs
// under Node): the daemon dials the JS node and `soma ping` / `soma
// identify` it; then a JS node dials the daemon and pings and identifies it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/soma_harness.h"

extern char** environ;

namespace soma::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

const fs::path kInteropDir = fs::path(SOMA_SOURCE_DIR) / "tests" / "interop";
const fs::path kPeerScript = kInteropDir / "libp2p" / "peer.mjs";
const fs::path kPolyfill = kInteropDir / "libp2p" / "polyfill.mjs";

// peer.mjs under Node, with a pipe on stdin (a listener runs until it
// closes) and its JSON lines read from stdout.
class JsPeer {
 public:
  explicit JsPeer(const std::vector<std::string>& args) {
    int in[2];
    int out[2];
    if (pipe2(in, O_CLOEXEC) != 0) return;
    if (pipe2(out, O_CLOEXEC) != 0) {
      close(in[0]);
      close(in[1]);
      return;
    }
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

  ~JsPeer() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }

  bool started() const { return pid_ > 0; }

  // The first JSON line whose `key` is `value`, or nullopt at EOF or after
  // `timeout`.
  std::optional<json> wait_for(const std::string& key, const std::string& value,
                               std::chrono::milliseconds timeout = 60s) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        auto line = json::parse(buffer_.substr(0, nl), nullptr, false);
        buffer_.erase(0, nl + 1);
        if (!line.is_discarded() && line.contains(key) && line[key] == value) return line;
        continue;
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
};

json run_json(const Daemon& d, std::vector<std::string> args) {
  args.push_back("--json");
  auto r = d.soma(args);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto doc = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << r.out;
  return doc.is_discarded() ? json::object() : doc;
}

bool contains(const json& list, const std::string& item) {
  return list.is_array() && std::find(list.begin(), list.end(), item) != list.end();
}

class DaemonInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kInteropDir / "node_modules" / "libp2p" / "package.json"))
        << "js-libp2p is not installed: run npm ci in tests/interop";
    daemon_ = std::make_unique<Daemon>(
        tmp_ / "data", std::vector<std::string>{"--listen", "/ip4/127.0.0.1/tcp/0"});
    ASSERT_TRUE(daemon_->start()) << daemon_->stderr_text();
    status_ = run_json(*daemon_, {"status"});
  }

  TempDir tmp_;
  std::unique_ptr<Daemon> daemon_;
  json status_;
};

TEST_F(DaemonInterop, the_daemon_dials_a_js_node_then_pings_and_identifies_it) {
  JsPeer js({"listen"});
  ASSERT_TRUE(js.started()) << "cannot start node";
  auto ready = js.wait_for("event", "ready");
  ASSERT_TRUE(ready.has_value()) << "the JS peer did not start";
  const std::string js_id = (*ready)["peerId"];
  std::string js_addr = (*ready)["addrs"][0];
  if (js_addr.find("/p2p/") == std::string::npos) js_addr += "/p2p/" + js_id;

  json dialed = run_json(*daemon_, {"dial", js_addr});
  EXPECT_EQ(dialed["peer_id"], js_id);

  json pinged = run_json(*daemon_, {"ping", js_id, "--count", "3"});
  ASSERT_EQ(pinged["rtt_ns"].size(), 3u) << pinged.dump();
  for (const auto& rtt : pinged["rtt_ns"]) EXPECT_GT(rtt.get<std::uint64_t>(), 0u);

  json identified = run_json(*daemon_, {"identify", js_id});
  EXPECT_EQ(identified["peer_id"], js_id);
  EXPECT_NE(identified["agent_version"].get<std::string>().find("js-libp2p"), std::string::npos)
      << identified.dump();
  EXPECT_TRUE(contains(identified["protocols"], "/ipfs/ping/1.0.0")) << identified.dump();
  EXPECT_TRUE(contains(identified["protocols"], "/ipfs/id/1.0.0")) << identified.dump();
  EXPECT_FALSE(identified["listen_addrs"].empty()) << identified.dump();

  json peers = run_json(*daemon_, {"peers"});
  bool listed = false;
  for (const auto& p : peers["peers"]) listed = listed || p["peer_id"] == js_id;
  EXPECT_TRUE(listed) << peers.dump();

  // The JS node identified the daemon over the same connection.
  auto seen = js.wait_for("event", "identify", 30s);
  ASSERT_TRUE(seen.has_value()) << "the JS peer never identified the daemon";
  EXPECT_EQ((*seen)["peerId"], status_["peer_id"]);
  EXPECT_EQ((*seen)["agentVersion"], "soma/" + status_["version"].get<std::string>());
  EXPECT_EQ(js.wait_exit(), 0);
}

TEST_F(DaemonInterop, a_js_node_dials_the_daemon_then_pings_and_identifies_it) {
  ASSERT_FALSE(status_["listen_addrs"].empty()) << status_.dump();
  const std::string addr = status_["listen_addrs"][0];
  JsPeer js({"dial", addr, "ping", "identify"});
  ASSERT_TRUE(js.started()) << "cannot start node";

  auto connected = js.wait_for("event", "connected");
  ASSERT_TRUE(connected.has_value()) << "the JS peer did not connect to " << addr;
  EXPECT_EQ((*connected)["remotePeer"], status_["peer_id"]);
  auto ping = js.wait_for("scenario", "ping");
  ASSERT_TRUE(ping.has_value());
  EXPECT_TRUE((*ping)["ok"].get<bool>()) << ping->dump();
  EXPECT_GE((*ping)["rtt"].get<double>(), 0.0);
  auto identify = js.wait_for("scenario", "identify");
  ASSERT_TRUE(identify.has_value());
  EXPECT_EQ((*identify)["agentVersion"], "soma/" + status_["version"].get<std::string>());
  EXPECT_TRUE(contains((*identify)["protocols"], "/ipfs/ping/1.0.0")) << identify->dump();
  EXPECT_TRUE(contains((*identify)["listenAddrs"], addr.substr(0, addr.find("/p2p/"))))
      << identify->dump();
  ASSERT_TRUE(js.wait_for("event", "done").has_value());
  EXPECT_EQ(js.wait_exit(), 0);
}

}  // namespace
}  // namespace soma::testing
