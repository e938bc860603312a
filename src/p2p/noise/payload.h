#pragma once

#include <optional>

#include "core/bytes.h"
#include "core/error.h"

namespace soma::p2p::noise {

// The libp2p handshake payload (noise spec, "The libp2p Handshake Payload"):
//   message NoiseHandshakePayload {
//     optional bytes identity_key = 1;      // protobuf PublicKey
//     optional bytes identity_sig = 2;      // over "noise-libp2p-static-key:" ‖ static key
//     optional NoiseExtensions extensions = 4;
//   }
// Encoded by hand: three fields do not warrant generated code.
struct HandshakePayload {
  core::Bytes identity_key;
  core::Bytes identity_sig;
  // The raw NoiseExtensions message, kept unparsed: Soma sends none and no
  // extension changes how it handles a connection yet.
  std::optional<core::Bytes> extensions;
};

// Fields in number order, minimal varints; extensions only when set.
core::Bytes encode_payload(const HandshakePayload& payload);

// Decodes with protobuf's rules for unknown fields (skipped, whatever their
// wire type) but strictly for the known ones: each must be length-delimited
// and appear at most once, and identity_key and identity_sig must both be
// present. Errors: kInvalidArgument saying what is wrong.
core::Result<HandshakePayload> decode_payload(core::ByteView in);

}  // namespace soma::p2p::noise
