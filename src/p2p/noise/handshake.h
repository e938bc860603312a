#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"
#include "crypto/x25519.h"
#include "p2p/noise/handshake_state.h"
#include "p2p/noise/session.h"

// noise-libp2p (libp2p noise spec): the XX handshake with an empty prologue
// whose messages 2 and 3 carry each side's libp2p identity key and its
// signature over the sender's Noise static key. Sans-I/O: feed it the bytes
// read from the connection, send what it returns. Not thread-safe.
namespace soma::p2p::noise {

// The multistream-select id of noise-libp2p.
inline constexpr std::string_view kProtocolId = "/noise";
// What the identity key signs, followed by the 32-byte static public key.
inline constexpr std::string_view kStaticKeySignaturePrefix = "noise-libp2p-static-key:";
// Largest handshake message accepted, checked from the length prefix before
// buffering. Real messages are 32 to ~200 bytes (an Ed25519 identity, its
// signature, a few extensions); Soma accepts only Ed25519 identities, so
// anything near this size is not a handshake worth reading.
inline constexpr std::size_t kMaxHandshakeMessageSize = 4096;

// The bytes an identity key signs to vouch for `static_key`.
core::Bytes static_key_signature_message(const crypto::X25519PublicKey& static_key);

// This side's keys for handshakes: the libp2p identity, a Noise static key
// and the identity's signature over it. The spec allows one static key for
// all sessions, so a host makes this once and copies it into each
// Handshake (copies share the underlying OpenSSL keys). Never log it.
struct LocalKeys {
  crypto::Ed25519PrivateKey identity;
  crypto::X25519KeyPair static_key;
  // Must be identity's signature over static_key_signature_message(static_key).
  crypto::Ed25519Signature static_key_signature;

  // A fresh static key signed by `identity`.
  static LocalKeys generate(const crypto::Ed25519PrivateKey& identity);
};

enum class HandshakeStatus { kInProgress, kDone, kFailed };

// What one call produced: bytes to send (sent even when the status became
// kDone; empty when there is nothing to send) and the status afterwards.
struct HandshakeStep {
  core::Bytes output;
  HandshakeStatus status = HandshakeStatus::kInProgress;
};

class Handshake {
 public:
  // The dialing side. With `expected_remote`, a remote that proves any
  // other identity is refused (kPermissionDenied) before this side reveals
  // its own identity in message 3.
  static Handshake initiator(LocalKeys keys,
                             std::optional<crypto::PeerId> expected_remote = std::nullopt);
  // The listening side.
  static Handshake responder(LocalKeys keys);

  // Call once before feed(). The initiator gets its first message; the
  // responder gets nothing (it speaks second).
  HandshakeStep start();

  // Processes bytes read from the connection. Bytes after the last
  // handshake message are kept for take_leftover(); after kFailed input is
  // ignored.
  HandshakeStep feed(core::ByteView in);

  HandshakeStatus status() const { return status_; }

  // Why the handshake failed, told apart by code:
  //   kInvalidArgument   the remote sent malformed or truncated messages
  //   kResourceExhausted a remote message exceeded kMaxHandshakeMessageSize
  //   kDataLoss          a message failed authentication
  //   kPermissionDenied  the remote's identity signature does not verify,
  //                      or it is not the expected peer
  //   kFailedPrecondition the caller misused the object (feed before start)
  //   kInternal          OpenSSL failed locally
  const core::Error& error() const { return error_; }

  // The authenticated remote, known once its handshake payload verified.
  const std::optional<crypto::PeerId>& remote_peer_id() const { return remote_peer_id_; }

  // Moves the transport state out. Errors: kFailedPrecondition unless the
  // status is kDone or when called twice.
  core::Result<Session> take_session();

  // Bytes that followed the final handshake message: already the first
  // transport frames. Moves them out.
  core::Bytes take_leftover();

 private:
  Handshake(Role role, LocalKeys keys, std::optional<crypto::PeerId> expected_remote);

  core::Status process(core::Bytes& output);
  core::Status on_message(core::ByteView message, core::Bytes& output);
  core::Status write(core::ByteView payload, core::Bytes& output);
  core::Status verify_remote(core::ByteView payload);
  void fail(core::Error error);

  LocalKeys keys_;
  std::optional<crypto::PeerId> expected_remote_;
  HandshakeState state_;
  HandshakeStatus status_ = HandshakeStatus::kInProgress;
  bool started_ = false;
  bool session_taken_ = false;
  core::Error error_;
  core::Bytes buffer_;
  std::optional<crypto::PeerId> remote_peer_id_;
  std::optional<crypto::Ed25519PublicKey> remote_identity_;
};

}  // namespace soma::p2p::noise
