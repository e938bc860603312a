#pragma once

// What a yamux session reports to its owner. Events are values; the session
// queues them and the owner drains them with Session::next_event().

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>

#include "core/bytes.h"
#include "p2p/yamux/frame.h"

namespace soma::p2p::yamux {

// Who caused a session failure: the peer broke the protocol, or the peer
// stayed within the protocol but went past one of our limits.
enum class Fault {
  kPeer,
  kLocalLimit,
};

std::string_view to_string(Fault fault);

struct SessionError {
  Fault fault = Fault::kPeer;
  GoAwayCode sent_code = GoAwayCode::kProtocolError;  // what the go-away told the peer
  std::string reason;                                 // names the frame and the rule
};

namespace event {

// The peer opened a stream. Accept it with Session::accept() (or by writing
// or consuming on it), or refuse it with Session::reset().
struct StreamOpened {
  StreamId stream = 0;
};

// Bytes the peer sent on a stream, in order. They count against the
// stream's receive window until the owner calls Session::consume().
struct StreamData {
  StreamId stream = 0;
  core::Bytes data;
};

// The peer half-closed the stream: no more data will come. Writing still
// works until we close our side too.
struct StreamFinished {
  StreamId stream = 0;
};

// The peer reset the stream (or refused one we opened). It is gone; queued
// outbound data was dropped.
struct StreamReset {
  StreamId stream = 0;
};

// A write() on this stream accepted less than it was given earlier; the
// stream has room again.
struct StreamWritable {
  StreamId stream = 0;
};

// The answer to our Session::ping().
struct Pong {
  std::uint32_t opaque = 0;
  std::chrono::nanoseconds rtt{0};
};

// The peer will open no more streams and accept none of ours. `code` is the
// raw value it sent (GoAwayCode values, or another one it made up).
struct GoAwayReceived {
  std::uint32_t code = 0;
};

// The session is dead: a go-away telling the peer why has been queued in the
// output. Flush the output, then close the connection.
struct SessionFailed {
  SessionError error;
};

}  // namespace event

using Event =
    std::variant<event::StreamOpened, event::StreamData, event::StreamFinished, event::StreamReset,
                 event::StreamWritable, event::Pong, event::GoAwayReceived, event::SessionFailed>;

}  // namespace soma::p2p::yamux
