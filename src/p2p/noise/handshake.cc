#include "p2p/noise/handshake.h"

#include <string>
#include <utility>

#include "crypto/keys.h"
#include "p2p/noise/payload.h"
#include "p2p/noise/verified_static_keys.h"

namespace soma::p2p::noise {
namespace {

using core::Bytes;
using core::ByteView;
using core::Error;
using core::Result;
using core::Status;

void append_frame(Bytes& out, ByteView message) {
  out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(message.size() & 0xff));
  core::append(out, message);
}

}  // namespace

Bytes static_key_signature_message(const crypto::X25519PublicKey& static_key) {
  Bytes message;
  message.reserve(kStaticKeySignaturePrefix.size() + static_key.size());
  core::append(message, core::as_bytes(kStaticKeySignaturePrefix));
  core::append(message, static_key);
  return message;
}

LocalKeys LocalKeys::generate(const crypto::Ed25519PrivateKey& identity) {
  auto static_key = crypto::X25519KeyPair::generate();
  auto signature = identity.sign(static_key_signature_message(static_key.public_key()));
  return LocalKeys{identity, std::move(static_key), signature};
}

Handshake::Handshake(Role role, LocalKeys keys, std::optional<crypto::PeerId> expected_remote)
    : keys_(std::move(keys)),
      expected_remote_(std::move(expected_remote)),
      state_(role, keys_.static_key, crypto::X25519KeyPair::generate(), {}) {}

Handshake Handshake::initiator(LocalKeys keys, std::optional<crypto::PeerId> expected_remote) {
  return Handshake(Role::kInitiator, std::move(keys), std::move(expected_remote));
}

Handshake Handshake::responder(LocalKeys keys) {
  return Handshake(Role::kResponder, std::move(keys), std::nullopt);
}

void Handshake::fail(Error error) {
  status_ = HandshakeStatus::kFailed;
  error_ = std::move(error);
  buffer_.clear();
  remote_peer_id_.reset();
  remote_identity_.reset();
}

HandshakeStep Handshake::start() {
  HandshakeStep step;
  if (started_ || status_ != HandshakeStatus::kInProgress) {
    fail(Error::precondition("noise: handshake started twice"));
  } else {
    started_ = true;
    // The initiator's first message carries no payload: nothing in it would
    // be encrypted yet.
    if (state_.role() == Role::kInitiator) {
      Status st = write({}, step.output);
      if (!st.ok()) fail(st.take_error());
    }
  }
  step.status = status_;
  return step;
}

HandshakeStep Handshake::feed(ByteView in) {
  HandshakeStep step;
  if (status_ == HandshakeStatus::kFailed) {
    step.status = status_;
    return step;
  }
  core::append(buffer_, in);
  if (status_ == HandshakeStatus::kInProgress) {
    if (!started_) {
      fail(Error::precondition("noise: handshake fed before start()"));
    } else {
      Status st = process(step.output);
      if (!st.ok()) {
        fail(st.take_error());
        step.output.clear();
      }
    }
  }
  step.status = status_;
  return step;
}

Status Handshake::process(Bytes& output) {
  std::size_t offset = 0;
  while (status_ == HandshakeStatus::kInProgress && buffer_.size() - offset >= kLengthPrefixSize) {
    const std::size_t length =
        (static_cast<std::size_t>(buffer_[offset]) << 8) | buffer_[offset + 1];
    if (length > kMaxHandshakeMessageSize) {
      return Error::exhausted("noise: remote handshake message of " + std::to_string(length) +
                              " bytes exceeds the " + std::to_string(kMaxHandshakeMessageSize) +
                              "-byte limit");
    }
    if (buffer_.size() - offset < kLengthPrefixSize + length) break;
    if (state_.is_my_turn()) {
      return Error::invalid("noise: remote sent a handshake message out of turn");
    }
    SOMA_TRY(on_message(ByteView(buffer_).subspan(offset + kLengthPrefixSize, length), output));
    offset += kLengthPrefixSize + length;
  }
  // What remains is an incomplete message (at most kMaxHandshakeMessageSize
  // plus its prefix) or, once done, the first transport bytes.
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(offset));
  return {};
}

Status Handshake::on_message(ByteView message, Bytes& output) {
  auto payload = state_.read_message(message);
  if (!payload) return payload.take_error();
  // Message 1 carries nothing of ours to check; messages 2 and 3 carry the
  // sender's identity, which must verify before anything else happens.
  if (state_.remote_static()) SOMA_TRY(verify_remote(*payload));

  if (state_.is_my_turn()) {
    crypto::Ed25519PublicKey own = keys_.identity.public_key();
    HandshakePayload ours{
        crypto::encode_public_key(own),
        Bytes(keys_.static_key_signature.begin(), keys_.static_key_signature.end()), std::nullopt};
    SOMA_TRY(write(encode_payload(ours), output));
  }
  if (state_.is_complete()) status_ = HandshakeStatus::kDone;
  return {};
}

Status Handshake::write(ByteView payload, Bytes& output) {
  auto message = state_.write_message(payload);
  if (!message) return message.take_error();
  append_frame(output, *message);
  return {};
}

Status Handshake::verify_remote(ByteView payload_bytes) {
  auto payload = decode_payload(payload_bytes);
  if (!payload) return payload.take_error();
  auto key = crypto::decode_public_key(payload->identity_key);
  if (!key) {
    return Error::invalid("noise: remote identity key is unusable: " + key.error().message);
  }
  const crypto::X25519PublicKey& remote_static = *state_.remote_static();
  VerifiedStaticKeys& verified = VerifiedStaticKeys::shared();
  if (!verified.contains(payload->identity_key, remote_static, payload->identity_sig)) {
    const Bytes signed_message = static_key_signature_message(remote_static);
    if (!key->verify(signed_message, payload->identity_sig)) {
      return Error::denied("noise: remote identity signature does not verify over its static key");
    }
    verified.add(payload->identity_key, remote_static, payload->identity_sig);
  }
  crypto::PeerId peer = crypto::PeerId::from_public_key(*key);
  if (expected_remote_ && peer != *expected_remote_) {
    return Error::denied("noise: remote proved identity " + peer.to_string() + ", but " +
                         expected_remote_->to_string() + " was dialed");
  }
  remote_peer_id_ = std::move(peer);
  remote_identity_ = std::move(key).value();
  return {};
}

Result<Session> Handshake::take_session() {
  if (status_ != HandshakeStatus::kDone || session_taken_ || !remote_peer_id_ ||
      !remote_identity_) {
    return Error::precondition("noise: no completed handshake to take a session from");
  }
  auto ciphers = state_.split();
  if (!ciphers) return ciphers.take_error();
  session_taken_ = true;
  return Session(std::move(ciphers).value(), *remote_peer_id_, *remote_identity_);
}

Bytes Handshake::take_leftover() {
  if (status_ != HandshakeStatus::kDone) return {};
  return std::exchange(buffer_, {});
}

}  // namespace soma::p2p::noise
