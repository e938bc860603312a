#pragma once

// One yamux session (one connection's worth of streams) as a state machine
// with no I/O of its own: the owner feeds it the bytes read from the
// connection, drains the events it produces, and writes out the bytes it
// hands back. Nothing blocks and nothing is read or written behind the
// owner's back, so the same code runs under Asio, in unit tests and in the
// fuzzer.
//
// The owner's loop:
//   1. feed(bytes read) — repeat with the unconsumed rest after step 2 and 3
//      if it returned less than it was given;
//   2. next_event() until empty;
//   3. while has_output(): write take_output() to the connection.
// Calls that send (open_stream, write, consume, close_write, reset, ping,
// go_away) also add output and may add events.
//
// Threading: not thread-safe; one owner thread (the network loop) calls it.
// Errors: a peer that breaks the protocol, or goes past a limit that allows
// no graceful answer, fails the whole session: feed() returns the error, an
// event::SessionFailed is queued, and a go-away is queued in the output.
// Calls on a failed session return kFailedPrecondition. Misuse of one stream
// (writing after close_write, an unknown id) is returned to the caller and
// leaves the session intact.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/bytes.h"
#include "core/error.h"
#include "p2p/yamux/event.h"
#include "p2p/yamux/frame.h"
#include "p2p/yamux/limits.h"
#include "p2p/yamux/stream_state.h"

namespace soma::p2p::yamux {

// The side that dialed is the client and opens odd stream ids; the side that
// listened is the server and opens even ones.
enum class Role { kClient, kServer };

using Clock = std::function<std::chrono::steady_clock::time_point()>;

struct Config {
  Role role = Role::kClient;
  Limits limits;

  // Send one ping when the session starts, as js-libp2p does, so the round
  // trip time is known and receive windows can grow.
  bool ping_on_start = true;

  // Time source for round trip times, window growth and ping rate limits;
  // empty means std::chrono::steady_clock.
  Clock clock;
};

// Checks that the limits make sense together (windows at least the spec's
// 256 KiB, max at least initial, non-zero sizes). kInvalidArgument naming
// the field otherwise.
core::Status validate(const Limits& limits);

// A snapshot of one stream, for diagnostics and tests.
struct StreamInfo {
  StreamState state = StreamState::kInit;
  Direction direction = Direction::kOutbound;
  std::uint32_t send_window = 0;     // bytes the peer lets us send now
  std::size_t queued = 0;            // accepted by write(), not in the output yet
  std::uint32_t receive_window = 0;  // the window we aim to grant
  std::uint32_t receive_credit = 0;  // bytes the peer may still send
  std::uint64_t unconsumed = 0;      // delivered, not yet consume()d
};

struct Stats {
  std::uint64_t inbound_streams = 0;  // accepted into the stream table
  std::uint64_t outbound_streams = 0;
  std::uint64_t refused_streams = 0;  // reset on arrival: over a limit or going away
  std::uint64_t ignored_frames = 0;   // for streams already closed or reset
  std::uint64_t pings_answered = 0;
  std::uint64_t window_updates_sent = 0;
  std::uint64_t data_bytes_received = 0;
  std::uint64_t data_bytes_sent = 0;  // moved into the output
};

class Session {
 public:
  // Fails only if config.limits do not pass validate().
  static core::Result<Session> create(Config config);

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  Role role() const;

  // ---- input -------------------------------------------------------------

  // Consumes bytes read from the connection, in chunks of any size. Returns
  // how many were consumed: all of them, unless the events or the control
  // output waiting for the owner reached their limits, in which case the
  // owner drains both and feeds the rest again. Buffers at most one frame
  // header; payload goes straight into events.
  core::Result<std::size_t> feed(core::ByteView in);

  // ---- events ------------------------------------------------------------

  std::optional<Event> next_event();
  bool has_events() const;

  // ---- output ------------------------------------------------------------

  // True when take_output() has bytes to give.
  bool has_output() const;

  // Returns the frames to send, in order, batched into one buffer; queued
  // stream data is moved in first, up to the output batch size. Pass back a
  // previous buffer as `reuse` to recycle its capacity. May queue
  // event::StreamWritable.
  core::Bytes take_output(core::Bytes reuse = {});

  // Hands back the buffer of an event::StreamData whose bytes the owner has
  // used up, so a later event reuses its memory instead of fresh pages. A
  // few are kept; the rest are freed.
  void recycle(core::Bytes buffer);

  // Frees what is kept for reuse: the recycled buffers and the output
  // buffer while it holds nothing (for a connection going idle).
  void release_buffers();

  // ---- streams -----------------------------------------------------------

  // Opens a stream (sends SYN). kFailedPrecondition after our go-away,
  // kUnavailable after the peer's, kResourceExhausted when the outbound
  // stream limit, the unacknowledged backlog or the id space is used up.
  core::Result<StreamId> open_stream();

  // Acknowledges a stream the peer opened (sends ACK). write(), consume()
  // and close_write() accept implicitly.
  core::Status accept(StreamId id);

  // Takes as much of `data` as the send window and the per-stream send
  // buffer allow and returns how much that was; the caller keeps the rest
  // and retries after event::StreamWritable. kNotFound for an id never
  // opened, kFailedPrecondition after close_write() or a reset.
  core::Result<std::size_t> write(StreamId id, core::ByteView data);

  // The owner is done with `n` bytes of this stream's delivered data; the
  // window they held is granted to the peer again (in batches of half a
  // window). kInvalidArgument if more than was delivered; a stream that has
  // ended is not an error.
  core::Status consume(StreamId id, std::size_t n);

  // Half-closes our side; the peer's side keeps delivering. The FIN goes
  // out after any queued data, in an empty window-update frame of its own,
  // never on a data frame (a peer may drop the payload of a data frame that
  // carries FIN).
  core::Status close_write(StreamId id);

  // Resets the stream (RST) and forgets it; queued data is dropped.
  core::Status reset(StreamId id);

  // ---- session -----------------------------------------------------------

  // Sends a ping; event::Pong arrives with the round trip time. Only one
  // ping is in flight: while one is, this returns its opaque value.
  core::Result<std::uint32_t> ping();

  // Tells the peer we open and accept no more streams. Existing streams go
  // on; new inbound ones are reset. A second call does nothing.
  core::Status go_away(GoAwayCode code = GoAwayCode::kNormal);

  // ---- inspection --------------------------------------------------------

  std::optional<StreamInfo> stream_info(StreamId id) const;
  std::size_t stream_count() const;
  std::optional<std::chrono::nanoseconds> rtt() const;
  std::optional<std::uint32_t> remote_go_away() const;
  const SessionError* failure() const;  // null while the session is healthy
  const Stats& stats() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace soma::p2p::yamux
