#include "p2p/yamux/stream_state.h"

#include <fmt/format.h>

namespace soma::p2p::yamux {

std::string_view to_string(StreamState state) {
  switch (state) {
    case StreamState::kInit:
      return "init";
    case StreamState::kSynSent:
      return "syn-sent";
    case StreamState::kSynReceived:
      return "syn-received";
    case StreamState::kEstablished:
      return "established";
    case StreamState::kLocalClose:
      return "local-close";
    case StreamState::kRemoteClose:
      return "remote-close";
    case StreamState::kClosed:
      return "closed";
    case StreamState::kReset:
      return "reset";
  }
  return "unknown";
}

bool StreamLifecycle::can_send() const {
  switch (state_) {
    case StreamState::kSynSent:
    case StreamState::kSynReceived:
    case StreamState::kEstablished:
    case StreamState::kRemoteClose:
      return true;
    default:
      return false;
  }
}

bool StreamLifecycle::can_receive() const {
  switch (state_) {
    case StreamState::kSynSent:
    case StreamState::kSynReceived:
    case StreamState::kEstablished:
    case StreamState::kLocalClose:
      return true;
    default:
      return false;
  }
}

core::Status StreamLifecycle::on_syn_sent() {
  if (state_ != StreamState::kInit) {
    return core::Error::precondition(
        fmt::format("cannot send SYN on a stream in state {}", to_string(state_)));
  }
  state_ = StreamState::kSynSent;
  return {};
}

core::Status StreamLifecycle::on_ack_sent() {
  if (direction_ != Direction::kInbound || acknowledged_) {
    return core::Error::precondition("only an unacknowledged inbound stream can be acknowledged");
  }
  acknowledged_ = true;
  if (state_ == StreamState::kSynReceived) state_ = StreamState::kEstablished;
  return {};
}

core::Status StreamLifecycle::on_remote_ack() {
  if (direction_ != Direction::kOutbound) {
    return core::Error::invalid("peer sent ACK on a stream it opened itself");
  }
  if (state_ == StreamState::kInit) {
    return core::Error::invalid("peer sent ACK before the stream was opened");
  }
  // A repeated ACK changes nothing; peers send it once, but it is harmless.
  acknowledged_ = true;
  if (state_ == StreamState::kSynSent) state_ = StreamState::kEstablished;
  return {};
}

core::Status StreamLifecycle::on_local_fin() {
  switch (state_) {
    case StreamState::kSynSent:
    case StreamState::kSynReceived:
    case StreamState::kEstablished:
      state_ = StreamState::kLocalClose;
      return {};
    case StreamState::kRemoteClose:
      state_ = StreamState::kClosed;
      return {};
    default:
      return core::Error::precondition(
          fmt::format("cannot close a stream for writing in state {}", to_string(state_)));
  }
}

core::Status StreamLifecycle::on_remote_fin() {
  switch (state_) {
    case StreamState::kSynSent:
    case StreamState::kSynReceived:
    case StreamState::kEstablished:
      state_ = StreamState::kRemoteClose;
      return {};
    case StreamState::kLocalClose:
      state_ = StreamState::kClosed;
      return {};
    default:
      return core::Error::invalid(
          fmt::format("peer sent FIN on a stream in state {}", to_string(state_)));
  }
}

}  // namespace soma::p2p::yamux
