#pragma once

// Shared by the cap_*_fuzzer targets: a strict-decoding oracle for one
// artifact type, and a valid sample to mutate so the fuzzer reaches the
// schema checks behind the CBOR and signature layers.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "cap/artifacts.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "core/bytes.h"
#include "crypto/ed25519.h"
#include "crypto/peer_id.h"

namespace soma::cap::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

inline crypto::Ed25519PrivateKey key(std::uint8_t fill) {
  core::Bytes seed(crypto::kEd25519SeedSize, fill);
  return *crypto::Ed25519PrivateKey::from_seed(seed);
}

struct Cast {
  crypto::Ed25519PrivateKey owner_key = key(1);
  crypto::Ed25519PrivateKey bot_key = key(2);
  crypto::Ed25519PrivateKey member_key = key(3);
  crypto::PeerId member = crypto::PeerId::from_public_key(member_key.public_key());
  SpaceRef space{"aaaaaaaaaaaaaaaaaaaaaaaaaa",
                 crypto::PeerId::from_public_key(owner_key.public_key())};
  static constexpr Timestamp kT0 = 1'700'000'000'000;
  static constexpr Timestamp kDay = 86'400'000;

  Signed<IssuerCapability> delegation() const {
    DelegationGrant g{crypto::PeerId::from_public_key(bot_key.public_key()),
                      {Role::kMember, Role::kViewer},
                      kT0,
                      kT0 + kDay,
                      kT0 + 7 * kDay,
                      10};
    return *issue_delegation(owner_key, space, g);
  }
  Signed<MembershipCapability> membership() const {
    return *issue_membership(bot_key, space, {member, Role::kMember, kT0 + 1, kT0 + kDay},
                             delegation());
  }
  Signed<Revocation> revocation() const {
    return *revoke_issuer(owner_key, space, crypto::PeerId::from_public_key(bot_key.public_key()),
                          IssuerPolicy::kRevokeIssuedAfter, kT0 + 5, kT0 + 10);
  }
  Signed<JoinRequest> join_request() const {
    return *request_join(member_key, space.id, Role::kMember, kT0);
  }
  Signed<JoinDecision> join_decision() const {
    return *approve_join(bot_key, join_request().body, membership(), kT0 + 2, "welcome");
  }
};

// Whatever decodes must re-encode to exactly the input: one artifact, one
// byte form.
template <typename T>
void check_decoding(core::ByteView in) {
  auto decoded = decode_signed<T>(in);
  if (!decoded.ok()) {
    check(!decoded.refusal().message.empty());
    return;
  }
  check(in.size() <= kMaxArtifactSize);
  core::Bytes again = encode_signed(*decoded);
  check(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()));
  auto payload = decoded->body.encode();
  check(payload.ok() && *payload == decoded->envelope.payload);
  (void)check_signature(*decoded);
}

// Applies the fuzz input to `sample` as edits: each 3-byte group names a
// position (16 bits, wrapped) and a byte, which overwrites the byte there,
// or is inserted when the position's top bit is set. A trailing single byte
// truncates the sample by that many bytes.
inline core::Bytes mutate(core::Bytes sample, const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::size_t where = (static_cast<std::size_t>(data[i] & 0x7f) << 8) | data[i + 1];
    const std::size_t pos = where % (sample.size() + 1);
    if ((data[i] & 0x80) != 0) {
      sample.insert(sample.begin() + static_cast<std::ptrdiff_t>(pos), data[i + 2]);
    } else if (pos < sample.size()) {
      sample[pos] = data[i + 2];
    }
  }
  if (size - i == 1) sample.resize(sample.size() - std::min<std::size_t>(data[i], sample.size()));
  return sample;
}

template <typename T>
void fuzz_artifact(const std::uint8_t* data, std::size_t size, const core::Bytes& sample) {
  check_decoding<T>(core::ByteView(data, size));
  check_decoding<T>(mutate(sample, data, size));
}

}  // namespace soma::cap::fuzz
