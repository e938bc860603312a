#include "membership/wire.h"

#include <fmt/format.h>

#include "cap/envelope.h"
#include "soma/wire/v1/capability.pb.h"
#include "soma/wire/v1/join.pb.h"

namespace soma::membership::wire {
namespace {

namespace pb = soma::wire::v1;

template <typename Message>
core::Bytes serialize(const Message& message) {
  core::Bytes out(message.ByteSizeLong());
  if (!out.empty()) message.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

template <typename Message>
core::Status parse(core::ByteView bytes, Message& message, std::string_view what) {
  if (bytes.size() > kMaxMessageSize) {
    return core::Error::invalid(fmt::format("a {} of {} bytes is larger than the {} bytes allowed",
                                            what, bytes.size(), kMaxMessageSize));
  }
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return core::Error::invalid(fmt::format("the {} is not a valid protobuf message", what));
  }
  return {};
}

core::Status check_size(std::size_t size, std::size_t max, std::string_view what) {
  if (size > max) {
    return core::Error::invalid(
        fmt::format("its {} is {} bytes, more than the {} allowed", what, size, max));
  }
  return {};
}

core::Bytes to_bytes(const std::string& s) { return core::Bytes(s.begin(), s.end()); }
std::string to_string(const core::Bytes& b) { return std::string(b.begin(), b.end()); }

std::string cut(std::string text) {
  if (text.size() > kMaxTextBytes) {
    // Cut on a UTF-8 boundary so the text stays valid.
    std::size_t n = kMaxTextBytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
    text.resize(n);
  }
  return text;
}

}  // namespace

int refusal_to_wire(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::kInvalidArgument: return pb::REFUSAL_INVALID;
    case core::ErrorCode::kNotFound: return pb::REFUSAL_NOT_FOUND;
    case core::ErrorCode::kPermissionDenied: return pb::REFUSAL_DENIED;
    case core::ErrorCode::kResourceExhausted: return pb::REFUSAL_RATE_LIMITED;
    case core::ErrorCode::kUnavailable:
    case core::ErrorCode::kCancelled: return pb::REFUSAL_BUSY;
    case core::ErrorCode::kAlreadyExists:
    case core::ErrorCode::kFailedPrecondition: return pb::REFUSAL_CONFLICT;
    case core::ErrorCode::kDataLoss:
    case core::ErrorCode::kInternal: return pb::REFUSAL_INTERNAL;
  }
  return pb::REFUSAL_INTERNAL;
}

core::Error refusal_from_wire(int refusal, std::string message) {
  message = cut(std::move(message));
  switch (refusal) {
    case pb::REFUSAL_INVALID: return core::Error::invalid(std::move(message));
    case pb::REFUSAL_NOT_FOUND: return core::Error::not_found(std::move(message));
    case pb::REFUSAL_DENIED: return core::Error::denied(std::move(message));
    case pb::REFUSAL_RATE_LIMITED: return core::Error::exhausted(std::move(message));
    case pb::REFUSAL_CONFLICT: return core::Error::precondition(std::move(message));
    default: return core::Error::unavailable(std::move(message));
  }
}

core::Bytes encode(const JoinRequestMessage& message) {
  pb::JoinRequestMessage m;
  m.set_request(to_string(message.request));
  for (const auto& addr : message.listen_addrs) m.add_listen_addrs(addr);
  return serialize(m);
}

core::Bytes encode(const JoinAnswer& answer) {
  pb::JoinAnswer m;
  switch (answer.status) {
    case JoinAnswer::Status::kPending: m.set_status(pb::JoinAnswer::STATUS_PENDING); break;
    case JoinAnswer::Status::kDecided: m.set_status(pb::JoinAnswer::STATUS_DECIDED); break;
    case JoinAnswer::Status::kRefused: m.set_status(pb::JoinAnswer::STATUS_REFUSED); break;
  }
  m.set_owner(answer.owner);
  m.set_decision(to_string(answer.decision));
  m.set_space_name(answer.space_name);
  if (answer.status == JoinAnswer::Status::kRefused) {
    m.set_refusal(static_cast<pb::Refusal>(refusal_to_wire(answer.refusal.code)));
    m.set_message(cut(answer.refusal.message));
  }
  return serialize(m);
}

core::Bytes encode(const DecisionMessage& message) {
  pb::JoinDecisionMessage m;
  m.set_decision(to_string(message.decision));
  m.set_space_name(message.space_name);
  return serialize(m);
}

core::Bytes encode(const DecisionAck& ack) {
  pb::DecisionAck m;
  m.set_status(ack.accepted ? pb::DecisionAck::STATUS_ACCEPTED : pb::DecisionAck::STATUS_REFUSED);
  if (!ack.accepted) {
    m.set_refusal(static_cast<pb::Refusal>(refusal_to_wire(ack.refusal.code)));
    m.set_message(cut(ack.refusal.message));
  }
  return serialize(m);
}

core::Result<JoinRequestMessage> decode_join_request(core::ByteView bytes) {
  pb::JoinRequestMessage m;
  SOMA_TRY(parse(bytes, m, "join request message"));
  SOMA_TRY(check_size(m.request().size(), cap::kMaxArtifactSize, "join request"));
  if (m.request().empty()) return core::Error::invalid("the join request message carries no request");
  if (static_cast<std::size_t>(m.listen_addrs_size()) > kMaxListenAddrs) {
    return core::Error::invalid(fmt::format("the join request announces {} addresses; at most {}",
                                            m.listen_addrs_size(), kMaxListenAddrs));
  }
  JoinRequestMessage out;
  out.request = to_bytes(m.request());
  for (const auto& addr : m.listen_addrs()) {
    SOMA_TRY(check_size(addr.size(), kMaxAddrBytes, "listen address"));
    out.listen_addrs.push_back(addr);
  }
  return out;
}

core::Result<JoinAnswer> decode_join_answer(core::ByteView bytes) {
  pb::JoinAnswer m;
  SOMA_TRY(parse(bytes, m, "join answer"));
  SOMA_TRY(check_size(m.decision().size(), cap::kMaxArtifactSize, "decision"));
  SOMA_TRY(check_size(m.space_name().size(), kMaxNameBytes, "space name"));
  SOMA_TRY(check_size(m.owner().size(), kMaxAddrBytes, "owner"));
  JoinAnswer out;
  switch (m.status()) {
    case pb::JoinAnswer::STATUS_PENDING: out.status = JoinAnswer::Status::kPending; break;
    case pb::JoinAnswer::STATUS_DECIDED:
      out.status = JoinAnswer::Status::kDecided;
      if (m.decision().empty()) {
        return core::Error::invalid("the join answer says decided but carries no decision");
      }
      break;
    case pb::JoinAnswer::STATUS_REFUSED:
      out.status = JoinAnswer::Status::kRefused;
      out.refusal = refusal_from_wire(m.refusal(), m.message());
      break;
    default:
      return core::Error::invalid(
          fmt::format("the join answer has unknown status {}", static_cast<int>(m.status())));
  }
  out.owner = m.owner();
  out.decision = to_bytes(m.decision());
  out.space_name = m.space_name();
  return out;
}

core::Result<DecisionMessage> decode_decision(core::ByteView bytes) {
  pb::JoinDecisionMessage m;
  SOMA_TRY(parse(bytes, m, "join decision message"));
  SOMA_TRY(check_size(m.decision().size(), cap::kMaxArtifactSize, "decision"));
  SOMA_TRY(check_size(m.space_name().size(), kMaxNameBytes, "space name"));
  if (m.decision().empty()) return core::Error::invalid("the decision message carries no decision");
  return DecisionMessage{to_bytes(m.decision()), m.space_name()};
}

core::Result<DecisionAck> decode_decision_ack(core::ByteView bytes) {
  pb::DecisionAck m;
  SOMA_TRY(parse(bytes, m, "decision acknowledgement"));
  DecisionAck out;
  switch (m.status()) {
    case pb::DecisionAck::STATUS_ACCEPTED: out.accepted = true; break;
    case pb::DecisionAck::STATUS_REFUSED:
      out.refusal = refusal_from_wire(m.refusal(), m.message());
      break;
    default:
      return core::Error::invalid(fmt::format("the decision acknowledgement has unknown status {}",
                                              static_cast<int>(m.status())));
  }
  return out;
}

core::Bytes encode(const PushMessage& message) {
  pb::CapabilityPush m;
  m.set_kind(static_cast<pb::CapabilityPush::Kind>(static_cast<int>(message.kind)));
  m.set_artifact(to_string(message.artifact));
  m.set_space_name(message.space_name);
  return serialize(m);
}

core::Bytes encode(const PushAck& ack) {
  pb::PushAck m;
  m.set_status(ack.accepted ? pb::PushAck::STATUS_ACCEPTED : pb::PushAck::STATUS_REFUSED);
  if (!ack.accepted) {
    m.set_refusal(static_cast<pb::Refusal>(refusal_to_wire(ack.refusal.code)));
    m.set_message(cut(ack.refusal.message));
  }
  return serialize(m);
}

core::Result<PushMessage> decode_push(core::ByteView bytes) {
  pb::CapabilityPush m;
  SOMA_TRY(parse(bytes, m, "capability push"));
  SOMA_TRY(check_size(m.artifact().size(), cap::kMaxArtifactSize, "artifact"));
  SOMA_TRY(check_size(m.space_name().size(), kMaxNameBytes, "space name"));
  if (m.artifact().empty()) return core::Error::invalid("the capability push carries no artifact");
  PushMessage out;
  switch (m.kind()) {
    case pb::CapabilityPush::KIND_DELEGATION:
      out.kind = PushMessage::Kind::kDelegation;
      break;
    case pb::CapabilityPush::KIND_REVOCATION:
      out.kind = PushMessage::Kind::kRevocation;
      break;
    case pb::CapabilityPush::KIND_ISSUED:
      out.kind = PushMessage::Kind::kIssued;
      break;
    default:
      return core::Error::invalid(fmt::format(
          "the capability push has unknown kind {}; expected a delegation, revocation or issued "
          "membership",
          static_cast<int>(m.kind())));
  }
  out.artifact = to_bytes(m.artifact());
  out.space_name = m.space_name();
  return out;
}

core::Result<PushAck> decode_push_ack(core::ByteView bytes) {
  pb::PushAck m;
  SOMA_TRY(parse(bytes, m, "capability push acknowledgement"));
  PushAck out;
  switch (m.status()) {
    case pb::PushAck::STATUS_ACCEPTED:
      out.accepted = true;
      break;
    case pb::PushAck::STATUS_REFUSED:
      out.refusal = refusal_from_wire(m.refusal(), m.message());
      break;
    default:
      return core::Error::invalid(
          fmt::format("the capability push acknowledgement has unknown status {}",
                      static_cast<int>(m.status())));
  }
  return out;
}

}  // namespace soma::membership::wire
