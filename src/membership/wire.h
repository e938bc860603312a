#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

// The messages of /soma/join/1 and /soma/join-decision/1 (schema:
// proto/soma/wire/v1/join.proto), as plain values, and their codecs. Each
// message travels prefixed by its unsigned-varint length and is at most
// kMaxMessageSize bytes, which the reader checks before it allocates.
//
// Decoding is strict about sizes: a field longer than its bound, or more
// addresses than kMaxListenAddrs, is kInvalidArgument naming the field.
// Pure functions; thread-safe.
namespace soma::membership::wire {

inline constexpr std::string_view kJoinProtocol = "/soma/join/1";
inline constexpr std::string_view kDecisionProtocol = "/soma/join-decision/1";
// Signed artifacts pushed to the peers that must know them (schema:
// proto/soma/wire/v1/capability.proto); same size bound as the join
// protocols.
inline constexpr std::string_view kCapabilityProtocol = "/soma/capability/1";

// The largest message of either protocol: an artifact of at most
// cap::kMaxArtifactSize plus the other fields' bounds, with room to spare.
inline constexpr std::size_t kMaxMessageSize = 16 * 1024;
// Addresses a requester may announce, and the longest one.
inline constexpr std::size_t kMaxListenAddrs = 16;
inline constexpr std::size_t kMaxAddrBytes = 256;
// Longest space name and refusal message carried.
inline constexpr std::size_t kMaxNameBytes = 255;
inline constexpr std::size_t kMaxTextBytes = 1024;

// requester -> decider on /soma/join/1.
struct JoinRequestMessage {
  core::Bytes request;                    // the signed JoinRequest
  std::vector<std::string> listen_addrs;  // where the decision can reach the requester
};

// decider -> requester on /soma/join/1.
struct JoinAnswer {
  enum class Status { kPending, kDecided, kRefused };
  Status status = Status::kRefused;
  std::string owner;       // pending, decided: the space's owner
  core::Bytes decision;    // decided: the signed JoinDecision
  std::string space_name;  // decided and approved
  core::Error refusal;     // refused: why, as the decider said it
};

// decider -> requester on /soma/join-decision/1.
struct DecisionMessage {
  core::Bytes decision;  // the signed JoinDecision
  std::string space_name;
};

// requester -> decider on /soma/join-decision/1.
struct DecisionAck {
  bool accepted = false;
  core::Error refusal;  // when not accepted
};

// sender -> receiver on /soma/capability/1.
struct PushMessage {
  enum class Kind : int {
    kDelegation = 1,  // owner -> delegate: a signed IssuerCapability
    kRevocation = 2,  // -> a peer of the space: a signed Revocation
    kIssued = 3,      // delegate -> owner: a MembershipCapability it issued
  };
  Kind kind = Kind::kDelegation;
  core::Bytes artifact;
  std::string space_name;  // delegations: the space's name
};

// receiver -> sender on /soma/capability/1.
struct PushAck {
  bool accepted = false;
  core::Error refusal;  // when not accepted
};

core::Bytes encode(const PushMessage& message);
core::Bytes encode(const PushAck& ack);
core::Result<PushMessage> decode_push(core::ByteView bytes);
core::Result<PushAck> decode_push_ack(core::ByteView bytes);

core::Bytes encode(const JoinRequestMessage& message);
core::Bytes encode(const JoinAnswer& answer);
core::Bytes encode(const DecisionMessage& message);
core::Bytes encode(const DecisionAck& ack);

core::Result<JoinRequestMessage> decode_join_request(core::ByteView bytes);
core::Result<JoinAnswer> decode_join_answer(core::ByteView bytes);
core::Result<DecisionMessage> decode_decision(core::ByteView bytes);
core::Result<DecisionAck> decode_decision_ack(core::ByteView bytes);

// A refusal as it crosses the wire: the code is reduced to the closed set
// of the protocol's Refusal enum, the message is cut to kMaxTextBytes.
// A peer's "internal" failure arrives as kUnavailable: it is the peer's
// fault, not ours.
core::Error refusal_from_wire(int refusal, std::string message);
int refusal_to_wire(core::ErrorCode code);

}  // namespace soma::membership::wire
