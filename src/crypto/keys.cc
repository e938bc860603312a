#include "crypto/keys.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <string>

#include "core/varint.h"

namespace soma::crypto {
namespace {

// Field keys: (field number << 3) | wire type.
constexpr std::uint64_t kTypeFieldKey = (1 << 3) | 0;  // varint
constexpr std::uint64_t kDataFieldKey = (2 << 3) | 2;  // length-delimited

core::Error malformed(const std::string& what) {
  return core::Error::invalid("malformed libp2p key encoding: " + what);
}

core::Error unsupported(KeyType type) {
  return core::Error::invalid("unsupported key type " + std::string(to_string(type)) +
                              ": Soma supports Ed25519 keys only");
}

// Reads one field key and explains any that is not `expected`.
core::Result<std::size_t> expect_field(core::ByteView in, std::uint64_t expected, bool type_seen) {
  if (in.empty()) {
    return malformed(expected == kTypeFieldKey ? "the required Type field is missing"
                                               : "the required Data field is missing");
  }
  auto key = core::varint::decode(in);
  if (!key.ok()) return malformed("bad field key: " + key.error().message);
  if (key->value == expected) return key->size;

  std::uint64_t field = key->value >> 3;
  std::uint64_t wire_type = key->value & 7;
  if (field == 1 && type_seen) return malformed("the Type field appears more than once");
  if (field == 2 && expected == kTypeFieldKey) {
    return malformed("the Data field comes before the Type field");
  }
  if (field == 1 || field == 2) {
    return malformed("field " + std::to_string(field) + " has the wrong wire type " +
                     std::to_string(wire_type));
  }
  return malformed("unknown field " + std::to_string(field));
}

// Explains bytes found after the Data field.
core::Error describe_trailing(core::ByteView rest) {
  auto key = core::varint::decode(rest);
  if (key.ok()) {
    std::uint64_t field = key->value >> 3;
    if (field == 1) return malformed("the Type field appears more than once");
    if (field == 2) return malformed("the Data field appears more than once");
    if (field != 0) return malformed("unknown field " + std::to_string(field));
  }
  return malformed(std::to_string(rest.size()) + " trailing bytes after the Data field");
}

core::Bytes encode(KeyType type, core::ByteView data) {
  core::Bytes out;
  out.reserve(4 + data.size());
  core::varint::append(out, kTypeFieldKey);
  core::varint::append(out, static_cast<std::uint64_t>(type));
  core::varint::append(out, kDataFieldKey);
  core::varint::append(out, data.size());
  core::append(out, data);
  return out;
}

}  // namespace

std::string_view to_string(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kSecp256k1:
      return "Secp256k1";
    case KeyType::kEcdsa:
      return "ECDSA";
  }
  return "unknown";
}

core::Result<EncodedKey> decode_key_message(core::ByteView in) {
  if (in.size() > kMaxEncodedKeySize) {
    return malformed(std::to_string(in.size()) + " bytes is more than the " +
                     std::to_string(kMaxEncodedKeySize) + "-byte limit");
  }

  // Field 1: the key type.
  auto type_key = expect_field(in, kTypeFieldKey, false);
  if (!type_key.ok()) return type_key.take_error();
  in = in.subspan(*type_key);
  auto type = core::varint::decode(in);
  if (!type.ok()) return malformed("bad Type value: " + type.error().message);
  if (type->value > static_cast<std::uint64_t>(KeyType::kEcdsa)) {
    return malformed("unknown key type " + std::to_string(type->value));
  }
  in = in.subspan(type->size);

  // Field 2: the key bytes, which must end the message.
  auto data_key = expect_field(in, kDataFieldKey, true);
  if (!data_key.ok()) return data_key.take_error();
  in = in.subspan(*data_key);
  auto length = core::varint::decode(in);
  if (!length.ok()) return malformed("bad Data length: " + length.error().message);
  in = in.subspan(length->size);
  if (length->value > in.size()) {
    return malformed("the Data field is truncated (" + std::to_string(in.size()) + " of " +
                     std::to_string(length->value) + " bytes present)");
  }
  if (length->value < in.size()) return describe_trailing(in.subspan(length->value));
  return EncodedKey{static_cast<KeyType>(type->value), in};
}

core::Bytes encode_public_key(const Ed25519PublicKey& key) {
  return encode(KeyType::kEd25519, key.raw());
}

core::Bytes encode_private_key(const Ed25519PrivateKey& key) {
  std::array<std::uint8_t, kEd25519PrivateDataSize> data{};
  std::copy(key.seed().begin(), key.seed().end(), data.begin());
  std::copy(key.public_key().raw().begin(), key.public_key().raw().end(),
            data.begin() + kEd25519SeedSize);
  core::Bytes out = encode(KeyType::kEd25519, data);
  OPENSSL_cleanse(data.data(), data.size());
  return out;
}

core::Result<Ed25519PublicKey> decode_public_key(core::ByteView in) {
  auto msg = decode_key_message(in);
  if (!msg.ok()) return msg.take_error();
  if (msg->type != KeyType::kEd25519) return unsupported(msg->type);
  if (msg->data.size() != kEd25519PublicKeySize) {
    return malformed("an Ed25519 public key is 32 bytes, got " + std::to_string(msg->data.size()));
  }
  return Ed25519PublicKey::from_raw(msg->data);
}

core::Result<Ed25519PrivateKey> decode_private_key(core::ByteView in) {
  auto msg = decode_key_message(in);
  if (!msg.ok()) return msg.take_error();
  if (msg->type != KeyType::kEd25519) return unsupported(msg->type);
  core::ByteView data = msg->data;
  if (data.size() != kEd25519PrivateDataSize && data.size() != kEd25519LegacyPrivateDataSize) {
    return malformed("an Ed25519 private key is 64 bytes (seed and public key), got " +
                     std::to_string(data.size()));
  }

  core::ByteView pub = data.subspan(kEd25519SeedSize, kEd25519PublicKeySize);
  if (data.size() == kEd25519LegacyPrivateDataSize &&
      !std::equal(pub.begin(), pub.end(),
                  data.begin() + kEd25519SeedSize + kEd25519PublicKeySize)) {
    return malformed("the two public key copies in the 96-byte Ed25519 private key differ");
  }
  auto key = Ed25519PrivateKey::from_seed(data.first(kEd25519SeedSize));
  if (!key.ok()) return key.take_error();
  const auto& derived = key->public_key().raw();
  if (!std::equal(derived.begin(), derived.end(), pub.begin())) {
    return malformed("the Ed25519 public key does not belong to the private key's seed");
  }
  return key;
}

}  // namespace soma::crypto
