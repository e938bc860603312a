#pragma once

// A small cast for capability tests: a space, its owner, a bot the owner
// delegates to, two would-be members and a stranger, and helpers that issue
// artifacts between them at fixed times.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cap/artifacts.h"
#include "cap/cbor.h"
#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap_test_util.h"
#include "crypto/random.h"

namespace soma::cap::testing {

inline constexpr Timestamp kT0 = 1'700'000'000'000;  // Nov 2023, in ms
inline constexpr Timestamp kMinute = 60'000;
inline constexpr Timestamp kHour = 60 * kMinute;
inline constexpr Timestamp kDay = 24 * kHour;

struct World {
  crypto::Ed25519PrivateKey owner_key = fixed_key(0x01);
  crypto::Ed25519PrivateKey bot_key = fixed_key(0x02);
  crypto::Ed25519PrivateKey alice_key = fixed_key(0x03);
  crypto::Ed25519PrivateKey bob_key = fixed_key(0x04);
  crypto::Ed25519PrivateKey mallory_key = fixed_key(0x05);
  crypto::PeerId owner = peer_of(owner_key);
  crypto::PeerId bot = peer_of(bot_key);
  crypto::PeerId alice = peer_of(alice_key);
  crypto::PeerId bob = peer_of(bob_key);
  crypto::PeerId mallory = peer_of(mallory_key);
  SpaceRef space{crypto::random_id(), owner};

  // The owner lets the bot issue member and viewer capabilities for a day,
  // none lasting more than a week from kT0, at most `rate` per hour.
  Signed<IssuerCapability> delegation(std::uint32_t rate = 10, Timestamp issued_at = kT0,
                                      Timestamp expires_at = kT0 + kDay,
                                      std::vector<Role> roles = {Role::kMember, Role::kViewer}) {
    DelegationGrant g;
    g.delegate = bot;
    g.roles = std::move(roles);
    g.issued_at = issued_at;
    g.expires_at = expires_at;
    g.max_member_expires_at = kT0 + 7 * kDay;
    g.rate_per_hour = rate;
    auto d = issue_delegation(owner_key, space, g);
    EXPECT_TRUE(d.ok()) << d.error().message;
    return std::move(*d);
  }

  Signed<MembershipCapability> from_owner(const crypto::PeerId& subject, Role role = Role::kEditor,
                                          Timestamp issued_at = kT0,
                                          Timestamp expires_at = kT0 + 30 * kDay) {
    auto c = issue_membership(owner_key, space, {subject, role, issued_at, expires_at});
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(*c);
  }

  Signed<MembershipCapability> from_bot(const crypto::PeerId& subject,
                                        const Signed<IssuerCapability>& d,
                                        Timestamp issued_at = kT0 + kMinute,
                                        Role role = Role::kMember,
                                        Timestamp expires_at = kT0 + 2 * kDay) {
    auto c = issue_membership(bot_key, space, {subject, role, issued_at, expires_at}, d);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(*c);
  }
};

// The carried bytes of `payload` signed by `key`, whoever the payload says
// its signer is: how a forger or a buggy peer makes artifacts sign() refuses.
inline core::Bytes signed_bytes(core::Bytes payload, const crypto::Ed25519PrivateKey& key) {
  Envelope e;
  e.signature = key.sign(payload);
  e.payload = std::move(payload);
  return encode_envelope(e);
}

// A payload map with the value under `key` replaced (or removed when
// `value` is nullopt, or added when absent), re-encoded deterministically.
inline core::Bytes edit_payload(core::ByteView payload, std::uint64_t key,
                                std::optional<cbor::Value> value) {
  auto decoded = cbor::decode(payload);
  EXPECT_TRUE(decoded.ok());
  cbor::Value::Map entries;
  bool replaced = false;
  for (const auto& [k, v] : decoded->as_map()) {
    if (k.is(cbor::Value::Kind::kUnsigned) && k.as_unsigned() == key) {
      replaced = true;
      if (value) entries.emplace_back(k, *value);
    } else {
      entries.emplace_back(k, v);
    }
  }
  if (!replaced && value) entries.emplace_back(cbor::Value::unsigned_integer(key), *value);
  auto bytes = cbor::encode(cbor::Value::map(std::move(entries)));
  EXPECT_TRUE(bytes.ok()) << bytes.error().message;
  return *bytes;
}

}  // namespace soma::cap::testing
