#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"

namespace soma::crypto {

// Longest text PeerId::parse looks at; real ids are at most ~80 characters.
inline constexpr std::size_t kMaxPeerIdText = 128;
// Longest multihash PeerId::from_bytes accepts.
inline constexpr std::size_t kMaxPeerIdBytes = 64;

// Multihash codes a PeerId may use.
inline constexpr std::uint64_t kMultihashIdentity = 0x00;
inline constexpr std::uint64_t kMultihashSha256 = 0x12;
// The CID multicodec for PeerIds in CIDv1 form.
inline constexpr std::uint64_t kLibp2pKeyCodec = 0x72;
// Encoded public keys up to this size are inlined (identity multihash).
inline constexpr std::size_t kMaxInlineKeySize = 42;

// A libp2p PeerId (peer-ids spec): the multihash of the protobuf-encoded
// public key. Immutable value type, safe to share between threads.
// A default-constructed PeerId is empty (no peer) and only compares and
// hashes; every other PeerId was validated when it was made.
class PeerId {
 public:
  PeerId() = default;

  static PeerId from_public_key(const Ed25519PublicKey& key);

  // Parses the multihash bytes of a PeerId. Strict: at most kMaxPeerIdBytes,
  // minimal varints, an identity multihash of a well-formed key message of at
  // most 42 bytes, or a sha2-256 multihash with a 32-byte digest; nothing
  // else. Errors: kInvalidArgument saying what was wrong.
  static core::Result<PeerId> from_bytes(core::ByteView multihash);

  // Parses text: the bare base58btc multihash ("12D3KooW…", "Qm…") or a
  // CIDv1 with codec libp2p-key in multibase base32 ('b…') or base58btc
  // ('z…'). Text must be canonical (it must re-encode to itself).
  // Errors: kInvalidArgument saying what was wrong.
  static core::Result<PeerId> parse(std::string_view text);

  // The base58btc form libp2p prints; empty for an empty PeerId.
  std::string to_string() const;
  // The CIDv1 form, multibase base32 ("bafz…").
  std::string to_cid_string() const;

  const core::Bytes& bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  // True when the public key is inlined (identity multihash).
  bool has_inline_key() const;

  // The public key inlined in the id. Errors: kFailedPrecondition for an
  // empty id or a hashed (sha2-256) id, which carry no key; kInvalidArgument
  // "unsupported key type" for a non-Ed25519 key.
  core::Result<Ed25519PublicKey> extract_public_key() const;

  // True when `key` is the key this id names (works for hashed ids too).
  bool matches(const Ed25519PublicKey& key) const;

  friend bool operator==(const PeerId&, const PeerId&) = default;
  friend std::strong_ordering operator<=>(const PeerId& a, const PeerId& b) {
    return a.bytes_ <=> b.bytes_;
  }

 private:
  explicit PeerId(core::Bytes bytes) : bytes_(std::move(bytes)) {}
  core::Bytes bytes_;
};

}  // namespace soma::crypto

template <>
struct std::hash<soma::crypto::PeerId> {
  std::size_t operator()(const soma::crypto::PeerId& id) const noexcept;
};
