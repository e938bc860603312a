#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cap/envelope.h"
#include "cap/refusal.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"

// Soma's signed artifacts and their payload schemas. Each payload is a
// deterministic CBOR map with small unsigned integer keys; key 0 is the
// artifact type and key 1 the format version, so a signature over one kind
// of artifact can never be read as another. The key tables are in
// docs/capabilities.md.
//
// Decoding is strict: an unknown key, a missing key, a value of the wrong
// type or range, a PeerId that does not parse, an unknown role or kind are
// all refused with kMalformed and a message naming the key. Decoding says
// nothing about signatures or validity; verify.h does.
//
// All types are plain values; functions are pure and thread-safe.
namespace soma::cap {

// Milliseconds since the Unix epoch, UTC. Encoded as an unsigned integer,
// so decoded timestamps are never negative.
using Timestamp = std::int64_t;

inline constexpr std::uint64_t kFormatVersion = 1;
inline constexpr std::size_t kArtifactIdSize = 16;
// Longest reason text a join decision may carry.
inline constexpr std::size_t kMaxReasonBytes = 256;

// A random identifier naming one artifact (or, for a join request, its nonce).
using ArtifactId = std::array<std::uint8_t, kArtifactIdSize>;

// A fresh id from the CSPRNG.
ArtifactId new_artifact_id();
std::string to_hex(const ArtifactId& id);

enum class ArtifactType : std::uint8_t {
  kMembership = 1,
  kIssuer = 2,
  kRevocation = 3,
  kJoinRequest = 4,
  kJoinDecision = 5,
};

std::string_view to_string(ArtifactType type);

enum class Role : std::uint8_t {
  kOwner = 1,
  kEditor = 2,
  kViewer = 3,
  kMember = 4,
  kBot = 5,
};

// "owner", "editor", "viewer", "member", "bot".
std::string_view to_string(Role role);
// The inverse of to_string. Errors: kInvalidArgument naming the valid roles.
core::Result<Role> parse_role(std::string_view text);
// How much a role allows, for choosing among several capabilities one peer
// holds: owner > editor > member > viewer > bot.
int role_rank(Role role);

// Space ids are what crypto::random_id() makes: 26 characters of lower-case
// unpadded base32 encoding 16 bytes, in canonical form.
// Errors: kInvalidArgument saying what is wrong.
core::Status check_space_id(std::string_view id);

// A space as a verifier knows it: its id and its owner. A space id alone
// does not name its owner, so every verifier must get the owner from a
// source it trusts (its own space record, or the invitation that brought
// it there); artifacts name the owner too and must agree.
struct SpaceRef {
  std::string id;
  crypto::PeerId owner;
};

// "Peer `delegate` may issue memberships of `roles` in `space` until
// `expires_at`, none lasting past `max_member_expires_at`, at most
// `rate_per_hour` in any sliding hour." Signed by the owner.
struct IssuerCapability {
  static constexpr ArtifactType kType = ArtifactType::kIssuer;
  static constexpr std::string_view kName = "issuer capability";

  ArtifactId id{};
  std::string space;
  crypto::PeerId owner;
  crypto::PeerId delegate;
  std::vector<Role> roles;  // strictly ascending, non-empty, never kOwner
  Timestamp issued_at = 0;
  Timestamp expires_at = 0;  // > issued_at
  Timestamp max_member_expires_at = 0;
  std::uint32_t rate_per_hour = 0;

  const crypto::PeerId& signer() const { return owner; }
  bool allows(Role role) const;

  // The deterministic payload. Errors: kInvalidArgument when the fields
  // would not decode back (bad space id, empty PeerId, unsorted roles, …).
  core::Result<core::Bytes> encode() const;
  static Checked<IssuerCapability> decode(core::ByteView payload);
  friend bool operator==(const IssuerCapability&, const IssuerCapability&) = default;
};

// "Peer `subject` holds `role` in `space` until `expires_at`." Signed by
// `issuer`: the owner, or a delegate that embeds the owner-signed
// IssuerCapability it relies on.
struct MembershipCapability {
  static constexpr ArtifactType kType = ArtifactType::kMembership;
  static constexpr std::string_view kName = "membership capability";

  ArtifactId id{};
  std::string space;
  crypto::PeerId owner;
  crypto::PeerId subject;
  Role role = Role::kMember;
  crypto::PeerId issuer;
  Timestamp issued_at = 0;
  Timestamp expires_at = 0;  // > issued_at
  // The owner-signed delegation the issuer relies on: never present when the
  // issuer is the owner (decoding refuses it), required by verification
  // when it is not.
  std::optional<Signed<IssuerCapability>> delegation;

  const crypto::PeerId& signer() const { return issuer; }

  core::Result<core::Bytes> encode() const;
  static Checked<MembershipCapability> decode(core::ByteView payload);
};

enum class RevocationKind : std::uint8_t {
  kMember = 1,      // every capability of a peer
  kCapability = 2,  // one capability (membership or issuer) by id
  kIssuer = 3,      // a delegated issuer, with a policy for what it issued
};

// What becomes of the memberships a revoked issuer issued.
enum class IssuerPolicy : std::uint8_t {
  kKeepIssued = 1,         // those issued at or before the revocation stay valid
  kRevokeIssuedAfter = 2,  // those issued after `after` are revoked
  kRevokeAll = 3,          // all are revoked
};

std::string_view to_string(RevocationKind kind);
std::string_view to_string(IssuerPolicy policy);

// Withdraws a member, one capability or an issuer. Signed by the owner.
struct Revocation {
  static constexpr ArtifactType kType = ArtifactType::kRevocation;
  static constexpr std::string_view kName = "revocation";

  ArtifactId id{};
  std::string space;
  crypto::PeerId owner;
  RevocationKind kind = RevocationKind::kMember;
  Timestamp issued_at = 0;
  crypto::PeerId peer;                             // kMember, kIssuer: never the owner
  ArtifactId capability{};                         // kCapability
  IssuerPolicy policy = IssuerPolicy::kRevokeAll;  // kIssuer
  Timestamp after = 0;                             // kIssuer with kRevokeIssuedAfter

  const crypto::PeerId& signer() const { return owner; }

  core::Result<core::Bytes> encode() const;
  static Checked<Revocation> decode(core::ByteView payload);
  friend bool operator==(const Revocation&, const Revocation&) = default;
};

// "Peer `requester` asks to join `space` as `role`." Signed by the requester.
struct JoinRequest {
  static constexpr ArtifactType kType = ArtifactType::kJoinRequest;
  static constexpr std::string_view kName = "join request";

  ArtifactId nonce{};
  std::string space;
  crypto::PeerId requester;
  Role role = Role::kMember;  // never kOwner
  Timestamp created_at = 0;

  const crypto::PeerId& signer() const { return requester; }

  core::Result<core::Bytes> encode() const;
  static Checked<JoinRequest> decode(core::ByteView payload);
  friend bool operator==(const JoinRequest&, const JoinRequest&) = default;
};

enum class JoinOutcome : std::uint8_t {
  kApproved = 1,
  kRejected = 2,
};

std::string_view to_string(JoinOutcome outcome);

// The answer to a join request, signed by the decider. An approval carries
// the membership capability it grants; a rejection carries none.
struct JoinDecision {
  static constexpr ArtifactType kType = ArtifactType::kJoinDecision;
  static constexpr std::string_view kName = "join decision";

  ArtifactId request{};  // the request's nonce
  std::string space;
  crypto::PeerId requester;
  crypto::PeerId decider;
  JoinOutcome outcome = JoinOutcome::kRejected;
  Timestamp issued_at = 0;
  std::string reason;  // optional; at most kMaxReasonBytes of UTF-8
  std::optional<Signed<MembershipCapability>> capability;  // exactly when approved

  const crypto::PeerId& signer() const { return decider; }

  core::Result<core::Bytes> encode() const;
  static Checked<JoinDecision> decode(core::ByteView payload);
};

}  // namespace soma::cap
