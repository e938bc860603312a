#include "blob/cid.h"

#include <string>

#include "core/base_encoding.h"
#include "core/varint.h"

namespace soma::blob {
namespace {

using core::Error;

std::string hex_code(std::uint64_t code) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[code & 0xf]);
    code >>= 4;
  } while (code != 0);
  return "0x" + out;
}

// Reads one varint field of a binary CID, naming the field on failure.
Result<std::uint64_t> read_varint(core::ByteView& in, std::string_view field) {
  auto r = core::varint::decode(in);
  if (!r) return Error::invalid("CID " + std::string(field) + ": " + r.error().message);
  in = in.subspan(r->size);
  return r->value;
}

}  // namespace

Cid Cid::of(Codec codec, core::ByteView data) { return Cid(codec, crypto::sha256(data)); }

Result<Cid> Cid::from_bytes(core::ByteView in) {
  if (in.size() > kMaxBinarySize) {
    return Error::invalid("CID of " + std::to_string(in.size()) + " bytes is too long");
  }
  if (in.size() >= 2 && in[0] == kSha256Code && in[1] == kDigestSize) {
    return Error::invalid("CIDv0 is not supported; use the CIDv1 form (base32, \"bafy…\")");
  }

  auto version = read_varint(in, "version");
  if (!version) return version.take_error();
  if (*version != kVersion) {
    return Error::invalid("CID version " + std::to_string(*version) + " is not supported; want 1");
  }

  auto codec = read_varint(in, "codec");
  if (!codec) return codec.take_error();
  if (*codec != static_cast<std::uint64_t>(Codec::kRaw) &&
      *codec != static_cast<std::uint64_t>(Codec::kDagPb)) {
    return Error::invalid("CID codec " + hex_code(*codec) +
                          " is not supported; want raw (0x55) or dag-pb (0x70)");
  }

  auto hash = read_varint(in, "hash function");
  if (!hash) return hash.take_error();
  if (*hash != kSha256Code) {
    return Error::invalid("CID hash function " + hex_code(*hash) +
                          " is not supported; want sha2-256 (0x12)");
  }

  auto length = read_varint(in, "digest length");
  if (!length) return length.take_error();
  if (*length != kDigestSize) {
    return Error::invalid("CID digest length " + std::to_string(*length) +
                          " is wrong; sha2-256 digests are 32 bytes");
  }
  if (in.size() < kDigestSize) {
    return Error::invalid("CID is truncated: digest has " + std::to_string(in.size()) +
                          " of 32 bytes");
  }
  if (in.size() > kDigestSize) {
    return Error::invalid("CID has " + std::to_string(in.size() - kDigestSize) +
                          " trailing bytes after the digest");
  }

  crypto::Sha256Digest digest;
  std::copy(in.begin(), in.end(), digest.begin());
  return Cid(static_cast<Codec>(*codec), digest);
}

Result<Cid> Cid::parse(std::string_view text) {
  if (text.empty()) return Error::invalid("CID is empty");
  if (text.size() > kMaxTextSize) {
    return Error::invalid("CID text of " + std::to_string(text.size()) + " characters is too long");
  }
  if (text.size() == 46 && text.starts_with("Qm")) {
    return Error::invalid(
        "CIDv0 (\"Qm…\") is not supported; convert it with `ipfs cid format -v 1 -b base32`");
  }
  if (text[0] != 'b') {
    return Error::invalid("CID multibase prefix '" + std::string(1, text[0]) +
                          "' is not supported; want base32 lower-case ('b')");
  }
  std::string_view body = text.substr(1);
  for (char c : body) {
    if (c >= 'A' && c <= 'Z') return Error::invalid("CID text must be lower-case base32");
  }
  auto bytes = core::base32_decode(body);
  if (!bytes) return Error::invalid("CID text is not base32: " + bytes.error().message);
  return from_bytes(*bytes);
}

core::Bytes Cid::bytes() const {
  core::Bytes out;
  out.reserve(kBinarySize);
  core::varint::append(out, kVersion);
  core::varint::append(out, static_cast<std::uint64_t>(codec_));
  core::varint::append(out, kSha256Code);
  core::varint::append(out, kDigestSize);
  out.insert(out.end(), digest_.begin(), digest_.end());
  return out;
}

std::string Cid::to_string() const { return "b" + core::base32_encode(bytes()); }

}  // namespace soma::blob
