#include "cap/envelope.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace soma::cap {

core::Bytes encode_envelope(const Envelope& envelope) {
  // Written directly: both keys are small integers already in order, and
  // nothing in an envelope can fail to encode.
  core::Bytes out;
  out.reserve(envelope.payload.size() + envelope.signature.size() + 8);
  cbor::append_head(out, cbor::MajorType::kMap, 2);
  cbor::append_head(out, cbor::MajorType::kUnsigned, kEnvelopePayloadKey);
  cbor::append_head(out, cbor::MajorType::kBytes, envelope.payload.size());
  core::append(out, envelope.payload);
  cbor::append_head(out, cbor::MajorType::kUnsigned, kEnvelopeSignatureKey);
  cbor::append_head(out, cbor::MajorType::kBytes, envelope.signature.size());
  core::append(out, envelope.signature);
  return out;
}

cbor::Value envelope_value(const Envelope& envelope) {
  cbor::Value::Map entries;
  entries.emplace_back(cbor::Value::unsigned_integer(kEnvelopePayloadKey),
                       cbor::Value::bytes(envelope.payload));
  entries.emplace_back(cbor::Value::unsigned_integer(kEnvelopeSignatureKey),
                       cbor::Value::bytes(envelope.signature));
  return cbor::Value::map(std::move(entries));
}

Checked<cbor::Value> decode_cbor(core::ByteView in, std::string_view what) {
  cbor::DecodeError error;
  auto value = cbor::decode(in, &error);
  if (value.ok()) return std::move(*value);
  const Reason reason =
      cbor::is_determinism_failure(error.failure) ? Reason::kNotDeterministic : Reason::kMalformed;
  return Refusal{reason, fmt::format("{}: {}", what, cbor::describe(error))};
}

Checked<Envelope> envelope_from_value(const cbor::Value& value, std::string_view what) {
  auto bad = [&](std::string_view detail) {
    return Refusal{Reason::kMalformed, fmt::format("{}: signed envelope {}", what, detail)};
  };
  if (!value.is(cbor::Value::Kind::kMap)) {
    return bad(fmt::format("must be a map, found {}", cbor::to_string(value.kind())));
  }
  for (const auto& [key, item] : value.as_map()) {
    if (!key.is(cbor::Value::Kind::kUnsigned) ||
        (key.as_unsigned() != kEnvelopePayloadKey && key.as_unsigned() != kEnvelopeSignatureKey)) {
      return bad("has a key other than 1 (payload) and 2 (signature)");
    }
  }
  const cbor::Value* payload = value.find(kEnvelopePayloadKey);
  const cbor::Value* signature = value.find(kEnvelopeSignatureKey);
  if (payload == nullptr) return bad("lacks key 1 (payload)");
  if (signature == nullptr) return bad("lacks key 2 (signature)");
  if (!payload->is(cbor::Value::Kind::kBytes)) {
    return bad(fmt::format("key 1 (payload) must be a byte string, found {}",
                           cbor::to_string(payload->kind())));
  }
  if (!signature->is(cbor::Value::Kind::kBytes) ||
      signature->as_bytes().size() != crypto::kEd25519SignatureSize) {
    return bad(fmt::format("key 2 (signature) must be a byte string of {} bytes",
                           crypto::kEd25519SignatureSize));
  }
  Envelope out;
  out.payload = payload->as_bytes();
  std::copy(signature->as_bytes().begin(), signature->as_bytes().end(), out.signature.begin());
  return out;
}

Checked<Envelope> decode_envelope(core::ByteView in, std::string_view what) {
  if (in.size() > kMaxArtifactSize) {
    return Refusal{Reason::kTooLarge,
                   fmt::format("{}: {} bytes is more than the {} bytes an artifact may take", what,
                               in.size(), kMaxArtifactSize)};
  }
  auto value = decode_cbor(in, what);
  if (!value.ok()) return value.take_refusal();
  return envelope_from_value(*value, what);
}

}  // namespace soma::cap
