#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/aead.h"
#include "crypto/sha256.h"
#include "crypto/x25519.h"

// The Noise Protocol Framework objects (noiseprotocol.org, rev. 34 §5) for
// exactly one protocol, Noise_XX_25519_ChaChaPoly_SHA256, with no libp2p in
// them: handshake.h adds the libp2p payload, identity checks and framing.
// Kept separate so the core can be checked against published test vectors.
// None of these types is thread-safe; each belongs to one connection.
namespace soma::p2p::noise {

inline constexpr std::string_view kProtocolName = "Noise_XX_25519_ChaChaPoly_SHA256";
inline constexpr std::size_t kTagSize = crypto::kAeadTagSize;
inline constexpr std::size_t kDhSize = crypto::kX25519KeySize;
// Noise messages, handshake or transport, never exceed this (§3).
inline constexpr std::size_t kMaxMessageSize = 65535;

// A CipherState (§5.1): an optional ChaCha20-Poly1305 key and a 64-bit
// nonce counter that only moves forward, so a (key, nonce) pair is never
// used twice. The OpenSSL context is set up once per key and reused.
class CipherState {
 public:
  CipherState() = default;  // no key: encryption passes bytes through
  // Errors: kInternal if OpenSSL cannot set up the cipher.
  static core::Result<CipherState> with_key(core::ByteView key);

  bool has_key() const { return cipher_.has_value(); }
  std::uint64_t nonce() const { return n_; }

  // Seals `plaintext` into `out` (exactly plaintext.size() + 16 bytes; may
  // alias the plaintext) and advances the nonce. Requires a key. Errors:
  // kResourceExhausted once the nonce reaches 2^64-1 (the connection must
  // then end), kInternal on an OpenSSL failure.
  core::Status encrypt_into(core::ByteView ad, core::ByteView plaintext,
                            std::span<std::uint8_t> out);
  // Opens `ciphertext` into `out` (exactly ciphertext.size() - 16 bytes).
  // The nonce advances only on success. Errors: kDataLoss when the tag does
  // not verify, kInvalidArgument for a ciphertext shorter than a tag,
  // kResourceExhausted when the nonce is used up.
  core::Status decrypt_into(core::ByteView ad, core::ByteView ciphertext,
                            std::span<std::uint8_t> out);

  // EncryptWithAd / DecryptWithAd: with no key the bytes pass unchanged.
  core::Result<core::Bytes> encrypt_with_ad(core::ByteView ad, core::ByteView plaintext);
  core::Result<core::Bytes> decrypt_with_ad(core::ByteView ad, core::ByteView ciphertext);

 private:
  core::Status check_nonce() const;

  std::optional<crypto::ChaChaPoly> cipher_;
  std::uint64_t n_ = 0;
};

// The two CipherStates Split() yields, named from one side's point of view.
struct TransportCiphers {
  CipherState send;
  CipherState recv;
};

enum class Role { kInitiator, kResponder };

// A HandshakeState (§5.3) running the XX pattern:
//   -> e
//   <- e, ee, s, es
//   -> s, se
// The caller supplies the ephemeral key so tests can reproduce published
// vectors; production code passes X25519KeyPair::generate().
class HandshakeState {
 public:
  HandshakeState(Role role, crypto::X25519KeyPair static_key, crypto::X25519KeyPair ephemeral_key,
                 core::ByteView prologue);

  Role role() const { return role_; }
  // True when the next message is ours to write. After any error the
  // handshake is over: every later call fails with kFailedPrecondition.
  bool is_my_turn() const;
  bool is_complete() const { return step_ == kMessages; }

  // Writes the next handshake message carrying `payload`. Errors:
  // kFailedPrecondition when it is not our turn or the handshake is over,
  // kInvalidArgument when the message would exceed 65535 bytes.
  core::Result<core::Bytes> write_message(core::ByteView payload);

  // Reads the remote's next handshake message and returns its payload.
  // Errors: kFailedPrecondition when it is not the remote's turn;
  // kInvalidArgument for a truncated message or a small-order key; kDataLoss
  // when decryption fails (altered bytes, or a different prologue).
  core::Result<core::Bytes> read_message(core::ByteView message);

  // The remote static key, known after it was received (message 2 for the
  // initiator, message 3 for the responder).
  const std::optional<crypto::X25519PublicKey>& remote_static() const { return rs_; }
  const crypto::X25519PublicKey& local_static() const { return s_.public_key(); }

  // h: after completion, a value both sides share (the handshake hash).
  const crypto::Sha256Digest& handshake_hash() const { return h_; }

  // Split() (§5.2): the transport ciphers. Requires completion.
  // Errors: kFailedPrecondition before completion, kInternal from OpenSSL.
  core::Result<TransportCiphers> split() const;

 private:
  static constexpr int kMessages = 3;

  void mix_hash(core::ByteView data);
  core::Status mix_key(core::ByteView ikm);
  core::Status mix_dh(const crypto::X25519KeyPair& local, const crypto::X25519PublicKey& remote);
  core::Status encrypt_and_hash(core::ByteView plaintext, core::Bytes& out);
  core::Result<core::Bytes> decrypt_and_hash(core::ByteView ciphertext);

  Role role_;
  int step_ = 0;         // messages processed so far
  bool failed_ = false;  // any error ends the handshake for good
  crypto::X25519KeyPair s_;
  crypto::X25519KeyPair e_;
  std::optional<crypto::X25519PublicKey> re_;
  std::optional<crypto::X25519PublicKey> rs_;
  crypto::Sha256Digest ck_{};
  crypto::Sha256Digest h_{};
  CipherState cipher_;
};

}  // namespace soma::p2p::noise
