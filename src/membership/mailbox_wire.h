#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"
#include "membership/wire.h"

// The messages of /soma/mailbox/1 (schema: proto/soma/wire/v1/mailbox.proto)
// as plain values, and their codecs. Decoding checks the message size
// before parsing and every field against its bound after, and rejects
// unknown kinds, empty payloads and ids that are not PeerIds, each with
// kInvalidArgument naming what was wrong. Pure functions; thread-safe.
namespace soma::membership::mailbox {

inline constexpr std::string_view kProtocol = "/soma/mailbox/1";

// The largest payload one item carries: one join protocol message.
inline constexpr std::size_t kMaxPayloadSize = wire::kMaxMessageSize;
// Items one fetch returns at most, and ids one acknowledgement names.
inline constexpr std::size_t kMaxFetchBatch = 8;
inline constexpr std::size_t kMaxAckIds = 64;
// The longest PeerId (multihash bytes) accepted.
inline constexpr std::size_t kMaxPeerIdBytes = 128;
// Message bounds, checked before a message is read into memory.
inline constexpr std::size_t kMaxRequestSize = kMaxPayloadSize + 1024;
inline constexpr std::size_t kMaxReplySize = kMaxFetchBatch * (kMaxPayloadSize + 512) + 2048;

enum class Kind : std::uint8_t { kJoinRequest = 1, kJoinDecision = 2 };
std::string_view to_string(Kind kind);

struct Deposit {
  crypto::PeerId recipient;
  Kind kind = Kind::kJoinDecision;
  core::Bytes payload;
  std::int64_t ttl_ms = 0;  // 0 or less: the mailbox's default
};
struct Fetch {
  std::uint32_t max_items = 0;  // 0: kMaxFetchBatch
};
struct Ack {
  std::vector<std::int64_t> ids;
};
using Request = std::variant<Deposit, Fetch, Ack>;

struct Item {
  std::int64_t id = 0;
  crypto::PeerId depositor;
  Kind kind = Kind::kJoinDecision;
  core::Bytes payload;
  std::int64_t deposited_ms = 0;
  std::int64_t expires_ms = 0;
};

struct Reply {
  bool ok = false;
  core::Error refusal;  // when not ok
  std::int64_t deposited_id = 0;
  std::vector<Item> items;
  std::uint32_t removed = 0;
};

core::Bytes encode(const Request& request);
core::Bytes encode(const Reply& reply);
core::Result<Request> decode_request(core::ByteView bytes);
core::Result<Reply> decode_reply(core::ByteView bytes);

}  // namespace soma::membership::mailbox
