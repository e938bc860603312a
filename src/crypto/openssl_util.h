#pragma once

// Small helpers shared by the OpenSSL-backed sources of soma::crypto.
// Internal to the library; not part of its interface.

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace soma::crypto::detail {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// The oldest queued OpenSSL error as text (and clears the queue), for
// messages that explain a failure.
std::string openssl_error();

// For operations that cannot fail on any input (signing with a valid key,
// HMAC): an OpenSSL failure there means memory exhaustion or a broken
// installation, and continuing would produce wrong cryptography.
[[noreturn]] void openssl_fatal(std::string_view what);

}  // namespace soma::crypto::detail
