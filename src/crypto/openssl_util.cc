#include "crypto/openssl_util.h"

#include <cstdio>
#include <cstdlib>

namespace soma::crypto::detail {

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error recorded";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

void openssl_fatal(std::string_view what) {
  std::string reason = openssl_error();
  std::fprintf(stderr, "soma: fatal: OpenSSL failed during %.*s (%s)\n",
               static_cast<int>(what.size()), what.data(), reason.c_str());
  std::abort();
}

}  // namespace soma::crypto::detail
