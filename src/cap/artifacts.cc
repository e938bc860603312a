#include "cap/artifacts.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <span>
#include <utility>

#include "core/base_encoding.h"
#include "crypto/random.h"

namespace soma::cap {
namespace {

using cbor::Value;

// Keys every payload shares.
constexpr std::uint64_t kKeyType = 0;
constexpr std::uint64_t kKeyVersion = 1;

// Space ids: 16 random bytes, unpadded lower-case base32.
constexpr std::size_t kSpaceIdBytes = 16;
constexpr std::size_t kSpaceIdLength = 26;

namespace membership_keys {
constexpr std::uint64_t kId = 2, kSpace = 3, kOwner = 4, kSubject = 5, kRole = 6, kIssuer = 7,
                        kIssuedAt = 8, kExpiresAt = 9, kDelegation = 10;
}
namespace issuer_keys {
constexpr std::uint64_t kId = 2, kSpace = 3, kOwner = 4, kDelegate = 5, kRoles = 6, kIssuedAt = 7,
                        kExpiresAt = 8, kMaxMemberExpiresAt = 9, kRatePerHour = 10;
}
namespace revocation_keys {
constexpr std::uint64_t kId = 2, kSpace = 3, kOwner = 4, kKind = 5, kIssuedAt = 6, kPeer = 7,
                        kCapability = 8, kPolicy = 9, kAfter = 10;
}
namespace join_request_keys {
constexpr std::uint64_t kNonce = 2, kSpace = 3, kRequester = 4, kRole = 5, kCreatedAt = 6;
}
namespace join_decision_keys {
constexpr std::uint64_t kRequest = 2, kSpace = 3, kRequester = 4, kDecider = 5, kOutcome = 6,
                        kIssuedAt = 7, kReason = 8, kCapability = 9;
}

struct KeySpec {
  std::uint64_t key;
  std::string_view name;
  bool required;
};

constexpr KeySpec kMembershipKeys[] = {
    {kKeyType, "type", true},
    {kKeyVersion, "version", true},
    {membership_keys::kId, "id", true},
    {membership_keys::kSpace, "space", true},
    {membership_keys::kOwner, "owner", true},
    {membership_keys::kSubject, "subject", true},
    {membership_keys::kRole, "role", true},
    {membership_keys::kIssuer, "issuer", true},
    {membership_keys::kIssuedAt, "issued_at", true},
    {membership_keys::kExpiresAt, "expires_at", true},
    {membership_keys::kDelegation, "delegation", false},
};

constexpr KeySpec kIssuerKeys[] = {
    {kKeyType, "type", true},
    {kKeyVersion, "version", true},
    {issuer_keys::kId, "id", true},
    {issuer_keys::kSpace, "space", true},
    {issuer_keys::kOwner, "owner", true},
    {issuer_keys::kDelegate, "delegate", true},
    {issuer_keys::kRoles, "roles", true},
    {issuer_keys::kIssuedAt, "issued_at", true},
    {issuer_keys::kExpiresAt, "expires_at", true},
    {issuer_keys::kMaxMemberExpiresAt, "max_member_expires_at", true},
    {issuer_keys::kRatePerHour, "rate_per_hour", true},
};

// Which of keys 7-10 a revocation carries depends on its kind; the decoder
// checks that after reading the kind.
constexpr KeySpec kRevocationKeys[] = {
    {kKeyType, "type", true},
    {kKeyVersion, "version", true},
    {revocation_keys::kId, "id", true},
    {revocation_keys::kSpace, "space", true},
    {revocation_keys::kOwner, "owner", true},
    {revocation_keys::kKind, "kind", true},
    {revocation_keys::kIssuedAt, "issued_at", true},
    {revocation_keys::kPeer, "peer", false},
    {revocation_keys::kCapability, "capability", false},
    {revocation_keys::kPolicy, "policy", false},
    {revocation_keys::kAfter, "after", false},
};

constexpr KeySpec kJoinRequestKeys[] = {
    {kKeyType, "type", true},
    {kKeyVersion, "version", true},
    {join_request_keys::kNonce, "nonce", true},
    {join_request_keys::kSpace, "space", true},
    {join_request_keys::kRequester, "requester", true},
    {join_request_keys::kRole, "role", true},
    {join_request_keys::kCreatedAt, "created_at", true},
};

constexpr KeySpec kJoinDecisionKeys[] = {
    {kKeyType, "type", true},
    {kKeyVersion, "version", true},
    {join_decision_keys::kRequest, "request", true},
    {join_decision_keys::kSpace, "space", true},
    {join_decision_keys::kRequester, "requester", true},
    {join_decision_keys::kDecider, "decider", true},
    {join_decision_keys::kOutcome, "outcome", true},
    {join_decision_keys::kIssuedAt, "issued_at", true},
    {join_decision_keys::kReason, "reason", false},
    {join_decision_keys::kCapability, "capability", false},
};

// Reads one payload map. The first problem found sticks: later reads return
// defaults and finish() reports that first problem, so decoders read
// straight through without checking after every field.
class Reader {
 public:
  Reader(std::string_view what, std::span<const KeySpec> keys) : what_(what), keys_(keys) {}

  void open(core::ByteView payload, ArtifactType type) {
    auto value = decode_cbor(payload, what_);
    if (!value.ok()) {
      error_ = value.take_refusal();
      return;
    }
    root_ = std::move(*value);
    if (!root_.is(Value::Kind::kMap)) {
      return fail(
          fmt::format("the payload must be a map, found {}", cbor::to_string(root_.kind())));
    }
    for (const auto& [key, item] : root_.as_map()) {
      if (!key.is(Value::Kind::kUnsigned)) {
        return fail(
            fmt::format("keys must be unsigned integers, found {}", cbor::to_string(key.kind())));
      }
    }
    // Type and version first: for another artifact or version, every other
    // complaint would be beside the point.
    const std::uint64_t found = uint(kKeyType, std::numeric_limits<std::uint64_t>::max());
    if (!error_ && found != static_cast<std::uint64_t>(type)) {
      const auto name = found >= 1 && found <= 5 ? to_string(static_cast<ArtifactType>(found))
                                                 : std::string_view("unknown");
      return fail(fmt::format("key 0 (type) is {} ({}), expected {} ({})", found, name,
                              static_cast<int>(type), to_string(type)));
    }
    const std::uint64_t version = uint(kKeyVersion, std::numeric_limits<std::uint64_t>::max());
    if (!error_ && version != kFormatVersion) {
      return fail(fmt::format("format version {} is not supported (this build reads version {})",
                              version, kFormatVersion));
    }
    for (const auto& [key, item] : root_.as_map()) {
      if (spec(key.as_unsigned()) == nullptr) {
        return fail(fmt::format("unknown key {}", key.as_unsigned()));
      }
    }
    for (const KeySpec& k : keys_) {
      if (k.required && root_.find(k.key) == nullptr) {
        return fail(fmt::format("missing key {} ({})", k.key, k.name));
      }
    }
  }

  bool has(std::uint64_t key) const { return !error_ && root_.find(key) != nullptr; }

  std::uint64_t uint(std::uint64_t key, std::uint64_t max) {
    const Value* v = get(key, Value::Kind::kUnsigned);
    if (v == nullptr) return 0;
    if (v->as_unsigned() > max) {
      fail_key(key, fmt::format("{} is larger than the maximum {}", v->as_unsigned(), max));
      return 0;
    }
    return v->as_unsigned();
  }

  Timestamp timestamp(std::uint64_t key) {
    return static_cast<Timestamp>(uint(key, std::numeric_limits<Timestamp>::max()));
  }

  ArtifactId id(std::uint64_t key) {
    ArtifactId out{};
    const Value* v = get(key, Value::Kind::kBytes);
    if (v == nullptr) return out;
    if (v->as_bytes().size() != kArtifactIdSize) {
      fail_key(key,
               fmt::format("must be {} bytes, found {}", kArtifactIdSize, v->as_bytes().size()));
      return out;
    }
    std::copy(v->as_bytes().begin(), v->as_bytes().end(), out.begin());
    return out;
  }

  std::string space(std::uint64_t key) {
    const Value* v = get(key, Value::Kind::kText);
    if (v == nullptr) return {};
    if (auto ok = check_space_id(v->as_text()); !ok.ok()) {
      fail_key(key, "is invalid: " + ok.error().message);
      return {};
    }
    return v->as_text();
  }

  crypto::PeerId peer(std::uint64_t key) {
    const Value* v = get(key, Value::Kind::kBytes);
    if (v == nullptr) return {};
    auto id = crypto::PeerId::from_bytes(v->as_bytes());
    if (!id.ok()) {
      fail_key(key, "is " + id.error().message);
      return {};
    }
    return std::move(*id);
  }

  Role role(std::uint64_t key) {
    const Value* v = get(key, Value::Kind::kUnsigned);
    if (v == nullptr) return Role::kMember;
    return role_of(key, v->as_unsigned());
  }

  std::vector<Role> roles(std::uint64_t key) {
    std::vector<Role> out;
    const Value* v = get(key, Value::Kind::kArray);
    if (v == nullptr) return out;
    if (v->as_array().empty()) {
      fail_key(key, "must list at least one role");
      return out;
    }
    for (const Value& item : v->as_array()) {
      if (!item.is(Value::Kind::kUnsigned)) {
        fail_key(key,
                 fmt::format("must hold role numbers, found {}", cbor::to_string(item.kind())));
        return out;
      }
      Role r = role_of(key, item.as_unsigned());
      if (error_) return out;
      if (r == Role::kOwner) {
        fail_key(key, "the owner role cannot be delegated");
        return out;
      }
      if (!out.empty() && static_cast<std::uint8_t>(r) <= static_cast<std::uint8_t>(out.back())) {
        fail_key(key, "roles must be listed once each, in ascending order");
        return out;
      }
      out.push_back(r);
    }
    return out;
  }

  std::string text(std::uint64_t key, std::size_t max_bytes) {
    const Value* v = get(key, Value::Kind::kText);
    if (v == nullptr) return {};
    if (v->as_text().size() > max_bytes) {
      fail_key(key, fmt::format("is {} bytes, more than the {} allowed", v->as_text().size(),
                                max_bytes));
      return {};
    }
    return v->as_text();
  }

  // A signed artifact embedded under `key`, decoded with T::decode.
  template <typename T>
  std::optional<Signed<T>> embedded(std::uint64_t key) {
    const Value* v = raw(key);
    if (v == nullptr) return std::nullopt;
    const std::string prefix = fmt::format("{}: key {} ({})", what_, key, name_of(key));
    auto envelope = envelope_from_value(*v, prefix);
    if (!envelope.ok()) {
      error_ = envelope.take_refusal();
      return std::nullopt;
    }
    auto body = T::decode(envelope->payload);
    if (!body.ok()) {
      Refusal inner = body.take_refusal();
      error_ = Refusal{inner.reason, fmt::format("{}: {}", prefix, inner.message)};
      return std::nullopt;
    }
    return Signed<T>{std::move(*body), std::move(*envelope)};
  }

  void fail(std::string detail) {
    if (!error_) error_ = Refusal{Reason::kMalformed, fmt::format("{}: {}", what_, detail)};
  }

  void fail_key(std::uint64_t key, std::string_view detail) {
    fail(fmt::format("key {} ({}) {}", key, name_of(key), detail));
  }

  bool failed() const { return error_.has_value(); }

  // The first problem, if any.
  std::optional<Refusal> finish() { return std::move(error_); }

 private:
  const KeySpec* spec(std::uint64_t key) const {
    for (const KeySpec& k : keys_) {
      if (k.key == key) return &k;
    }
    return nullptr;
  }

  std::string_view name_of(std::uint64_t key) const {
    const KeySpec* k = spec(key);
    return k == nullptr ? std::string_view("?") : k->name;
  }

  const Value* raw(std::uint64_t key) const {
    if (error_) return nullptr;
    return root_.find(key);
  }

  const Value* get(std::uint64_t key, Value::Kind kind) {
    if (error_) return nullptr;
    const Value* v = root_.find(key);
    if (v == nullptr) {
      fail(fmt::format("missing key {} ({})", key, name_of(key)));
      return nullptr;
    }
    if (!v->is(kind)) {
      fail_key(key, fmt::format("must be {}, found {}", cbor::to_string(kind),
                                cbor::to_string(v->kind())));
      return nullptr;
    }
    return v;
  }

  Role role_of(std::uint64_t key, std::uint64_t n) {
    if (n < static_cast<std::uint64_t>(Role::kOwner) ||
        n > static_cast<std::uint64_t>(Role::kBot)) {
      fail_key(key, fmt::format("holds unknown role {} (known: 1 owner, 2 editor, 3 viewer, 4 "
                                "member, 5 bot)",
                                n));
      return Role::kMember;
    }
    return static_cast<Role>(n);
  }

  std::string_view what_;
  std::span<const KeySpec> keys_;
  Value root_;
  std::optional<Refusal> error_;
};

// Builds a payload map; entries may come in any order, cbor::encode sorts.
class Writer {
 public:
  explicit Writer(ArtifactType type) {
    put(kKeyType, Value::unsigned_integer(static_cast<std::uint64_t>(type)));
    put(kKeyVersion, Value::unsigned_integer(kFormatVersion));
  }

  void put(std::uint64_t key, Value v) {
    entries_.emplace_back(Value::unsigned_integer(key), std::move(v));
  }
  void put_uint(std::uint64_t key, std::uint64_t n) { put(key, Value::unsigned_integer(n)); }
  // Negative times are refused by the decoder; encoding them as their
  // two's complement would sign something other than what was meant.
  void put_time(std::uint64_t key, Timestamp t) {
    put(key, t < 0 ? Value::negative_integer(0)
                   : Value::unsigned_integer(static_cast<std::uint64_t>(t)));
  }
  void put_id(std::uint64_t key, const ArtifactId& id) { put(key, Value::bytes(id)); }
  void put_peer(std::uint64_t key, const crypto::PeerId& p) { put(key, Value::bytes(p.bytes())); }
  void put_text(std::uint64_t key, std::string_view t) { put(key, Value::text(t)); }
  void put_role(std::uint64_t key, Role r) { put_uint(key, static_cast<std::uint64_t>(r)); }

  // Encodes, then decodes the result with `decode` so nothing is ever
  // signed that a verifier would refuse to read.
  template <typename T>
  core::Result<core::Bytes> finish(Checked<T> (*decode)(core::ByteView)) && {
    auto bytes = cbor::encode(Value::map(std::move(entries_)));
    if (!bytes.ok()) return bytes.take_error();
    auto check = decode(*bytes);
    if (!check.ok()) {
      return core::Error::invalid(fmt::format("cannot encode: {}", check.refusal().message));
    }
    return bytes;
  }

 private:
  Value::Map entries_;
};

}  // namespace

ArtifactId new_artifact_id() {
  ArtifactId id{};
  crypto::fill_random(id);
  return id;
}

std::string to_hex(const ArtifactId& id) { return core::hex_encode(id); }

std::string_view to_string(ArtifactType type) {
  switch (type) {
    case ArtifactType::kMembership:
      return MembershipCapability::kName;
    case ArtifactType::kIssuer:
      return IssuerCapability::kName;
    case ArtifactType::kRevocation:
      return Revocation::kName;
    case ArtifactType::kJoinRequest:
      return JoinRequest::kName;
    case ArtifactType::kJoinDecision:
      return JoinDecision::kName;
  }
  return "unknown artifact";
}

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kOwner:
      return "owner";
    case Role::kEditor:
      return "editor";
    case Role::kViewer:
      return "viewer";
    case Role::kMember:
      return "member";
    case Role::kBot:
      return "bot";
  }
  return "unknown";
}

core::Result<Role> parse_role(std::string_view text) {
  for (Role r : {Role::kOwner, Role::kEditor, Role::kViewer, Role::kMember, Role::kBot}) {
    if (text == to_string(r)) return r;
  }
  return core::Error::invalid(fmt::format(
      "unknown role \"{}\"; use one of owner, editor, viewer, member, bot", text.substr(0, 32)));
}

int role_rank(Role role) {
  switch (role) {
    case Role::kOwner:
      return 5;
    case Role::kEditor:
      return 4;
    case Role::kMember:
      return 3;
    case Role::kViewer:
      return 2;
    case Role::kBot:
      return 1;
  }
  return 0;
}

core::Status check_space_id(std::string_view id) {
  if (id.size() != kSpaceIdLength) {
    return core::Error::invalid(
        fmt::format("a space id is {} characters of lower-case base32, this one has {}",
                    kSpaceIdLength, id.size()));
  }
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'))) {
      return core::Error::invalid(
          "a space id is lower-case base32 (a-z, 2-7); this one has another character");
    }
  }
  auto bytes = core::base32_decode(id);
  if (!bytes.ok() || bytes->size() != kSpaceIdBytes) {
    return core::Error::invalid("a space id must encode 16 bytes in canonical base32");
  }
  return {};
}

bool IssuerCapability::allows(Role role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

// ---------------------------------------------------------------------------
// IssuerCapability

core::Result<core::Bytes> IssuerCapability::encode() const {
  namespace k = issuer_keys;
  Writer w(kType);
  w.put_id(k::kId, id);
  w.put_text(k::kSpace, space);
  w.put_peer(k::kOwner, owner);
  w.put_peer(k::kDelegate, delegate);
  Value::Array list;
  for (Role r : roles) list.push_back(Value::unsigned_integer(static_cast<std::uint64_t>(r)));
  w.put(k::kRoles, Value::array(std::move(list)));
  w.put_time(k::kIssuedAt, issued_at);
  w.put_time(k::kExpiresAt, expires_at);
  w.put_time(k::kMaxMemberExpiresAt, max_member_expires_at);
  w.put_uint(k::kRatePerHour, rate_per_hour);
  return std::move(w).finish(&IssuerCapability::decode);
}

Checked<IssuerCapability> IssuerCapability::decode(core::ByteView payload) {
  namespace k = issuer_keys;
  Reader r(kName, kIssuerKeys);
  r.open(payload, kType);
  IssuerCapability c;
  c.id = r.id(k::kId);
  c.space = r.space(k::kSpace);
  c.owner = r.peer(k::kOwner);
  c.delegate = r.peer(k::kDelegate);
  c.roles = r.roles(k::kRoles);
  c.issued_at = r.timestamp(k::kIssuedAt);
  c.expires_at = r.timestamp(k::kExpiresAt);
  c.max_member_expires_at = r.timestamp(k::kMaxMemberExpiresAt);
  c.rate_per_hour = static_cast<std::uint32_t>(
      r.uint(k::kRatePerHour, std::numeric_limits<std::uint32_t>::max()));
  if (!r.failed()) {
    if (c.expires_at <= c.issued_at) r.fail("expires_at must be later than issued_at");
    if (c.max_member_expires_at <= c.issued_at) {
      r.fail("max_member_expires_at must be later than issued_at");
    }
    if (c.delegate == c.owner) r.fail("the owner cannot be its own delegate");
  }
  if (auto e = r.finish()) return std::move(*e);
  return c;
}

// ---------------------------------------------------------------------------
// MembershipCapability

core::Result<core::Bytes> MembershipCapability::encode() const {
  namespace k = membership_keys;
  Writer w(kType);
  w.put_id(k::kId, id);
  w.put_text(k::kSpace, space);
  w.put_peer(k::kOwner, owner);
  w.put_peer(k::kSubject, subject);
  w.put_role(k::kRole, role);
  w.put_peer(k::kIssuer, issuer);
  w.put_time(k::kIssuedAt, issued_at);
  w.put_time(k::kExpiresAt, expires_at);
  if (delegation) w.put(k::kDelegation, envelope_value(delegation->envelope));
  return std::move(w).finish(&MembershipCapability::decode);
}

Checked<MembershipCapability> MembershipCapability::decode(core::ByteView payload) {
  namespace k = membership_keys;
  Reader r(kName, kMembershipKeys);
  r.open(payload, kType);
  MembershipCapability c;
  c.id = r.id(k::kId);
  c.space = r.space(k::kSpace);
  c.owner = r.peer(k::kOwner);
  c.subject = r.peer(k::kSubject);
  c.role = r.role(k::kRole);
  c.issuer = r.peer(k::kIssuer);
  c.issued_at = r.timestamp(k::kIssuedAt);
  c.expires_at = r.timestamp(k::kExpiresAt);
  if (r.has(k::kDelegation)) c.delegation = r.embedded<IssuerCapability>(k::kDelegation);
  if (!r.failed()) {
    if (c.expires_at <= c.issued_at) r.fail("expires_at must be later than issued_at");
    if (c.delegation && c.issuer == c.owner) {
      r.fail("key 10 (delegation) must be absent when the owner is the issuer");
    }
  }
  if (auto e = r.finish()) return std::move(*e);
  return c;
}

// ---------------------------------------------------------------------------
// Revocation

std::string_view to_string(RevocationKind kind) {
  switch (kind) {
    case RevocationKind::kMember:
      return "member";
    case RevocationKind::kCapability:
      return "capability";
    case RevocationKind::kIssuer:
      return "issuer";
  }
  return "unknown";
}

std::string_view to_string(IssuerPolicy policy) {
  switch (policy) {
    case IssuerPolicy::kKeepIssued:
      return "keep issued";
    case IssuerPolicy::kRevokeIssuedAfter:
      return "revoke issued after";
    case IssuerPolicy::kRevokeAll:
      return "revoke all";
  }
  return "unknown";
}

core::Result<core::Bytes> Revocation::encode() const {
  namespace k = revocation_keys;
  Writer w(kType);
  w.put_id(k::kId, id);
  w.put_text(k::kSpace, space);
  w.put_peer(k::kOwner, owner);
  w.put_uint(k::kKind, static_cast<std::uint64_t>(kind));
  w.put_time(k::kIssuedAt, issued_at);
  switch (kind) {
    case RevocationKind::kMember:
      w.put_peer(k::kPeer, peer);
      break;
    case RevocationKind::kCapability:
      w.put_id(k::kCapability, capability);
      break;
    case RevocationKind::kIssuer:
      w.put_peer(k::kPeer, peer);
      w.put_uint(k::kPolicy, static_cast<std::uint64_t>(policy));
      if (policy == IssuerPolicy::kRevokeIssuedAfter) w.put_time(k::kAfter, after);
      break;
  }
  return std::move(w).finish(&Revocation::decode);
}

Checked<Revocation> Revocation::decode(core::ByteView payload) {
  namespace k = revocation_keys;
  Reader r(kName, kRevocationKeys);
  r.open(payload, kType);
  Revocation c;
  c.id = r.id(k::kId);
  c.space = r.space(k::kSpace);
  c.owner = r.peer(k::kOwner);
  const std::uint64_t kind = r.uint(k::kKind, std::numeric_limits<std::uint64_t>::max());
  c.issued_at = r.timestamp(k::kIssuedAt);
  if (!r.failed() && (kind < 1 || kind > 3)) {
    r.fail_key(k::kKind, fmt::format("holds unknown kind {} (known: 1 member, 2 capability, "
                                     "3 issuer)",
                                     kind));
  }
  if (!r.failed()) {
    c.kind = static_cast<RevocationKind>(kind);
    // Exactly the keys this kind uses, so each revocation has one form.
    const bool wants_peer = c.kind != RevocationKind::kCapability;
    const bool wants_capability = c.kind == RevocationKind::kCapability;
    const bool wants_policy = c.kind == RevocationKind::kIssuer;
    auto expect = [&](std::uint64_t key, std::string_view name, bool wanted) {
      if (r.failed() || r.has(key) == wanted) return;
      r.fail(fmt::format("a {} revocation {} key {} ({})", to_string(c.kind),
                         wanted ? "needs" : "must not have", key, name));
    };
    expect(k::kPeer, "peer", wants_peer);
    expect(k::kCapability, "capability", wants_capability);
    expect(k::kPolicy, "policy", wants_policy);
    if (wants_peer) c.peer = r.peer(k::kPeer);
    if (wants_capability) c.capability = r.id(k::kCapability);
    if (wants_policy) {
      const std::uint64_t policy = r.uint(k::kPolicy, std::numeric_limits<std::uint64_t>::max());
      if (!r.failed() && (policy < 1 || policy > 3)) {
        r.fail_key(k::kPolicy, fmt::format("holds unknown policy {} (known: 1 keep issued, 2 "
                                           "revoke issued after, 3 revoke all)",
                                           policy));
      }
      c.policy = static_cast<IssuerPolicy>(policy);
    }
    const bool wants_after =
        wants_policy && !r.failed() && c.policy == IssuerPolicy::kRevokeIssuedAfter;
    expect(k::kAfter, "after", wants_after);
    if (wants_after) c.after = r.timestamp(k::kAfter);
    if (!r.failed() && wants_peer && c.peer == c.owner) r.fail("the owner cannot be revoked");
  }
  if (auto e = r.finish()) return std::move(*e);
  return c;
}

// ---------------------------------------------------------------------------
// JoinRequest

core::Result<core::Bytes> JoinRequest::encode() const {
  namespace k = join_request_keys;
  Writer w(kType);
  w.put_id(k::kNonce, nonce);
  w.put_text(k::kSpace, space);
  w.put_peer(k::kRequester, requester);
  w.put_role(k::kRole, role);
  w.put_time(k::kCreatedAt, created_at);
  return std::move(w).finish(&JoinRequest::decode);
}

Checked<JoinRequest> JoinRequest::decode(core::ByteView payload) {
  namespace k = join_request_keys;
  Reader r(kName, kJoinRequestKeys);
  r.open(payload, kType);
  JoinRequest c;
  c.nonce = r.id(k::kNonce);
  c.space = r.space(k::kSpace);
  c.requester = r.peer(k::kRequester);
  c.role = r.role(k::kRole);
  c.created_at = r.timestamp(k::kCreatedAt);
  if (!r.failed() && c.role == Role::kOwner) r.fail("nobody can ask to join as the owner");
  if (auto e = r.finish()) return std::move(*e);
  return c;
}

// ---------------------------------------------------------------------------
// JoinDecision

std::string_view to_string(JoinOutcome outcome) {
  switch (outcome) {
    case JoinOutcome::kApproved:
      return "approved";
    case JoinOutcome::kRejected:
      return "rejected";
  }
  return "unknown";
}

core::Result<core::Bytes> JoinDecision::encode() const {
  namespace k = join_decision_keys;
  Writer w(kType);
  w.put_id(k::kRequest, request);
  w.put_text(k::kSpace, space);
  w.put_peer(k::kRequester, requester);
  w.put_peer(k::kDecider, decider);
  w.put_uint(k::kOutcome, static_cast<std::uint64_t>(outcome));
  w.put_time(k::kIssuedAt, issued_at);
  if (!reason.empty()) w.put_text(k::kReason, reason);
  if (capability) w.put(k::kCapability, envelope_value(capability->envelope));
  return std::move(w).finish(&JoinDecision::decode);
}

Checked<JoinDecision> JoinDecision::decode(core::ByteView payload) {
  namespace k = join_decision_keys;
  Reader r(kName, kJoinDecisionKeys);
  r.open(payload, kType);
  JoinDecision c;
  c.request = r.id(k::kRequest);
  c.space = r.space(k::kSpace);
  c.requester = r.peer(k::kRequester);
  c.decider = r.peer(k::kDecider);
  const std::uint64_t outcome = r.uint(k::kOutcome, std::numeric_limits<std::uint64_t>::max());
  c.issued_at = r.timestamp(k::kIssuedAt);
  if (!r.failed() && (outcome < 1 || outcome > 2)) {
    r.fail_key(k::kOutcome,
               fmt::format("holds unknown outcome {} (known: 1 approved, 2 rejected)", outcome));
  }
  c.outcome = static_cast<JoinOutcome>(outcome);
  if (r.has(k::kReason)) {
    c.reason = r.text(k::kReason, kMaxReasonBytes);
    // An empty reason is written by leaving the key out: one form only.
    if (!r.failed() && c.reason.empty()) r.fail_key(k::kReason, "must not be empty when present");
  }
  const bool approved = c.outcome == JoinOutcome::kApproved;
  if (!r.failed() && r.has(k::kCapability) != approved) {
    r.fail(approved ? "an approval needs key 9 (capability)"
                    : "a rejection must not carry key 9 (capability)");
  }
  if (approved) c.capability = r.embedded<MembershipCapability>(k::kCapability);
  if (auto e = r.finish()) return std::move(*e);
  return c;
}

}  // namespace soma::cap
