#include "cap/signing.h"

#include <fmt/format.h>

#include <utility>

namespace soma::cap {

template <typename T>
Checked<Signed<T>> decode_signed(core::ByteView bytes) {
  auto envelope = decode_envelope(bytes, T::kName);
  if (!envelope.ok()) return envelope.take_refusal();
  auto body = T::decode(envelope->payload);
  if (!body.ok()) return body.take_refusal();
  return Signed<T>{std::move(*body), std::move(*envelope)};
}

template <typename T>
core::Result<Signed<T>> sign(T body, const crypto::Ed25519PrivateKey& key) {
  if (!body.signer().matches(key.public_key())) {
    return core::Error::invalid(
        fmt::format("cannot sign a {}: the signing key does not belong to {}, who must sign it",
                    T::kName, body.signer().to_string()));
  }
  auto payload = body.encode();
  if (!payload.ok()) {
    return core::Error::invalid(fmt::format("{}: {}", T::kName, payload.error().message));
  }
  Envelope envelope;
  envelope.signature = key.sign(*payload);
  envelope.payload = std::move(*payload);
  const std::size_t size = encode_envelope(envelope).size();
  if (size > kMaxArtifactSize) {
    return core::Error::invalid(fmt::format("a {} of {} bytes would exceed the {}-byte limit",
                                            T::kName, size, kMaxArtifactSize));
  }
  return Signed<T>{std::move(body), std::move(envelope)};
}

std::optional<Refusal> check_signature(const Envelope& envelope, const crypto::PeerId& signer,
                                       std::string_view what) {
  auto key = signer.extract_public_key();
  if (!key.ok()) {
    return Refusal{Reason::kBadSignature,
                   fmt::format("{}: signer {} has no Ed25519 key to check the signature with ({})",
                               what, signer.to_string(), key.error().message)};
  }
  if (!key->verify(envelope.payload, envelope.signature)) {
    return Refusal{Reason::kBadSignature,
                   fmt::format("{}: the signature is not {}'s signature over the payload", what,
                               signer.to_string())};
  }
  return std::nullopt;
}

template Checked<Signed<IssuerCapability>> decode_signed(core::ByteView);
template Checked<Signed<MembershipCapability>> decode_signed(core::ByteView);
template Checked<Signed<Revocation>> decode_signed(core::ByteView);
template Checked<Signed<JoinRequest>> decode_signed(core::ByteView);
template Checked<Signed<JoinDecision>> decode_signed(core::ByteView);

template core::Result<Signed<IssuerCapability>> sign(IssuerCapability,
                                                     const crypto::Ed25519PrivateKey&);
template core::Result<Signed<MembershipCapability>> sign(MembershipCapability,
                                                         const crypto::Ed25519PrivateKey&);
template core::Result<Signed<Revocation>> sign(Revocation, const crypto::Ed25519PrivateKey&);
template core::Result<Signed<JoinRequest>> sign(JoinRequest, const crypto::Ed25519PrivateKey&);
template core::Result<Signed<JoinDecision>> sign(JoinDecision, const crypto::Ed25519PrivateKey&);

}  // namespace soma::cap
