#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/bytes.h"

// Remembers identity signatures over Noise static keys that verified, so a
// peer that connects again with the same long-lived static key (which the
// noise spec allows and every libp2p implementation does) costs no second
// Ed25519 verification. An entry is the exact bytes of the identity key,
// the static key and the signature: only byte-identical input that passed
// before passes without the check, and a different signature, key or
// static key is verified in full.
namespace soma::p2p::noise {

// Entries kept; the least recently used goes first. Each is ~200 bytes.
inline constexpr std::size_t kVerifiedStaticKeysCapacity = 1024;

// Thread-safe.
class VerifiedStaticKeys {
 public:
  explicit VerifiedStaticKeys(std::size_t capacity = kVerifiedStaticKeysCapacity);

  // Whether exactly these bytes verified before (and marks them used).
  bool contains(core::ByteView identity_key, core::ByteView static_key, core::ByteView signature);
  // Records bytes that just verified.
  void add(core::ByteView identity_key, core::ByteView static_key, core::ByteView signature);

  std::size_t size() const;

  // The process's memo, shared by every handshake.
  static VerifiedStaticKeys& shared();

 private:
  static std::string entry(core::ByteView identity_key, core::ByteView static_key,
                           core::ByteView signature);

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::string> order_;  // most recently used first
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

}  // namespace soma::p2p::noise
