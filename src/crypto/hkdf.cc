#include "crypto/hkdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <span>
#include <string>

#include "crypto/openssl_util.h"

namespace soma::crypto {
namespace {

// OpenSSL wants non-null pointers even for empty inputs.
void* param_data(core::ByteView b) {
  static std::uint8_t empty = 0;
  return b.empty() ? &empty : const_cast<std::uint8_t*>(b.data());
}

char kSha256Name[] = "SHA256";

// Algorithm fetches are cached for the life of the process: fetching by
// name on every call would cost a lock and a lookup.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) detail::openssl_fatal("fetching HMAC");
  return mac;
}

EVP_KDF* hkdf_algorithm() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) detail::openssl_fatal("fetching HKDF");
  return kdf;
}

// HKDF-SHA256 into `out`; false only when OpenSSL fails.
bool derive(core::ByteView salt, core::ByteView ikm, core::ByteView info,
            std::span<std::uint8_t> out) {
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(hkdf_algorithm());
  if (ctx == nullptr) return false;
  OSSL_PARAM params[5];
  std::size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, kSha256Name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, param_data(ikm), ikm.size());
  if (!salt.empty()) {
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, param_data(salt), salt.size());
  }
  if (!info.empty()) {
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, param_data(info), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  bool ok = EVP_KDF_derive(ctx, out.data(), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);  // wipes the key material it copied
  return ok;
}

template <std::size_t N>
std::array<Sha256Digest, N> noise_hkdf(core::ByteView chaining_key, core::ByteView ikm) {
  std::array<std::uint8_t, 32 * N> okm{};
  if (!derive(chaining_key, ikm, {}, okm)) detail::openssl_fatal("HKDF-SHA256");
  std::array<Sha256Digest, N> outputs{};
  for (std::size_t i = 0; i < N; ++i) {
    std::copy_n(okm.begin() + static_cast<std::ptrdiff_t>(32 * i), 32, outputs[i].begin());
  }
  OPENSSL_cleanse(okm.data(), okm.size());
  return outputs;
}

}  // namespace

Sha256Digest hmac_sha256(core::ByteView key, core::ByteView data) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac_algorithm());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, kSha256Name, 0),
      OSSL_PARAM_construct_end(),
  };
  Sha256Digest out{};
  std::size_t len = 0;
  bool ok =
      ctx != nullptr &&
      EVP_MAC_init(ctx, static_cast<const unsigned char*>(param_data(key)), key.size(), params) ==
          1 &&
      EVP_MAC_update(ctx, static_cast<const unsigned char*>(param_data(data)), data.size()) == 1 &&
      EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) detail::openssl_fatal("HMAC-SHA256");
  return out;
}

core::Result<core::Bytes> hkdf_sha256(core::ByteView salt, core::ByteView ikm, core::ByteView info,
                                      std::size_t length) {
  if (length == 0 || length > kHkdfMaxOutput) {
    return core::Error::invalid("HKDF-SHA256 output length must be 1.." +
                                std::to_string(kHkdfMaxOutput) + " bytes, got " +
                                std::to_string(length));
  }
  core::Bytes out(length);
  if (!derive(salt, ikm, info, out)) {
    return core::Error::internal("OpenSSL failed during HKDF-SHA256: " + detail::openssl_error());
  }
  return out;
}

std::array<Sha256Digest, 2> hkdf2(core::ByteView chaining_key, core::ByteView ikm) {
  return noise_hkdf<2>(chaining_key, ikm);
}

std::array<Sha256Digest, 3> hkdf3(core::ByteView chaining_key, core::ByteView ikm) {
  return noise_hkdf<3>(chaining_key, ikm);
}

}  // namespace soma::crypto
