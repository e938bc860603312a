#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/bytes.h"

namespace soma::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Incremental SHA-256 over OpenSSL's EVP interface. Not thread-safe; one
// hasher per thread.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(core::ByteView data);
  // Returns the digest and resets the hasher for reuse.
  Sha256Digest finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Sha256Digest sha256(core::ByteView data);

}  // namespace soma::crypto
