#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"

namespace soma::crypto {

// libp2p's key encoding (libp2p peer-ids spec, "Keys"):
//   message PublicKey  { required KeyType Type = 1; required bytes Data = 2; }
//   message PrivateKey { required KeyType Type = 1; required bytes Data = 2; }
// Soma supports Ed25519 keys only; other types are recognised so they can be
// reported clearly and so PeerIds of such peers can still be parsed.
enum class KeyType : std::uint8_t {
  kRsa = 0,
  kEd25519 = 1,
  kSecp256k1 = 2,
  kEcdsa = 3,
};

std::string_view to_string(KeyType type);

// Largest encoded key a decoder accepts (an RSA-8192 private key fits).
inline constexpr std::size_t kMaxEncodedKeySize = 8192;

// Ed25519 private key Data: seed ‖ public key (64 bytes). The legacy
// seed ‖ public ‖ public form (96 bytes) is also accepted on decode.
inline constexpr std::size_t kEd25519PrivateDataSize = 64;
inline constexpr std::size_t kEd25519LegacyPrivateDataSize = 96;

// A structurally valid key message of any known type.
struct EncodedKey {
  KeyType type = KeyType::kEd25519;
  core::ByteView data;  // points into the decoded input
};

// Decodes the message framing strictly: at most kMaxEncodedKeySize bytes;
// field 1 (varint, a known KeyType) then field 2 (bytes), each exactly once,
// minimal varints, no other fields, no trailing bytes. Does not look inside
// Data. Errors: kInvalidArgument naming what is wrong.
core::Result<EncodedKey> decode_key_message(core::ByteView in);

// Deterministic encodings: field 1, then field 2, minimal varints.
core::Bytes encode_public_key(const Ed25519PublicKey& key);
core::Bytes encode_private_key(const Ed25519PrivateKey& key);

// Strict decoders for Ed25519 keys. Errors: kInvalidArgument for malformed
// input, "unsupported key type" for RSA, Secp256k1 and ECDSA, a Data field of
// the wrong length, or (private keys) a public half that does not belong to
// the seed.
core::Result<Ed25519PublicKey> decode_public_key(core::ByteView in);
core::Result<Ed25519PrivateKey> decode_private_key(core::ByteView in);

}  // namespace soma::crypto
