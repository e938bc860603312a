#include "p2p/node/node.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <future>
#include <map>
#include <unordered_map>
#include <utility>

#include "p2p/host/interface_addrs.h"
#include "p2p/host/message.h"
#include "p2p/transport/deadline.h"
#include "p2p/ping/ping.h"

namespace soma::p2p::node {

using transport::Connection;

namespace {

using ConnectionPtr = std::shared_ptr<Connection>;

// A completion handler for detached coroutines: failures are logged, never
// swallowed.
auto log_failure(std::string what) {
  return [what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("network {} failed: {}", what, ex.what());
    }
  };
}

Multiaddr with_peer(const Multiaddr& addr, const crypto::PeerId& peer) {
  auto suffix = Multiaddr::from_components({{Protocol::kP2p, peer.bytes()}});
  if (!suffix.ok()) return addr;
  auto full = addr.decapsulate(Protocol::kP2p).encapsulate(*suffix);
  return full.ok() ? *full : addr;
}

// A peer that answers "na" to a protocol does not speak it; that is a
// state of the peer, not a missing thing.
core::Error unsupported(core::Error error, const crypto::PeerId& peer, std::string_view protocol) {
  if (error.code != core::ErrorCode::kNotFound) return error;
  return core::Error::precondition(
      fmt::format("peer {} does not speak {}", peer.to_string(), protocol));
}

}  // namespace

// Loop-thread state shared by the coroutines and hooks of one node.
struct Node::LoopState {
  struct Opened {
    std::weak_ptr<Connection> connection;
    std::chrono::system_clock::time_point at;
  };
  // When each live connection was registered; bounded by the host's
  // connection limit, as entries of closed connections are pruned.
  std::unordered_map<const Connection*, Opened> opened;
  bool stopping = false;

  void record(const ConnectionPtr& connection) {
    for (auto it = opened.begin(); it != opened.end();) {
      it = it->second.connection.expired() ? opened.erase(it) : std::next(it);
    }
    opened[connection.get()] = Opened{connection, std::chrono::system_clock::now()};
  }

  std::chrono::system_clock::time_point since(const ConnectionPtr& connection) const {
    auto it = opened.find(connection.get());
    if (it == opened.end() || it->second.connection.lock() != connection) return {};
    return it->second.at;
  }
};

core::Result<Target> parse_target(std::string_view text) {
  if (text.empty()) {
    return core::Error::invalid(
        "no peer given; name one by its peer id (12D3KooW…) or a multiaddr "
        "(/ip4/192.0.2.1/tcp/4001/p2p/12D3KooW…)");
  }
  // Longer text is neither, and is not worth quoting back.
  if (text.size() > kMaxMultiaddrTextSize) {
    return core::Error::invalid(
        fmt::format("a peer of {} bytes is neither a peer id nor a multiaddr (at most {} bytes)",
                    text.size(), kMaxMultiaddrTextSize));
  }
  if (text.front() == '/') {
    auto addr = Multiaddr::parse(text);
    if (!addr.ok()) {
      return core::Error::invalid(
          fmt::format("'{}' is not a usable multiaddr: {}", text, addr.error().message));
    }
    return Target(std::move(*addr));
  }
  auto peer = crypto::PeerId::parse(text);
  if (!peer.ok()) {
    return core::Error::invalid(
        fmt::format("'{}' is neither a peer id (12D3KooW…) nor a multiaddr (starting with /): {}",
                    text, peer.error().message));
  }
  return Target(std::move(*peer));
}

std::string to_string(const Target& target) {
  if (const auto* peer = std::get_if<crypto::PeerId>(&target)) return peer->to_string();
  return std::get<Multiaddr>(target).to_string();
}

// ---------------------------------------------------------------------------

Node::Node(const crypto::PeerId& peer_id, std::size_t max_pending_calls)
    : peer_id_(peer_id),
      max_pending_calls_(max_pending_calls),
      loop_state_(std::make_shared<LoopState>()),
      pending_(std::make_shared<std::atomic<std::size_t>>(0)) {}

Node::~Node() { stop(); }

bool Node::stopped() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

template <typename T, typename Op>
Answer<T> Node::call(std::string_view what, Clock::time_point deadline, Op op) {
  if (stopped()) return core::Result<T>(core::Error::unavailable("the network is stopped"));
  auto pending = pending_;
  if (pending->fetch_add(1) >= max_pending_calls_) {
    pending->fetch_sub(1);
    spdlog::warn("network {} refused: {} calls are waiting for the network loop, the most allowed",
                 what, max_pending_calls_);
    return core::Result<T>(core::Error::exhausted(
        fmt::format("the network is busy with {} calls; try again shortly", max_pending_calls_)));
  }
  auto promise = std::make_shared<std::promise<core::Result<T>>>();
  auto future = promise->get_future();
  asio::co_spawn(
      runner_->io(),
      [op = std::move(op), promise, pending]() mutable -> asio::awaitable<void> {
        std::optional<core::Result<T>> result;
        try {
          result.emplace(co_await op());
        } catch (const std::exception& e) {
          result.emplace(core::Error::internal(fmt::format("network call failed: {}", e.what())));
        }
        pending->fetch_sub(1);
        promise->set_value(std::move(*result));
      },
      log_failure(std::string(what)));
  if (future.wait_until(deadline) != std::future_status::ready) return std::nullopt;
  try {
    return future.get();
  } catch (const std::future_error&) {
    // The loop stopped with the call still queued.
    return core::Result<T>(core::Error::unavailable("the network stopped before answering"));
  }
}

core::Result<std::unique_ptr<Node>> Node::start(crypto::Ed25519PrivateKey identity, Config config) {
  const crypto::PeerId peer_id = crypto::PeerId::from_public_key(identity.public_key());
  auto node = std::unique_ptr<Node>(new Node(peer_id, config.max_pending_calls));
  node->runner_ = std::make_unique<host::Host::Runner>();

  struct Parts {
    std::shared_ptr<host::Host> host;
    std::shared_ptr<identify::Service> identify;
  };
  asio::io_context& io = node->runner_->io();
  auto made = node->call<Parts>(
      "start", Clock::now() + kSetupTimeout,
      [&io, identity = std::move(identity), host_config = std::move(config.host),
       state = node->loop_state_]() mutable -> asio::awaitable<core::Result<Parts>> {
        auto host = host::Host::create(io, std::move(identity), std::move(host_config));
        if (!host.ok()) co_return host.take_error();
        auto identify = identify::Service::start(*host);
        if (!identify.ok()) co_return identify.take_error();
        auto pinging = ping::register_handler(**host);
        if (!pinging.ok()) co_return pinging.take_error();
        std::weak_ptr<LoopState> weak_state = state;
        (*host)->add_connection_hook([weak_state](const ConnectionPtr& connection) {
          if (auto s = weak_state.lock()) s->record(connection);
        });
        asio::co_spawn(io, watch_events(*host, state), log_failure("event watcher"));
        co_return Parts{*host, *identify};
      });
  if (!made) {
    return core::Error::unavailable("the network loop did not start in time");
  }
  if (!made->ok()) return made->take_error();
  node->host_ = (*made)->host;
  node->identify_ = (*made)->identify;
  return node;
}

core::Result<Multiaddr> Node::listen(const Multiaddr& addr) {
  if (auto named = addr.peer_id(); named && *named != peer_id_) {
    return core::Error::invalid(
        fmt::format("cannot listen on {}: it names peer {}, not this one ({})", addr.to_string(),
                    named->to_string(), peer_id_.to_string()));
  }
  auto bound = call<Multiaddr>("listen", Clock::now() + kSetupTimeout,
                               [host = host_, addr]() -> asio::awaitable<core::Result<Multiaddr>> {
                                 co_return host->listen(addr);
                               });
  if (!bound) {
    return core::Error::unavailable(
        fmt::format("cannot listen on {}: the network loop did not answer", addr.to_string()));
  }
  if (bound->ok()) {
    std::lock_guard lock(mu_);
    listen_addrs_.push_back(**bound);
  }
  return std::move(*bound);
}

std::vector<Multiaddr> Node::listen_addrs() const {
  std::lock_guard lock(mu_);
  return listen_addrs_;
}

std::vector<Multiaddr> Node::dialable_addrs() const {
  std::vector<Multiaddr> out;
  for (const Multiaddr& addr : host::expand_unspecified(listen_addrs())) {
    out.push_back(with_peer(addr, peer_id_));
  }
  return out;
}

namespace {

// Reaches `target` on the loop: a live connection or a new one.
asio::awaitable<core::Result<ConnectionPtr>> connect(std::shared_ptr<host::Host> host,
                                                     Target target) {
  if (const auto* peer = std::get_if<crypto::PeerId>(&target)) {
    if (*peer == host->peer_id()) {
      co_return core::Error::invalid(
          fmt::format("{} is this daemon's own peer id", peer->to_string()));
    }
    auto conn = co_await host->connect(*peer);
    if (!conn.ok() && conn.error().code == core::ErrorCode::kNotFound) {
      co_return core::Error::not_found(fmt::format(
          "peer {} is not connected and has no known address; dial one of its multiaddrs first",
          peer->to_string()));
    }
    if (!conn.ok() && conn.error().code == core::ErrorCode::kPermissionDenied) {
      co_return core::Error::unavailable(conn.error().message);
    }
    co_return conn;
  }
  const Multiaddr& addr = std::get<Multiaddr>(target);
  auto conn = co_await host->connect(addr);
  if (!conn.ok()) {
    // A remote that is not the peer its address names is an address that
    // no longer reaches that peer.
    if (conn.error().code == core::ErrorCode::kPermissionDenied) {
      co_return core::Error::unavailable(conn.error().message);
    }
    co_return conn;
  }
  if ((*conn)->remote_peer() == host->peer_id()) {
    (*conn)->close({transport::Phase::kRunning, transport::Fault::kNone,
                    core::Error::cancelled("dialed this host itself"), false});
    co_return core::Error::invalid(
        fmt::format("{} is this daemon's own address", addr.to_string()));
  }
  co_return conn;
}

}  // namespace

// Every event here is the peers' doing, so it is logged at debug.
asio::awaitable<void> Node::watch_events(std::shared_ptr<host::Host> host,
                                         std::shared_ptr<LoopState> state) {
  constexpr std::chrono::milliseconds kPoll{500};
  while (!state->stopping) {
    auto event = co_await host->next_event(kPoll);
    if (!event) continue;
    if (const auto* c = std::get_if<host::event::Connected>(&*event)) {
      spdlog::debug("peer connected peer={} addr={} direction={}", c->peer.to_string(),
                    c->remote_addr.to_string(),
                    c->role == transport::Role::kDialer ? "outbound" : "inbound");
    } else if (const auto* d = std::get_if<host::event::Disconnected>(&*event)) {
      spdlog::debug("peer disconnected peer={} addr={}: {}", d->peer.to_string(),
                    d->remote_addr.to_string(), d->reason.describe());
    } else if (const auto* i = std::get_if<host::event::Identified>(&*event)) {
      spdlog::debug("peer identified peer={} agent={} protocols={}", i->peer.to_string(),
                    i->agent_version, i->protocols.size());
    }
  }
}

Answer<DialResult> Node::dial(Target target, Clock::time_point deadline) {
  return call<DialResult>(
      "dial", deadline,
      [host = host_, target = std::move(target)]() -> asio::awaitable<core::Result<DialResult>> {
        auto before = host->connections();
        auto conn = co_await connect(host, target);
        if (!conn.ok()) co_return conn.take_error();
        bool existed = std::find(before.begin(), before.end(), *conn) != before.end();
        co_return DialResult{(*conn)->remote_peer(), (*conn)->info().remote_addr, existed};
      });
}

Answer<PingResult> Node::ping(Target target, int count, Clock::time_point deadline) {
  if (count < 1 || count > kMaxPingCount) {
    return core::Result<PingResult>(core::Error::invalid(
        fmt::format("a ping count must be from 1 to {}, not {}", kMaxPingCount, count)));
  }
  return call<PingResult>(
      "ping", deadline,
      [host = host_, target = std::move(target),
       count]() -> asio::awaitable<core::Result<PingResult>> {
        auto conn = co_await connect(host, target);
        if (!conn.ok()) co_return conn.take_error();
        PingResult result{(*conn)->remote_peer(), (*conn)->info().remote_addr, {}};
        for (int i = 0; i < count; ++i) {
          auto rtt = co_await ping::ping(*host, *conn);
          if (!rtt.ok()) co_return unsupported(rtt.take_error(), result.peer, ping::kProtocolId);
          result.rtts.push_back(*rtt);
        }
        co_return result;
      });
}

Answer<IdentifyResult> Node::identify(Target target, Clock::time_point deadline) {
  return call<IdentifyResult>(
      "identify", deadline,
      [host = host_, service = identify_,
       target = std::move(target)]() -> asio::awaitable<core::Result<IdentifyResult>> {
        auto conn = co_await connect(host, target);
        if (!conn.ok()) co_return conn.take_error();
        auto info = co_await service->identify(*conn);
        if (!info.ok()) {
          co_return unsupported(info.take_error(), (*conn)->remote_peer(), identify::kProtocolId);
        }
        co_return IdentifyResult{(*conn)->remote_peer(), (*conn)->info().remote_addr,
                                 std::move(*info)};
      });
}

Answer<std::vector<PeerSummary>> Node::peers(bool include_disconnected,
                                             Clock::time_point deadline) {
  return call<std::vector<PeerSummary>>(
      "peer listing", deadline,
      [host = host_, state = loop_state_,
       include_disconnected]() -> asio::awaitable<core::Result<std::vector<PeerSummary>>> {
        std::map<crypto::PeerId, PeerSummary> by_peer;
        for (const ConnectionPtr& conn : host->connections()) {
          if (!conn->is_open()) continue;
          PeerSummary& summary = by_peer[conn->remote_peer()];
          summary.peer = conn->remote_peer();
          summary.connections.push_back(ConnectionSummary{conn->info().remote_addr,
                                                          conn->info().local_addr,
                                                          conn->info().role, state->since(conn)});
        }
        const auto& known = host->peer_store().peers();
        if (include_disconnected) {
          for (const auto& [peer, record] : known) {
            if (by_peer.count(peer) == 0) by_peer[peer].peer = peer;
          }
        }
        std::vector<PeerSummary> out;
        out.reserve(by_peer.size());
        for (auto& [peer, summary] : by_peer) {
          if (auto it = known.find(peer); it != known.end()) {
            summary.addrs = it->second.addrs;
            summary.agent_version = it->second.agent_version;
            summary.protocols = it->second.protocols;
          }
          out.push_back(std::move(summary));
        }
        co_return out;
      });
}

core::Status Node::set_handler(std::string protocol, host::StreamHandler handler) {
  auto set = call<void>("handler registration", Clock::now() + kSetupTimeout,
                        [host = host_, protocol = std::move(protocol),
                         handler = std::move(handler)]() mutable -> asio::awaitable<core::Status> {
                          co_return host->set_handler(std::move(protocol), std::move(handler));
                        });
  if (!set) return core::Error::unavailable("the network loop did not answer in time");
  return std::move(*set);
}

Answer<Exchange> Node::exchange(Target target, std::string protocol, core::Bytes request,
                                std::size_t max_reply, Clock::time_point deadline) {
  return call<Exchange>(
      "exchange", deadline,
      [host = host_, target = std::move(target), protocol = std::move(protocol),
       request = std::move(request), max_reply,
       deadline]() -> asio::awaitable<core::Result<Exchange>> {
        auto conn = co_await connect(host, target);
        if (!conn.ok()) co_return conn.take_error();
        const crypto::PeerId peer = (*conn)->remote_peer();
        std::vector<std::string> wanted{protocol};
        auto stream = co_await host->new_stream(*conn, std::move(wanted));
        if (!stream.ok()) co_return unsupported(stream.take_error(), peer, protocol);

        transport::Deadline timer(co_await asio::this_coro::executor);
        transport::Stream guarded = *stream;
        timer.arm(deadline - Clock::now(), [guarded]() mutable { guarded.reset(); });
        auto sent = co_await host::write_message(*stream, request);
        if (sent.ok()) sent = stream->close_write();
        core::Result<core::Bytes> reply = core::Error::unavailable("nothing was sent");
        if (sent.ok()) {
          reply = co_await host::read_message(*stream, max_reply);
        } else {
          reply = sent.take_error();
        }
        const bool timed_out = timer.expired();
        timer.cancel();
        if (!reply.ok()) {
          stream->reset();
          if (timed_out) {
            co_return core::Error::unavailable(
                fmt::format("{} with {} timed out", protocol, peer.to_string()));
          }
          co_return reply.take_error();
        }
        co_return Exchange{peer, std::move(*reply)};
      });
}

void Node::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (!runner_) return;
  if (host_) {
    auto closed = std::make_shared<std::promise<void>>();
    auto done = closed->get_future();
    asio::co_spawn(
        runner_->io(),
        [host = host_, state = loop_state_, closed]() -> asio::awaitable<void> {
          state->stopping = true;
          host->close();
          // Connections close asynchronously (go-away, flush, socket);
          // give them a moment so peers see an orderly end.
          asio::steady_timer timer(co_await asio::this_coro::executor);
          auto give_up = Clock::now() + kCloseGrace;
          while (host->connection_count() > 0 && Clock::now() < give_up) {
            timer.expires_after(std::chrono::milliseconds(20));
            co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
          }
          closed->set_value();
        },
        log_failure("shutdown"));
    if (done.wait_for(kCloseGrace + std::chrono::seconds(1)) != std::future_status::ready) {
      spdlog::warn("the network loop did not close its connections in time; stopping it anyway");
    }
  }
  runner_->stop();
  spdlog::debug("network stopped");
}

}  // namespace soma::p2p::node
