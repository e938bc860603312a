#pragma once

#include <cstddef>
#include <cstdint>

#include "cap/cbor.h"
#include "cap/refusal.h"
#include "core/bytes.h"
#include "crypto/ed25519.h"

// How every signed artifact travels: the exact payload bytes that were
// signed, and the Ed25519 signature over exactly those bytes, wrapped in a
// deterministic CBOR map
//
//   { 1: payload (byte string), 2: signature (byte string, 64 bytes) }
//
// The payload is itself deterministic CBOR (see artifacts.h); it is kept as a
// byte string so a verifier checks the signature over the bytes it received,
// never over a re-encoding. See docs/capabilities.md.
namespace soma::cap {

// The largest envelope any decoder looks at, embedded artifacts included.
// Checked before any decoding, so a hostile peer cannot make a verifier
// parse more than this per artifact.
inline constexpr std::size_t kMaxArtifactSize = 4096;

inline constexpr std::uint64_t kEnvelopePayloadKey = 1;
inline constexpr std::uint64_t kEnvelopeSignatureKey = 2;

struct Envelope {
  core::Bytes payload;
  crypto::Ed25519Signature signature{};

  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// A decoded artifact together with the envelope it came in. `body` is what
// `envelope.payload` decodes to; neither says whether the signature is good
// (verify.h decides that).
template <typename T>
struct Signed {
  T body;
  Envelope envelope;
};

// The envelope's deterministic encoding.
core::Bytes encode_envelope(const Envelope& envelope);
// The envelope as a CBOR value, for embedding in another artifact.
cbor::Value envelope_value(const Envelope& envelope);

// Strict decoding of an envelope: at most kMaxArtifactSize bytes
// (kTooLarge), deterministic CBOR (kNotDeterministic otherwise, kMalformed
// for anything that is not CBOR), exactly the two keys with the right types
// and a 64-byte signature (kMalformed). `what` names the artifact in
// messages.
Checked<Envelope> decode_envelope(core::ByteView in, std::string_view what);
// The same checks for an envelope embedded as a CBOR value.
Checked<Envelope> envelope_from_value(const cbor::Value& value, std::string_view what);

// Decodes deterministic CBOR, turning a failure into a Refusal of kind
// kNotDeterministic or kMalformed whose message starts with `what`.
Checked<cbor::Value> decode_cbor(core::ByteView in, std::string_view what);

}  // namespace soma::cap
