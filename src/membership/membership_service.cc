#include "membership/membership_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <limits>
#include <utility>

#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap/verify.h"
#include "membership/journal.h"
#include "membership/wire.h"
#include "space/validation.h"
#include "store/space_repository.h"

namespace soma::membership {
namespace {

using core::Error;
using core::Result;
using core::Status;
using space::validation::printable;
using store::Delivery;
using store::JoinDirection;
using store::JoinRequestRecord;
using store::JoinState;

// Audit actions (docs/membership.md lists them).
constexpr std::string_view kRequestSent = "request.sent";
constexpr std::string_view kRequestReceived = "request.received";
constexpr std::string_view kDecisionMade = "decision.made";
constexpr std::string_view kDecisionReceived = "decision.received";
constexpr std::string_view kDecisionDelivered = "decision.delivered";
constexpr std::string_view kDecisionUndeliverable = "decision.undeliverable";
constexpr std::string_view kCapabilityIssued = "capability.issued";
constexpr std::string_view kCapabilityAccepted = "capability.accepted";

constexpr std::string_view kJoinedState = "joined";
constexpr std::size_t kRequestIdLength = 2 * cap::kArtifactIdSize;

std::string format_time(Timestamp ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return fmt::format("{} ms", ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A role a requester may ask for, or an approver grant: any but owner.
Result<cap::Role> parse_member_role(const std::string& text, std::string_view what) {
  if (text.empty()) return cap::Role::kMember;
  auto role = cap::parse_role(text);
  if (!role) return role.take_error();
  if (*role == cap::Role::kOwner) {
    return Error::invalid(fmt::format(
        "the owner role cannot be {}: a space has one owner, its creator; use editor, viewer, "
        "member or bot",
        what));
  }
  return *role;
}

// A request id as typed: 8 to 32 hex digits, any case.
Result<std::string> normalize_request_ref(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return Error::invalid(
          fmt::format("{} is not a request id: ids are hex digits, as `soma requests` shows them",
                      printable(text)));
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (out.size() < kMinRequestPrefix || out.size() > kRequestIdLength) {
    return Error::invalid(
        fmt::format("{} is not a request id: give its {} hex digits, or at least the first {}",
                    printable(text), kRequestIdLength, kMinRequestPrefix));
  }
  return out;
}

core::Bytes id_bytes(const cap::ArtifactId& id) { return core::Bytes(id.begin(), id.end()); }

}  // namespace

struct MembershipService::Impl {
  store::Database& db;
  cap::Authorizer& authorizer;
  cap::CapabilityStore& capabilities;
  const cap::SpaceDirectory& spaces;
  const cap::Clock& clock;
  const crypto::Ed25519PrivateKey identity;
  const crypto::PeerId local;
  const Limits limits;
  JoinDecider* decider;
  DelegationService* delegations = nullptr;
  store::JoinRequestRepository requests;
  store::MembershipRepository memberships;
  Journal journal;
  store::SpaceRepository space_rows;
  RateLimiter rate;

  std::function<void()> on_decision;

  Impl(store::Database& db_in, store::EventLog& events_in, cap::Authorizer& authorizer_in,
       cap::CapabilityStore& capabilities_in, const cap::SpaceDirectory& spaces_in,
       const cap::Clock& clock_in, crypto::Ed25519PrivateKey identity_in, crypto::PeerId local_in,
       Limits limits_in, JoinDecider* decider_in)
      : db(db_in),
        authorizer(authorizer_in),
        capabilities(capabilities_in),
        spaces(spaces_in),
        clock(clock_in),
        identity(std::move(identity_in)),
        local(std::move(local_in)),
        limits(limits_in),
        decider(decider_in),
        requests(db_in),
        memberships(db_in),
        journal(db_in, events_in, clock_in),
        space_rows(db_in),
        rate(limits_in.requests_per_window, limits_in.rate_window,
             limits_in.max_rate_tracked_peers) {}

  template <typename Fn>
  Status commit(Fn&& fn) {
    return journal.commit(std::forward<Fn>(fn));
  }

  Status emit(const std::string& kind, const std::string& space_id, const std::string& subject,
              const std::string& detail) {
    return journal.emit(kind, space_id, subject, detail);
  }

  Status audit(std::string_view action, const std::string& space_id, const std::string& actor,
               const std::string& subject, const std::string& request_id,
               const std::string& capability_id, const std::string& role,
               const std::string& detail) {
    return journal.audit({.space_id = space_id,
                          .action = std::string(action),
                          .actor = actor,
                          .subject = subject,
                          .request_id = request_id,
                          .capability_id = capability_id,
                          .role = role,
                          .detail = detail});
  }

  Result<JoinRequestRecord> find_exact(const std::string& id) {
    auto found = requests.find(id);
    if (!found) return found.take_error();
    if (!*found) {
      return Error::not_found(
          fmt::format("no join request {}; `soma requests` lists them", printable(id)));
    }
    return std::move(**found);
  }

  // A request by id or unique prefix.
  Result<JoinRequestRecord> resolve(const std::string& ref) {
    auto id = normalize_request_ref(ref);
    if (!id) return id.take_error();
    if (id->size() == kRequestIdLength) return find_exact(*id);
    auto found = requests.find_by_prefix(*id, 2);
    if (!found) return found.take_error();
    if (found->empty()) {
      return Error::not_found(
          fmt::format("no join request starts with {}; `soma requests` lists them", *id));
    }
    if (found->size() > 1) {
      return Error::invalid(
          fmt::format("{} is the start of more than one request id ({}, {}, …); give more digits",
                      *id, (*found)[0].id, (*found)[1].id));
    }
    return std::move(found->front());
  }

  Result<JoinRequestInfo> to_info(const JoinRequestRecord& r) {
    JoinRequestInfo info;
    info.id = r.id;
    info.direction = r.direction;
    info.space_id = r.space_id;
    info.space_name = r.space_name;
    auto row = space_rows.find(r.space_id);
    if (!row) return row.take_error();
    if (*row) info.space_name = (*row)->name;
    info.peer = r.peer;
    info.owner =
        r.direction == JoinDirection::kIncoming && r.owner.empty() ? local.to_string() : r.owner;
    info.role = r.role;
    info.state = r.state;
    info.created_ms = r.created_ms;
    info.updated_ms = r.updated_ms;
    info.granted_role = r.granted_role.value_or("");
    info.expires_ms = r.expires_ms.value_or(0);
    info.reason = r.reason.value_or("");
    info.decided_ms = r.decided_ms.value_or(0);
    info.delivery = r.delivery;
    info.detail = r.detail;
    info.via = r.via;
    return info;
  }

  Result<cap::Checked<cap::Signed<cap::JoinRequest>>> stored_request(const JoinRequestRecord& r) {
    auto decoded = cap::decode_signed<cap::JoinRequest>(r.request);
    if (!decoded.ok()) {
      return Error::data_loss(
          fmt::format("the stored join request {} no longer decodes ({}); the database is damaged",
                      r.id, decoded.refusal().message));
    }
    return decoded;
  }

  // The answer a requester gets for a request already recorded here.
  Result<IncomingAnswer> answer_for(const JoinRequestRecord& r) {
    IncomingAnswer answer;
    answer.owner = local;
    if (!r.owner.empty()) {
      auto owner = crypto::PeerId::parse(r.owner);
      if (!owner)
        return Error::data_loss(fmt::format("request {} names an unreadable owner", r.id));
      answer.owner = std::move(*owner);
    }
    if (r.state == JoinState::kPending) return answer;
    if (!r.decision) {
      return Error::internal(fmt::format("join request {} is {} but holds no decision", r.id,
                                         store::to_string(r.state)));
    }
    answer.decided = true;
    answer.decision = *r.decision;
    if (r.state == JoinState::kApproved) {
      auto row = space_rows.find(r.space_id);
      if (!row) return row.take_error();
      if (*row) answer.space_name = (*row)->name;
    }
    return answer;
  }

  // Records a decision made here and queues it for delivery, in one
  // transaction with its audit entries and event.
  Status record_decision(JoinRequestRecord& r, const cap::Signed<cap::JoinDecision>& decision,
                         const std::optional<cap::Signed<cap::MembershipCapability>>& capability) {
    // Issued under a delegation: the owner hears of it, so its authorizer
    // and `soma members` know the new member.
    const bool report = capability && capability->body.delegation && delegations != nullptr;
    const Timestamp now = clock.now();
    const bool approved = decision.body.outcome == cap::JoinOutcome::kApproved;
    r.state = approved ? JoinState::kApproved : JoinState::kRejected;
    r.decision = cap::encode_signed(decision);
    r.decided_ms = now;
    r.updated_ms = now;
    r.delivery = Delivery::kPending;
    r.detail.clear();
    if (!decision.body.reason.empty()) r.reason = decision.body.reason;
    if (capability) {
      r.granted_role = std::string(cap::to_string(capability->body.role));
      r.expires_ms = capability->body.expires_at;
    }

    return commit([&]() -> Status {
      if (capability) {
        // Checked as the requester will check it (revocations, rates) and
        // recorded, before anything leaves this device.
        auto admitted = authorizer.admit_issued(*capability);
        if (!admitted) return admitted.take_error();
        if (!admitted->allowed()) return admitted->refusal->to_error();
        if (report) SOMA_TRY(delegations->queue_report(*capability));
      }
      auto updated = requests.update(r);
      if (!updated) return updated.take_error();
      if (!*updated) return Error::not_found(fmt::format("join request {} vanished", r.id));

      store::OutboxItem item;
      item.request_id = r.id;
      item.peer = r.peer;
      item.next_attempt_ms = now;
      item.give_up_ms = now + limits.delivery_give_up_after;
      item.created_ms = now;
      SOMA_TRY(requests.enqueue(item));

      const std::string local_text = local.to_string();
      if (capability) {
        const std::string role = *r.granted_role;
        SOMA_TRY(audit(kDecisionMade, r.space_id, local_text, r.peer, r.id, "", role,
                       fmt::format("approved as {} until {}", role, format_time(*r.expires_ms))));
        SOMA_TRY(audit(kCapabilityIssued, r.space_id, local_text, r.peer, r.id,
                       cap::to_hex(capability->body.id), role,
                       fmt::format("membership as {} until {}", role, format_time(*r.expires_ms))));
        SOMA_TRY(emit("join.approved", r.space_id, r.id,
                      fmt::format("{} may join as {}", r.peer, role)));
      } else {
        const std::string why = r.reason ? fmt::format(": {}", *r.reason) : "";
        SOMA_TRY(audit(kDecisionMade, r.space_id, local_text, r.peer, r.id, "", r.role,
                       "rejected" + why));
        SOMA_TRY(
            emit("join.rejected", r.space_id, r.id, fmt::format("request of {} rejected", r.peer)));
      }
      return {};
    });
  }

  void notify_decision() {
    if (on_decision) on_decision();
    if (delegations != nullptr) delegations->notify_push();
  }

  // Whether this peer takes requests for `space_id`: it owns it, or holds a
  // delegation it may issue under now. Errors say which it lacks.
  Status may_decide(const std::string& space_id, const crypto::PeerId& owner) {
    if (owner == local) return {};
    if (delegations != nullptr) {
      auto usable = delegations->usable_delegation(space_id, owner);
      if (!usable) return usable.take_error();
      if (*usable) return {};
      return Error::denied(fmt::format(
          "space {} is owned by {}; this peer holds no delegation it may issue under now (expired, "
          "revoked or never given); ask its owner",
          space_id, owner.to_string()));
    }
    return Error::denied(fmt::format("space {} is owned by {}, not by this peer; ask its owner",
                                     space_id, owner.to_string()));
  }

  Result<JoinRequestRecord> pending_incoming(const std::string& ref) {
    auto r = resolve(ref);
    if (!r) return r.take_error();
    if (r->direction != JoinDirection::kIncoming) {
      return Error::precondition(fmt::format(
          "join request {} was sent from here; only the peer it went to decides it", r->id));
    }
    if (r->state != JoinState::kPending) {
      return Error::precondition(
          fmt::format("join request {} is already {}", r->id, store::to_string(r->state)));
    }
    return r;
  }
};

MembershipService::MembershipService(store::Database& db, store::EventLog& events,
                                     cap::Authorizer& authorizer,
                                     cap::CapabilityStore& capabilities,
                                     const cap::SpaceDirectory& spaces, const cap::Clock& clock,
                                     crypto::Ed25519PrivateKey identity, Limits limits,
                                     JoinDecider* decider)
    : local_peer_(crypto::PeerId::from_public_key(identity.public_key())),
      impl_(std::make_unique<Impl>(db, events, authorizer, capabilities, spaces, clock,
                                   std::move(identity), local_peer_, limits, decider)) {}

MembershipService::~MembershipService() = default;

void MembershipService::set_delegations(DelegationService* delegations) {
  impl_->delegations = delegations;
}

void MembershipService::set_decision_listener(std::function<void()> listener) {
  impl_->on_decision = std::move(listener);
}

// ---------------------------------------------------------------------------
// The requester's side.

core::Result<OutgoingJoin> MembershipService::begin_join(const std::string& space_id,
                                                         const std::string& role_text,
                                                         const std::string& via) {
  Impl& m = *impl_;
  SOMA_TRY(cap::check_space_id(space_id));
  auto role = parse_member_role(role_text, "asked for");
  if (!role) return role.take_error();

  auto held = m.space_rows.find(space_id);
  if (!held) return held.take_error();
  if (*held) {
    // Only a hold the authorizer still honours makes a request pointless: a
    // peer revoked, expired or only delegated to issue may ask the owner.
    auto access = m.authorizer.authorize(space_id, local_peer_);
    if (!access) return access.take_error();
    if (access->allowed()) {
      return Error::exists(fmt::format("space {} ({}) is already held here as {}; nothing to join",
                                       space_id, printable((*held)->name),
                                       cap::to_string(*access->role)));
    }
  }

  const Timestamp now = m.clock.now();
  store::JoinRequestFilter pending;
  pending.direction = JoinDirection::kOutgoing;
  pending.state = JoinState::kPending;
  pending.space_id = space_id;
  auto earlier = m.requests.list(pending);
  if (!earlier) return earlier.take_error();
  for (JoinRequestRecord& r : *earlier) {
    if (!r.peer.empty()) {
      return Error::exists(fmt::format(
          "a request to join space {} is pending (request {}, sent to {}); wait for the "
          "decision, `soma requests --outgoing` shows it",
          space_id, r.id, r.peer));
    }
    // Never reached anyone (the daemon stopped while sending it): it is
    // superseded by the new one.
    r.state = JoinState::kFailed;
    r.detail = "never sent; superseded by a newer request";
    r.updated_ms = now;
    auto updated = m.requests.update(r);
    if (!updated) return updated.take_error();
  }

  auto signed_request = cap::request_join(m.identity, space_id, *role, now);
  if (!signed_request) return signed_request.take_error();

  JoinRequestRecord r;
  r.id = cap::to_hex(signed_request->body.nonce);
  r.direction = JoinDirection::kOutgoing;
  r.space_id = space_id;
  r.role = std::string(cap::to_string(*role));
  r.state = JoinState::kPending;
  r.request = cap::encode_signed(*signed_request);
  r.via = via;
  r.created_ms = r.updated_ms = now;
  SOMA_TRY(m.requests.insert(r));
  return OutgoingJoin{r.id, r.request};
}

core::Result<JoinRequestInfo> MembershipService::join_sent(const std::string& id,
                                                           const crypto::PeerId& peer,
                                                           const crypto::PeerId& owner) {
  Impl& m = *impl_;
  auto r = m.find_exact(id);
  if (!r) return r.take_error();
  r->peer = peer.to_string();
  r->owner = owner.to_string();
  r->updated_ms = m.clock.now();
  r->detail.clear();
  Status done = m.commit([&]() -> Status {
    auto updated = m.requests.update(*r);
    if (!updated) return updated.take_error();
    SOMA_TRY(m.audit(kRequestSent, r->space_id, local_peer_.to_string(), r->peer, r->id, "",
                     r->role, fmt::format("asked {} to join as {}", r->peer, r->role)));
    return m.emit("join.request_sent", r->space_id, r->id,
                  fmt::format("asked {} to join as {}", r->peer, r->role));
  });
  if (!done.ok()) return done.take_error();
  return m.to_info(*r);
}

core::Result<JoinRequestInfo> MembershipService::join_failed(
    const std::string& id, const std::optional<crypto::PeerId>& peer, const core::Error& why) {
  Impl& m = *impl_;
  auto r = m.find_exact(id);
  if (!r) return r.take_error();
  if (r->state == JoinState::kPending) {
    r->state = JoinState::kFailed;
    if (peer) r->peer = peer->to_string();
    r->detail = why.message;
    r->updated_ms = m.clock.now();
    auto updated = m.requests.update(*r);
    if (!updated) return updated.take_error();
  }
  return m.to_info(*r);
}

core::Result<JoinRequestInfo> MembershipService::receive_decision(const crypto::PeerId& from,
                                                                  core::ByteView decision_bytes,
                                                                  const std::string& space_name) {
  Impl& m = *impl_;
  auto decoded = cap::decode_signed<cap::JoinDecision>(decision_bytes);
  if (!decoded.ok()) return decoded.refusal().to_error();
  const cap::JoinDecision& d = decoded->body;
  const std::string id = cap::to_hex(d.request);

  // It must answer a request made here, for that space, by the peer asked.
  auto found = m.requests.find(id);
  if (!found) return found.take_error();
  if (!*found || (*found)->direction != JoinDirection::kOutgoing) {
    return Error::not_found(
        fmt::format("no join request {} was sent from here; the decision answers nothing", id));
  }
  JoinRequestRecord r = std::move(**found);
  if (d.space != r.space_id) {
    return Error::invalid(
        fmt::format("the decision is for space {}, but request {} asked to join space {}",
                    printable(d.space), r.id, r.space_id));
  }
  // A peer that decides at once also queues its decision, which can arrive
  // before its inline answer told us who it is: worth another try then.
  if (r.peer.empty() && r.state == JoinState::kPending) {
    return Error::unavailable(fmt::format(
        "join request {} is still on its way; its decision cannot be checked yet, try again",
        r.id));
  }
  if (r.peer.empty() || from.to_string() != r.peer) {
    return Error::denied(
        fmt::format("the decision on request {} came from {}, but the request went to {}", r.id,
                    from.to_string(), r.peer.empty() ? "no peer" : r.peer));
  }
  if (d.decider != from) {
    return Error::denied(fmt::format("the decision is signed by {}, but came from {}",
                                     d.decider.to_string(), from.to_string()));
  }
  const core::Bytes carried(decision_bytes.begin(), decision_bytes.end());
  if (r.state == JoinState::kApproved || r.state == JoinState::kRejected) {
    if (r.decision && *r.decision == carried) return m.to_info(r);
    return Error::precondition(
        fmt::format("join request {} was {} already; a different decision for it is refused", r.id,
                    store::to_string(r.state)));
  }

  // Verified against the owner this peer asked about, as the requester.
  auto request = m.stored_request(r);
  if (!request) return request.take_error();
  crypto::PeerId owner = from;
  if (!r.owner.empty()) {
    auto parsed = crypto::PeerId::parse(r.owner);
    if (!parsed) return Error::data_loss(fmt::format("request {} names an unreadable owner", r.id));
    owner = std::move(*parsed);
  }
  const cap::SpaceRef space{r.space_id, owner};
  const Timestamp now = m.clock.now();
  auto verified =
      cap::verify_join_decision(decision_bytes, (*request)->body, space, now, m.capabilities);
  if (!verified) return verified.take_error();
  if (!verified->ok()) return verified->refusal().to_error();

  const std::string from_text = from.to_string();
  const std::string local_text = local_peer_.to_string();
  r.decision = carried;
  r.decided_ms = now;
  r.updated_ms = now;
  r.owner = owner.to_string();
  r.detail.clear();
  if (!d.reason.empty()) r.reason = d.reason;

  if (d.outcome == cap::JoinOutcome::kRejected) {
    r.state = JoinState::kRejected;
    Status done = m.commit([&]() -> Status {
      auto updated = m.requests.update(r);
      if (!updated) return updated.take_error();
      const std::string why = r.reason ? fmt::format(": {}", *r.reason) : "";
      SOMA_TRY(m.audit(kDecisionReceived, r.space_id, from_text, local_text, r.id, "", r.role,
                       "rejected" + why));
      return m.emit("join.decision_received", r.space_id, r.id,
                    fmt::format("{} rejected the request{}", from_text, why));
    });
    if (!done.ok()) return done.take_error();
    return m.to_info(r);
  }

  // Approved: the capability names us; the authorizer checks it once more
  // against this channel's peer (us, its subject) and records it.
  const cap::Signed<cap::MembershipCapability>& capability = *d.capability;
  const core::Bytes capability_bytes = cap::encode_signed(capability);
  const std::string role(cap::to_string(capability.body.role));
  std::string name = space_name;
  if (name.empty() ||
      !space::validation::check_name(name, "space name", wire::kMaxNameBytes).ok()) {
    name = "space " + r.space_id.substr(0, 8);
  }
  r.state = JoinState::kApproved;
  r.granted_role = role;
  r.expires_ms = capability.body.expires_at;
  r.space_name = name;

  Status done = m.commit([&]() -> Status {
    auto held = m.space_rows.find(r.space_id);
    if (!held) return held.take_error();
    if (*held) {
      if ((*held)->owner != owner.to_string()) {
        return Error::precondition(
            fmt::format("space {} is held here with owner {}, not {}; the decision is refused",
                        r.space_id, (*held)->owner, owner.to_string()));
      }
      auto changed = m.space_rows.set_role(r.space_id, role, now);
      if (!changed) return changed.take_error();
    } else {
      store::SpaceRecord row;
      row.id = r.space_id;
      row.name = name;
      row.owner = owner.to_string();
      row.role = role;
      row.created_ms = row.updated_ms = now;
      SOMA_TRY(m.space_rows.insert(row));
    }

    auto accepted = m.authorizer.present(r.space_id, local_peer_, capability_bytes);
    if (!accepted) return accepted.take_error();
    if (!accepted->allowed()) return accepted->refusal->to_error();

    store::MembershipRecord membership;
    membership.space_id = r.space_id;
    membership.owner = owner.to_string();
    membership.role = role;
    membership.state = std::string(kJoinedState);
    membership.capability_id = id_bytes(capability.body.id);
    membership.expires_ms = capability.body.expires_at;
    membership.request_id = r.id;
    membership.joined_ms = membership.updated_ms = now;
    SOMA_TRY(m.memberships.upsert(membership));

    auto updated = m.requests.update(r);
    if (!updated) return updated.take_error();
    const std::string until = format_time(capability.body.expires_at);
    SOMA_TRY(m.audit(kDecisionReceived, r.space_id, from_text, local_text, r.id, "", role,
                     fmt::format("approved as {} until {}", role, until)));
    SOMA_TRY(m.audit(kCapabilityAccepted, r.space_id, capability.body.issuer.to_string(),
                     local_text, r.id, cap::to_hex(capability.body.id), role,
                     fmt::format("membership as {} until {}", role, until)));
    SOMA_TRY(m.emit("join.decision_received", r.space_id, r.id,
                    fmt::format("{} approved the request as {}", from_text, role)));
    return m.emit("space.joined", r.space_id, r.space_id,
                  fmt::format("joined space {} as {}", printable(name), role));
  });
  if (!done.ok()) return done.take_error();
  spdlog::info("joined space={} role={} owner={}", r.space_id, role, owner.to_string());
  return m.to_info(r);
}

// ---------------------------------------------------------------------------
// The decider's side.

core::Result<IncomingAnswer> MembershipService::receive_request(
    const crypto::PeerId& from, core::ByteView request_bytes,
    const std::vector<std::string>& addrs) {
  Impl& m = *impl_;
  const Timestamp now = m.clock.now();

  // Counted before anything else, so malformed floods are limited too.
  if (!m.rate.allow(from, now)) {
    return Error::exhausted(fmt::format(
        "too many join requests from {}: at most {} in {} s; try again later", from.to_string(),
        m.limits.requests_per_window, m.limits.rate_window / kSecond));
  }

  auto decoded = cap::decode_signed<cap::JoinRequest>(request_bytes);
  if (!decoded.ok()) return decoded.refusal().to_error();
  const std::string space_id = decoded->body.space;
  auto verified = cap::verify_join_request(request_bytes, space_id, from, now);
  if (!verified.ok()) return verified.refusal().to_error();
  const cap::JoinRequest& q = verified->body;

  auto owner = m.spaces.owner_of(space_id);
  if (!owner) return owner.take_error();
  if (!*owner) return Error::not_found(fmt::format("there is no space {} here", space_id));
  SOMA_TRY(m.may_decide(space_id, **owner));

  const std::string id = cap::to_hex(q.nonce);
  const core::Bytes carried(request_bytes.begin(), request_bytes.end());
  auto existing = m.requests.find(id);
  if (!existing) return existing.take_error();
  if (*existing) {
    const JoinRequestRecord& r = **existing;
    if (r.direction == JoinDirection::kIncoming && r.peer == from.to_string() &&
        r.request == carried) {
      return m.answer_for(r);
    }
    return Error::exists(fmt::format("join request id {} is already in use", id));
  }

  auto from_peer = m.requests.count_pending_from(from.to_string());
  if (!from_peer) return from_peer.take_error();
  if (*from_peer >= m.limits.max_pending_per_peer) {
    return Error::exhausted(fmt::format(
        "{} already has {} join requests waiting for a decision here, the most allowed; wait "
        "for them to be decided",
        from.to_string(), *from_peer));
  }
  auto total = m.requests.count_pending_incoming();
  if (!total) return total.take_error();
  if (*total >= m.limits.max_pending) {
    spdlog::warn("join request refused: {} requests are pending, the most allowed", *total);
    return Error::exhausted(fmt::format(
        "this peer has {} join requests waiting for a decision, the most it keeps; try again "
        "later",
        *total));
  }

  JoinRequestRecord r;
  r.id = id;
  r.direction = JoinDirection::kIncoming;
  r.space_id = space_id;
  r.peer = from.to_string();
  r.owner = (*owner)->to_string();
  r.role = std::string(cap::to_string(q.role));
  r.state = JoinState::kPending;
  r.request = carried;
  r.peer_addrs = addrs;
  r.created_ms = r.updated_ms = now;
  Status done = m.commit([&]() -> Status {
    SOMA_TRY(m.requests.insert(r));
    SOMA_TRY(m.audit(kRequestReceived, space_id, r.peer, local_peer_.to_string(), id, "", r.role,
                     fmt::format("{} asks to join as {}", r.peer, r.role)));
    return m.emit("join.request_received", space_id, id,
                  fmt::format("{} asks to join as {}", r.peer, r.role));
  });
  if (!done.ok()) return done.take_error();
  spdlog::info("join request received request={} space={} peer={} role={}", id, space_id, r.peer,
               r.role);

  // The decider may settle it at once; a person decides otherwise.
  if (m.decider != nullptr) {
    const Verdict verdict = m.decider->on_request(IncomingJoin{id, space_id, from, q.role, now});
    std::optional<Error> refused;
    if (verdict.kind == Verdict::Kind::kApprove) {
      auto approved = approve(id, std::string(cap::to_string(verdict.role)), verdict.expires_at);
      if (!approved) refused = approved.take_error();
    } else if (verdict.kind == Verdict::Kind::kReject) {
      auto rejected = reject(id, verdict.reason);
      if (!rejected) refused = rejected.take_error();
    }
    if (refused) {
      // The rules said no to the decider (a rate, a revocation since): the
      // request waits for a person, and says why.
      if (refused->code == core::ErrorCode::kInternal ||
          refused->code == core::ErrorCode::kDataLoss) {
        return *refused;
      }
      spdlog::info("automatic decision on request={} not possible: {}", id, refused->message);
      auto current = m.find_exact(id);
      if (!current) return current.take_error();
      current->detail = "not decided automatically: " + refused->message;
      current->updated_ms = m.clock.now();
      auto updated = m.requests.update(*current);
      if (!updated) return updated.take_error();
    }
    auto current = m.find_exact(id);
    if (!current) return current.take_error();
    return m.answer_for(*current);
  }
  IncomingAnswer answer;
  answer.owner = **owner;
  return answer;
}

core::Result<JoinRequestInfo> MembershipService::approve(const std::string& request,
                                                         const std::string& role_text,
                                                         std::optional<Timestamp> expires_at) {
  Impl& m = *impl_;
  auto r = m.pending_incoming(request);
  if (!r) return r.take_error();
  auto asked = cap::parse_role(r->role);
  if (!asked) return Error::data_loss(fmt::format("request {} holds an unknown role", r->id));
  cap::Role role = *asked;
  if (!role_text.empty()) {
    auto granted = parse_member_role(role_text, "granted");
    if (!granted) return granted.take_error();
    role = *granted;
  }

  const Timestamp now = m.clock.now();
  const Timestamp expires = expires_at.value_or(now + m.limits.default_lifetime);
  if (expires <= now) {
    return Error::invalid(
        fmt::format("the expiry {} is not in the future; give a later time", format_time(expires)));
  }

  auto owner = m.spaces.owner_of(r->space_id);
  if (!owner) return owner.take_error();
  if (!*owner) {
    return Error::not_found(
        fmt::format("space {} is no longer here, so nobody can join it; reject request {} instead",
                    r->space_id, r->id));
  }
  std::optional<cap::Signed<cap::IssuerCapability>> delegation;
  Timestamp expires_by = expires;
  if (**owner != local_peer_) {
    if (m.delegations == nullptr) {
      return Error::precondition(fmt::format("space {} is owned by {}, not this peer", r->space_id,
                                             (*owner)->to_string()));
    }
    auto usable = m.delegations->usable_delegation(r->space_id, **owner);
    if (!usable) return usable.take_error();
    if (!*usable) {
      return Error::denied(fmt::format(
          "space {} is owned by {} and this peer holds no delegation it may issue under now "
          "(expired, revoked or never given); reject the request, or ask the owner to delegate "
          "again",
          r->space_id, (*owner)->to_string()));
    }
    const cap::IssuerCapability& d = (*usable)->body;
    if (!d.allows(role)) {
      std::string allowed;
      for (cap::Role a : d.roles)
        allowed += (allowed.empty() ? "" : ", ") + std::string(cap::to_string(a));
      return Error::denied(
          fmt::format("the delegation for space {} lets this peer grant {} only, not {}",
                      r->space_id, allowed, cap::to_string(role)));
    }
    if (expires > d.max_member_expires_at) {
      if (expires_at) {
        return Error::denied(fmt::format(
            "the delegation for space {} lets memberships last until {} at most; {} is later",
            r->space_id, format_time(d.max_member_expires_at), format_time(expires)));
      }
      expires_by = d.max_member_expires_at;
    }
    if (expires_by <= now) {
      return Error::denied(
          fmt::format("the delegation for space {} allows no membership that ends after now ({})",
                      r->space_id, format_time(d.max_member_expires_at)));
    }
    delegation = std::move(*usable);
  }
  auto stored = m.stored_request(*r);
  if (!stored) return stored.take_error();
  auto requester = crypto::PeerId::parse(r->peer);
  if (!requester)
    return Error::data_loss(fmt::format("request {} names an unreadable peer", r->id));

  const cap::SpaceRef space{r->space_id, **owner};
  auto capability = cap::issue_membership(
      m.identity, space, cap::MembershipGrant{*requester, role, now, expires_by}, delegation);
  if (!capability) return capability.take_error();
  auto decision = cap::approve_join(m.identity, (*stored)->body, *capability, now);
  if (!decision) return decision.take_error();

  SOMA_TRY(m.record_decision(*r, *decision, *capability));
  spdlog::info("join request approved request={} space={} peer={} role={}", r->id, r->space_id,
               r->peer, cap::to_string(role));
  m.notify_decision();
  return m.to_info(*r);
}

core::Result<JoinRequestInfo> MembershipService::reject(const std::string& request,
                                                        const std::string& reason) {
  Impl& m = *impl_;
  if (reason.size() > cap::kMaxReasonBytes) {
    return Error::invalid(fmt::format("a reason is at most {} bytes; this one has {}",
                                      cap::kMaxReasonBytes, reason.size()));
  }
  // One line of printable text: it is signed and shown on another device.
  if (!reason.empty()) {
    SOMA_TRY(space::validation::check_name(reason, "the reason", cap::kMaxReasonBytes));
  }
  auto r = m.pending_incoming(request);
  if (!r) return r.take_error();
  auto stored = m.stored_request(*r);
  if (!stored) return stored.take_error();
  auto decision = cap::reject_join(m.identity, (*stored)->body, reason, m.clock.now());
  if (!decision) return decision.take_error();

  SOMA_TRY(m.record_decision(*r, *decision, std::nullopt));
  spdlog::info("join request rejected request={} space={} peer={}", r->id, r->space_id, r->peer);
  m.notify_decision();
  return m.to_info(*r);
}

// ---------------------------------------------------------------------------
// Delivery.

core::Result<std::vector<PendingDelivery>> MembershipService::due_deliveries(std::size_t limit) {
  Impl& m = *impl_;
  auto items = m.requests.due(m.clock.now(), limit);
  if (!items) return items.take_error();
  std::vector<PendingDelivery> out;
  for (const store::OutboxItem& item : *items) {
    auto r = m.requests.find(item.request_id);
    if (!r) return r.take_error();
    auto peer = crypto::PeerId::parse(item.peer);
    if (!*r || !(*r)->decision || !peer) {
      // Nothing left to deliver, or nobody to deliver it to.
      spdlog::warn("dropping undeliverable outbox entry request={}", item.request_id);
      auto dropped = m.requests.dequeue(item.request_id);
      if (!dropped) return dropped.take_error();
      continue;
    }
    PendingDelivery d;
    d.request_id = item.request_id;
    d.peer = std::move(*peer);
    d.addrs = (*r)->peer_addrs;
    d.decision = *(*r)->decision;
    d.attempts = item.attempts;
    if ((*r)->state == JoinState::kApproved) {
      auto row = m.space_rows.find((*r)->space_id);
      if (!row) return row.take_error();
      if (*row) d.space_name = (*row)->name;
    }
    out.push_back(std::move(d));
  }
  return out;
}

core::Result<std::optional<Timestamp>> MembershipService::next_delivery_at() {
  return impl_->requests.next_due();
}

core::Status MembershipService::delivery_succeeded(const std::string& request_id) {
  Impl& m = *impl_;
  auto r = m.find_exact(request_id);
  if (!r) return r.take_error();
  r->delivery = Delivery::kDelivered;
  r->detail.clear();
  r->updated_ms = m.clock.now();
  return m.commit([&]() -> Status {
    auto dropped = m.requests.dequeue(request_id);
    if (!dropped) return dropped.take_error();
    auto updated = m.requests.update(*r);
    if (!updated) return updated.take_error();
    return m.audit(kDecisionDelivered, r->space_id, local_peer_.to_string(), r->peer, r->id, "",
                   r->granted_role.value_or(r->role),
                   fmt::format("{} decision delivered", store::to_string(r->state)));
  });
}

core::Status MembershipService::delivery_failed(const std::string& request_id,
                                                const core::Error& why, bool permanent) {
  Impl& m = *impl_;
  auto item = m.requests.outbox_item(request_id);
  if (!item) return item.take_error();
  if (!*item) return {};
  auto r = m.find_exact(request_id);
  if (!r) return r.take_error();

  const Timestamp now = m.clock.now();
  const std::int64_t attempts = (*item)->attempts + 1;
  // first * 2^(attempts - 1), capped without overflowing.
  Timestamp delay = m.limits.first_retry_delay;
  for (std::int64_t i = 1; i < attempts && delay < m.limits.max_retry_delay; ++i) delay *= 2;
  delay = std::min(delay, m.limits.max_retry_delay);
  const Timestamp next = now + delay;
  const bool give_up = permanent || next > (*item)->give_up_ms;

  r->updated_ms = now;
  if (give_up) {
    r->delivery = Delivery::kFailed;
    r->detail = fmt::format("the decision could not be delivered: {}", why.message);
  } else {
    r->detail = fmt::format("delivery attempt {} failed ({}); next at {}", attempts, why.message,
                            format_time(next));
  }
  return m.commit([&]() -> Status {
    auto updated = m.requests.update(*r);
    if (!updated) return updated.take_error();
    if (!give_up) {
      auto moved = m.requests.reschedule(request_id, attempts, next, why.message);
      if (!moved) return moved.take_error();
      return {};
    }
    auto dropped = m.requests.dequeue(request_id);
    if (!dropped) return dropped.take_error();
    return m.audit(kDecisionUndeliverable, r->space_id, local_peer_.to_string(), r->peer, r->id, "",
                   r->granted_role.value_or(r->role),
                   fmt::format("gave up after {} attempts: {}", attempts, why.message));
  });
}

// ---------------------------------------------------------------------------
// Queries.

core::Result<std::vector<JoinRequestInfo>> MembershipService::list_requests(
    const RequestFilter& filter) {
  Impl& m = *impl_;
  store::JoinRequestFilter f;
  f.direction = filter.direction;
  f.state = filter.state;
  if (!filter.space.empty()) f.space_id = filter.space;
  f.limit = kMaxListing;
  auto rows = m.requests.list(f);
  if (!rows) return rows.take_error();
  std::vector<JoinRequestInfo> out;
  out.reserve(rows->size());
  for (const JoinRequestRecord& r : *rows) {
    auto info = m.to_info(r);
    if (!info) return info.take_error();
    out.push_back(std::move(*info));
  }
  return out;
}

core::Result<JoinRequestInfo> MembershipService::get_request(const std::string& request) {
  auto r = impl_->resolve(request);
  if (!r) return r.take_error();
  return impl_->to_info(*r);
}

core::Result<std::vector<store::AuditEntry>> MembershipService::audit(const std::string& space,
                                                                      std::uint64_t after_id,
                                                                      std::size_t limit) {
  Impl& m = *impl_;
  if (space.empty()) return Error::invalid("name the space whose audit log to show");
  std::string id;
  auto by_id = m.space_rows.find(space);
  if (!by_id) return by_id.take_error();
  if (*by_id) {
    id = space;
  } else {
    auto by_name = m.space_rows.find_by_name(space);
    if (!by_name) return by_name.take_error();
    if (by_name->size() > 1) {
      return Error::invalid(
          fmt::format("{} names {} spaces; use the space's id", printable(space), by_name->size()));
    }
    if (by_name->size() == 1) {
      id = by_name->front().id;
    } else if (cap::check_space_id(space).ok()) {
      // A space no longer held (or never joined) keeps its history.
      id = space;
    } else {
      return Error::not_found(
          fmt::format("no space named or with id {}; `soma spaces` shows them", printable(space)));
    }
  }
  if (limit == 0 || limit > kMaxListing) limit = kMaxListing;
  return m.journal.audit_log().list(id, after_id, limit);
}

core::Result<cap::Decision> MembershipService::role_of(std::string_view space,
                                                       const crypto::PeerId& peer) const {
  return impl_->authorizer.authorize(space, peer);
}

}  // namespace soma::membership
