#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <string>

#include "crypto/openssl_util.h"

namespace soma::crypto {
namespace {

// EVP_CipherUpdate takes an int length; longer inputs are fed in pieces.
constexpr std::size_t kMaxUpdate = std::size_t{1} << 30;

// Feeds `in` to the cipher, writing to `out` (or only authenticating `in`
// as associated data when `out` is null).
bool update(EVP_CIPHER_CTX* ctx, std::uint8_t* out, core::ByteView in) {
  while (!in.empty()) {
    std::size_t n = std::min(in.size(), kMaxUpdate);
    int written = 0;
    if (EVP_CipherUpdate(ctx, out, &written, in.data(), static_cast<int>(n)) != 1) return false;
    if (static_cast<std::size_t>(written) != n && out != nullptr) return false;
    if (out != nullptr) out += n;
    in = in.subspan(n);
  }
  return true;
}

core::Error openssl_failed(const char* what) {
  return core::Error::internal(std::string("OpenSSL failed during ChaCha20-Poly1305 ") + what +
                               ": " + detail::openssl_error());
}

}  // namespace

AeadNonce counter_nonce(std::uint64_t counter) {
  AeadNonce nonce{};
  for (std::size_t i = 0; i < 8; ++i) {
    nonce[4 + i] = static_cast<std::uint8_t>(counter >> (8 * i));
  }
  return nonce;
}

// One EVP context keyed at creation; each message only installs its nonce,
// which also resets the Poly1305 state.
struct ChaChaPoly::Ctx {
  EVP_CIPHER_CTX* cipher = nullptr;
  ~Ctx() { EVP_CIPHER_CTX_free(cipher); }  // also wipes the key schedule
};

ChaChaPoly::ChaChaPoly(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
ChaChaPoly::ChaChaPoly(ChaChaPoly&&) noexcept = default;
ChaChaPoly& ChaChaPoly::operator=(ChaChaPoly&&) noexcept = default;
ChaChaPoly::~ChaChaPoly() = default;

core::Result<ChaChaPoly> ChaChaPoly::create(core::ByteView key) {
  if (key.size() != kAeadKeySize) {
    return core::Error::invalid("a ChaCha20-Poly1305 key is 32 bytes, got " +
                                std::to_string(key.size()));
  }
  auto ctx = std::make_unique<Ctx>();
  ctx->cipher = EVP_CIPHER_CTX_new();
  if (ctx->cipher == nullptr || EVP_CipherInit_ex(ctx->cipher, EVP_chacha20_poly1305(), nullptr,
                                                  key.data(), nullptr, 1) != 1) {
    return openssl_failed("key setup");
  }
  return ChaChaPoly(std::move(ctx));
}

core::Status ChaChaPoly::seal_into(const AeadNonce& nonce, core::ByteView ad,
                                   core::ByteView plaintext, std::span<std::uint8_t> out) {
  if (out.size() != plaintext.size() + kAeadTagSize) {
    return core::Error::invalid("AEAD seal: the output must be the plaintext size plus 16 bytes");
  }
  EVP_CIPHER_CTX* c = ctx_->cipher;
  if (EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce.data(), 1) != 1) {
    return openssl_failed("nonce setup");
  }
  // A stream cipher: Final emits nothing, but OpenSSL wants somewhere to put it.
  std::array<std::uint8_t, kAeadTagSize> final_out{};
  int final_len = 0;
  if (!update(c, nullptr, ad) || !update(c, out.data(), plaintext) ||
      EVP_CipherFinal_ex(c, final_out.data(), &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagSize),
                          out.data() + plaintext.size()) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return openssl_failed("encryption");
  }
  return {};
}

core::Status ChaChaPoly::open_into(const AeadNonce& nonce, core::ByteView ad,
                                   core::ByteView ciphertext, std::span<std::uint8_t> out) {
  if (ciphertext.size() < kAeadTagSize) {
    return core::Error::invalid("AEAD open: the ciphertext is " +
                                std::to_string(ciphertext.size()) +
                                " bytes, shorter than the 16-byte authentication tag");
  }
  core::ByteView body = ciphertext.first(ciphertext.size() - kAeadTagSize);
  if (out.size() != body.size()) {
    return core::Error::invalid("AEAD open: the output must be the ciphertext size minus 16 bytes");
  }
  // Copied first: with in-place decryption `out` and the tag are adjacent.
  std::array<std::uint8_t, kAeadTagSize> tag{};
  std::copy(ciphertext.end() - kAeadTagSize, ciphertext.end(), tag.begin());

  EVP_CIPHER_CTX* c = ctx_->cipher;
  if (EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce.data(), 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagSize), tag.data()) !=
          1) {
    return openssl_failed("nonce setup");
  }
  if (!update(c, nullptr, ad) || !update(c, out.data(), body)) {
    OPENSSL_cleanse(out.data(), out.size());
    return openssl_failed("decryption");
  }
  std::array<std::uint8_t, kAeadTagSize> final_out{};
  int final_len = 0;
  if (EVP_CipherFinal_ex(c, final_out.data(), &final_len) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return core::Error::data_loss(
        "AEAD authentication failed: the message was altered, or it was sealed with a different "
        "key, nonce or associated data");
  }
  return {};
}

core::Result<core::Bytes> ChaChaPoly::seal(const AeadNonce& nonce, core::ByteView ad,
                                           core::ByteView plaintext) {
  core::Bytes out(plaintext.size() + kAeadTagSize);
  SOMA_TRY(seal_into(nonce, ad, plaintext, out));
  return out;
}

core::Result<core::Bytes> ChaChaPoly::open(const AeadNonce& nonce, core::ByteView ad,
                                           core::ByteView ciphertext) {
  if (ciphertext.size() < kAeadTagSize) return open_into(nonce, ad, ciphertext, {}).take_error();
  core::Bytes out(ciphertext.size() - kAeadTagSize);
  SOMA_TRY(open_into(nonce, ad, ciphertext, out));
  return out;
}

core::Result<core::Bytes> ChaChaPoly::seal(std::uint64_t counter, core::ByteView ad,
                                           core::ByteView plaintext) {
  return seal(counter_nonce(counter), ad, plaintext);
}

core::Result<core::Bytes> ChaChaPoly::open(std::uint64_t counter, core::ByteView ad,
                                           core::ByteView ciphertext) {
  return open(counter_nonce(counter), ad, ciphertext);
}

core::Result<core::Bytes> seal(core::ByteView key, const AeadNonce& nonce, core::ByteView ad,
                               core::ByteView plaintext) {
  auto cipher = ChaChaPoly::create(key);
  if (!cipher.ok()) return cipher.take_error();
  return cipher->seal(nonce, ad, plaintext);
}

core::Result<core::Bytes> open(core::ByteView key, const AeadNonce& nonce, core::ByteView ad,
                               core::ByteView ciphertext) {
  auto cipher = ChaChaPoly::create(key);
  if (!cipher.ok()) return cipher.take_error();
  return cipher->open(nonce, ad, ciphertext);
}

core::Result<core::Bytes> seal(core::ByteView key, std::uint64_t counter, core::ByteView ad,
                               core::ByteView plaintext) {
  return seal(key, counter_nonce(counter), ad, plaintext);
}

core::Result<core::Bytes> open(core::ByteView key, std::uint64_t counter, core::ByteView ad,
                               core::ByteView ciphertext) {
  return open(key, counter_nonce(counter), ad, ciphertext);
}

}  // namespace soma::crypto
