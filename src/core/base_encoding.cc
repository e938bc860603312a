#include "core/base_encoding.h"

#include <algorithm>
#include <array>

namespace soma::core {
namespace {

constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kHexAlphabet = "0123456789abcdef";

// Inputs of these sizes are ids and keys; a bound keeps the quadratic
// base58 conversion from being fed megabytes by a peer.
constexpr std::size_t kMaxBase58Input = 1024;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string base58btc_encode(ByteView in) {
  std::size_t zeros = 0;
  while (zeros < in.size() && in[zeros] == 0) ++zeros;

  // Repeated division of the big-endian number by 58.
  std::vector<std::uint8_t> digits((in.size() - zeros) * 138 / 100 + 1, 0);
  std::size_t length = 0;
  for (std::size_t i = zeros; i < in.size(); ++i) {
    int carry = in[i];
    std::size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < length) && it != digits.rend(); ++it, ++j) {
      carry += 256 * (*it);
      *it = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    length = j;
  }

  std::string out(zeros, '1');
  auto it = digits.begin() + static_cast<std::ptrdiff_t>(digits.size() - length);
  while (it != digits.end() && *it == 0) ++it;
  for (; it != digits.end(); ++it) out.push_back(kBase58Alphabet[*it]);
  return out;
}

Result<Bytes> base58btc_decode(std::string_view in) {
  if (in.size() > kMaxBase58Input) return Error::invalid("base58 text is too long");
  std::size_t zeros = 0;
  while (zeros < in.size() && in[zeros] == '1') ++zeros;

  std::vector<std::uint8_t> bytes(in.size() * 733 / 1000 + 1, 0);
  std::size_t length = 0;
  for (std::size_t i = zeros; i < in.size(); ++i) {
    auto pos = kBase58Alphabet.find(in[i]);
    if (pos == std::string_view::npos) {
      return Error::invalid("invalid base58 character '" + std::string(1, in[i]) + "'");
    }
    int carry = static_cast<int>(pos);
    std::size_t j = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || j < length) && it != bytes.rend(); ++it, ++j) {
      carry += 58 * (*it);
      *it = static_cast<std::uint8_t>(carry % 256);
      carry /= 256;
    }
    length = j;
  }

  Bytes out(zeros, 0);
  auto it = bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() - length);
  while (it != bytes.end() && *it == 0) ++it;
  out.insert(out.end(), it, bytes.end());
  return out;
}

std::string base32_encode(ByteView in) {
  std::string out;
  out.reserve((in.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : in) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

Result<Bytes> base32_decode(std::string_view in) {
  Bytes out;
  out.reserve(in.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    auto pos = kBase32Alphabet.find(lower);
    if (pos == std::string_view::npos) {
      return Error::invalid("invalid base32 character '" + std::string(1, c) + "'");
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(pos);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // Leftover bits must be padding zeros, or the text was not canonical.
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) {
    return Error::invalid("base32 text has trailing bits; it is not canonical");
  }
  return out;
}

std::string hex_encode(ByteView in) {
  std::string out;
  out.reserve(in.size() * 2);
  for (std::uint8_t b : in) {
    out.push_back(kHexAlphabet[b >> 4]);
    out.push_back(kHexAlphabet[b & 0xf]);
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view in) {
  if (in.size() % 2 != 0) return Error::invalid("hex text has an odd number of digits");
  Bytes out(in.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(in[2 * i]);
    int lo = hex_value(in[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error::invalid("invalid hex digit");
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

}  // namespace soma::core
