#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"
#include "p2p/multiaddr/multiaddr.h"
#include "p2p/noise/session.h"
#include "p2p/transport/deadline.h"
#include "p2p/transport/disconnect.h"
#include "p2p/transport/stream.h"
#include "p2p/transport/upgrade.h"
#include "p2p/yamux/session.h"

// One upgraded libp2p connection: a TCP socket carrying Noise transport
// messages that carry a yamux session. Two coroutines drive it: the reader
// (socket → decrypt → yamux feed → stream inboxes) and the writer (yamux
// output → encrypt → socket, one write outstanding at a time, with whatever
// output piled up during that write sent as the next batch).
//
// Threading: everything, including the Stream handles, belongs to the
// io_context thread of the socket's executor.
// Lifetime: shared; the coroutines, the owner and every Stream keep it
// alive. close() ends it; the on_closed callback reports why, once.
namespace soma::p2p::transport {

struct ConnectionInfo {
  crypto::PeerId remote_peer;
  crypto::Ed25519PublicKey remote_identity;
  Multiaddr local_addr;
  Multiaddr remote_addr;
  Role role = Role::kDialer;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Callbacks {
    // A stream the peer opened. Keep the handle to use it; dropping it
    // resets the stream.
    std::function<void(Stream)> on_inbound_stream;
    // Called once, from the loop (never from inside close()).
    std::function<void(const DisconnectReason&)> on_closed;
  };

  // Takes over an upgraded socket. Errors: kInvalidArgument for yamux limits
  // that do not validate.
  static core::Result<std::shared_ptr<Connection>> create(asio::ip::tcp::socket socket,
                                                          noise::Session session,
                                                          ConnectionInfo info,
                                                          const yamux::Limits& limits,
                                                          const Timeouts& timeouts);
  ~Connection();

  // Starts the reader and the writer. `leftover` is plaintext that arrived
  // with the upgrade: the first yamux bytes.
  void start(Callbacks callbacks, core::Bytes leftover);

  // Opens an outbound stream. Errors: kUnavailable once closing, and the
  // yamux open_stream() errors (kResourceExhausted at the stream limit).
  core::Result<Stream> open_stream();

  // Ends the connection: tells the peer (yamux go-away), flushes what is
  // queued within the write deadline, closes the socket. Open streams fail
  // with kUnavailable. A second call does nothing.
  void close(DisconnectReason reason);

  const ConnectionInfo& info() const { return info_; }
  const crypto::PeerId& remote_peer() const { return info_.remote_peer; }
  bool is_open() const { return state_ == State::kOpen; }
  const std::optional<DisconnectReason>& reason() const { return reason_; }

  // Streams the application holds or the peer opened.
  std::size_t stream_count() const { return streams_.size(); }
  // When the connection last had no stream (or opened), for idle trimming.
  std::chrono::steady_clock::time_point idle_since() const { return idle_since_; }
  const yamux::Stats& yamux_stats() const { return yamux_.stats(); }
  std::optional<std::chrono::nanoseconds> rtt() const { return yamux_.rtt(); }

 private:
  friend class Stream;
  friend struct StreamCore;
  enum class State { kOpen, kClosing, kClosed };

  Connection(asio::ip::tcp::socket socket, noise::Session session, ConnectionInfo info,
             yamux::Session yamux, const Timeouts& timeouts);

  static asio::awaitable<void> read_loop(std::shared_ptr<Connection> self, core::Bytes leftover);
  static asio::awaitable<void> write_loop(std::shared_ptr<Connection> self);
  // Hands plaintext to the session; sets `waited` when it had to wait for
  // the writer on the way. False once the connection has failed.
  asio::awaitable<bool> feed(core::ByteView plaintext, bool& waited);
  void dispatch_events();
  void on_session_failed(const yamux::SessionError& error);
  void kick_writer() { write_signal_.notify(); }
  void fail_socket(const std::error_code& ec, bool timed_out);
  void close_socket();
  void forget_stream(yamux::StreamId id);
  void update_idle();
  std::shared_ptr<StreamCore> find_stream(yamux::StreamId id);

  asio::ip::tcp::socket socket_;
  noise::Session noise_;
  ConnectionInfo info_;
  yamux::Session yamux_;
  Timeouts timeouts_;
  Callbacks callbacks_;
  State state_ = State::kOpen;
  std::optional<DisconnectReason> reason_;
  std::unordered_map<yamux::StreamId, std::weak_ptr<StreamCore>> streams_;
  Signal write_signal_;
  Signal flushed_signal_;
  Deadline frame_deadline_;
  Deadline write_deadline_;
  Deadline close_deadline_;
  bool frame_pending_ = false;
  std::chrono::steady_clock::time_point idle_since_;
};

}  // namespace soma::p2p::transport
