#pragma once

// The lifecycle of one yamux stream: the SYN/ACK opening handshake and the
// two half-closes, as the yamux spec names its states. A value type owned by
// the session; not thread-safe, like the session.

#include <string_view>

#include "core/error.h"

namespace soma::p2p::yamux {

enum class StreamState {
  kInit,         // created locally, SYN not sent yet
  kSynSent,      // we sent SYN, the peer has not acknowledged it
  kSynReceived,  // the peer sent SYN, we have not acknowledged it
  kEstablished,  // both sides may send
  kLocalClose,   // we sent FIN; the peer may still send
  kRemoteClose,  // the peer sent FIN; we may still send
  kClosed,       // both sides sent FIN
  kReset,        // either side sent RST; nothing more flows
};

std::string_view to_string(StreamState state);

enum class Direction { kOutbound, kInbound };

class StreamLifecycle {
 public:
  // A stream we open (kInit) or one the peer opened with SYN (kSynReceived).
  static StreamLifecycle outbound() { return StreamLifecycle(Direction::kOutbound); }
  static StreamLifecycle inbound() { return StreamLifecycle(Direction::kInbound); }

  StreamState state() const { return state_; }
  Direction direction() const { return direction_; }

  // True once the opening handshake finished: the peer's ACK arrived for an
  // outbound stream, or we sent ours for an inbound one. A stream half-closed
  // before that stays unacknowledged until it happens.
  bool acknowledged() const { return acknowledged_; }

  bool can_send() const;     // we have not sent FIN or RST
  bool can_receive() const;  // the peer has not sent FIN or RST
  bool finished() const { return state_ == StreamState::kClosed || state_ == StreamState::kReset; }

  // Each transition returns an error when the current state does not allow
  // it. Errors from on_remote_* describe peer misbehaviour (kInvalidArgument);
  // errors from on_local_* describe misuse by the caller
  // (kFailedPrecondition).
  core::Status on_syn_sent();
  core::Status on_ack_sent();
  core::Status on_remote_ack();
  core::Status on_local_fin();
  core::Status on_remote_fin();
  void on_reset() { state_ = StreamState::kReset; }

 private:
  explicit StreamLifecycle(Direction d)
      : state_(d == Direction::kOutbound ? StreamState::kInit : StreamState::kSynReceived),
        direction_(d) {}

  StreamState state_;
  Direction direction_;
  bool acknowledged_ = false;
};

}  // namespace soma::p2p::yamux
