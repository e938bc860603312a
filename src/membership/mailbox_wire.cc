#include "membership/mailbox_wire.h"

#include <fmt/format.h>

#include <string>

#include "soma/wire/v1/mailbox.pb.h"

namespace soma::membership::mailbox {
namespace {

namespace pb = soma::wire::v1;
using core::Error;

template <typename Message>
core::Bytes serialize(const Message& message) {
  core::Bytes out(message.ByteSizeLong());
  if (!out.empty()) message.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

template <typename Message>
core::Status parse(core::ByteView bytes, std::size_t max, Message& message, std::string_view what) {
  if (bytes.size() > max) {
    return Error::invalid(fmt::format("a mailbox {} of {} bytes is larger than the {} allowed",
                                      what, bytes.size(), max));
  }
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Error::invalid(fmt::format("the mailbox {} is not a valid protobuf message", what));
  }
  return {};
}

std::string to_wire(const core::Bytes& b) { return std::string(b.begin(), b.end()); }
core::Bytes from_wire(const std::string& s) { return core::Bytes(s.begin(), s.end()); }

core::Result<crypto::PeerId> peer_from_wire(const std::string& bytes, std::string_view what) {
  if (bytes.empty() || bytes.size() > kMaxPeerIdBytes) {
    return Error::invalid(fmt::format("the {} is {} bytes; a PeerId is 1 to {}", what, bytes.size(),
                                      kMaxPeerIdBytes));
  }
  auto peer = crypto::PeerId::from_bytes(from_wire(bytes));
  if (!peer) {
    return Error::invalid(fmt::format("the {} is not a PeerId: {}", what, peer.error().message));
  }
  return peer;
}

core::Result<Kind> kind_from_wire(int kind) {
  switch (kind) {
    case pb::MAILBOX_KIND_JOIN_REQUEST:
      return Kind::kJoinRequest;
    case pb::MAILBOX_KIND_JOIN_DECISION:
      return Kind::kJoinDecision;
    default:
      return Error::invalid(fmt::format("mailbox item kind {} is unknown", kind));
  }
}

pb::MailboxKind kind_to_wire(Kind kind) {
  return kind == Kind::kJoinRequest ? pb::MAILBOX_KIND_JOIN_REQUEST
                                    : pb::MAILBOX_KIND_JOIN_DECISION;
}

core::Status check_payload(const std::string& payload) {
  if (payload.empty()) return Error::invalid("the mailbox item carries no payload");
  if (payload.size() > kMaxPayloadSize) {
    return Error::invalid(
        fmt::format("the mailbox item's payload is {} bytes, more than the {} "
                    "allowed",
                    payload.size(), kMaxPayloadSize));
  }
  return {};
}

}  // namespace

std::string_view to_string(Kind kind) {
  return kind == Kind::kJoinRequest ? "join-request" : "join-decision";
}

core::Bytes encode(const Request& request) {
  pb::MailboxRequest m;
  if (const auto* d = std::get_if<Deposit>(&request)) {
    auto* out = m.mutable_deposit();
    out->set_recipient(to_wire(d->recipient.bytes()));
    out->set_kind(kind_to_wire(d->kind));
    out->set_payload(to_wire(d->payload));
    out->set_ttl_ms(d->ttl_ms);
  } else if (const auto* f = std::get_if<Fetch>(&request)) {
    m.mutable_fetch()->set_max_items(f->max_items);
  } else {
    auto* out = m.mutable_ack();
    for (std::int64_t id : std::get<Ack>(request).ids) out->add_ids(id);
  }
  return serialize(m);
}

core::Bytes encode(const Reply& reply) {
  pb::MailboxReply m;
  m.set_ok(reply.ok);
  if (!reply.ok) {
    m.set_refusal(static_cast<pb::Refusal>(wire::refusal_to_wire(reply.refusal.code)));
    m.set_message(wire::refusal_from_wire(0, reply.refusal.message).message);
  }
  m.set_deposited_id(reply.deposited_id);
  for (const Item& item : reply.items) {
    auto* out = m.add_items();
    out->set_id(item.id);
    out->set_depositor(to_wire(item.depositor.bytes()));
    out->set_kind(kind_to_wire(item.kind));
    out->set_payload(to_wire(item.payload));
    out->set_deposited_ms(item.deposited_ms);
    out->set_expires_ms(item.expires_ms);
  }
  m.set_removed(reply.removed);
  return serialize(m);
}

core::Result<Request> decode_request(core::ByteView bytes) {
  pb::MailboxRequest m;
  SOMA_TRY(parse(bytes, kMaxRequestSize, m, "request"));
  switch (m.op_case()) {
    case pb::MailboxRequest::kDeposit: {
      const auto& d = m.deposit();
      auto recipient = peer_from_wire(d.recipient(), "recipient");
      if (!recipient) return recipient.take_error();
      auto kind = kind_from_wire(d.kind());
      if (!kind) return kind.take_error();
      SOMA_TRY(check_payload(d.payload()));
      return Request(Deposit{std::move(*recipient), *kind, from_wire(d.payload()), d.ttl_ms()});
    }
    case pb::MailboxRequest::kFetch:
      return Request(Fetch{m.fetch().max_items()});
    case pb::MailboxRequest::kAck: {
      if (static_cast<std::size_t>(m.ack().ids_size()) > kMaxAckIds) {
        return Error::invalid(fmt::format("the acknowledgement names {} items; at most {}",
                                          m.ack().ids_size(), kMaxAckIds));
      }
      Ack ack;
      ack.ids.assign(m.ack().ids().begin(), m.ack().ids().end());
      return Request(std::move(ack));
    }
    default:
      return Error::invalid("the mailbox request is neither a deposit, a fetch nor an ack");
  }
}

core::Result<Reply> decode_reply(core::ByteView bytes) {
  pb::MailboxReply m;
  SOMA_TRY(parse(bytes, kMaxReplySize, m, "reply"));
  Reply out;
  out.ok = m.ok();
  if (!out.ok) out.refusal = wire::refusal_from_wire(m.refusal(), m.message());
  out.deposited_id = m.deposited_id();
  out.removed = m.removed();
  if (static_cast<std::size_t>(m.items_size()) > kMaxFetchBatch) {
    return Error::invalid(fmt::format("the mailbox returned {} items; at most {} are allowed",
                                      m.items_size(), kMaxFetchBatch));
  }
  for (const auto& item : m.items()) {
    auto depositor = peer_from_wire(item.depositor(), "depositor");
    if (!depositor) return depositor.take_error();
    auto kind = kind_from_wire(item.kind());
    if (!kind) return kind.take_error();
    SOMA_TRY(check_payload(item.payload()));
    out.items.push_back(Item{item.id(), std::move(*depositor), *kind, from_wire(item.payload()),
                             item.deposited_ms(), item.expires_ms()});
  }
  return out;
}

}  // namespace soma::membership::mailbox
