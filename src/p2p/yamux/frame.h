#pragma once

// The yamux frame header: 12 bytes in network order, then `length` bytes of
// payload for data frames only.
//
//   version:8  type:8  flags:16  stream_id:32  length:32
//
// Pure functions, no state; safe to call from any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::p2p::yamux {

using StreamId = std::uint32_t;

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::uint8_t kVersion = 0;

// The stream id that addresses the session itself (pings, go-away).
inline constexpr StreamId kSessionStreamId = 0;

enum class FrameType : std::uint8_t {
  kData = 0,          // payload of `length` bytes follows
  kWindowUpdate = 1,  // `length` is a window increment
  kPing = 2,          // `length` is an opaque value echoed back
  kGoAway = 3,        // `length` is a GoAwayCode
};

// Flag bits; several may be combined on data and window-update frames.
namespace flag {
inline constexpr std::uint16_t kSyn = 0x1;  // opens a stream, or asks for a pong
inline constexpr std::uint16_t kAck = 0x2;  // accepts a stream, or is a pong
inline constexpr std::uint16_t kFin = 0x4;  // sender half-closes the stream
inline constexpr std::uint16_t kRst = 0x8;  // sender resets the stream
inline constexpr std::uint16_t kAll = kSyn | kAck | kFin | kRst;
}  // namespace flag

// Codes a go-away frame carries in its length field.
enum class GoAwayCode : std::uint32_t {
  kNormal = 0,
  kProtocolError = 1,
  kInternalError = 2,
};

struct FrameHeader {
  FrameType type = FrameType::kData;
  std::uint16_t flags = 0;
  StreamId stream_id = 0;
  std::uint32_t length = 0;

  bool has(std::uint16_t f) const { return (flags & f) == f; }
  bool operator==(const FrameHeader&) const = default;

  static FrameHeader data(StreamId id, std::uint16_t flags, std::uint32_t length) {
    return {FrameType::kData, flags, id, length};
  }
  static FrameHeader window_update(StreamId id, std::uint16_t flags, std::uint32_t delta) {
    return {FrameType::kWindowUpdate, flags, id, delta};
  }
  static FrameHeader ping(std::uint16_t flags, std::uint32_t opaque) {
    return {FrameType::kPing, flags, kSessionStreamId, opaque};
  }
  static FrameHeader go_away(GoAwayCode code) {
    return {FrameType::kGoAway, 0, kSessionStreamId, static_cast<std::uint32_t>(code)};
  }
};

using HeaderBytes = std::array<std::uint8_t, kHeaderSize>;

// Writes the 12 header bytes. Does not validate: callers build headers with
// the factories above.
HeaderBytes encode_header(const FrameHeader& header);

// Appends the header and, for data frames, `payload` (whose size must equal
// header.length) to `out`.
void append_frame(core::Bytes& out, const FrameHeader& header, core::ByteView payload = {});

// Reads the first 12 bytes of `bytes` and checks what can be checked without
// session state: version 0, a known type, only known flags, stream id 0
// exactly for ping and go-away, ping flags exactly SYN or ACK, no flags on
// go-away, never SYN together with ACK. Errors are kInvalidArgument with a
// message naming the offending field; fewer than 12 bytes is an error too.
core::Result<FrameHeader> decode_header(core::ByteView bytes);

// "data", "window-update", ... for messages.
std::string_view to_string(FrameType type);

// Human-readable description such as "data(stream=3, flags=SYN|FIN, length=5)".
std::string describe(const FrameHeader& header);

}  // namespace soma::p2p::yamux
