#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <utility>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"
#include "p2p/noise/handshake_state.h"

namespace soma::p2p::noise {

// Every Noise message on the wire is preceded by its length as a 2-byte
// big-endian integer, so one message holds at most 65535 bytes, of which 16
// are the tag.
inline constexpr std::size_t kLengthPrefixSize = 2;
inline constexpr std::size_t kMaxPlaintextSize = kMaxMessageSize - kTagSize;
inline constexpr std::size_t kMaxFrameSize = kLengthPrefixSize + kMaxMessageSize;

// Bytes on the wire that carry `plaintext_size` bytes of plaintext.
constexpr std::size_t encrypted_size(std::size_t plaintext_size) {
  const std::size_t frames = (plaintext_size + kMaxPlaintextSize - 1) / kMaxPlaintextSize;
  return plaintext_size + frames * (kLengthPrefixSize + kTagSize);
}

// The sending half of an established channel: turns plaintext into framed
// transport messages. Not thread-safe.
class Encoder {
 public:
  explicit Encoder(CipherState cipher) : cipher_(std::move(cipher)) {}

  // Appends to `out` the frames carrying `plaintext`, cut into messages of
  // at most kMaxPlaintextSize bytes; appends nothing for empty input.
  // Encrypts straight into `out`, one pass over the bytes; `plaintext`
  // must not point into `out`, which may reallocate. On error `out` is left
  // as it was. Errors: kResourceExhausted when the nonces are used
  // up (the connection must close), kInternal from OpenSSL.
  core::Status encrypt(core::ByteView plaintext, core::Bytes& out);

  // The same frames, written to the front of `out`, which must hold at
  // least encrypted_size(plaintext.size()) bytes and must not overlap
  // `plaintext`. Returns how many bytes were written. Errors as encrypt(),
  // and kInvalidArgument when `out` is too small.
  core::Result<std::size_t> encrypt_into(core::ByteView plaintext, std::span<std::uint8_t> out);

 private:
  CipherState cipher_;
};

// The receiving half: takes bytes as they arrive, in chunks of any size,
// and yields the plaintext of every complete transport message. At most one
// incomplete frame (kMaxFrameSize bytes) is ever buffered; whole frames are
// decrypted straight from the caller's chunk. Not thread-safe.
class Decoder {
 public:
  explicit Decoder(CipherState cipher);

  // Appends the plaintext of the frames completed by `in` to `out`.
  // Errors are final (every later call repeats them) and mean the
  // connection must close: kDataLoss when a message fails authentication
  // (altered, reordered, replayed or forged), kInvalidArgument for a frame
  // too short to hold a tag, kResourceExhausted when the nonces are used up.
  core::Status feed(core::ByteView in, core::Bytes& out);

  // The same, writing the plaintext to the front of `out` instead, which
  // must hold at least max_plaintext(in.size()) bytes and must not overlap
  // `in`. Returns how many bytes were written. Errors as feed(), and
  // kInvalidArgument when `out` is too small.
  core::Result<std::size_t> feed_into(core::ByteView in, std::span<std::uint8_t> out);

  // The most plaintext that feeding `in_size` more bytes can yield.
  std::size_t max_plaintext(std::size_t in_size) const { return buffer_.size() + in_size; }

  // Bytes of an incomplete frame held until the rest arrives.
  std::size_t buffered() const { return buffer_.size(); }

  // Gives the memory of the partial-frame buffer back while it holds
  // nothing, so an idle connection keeps no frame-sized buffer.
  void release_buffer() {
    if (buffer_.empty()) core::Bytes().swap(buffer_);
  }

 private:
  core::Status fail(core::Error error);
  // Decrypts one message (without its length prefix) to `out`, which holds
  // exactly message.size() - kTagSize bytes.
  core::Status open(core::ByteView message, std::uint8_t* out);

  CipherState cipher_;
  core::Bytes buffer_;
  std::optional<core::Error> error_;
};

// An established, authenticated channel: the remote's identity as proven
// during the handshake and the two transport directions. Movable, not
// copyable. The encoder and decoder may be driven independently (for
// instance by a reader and a writer on the same thread).
class Session {
 public:
  Session(TransportCiphers ciphers, crypto::PeerId remote_peer_id,
          crypto::Ed25519PublicKey remote_identity);

  // The only remote identity later checks may trust.
  const crypto::PeerId& remote_peer_id() const { return remote_peer_id_; }
  const crypto::Ed25519PublicKey& remote_identity() const { return remote_identity_; }

  core::Status encrypt(core::ByteView plaintext, core::Bytes& out) {
    return encoder_.encrypt(plaintext, out);
  }
  core::Result<core::Bytes> encrypt(core::ByteView plaintext);
  core::Status decrypt(core::ByteView in, core::Bytes& out) { return decoder_.feed(in, out); }

  Encoder& encoder() { return encoder_; }
  Decoder& decoder() { return decoder_; }

 private:
  Encoder encoder_;
  Decoder decoder_;
  crypto::PeerId remote_peer_id_;
  crypto::Ed25519PublicKey remote_identity_;
};

}  // namespace soma::p2p::noise
