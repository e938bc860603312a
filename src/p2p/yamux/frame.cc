#include "p2p/yamux/frame.h"

#include <fmt/format.h>

namespace soma::p2p::yamux {
namespace {

void put_u16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put_u32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::uint16_t get_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((std::uint16_t{p[0]} << 8) | p[1]);
}

std::uint32_t get_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

std::string flag_names(std::uint16_t flags) {
  if (flags == 0) return "none";
  std::string out;
  auto add = [&](std::uint16_t bit, const char* name) {
    if ((flags & bit) == 0) return;
    if (!out.empty()) out += '|';
    out += name;
  };
  add(flag::kSyn, "SYN");
  add(flag::kAck, "ACK");
  add(flag::kFin, "FIN");
  add(flag::kRst, "RST");
  if ((flags & ~flag::kAll) != 0) {
    if (!out.empty()) out += '|';
    out += fmt::format("0x{:x}", flags & ~flag::kAll);
  }
  return out;
}

}  // namespace

HeaderBytes encode_header(const FrameHeader& header) {
  HeaderBytes out{};
  out[0] = kVersion;
  out[1] = static_cast<std::uint8_t>(header.type);
  put_u16(&out[2], header.flags);
  put_u32(&out[4], header.stream_id);
  put_u32(&out[8], header.length);
  return out;
}

void append_frame(core::Bytes& out, const FrameHeader& header, core::ByteView payload) {
  HeaderBytes h = encode_header(header);
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), payload.begin(), payload.end());
}

core::Result<FrameHeader> decode_header(core::ByteView bytes) {
  if (bytes.size() < kHeaderSize) {
    return core::Error::invalid(
        fmt::format("yamux frame header truncated: {} of {} bytes", bytes.size(), kHeaderSize));
  }
  const std::uint8_t* p = bytes.data();

  // Version and type decide how the rest is read.
  if (p[0] != kVersion) {
    return core::Error::invalid(
        fmt::format("yamux frame version {} is not supported (only version 0 exists)", p[0]));
  }
  if (p[1] > static_cast<std::uint8_t>(FrameType::kGoAway)) {
    return core::Error::invalid(fmt::format("yamux frame type {} is unknown", p[1]));
  }
  FrameHeader h{static_cast<FrameType>(p[1]), get_u16(p + 2), get_u32(p + 4), get_u32(p + 8)};

  // Flags the spec does not define are refused rather than ignored.
  if ((h.flags & ~flag::kAll) != 0) {
    return core::Error::invalid(fmt::format("yamux {} frame carries unknown flags 0x{:x}",
                                            to_string(h.type), h.flags & ~flag::kAll));
  }

  switch (h.type) {
    case FrameType::kData:
    case FrameType::kWindowUpdate:
      if (h.stream_id == kSessionStreamId) {
        return core::Error::invalid(
            fmt::format("yamux {} frame addresses stream 0, which is reserved for the session",
                        to_string(h.type)));
      }
      if (h.has(flag::kSyn) && h.has(flag::kAck)) {
        return core::Error::invalid(fmt::format("yamux {} frame on stream {} sets both SYN and ACK",
                                                to_string(h.type), h.stream_id));
      }
      break;
    case FrameType::kPing:
      if (h.stream_id != kSessionStreamId) {
        return core::Error::invalid(
            fmt::format("yamux ping frame addresses stream {}; pings use stream 0", h.stream_id));
      }
      if (h.flags != flag::kSyn && h.flags != flag::kAck) {
        return core::Error::invalid(
            fmt::format("yamux ping frame has flags {}; a ping carries exactly SYN or ACK",
                        flag_names(h.flags)));
      }
      break;
    case FrameType::kGoAway:
      if (h.stream_id != kSessionStreamId) {
        return core::Error::invalid(fmt::format(
            "yamux go-away frame addresses stream {}; go-away uses stream 0", h.stream_id));
      }
      if (h.flags != 0) {
        return core::Error::invalid(fmt::format(
            "yamux go-away frame has flags {}; go-away carries none", flag_names(h.flags)));
      }
      break;
  }
  return h;
}

std::string_view to_string(FrameType type) {
  switch (type) {
    case FrameType::kData:
      return "data";
    case FrameType::kWindowUpdate:
      return "window-update";
    case FrameType::kPing:
      return "ping";
    case FrameType::kGoAway:
      return "go-away";
  }
  return "unknown";
}

std::string describe(const FrameHeader& header) {
  return fmt::format("{}(stream={}, flags={}, length={})", to_string(header.type), header.stream_id,
                     flag_names(header.flags), header.length);
}

}  // namespace soma::p2p::yamux
