#include "p2p/yamux/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace soma::p2p::yamux {
namespace {

using TimePoint = std::chrono::steady_clock::time_point;

constexpr std::uint32_t kMaxStreamId = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t kMaxWindow = std::numeric_limits<std::uint32_t>::max();

// Receive windows grow when half a window is consumed within four round
// trips. On loopback the measured round trip is a few microseconds, far less
// than the time the owner's loop takes to hand a window update back, so the
// round trip used for that test never counts as less than this.
constexpr std::chrono::microseconds kMinRttForWindowGrowth{1000};
constexpr int kRoundTripsPerGrowthEpoch = 4;

// Small writes are gathered into the tail chunk of a stream's send queue up
// to this size instead of each getting an allocation of its own.
constexpr std::size_t kSendChunkCoalesce = 64 * 1024;

// Largest payload one event::StreamData carries.
constexpr std::size_t kMaxDataEventSize = 64 * 1024;

// Buffers given back through recycle() that are kept for the next events,
// and the capacities worth keeping; pieces of at least kMinSpareCapacity
// bytes get a buffer of a whole event's size.
constexpr std::size_t kMaxSpareBuffers = 4;
constexpr std::size_t kMinSpareCapacity = 4 * 1024;
constexpr std::size_t kMaxSpareCapacity = 2 * kMaxDataEventSize;

bool is_client_id(StreamId id) { return id % 2 == 1; }

}  // namespace

std::string_view to_string(Fault fault) {
  switch (fault) {
    case Fault::kPeer:
      return "peer";
    case Fault::kLocalLimit:
      return "local-limit";
  }
  return "unknown";
}

core::Status validate(const Limits& l) {
  if (l.initial_stream_window < kInitialStreamWindow) {
    return core::Error::invalid(
        fmt::format("yamux initial_stream_window {} is below the spec's {} bytes",
                    l.initial_stream_window, kInitialStreamWindow));
  }
  if (l.max_stream_window < l.initial_stream_window) {
    return core::Error::invalid(
        fmt::format("yamux max_stream_window {} is below initial_stream_window {}",
                    l.max_stream_window, l.initial_stream_window));
  }
  if (l.max_frame_length == 0 || l.max_send_frame_payload == 0 || l.output_batch == 0 ||
      l.max_queued_events == 0 || l.max_pending_control_bytes < kHeaderSize ||
      l.ping_interval.count() <= 0) {
    return core::Error::invalid(
        "yamux limits max_frame_length, max_send_frame_payload, output_batch, "
        "max_queued_events, max_pending_control_bytes and ping_interval must be positive");
  }
  return {};
}

// ---------------------------------------------------------------------------

struct Session::Impl {
  struct Stream {
    explicit Stream(StreamLifecycle l) : life(l) {}

    StreamLifecycle life;

    // Send side: what the peer allows, and what waits for it.
    std::uint64_t send_window = kInitialStreamWindow;
    std::deque<core::Bytes> queue;
    std::size_t queue_front_offset = 0;
    std::size_t queued = 0;
    bool fin_pending = false;  // close_write() called; FIN follows the queue
    bool blocked = false;      // a write() was cut short; owes a StreamWritable
    bool in_ready = false;     // listed in ready_

    // Receive side: window is what we aim to grant, credit what the peer may
    // still send, unconsumed what the owner holds. credit + unconsumed never
    // exceeds window.
    std::uint32_t window = kInitialStreamWindow;
    std::uint32_t credit = kInitialStreamWindow;
    std::uint64_t unconsumed = 0;
    TimePoint epoch_start{};
  };

  enum class Reading { kHeader, kPayload };

  explicit Impl(Config c) : config(std::move(c)), limits(config.limits) {
    next_local_id = config.role == Role::kClient ? 1 : 2;
    if (!config.clock) config.clock = [] { return std::chrono::steady_clock::now(); };
    ping_window_start = now();
    if (config.ping_on_start) (void)ping();
  }

  TimePoint now() const { return config.clock(); }

  bool is_remote_id(StreamId id) const {
    return is_client_id(id) == (config.role == Role::kServer);
  }

  // Whether the id names a stream that existed at some point (it may be gone).
  bool ever_opened(StreamId id) const {
    if (id == kSessionStreamId) return false;
    return is_remote_id(id) ? id <= last_remote_id : id < next_local_id;
  }

  Stream* find(StreamId id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : &it->second;
  }
  const Stream* find(StreamId id) const {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : &it->second;
  }

  // ---- failure -------------------------------------------------------------

  core::Error failure_error() const {
    return core::Error::precondition(fmt::format("yamux session failed ({} fault): {}",
                                                 to_string(failed->fault), failed->reason));
  }

  // Kills the session: tells the peer why, drops every stream, reports it.
  core::Error fail(Fault fault, std::string reason) {
    if (failed) return failure_error();
    GoAwayCode code =
        fault == Fault::kPeer ? GoAwayCode::kProtocolError : GoAwayCode::kInternalError;
    // Sent even after a graceful go-away, so the peer learns why we stop.
    append_frame(output, FrameHeader::go_away(code));
    local_go_away = code;
    failed = SessionError{fault, code, reason};
    streams.clear();
    ready.clear();
    events.emplace_back(event::SessionFailed{*failed});

    core::Error err = fault == Fault::kPeer ? core::Error::invalid(std::move(reason))
                                            : core::Error::exhausted(std::move(reason));
    err.message = fmt::format("yamux session failed ({} fault): {}", to_string(fault), err.message);
    return err;
  }

  core::Error peer_error(std::string reason) { return fail(Fault::kPeer, std::move(reason)); }

  // ---- input ---------------------------------------------------------------

  // Pausing keeps what the peer can make us hold bounded when the owner is
  // slow to drain: only at a frame boundary, never inside a payload.
  bool should_pause() const {
    std::size_t output_threshold =
        limits.output_batch + limits.max_send_frame_payload + limits.max_pending_control_bytes;
    return events.size() >= limits.max_queued_events || output.size() >= output_threshold;
  }

  core::Result<std::size_t> feed(core::ByteView in) {
    if (failed) return failure_error();
    std::size_t pos = 0;
    while (pos < in.size()) {
      if (reading == Reading::kHeader) {
        if (header_fill == 0 && should_pause()) break;

        std::size_t n = std::min(kHeaderSize - header_fill, in.size() - pos);
        std::memcpy(header_buf.data() + header_fill, in.data() + pos, n);
        header_fill += n;
        pos += n;
        if (header_fill < kHeaderSize) break;
        header_fill = 0;

        auto header = decode_header(header_buf);
        if (!header.ok()) return peer_error(header.error().message);
        SOMA_TRY(on_header(*header));
      } else {
        std::size_t n = std::min<std::size_t>(payload_remaining, in.size() - pos);
        on_payload(in.subspan(pos, n));
        pos += n;
        payload_remaining -= static_cast<std::uint32_t>(n);
        if (payload_remaining == 0) SOMA_TRY(finish_payload());
      }
    }
    return pos;
  }

  core::Status on_header(const FrameHeader& h) {
    switch (h.type) {
      case FrameType::kPing:
        return on_ping(h);
      case FrameType::kGoAway:
        remote_go_away = h.length;
        events.emplace_back(event::GoAwayReceived{h.length});
        return {};
      case FrameType::kData:
      case FrameType::kWindowUpdate:
        return on_stream_frame(h);
    }
    return peer_error("unreachable frame type");
  }

  core::Status on_ping(const FrameHeader& h) {
    if (h.has(flag::kSyn)) {
      // Bound how fast the peer can make us write pongs.
      TimePoint t = now();
      if (t - ping_window_start >= limits.ping_interval) {
        ping_window_start = t;
        pings_in_window = 0;
      }
      if (++pings_in_window > limits.max_inbound_pings_per_interval) {
        return fail(Fault::kLocalLimit, fmt::format("peer sent more than {} pings within {} ms",
                                                    limits.max_inbound_pings_per_interval,
                                                    limits.ping_interval.count()));
      }
      append_frame(output, FrameHeader::ping(flag::kAck, h.length));
      ++stats.pings_answered;
      return {};
    }

    // A pong must answer the one ping we have in flight.
    if (!ping_in_flight || *ping_in_flight != h.length) {
      return peer_error(
          fmt::format("peer sent a pong with opaque value {} that answers no ping", h.length));
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now() - ping_sent_at);
    rtt = elapsed;
    ping_in_flight.reset();
    events.emplace_back(event::Pong{h.length, elapsed});
    return {};
  }

  core::Status on_stream_frame(const FrameHeader& h) {
    const StreamId id = h.stream_id;
    if (h.has(flag::kSyn)) SOMA_TRY(on_syn(h));

    Stream* s = find(id);
    if (s == nullptr) {
      // Refused in on_syn: its payload, if any, is dropped.
      if (h.has(flag::kSyn)) return h.type == FrameType::kData ? drain(h) : core::Status{};
      if (!ever_opened(id)) {
        return peer_error(
            fmt::format("peer sent {} for stream {}, which was never opened", describe(h), id));
      }
      // The stream ended here while this frame was in flight: drop it.
      ++stats.ignored_frames;
      if (h.type == FrameType::kData) return drain(h);
      return {};
    }

    if (h.has(flag::kAck)) {
      bool was_acknowledged = s->life.acknowledged();
      auto st = s->life.on_remote_ack();
      if (!st.ok()) return peer_error(fmt::format("{}: {}", describe(h), st.error().message));
      if (!was_acknowledged) --ack_backlog;
    }

    if (h.has(flag::kRst)) {
      events.emplace_back(event::StreamReset{id});
      s->life.on_reset();
      remove_stream(id);
      if (h.type == FrameType::kData) return drain(h);
      return {};
    }

    if (h.type == FrameType::kWindowUpdate) {
      s->send_window += h.length;
      if (s->send_window > kMaxWindow) {
        return peer_error(
            fmt::format("{} grows the send window of stream {} past 2^32-1", describe(h), id));
      }
      if (h.length > 0 && s->queued > 0) mark_ready(id, *s);
      if (h.has(flag::kFin)) return on_remote_fin(id);
      return {};
    }

    // A data frame: check it against the stream before reading its payload.
    if (h.length > 0 && !s->life.can_receive()) {
      return peer_error(
          fmt::format("peer sent {} on stream {} after it sent FIN", describe(h), id));
    }
    if (h.length > s->credit) {
      return peer_error(fmt::format("peer sent {}, exceeding the receive window of {} bytes",
                                    describe(h), s->credit));
    }
    if (h.length > limits.max_frame_length) {
      return fail(Fault::kLocalLimit,
                  fmt::format("peer sent {}, longer than the {} byte frame limit", describe(h),
                              limits.max_frame_length));
    }
    payload_stream = id;
    payload_fin = h.has(flag::kFin);
    return begin_payload(h.length);
  }

  // Registers a stream the peer opens, or refuses it with RST.
  core::Status on_syn(const FrameHeader& h) {
    const StreamId id = h.stream_id;
    if (!is_remote_id(id)) {
      return peer_error(fmt::format(
          "peer opened stream {} with {} parity, which belongs to the {} side", id,
          is_client_id(id) ? "odd" : "even", config.role == Role::kClient ? "client" : "server"));
    }
    if (streams.contains(id)) {
      return peer_error(fmt::format("peer sent SYN again for open stream {}", id));
    }
    if (id <= last_remote_id) {
      return peer_error(fmt::format(
          "peer reused stream id {}; ids must increase (last opened was {})", id, last_remote_id));
    }
    last_remote_id = id;
    if (h.type == FrameType::kData && h.length > kInitialStreamWindow) {
      return peer_error(fmt::format("peer sent {}, exceeding the initial window of {} bytes",
                                    describe(h), kInitialStreamWindow));
    }

    // Over a limit, the stream is refused and the session stays up.
    std::size_t pending = inbound_count - accepted_inbound;
    if (local_go_away || inbound_count >= limits.max_inbound_streams ||
        pending >= limits.max_pending_inbound_streams) {
      append_frame(output, FrameHeader::window_update(id, flag::kRst, 0));
      ++stats.refused_streams;
      return {};
    }

    Stream s(StreamLifecycle::inbound());
    s.window = limits.initial_stream_window;
    s.credit = kInitialStreamWindow;
    s.epoch_start = now();
    receive_window_total += s.window;
    streams.emplace(id, std::move(s));
    ++inbound_count;
    ++stats.inbound_streams;
    events.emplace_back(event::StreamOpened{id});
    return {};
  }

  core::Status on_remote_fin(StreamId id) {
    Stream* s = find(id);
    if (s == nullptr) return {};  // reset locally while the payload was arriving
    auto st = s->life.on_remote_fin();
    if (!st.ok()) return peer_error(fmt::format("stream {}: {}", id, st.error().message));
    events.emplace_back(event::StreamFinished{id});
    maybe_remove(id, *s);
    return {};
  }

  core::Status drain(const FrameHeader& h) {
    // A frame for a stream that is gone can be no longer than any window we
    // ever grant.
    if (h.length > limits.max_stream_window) {
      return peer_error(
          fmt::format("peer sent {}, longer than any window this session grants", describe(h)));
    }
    payload_stream = kSessionStreamId;
    payload_fin = false;
    return begin_payload(h.length);
  }

  core::Status begin_payload(std::uint32_t length) {
    if (length == 0) return finish_payload();
    payload_remaining = length;
    reading = Reading::kPayload;
    return {};
  }

  void on_payload(core::ByteView bytes) {
    if (payload_stream == kSessionStreamId) return;
    Stream* s = find(payload_stream);
    if (s == nullptr) return;  // reset locally mid-frame: drop the rest

    s->credit -= static_cast<std::uint32_t>(bytes.size());
    s->unconsumed += bytes.size();
    stats.data_bytes_received += bytes.size();

    // Consecutive small pieces for one stream become one event; large runs
    // are cut into events of moderate size, which the allocator recycles
    // instead of mapping fresh pages for each.
    while (!bytes.empty()) {
      auto* last = events.empty() ? nullptr : std::get_if<event::StreamData>(&events.back());
      if (last != nullptr && last->stream == payload_stream &&
          last->data.size() < kMaxDataEventSize) {
        std::size_t n = std::min(bytes.size(), kMaxDataEventSize - last->data.size());
        core::append(last->data, bytes.first(n));
        bytes = bytes.subspan(n);
        continue;
      }
      std::size_t n = std::min(bytes.size(), kMaxDataEventSize);
      events.emplace_back(event::StreamData{payload_stream, data_buffer(bytes.first(n))});
      bytes = bytes.subspan(n);
    }
  }

  // A copy of `bytes` for an event, in a recycled buffer when there is one:
  // memory that was just freed would otherwise often go back to the system
  // and come back as fresh pages to fault in.
  // Buffers of a few KiB and more get room for a whole event at once, so
  // later pieces append in place and the buffer is worth recycling.
  core::Bytes data_buffer(core::ByteView bytes) {
    core::Bytes out;
    if (!spare_buffers.empty()) {
      out = std::move(spare_buffers.back());
      spare_buffers.pop_back();
    } else if (bytes.size() >= kMinSpareCapacity) {
      out.reserve(kMaxDataEventSize);
    }
    out.assign(bytes.begin(), bytes.end());
    return out;
  }

  void recycle(core::Bytes buffer) {
    if (spare_buffers.size() >= kMaxSpareBuffers || buffer.capacity() < kMaxDataEventSize ||
        buffer.capacity() > kMaxSpareCapacity) {
      return;
    }
    buffer.clear();
    spare_buffers.push_back(std::move(buffer));
  }

  core::Status finish_payload() {
    reading = Reading::kHeader;
    payload_remaining = 0;
    if (payload_fin && payload_stream != kSessionStreamId) {
      payload_fin = false;
      return on_remote_fin(payload_stream);
    }
    return {};
  }

  // ---- output --------------------------------------------------------------

  void mark_ready(StreamId id, Stream& s) {
    if (s.in_ready) return;
    s.in_ready = true;
    ready.push_back(id);
  }

  // Moves queued stream data into the output, one frame per stream per turn
  // so streams share the connection, until the batch is full.
  void pump() {
    while (!ready.empty() && output.size() < limits.output_batch) {
      StreamId id = ready.front();
      ready.pop_front();
      Stream* s = find(id);
      if (s == nullptr) continue;
      s->in_ready = false;
      if (s->queued == 0 || s->send_window == 0) continue;

      std::size_t n = std::min<std::uint64_t>(
          {s->queued, s->send_window, std::uint64_t{limits.max_send_frame_payload}});
      write_queued_frame(id, *s, n);
      bool fin_sent = s->queued == 0 && s->fin_pending;
      if (fin_sent) {
        s->fin_pending = false;
        append_fin(id);
      }

      if (s->blocked && s->queued <= limits.max_stream_send_buffer / 2) {
        s->blocked = false;
        events.emplace_back(event::StreamWritable{id});
      }
      if (s->queued > 0 && s->send_window > 0) mark_ready(id, *s);
      if (fin_sent) maybe_remove(id, *s);
    }
  }

  // The FIN always travels in an empty frame of its own, after the stream's
  // last data frame. Some peers (@chainsafe/libp2p-yamux among them) act on
  // a FIN before the payload of the frame that carries it and drop that
  // payload, so a FIN is never put on a data frame.
  void append_fin(StreamId id) {
    append_frame(output, FrameHeader::window_update(id, flag::kFin, 0));
  }

  void write_queued_frame(StreamId id, Stream& s, std::size_t n) {
    HeaderBytes h = encode_header(FrameHeader::data(id, 0, static_cast<std::uint32_t>(n)));
    output.insert(output.end(), h.begin(), h.end());

    std::size_t left = n;
    while (left > 0) {
      core::Bytes& chunk = s.queue.front();
      std::size_t take = std::min(left, chunk.size() - s.queue_front_offset);
      auto begin = chunk.begin() + static_cast<std::ptrdiff_t>(s.queue_front_offset);
      output.insert(output.end(), begin, begin + static_cast<std::ptrdiff_t>(take));
      s.queue_front_offset += take;
      left -= take;
      if (s.queue_front_offset == chunk.size()) {
        s.queue.pop_front();
        s.queue_front_offset = 0;
      }
    }
    s.queued -= n;
    s.send_window -= n;
    stats.data_bytes_sent += n;
  }

  bool has_output() const {
    if (!output.empty()) return true;
    for (StreamId id : ready) {
      const Stream* s = find(id);
      if (s != nullptr && s->queued > 0 && s->send_window > 0) return true;
    }
    return false;
  }

  core::Bytes take_output(core::Bytes reuse) {
    pump();
    reuse.clear();
    std::swap(reuse, output);
    return reuse;
  }

  // Sends a window update when the owner has freed at least half a window,
  // or whenever flags must go out. Grows the window first if the last half
  // window went by within a few round trips.
  void send_window_update(StreamId id, Stream& s, std::uint16_t flags) {
    auto grantable = [&s] {
      return static_cast<std::uint64_t>(s.window) - s.credit -
             std::min<std::uint64_t>(s.unconsumed, s.window - s.credit);
    };
    if (flags == 0 && grantable() < s.window / 2) return;

    TimePoint t = now();
    if (flags == 0 && rtt) {
      auto round_trip = std::max<std::chrono::nanoseconds>(*rtt, kMinRttForWindowGrowth);
      if (t - s.epoch_start < round_trip * kRoundTripsPerGrowthEpoch) grow_window(s);
    }
    s.epoch_start = t;

    auto delta = static_cast<std::uint32_t>(grantable());
    if (delta == 0 && flags == 0) return;
    s.credit += delta;
    append_frame(output, FrameHeader::window_update(id, flags, delta));
    ++stats.window_updates_sent;
  }

  void grow_window(Stream& s) {
    std::uint64_t target =
        std::min<std::uint64_t>(std::uint64_t{s.window} * 2, limits.max_stream_window);
    if (target <= s.window) return;
    std::uint64_t growth = target - s.window;
    // The session budget keeps the sum of all windows bounded.
    if (receive_window_total + growth > limits.max_session_receive_window) return;
    receive_window_total += growth;
    s.window = static_cast<std::uint32_t>(target);
  }

  // ---- streams -------------------------------------------------------------

  core::Status check_usable() const {
    if (failed) return failure_error();
    return {};
  }

  core::Result<Stream*> usable_stream(StreamId id) {
    SOMA_TRY(check_usable());
    Stream* s = find(id);
    if (s != nullptr) return s;
    if (ever_opened(id)) {
      return core::Error::precondition(fmt::format("yamux stream {} has ended", id));
    }
    return core::Error::not_found(fmt::format("yamux stream {} was never opened", id));
  }

  void maybe_remove(StreamId id, Stream& s) {
    if (s.life.finished() && s.queued == 0 && !s.fin_pending) remove_stream(id);
  }

  void remove_stream(StreamId id) {
    auto it = streams.find(id);
    if (it == streams.end()) return;
    Stream& s = it->second;
    if (s.life.direction() == Direction::kInbound) {
      --inbound_count;
      if (s.life.acknowledged()) --accepted_inbound;
    } else {
      --outbound_count;
      if (!s.life.acknowledged()) --ack_backlog;
    }
    receive_window_total -= s.window;
    streams.erase(it);
  }

  core::Result<StreamId> open_stream() {
    SOMA_TRY(check_usable());
    if (local_go_away) {
      return core::Error::precondition("yamux session is going away; no new streams");
    }
    if (remote_go_away) {
      return core::Error::unavailable("yamux peer sent go-away; it accepts no new streams");
    }
    if (outbound_count >= limits.max_outbound_streams) {
      return core::Error::exhausted(
          fmt::format("yamux outbound stream limit of {} reached; close a stream first",
                      limits.max_outbound_streams));
    }
    if (ack_backlog >= limits.max_ack_backlog) {
      return core::Error::exhausted(
          fmt::format("{} opened yamux streams are not yet acknowledged by the peer; wait for it",
                      ack_backlog));
    }
    if (next_local_id > kMaxStreamId) {
      return core::Error::exhausted("yamux stream ids are used up; open a new connection");
    }

    auto id = static_cast<StreamId>(next_local_id);
    next_local_id += 2;
    Stream s(StreamLifecycle::outbound());
    s.window = limits.initial_stream_window;
    s.credit = limits.initial_stream_window;
    s.epoch_start = now();
    (void)s.life.on_syn_sent();
    receive_window_total += s.window;
    // A window larger than the spec's initial one is announced with the SYN.
    append_frame(output,
                 FrameHeader::window_update(id, flag::kSyn, s.window - kInitialStreamWindow));
    streams.emplace(id, std::move(s));
    ++outbound_count;
    ++ack_backlog;
    ++stats.outbound_streams;
    return id;
  }

  core::Status accept_stream(StreamId id, Stream& s) {
    SOMA_TRY(s.life.on_ack_sent());
    ++accepted_inbound;
    send_window_update(id, s, flag::kAck);
    return {};
  }

  void accept_if_pending(StreamId id, Stream& s) {
    if (s.life.direction() == Direction::kInbound && !s.life.acknowledged()) {
      (void)accept_stream(id, s);
    }
  }

  core::Status accept(StreamId id) {
    auto s = usable_stream(id);
    if (!s.ok()) return s.take_error();
    if ((*s)->life.direction() != Direction::kInbound || (*s)->life.acknowledged()) {
      return core::Error::precondition(
          fmt::format("yamux stream {} is not waiting to be accepted", id));
    }
    return accept_stream(id, **s);
  }

  core::Result<std::size_t> write(StreamId id, core::ByteView data) {
    auto found = usable_stream(id);
    if (!found.ok()) return found.take_error();
    Stream& s = **found;
    if (!s.life.can_send() || s.fin_pending) {
      return core::Error::precondition(
          fmt::format("yamux stream {} is closed for writing ({})", id, to_string(s.life.state())));
    }
    accept_if_pending(id, s);

    // Straight into the output while nothing waits ahead of it.
    std::size_t accepted = 0;
    if (s.queued == 0) {
      while (accepted < data.size() && s.send_window > 0 && output.size() < limits.output_batch) {
        std::size_t n = std::min<std::uint64_t>(
            {data.size() - accepted, s.send_window, std::uint64_t{limits.max_send_frame_payload}});
        append_frame(output, FrameHeader::data(id, 0, static_cast<std::uint32_t>(n)),
                     data.subspan(accepted, n));
        s.send_window -= n;
        stats.data_bytes_sent += n;
        accepted += n;
      }
    }

    // The rest waits in the stream's bounded queue.
    std::size_t room =
        limits.max_stream_send_buffer - std::min(s.queued, limits.max_stream_send_buffer);
    std::size_t n = std::min(data.size() - accepted, room);
    if (n > 0) {
      core::ByteView part = data.subspan(accepted, n);
      if (!s.queue.empty() && s.queue.back().size() + n <= kSendChunkCoalesce) {
        core::append(s.queue.back(), part);
      } else {
        s.queue.emplace_back(part.begin(), part.end());
      }
      s.queued += n;
      accepted += n;
    }
    if (s.queued > 0 && s.send_window > 0) mark_ready(id, s);
    if (accepted < data.size()) s.blocked = true;
    return accepted;
  }

  core::Status consume(StreamId id, std::size_t n) {
    SOMA_TRY(check_usable());
    Stream* s = find(id);
    if (s == nullptr) {
      if (ever_opened(id)) return {};  // ended: nothing left to grant
      return core::Error::not_found(fmt::format("yamux stream {} was never opened", id));
    }
    if (n > s->unconsumed) {
      return core::Error::invalid(
          fmt::format("consumed {} bytes of yamux stream {}, but only {} were delivered", n, id,
                      s->unconsumed));
    }
    s->unconsumed -= n;
    if (s->life.direction() == Direction::kInbound && !s->life.acknowledged()) {
      return accept_stream(id, *s);
    }
    // No window update once the peer can send nothing more.
    if (s->life.can_receive()) send_window_update(id, *s, 0);
    return {};
  }

  core::Status close_write(StreamId id) {
    auto found = usable_stream(id);
    if (!found.ok()) return found.take_error();
    Stream& s = **found;
    if (s.fin_pending) {
      return core::Error::precondition(fmt::format("yamux stream {} is already closing", id));
    }
    accept_if_pending(id, s);
    SOMA_TRY(s.life.on_local_fin());
    if (s.queued > 0) {
      s.fin_pending = true;  // pump() sends it once the queue has gone out
    } else {
      append_fin(id);
    }
    maybe_remove(id, s);
    return {};
  }

  core::Status reset(StreamId id) {
    SOMA_TRY(check_usable());
    if (find(id) == nullptr && ever_opened(id)) return {};  // already gone
    auto found = usable_stream(id);
    if (!found.ok()) return found.take_error();
    append_frame(output, FrameHeader::window_update(id, flag::kRst, 0));
    (*found)->life.on_reset();
    remove_stream(id);
    return {};
  }

  core::Result<std::uint32_t> ping() {
    SOMA_TRY(check_usable());
    if (ping_in_flight) return *ping_in_flight;
    std::uint32_t opaque = next_ping_opaque++;
    ping_in_flight = opaque;
    ping_sent_at = now();
    append_frame(output, FrameHeader::ping(flag::kSyn, opaque));
    return opaque;
  }

  core::Status go_away(GoAwayCode code) {
    SOMA_TRY(check_usable());
    if (local_go_away) return {};
    local_go_away = code;
    append_frame(output, FrameHeader::go_away(code));
    return {};
  }

  std::optional<StreamInfo> stream_info(StreamId id) const {
    const Stream* s = find(id);
    if (s == nullptr) return std::nullopt;
    return StreamInfo{
        s->life.state(), s->life.direction(), static_cast<std::uint32_t>(s->send_window),
        s->queued,       s->window,           s->credit,
        s->unconsumed};
  }

  // ---- state -----------------------------------------------------------------

  Config config;
  const Limits& limits;

  std::unordered_map<StreamId, Stream> streams;
  std::deque<StreamId> ready;       // streams with queued data and send window
  std::uint64_t next_local_id = 1;  // wider than an id so running out is seen
  StreamId last_remote_id = 0;
  std::size_t inbound_count = 0;
  std::size_t accepted_inbound = 0;
  std::size_t outbound_count = 0;
  std::size_t ack_backlog = 0;
  std::uint64_t receive_window_total = 0;

  // Frame reader.
  Reading reading = Reading::kHeader;
  HeaderBytes header_buf{};
  std::size_t header_fill = 0;
  std::uint32_t payload_remaining = 0;
  StreamId payload_stream = kSessionStreamId;  // 0: drop the payload
  bool payload_fin = false;

  std::deque<Event> events;
  core::Bytes output;
  std::vector<core::Bytes> spare_buffers;  // see recycle()

  std::optional<std::uint32_t> ping_in_flight;
  std::uint32_t next_ping_opaque = 0;
  TimePoint ping_sent_at{};
  std::optional<std::chrono::nanoseconds> rtt;
  TimePoint ping_window_start{};
  std::uint32_t pings_in_window = 0;

  std::optional<GoAwayCode> local_go_away;
  std::optional<std::uint32_t> remote_go_away;
  std::optional<SessionError> failed;
  Stats stats;
};

// ---------------------------------------------------------------------------

core::Result<Session> Session::create(Config config) {
  SOMA_TRY(validate(config.limits));
  return Session(std::make_unique<Impl>(std::move(config)));
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Role Session::role() const { return impl_->config.role; }

core::Result<std::size_t> Session::feed(core::ByteView in) { return impl_->feed(in); }

std::optional<Event> Session::next_event() {
  if (impl_->events.empty()) return std::nullopt;
  Event e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

bool Session::has_events() const { return !impl_->events.empty(); }
bool Session::has_output() const { return impl_->has_output(); }
core::Bytes Session::take_output(core::Bytes reuse) { return impl_->take_output(std::move(reuse)); }
void Session::recycle(core::Bytes buffer) { impl_->recycle(std::move(buffer)); }
void Session::release_buffers() {
  impl_->spare_buffers.clear();
  impl_->spare_buffers.shrink_to_fit();
  if (impl_->output.empty()) core::Bytes().swap(impl_->output);
}

core::Result<StreamId> Session::open_stream() { return impl_->open_stream(); }
core::Status Session::accept(StreamId id) { return impl_->accept(id); }
core::Result<std::size_t> Session::write(StreamId id, core::ByteView data) {
  return impl_->write(id, data);
}
core::Status Session::consume(StreamId id, std::size_t n) { return impl_->consume(id, n); }
core::Status Session::close_write(StreamId id) { return impl_->close_write(id); }
core::Status Session::reset(StreamId id) { return impl_->reset(id); }
core::Result<std::uint32_t> Session::ping() { return impl_->ping(); }
core::Status Session::go_away(GoAwayCode code) { return impl_->go_away(code); }

std::optional<StreamInfo> Session::stream_info(StreamId id) const { return impl_->stream_info(id); }
std::size_t Session::stream_count() const { return impl_->streams.size(); }
std::optional<std::chrono::nanoseconds> Session::rtt() const { return impl_->rtt; }
std::optional<std::uint32_t> Session::remote_go_away() const { return impl_->remote_go_away; }
const SessionError* Session::failure() const { return impl_->failed ? &*impl_->failed : nullptr; }
const Stats& Session::stats() const { return impl_->stats; }

}  // namespace soma::p2p::yamux
