#include "p2p/host/host.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <thread>
#include <utility>

#include "p2p/multistream/multistream.h"
#include "p2p/transport/deadline.h"
#include "p2p/transport/tcp.h"

namespace soma::p2p::host {

using asio::use_awaitable;
using asio::experimental::as_tuple;
using transport::DisconnectReason;
using transport::Fault;
using transport::Phase;
using transport::Role;

namespace {

// A completion handler for detached coroutines: failures are logged, never
// swallowed.
auto log_failure(std::string what) {
  return [what = std::move(what)](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{} failed: {}", what, ex.what());
    }
  };
}

// Addresses of one DNS name tried in turn, at most.
constexpr std::size_t kMaxResolvedAddrs = 8;

// How often idle connections are looked for, at most.
constexpr std::chrono::milliseconds kMaxTrimInterval{1000};

// Runs multistream-select over a stream with a deadline that resets it.
template <typename Negotiator>
asio::awaitable<core::Result<std::string>> run_select(Stream& stream, Negotiator& negotiator,
                                                      std::chrono::milliseconds timeout) {
  transport::Deadline deadline(co_await asio::this_coro::executor);
  deadline.arm(timeout, [stream]() mutable { stream.reset(); });

  auto timed_out = [&deadline, &stream](core::Error error) -> core::Error {
    if (deadline.expired()) {
      return core::Error::unavailable(
          fmt::format("stream {} with {}: protocol negotiation timed out", stream.id(),
                      stream.remote_peer().to_string()));
    }
    return error;
  };

  auto status = co_await stream.write_all(negotiator.start());
  if (!status.ok()) co_return timed_out(status.take_error());

  std::array<std::uint8_t, 1024> buffer{};
  for (;;) {
    auto n = co_await stream.read_some(buffer);
    if (!n.ok()) co_return timed_out(n.take_error());
    if (*n == 0) {
      co_return core::Error::unavailable(
          fmt::format("stream {} with {} ended during protocol negotiation", stream.id(),
                      stream.remote_peer().to_string()));
    }
    multistream::Step step = negotiator.feed(core::ByteView(buffer.data(), *n));
    if (!step.output.empty()) {
      status = co_await stream.write_all(step.output);
      if (!status.ok()) co_return timed_out(status.take_error());
    }
    if (step.state == multistream::State::kFailed) co_return negotiator.error();
    if (step.state == multistream::State::kSelected) break;
  }
  deadline.cancel();
  stream.unread(negotiator.take_leftover());
  stream.set_protocol(negotiator.selected());
  co_return negotiator.selected();
}

}  // namespace

asio::awaitable<core::Result<std::string>> select_outbound(Stream& stream,
                                                           std::vector<std::string> protocols,
                                                           std::chrono::milliseconds timeout) {
  auto dialer = multistream::Dialer::create(std::move(protocols));
  if (!dialer.ok()) co_return dialer.take_error();
  co_return co_await run_select(stream, *dialer, timeout);
}

asio::awaitable<core::Result<std::string>> select_inbound(Stream& stream,
                                                          std::vector<std::string> supported,
                                                          std::chrono::milliseconds timeout) {
  auto listener = multistream::Listener::create(std::move(supported));
  if (!listener.ok()) co_return listener.take_error();
  co_return co_await run_select(stream, *listener, timeout);
}

// ---------------------------------------------------------------------------

core::Result<std::shared_ptr<Host>> Host::create(asio::io_context& io,
                                                 crypto::Ed25519PrivateKey identity,
                                                 Config config) {
  SOMA_TRY(yamux::validate(config.yamux));
  config.yamux.max_inbound_streams = config.limits.max_streams_per_connection;
  config.yamux.max_pending_inbound_streams =
      std::min(config.yamux.max_pending_inbound_streams, config.limits.max_streams_per_connection);
  auto host = std::shared_ptr<Host>(new Host(io, std::move(identity), std::move(config)));
  host->trim_timer_ = std::make_unique<asio::steady_timer>(io);
  asio::co_spawn(io, trim_idle(host), log_failure("idle connection trimmer"));
  return host;
}

Host::Host(asio::io_context& io, crypto::Ed25519PrivateKey identity, Config config)
    : io_(io),
      identity_(std::move(identity)),
      peer_id_(crypto::PeerId::from_public_key(identity_.public_key())),
      keys_(noise::LocalKeys::generate(identity_)),
      config_(std::move(config)),
      peer_store_(config_.limits),
      events_(config_.limits.max_queued_events),
      event_signal_(io.get_executor()) {}

Host::~Host() = default;

core::Result<Multiaddr> Host::listen(const Multiaddr& addr) {
  auto endpoint = transport::endpoint_from_multiaddr(addr);
  if (!endpoint.ok()) return endpoint.take_error();

  auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(io_);
  std::error_code ec;
  acceptor->open(endpoint->protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  // An IPv6 listener takes IPv6 only, so /ip4/0.0.0.0 and /ip6/:: can
  // share a port as two listeners.
  if (!ec && endpoint->address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Error::unavailable(
        fmt::format("cannot listen on {}: {}", addr.to_string(), ec.message()));
  }
  auto local = acceptor->local_endpoint(ec);
  if (ec) return core::Error::unavailable(fmt::format("listener address: {}", ec.message()));

  Multiaddr bound = transport::multiaddr_from_endpoint(local);
  acceptors_.push_back(acceptor);
  listen_addrs_.push_back(bound);
  asio::co_spawn(io_, accept_loop(shared_from_this(), std::move(acceptor)),
                 log_failure("listener " + bound.to_string()));
  spdlog::info("listening on {}/p2p/{}", bound.to_string(), peer_id_.to_string());
  return bound;
}

asio::awaitable<void> Host::accept_loop(std::shared_ptr<Host> self,
                                        std::shared_ptr<asio::ip::tcp::acceptor> acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(as_tuple(use_awaitable));
    if (self->closed_ || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or a connection that died in the backlog: wait
      // a moment instead of spinning, then go on serving.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(self->io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(as_tuple(use_awaitable));
      continue;
    }
    if (self->pending_inbound_ >= self->config_.limits.max_pending_inbound ||
        self->connection_count() >= self->config_.limits.max_connections) {
      ++self->stats_.refused_inbound;
      spdlog::warn("refusing inbound connection: {} pending handshakes, {} connections",
                   self->pending_inbound_, self->connection_count());
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(self->io_, handle_inbound(self, std::move(socket)),
                   log_failure("inbound connection"));
  }
}

asio::awaitable<void> Host::handle_inbound(std::shared_ptr<Host> self,
                                           asio::ip::tcp::socket socket) {
  ++self->pending_inbound_;
  auto upgraded = co_await transport::upgrade(socket, Role::kListener, self->keys_, std::nullopt,
                                              self->config_.timeouts);
  --self->pending_inbound_;
  if (!upgraded.ok()) {
    ++self->stats_.upgrade_failures;
    spdlog::debug("inbound upgrade failed: {}", upgraded.failure.describe());
    self->last_upgrade_failure_ = upgraded.failure;
    co_return;
  }
  auto conn = self->register_connection(std::move(socket), std::move(upgraded), Role::kListener);
  if (!conn.ok()) spdlog::debug("inbound connection dropped: {}", conn.error().message);
}

core::Result<std::shared_ptr<Connection>> Host::register_connection(
    asio::ip::tcp::socket socket, transport::UpgradeResult upgraded, Role role) {
  std::error_code ec;
  auto local = socket.local_endpoint(ec);
  auto remote = socket.remote_endpoint(ec);
  if (ec) {
    return core::Error::unavailable(
        fmt::format("connection lost after the upgrade: {}", ec.message()));
  }
  const crypto::PeerId remote_peer = upgraded.session->remote_peer_id();
  transport::ConnectionInfo info{remote_peer, upgraded.session->remote_identity(),
                                 transport::multiaddr_from_endpoint(local),
                                 transport::multiaddr_from_endpoint(remote), role};

  auto made = Connection::create(std::move(socket), std::move(*upgraded.session), std::move(info),
                                 config_.yamux, config_.timeouts);
  if (!made.ok()) return made.take_error();
  std::shared_ptr<Connection> conn = std::move(*made);

  // Limits are checked once the peer is known: per peer needs its identity.
  std::optional<core::Error> refusal;
  if (closed_) {
    refusal = core::Error::unavailable("the host is shutting down");
  } else if (connections_.size() >= config_.limits.max_connections) {
    refusal = core::Error::exhausted(
        fmt::format("connection limit of {} reached", config_.limits.max_connections));
  } else if (connections_.count(remote_peer) >= config_.limits.max_connections_per_peer) {
    refusal = core::Error::exhausted(fmt::format("limit of {} connections per peer reached",
                                                 config_.limits.max_connections_per_peer));
  }
  if (refusal) {
    spdlog::warn("closing new connection peer={}: {}", remote_peer.to_string(), refusal->message);
    conn->start({}, {});
    conn->close({Phase::kRunning, Fault::kLocalLimit, *refusal, false});
    return *refusal;
  }

  connections_.emplace(remote_peer, conn);
  if (role == Role::kDialer) {
    ++stats_.outbound_connections;
    peer_store_.add_addrs(remote_peer, {conn->info().remote_addr});
  } else {
    ++stats_.inbound_connections;
  }

  std::weak_ptr<Host> weak_self = weak_from_this();
  std::weak_ptr<Connection> weak_conn = conn;
  transport::Connection::Callbacks callbacks;
  callbacks.on_inbound_stream = [weak_self](Stream stream) {
    auto self = weak_self.lock();
    if (!self || self->closed_) return;  // dropping the handle resets the stream
    asio::co_spawn(self->io_, serve_stream(self, std::move(stream)), log_failure("inbound stream"));
  };
  callbacks.on_closed = [weak_self, weak_conn](const DisconnectReason& reason) {
    auto self = weak_self.lock();
    auto c = weak_conn.lock();
    if (self && c) self->on_connection_closed(c, reason);
  };
  conn->start(std::move(callbacks), std::move(upgraded.leftover));

  spdlog::debug("connected peer={} addr={} role={}", remote_peer.to_string(),
                conn->info().remote_addr.to_string(),
                role == Role::kDialer ? "dialer" : "listener");
  emit(event::Connected{remote_peer, conn->info().remote_addr, role});
  for (auto& hook : hooks_) hook(conn);
  return conn;
}

void Host::on_connection_closed(const std::shared_ptr<Connection>& connection,
                                const DisconnectReason& reason) {
  auto range = connections_.equal_range(connection->remote_peer());
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == connection) {
      connections_.erase(it);
      break;
    }
  }
  emit(event::Disconnected{connection->remote_peer(), connection->info().remote_addr, reason});
}

std::shared_ptr<Connection> Host::existing_connection(const crypto::PeerId& peer) const {
  auto range = connections_.equal_range(peer);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second->is_open()) return it->second;
  }
  return nullptr;
}

asio::awaitable<core::Result<std::shared_ptr<Connection>>> Host::connect(Multiaddr addr) {
  std::optional<crypto::PeerId> expected = addr.peer_id();
  if (expected) {
    if (*expected == peer_id_) co_return core::Error::invalid("refusing to dial this host itself");
    if (auto existing = existing_connection(*expected)) co_return existing;
  }
  auto target = transport::dial_target(addr);
  if (!target.ok()) co_return target.take_error();
  if (closed_) co_return core::Error::unavailable("the host is shut down");
  if (connections_.size() >= config_.limits.max_connections) {
    co_return core::Error::exhausted(
        fmt::format("connection limit of {} reached", config_.limits.max_connections));
  }

  auto dialed = co_await dial_socket(addr, std::move(*target));
  if (!dialed.ok()) co_return dialed.take_error();
  asio::ip::tcp::socket socket = std::move(*dialed);

  auto upgraded =
      co_await transport::upgrade(socket, Role::kDialer, keys_, expected, config_.timeouts);
  if (!upgraded.ok()) {
    ++stats_.upgrade_failures;
    last_upgrade_failure_ = upgraded.failure;
    core::Error error = upgraded.failure.error;
    error.message = fmt::format("dialing {} failed during the {}: {}", addr.to_string(),
                                transport::to_string(upgraded.failure.phase), error.message);
    co_return error;
  }
  co_return register_connection(std::move(socket), std::move(upgraded), Role::kDialer);
}

asio::awaitable<core::Result<asio::ip::tcp::socket>> Host::dial_socket(
    const Multiaddr& addr, transport::DialTarget target) {
  // One deadline covers the name lookup and every connect attempt.
  auto give_up_at = std::chrono::steady_clock::now() + config_.timeouts.dial;
  auto fail = [this, &addr](std::string why, bool timed_out) -> core::Error {
    DisconnectReason failure{
        Phase::kDial, Fault::kNetwork,
        core::Error::unavailable(fmt::format("dialing {} failed: {}", addr.to_string(), why)),
        timed_out};
    last_upgrade_failure_ = failure;
    return failure.error;
  };

  std::vector<asio::ip::tcp::endpoint> endpoints;
  if (target.endpoint) {
    endpoints.push_back(*target.endpoint);
  } else {
    asio::ip::tcp::resolver resolver(io_);
    transport::Deadline deadline(io_.get_executor());
    deadline.arm(config_.timeouts.dial, [&resolver] { resolver.cancel(); });
    auto [ec, results] = co_await resolver.async_resolve(target.host, std::to_string(target.port),
                                                         as_tuple(use_awaitable));
    bool timed_out = deadline.expired();
    deadline.cancel();
    if (ec) {
      co_return fail(timed_out ? "name lookup timed out"
                               : fmt::format("cannot resolve {}: {}", target.host, ec.message()),
                     timed_out);
    }
    for (const auto& entry : results) {
      if (endpoints.size() >= kMaxResolvedAddrs) break;
      if (transport::matches_family(target.dns, entry.endpoint().address())) {
        endpoints.push_back(entry.endpoint());
      }
    }
    if (endpoints.empty()) {
      co_return fail(fmt::format("{} has no address of the wanted family", target.host), false);
    }
  }

  // Each resolved address in turn, within what is left of the deadline.
  std::string last_error = "no address to try";
  for (const auto& endpoint : endpoints) {
    auto left = give_up_at - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) co_return fail("timed out", true);
    asio::ip::tcp::socket socket(io_);
    transport::Deadline deadline(io_.get_executor());
    deadline.arm(left, [&socket] {
      std::error_code ignored;
      socket.close(ignored);
    });
    auto [ec] = co_await socket.async_connect(endpoint, as_tuple(use_awaitable));
    bool timed_out = deadline.expired();
    deadline.cancel();
    if (!ec) co_return socket;
    if (timed_out) co_return fail("timed out", true);
    last_error = ec.message();
  }
  co_return fail(last_error, false);
}

asio::awaitable<core::Result<std::shared_ptr<Connection>>> Host::connect(crypto::PeerId peer) {
  if (auto existing = existing_connection(peer)) co_return existing;
  const PeerRecord* record = peer_store_.find(peer);
  if (record == nullptr || record->addrs.empty()) {
    co_return core::Error::not_found(fmt::format("no known address for peer {}", peer.to_string()));
  }
  std::vector<Multiaddr> addrs = record->addrs;  // the store may change while dialing
  core::Error last = core::Error::unavailable("no address could be dialed");
  Multiaddr suffix = Multiaddr::from_components({{Protocol::kP2p, peer.bytes()}}).value();
  for (const Multiaddr& addr : addrs) {
    auto full = addr.encapsulate(suffix);
    if (!full.ok()) continue;
    auto conn = co_await connect(*full);
    if (conn.ok()) co_return conn;
    last = conn.take_error();
  }
  co_return last;
}

asio::awaitable<core::Result<Stream>> Host::new_stream(std::shared_ptr<Connection> connection,
                                                       std::vector<std::string> protocols) {
  auto stream = connection->open_stream();
  if (!stream.ok()) co_return stream.take_error();
  auto selected = co_await select_outbound(*stream, std::move(protocols),
                                           config_.limits.stream_negotiation_timeout);
  if (!selected.ok()) {
    stream->reset();
    co_return selected.take_error();
  }
  co_return std::move(*stream);
}

asio::awaitable<core::Result<Stream>> Host::new_stream(crypto::PeerId peer,
                                                       std::vector<std::string> protocols) {
  auto conn = co_await connect(std::move(peer));
  if (!conn.ok()) co_return conn.take_error();
  co_return co_await new_stream(std::move(*conn), std::move(protocols));
}

asio::awaitable<void> Host::serve_stream(std::shared_ptr<Host> self, Stream stream) {
  std::vector<std::string> supported = self->protocols();
  if (supported.empty()) {
    ++self->stats_.refused_streams;
    stream.reset();
    co_return;
  }
  auto selected =
      co_await select_inbound(stream, supported, self->config_.limits.stream_negotiation_timeout);
  if (!selected.ok()) {
    ++self->stats_.refused_streams;
    spdlog::debug("inbound stream peer={} refused: {}", stream.remote_peer().to_string(),
                  selected.error().message);
    stream.reset();
    co_return;
  }
  auto it = self->handlers_.find(*selected);
  if (it == self->handlers_.end()) {  // removed while negotiating
    stream.reset();
    co_return;
  }
  StreamHandler handler = it->second;
  co_await handler(std::move(stream));
}

core::Status Host::set_handler(std::string protocol, StreamHandler handler) {
  SOMA_TRY(multistream::validate_protocol_id(protocol));
  handlers_[std::move(protocol)] = std::move(handler);
  return {};
}

void Host::remove_handler(const std::string& protocol) { handlers_.erase(protocol); }

std::vector<std::string> Host::protocols() const {
  std::vector<std::string> out;
  out.reserve(handlers_.size());
  for (const auto& [id, handler] : handlers_) out.push_back(id);
  return out;
}

void Host::add_connection_hook(std::function<void(const std::shared_ptr<Connection>&)> hook) {
  hooks_.push_back(std::move(hook));
}

std::vector<std::shared_ptr<Connection>> Host::connections() const {
  std::vector<std::shared_ptr<Connection>> out;
  for (const auto& [peer, conn] : connections_) out.push_back(conn);
  return out;
}

std::vector<std::shared_ptr<Connection>> Host::connections(const crypto::PeerId& peer) const {
  std::vector<std::shared_ptr<Connection>> out;
  auto range = connections_.equal_range(peer);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

std::size_t Host::connection_count() const { return connections_.size(); }

void Host::emit(Event event) {
  events_.push(std::move(event));
  event_signal_.notify();
}

asio::awaitable<std::optional<Event>> Host::next_event(std::chrono::milliseconds timeout) {
  transport::Deadline deadline(io_.get_executor());
  deadline.arm(timeout, [this] { event_signal_.notify(); });
  for (;;) {
    if (auto e = events_.try_pop()) co_return e;
    if (deadline.expired()) co_return std::nullopt;
    co_await event_signal_.wait();
  }
}

asio::awaitable<void> Host::trim_idle(std::shared_ptr<Host> self) {
  auto interval = std::min(kMaxTrimInterval, self->config_.limits.idle_timeout / 2);
  if (interval.count() <= 0) interval = std::chrono::milliseconds(1);
  while (!self->closed_) {
    self->trim_timer_->expires_after(interval);
    auto [ec] = co_await self->trim_timer_->async_wait(as_tuple(use_awaitable));
    if (ec || self->closed_) co_return;
    auto now = std::chrono::steady_clock::now();
    for (auto& conn : self->connections()) {
      if (conn->is_open() && conn->stream_count() == 0 &&
          now - conn->idle_since() >= self->config_.limits.idle_timeout) {
        ++self->stats_.idle_closed;
        conn->close({Phase::kRunning, Fault::kNone,
                     core::Error::cancelled("no streams for the idle timeout"), false});
      }
    }
  }
}

void Host::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& acceptor : acceptors_) {
    std::error_code ignored;
    acceptor->close(ignored);
  }
  acceptors_.clear();
  if (trim_timer_) trim_timer_->cancel();
  for (auto& conn : connections()) {
    conn->close({Phase::kRunning, Fault::kNone, core::Error::cancelled("the host is shutting down"),
                 false});
  }
}

// ---------------------------------------------------------------------------

struct Host::Runner::Impl {
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
};

Host::Runner::Runner() : io_(std::make_unique<asio::io_context>(1)) {
  impl_ = std::make_unique<Impl>(Impl{asio::make_work_guard(*io_), {}});
  impl_->thread = std::thread([io = io_.get()] { io->run(); });
}

Host::Runner::~Runner() { stop(); }

void Host::Runner::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->work.reset();
  io_->stop();
  impl_->thread.join();
}

}  // namespace soma::p2p::host
