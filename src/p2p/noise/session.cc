#include "p2p/noise/session.h"

#include <algorithm>
#include <string>
#include <utility>

namespace soma::p2p::noise {
namespace {

using core::Bytes;
using core::ByteView;
using core::Error;
using core::Status;

std::size_t read_length(const std::uint8_t* p) {
  return (static_cast<std::size_t>(p[0]) << 8) | p[1];
}

}  // namespace

// --- Encoder ---

Status Encoder::encrypt(ByteView plaintext, Bytes& out) {
  const std::size_t start = out.size();
  out.resize(start + encrypted_size(plaintext.size()));
  auto written = encrypt_into(plaintext, std::span<std::uint8_t>(out).subspan(start));
  if (!written.ok()) {
    out.resize(start);
    return written.take_error();
  }
  return {};
}

core::Result<std::size_t> Encoder::encrypt_into(ByteView plaintext, std::span<std::uint8_t> out) {
  const std::size_t total = encrypted_size(plaintext.size());
  if (out.size() < total) {
    return Error::invalid("noise: the output buffer is too small for the encrypted frames");
  }
  std::uint8_t* w = out.data();
  while (!plaintext.empty()) {
    const std::size_t n = std::min(plaintext.size(), kMaxPlaintextSize);
    const std::size_t length = n + kTagSize;
    w[0] = static_cast<std::uint8_t>(length >> 8);
    w[1] = static_cast<std::uint8_t>(length & 0xff);
    SOMA_TRY(cipher_.encrypt_into({}, plaintext.first(n), {w + kLengthPrefixSize, length}));
    w += kLengthPrefixSize + length;
    plaintext = plaintext.subspan(n);
  }
  return total;
}

// --- Decoder ---

Decoder::Decoder(CipherState cipher) : cipher_(std::move(cipher)) {}

Status Decoder::fail(Error error) {
  error_ = error;
  buffer_.clear();
  buffer_.shrink_to_fit();
  return error;
}

Status Decoder::open(ByteView message, std::uint8_t* out) {
  if (message.size() < kTagSize) {
    return fail(Error::invalid("noise: remote sent a transport message of " +
                               std::to_string(message.size()) +
                               " bytes, too short for its 16-byte tag"));
  }
  Status st = cipher_.decrypt_into({}, message, {out, message.size() - kTagSize});
  if (!st.ok()) {
    if (st.error().code == core::ErrorCode::kDataLoss) {
      return fail(Error::data_loss(
          "noise: a transport message from the remote failed authentication (altered, "
          "reordered or forged); the connection must close"));
    }
    return fail(st.take_error());
  }
  return {};
}

Status Decoder::feed(ByteView in, Bytes& out) {
  if (error_) return *error_;
  const std::size_t start = out.size();
  out.resize(start + max_plaintext(in.size()));
  auto written = feed_into(in, std::span<std::uint8_t>(out).subspan(start));
  if (!written.ok()) {
    out.resize(start);
    return written.take_error();
  }
  out.resize(start + *written);
  return {};
}

core::Result<std::size_t> Decoder::feed_into(ByteView in, std::span<std::uint8_t> out) {
  if (error_) return *error_;
  if (out.size() < max_plaintext(in.size())) {
    return Error::invalid("noise: the output buffer is too small for the decrypted frames");
  }
  std::size_t written = 0;

  // First finish the frame a previous chunk left incomplete.
  if (!buffer_.empty()) {
    if (buffer_.size() < kLengthPrefixSize) {
      const std::size_t n = std::min(kLengthPrefixSize - buffer_.size(), in.size());
      core::append(buffer_, in.first(n));
      in = in.subspan(n);
      if (buffer_.size() < kLengthPrefixSize) return written;
    }
    const std::size_t frame = kLengthPrefixSize + read_length(buffer_.data());
    const std::size_t n = std::min(frame - buffer_.size(), in.size());
    core::append(buffer_, in.first(n));
    in = in.subspan(n);
    if (buffer_.size() < frame) return written;
    ByteView message = ByteView(buffer_).subspan(kLengthPrefixSize);
    SOMA_TRY(open(message, out.data()));
    written += message.size() - kTagSize;
    buffer_.clear();
  }

  // Then every whole frame straight from the caller's bytes.
  while (in.size() >= kLengthPrefixSize) {
    const std::size_t length = read_length(in.data());
    if (in.size() < kLengthPrefixSize + length) break;
    ByteView message = in.subspan(kLengthPrefixSize, length);
    SOMA_TRY(open(message, out.data() + written));
    written += length - kTagSize;
    in = in.subspan(kLengthPrefixSize + length);
  }

  // Keep the start of the next frame; it is shorter than kMaxFrameSize.
  if (!in.empty()) {
    if (buffer_.capacity() < kMaxFrameSize) buffer_.reserve(kMaxFrameSize);
    core::append(buffer_, in);
  }
  return written;
}

// --- Session ---

Session::Session(TransportCiphers ciphers, crypto::PeerId remote_peer_id,
                 crypto::Ed25519PublicKey remote_identity)
    : encoder_(std::move(ciphers.send)),
      decoder_(std::move(ciphers.recv)),
      remote_peer_id_(std::move(remote_peer_id)),
      remote_identity_(std::move(remote_identity)) {}

core::Result<Bytes> Session::encrypt(ByteView plaintext) {
  Bytes out;
  SOMA_TRY(encoder_.encrypt(plaintext, out));
  return out;
}

}  // namespace soma::p2p::noise
