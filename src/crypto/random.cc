#include "crypto/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

#include "core/base_encoding.h"

namespace soma::crypto {
namespace {

constexpr std::size_t kRandomIdBytes = 16;

[[noreturn]] void csprng_failed() {
  std::fprintf(stderr,
               "soma: fatal: OpenSSL's random generator failed (%s); refusing to continue "
               "without a working CSPRNG\n",
               ERR_error_string(ERR_get_error(), nullptr));
  std::abort();
}

}  // namespace

void fill_random(std::span<std::uint8_t> out) {
  // RAND_bytes takes an int length, so large requests go in chunks.
  while (!out.empty()) {
    std::size_t chunk = out.size() < static_cast<std::size_t>(INT_MAX) ? out.size() : INT_MAX;
    if (RAND_bytes(out.data(), static_cast<int>(chunk)) != 1) csprng_failed();
    out = out.subspan(chunk);
  }
}

core::Bytes random_bytes(std::size_t n) {
  core::Bytes out(n);
  fill_random(out);
  return out;
}

std::string random_id() { return core::base32_encode(random_bytes(kRandomIdBytes)); }

}  // namespace soma::crypto
