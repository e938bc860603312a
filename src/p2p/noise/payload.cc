#include "p2p/noise/payload.h"

#include <cstdint>
#include <string>

#include "core/varint.h"

namespace soma::p2p::noise {
namespace {

using core::Bytes;
using core::ByteView;
using core::Error;
using core::Result;

constexpr std::uint32_t kFieldIdentityKey = 1;
constexpr std::uint32_t kFieldIdentitySig = 2;
constexpr std::uint32_t kFieldExtensions = 4;

enum WireType : std::uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// Protobuf varints may take 10 bytes (a negative int64); core::varint
// follows the shorter multiformats rule, so unknown fields are read here.
constexpr std::size_t kMaxProtobufVarint = 10;

Error malformed(const std::string& what) {
  return Error::invalid("noise: remote handshake payload is malformed: " + what);
}

// Reads a protobuf varint from the front of `in`, advancing it.
Result<std::uint64_t> read_varint(ByteView& in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < in.size() && i < kMaxProtobufVarint; ++i) {
    const std::uint8_t b = in[i];
    if (i == kMaxProtobufVarint - 1 && b > 1) return malformed("varint overflows 64 bits");
    value |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      in = in.subspan(i + 1);
      return value;
    }
  }
  return malformed(in.size() < kMaxProtobufVarint ? "truncated varint" : "varint too long");
}

Result<ByteView> read_bytes(ByteView& in, std::uint64_t n, const std::string& what) {
  if (n > in.size()) {
    return malformed(std::string(what) + " declares " + std::to_string(n) + " bytes but only " +
                     std::to_string(in.size()) + " remain");
  }
  ByteView out = in.first(static_cast<std::size_t>(n));
  in = in.subspan(static_cast<std::size_t>(n));
  return out;
}

void append_field(Bytes& out, std::uint32_t field, ByteView value) {
  core::varint::append(out, (field << 3) | kLengthDelimited);
  core::varint::append(out, value.size());
  core::append(out, value);
}

}  // namespace

Bytes encode_payload(const HandshakePayload& payload) {
  Bytes out;
  out.reserve(payload.identity_key.size() + payload.identity_sig.size() + 8);
  append_field(out, kFieldIdentityKey, payload.identity_key);
  append_field(out, kFieldIdentitySig, payload.identity_sig);
  if (payload.extensions) append_field(out, kFieldExtensions, *payload.extensions);
  return out;
}

Result<HandshakePayload> decode_payload(ByteView in) {
  HandshakePayload payload;
  bool have_key = false;
  bool have_sig = false;
  while (!in.empty()) {
    auto tag = read_varint(in);
    if (!tag) return tag.take_error();
    const std::uint64_t field = *tag >> 3;
    const auto wire = static_cast<std::uint32_t>(*tag & 7);
    if (field == 0 || field > 0x1fffffff) return malformed("invalid field number");

    const bool known =
        field == kFieldIdentityKey || field == kFieldIdentitySig || field == kFieldExtensions;
    if (known && wire != kLengthDelimited) {
      return malformed("field " + std::to_string(field) + " is not length-delimited");
    }
    switch (wire) {
      case kVarint: {
        auto skipped = read_varint(in);
        if (!skipped) return skipped.take_error();
        break;
      }
      case kFixed64:
      case kFixed32: {
        auto skipped = read_bytes(in, wire == kFixed64 ? 8 : 4, "a fixed-width field");
        if (!skipped) return skipped.take_error();
        break;
      }
      case kLengthDelimited: {
        auto len = read_varint(in);
        if (!len) return len.take_error();
        auto value = read_bytes(in, *len, "field " + std::to_string(field));
        if (!value) return value.take_error();
        if (field == kFieldIdentityKey) {
          if (have_key) return malformed("identity_key appears twice");
          have_key = true;
          payload.identity_key.assign(value->begin(), value->end());
        } else if (field == kFieldIdentitySig) {
          if (have_sig) return malformed("identity_sig appears twice");
          have_sig = true;
          payload.identity_sig.assign(value->begin(), value->end());
        } else if (field == kFieldExtensions) {
          if (payload.extensions) return malformed("extensions appear twice");
          payload.extensions.emplace(value->begin(), value->end());
        }
        break;
      }
      case kStartGroup:
      case kEndGroup:
        return malformed("groups are not allowed");
      default:
        return malformed("unknown wire type " + std::to_string(wire));
    }
  }
  if (!have_key) return malformed("identity_key is missing");
  if (!have_sig) return malformed("identity_sig is missing");
  return payload;
}

}  // namespace soma::p2p::noise
