#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"
#include "p2p/host/events.h"
#include "p2p/host/limits.h"
#include "p2p/host/peer_store.h"
#include "p2p/multiaddr/multiaddr.h"
#include "p2p/noise/handshake.h"
#include "p2p/transport/connection.h"
#include "p2p/transport/stream.h"
#include "p2p/transport/tcp.h"
#include "p2p/transport/upgrade.h"
#include "p2p/yamux/limits.h"

// A libp2p host: TCP listeners and dialing, upgraded connections, the
// per-stream protocol negotiation and the handlers behind it, a peer store,
// limits and events.
//
// Threading: a Host lives on one io_context, whose single thread is the only
// one that may call it (post to it from elsewhere); connection, stream and
// protocol state is touched only there. events() may be drained from any
// thread. Host::Runner can own that thread.
// Lifetime: shared; its coroutines keep it alive until close() has stopped
// them or the io_context is destroyed.
namespace soma::p2p::host {

using transport::Connection;
using transport::Stream;

// Serves one inbound stream whose protocol was agreed. It owns the stream.
using StreamHandler = std::function<asio::awaitable<void>(Stream)>;

struct Config {
  Limits limits;
  transport::Timeouts timeouts;
  yamux::Limits yamux;
  // What identify announces as the agent version.
  std::string agent_version = "soma/0.1.0";
};

struct Stats {
  std::uint64_t inbound_connections = 0;  // upgraded and registered
  std::uint64_t outbound_connections = 0;
  std::uint64_t refused_inbound = 0;  // over max_pending_inbound or max_connections
  std::uint64_t upgrade_failures = 0;
  std::uint64_t refused_streams = 0;  // no handler for what the peer proposed
  std::uint64_t idle_closed = 0;
};

class Host : public std::enable_shared_from_this<Host> {
 public:
  // Errors: kInvalidArgument for yamux limits that do not validate.
  static core::Result<std::shared_ptr<Host>> create(asio::io_context& io,
                                                    crypto::Ed25519PrivateKey identity,
                                                    Config config = {});
  ~Host();

  const crypto::PeerId& peer_id() const { return peer_id_; }
  const crypto::Ed25519PrivateKey& identity() const { return identity_; }
  const Config& config() const { return config_; }
  asio::any_io_executor executor() const { return io_.get_executor(); }

  // Starts listening; returns the bound address (port 0 becomes the real
  // port). Errors: kInvalidArgument for a non-TCP address, kUnavailable when
  // the address cannot be bound.
  core::Result<Multiaddr> listen(const Multiaddr& addr);
  std::vector<Multiaddr> listen_addrs() const { return listen_addrs_; }

  // Dials `addr` (ip4, ip6 or a dns name, then tcp), upgrades the
  // connection and registers it. With a /p2p/ suffix the remote must prove
  // that identity, and an existing connection to it is reused. One dial
  // deadline covers the name lookup and the connect attempts. Errors:
  // kInvalidArgument for an address that is not TCP, kResourceExhausted at
  // a connection limit, kUnavailable when the dial or upgrade fails (the
  // message says during what), kPermissionDenied when the remote is not the
  // expected peer.
  asio::awaitable<core::Result<std::shared_ptr<Connection>>> connect(Multiaddr addr);
  // Reuses a connection to `peer` or dials its known addresses in turn.
  asio::awaitable<core::Result<std::shared_ptr<Connection>>> connect(crypto::PeerId peer);

  // Opens a stream and agrees on the first of `protocols` the peer
  // supports. Errors: kNotFound when it supports none, kUnavailable when the
  // stream or connection fails or negotiation times out.
  asio::awaitable<core::Result<Stream>> new_stream(std::shared_ptr<Connection> connection,
                                                   std::vector<std::string> protocols);
  asio::awaitable<core::Result<Stream>> new_stream(crypto::PeerId peer,
                                                   std::vector<std::string> protocols);

  // Serves `protocol` on inbound streams. Replaces an earlier handler.
  // Errors: kInvalidArgument for an id multistream-select cannot carry.
  core::Status set_handler(std::string protocol, StreamHandler handler);
  void remove_handler(const std::string& protocol);
  std::vector<std::string> protocols() const;

  // Called for every new connection once it is registered (identify hooks
  // in here).
  void add_connection_hook(std::function<void(const std::shared_ptr<Connection>&)> hook);

  std::vector<std::shared_ptr<Connection>> connections() const;
  std::vector<std::shared_ptr<Connection>> connections(const crypto::PeerId& peer) const;
  std::size_t connection_count() const;

  PeerStore& peer_store() { return peer_store_; }
  EventQueue& events() { return events_; }
  // Queues an event and wakes next_event() waiters.
  void emit(Event event);
  // Waits up to `timeout` for the next event; loop thread only.
  asio::awaitable<std::optional<Event>> next_event(std::chrono::milliseconds timeout);

  const Stats& stats() const { return stats_; }
  // Why the latest inbound or outbound upgrade failed, for diagnostics.
  const std::optional<transport::DisconnectReason>& last_upgrade_failure() const {
    return last_upgrade_failure_;
  }

  // Stops the listeners and the idle trimmer and closes every connection.
  void close();

  // Runs an io_context on a thread of its own until stopped.
  class Runner {
   public:
    Runner();
    ~Runner();  // stops the loop and joins the thread
    asio::io_context& io() { return *io_; }
    void stop();

   private:
    struct Impl;
    std::unique_ptr<asio::io_context> io_;
    std::unique_ptr<Impl> impl_;
  };

 private:
  Host(asio::io_context& io, crypto::Ed25519PrivateKey identity, Config config);

  static asio::awaitable<void> accept_loop(std::shared_ptr<Host> self,
                                           std::shared_ptr<asio::ip::tcp::acceptor> acceptor);
  static asio::awaitable<void> handle_inbound(std::shared_ptr<Host> self,
                                              asio::ip::tcp::socket socket);
  static asio::awaitable<void> serve_stream(std::shared_ptr<Host> self, Stream stream);
  static asio::awaitable<void> trim_idle(std::shared_ptr<Host> self);

  asio::awaitable<core::Result<asio::ip::tcp::socket>> dial_socket(const Multiaddr& addr,
                                                                   transport::DialTarget target);
  core::Result<std::shared_ptr<Connection>> register_connection(asio::ip::tcp::socket socket,
                                                                transport::UpgradeResult upgraded,
                                                                transport::Role role);
  void on_connection_closed(const std::shared_ptr<Connection>& connection,
                            const transport::DisconnectReason& reason);
  std::shared_ptr<Connection> existing_connection(const crypto::PeerId& peer) const;

  asio::io_context& io_;
  crypto::Ed25519PrivateKey identity_;
  crypto::PeerId peer_id_;
  noise::LocalKeys keys_;
  Config config_;
  PeerStore peer_store_;
  EventQueue events_;
  transport::Signal event_signal_;
  std::vector<std::shared_ptr<asio::ip::tcp::acceptor>> acceptors_;
  std::vector<Multiaddr> listen_addrs_;
  std::map<std::string, StreamHandler> handlers_;
  std::vector<std::function<void(const std::shared_ptr<Connection>&)>> hooks_;
  std::multimap<crypto::PeerId, std::shared_ptr<Connection>> connections_;
  std::size_t pending_inbound_ = 0;
  std::unique_ptr<asio::steady_timer> trim_timer_;
  bool closed_ = false;
  Stats stats_;
  std::optional<transport::DisconnectReason> last_upgrade_failure_;
};

// multistream-select on an open stream, within `timeout` (the stream is
// reset when it passes). Bytes read past the agreement are put back into the
// stream. Used by Host; exposed for protocols that negotiate again.
asio::awaitable<core::Result<std::string>> select_outbound(Stream& stream,
                                                           std::vector<std::string> protocols,
                                                           std::chrono::milliseconds timeout);
asio::awaitable<core::Result<std::string>> select_inbound(Stream& stream,
                                                          std::vector<std::string> supported,
                                                          std::chrono::milliseconds timeout);

}  // namespace soma::p2p::host
