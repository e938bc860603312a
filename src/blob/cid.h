#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/sha256.h"

namespace soma::blob {

using core::Result;

// The content codecs a Soma blob's blocks use: a raw chunk of file bytes,
// or a dag-pb UnixFS node linking chunks.
enum class Codec : std::uint64_t {
  kRaw = 0x55,
  kDagPb = 0x70,
};

// A CIDv1 whose multihash is sha2-256, the only kind Soma names blocks
// with. A value type; every instance is valid.
class Cid {
 public:
  static constexpr std::uint64_t kVersion = 1;
  static constexpr std::uint64_t kSha256Code = 0x12;
  static constexpr std::size_t kDigestSize = 32;
  // Binary form: version, codec, hash code and digest length (one byte
  // each for the codes above) then the digest.
  static constexpr std::size_t kBinarySize = 4 + kDigestSize;
  // Text longer than this cannot be a CID Soma accepts; checked before decoding.
  static constexpr std::size_t kMaxTextSize = 128;
  static constexpr std::size_t kMaxBinarySize = 64;

  Cid(Codec codec, const crypto::Sha256Digest& digest) : codec_(codec), digest_(digest) {}

  // The CID of `data` stored as one block of `codec`.
  static Cid of(Codec codec, core::ByteView data);

  // Parses multibase base32 lower-case text ("bafk…", "bafy…"). Fails with
  // kInvalidArgument, saying why, on CIDv0 ("Qm…"), other multibases,
  // codecs other than raw and dag-pb, hash functions other than sha2-256, a
  // wrong digest length, trailing bytes, or non-canonical text.
  static Result<Cid> parse(std::string_view text);
  // Parses the binary form with the same rules.
  static Result<Cid> from_bytes(core::ByteView bytes);

  Codec codec() const { return codec_; }
  const crypto::Sha256Digest& digest() const { return digest_; }

  core::Bytes bytes() const;
  std::string to_string() const;

  friend bool operator==(const Cid&, const Cid&) = default;
  friend std::strong_ordering operator<=>(const Cid& a, const Cid& b) {
    if (auto c = a.codec_ <=> b.codec_; c != 0) return c;
    return a.digest_ <=> b.digest_;
  }

 private:
  Codec codec_;
  crypto::Sha256Digest digest_;
};

}  // namespace soma::blob
