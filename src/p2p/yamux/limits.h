#pragma once

// Named bounds for one yamux session. Every container the peer can grow has
// one of these as its bound; Limits lets a config file override each.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace soma::p2p::yamux {

// Every stream starts with this receive window on both sides (yamux spec).
inline constexpr std::uint32_t kInitialStreamWindow = 256 * 1024;

// Receive windows grow up to this when the application reads faster than
// the window refills. go-yamux and @chainsafe/libp2p-yamux use 16 MiB.
inline constexpr std::uint32_t kDefaultMaxStreamWindow = 16 * 1024 * 1024;

// Sum of the receive windows of all streams of one session beyond which no
// window grows; each stream still gets its initial window.
inline constexpr std::uint64_t kDefaultMaxSessionReceiveWindow = 128ull * 1024 * 1024;

// Concurrent streams the peer may open; one more is reset, the session stays.
inline constexpr std::size_t kDefaultMaxInboundStreams = 256;

// Concurrent streams the application may open.
inline constexpr std::size_t kDefaultMaxOutboundStreams = 256;

// Inbound streams the application has not accepted yet; more are reset. A
// peer may open a burst of streams within one read, before the application
// had a chance to accept any, so this matches the spec's ACK backlog of 256.
inline constexpr std::size_t kDefaultMaxPendingInboundStreams = 256;

// Streams we opened that the peer has not acknowledged yet; the spec asks
// for at most 256.
inline constexpr std::size_t kDefaultMaxAckBacklog = 256;

// Longest data frame we accept. A frame can never be longer than the largest
// window we grant, so anything above it is refused before reading it.
inline constexpr std::uint32_t kDefaultMaxFrameLength = kDefaultMaxStreamWindow;

// Largest payload we put in one data frame, so one stream cannot hold the
// connection for long (the same size @chainsafe/libp2p-yamux sends).
inline constexpr std::uint32_t kDefaultMaxSendFramePayload = 64 * 1024;

// Bytes one stream may queue beyond what its send window lets out.
inline constexpr std::size_t kDefaultMaxStreamSendBuffer = 1024 * 1024;

// Output gathered before take_output() is expected; queued stream data is
// moved into the output only up to this size per take_output() call.
inline constexpr std::size_t kDefaultOutputBatch = 256 * 1024;

// Events waiting for the application; feed() pauses at this many.
inline constexpr std::size_t kDefaultMaxQueuedEvents = 1024;

// Control frames (pongs, resets, window updates) waiting in the output
// beyond one batch; feed() pauses when they pile up unsent.
inline constexpr std::size_t kDefaultMaxPendingControlBytes = 64 * 1024;

// Pings the peer may send per interval; more fail the session.
inline constexpr std::uint32_t kDefaultMaxInboundPingsPerInterval = 32;
inline constexpr std::chrono::milliseconds kDefaultPingInterval{1000};

// Overrides for one session; the defaults above fit a daemon talking to
// js-libp2p and go-libp2p peers.
struct Limits {
  std::uint32_t initial_stream_window = kInitialStreamWindow;
  std::uint32_t max_stream_window = kDefaultMaxStreamWindow;
  std::uint64_t max_session_receive_window = kDefaultMaxSessionReceiveWindow;
  std::size_t max_inbound_streams = kDefaultMaxInboundStreams;
  std::size_t max_outbound_streams = kDefaultMaxOutboundStreams;
  std::size_t max_pending_inbound_streams = kDefaultMaxPendingInboundStreams;
  std::size_t max_ack_backlog = kDefaultMaxAckBacklog;
  std::uint32_t max_frame_length = kDefaultMaxFrameLength;
  std::uint32_t max_send_frame_payload = kDefaultMaxSendFramePayload;
  std::size_t max_stream_send_buffer = kDefaultMaxStreamSendBuffer;
  std::size_t output_batch = kDefaultOutputBatch;
  std::size_t max_queued_events = kDefaultMaxQueuedEvents;
  std::size_t max_pending_control_bytes = kDefaultMaxPendingControlBytes;
  std::uint32_t max_inbound_pings_per_interval = kDefaultMaxInboundPingsPerInterval;
  std::chrono::milliseconds ping_interval = kDefaultPingInterval;
};

}  // namespace soma::p2p::yamux
