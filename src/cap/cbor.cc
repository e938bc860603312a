#include "cap/cbor.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <string_view>

#include "core/utf8.h"

namespace soma::cap::cbor {
namespace {

// Additional-information values of the initial byte (RFC 8949 §3).
constexpr std::uint8_t kAiOneByte = 24;
constexpr std::uint8_t kAiTwoBytes = 25;
constexpr std::uint8_t kAiFourBytes = 26;
constexpr std::uint8_t kAiEightBytes = 27;
constexpr std::uint8_t kAiIndefinite = 31;
constexpr std::uint8_t kSimpleFalse = 20;
constexpr std::uint8_t kSimpleTrue = 21;
constexpr std::uint8_t kSimpleNull = 22;
constexpr std::uint8_t kSimpleUndefined = 23;

std::uint8_t initial_byte(MajorType type, std::uint8_t ai) {
  return static_cast<std::uint8_t>((static_cast<std::uint8_t>(type) << 5) | ai);
}

// Offset of the first byte that is not part of well-formed UTF-8, or size.
std::size_t first_invalid_utf8(const std::uint8_t* text, std::size_t size) {
  return core::first_invalid_utf8(std::string_view(reinterpret_cast<const char*>(text), size));
}

struct Encoder {
  core::Status item(const Value& v, std::size_t depth, core::Bytes& out) {
    switch (v.kind()) {
      case Value::Kind::kUnsigned:
        append_head(out, MajorType::kUnsigned, v.as_unsigned());
        return {};
      case Value::Kind::kNegative:
        append_head(out, MajorType::kNegative, v.negative_argument());
        return {};
      case Value::Kind::kBytes:
        append_head(out, MajorType::kBytes, v.as_bytes().size());
        core::append(out, v.as_bytes());
        return {};
      case Value::Kind::kText: {
        const auto& t = v.as_text();
        auto bytes = core::as_bytes(t);
        if (std::size_t bad = first_invalid_utf8(bytes.data(), bytes.size()); bad != bytes.size()) {
          return core::Error::invalid(
              fmt::format("cannot encode CBOR: text string is not UTF-8 at byte {}", bad));
        }
        append_head(out, MajorType::kText, t.size());
        core::append(out, bytes);
        return {};
      }
      case Value::Kind::kArray:
        if (depth >= kMaxNestingDepth) return too_deep();
        append_head(out, MajorType::kArray, v.as_array().size());
        for (const auto& e : v.as_array()) SOMA_TRY(item(e, depth + 1, out));
        return {};
      case Value::Kind::kMap:
        if (depth >= kMaxNestingDepth) return too_deep();
        return map(v.as_map(), depth, out);
      case Value::Kind::kBool:
        out.push_back(initial_byte(MajorType::kSimple, v.as_bool() ? kSimpleTrue : kSimpleFalse));
        return {};
      case Value::Kind::kNull:
        out.push_back(initial_byte(MajorType::kSimple, kSimpleNull));
        return {};
    }
    return core::Error::internal("cannot encode CBOR: unknown value kind");
  }

  // Entries are encoded one by one, then written in the order of their
  // encoded keys (RFC 8949 §4.2.1).
  core::Status map(const Value::Map& entries, std::size_t depth, core::Bytes& out) {
    std::vector<core::Bytes> keys(entries.size());
    std::vector<core::Bytes> values(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      SOMA_TRY(item(entries[i].first, depth + 1, keys[i]));
      SOMA_TRY(item(entries[i].second, depth + 1, values[i]));
    }
    std::vector<std::size_t> order(entries.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::lexicographical_compare(keys[a].begin(), keys[a].end(), keys[b].begin(),
                                          keys[b].end());
    });
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (keys[order[i]] == keys[order[i - 1]]) {
        return core::Error::invalid("cannot encode CBOR: a map has the same key twice");
      }
    }
    append_head(out, MajorType::kMap, entries.size());
    for (std::size_t i : order) {
      core::append(out, keys[i]);
      core::append(out, values[i]);
    }
    return {};
  }

  static core::Error too_deep() {
    return core::Error::invalid(
        fmt::format("cannot encode CBOR: arrays and maps nest deeper than {}", kMaxNestingDepth));
  }
};

class Decoder {
 public:
  Decoder(core::ByteView in, DecodeError* error) : in_(in), error_(error) {}

  core::Result<Value> top() {
    auto v = item(0);
    if (!v.ok()) return v;
    if (pos_ != in_.size()) {
      return fail(Failure::kTrailingBytes, pos_,
                  fmt::format("{} bytes follow the data item", in_.size() - pos_));
    }
    return v;
  }

 private:
  struct Head {
    MajorType type = MajorType::kUnsigned;
    std::uint8_t ai = 0;
    std::uint64_t argument = 0;
    std::size_t offset = 0;
  };

  core::Error fail(Failure failure, std::size_t offset, std::string detail) {
    DecodeError e{failure, offset, std::move(detail)};
    core::Error err = core::Error::invalid(describe(e));
    if (error_ != nullptr) *error_ = std::move(e);
    return err;
  }

  std::size_t remaining() const { return in_.size() - pos_; }

  core::Result<Head> head() {
    Head h;
    h.offset = pos_;
    if (pos_ >= in_.size())
      return fail(Failure::kTruncated, pos_, "the input ends where a data item should start");
    const std::uint8_t ib = in_[pos_];
    h.type = static_cast<MajorType>(ib >> 5);
    h.ai = ib & 0x1f;
    ++pos_;

    if (h.ai >= 28 && h.ai <= 30) {
      return fail(
          Failure::kMalformed, h.offset,
          fmt::format("initial byte 0x{:02x} uses reserved additional information {}", ib, h.ai));
    }
    if (h.type == MajorType::kTag) {
      return fail(Failure::kUnsupported, h.offset,
                  fmt::format("initial byte 0x{:02x} is a tag; tags are not supported", ib));
    }
    if (h.ai == kAiIndefinite) {
      switch (h.type) {
        case MajorType::kBytes:
        case MajorType::kText:
        case MajorType::kArray:
        case MajorType::kMap:
          return fail(Failure::kIndefiniteLength, h.offset,
                      fmt::format("initial byte 0x{:02x} starts an indefinite-length {}; only "
                                  "definite lengths are deterministic",
                                  ib, kind_name(h.type)));
        case MajorType::kSimple:
          return fail(Failure::kMalformed, h.offset,
                      "a break byte (0xff) outside any indefinite-length item");
        default:
          return fail(Failure::kMalformed, h.offset,
                      fmt::format("initial byte 0x{:02x}: an integer cannot have an indefinite "
                                  "length",
                                  ib));
      }
    }
    if (h.type == MajorType::kSimple) {
      // The simple values Soma uses carry no argument bytes.
      if (h.ai == kSimpleFalse || h.ai == kSimpleTrue || h.ai == kSimpleNull) return h;
      return fail(Failure::kUnsupported, h.offset, simple_name(h.ai, ib));
    }
    if (h.ai < kAiOneByte) {
      h.argument = h.ai;
      return h;
    }
    const std::size_t n = std::size_t{1} << (h.ai - kAiOneByte);
    if (remaining() < n) {
      return fail(Failure::kTruncated, h.offset,
                  fmt::format("initial byte 0x{:02x} needs {} argument bytes, {} remain", ib, n,
                              remaining()));
    }
    std::uint64_t arg = 0;
    for (std::size_t i = 0; i < n; ++i) arg = (arg << 8) | in_[pos_ + i];
    pos_ += n;
    const bool shortest =
        (h.ai == kAiOneByte && arg >= kAiOneByte) || (h.ai == kAiTwoBytes && arg > 0xff) ||
        (h.ai == kAiFourBytes && arg > 0xffff) || (h.ai == kAiEightBytes && arg > 0xffffffffULL);
    if (!shortest) {
      return fail(Failure::kNonShortest, h.offset,
                  fmt::format("{} with argument {} is written with {} argument bytes; the "
                              "shortest form is required",
                              kind_name(h.type), arg, n));
    }
    h.argument = arg;
    return h;
  }

  core::Result<Value> item(std::size_t depth) {
    auto h = head();
    if (!h.ok()) return h.take_error();
    switch (h->type) {
      case MajorType::kUnsigned:
        return Value::unsigned_integer(h->argument);
      case MajorType::kNegative:
        return Value::negative_integer(h->argument);
      case MajorType::kBytes: {
        auto bytes = string_body(*h);
        if (!bytes.ok()) return bytes.take_error();
        return Value::bytes(*bytes);
      }
      case MajorType::kText: {
        auto bytes = string_body(*h);
        if (!bytes.ok()) return bytes.take_error();
        if (std::size_t bad = first_invalid_utf8(bytes->data(), bytes->size());
            bad != bytes->size()) {
          const std::size_t at = pos_ - bytes->size() + bad;
          return fail(Failure::kInvalidUtf8, at,
                      fmt::format("text string starting at byte {} has byte 0x{:02x}, which is "
                                  "not well-formed UTF-8",
                                  h->offset, in_[at]));
        }
        return Value::text(core::as_chars(*bytes));
      }
      case MajorType::kArray:
        return array(*h, depth);
      case MajorType::kMap:
        return map(*h, depth);
      case MajorType::kSimple:
        if (h->ai == kSimpleNull) return Value::null();
        return Value::boolean(h->ai == kSimpleTrue);
      case MajorType::kTag:
        break;  // refused in head()
    }
    return fail(Failure::kUnsupported, h->offset, "unsupported data item");
  }

  core::Result<core::ByteView> string_body(const Head& h) {
    if (h.argument > remaining()) {
      return fail(Failure::kLengthExceedsInput, h.offset,
                  fmt::format("{} declares {} bytes but only {} remain (truncated input?)",
                              kind_name(h.type), h.argument, remaining()));
    }
    core::ByteView body = in_.subspan(pos_, static_cast<std::size_t>(h.argument));
    pos_ += body.size();
    return body;
  }

  core::Status enter(const Head& h, std::size_t depth, std::uint64_t min_bytes_per_entry) {
    if (depth >= kMaxNestingDepth) {
      return fail(Failure::kTooDeep, h.offset,
                  fmt::format("arrays and maps nest deeper than {}", kMaxNestingDepth));
    }
    // Every item takes at least one byte, so a count the remaining bytes
    // cannot hold is refused before anything is reserved for it.
    if (h.argument > remaining() / min_bytes_per_entry) {
      return fail(Failure::kLengthExceedsInput, h.offset,
                  fmt::format("{} declares {} entries but only {} bytes remain (truncated input?)",
                              kind_name(h.type), h.argument, remaining()));
    }
    return {};
  }

  core::Result<Value> array(const Head& h, std::size_t depth) {
    SOMA_TRY(enter(h, depth, 1));
    Value::Array items;
    items.reserve(static_cast<std::size_t>(h.argument));
    for (std::uint64_t i = 0; i < h.argument; ++i) {
      auto v = item(depth + 1);
      if (!v.ok()) return v;
      items.push_back(std::move(*v));
    }
    return Value::array(std::move(items));
  }

  core::Result<Value> map(const Head& h, std::size_t depth) {
    SOMA_TRY(enter(h, depth, 2));
    Value::Map entries;
    entries.reserve(static_cast<std::size_t>(h.argument));
    core::ByteView previous_key;
    for (std::uint64_t i = 0; i < h.argument; ++i) {
      const std::size_t key_start = pos_;
      auto key = item(depth + 1);
      if (!key.ok()) return key;
      core::ByteView key_bytes = in_.subspan(key_start, pos_ - key_start);
      if (i > 0) {
        auto cmp = std::lexicographical_compare_three_way(previous_key.begin(), previous_key.end(),
                                                          key_bytes.begin(), key_bytes.end());
        if (cmp == 0) {
          return fail(Failure::kDuplicateMapKey, key_start,
                      fmt::format("map starting at byte {} repeats a key", h.offset));
        }
        if (cmp > 0) {
          return fail(Failure::kUnsortedMapKeys, key_start,
                      fmt::format("map starting at byte {} has this key after a key that sorts "
                                  "later; keys must be in bytewise order of their encodings",
                                  h.offset));
        }
      }
      previous_key = key_bytes;
      auto value = item(depth + 1);
      if (!value.ok()) return value;
      entries.emplace_back(std::move(*key), std::move(*value));
    }
    return Value::map(std::move(entries));
  }

  static std::string_view kind_name(MajorType type) {
    switch (type) {
      case MajorType::kUnsigned:
        return "unsigned integer";
      case MajorType::kNegative:
        return "negative integer";
      case MajorType::kBytes:
        return "byte string";
      case MajorType::kText:
        return "text string";
      case MajorType::kArray:
        return "array";
      case MajorType::kMap:
        return "map";
      case MajorType::kTag:
        return "tag";
      case MajorType::kSimple:
        return "simple value";
    }
    return "item";
  }

  static std::string simple_name(std::uint8_t ai, std::uint8_t ib) {
    switch (ai) {
      case kSimpleUndefined:
        return "undefined (0xf7) is not supported";
      case kAiOneByte:
        return "a one-byte simple value (0xf8) is not supported";
      case kAiTwoBytes:
        return "a half-precision float (0xf9) is not supported";
      case kAiFourBytes:
        return "a single-precision float (0xfa) is not supported";
      case kAiEightBytes:
        return "a double-precision float (0xfb) is not supported";
      default:
        return fmt::format("simple value {} (0x{:02x}) is not supported", ai, ib);
    }
  }

  core::ByteView in_;
  std::size_t pos_ = 0;
  DecodeError* error_;
};

}  // namespace

Value Value::unsigned_integer(std::uint64_t v) {
  Value out;
  out.kind_ = Kind::kUnsigned;
  out.number_ = v;
  return out;
}

Value Value::negative_integer(std::uint64_t n) {
  Value out;
  out.kind_ = Kind::kNegative;
  out.number_ = n;
  return out;
}

Value Value::integer(std::int64_t v) {
  if (v >= 0) return unsigned_integer(static_cast<std::uint64_t>(v));
  // -1 - v cannot overflow for any negative int64.
  return negative_integer(static_cast<std::uint64_t>(-1 - v));
}

Value Value::bytes(core::ByteView b) {
  Value out;
  out.kind_ = Kind::kBytes;
  out.bytes_.assign(b.begin(), b.end());
  return out;
}

Value Value::text(std::string_view t) {
  Value out;
  out.kind_ = Kind::kText;
  out.text_ = std::string(t);
  return out;
}

Value Value::array(Array items) {
  Value out;
  out.kind_ = Kind::kArray;
  out.array_ = std::move(items);
  return out;
}

Value Value::map(Map entries) {
  Value out;
  out.kind_ = Kind::kMap;
  out.map_ = std::move(entries);
  return out;
}

Value Value::boolean(bool b) {
  Value out;
  out.kind_ = Kind::kBool;
  out.number_ = b ? 1 : 0;
  return out;
}

Value Value::null() { return Value(); }

const Value* Value::find(std::uint64_t key) const {
  if (kind_ != Kind::kMap) return nullptr;
  for (const auto& [k, v] : map_) {
    if (k.kind_ == Kind::kUnsigned && k.number_ == key) return &v;
  }
  return nullptr;
}

std::string_view to_string(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kUnsigned:
      return "an unsigned integer";
    case Value::Kind::kNegative:
      return "a negative integer";
    case Value::Kind::kBytes:
      return "a byte string";
    case Value::Kind::kText:
      return "a text string";
    case Value::Kind::kArray:
      return "an array";
    case Value::Kind::kMap:
      return "a map";
    case Value::Kind::kBool:
      return "a boolean";
    case Value::Kind::kNull:
      return "null";
  }
  return "an unknown item";
}

void append_head(core::Bytes& out, MajorType type, std::uint64_t argument) {
  std::size_t n = 0;
  std::uint8_t ai = 0;
  if (argument < kAiOneByte) {
    ai = static_cast<std::uint8_t>(argument);
  } else if (argument <= 0xff) {
    ai = kAiOneByte;
    n = 1;
  } else if (argument <= 0xffff) {
    ai = kAiTwoBytes;
    n = 2;
  } else if (argument <= 0xffffffffULL) {
    ai = kAiFourBytes;
    n = 4;
  } else {
    ai = kAiEightBytes;
    n = 8;
  }
  out.push_back(initial_byte(type, ai));
  for (std::size_t i = n; i > 0; --i) {
    out.push_back(static_cast<std::uint8_t>(argument >> (8 * (i - 1))));
  }
}

core::Result<core::Bytes> encode(const Value& value) {
  core::Bytes out;
  Encoder encoder;
  SOMA_TRY(encoder.item(value, 0, out));
  return out;
}

std::string_view to_string(Failure failure) {
  switch (failure) {
    case Failure::kTruncated:
      return "truncated input";
    case Failure::kLengthExceedsInput:
      return "length exceeds the remaining input";
    case Failure::kTrailingBytes:
      return "trailing bytes";
    case Failure::kIndefiniteLength:
      return "indefinite length";
    case Failure::kNonShortest:
      return "non-shortest encoding";
    case Failure::kUnsortedMapKeys:
      return "unsorted map keys";
    case Failure::kDuplicateMapKey:
      return "duplicate map key";
    case Failure::kInvalidUtf8:
      return "invalid UTF-8";
    case Failure::kTooDeep:
      return "nesting too deep";
    case Failure::kUnsupported:
      return "unsupported item";
    case Failure::kMalformed:
      return "malformed item";
  }
  return "unknown failure";
}

bool is_determinism_failure(Failure failure) {
  return failure == Failure::kIndefiniteLength || failure == Failure::kNonShortest ||
         failure == Failure::kUnsortedMapKeys || failure == Failure::kDuplicateMapKey;
}

std::string describe(const DecodeError& error) {
  return fmt::format("CBOR {} at byte {}: {}", to_string(error.failure), error.offset,
                     error.detail);
}

core::Result<Value> decode(core::ByteView in, DecodeError* error) {
  Decoder decoder(in, error);
  return decoder.top();
}

}  // namespace soma::cap::cbor
