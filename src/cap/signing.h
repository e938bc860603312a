#pragma once

#include <optional>
#include <string_view>

#include "cap/artifacts.h"
#include "cap/envelope.h"
#include "cap/refusal.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"

// Signing artifacts into envelopes and reading them back. Pure functions,
// safe from any thread. T is one of IssuerCapability, MembershipCapability,
// Revocation, JoinRequest, JoinDecision.
namespace soma::cap {

// Decodes a carried artifact strictly: size (kTooLarge), envelope and payload
// (kMalformed, kNotDeterministic), schema (kMalformed). Does not check the
// signature: call check_signature, or a verify_* function that does.
template <typename T>
Checked<Signed<T>> decode_signed(core::ByteView bytes);

// Encodes `body` and signs the payload with `key`, which must belong to
// body.signer(). Errors: kInvalidArgument when the key is not the signer's,
// a field would not decode back, or the envelope would exceed
// kMaxArtifactSize.
template <typename T>
core::Result<Signed<T>> sign(T body, const crypto::Ed25519PrivateKey& key);

// The carried form: encode_envelope(signed.envelope).
template <typename T>
core::Bytes encode_signed(const Signed<T>& signed_artifact) {
  return encode_envelope(signed_artifact.envelope);
}

// nullopt when `envelope.signature` is `signer`'s Ed25519 signature over
// exactly `envelope.payload`; otherwise a kBadSignature refusal (also when
// the PeerId carries no Ed25519 key to check against). `what` names the
// artifact in the message.
std::optional<Refusal> check_signature(const Envelope& envelope, const crypto::PeerId& signer,
                                       std::string_view what);

template <typename T>
std::optional<Refusal> check_signature(const Signed<T>& signed_artifact) {
  return check_signature(signed_artifact.envelope, signed_artifact.body.signer(), T::kName);
}

extern template Checked<Signed<IssuerCapability>> decode_signed(core::ByteView);
extern template Checked<Signed<MembershipCapability>> decode_signed(core::ByteView);
extern template Checked<Signed<Revocation>> decode_signed(core::ByteView);
extern template Checked<Signed<JoinRequest>> decode_signed(core::ByteView);
extern template Checked<Signed<JoinDecision>> decode_signed(core::ByteView);

extern template core::Result<Signed<IssuerCapability>> sign(IssuerCapability,
                                                            const crypto::Ed25519PrivateKey&);
extern template core::Result<Signed<MembershipCapability>> sign(MembershipCapability,
                                                                const crypto::Ed25519PrivateKey&);
extern template core::Result<Signed<Revocation>> sign(Revocation, const crypto::Ed25519PrivateKey&);
extern template core::Result<Signed<JoinRequest>> sign(JoinRequest,
                                                       const crypto::Ed25519PrivateKey&);
extern template core::Result<Signed<JoinDecision>> sign(JoinDecision,
                                                        const crypto::Ed25519PrivateKey&);

}  // namespace soma::cap
