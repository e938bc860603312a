#include "membership/delegation_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <set>
#include <utility>

#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap/verify.h"
#include "membership/journal.h"
#include "membership/rate_limiter.h"
#include "space/validation.h"
#include "store/delegation_repository.h"
#include "store/membership_repository.h"
#include "store/space_repository.h"

namespace soma::membership {
namespace {

using core::Error;
using core::Result;
using core::Status;
using space::validation::printable;
using Kind = wire::PushMessage::Kind;

// Audit actions (docs/capabilities.md lists them with the join flow's).
constexpr std::string_view kDelegationIssued = "delegation.issued";
constexpr std::string_view kDelegationReceived = "delegation.received";
constexpr std::string_view kRevocationIssued = "revocation.issued";
constexpr std::string_view kRevocationAccepted = "revocation.accepted";
constexpr std::string_view kCapabilityReported = "capability.reported";
constexpr std::string_view kPushUndeliverable = "push.undeliverable";

// How this device holds a space it only issues memberships for.
constexpr std::string_view kIssuerRole = "issuer";
constexpr std::string_view kDelegatedState = "delegated";
constexpr std::string_view kRevokedState = "revoked";

std::string format_time(Timestamp ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return fmt::format("{} ms", ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

core::Bytes id_bytes(const cap::ArtifactId& id) { return core::Bytes(id.begin(), id.end()); }

std::string join_roles(const std::vector<cap::Role>& roles) {
  std::string out;
  for (cap::Role r : roles) {
    if (!out.empty()) out += ',';
    out += cap::to_string(r);
  }
  return out;
}

std::vector<std::string> role_names(const std::vector<cap::Role>& roles) {
  std::vector<std::string> out;
  for (cap::Role r : roles) out.emplace_back(cap::to_string(r));
  return out;
}

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::kDelegation:
      return "delegation";
    case Kind::kRevocation:
      return "revocation";
    case Kind::kIssued:
      return "issued membership";
  }
  return "artifact";
}

// "valid", "expired", "revoked" or "invalid" for a refusal reason.
std::string state_of(cap::Reason reason) {
  switch (reason) {
    case cap::Reason::kExpired:
    case cap::Reason::kDelegationExpired:
      return "expired";
    case cap::Reason::kMemberRevoked:
    case cap::Reason::kCapabilityRevoked:
    case cap::Reason::kIssuerRevoked:
    case cap::Reason::kDelegationRevoked:
      return "revoked";
    default:
      return "invalid";
  }
}

}  // namespace

struct DelegationService::Impl {
  store::Database& db;
  cap::Authorizer& authorizer;
  store::CapabilityRepository& capabilities;
  const cap::SpaceDirectory& spaces;
  const cap::Clock& clock;
  const crypto::Ed25519PrivateKey identity;
  const crypto::PeerId local;
  store::DelegationRepository delegations;
  store::PushOutboxRepository outbox;
  store::SpaceRepository space_rows;
  store::MembershipRepository memberships;
  Journal journal;
  RateLimiter rate{kPushesPerWindow, kPushRateWindow, kMaxPushRateTrackedPeers};
  std::function<void()> on_push;

  Impl(store::Database& db_in, store::EventLog& events_in, cap::Authorizer& authorizer_in,
       store::CapabilityRepository& capabilities_in, const cap::SpaceDirectory& spaces_in,
       const cap::Clock& clock_in, crypto::Ed25519PrivateKey identity_in, crypto::PeerId local_in)
      : db(db_in),
        authorizer(authorizer_in),
        capabilities(capabilities_in),
        spaces(spaces_in),
        clock(clock_in),
        identity(std::move(identity_in)),
        local(std::move(local_in)),
        delegations(db_in),
        outbox(db_in),
        space_rows(db_in),
        memberships(db_in),
        journal(db_in, events_in, clock_in) {}

  template <typename Fn>
  Status commit(Fn&& fn) {
    return journal.commit(std::forward<Fn>(fn));
  }

  Status emit(const std::string& kind, const std::string& space_id, const std::string& subject,
              const std::string& detail) {
    return journal.emit(kind, space_id, subject, detail);
  }

  Status audit(std::string_view action, const std::string& space_id, const std::string& actor,
               const std::string& subject, const std::string& capability_id,
               const std::string& role, const std::string& detail) {
    return journal.audit({.space_id = space_id,
                          .action = std::string(action),
                          .actor = actor,
                          .subject = subject,
                          .capability_id = capability_id,
                          .role = role,
                          .detail = detail});
  }

  Status enqueue(const std::string& peer, Kind kind, const std::string& space_id,
                 const std::string& space_name, const core::Bytes& artifact) {
    const Timestamp now = clock.now();
    store::PushItem item;
    item.peer = peer;
    item.kind = static_cast<std::int64_t>(kind);
    item.space_id = space_id;
    item.space_name = space_name;
    item.artifact = artifact;
    item.next_attempt_ms = now;
    item.give_up_ms = now + kPushGiveUpAfter;
    item.created_ms = now;
    auto id = outbox.enqueue(item);
    if (!id) return id.take_error();
    return {};
  }

  void notify() {
    if (on_push) on_push();
  }

  // A space held here, by id or by a name that names exactly one.
  Result<store::SpaceRecord> resolve_space(const std::string& space) {
    if (space.empty()) return Error::invalid("name the space: its id or its name");
    auto by_id = space_rows.find(space);
    if (!by_id) return by_id.take_error();
    if (*by_id) return std::move(**by_id);
    auto by_name = space_rows.find_by_name(space);
    if (!by_name) return by_name.take_error();
    if (by_name->size() > 1) {
      return Error::invalid(
          fmt::format("{} names {} spaces; use the space's id", printable(space), by_name->size()));
    }
    if (by_name->empty()) {
      return Error::not_found(
          fmt::format("no space named or with id {}; `soma spaces` shows them", printable(space)));
    }
    return std::move(by_name->front());
  }

  // The space, which this peer must own, as a SpaceRef.
  Result<std::pair<store::SpaceRecord, cap::SpaceRef>> owned_space(const std::string& space,
                                                                   std::string_view action) {
    auto row = resolve_space(space);
    if (!row) return row.take_error();
    if (row->owner != local.to_string()) {
      return Error::denied(
          fmt::format("only the owner of space {} ({}) can {}; this peer is not its owner", row->id,
                      row->owner, action));
    }
    cap::SpaceRef ref{row->id, local};
    return std::make_pair(std::move(*row), std::move(ref));
  }

  Result<crypto::PeerId> parse_peer(const std::string& text) {
    auto peer = crypto::PeerId::parse(text);
    if (!peer) {
      return Error::invalid(
          fmt::format("{} is not a peer id; peer ids look like 12D3KooW…", printable(text)));
    }
    return std::move(*peer);
  }

  DelegationInfo to_info(const cap::Signed<cap::IssuerCapability>& d, const std::string& name,
                         Timestamp now) {
    DelegationInfo info;
    info.id = cap::to_hex(d.body.id);
    info.space_id = d.body.space;
    info.space_name = name;
    info.owner = d.body.owner.to_string();
    info.delegate = d.body.delegate.to_string();
    info.roles = role_names(d.body.roles);
    info.issued_ms = d.body.issued_at;
    info.expires_ms = d.body.expires_at;
    info.max_member_expires_ms = d.body.max_member_expires_at;
    info.rate_per_hour = d.body.rate_per_hour;
    info.state = now < d.body.expires_at ? "valid" : "expired";
    return info;
  }

  // Marks this device's own hold on the space revoked when `r` withdraws
  // it, so `soma spaces` and `soma members` say so: a delegation named by
  // the revocation, or a membership the authorizer now refuses as revoked.
  Status apply_to_own_hold(const cap::Revocation& r, Timestamp now) {
    auto held = memberships.find(r.space);
    if (!held) return held.take_error();
    if (!*held) return {};
    store::MembershipRecord m = std::move(**held);
    if (m.state == kRevokedState) return {};
    bool hit = false;
    if (m.state == kDelegatedState) {
      hit =
          (r.kind == cap::RevocationKind::kIssuer && r.peer == local) ||
          (r.kind == cap::RevocationKind::kCapability && m.capability_id == id_bytes(r.capability));
    } else {
      auto decision = authorizer.authorize(r.space, local);
      if (!decision) return decision.take_error();
      hit = !decision->allowed() && state_of(decision->refusal->reason) == kRevokedState;
    }
    if (!hit) return {};
    m.state = std::string(kRevokedState);
    m.updated_ms = now;
    return memberships.upsert(m);
  }

  Status receive_delegation(const crypto::PeerId& from, const wire::PushMessage& message);
  Status receive_revocation(const crypto::PeerId& from, const wire::PushMessage& message);
  Status receive_issued(const crypto::PeerId& from, const wire::PushMessage& message);
};

DelegationService::DelegationService(store::Database& db, store::EventLog& events,
                                     cap::Authorizer& authorizer,
                                     store::CapabilityRepository& capabilities,
                                     const cap::SpaceDirectory& spaces, const cap::Clock& clock,
                                     crypto::Ed25519PrivateKey identity)
    : local_peer_(crypto::PeerId::from_public_key(identity.public_key())),
      impl_(std::make_unique<Impl>(db, events, authorizer, capabilities, spaces, clock,
                                   std::move(identity), local_peer_)) {}

DelegationService::~DelegationService() = default;

void DelegationService::set_push_listener(std::function<void()> listener) {
  impl_->on_push = std::move(listener);
}

void DelegationService::notify_push() { impl_->notify(); }

// ---------------------------------------------------------------------------
// The owner's side.

core::Result<DelegationInfo> DelegationService::delegate(const DelegateArgs& args) {
  Impl& m = *impl_;
  auto owned = m.owned_space(args.space, "delegate issuing memberships");
  if (!owned) return owned.take_error();
  store::SpaceRecord& row = owned->first;
  const cap::SpaceRef& ref = owned->second;
  auto peer = m.parse_peer(args.peer);
  if (!peer) return peer.take_error();
  if (*peer == m.local) {
    return Error::invalid("the owner issues memberships itself; delegate to another peer");
  }
  if (args.roles.empty()) {
    return Error::invalid("name the roles the delegate may grant, e.g. --roles editor,viewer");
  }
  std::vector<cap::Role> roles;
  for (const std::string& text : args.roles) {
    auto role = cap::parse_role(text);
    if (!role) return role.take_error();
    if (*role == cap::Role::kOwner) {
      return Error::invalid(
          "the owner role cannot be delegated; use editor, viewer, member or bot");
    }
    roles.push_back(*role);
  }
  const Timestamp now = m.clock.now();
  if (args.expires_at <= now) {
    return Error::invalid(fmt::format("the delegation's expiry {} is not in the future",
                                      format_time(args.expires_at)));
  }
  if (args.max_member_expires_at <= now) {
    return Error::invalid(
        fmt::format("the longest membership the delegate may grant ends at {}, "
                    "which is not in the future",
                    format_time(args.max_member_expires_at)));
  }
  if (args.max_member_expires_at > args.expires_at) {
    return Error::invalid(fmt::format(
        "memberships a delegate grants end when its delegation does: --max-member-expiry {} "
        "is later than --expires {}; give a time no later than the delegation's expiry",
        format_time(args.max_member_expires_at), format_time(args.expires_at)));
  }
  if (args.rate_per_hour == 0) {
    return Error::invalid("the delegate's rate must allow at least 1 membership per hour");
  }

  auto signed_delegation =
      cap::issue_delegation(m.identity, ref,
                            cap::DelegationGrant{*peer, roles, now, args.expires_at,
                                                 args.max_member_expires_at, args.rate_per_hour});
  if (!signed_delegation) return signed_delegation.take_error();
  const cap::IssuerCapability& d = signed_delegation->body;
  const core::Bytes envelope = cap::encode_signed(*signed_delegation);

  store::DelegationRecord record;
  record.space_id = row.id;
  record.id = id_bytes(d.id);
  record.delegate = peer->to_string();
  record.roles = join_roles(d.roles);
  record.issued_ms = d.issued_at;
  record.expires_ms = d.expires_at;
  record.max_member_expires_ms = d.max_member_expires_at;
  record.rate_per_hour = d.rate_per_hour;
  record.envelope = envelope;
  record.recorded_ms = now;
  const std::string summary = fmt::format(
      "may issue {} until {}, memberships ending by {}, at most {} per hour", record.roles,
      format_time(d.expires_at), format_time(d.max_member_expires_at), d.rate_per_hour);
  Status done = m.commit([&]() -> Status {
    SOMA_TRY(m.delegations.insert(record));
    SOMA_TRY(m.enqueue(record.delegate, Kind::kDelegation, row.id, row.name, envelope));
    SOMA_TRY(m.audit(kDelegationIssued, row.id, m.local.to_string(), record.delegate,
                     cap::to_hex(d.id), record.roles, summary));
    return m.emit("delegation.issued", row.id, record.delegate,
                  fmt::format("{} {}", record.delegate, summary));
  });
  if (!done.ok()) return done.take_error();
  spdlog::info("delegation issued space={} delegate={} roles={}", row.id, record.delegate,
               record.roles);
  m.notify();
  return m.to_info(*signed_delegation, row.name, now);
}

core::Result<RevocationInfo> DelegationService::revoke(const RevokeArgs& args) {
  Impl& m = *impl_;
  auto owned = m.owned_space(args.space, "revoke");
  if (!owned) return owned.take_error();
  store::SpaceRecord& row = owned->first;
  const cap::SpaceRef& ref = owned->second;
  auto peer = m.parse_peer(args.peer);
  if (!peer) return peer.take_error();
  if (*peer == m.local) return Error::invalid("the owner of a space cannot be revoked");

  auto held = m.delegations.held_by(row.id, peer->to_string());
  if (!held) return held.take_error();
  if (!held->empty() && !args.issued) {
    return Error::invalid(fmt::format(
        "{} is a delegated issuer of space {}; say what becomes of the memberships it issued "
        "with --issued keep, --issued after=TIME or --issued all",
        peer->to_string(), row.id));
  }

  const Timestamp now = m.clock.now();
  auto signed_revocation =
      args.issued ? cap::revoke_issuer(m.identity, ref, *peer, *args.issued, args.after, now)
                  : cap::revoke_member(m.identity, ref, *peer, now);
  if (!signed_revocation) return signed_revocation.take_error();
  const cap::Revocation& r = signed_revocation->body;
  const core::Bytes envelope = cap::encode_signed(*signed_revocation);

  // Everyone this device knows in the space hears of it: the members (the
  // revoked one included, so it knows) and the delegates (so they stop
  // issuing to a revoked member, or at all).
  std::set<std::string> recipients{peer->to_string()};
  auto caps = m.capabilities.in_space(row.id, kMaxMembersListed);
  if (!caps) return caps.take_error();
  for (const auto& c : *caps) recipients.insert(c.subject.to_string());
  auto delegated = m.delegations.list(row.id, kMaxMembersListed);
  if (!delegated) return delegated.take_error();
  for (const auto& d : *delegated) recipients.insert(d.delegate);
  recipients.erase(m.local.to_string());
  if (recipients.size() > kMaxPushRecipients) {
    spdlog::warn("revocation of space={} goes to the first {} of {} known peers", row.id,
                 kMaxPushRecipients, recipients.size());
  }

  RevocationInfo info;
  info.id = cap::to_hex(r.id);
  info.space_id = row.id;
  info.kind = std::string(cap::to_string(r.kind));
  info.peer = peer->to_string();
  if (args.issued) {
    info.policy = std::string(cap::to_string(r.policy));
    info.after_ms = r.after;
  }
  info.issued_ms = r.issued_at;
  const std::string summary =
      args.issued
          ? fmt::format(
                "issuer revoked; issued memberships: {}{}", cap::to_string(r.policy),
                r.policy == cap::IssuerPolicy::kRevokeIssuedAfter ? " " + format_time(r.after) : "")
          : std::string("every membership revoked");

  Status done = m.commit([&]() -> Status {
    // Stored through the authorizer, which verifies it against the owner
    // exactly as a receiver will.
    auto accepted = m.authorizer.accept_revocation(row.id, envelope);
    if (!accepted) return accepted.take_error();
    if (!accepted->ok()) return accepted->refusal().to_error();
    std::size_t n = 0;
    for (const std::string& to : recipients) {
      if (n++ == kMaxPushRecipients) break;
      SOMA_TRY(m.enqueue(to, Kind::kRevocation, row.id, row.name, envelope));
    }
    info.recipients = std::min(recipients.size(), kMaxPushRecipients);
    SOMA_TRY(
        m.audit(kRevocationIssued, row.id, m.local.to_string(), info.peer, info.id, "", summary));
    return m.emit("revocation.issued", row.id, info.peer,
                  fmt::format("{}: {}", info.peer, summary));
  });
  if (!done.ok()) return done.take_error();
  spdlog::info("revocation issued space={} peer={} kind={} recipients={}", row.id, info.peer,
               info.kind, info.recipients);
  m.notify();
  return info;
}

// ---------------------------------------------------------------------------
// Listing.

core::Result<std::vector<MemberInfo>> DelegationService::members(const std::string& space) {
  Impl& m = *impl_;
  auto row = m.resolve_space(space);
  if (!row) return row.take_error();
  auto owner = m.parse_peer(row->owner);
  if (!owner) return Error::data_loss(fmt::format("space {} names an unreadable owner", row->id));
  const cap::SpaceRef ref{row->id, *owner};
  const Timestamp now = m.clock.now();

  std::vector<MemberInfo> out;
  MemberInfo o;
  o.peer = row->owner;
  o.kind = "owner";
  o.role = "owner";
  o.state = "owner";
  o.access = "owner";
  out.push_back(std::move(o));

  // The authorizer's answer for each peer, asked once per peer.
  std::map<std::string, std::string> access;
  auto access_of = [&](const crypto::PeerId& peer) -> Result<std::string> {
    const std::string key = peer.to_string();
    if (auto it = access.find(key); it != access.end()) return it->second;
    auto decision = m.authorizer.authorize(row->id, peer);
    if (!decision) return decision.take_error();
    std::string role = decision->allowed() ? std::string(cap::to_string(*decision->role)) : "none";
    access.emplace(key, role);
    return role;
  };

  auto caps = m.capabilities.in_space(row->id, kMaxMembersListed);
  if (!caps) return caps.take_error();
  for (const cap::AcceptedCapability& c : *caps) {
    MemberInfo info;
    info.peer = c.subject.to_string();
    info.kind = "membership";
    info.role = std::string(cap::to_string(c.role));
    info.issuer = c.issuer.to_string();
    info.capability_id = cap::to_hex(c.id);
    info.issued_ms = c.issued_at;
    info.expires_ms = c.expires_at;
    auto verified = cap::verify_membership(c.bytes, ref, c.subject, now, m.capabilities);
    if (!verified) return verified.take_error();
    if (verified->ok()) {
      info.state = "valid";
      info.expires_ms = (*verified)->valid_until;
    } else {
      info.state = state_of(verified->refusal().reason);
      info.detail = verified->refusal().message;
    }
    auto granted = access_of(c.subject);
    if (!granted) return granted.take_error();
    info.access = std::move(*granted);
    out.push_back(std::move(info));
  }

  auto delegated = m.delegations.list(row->id, kMaxMembersListed);
  if (!delegated) return delegated.take_error();
  for (const store::DelegationRecord& d : *delegated) {
    auto decoded = cap::decode_signed<cap::IssuerCapability>(d.envelope);
    if (!decoded.ok()) {
      return Error::data_loss(fmt::format("a stored delegation of space {} no longer decodes ({})",
                                          row->id, decoded.refusal().message));
    }
    MemberInfo info;
    info.peer = d.delegate;
    info.kind = "delegation";
    info.role = std::string(kIssuerRole);
    info.roles = role_names(decoded->body.roles);
    info.issuer = decoded->body.owner.to_string();
    info.capability_id = cap::to_hex(decoded->body.id);
    info.issued_ms = d.issued_ms;
    info.expires_ms = d.expires_ms;
    auto verified = cap::verify_issuer_capability(d.envelope, ref, now, m.capabilities);
    if (!verified) return verified.take_error();
    if (!verified->ok()) {
      info.state = state_of(verified->refusal().reason);
      info.detail = verified->refusal().message;
    } else if (now >= d.expires_ms) {
      info.state = "expired";
      info.detail = fmt::format("the delegation expired at {}", format_time(d.expires_ms));
    } else {
      info.state = "valid";
    }
    auto delegate = crypto::PeerId::parse(d.delegate);
    if (!delegate)
      return Error::data_loss(
          fmt::format("a delegation of space {} names an unreadable delegate", row->id));
    auto granted = access_of(*delegate);
    if (!granted) return granted.take_error();
    info.access = std::move(*granted);
    out.push_back(std::move(info));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Receiving.

core::Status DelegationService::receive(const crypto::PeerId& from,
                                        const wire::PushMessage& message) {
  if (!impl_->rate.allow(from, impl_->clock.now())) {
    return Error::exhausted(
        fmt::format("too many capability pushes from {}: at most {} in {} s; try again later",
                    from.to_string(), kPushesPerWindow, kPushRateWindow / 1000));
  }
  switch (message.kind) {
    case Kind::kDelegation:
      return impl_->receive_delegation(from, message);
    case Kind::kRevocation:
      return impl_->receive_revocation(from, message);
    case Kind::kIssued:
      return impl_->receive_issued(from, message);
  }
  return Error::invalid("unknown kind of capability push");
}

Status DelegationService::Impl::receive_delegation(const crypto::PeerId& from,
                                                   const wire::PushMessage& message) {
  auto decoded = cap::decode_signed<cap::IssuerCapability>(message.artifact);
  if (!decoded.ok()) return decoded.refusal().to_error();
  const cap::IssuerCapability& d = decoded->body;
  if (d.owner != from) {
    return Error::denied(fmt::format(
        "the delegation is signed for space owner {}, but was sent by {}; only the owner hands "
        "out delegations",
        d.owner.to_string(), from.to_string()));
  }
  if (d.delegate != local) {
    return Error::denied(fmt::format("the delegation is for {}, not this peer ({})",
                                     d.delegate.to_string(), local.to_string()));
  }
  // A space known here already keeps the owner recorded for it.
  auto known = spaces.owner_of(d.space);
  if (!known) return known.take_error();
  if (*known && **known != d.owner) {
    return Error::denied(fmt::format("space {} is owned by {} as this peer knows it, not by {}",
                                     d.space, (*known)->to_string(), d.owner.to_string()));
  }
  const cap::SpaceRef ref{d.space, d.owner};
  const Timestamp now = clock.now();
  auto verified = cap::verify_issuer_capability(message.artifact, ref, now, capabilities);
  if (!verified) return verified.take_error();
  if (!verified->ok()) return verified->refusal().to_error();

  std::string name = message.space_name;
  if (name.empty() ||
      !space::validation::check_name(name, "space name", wire::kMaxNameBytes).ok()) {
    name = "space " + d.space.substr(0, 8);
  }
  store::DelegationRecord record;
  record.space_id = d.space;
  record.id = id_bytes(d.id);
  record.delegate = local.to_string();
  record.roles = join_roles(d.roles);
  record.issued_ms = d.issued_at;
  record.expires_ms = d.expires_at;
  record.max_member_expires_ms = d.max_member_expires_at;
  record.rate_per_hour = d.rate_per_hour;
  record.envelope = message.artifact;
  record.recorded_ms = now;
  const std::string summary = fmt::format(
      "may issue {} until {}, memberships ending by {}, at most {} per hour", record.roles,
      format_time(d.expires_at), format_time(d.max_member_expires_at), d.rate_per_hour);

  Status done = commit([&]() -> Status {
    auto kept = delegations.held_by(d.space, local.to_string());
    if (!kept) return kept.take_error();
    const bool again =
        std::any_of(kept->begin(), kept->end(), [&](const auto& k) { return k.id == record.id; });
    if (again) return {};  // already stored and audited
    if (kept->size() >= kMaxDelegationsPerSpace) {
      return Error::exhausted(
          fmt::format("this peer already holds {} delegations for space {}, the most it keeps",
                      kept->size(), d.space));
    }
    if (!*known) {
      auto held_as_issuer = space_rows.count_with_role(std::string(kIssuerRole));
      if (!held_as_issuer) return held_as_issuer.take_error();
      if (*held_as_issuer >= kMaxIssuerSpaces) {
        return Error::exhausted(fmt::format(
            "this peer already issues for {} spaces, the most it takes on; the delegation for "
            "space {} is refused",
            *held_as_issuer, d.space));
      }
      store::SpaceRecord space_row;
      space_row.id = d.space;
      space_row.name = name;
      space_row.owner = d.owner.to_string();
      space_row.role = std::string(kIssuerRole);
      space_row.created_ms = space_row.updated_ms = now;
      SOMA_TRY(space_rows.insert(space_row));
    }
    auto held = memberships.find(d.space);
    if (!held) return held.take_error();
    // Held only as an issuer: the newest delegation names the hold. A
    // membership of this peer's own stays as it is.
    if (!*held || (*held)->role == kIssuerRole) {
      store::MembershipRecord hold;
      hold.space_id = d.space;
      hold.owner = d.owner.to_string();
      hold.role = std::string(kIssuerRole);
      hold.state = std::string(kDelegatedState);
      hold.capability_id = id_bytes(d.id);
      hold.expires_ms = d.expires_at;
      hold.joined_ms = *held ? (*held)->joined_ms : now;
      hold.updated_ms = now;
      SOMA_TRY(memberships.upsert(hold));
    }
    SOMA_TRY(delegations.insert(record));
    SOMA_TRY(audit(kDelegationReceived, d.space, from.to_string(), local.to_string(),
                   cap::to_hex(d.id), record.roles, summary));
    return emit("delegation.received", d.space, local.to_string(), summary);
  });
  if (!done.ok()) return done.take_error();
  spdlog::info("delegation received space={} owner={} roles={}", d.space, d.owner.to_string(),
               record.roles);
  return {};
}

Status DelegationService::Impl::receive_revocation(const crypto::PeerId& from,
                                                   const wire::PushMessage& message) {
  auto decoded = cap::decode_signed<cap::Revocation>(message.artifact);
  if (!decoded.ok()) return decoded.refusal().to_error();
  const std::string space_id = decoded->body.space;
  auto known = spaces.owner_of(space_id);
  if (!known) return known.take_error();
  if (!*known) {
    return Error::not_found(
        fmt::format("there is no space {} here; the revocation concerns nobody here", space_id));
  }
  const Timestamp now = clock.now();
  bool fresh = false;
  Status done = commit([&]() -> Status {
    auto seen = capabilities.revocations(space_id);
    if (!seen) return seen.take_error();
    fresh = std::find(seen->begin(), seen->end(), decoded->body) == seen->end();
    if (fresh && seen->size() >= kMaxRevocationsPerSpace && **known != local) {
      return Error::exhausted(fmt::format(
          "this peer already keeps {} revocations for space {}, the most it takes from others",
          seen->size(), space_id));
    }
    // Verified against the owner recorded here, then stored.
    auto accepted = authorizer.accept_revocation(space_id, message.artifact);
    if (!accepted) return accepted.take_error();
    if (!accepted->ok()) return accepted->refusal().to_error();
    if (!fresh) return {};
    const cap::Revocation& r = (*accepted)->body;
    SOMA_TRY(apply_to_own_hold(r, now));
    const std::string subject =
        r.kind == cap::RevocationKind::kCapability ? std::string() : r.peer.to_string();
    const std::string detail =
        r.kind == cap::RevocationKind::kIssuer
            ? fmt::format("issuer revoked; issued memberships: {}", cap::to_string(r.policy))
        : r.kind == cap::RevocationKind::kMember
            ? std::string("every membership revoked")
            : fmt::format("capability {} revoked", cap::to_hex(r.capability));
    SOMA_TRY(audit(kRevocationAccepted, space_id, r.owner.to_string(), subject, cap::to_hex(r.id),
                   "", fmt::format("{} (passed on by {})", detail, from.to_string())));
    return emit("revocation.received", space_id, subject, detail);
  });
  if (!done.ok()) return done.take_error();
  if (fresh) {
    spdlog::info("revocation received space={} kind={} from={}", space_id,
                 cap::to_string(decoded->body.kind), from.to_string());
  }
  return {};
}

Status DelegationService::Impl::receive_issued(const crypto::PeerId& from,
                                               const wire::PushMessage& message) {
  auto decoded = cap::decode_signed<cap::MembershipCapability>(message.artifact);
  if (!decoded.ok()) return decoded.refusal().to_error();
  const cap::MembershipCapability& c = decoded->body;
  auto owner = spaces.owner_of(c.space);
  if (!owner) return owner.take_error();
  if (!*owner) return Error::not_found(fmt::format("there is no space {} here", c.space));
  if (**owner != local) {
    return Error::denied(fmt::format(
        "space {} is owned by {}, not this peer; report issued memberships to the owner", c.space,
        (*owner)->to_string()));
  }
  auto recorded = capabilities.find(c.space, c.id);
  if (!recorded) return recorded.take_error();
  if (*recorded) return {};

  const std::string role(cap::to_string(c.role));
  return commit([&]() -> Status {
    auto accepted = authorizer.accept_reported(c.space, from, message.artifact);
    if (!accepted) return accepted.take_error();
    if (!accepted->allowed()) return accepted->refusal->to_error();
    SOMA_TRY(audit(kCapabilityReported, c.space, from.to_string(), c.subject.to_string(),
                   cap::to_hex(c.id), role,
                   fmt::format("membership as {} until {}, issued by delegate {}", role,
                               format_time(c.expires_at), from.to_string())));
    return emit("capability.reported", c.space, c.subject.to_string(),
                fmt::format("{} let {} in as {}", from.to_string(), c.subject.to_string(), role));
  });
}

// ---------------------------------------------------------------------------
// The delegate's side.

core::Result<std::optional<cap::Signed<cap::IssuerCapability>>>
DelegationService::usable_delegation(const std::string& space, const crypto::PeerId& owner) {
  using Out = std::optional<cap::Signed<cap::IssuerCapability>>;
  Impl& m = *impl_;
  auto held = m.delegations.held_by(space, m.local.to_string());
  if (!held) return held.take_error();
  const Timestamp now = m.clock.now();
  const cap::SpaceRef ref{space, owner};
  for (const store::DelegationRecord& d : *held) {
    // Issuing stops at the expiry itself: the skew allowance is for
    // receivers judging another peer's clock, not for the issuer's own.
    if (now >= d.expires_ms) continue;
    auto verified = cap::verify_issuer_capability(d.envelope, ref, now, m.capabilities);
    if (!verified) return verified.take_error();
    if (!verified->ok()) {
      spdlog::debug("delegation of space={} unusable: {}", space, verified->refusal().message);
      continue;
    }
    return Out(std::move(**verified));
  }
  return Out();
}

core::Status DelegationService::queue_report(
    const cap::Signed<cap::MembershipCapability>& capability) {
  return impl_->enqueue(capability.body.owner.to_string(), Kind::kIssued, capability.body.space, "",
                        cap::encode_signed(capability));
}

// ---------------------------------------------------------------------------
// The push outbox.

core::Result<std::vector<PendingPush>> DelegationService::due_pushes(std::size_t limit) {
  Impl& m = *impl_;
  auto items = m.outbox.due(m.clock.now(), limit);
  if (!items) return items.take_error();
  std::vector<PendingPush> out;
  for (store::PushItem& item : *items) {
    auto peer = crypto::PeerId::parse(item.peer);
    const bool known_kind = item.kind >= static_cast<std::int64_t>(Kind::kDelegation) &&
                            item.kind <= static_cast<std::int64_t>(Kind::kIssued);
    if (!peer || !known_kind) {
      spdlog::warn("dropping unreadable push outbox entry id={}", item.id);
      auto dropped = m.outbox.remove(item.id);
      if (!dropped) return dropped.take_error();
      continue;
    }
    PendingPush p;
    p.id = item.id;
    p.peer = std::move(*peer);
    p.message.kind = static_cast<Kind>(item.kind);
    p.message.artifact = std::move(item.artifact);
    p.message.space_name = std::move(item.space_name);
    p.attempts = item.attempts;
    out.push_back(std::move(p));
  }
  return out;
}

core::Result<std::optional<Timestamp>> DelegationService::next_push_at() {
  return impl_->outbox.next_due();
}

core::Status DelegationService::push_succeeded(std::int64_t id) {
  auto removed = impl_->outbox.remove(id);
  if (!removed) return removed.take_error();
  return {};
}

core::Status DelegationService::push_failed(std::int64_t id, const core::Error& why,
                                            bool permanent) {
  Impl& m = *impl_;
  auto item = m.outbox.find(id);
  if (!item) return item.take_error();
  if (!*item) return {};
  const Timestamp now = m.clock.now();
  const std::int64_t attempts = (*item)->attempts + 1;
  Timestamp delay = kPushFirstRetryDelay;
  for (std::int64_t i = 1; i < attempts && delay < kPushMaxRetryDelay; ++i) delay *= 2;
  delay = std::min(delay, kPushMaxRetryDelay);
  const Timestamp next = now + delay;
  if (!permanent && next <= (*item)->give_up_ms) {
    auto moved = m.outbox.reschedule(id, attempts, next, why.message);
    if (!moved) return moved.take_error();
    return {};
  }
  const auto kind = static_cast<Kind>((*item)->kind);
  return m.commit([&]() -> Status {
    auto dropped = m.outbox.remove(id);
    if (!dropped) return dropped.take_error();
    return m.audit(kPushUndeliverable, (*item)->space_id, m.local.to_string(), (*item)->peer, "",
                   "",
                   fmt::format("gave up sending the {} after {} attempts: {}", kind_name(kind),
                               attempts, why.message));
  });
}

}  // namespace soma::membership
