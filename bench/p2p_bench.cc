// Soma's side of the libp2p benchmark (bench/run_p2p_bench.sh): a listening
// host that serves /perf/1.0.0 and /ipfs/ping/1.0.0, and clients that
// measure perf throughput, new connections per second, ping round trips and
// held connections against any libp2p peer (this program or js-libp2p).
//
//   p2p_bench server [--listen MULTIADDR]
//   p2p_bench perf  ADDR --upload BYTES --download BYTES
//   p2p_bench conns ADDR [--count N]
//   p2p_bench ping  ADDR [--count N] [--echo-count N]
//   p2p_bench hold  ADDR [--count N]
//
// ADDR ends in /p2p/<peer id>. The server prints "ready <ADDR>" once it
// listens; clients print one "result ..." line per figure as key=value
// pairs. server and hold run until SIGINT or SIGTERM. Everything runs on one
// io_context thread, as the daemon's network does.

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/logging.h"
#include "crypto/ed25519.h"
#include "p2p/host/host.h"
#include "p2p/perf/perf.h"
#include "p2p/ping/ping.h"

namespace {

using asio::awaitable;
using soma::p2p::Multiaddr;
using soma::p2p::Protocol;
using soma::p2p::host::Host;
using soma::p2p::transport::Connection;
using soma::p2p::transport::Stream;
using Clock = std::chrono::steady_clock;

// Connections the benchmark holds at once (both sides, from one peer).
constexpr std::size_t kMaxBenchConnections = 4096;

struct Options {
  std::string mode;
  std::string addr;
  std::string listen = "/ip4/127.0.0.1/tcp/0";
  std::uint64_t upload = 0;
  std::uint64_t download = 0;
  std::size_t count = 0;
  std::size_t echo_count = 0;
};

soma::p2p::host::Config bench_config() {
  soma::p2p::host::Config config;
  config.limits.max_connections = kMaxBenchConnections;
  config.limits.max_connections_per_peer = kMaxBenchConnections;
  config.limits.max_pending_inbound = kMaxBenchConnections;
  return config;
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "p2p_bench: %s\n", what.c_str());
  std::fflush(stdout);
  std::_Exit(1);
}

// Takes the host's events as they come, so its bounded queue never fills
// (the benchmark has no use for them).
// Set when the mode has finished, to end the drain.
bool g_finished = false;

awaitable<void> drain_events(std::shared_ptr<Host> host) {
  while (!g_finished) (void)co_await host->next_event(std::chrono::milliseconds(100));
}

void finish(Host& host) {
  g_finished = true;
  host.close();
}

// Runs until SIGINT or SIGTERM, then closes the host.
awaitable<void> until_signalled(std::shared_ptr<Host> host) {
  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
  co_await signals.async_wait(asio::use_awaitable);
  finish(*host);
}

awaitable<void> run_server(std::shared_ptr<Host> host, Options options) {
  if (auto st = soma::p2p::perf::register_handler(*host); !st.ok()) fail(st.error().message);
  if (auto st = soma::p2p::ping::register_handler(*host); !st.ok()) fail(st.error().message);
  auto listen = Multiaddr::parse(options.listen);
  if (!listen.ok()) fail(listen.error().message);
  auto bound = host->listen(*listen);
  if (!bound.ok()) fail(bound.error().message);
  std::printf("ready %s/p2p/%s\n", bound->to_string().c_str(), host->peer_id().to_string().c_str());
  std::fflush(stdout);
  co_await until_signalled(host);
}

awaitable<std::shared_ptr<Connection>> dial(Host& host, const Multiaddr& addr) {
  auto conn = co_await host.connect(addr);
  if (!conn.ok()) fail(conn.error().message);
  co_return *conn;
}

awaitable<void> run_perf(std::shared_ptr<Host> host, Options options) {
  auto addr = Multiaddr::parse(options.addr);
  if (!addr.ok()) fail(addr.error().message);
  auto conn = co_await dial(*host, *addr);
  auto stats = co_await soma::p2p::perf::run(*host, conn, options.upload, options.download);
  if (!stats.ok()) fail(stats.error().message);
  double total = seconds(stats->upload_time + stats->download_time);
  std::uint64_t bytes = stats->uploaded + stats->downloaded;
  std::printf("result perf upload_bytes=%llu download_bytes=%llu seconds=%.3f mb_per_s=%.1f\n",
              static_cast<unsigned long long>(stats->uploaded),
              static_cast<unsigned long long>(stats->downloaded), total,
              static_cast<double>(bytes) / total / 1e6);
  conn->close({});
  finish(*host);
}

awaitable<void> run_conns(std::shared_ptr<Host> host, Options options) {
  auto addr = Multiaddr::parse(options.addr);
  if (!addr.ok()) fail(addr.error().message);
  std::size_t count = options.count == 0 ? 2000 : options.count;
  auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    auto conn = co_await dial(*host, *addr);
    conn->close({});
  }
  double s = seconds(Clock::now() - start);
  std::printf("result conns count=%zu seconds=%.3f conns_per_s=%.1f\n", count, s,
              static_cast<double>(count) / s);
  finish(*host);
}

// One ping over `stream`: 32 bytes out, the same 32 back.
awaitable<void> echo_once(Stream& stream) {
  std::array<std::uint8_t, soma::p2p::ping::kPayloadSize> sent{};
  std::array<std::uint8_t, soma::p2p::ping::kPayloadSize> back{};
  sent[0] = 1;
  auto st = co_await stream.write_all(sent);
  if (st.ok()) st = co_await stream.read_exact(back);
  if (!st.ok()) fail(st.error().message);
  if (back != sent) fail("ping echoed different bytes");
}

// A one-off ping, as @libp2p/ping's client does it: 32 bytes and our FIN
// out, then the echo and the server's FIN back. The stream is then gone on
// both sides.
awaitable<void> ping_and_close(Stream& stream) {
  std::array<std::uint8_t, soma::p2p::ping::kPayloadSize> sent{};
  std::array<std::uint8_t, soma::p2p::ping::kPayloadSize + 1> back{};
  sent[0] = 1;
  auto st = co_await stream.write_all(sent);
  if (st.ok()) st = stream.close_write();
  if (st.ok()) st = co_await stream.read_exact(std::span(back).first(sent.size()));
  if (!st.ok()) fail(st.error().message);
  if (!std::equal(sent.begin(), sent.end(), back.begin())) fail("ping echoed different bytes");
  auto n = co_await stream.read_some(back);
  if (!n.ok()) fail(n.error().message);
  if (*n != 0) fail("the ping server sent more than the echo");
}

awaitable<void> run_ping(std::shared_ptr<Host> host, Options options) {
  auto addr = Multiaddr::parse(options.addr);
  if (!addr.ok()) fail(addr.error().message);
  auto conn = co_await dial(*host, *addr);
  std::size_t count = options.count == 0 ? 2000 : options.count;
  std::size_t echo_count = options.echo_count == 0 ? 5000 : options.echo_count;
  const std::vector<std::string> protocol{std::string(soma::p2p::ping::kProtocolId)};
  constexpr std::size_t kWarmup = 50;

  // Open a stream, negotiate, ping, both sides close: what a one-off
  // request costs.
  std::vector<double> fresh;
  for (std::size_t i = 0; i < count + kWarmup; ++i) {
    auto t = Clock::now();
    auto stream = co_await host->new_stream(conn, protocol);
    if (!stream.ok()) fail(stream.error().message);
    co_await ping_and_close(*stream);
    if (i >= kWarmup) fresh.push_back(micros(Clock::now() - t));
  }

  // Round trips on one open stream: the cost of a message on a warm stream.
  std::vector<double> echoes;
  auto stream = co_await host->new_stream(conn, protocol);
  if (!stream.ok()) fail(stream.error().message);
  for (std::size_t i = 0; i < echo_count + kWarmup; ++i) {
    auto t = Clock::now();
    co_await echo_once(*stream);
    if (i >= kWarmup) echoes.push_back(micros(Clock::now() - t));
  }
  (void)stream->close_write();

  std::printf("result ping_new_stream count=%zu median_us=%.1f p99_us=%.1f\n", fresh.size(),
              percentile(fresh, 0.5), percentile(fresh, 0.99));
  std::printf("result ping_echo count=%zu median_us=%.1f p99_us=%.1f\n", echoes.size(),
              percentile(echoes, 0.5), percentile(echoes, 0.99));
  conn->close({});
  finish(*host);
}

awaitable<void> run_hold(std::shared_ptr<Host> host, Options options) {
  auto addr = Multiaddr::parse(options.addr);
  if (!addr.ok()) fail(addr.error().message);
  // Without the /p2p/ suffix every dial makes a new connection instead of
  // reusing the one already open to that peer.
  Multiaddr fresh = addr->decapsulate(Protocol::kP2p);
  std::size_t count = options.count == 0 ? 500 : options.count;
  std::vector<std::shared_ptr<Connection>> held;
  held.reserve(count);
  for (std::size_t i = 0; i < count; ++i) held.push_back(co_await dial(*host, fresh));
  std::printf("result hold count=%zu\n", held.size());
  std::fflush(stdout);
  co_await until_signalled(host);
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) fail("usage: p2p_bench server|perf|conns|ping|hold [ADDR] [flags]");
  o.mode = argv[1];
  int i = 2;
  if (o.mode != "server") {
    if (argc < 3) fail("missing the address to dial");
    o.addr = argv[2];
    i = 3;
  }
  for (; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--listen") {
      o.listen = value;
    } else if (flag == "--upload") {
      o.upload = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--download") {
      o.download = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--count") {
      o.count = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--echo-count") {
      o.echo_count = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      fail("unknown flag " + flag);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  soma::core::init_logging("p2p_bench", "warn");
  asio::io_context io(1);
  auto host = Host::create(io, soma::crypto::Ed25519PrivateKey::generate(), bench_config());
  if (!host.ok()) fail(host.error().message);

  std::map<std::string, awaitable<void> (*)(std::shared_ptr<Host>, Options)> modes{
      {"server", run_server},
      {"perf", run_perf},
      {"conns", run_conns},
      {"ping", run_ping},
      {"hold", run_hold}};
  auto mode = modes.find(options.mode);
  if (mode == modes.end()) fail("unknown mode " + options.mode);

  asio::co_spawn(io, drain_events(*host), asio::detached);
  asio::co_spawn(io, mode->second(*host, options), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      fail(ex.what());
    }
  });
  io.run();
  std::fflush(stdout);
  return 0;
}
