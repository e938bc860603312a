#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/error.h"

// Deterministic CBOR (RFC 8949 §4.2.1, "core deterministic encoding") for
// the subset Soma's signed artifacts use: unsigned and negative integers
// over the full 64-bit argument range, byte strings, UTF-8 text strings,
// definite-length arrays and maps, true, false and null.
//
// The encoder only writes the deterministic form: shortest arguments,
// definite lengths, map entries ordered by the bytewise lexicographic order
// of their encoded keys. The decoder accepts nothing else, so a value that
// decodes has exactly one byte form, the one it was decoded from.
//
// Everything here is a pure function of its arguments: safe from any thread.
namespace soma::cap::cbor {

// Arrays and maps nest at most this deep: a top-level array holding an array
// is depth 2. Soma's artifacts need 2: signed payloads are byte strings,
// decoded on their own, so embedding one artifact in another adds no depth.
inline constexpr std::size_t kMaxNestingDepth = 16;

enum class MajorType : std::uint8_t {
  kUnsigned = 0,
  kNegative = 1,
  kBytes = 2,
  kText = 3,
  kArray = 4,
  kMap = 5,
  kTag = 6,
  kSimple = 7,
};

// A decoded or to-be-encoded data item. A plain value type; copies are deep.
class Value {
 public:
  enum class Kind : std::uint8_t {
    kUnsigned,
    kNegative,
    kBytes,
    kText,
    kArray,
    kMap,
    kBool,
    kNull
  };
  using Array = std::vector<Value>;
  using Map = std::vector<std::pair<Value, Value>>;

  Value() = default;  // null

  static Value unsigned_integer(std::uint64_t v);
  // The negative integer -1 - n; n = 2^64 - 1 gives -2^64.
  static Value negative_integer(std::uint64_t n);
  // Any int64: unsigned when >= 0, negative otherwise.
  static Value integer(std::int64_t v);
  static Value bytes(core::ByteView b);
  // The text must be valid UTF-8 for encode() to accept it.
  static Value text(std::string_view t);
  static Value array(Array items);
  // Entries in any order; encode() sorts them. Keys must be distinct.
  static Value map(Map entries);
  static Value boolean(bool b);
  static Value null();

  Kind kind() const { return kind_; }
  bool is(Kind k) const { return kind_ == k; }

  // Accessors; each requires the matching kind (checked with is()).
  std::uint64_t as_unsigned() const { return number_; }
  std::uint64_t negative_argument() const { return number_; }
  bool as_bool() const { return number_ != 0; }
  const core::Bytes& as_bytes() const { return bytes_; }
  const std::string& as_text() const { return text_; }
  const Array& as_array() const { return array_; }
  const Map& as_map() const { return map_; }

  // In a map, the value under the unsigned integer key `key`, or nullptr.
  const Value* find(std::uint64_t key) const;

  friend bool operator==(const Value&, const Value&) = default;

 private:
  Kind kind_ = Kind::kNull;
  std::uint64_t number_ = 0;
  core::Bytes bytes_;
  std::string text_;
  Array array_;
  Map map_;
};

// A kind with its article, for error messages ("a byte string").
std::string_view to_string(Value::Kind kind);

// Appends the shortest head (initial byte and argument) for `type` and
// `argument`. Building block for encoders that write known-good items.
void append_head(core::Bytes& out, MajorType type, std::uint64_t argument);

// The deterministic encoding of `value`. Errors (kInvalidArgument): a text
// string that is not valid UTF-8, two map entries with the same key, or
// nesting deeper than kMaxNestingDepth.
core::Result<core::Bytes> encode(const Value& value);

// Why a decode failed. Determinism failures (indefinite lengths, non-shortest
// arguments, unsorted or repeated map keys) are told apart from input that is
// not CBOR at all, because a verifier reports them differently.
enum class Failure : std::uint8_t {
  kTruncated,           // the input ends inside an item's head
  kLengthExceedsInput,  // a declared length or count is more than the bytes left
  kTrailingBytes,       // bytes follow the one top-level item
  kIndefiniteLength,    // an indefinite-length string, array or map
  kNonShortest,         // an argument that fits a shorter encoding
  kUnsortedMapKeys,     // map keys out of bytewise lexicographic order
  kDuplicateMapKey,     // the same key twice in one map
  kInvalidUtf8,         // a text string that is not well-formed UTF-8
  kTooDeep,             // arrays and maps nested deeper than kMaxNestingDepth
  kUnsupported,         // floats, tags, undefined and other simple values
  kMalformed,           // reserved additional information, a stray break byte
};

std::string_view to_string(Failure failure);

// True for the failures that mean "valid CBOR, but not the deterministic
// encoding of it".
bool is_determinism_failure(Failure failure);

struct DecodeError {
  Failure failure = Failure::kMalformed;
  std::size_t offset = 0;  // byte offset in the input where the problem is
  std::string detail;      // what exactly was found there
};

// "CBOR <failure> at byte <offset>: <detail>"
std::string describe(const DecodeError& error);

// Decodes exactly one deterministic data item filling all of `in`. Lengths
// and counts are checked against the bytes remaining before anything is
// allocated, so memory stays proportional to the input. On failure returns
// kInvalidArgument with describe()'s message and, when `error` is given,
// fills it in.
core::Result<Value> decode(core::ByteView in, DecodeError* error = nullptr);

}  // namespace soma::cap::cbor
