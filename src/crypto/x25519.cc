#include "crypto/x25519.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <string>

#include "crypto/openssl_util.h"
#include "crypto/random.h"

namespace soma::crypto {

// Created once, never modified: safe to share between copies and threads.
struct X25519KeyPair::Key {
  detail::PkeyPtr pkey;
};

X25519KeyPair::~X25519KeyPair() { OPENSSL_cleanse(private_.data(), private_.size()); }

X25519KeyPair X25519KeyPair::generate() {
  std::array<std::uint8_t, kX25519KeySize> secret{};
  fill_random(secret);
  auto pair = from_private(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!pair.ok()) detail::openssl_fatal("X25519 key generation");
  return std::move(pair).value();
}

core::Result<X25519KeyPair> X25519KeyPair::from_private(core::ByteView private_key) {
  if (private_key.size() != kX25519KeySize) {
    return core::Error::invalid("an X25519 private key is 32 bytes, got " +
                                std::to_string(private_key.size()));
  }
  detail::PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                                    private_key.size()));
  if (!pkey) detail::openssl_fatal("X25519 private key import");

  X25519KeyPair pair;
  std::size_t len = pair.public_.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pair.public_.data(), &len) != 1 ||
      len != pair.public_.size()) {
    detail::openssl_fatal("X25519 public key derivation");
  }
  std::copy(private_key.begin(), private_key.end(), pair.private_.begin());
  pair.key_ = std::make_shared<const Key>(Key{std::move(pkey)});
  return pair;
}

core::Result<X25519SharedSecret> dh(const X25519KeyPair& local, const X25519PublicKey& peer) {
  const auto small_order = [] {
    return core::Error::invalid(
        "the peer's X25519 public key is a small-order point (the shared secret would be all "
        "zeros); refusing the key exchange");
  };

  detail::PkeyPtr peer_key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
  if (!peer_key) detail::openssl_fatal("X25519 public key import");
  detail::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(local.key_->pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) != 1) {
    detail::openssl_fatal("X25519 key exchange setup");
  }

  // OpenSSL itself refuses to output an all-zero secret; either way the
  // answer is the same.
  X25519SharedSecret secret{};
  std::size_t len = secret.size();
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len != secret.size()) {
    ERR_clear_error();
    OPENSSL_cleanse(secret.data(), secret.size());
    return small_order();
  }
  std::uint8_t acc = 0;
  for (std::uint8_t b : secret) acc |= b;
  if (acc == 0) return small_order();
  return secret;
}

}  // namespace soma::crypto
