#include "crypto/ed25519.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "crypto/openssl_util.h"
#include "crypto/random.h"

namespace soma::crypto {
namespace {

// OpenSSL wants a non-null pointer even for an empty message.
const std::uint8_t* message_data(core::ByteView message) {
  static const std::uint8_t kEmpty = 0;
  return message.empty() ? &kEmpty : message.data();
}

}  // namespace

// The OpenSSL key is created once and never modified afterwards, which is
// what makes sharing it between copies and threads safe.
struct Ed25519PublicKey::Key {
  detail::PkeyPtr pkey;
};

struct Ed25519PrivateKey::Key {
  detail::PkeyPtr pkey;
};

core::Result<Ed25519PublicKey> Ed25519PublicKey::from_raw(core::ByteView raw) {
  if (raw.size() != kEd25519PublicKeySize) {
    return core::Error::invalid("an Ed25519 public key is 32 bytes, got " +
                                std::to_string(raw.size()));
  }
  detail::PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (!pkey) {
    return core::Error::invalid("OpenSSL rejected the Ed25519 public key: " +
                                detail::openssl_error());
  }
  std::array<std::uint8_t, kEd25519PublicKeySize> bytes{};
  std::copy(raw.begin(), raw.end(), bytes.begin());
  return Ed25519PublicKey(bytes, std::make_shared<Key>(Key{std::move(pkey)}));
}

bool Ed25519PublicKey::verify(core::ByteView message, core::ByteView signature) const {
  if (signature.size() != kEd25519SignatureSize) return false;
  detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1) {
    detail::openssl_fatal("Ed25519 verification setup");
  }
  int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message_data(message),
                            message.size());
  // A bad signature leaves an error on the queue; it is an answer, not a fault.
  if (rc != 1) ERR_clear_error();
  return rc == 1;
}

Ed25519PrivateKey::~Ed25519PrivateKey() { OPENSSL_cleanse(seed_.data(), seed_.size()); }

Ed25519PrivateKey Ed25519PrivateKey::generate() {
  std::array<std::uint8_t, kEd25519SeedSize> seed{};
  fill_random(seed);
  auto key = from_seed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!key.ok()) detail::openssl_fatal("Ed25519 key generation");
  return std::move(key).value();
}

core::Result<Ed25519PrivateKey> Ed25519PrivateKey::from_seed(core::ByteView seed) {
  if (seed.size() != kEd25519SeedSize) {
    return core::Error::invalid("an Ed25519 private key seed is 32 bytes, got " +
                                std::to_string(seed.size()));
  }
  detail::PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!pkey) detail::openssl_fatal("Ed25519 private key import");

  std::array<std::uint8_t, kEd25519PublicKeySize> pub{};
  std::size_t pub_len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &pub_len) != 1 || pub_len != pub.size()) {
    detail::openssl_fatal("Ed25519 public key derivation");
  }
  auto public_key = Ed25519PublicKey::from_raw(pub);
  if (!public_key.ok()) detail::openssl_fatal("Ed25519 public key import");

  std::array<std::uint8_t, kEd25519SeedSize> bytes{};
  std::copy(seed.begin(), seed.end(), bytes.begin());
  Ed25519PrivateKey key(bytes, std::make_shared<Key>(Key{std::move(pkey)}),
                        std::move(public_key).value());
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return key;
}

Ed25519Signature Ed25519PrivateKey::sign(core::ByteView message) const {
  detail::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1) {
    detail::openssl_fatal("Ed25519 signing setup");
  }
  Ed25519Signature signature{};
  std::size_t len = signature.size();
  if (EVP_DigestSign(ctx.get(), signature.data(), &len, message_data(message), message.size()) !=
          1 ||
      len != signature.size()) {
    detail::openssl_fatal("Ed25519 signing");
  }
  return signature;
}

}  // namespace soma::crypto
