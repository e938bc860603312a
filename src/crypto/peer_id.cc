#include "crypto/peer_id.h"

#include <string>

#include "core/base_encoding.h"
#include "core/varint.h"
#include "crypto/keys.h"
#include "crypto/sha256.h"

namespace soma::crypto {
namespace {

constexpr std::size_t kSha256DigestSize = 32;
constexpr std::uint64_t kCidVersion1 = 1;

core::Error not_peer_id(const std::string& what) {
  return core::Error::invalid("not a valid PeerId: " + what);
}

core::Bytes multihash_of_encoded_key(core::ByteView encoded) {
  core::Bytes out;
  if (encoded.size() <= kMaxInlineKeySize) {
    core::varint::append(out, kMultihashIdentity);
    core::varint::append(out, encoded.size());
    core::append(out, encoded);
  } else {
    Sha256Digest digest = sha256(encoded);
    core::varint::append(out, kMultihashSha256);
    core::varint::append(out, digest.size());
    core::append(out, digest);
  }
  return out;
}

// The digest of a multihash that from_bytes has already validated.
core::ByteView digest_of(const core::Bytes& multihash) {
  auto code = core::varint::decode(multihash);
  auto length = core::varint::decode(core::ByteView(multihash).subspan(code->size));
  return core::ByteView(multihash).subspan(code->size + length->size);
}

core::Bytes cid_bytes(const core::Bytes& multihash) {
  core::Bytes out;
  core::varint::append(out, kCidVersion1);
  core::varint::append(out, kLibp2pKeyCodec);
  core::append(out, multihash);
  return out;
}

// The multihash inside the bytes of a CIDv1 that must name a libp2p key.
core::Result<core::ByteView> multihash_of_cid(core::ByteView cid) {
  auto version = core::varint::decode(cid);
  if (!version.ok()) return not_peer_id("bad CID version: " + version.error().message);
  if (version->value != kCidVersion1) {
    return not_peer_id("a CID PeerId must be CIDv1, got version " + std::to_string(version->value));
  }
  cid = cid.subspan(version->size);
  auto codec = core::varint::decode(cid);
  if (!codec.ok()) return not_peer_id("bad CID codec: " + codec.error().message);
  if (codec->value != kLibp2pKeyCodec) {
    return not_peer_id("the CID's codec is 0x" +
                       core::hex_encode(core::varint::encode(codec->value)) +
                       " (varint), not libp2p-key (0x72)");
  }
  return cid.subspan(codec->size);
}

}  // namespace

PeerId PeerId::from_public_key(const Ed25519PublicKey& key) {
  return PeerId(multihash_of_encoded_key(encode_public_key(key)));
}

core::Result<PeerId> PeerId::from_bytes(core::ByteView multihash) {
  if (multihash.empty()) return not_peer_id("it is empty");
  if (multihash.size() > kMaxPeerIdBytes) {
    return not_peer_id(std::to_string(multihash.size()) + " bytes is more than the " +
                       std::to_string(kMaxPeerIdBytes) + "-byte limit");
  }
  auto code = core::varint::decode(multihash);
  if (!code.ok()) return not_peer_id("bad multihash code: " + code.error().message);
  core::ByteView rest = multihash.subspan(code->size);
  auto length = core::varint::decode(rest);
  if (!length.ok()) return not_peer_id("bad multihash length: " + length.error().message);
  rest = rest.subspan(length->size);
  if (length->value != rest.size()) {
    return not_peer_id("the multihash says " + std::to_string(length->value) +
                       " digest bytes but " + std::to_string(rest.size()) + " follow");
  }

  switch (code->value) {
    case kMultihashIdentity: {
      if (rest.size() > kMaxInlineKeySize) {
        return not_peer_id("an inline (identity) key is at most 42 bytes, got " +
                           std::to_string(rest.size()));
      }
      auto key = decode_key_message(rest);
      if (!key.ok()) return not_peer_id("the inline key is invalid: " + key.error().message);
      break;
    }
    case kMultihashSha256:
      if (rest.size() != kSha256DigestSize) {
        return not_peer_id("a sha2-256 digest is 32 bytes, got " + std::to_string(rest.size()));
      }
      break;
    default:
      return not_peer_id("multihash code 0x" + core::hex_encode(core::varint::encode(code->value)) +
                         " (varint) is neither identity (0x00) nor sha2-256 (0x12)");
  }
  return PeerId(core::Bytes(multihash.begin(), multihash.end()));
}

core::Result<PeerId> PeerId::parse(std::string_view text) {
  if (text.empty()) return not_peer_id("the text is empty");
  if (text.size() > kMaxPeerIdText) {
    return not_peer_id(std::to_string(text.size()) + " characters is more than the " +
                       std::to_string(kMaxPeerIdText) + "-character limit");
  }

  const char prefix = text.front();
  std::string canonical;
  core::Result<PeerId> id = not_peer_id("");
  if (prefix == '1' || text.starts_with("Qm")) {
    // A bare base58btc multihash.
    auto bytes = core::base58btc_decode(text);
    if (!bytes.ok()) return not_peer_id(bytes.error().message);
    id = from_bytes(*bytes);
    if (id.ok()) canonical = id->to_string();
  } else if (prefix == 'b' || prefix == 'z') {
    // A CIDv1 in multibase base32 or base58btc.
    auto bytes = prefix == 'b' ? core::base32_decode(text.substr(1))
                               : core::base58btc_decode(text.substr(1));
    if (!bytes.ok()) return not_peer_id(bytes.error().message);
    auto multihash = multihash_of_cid(*bytes);
    if (!multihash.ok()) return multihash.take_error();
    id = from_bytes(*multihash);
    if (id.ok()) {
      canonical = prefix == 'b' ? id->to_cid_string()
                                : "z" + core::base58btc_encode(cid_bytes(id->bytes()));
    }
  } else {
    return not_peer_id(
        "expected base58btc text starting with '1' or 'Qm', or a CIDv1 starting with 'b' "
        "(base32) or 'z' (base58btc)");
  }

  if (!id.ok()) return id;
  if (canonical != text) {
    return not_peer_id("the text is not in canonical form; it should read " + canonical);
  }
  return id;
}

std::string PeerId::to_string() const {
  return bytes_.empty() ? std::string() : core::base58btc_encode(bytes_);
}

std::string PeerId::to_cid_string() const {
  return bytes_.empty() ? std::string() : "b" + core::base32_encode(cid_bytes(bytes_));
}

bool PeerId::has_inline_key() const {
  return !bytes_.empty() && bytes_.front() == kMultihashIdentity;
}

core::Result<Ed25519PublicKey> PeerId::extract_public_key() const {
  if (bytes_.empty()) return core::Error::precondition("an empty PeerId carries no public key");
  if (!has_inline_key()) {
    return core::Error::precondition(
        "PeerId " + to_string() +
        " is a sha2-256 hash of its key and carries no public key; the key must come from the "
        "peer");
  }
  return decode_public_key(digest_of(bytes_));
}

bool PeerId::matches(const Ed25519PublicKey& key) const { return from_public_key(key) == *this; }

}  // namespace soma::crypto

std::size_t std::hash<soma::crypto::PeerId>::operator()(
    const soma::crypto::PeerId& id) const noexcept {
  return std::hash<std::string_view>()(soma::core::as_chars(id.bytes()));
}
