#include "p2p/noise/handshake_state.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "crypto/hkdf.h"

namespace soma::p2p::noise {
namespace {

using core::Bytes;
using core::ByteView;
using core::Error;
using core::Result;
using core::Status;

// The protocol name is exactly HASHLEN bytes, so h starts as the name
// itself with no hashing or padding (§5.2 InitializeSymmetric).
static_assert(kProtocolName.size() == 32);

// The largest nonce is reserved (§5.1): once n reaches it, no more messages.
constexpr std::uint64_t kMaxNonce = std::numeric_limits<std::uint64_t>::max();

// An encrypted static key: the 32-byte key and its tag.
constexpr std::size_t kEncryptedStaticSize = kDhSize + kTagSize;

}  // namespace

// --- CipherState ---

Result<CipherState> CipherState::with_key(ByteView key) {
  auto cipher = crypto::ChaChaPoly::create(key);
  if (!cipher) return cipher.take_error();
  CipherState state;
  state.cipher_.emplace(std::move(cipher).value());
  return state;
}

Status CipherState::check_nonce() const {
  if (n_ == kMaxNonce) {
    return Error::exhausted(
        "noise: the 2^64-1 messages one key may protect are used up; the connection must close");
  }
  return {};
}

Status CipherState::encrypt_into(ByteView ad, ByteView plaintext, std::span<std::uint8_t> out) {
  if (!cipher_) return Error::precondition("noise: encrypting with a cipher that has no key");
  SOMA_TRY(check_nonce());
  SOMA_TRY(cipher_->seal_into(crypto::counter_nonce(n_), ad, plaintext, out));
  ++n_;
  return {};
}

Status CipherState::decrypt_into(ByteView ad, ByteView ciphertext, std::span<std::uint8_t> out) {
  if (!cipher_) return Error::precondition("noise: decrypting with a cipher that has no key");
  SOMA_TRY(check_nonce());
  SOMA_TRY(cipher_->open_into(crypto::counter_nonce(n_), ad, ciphertext, out));
  ++n_;
  return {};
}

Result<Bytes> CipherState::encrypt_with_ad(ByteView ad, ByteView plaintext) {
  if (!cipher_) return Bytes(plaintext.begin(), plaintext.end());
  Bytes out(plaintext.size() + kTagSize);
  SOMA_TRY(encrypt_into(ad, plaintext, out));
  return out;
}

Result<Bytes> CipherState::decrypt_with_ad(ByteView ad, ByteView ciphertext) {
  if (!cipher_) return Bytes(ciphertext.begin(), ciphertext.end());
  if (ciphertext.size() < kTagSize) {
    return Error::invalid("noise: ciphertext of " + std::to_string(ciphertext.size()) +
                          " bytes is shorter than its 16-byte tag");
  }
  Bytes out(ciphertext.size() - kTagSize);
  SOMA_TRY(decrypt_into(ad, ciphertext, out));
  return out;
}

// --- HandshakeState ---

HandshakeState::HandshakeState(Role role, crypto::X25519KeyPair static_key,
                               crypto::X25519KeyPair ephemeral_key, ByteView prologue)
    : role_(role), s_(std::move(static_key)), e_(std::move(ephemeral_key)) {
  std::copy(kProtocolName.begin(), kProtocolName.end(), h_.begin());
  ck_ = h_;
  mix_hash(prologue);
}

bool HandshakeState::is_my_turn() const {
  if (failed_ || step_ >= kMessages) return false;
  const bool initiator_turn = step_ % 2 == 0;
  return initiator_turn == (role_ == Role::kInitiator);
}

void HandshakeState::mix_hash(ByteView data) {
  Bytes buf;
  buf.reserve(h_.size() + data.size());
  core::append(buf, h_);
  core::append(buf, data);
  h_ = crypto::sha256(buf);
}

Status HandshakeState::mix_key(ByteView ikm) {
  auto [ck, temp_k] = crypto::hkdf2(ck_, ikm);
  ck_ = ck;
  auto cipher = CipherState::with_key(temp_k);
  OPENSSL_cleanse(temp_k.data(), temp_k.size());
  OPENSSL_cleanse(ck.data(), ck.size());
  if (!cipher) return cipher.take_error();
  cipher_ = std::move(cipher).value();
  return {};
}

Status HandshakeState::mix_dh(const crypto::X25519KeyPair& local,
                              const crypto::X25519PublicKey& remote) {
  auto shared = crypto::dh(local, remote);
  if (!shared) return Error::invalid("noise: " + shared.error().message);
  Status st = mix_key(*shared);
  OPENSSL_cleanse(shared->data(), shared->size());
  return st;
}

Status HandshakeState::encrypt_and_hash(ByteView plaintext, Bytes& out) {
  auto ciphertext = cipher_.encrypt_with_ad(h_, plaintext);
  if (!ciphertext) return ciphertext.take_error();
  mix_hash(*ciphertext);
  core::append(out, *ciphertext);
  return {};
}

Result<Bytes> HandshakeState::decrypt_and_hash(ByteView ciphertext) {
  auto plaintext = cipher_.decrypt_with_ad(h_, ciphertext);
  if (!plaintext) {
    if (plaintext.error().code == core::ErrorCode::kDataLoss) {
      return Error::data_loss(
          "noise: a handshake message failed authentication (altered in transit, or the peers "
          "disagree on the prologue or keys)");
    }
    return plaintext.take_error();
  }
  mix_hash(ciphertext);
  return plaintext;
}

Result<Bytes> HandshakeState::write_message(ByteView payload) {
  if (!is_my_turn()) {
    return Error::precondition("noise: writing a handshake message out of turn");
  }
  Bytes out;
  Status st = [&]() -> Status {
    switch (step_) {
      case 0:  // -> e
        core::append(out, e_.public_key());
        mix_hash(e_.public_key());
        break;
      case 1:  // <- e, ee, s, es
        core::append(out, e_.public_key());
        mix_hash(e_.public_key());
        SOMA_TRY(mix_dh(e_, *re_));
        SOMA_TRY(encrypt_and_hash(s_.public_key(), out));
        SOMA_TRY(mix_dh(s_, *re_));
        break;
      default:  // -> s, se
        SOMA_TRY(encrypt_and_hash(s_.public_key(), out));
        SOMA_TRY(mix_dh(s_, *re_));
        break;
    }
    return encrypt_and_hash(payload, out);
  }();
  if (st.ok() && out.size() > kMaxMessageSize) {
    st = Error::invalid("noise: handshake payload too large for a 65535-byte message");
  }
  if (!st.ok()) {
    failed_ = true;
    return st.take_error();
  }
  ++step_;
  return out;
}

Result<Bytes> HandshakeState::read_message(ByteView message) {
  if (failed_ || step_ >= kMessages || is_my_turn()) {
    return Error::precondition("noise: reading a handshake message out of turn");
  }
  auto result = [&]() -> Result<Bytes> {
    const std::size_t needed = step_ == 0   ? kDhSize
                               : step_ == 1 ? kDhSize + kEncryptedStaticSize + kTagSize
                                            : kEncryptedStaticSize + kTagSize;
    if (message.size() < needed) {
      return Error::invalid("noise: remote handshake message " + std::to_string(step_ + 1) +
                            " is truncated: " + std::to_string(message.size()) +
                            " bytes, at least " + std::to_string(needed) + " expected");
    }
    if (message.size() > kMaxMessageSize) {
      return Error::invalid("noise: remote handshake message is longer than 65535 bytes");
    }
    if (step_ <= 1) {  // e
      crypto::X25519PublicKey re{};
      std::copy_n(message.begin(), kDhSize, re.begin());
      re_ = re;
      mix_hash(re);
      message = message.subspan(kDhSize);
    }
    if (step_ == 1) {  // ee, s, es
      SOMA_TRY(mix_dh(e_, *re_));
      auto rs = decrypt_and_hash(message.first(kEncryptedStaticSize));
      if (!rs) return rs.take_error();
      crypto::X25519PublicKey key{};
      std::copy(rs->begin(), rs->end(), key.begin());
      message = message.subspan(kEncryptedStaticSize);
      SOMA_TRY(mix_dh(e_, key));
      rs_ = key;
    } else if (step_ == 2) {  // s, se
      auto rs = decrypt_and_hash(message.first(kEncryptedStaticSize));
      if (!rs) return rs.take_error();
      crypto::X25519PublicKey key{};
      std::copy(rs->begin(), rs->end(), key.begin());
      message = message.subspan(kEncryptedStaticSize);
      SOMA_TRY(mix_dh(e_, key));
      rs_ = key;
    }
    return decrypt_and_hash(message);
  }();
  if (!result) {
    failed_ = true;
    return result.take_error();
  }
  ++step_;
  return result;
}

Result<TransportCiphers> HandshakeState::split() const {
  if (!is_complete()) return Error::precondition("noise: split before the handshake completed");
  auto [k1, k2] = crypto::hkdf2(ck_, {});
  auto c1 = CipherState::with_key(k1);
  auto c2 = CipherState::with_key(k2);
  OPENSSL_cleanse(k1.data(), k1.size());
  OPENSSL_cleanse(k2.data(), k2.size());
  if (!c1) return c1.take_error();
  if (!c2) return c2.take_error();
  // The first key protects initiator-to-responder traffic.
  if (role_ == Role::kInitiator) {
    return TransportCiphers{std::move(c1).value(), std::move(c2).value()};
  }
  return TransportCiphers{std::move(c2).value(), std::move(c1).value()};
}

}  // namespace soma::p2p::noise
