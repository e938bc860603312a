#include "api/membership_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "api/call_guard.h"
#include "api/network_service.h"
#include "api/status_mapping.h"

namespace soma::api {
namespace {

using membership::JoinProtocol;

grpc::Status fail(std::string_view method, const core::Error& error) {
  return fail_call(method, error);
}

JoinProtocol::Clock::time_point deadline_for(const grpc::ServerContext* ctx) {
  return JoinProtocol::Clock::now() +
         call_budget(ctx, MembershipService::kMaxJoinTime, MembershipService::kReplyMargin);
}

core::Result<std::optional<store::JoinDirection>> parse_direction(const std::string& text) {
  if (text.empty()) return std::optional<store::JoinDirection>();
  auto d = store::parse_join_direction(text);
  if (!d) {
    return core::Error::invalid(
        fmt::format("unknown direction \"{}\"; use incoming or outgoing", text.substr(0, 32)));
  }
  return std::optional<store::JoinDirection>(*d);
}

core::Result<std::optional<store::JoinState>> parse_state(const std::string& text) {
  if (text.empty()) return std::optional<store::JoinState>();
  auto s = store::parse_join_state(text);
  if (!s) {
    return core::Error::invalid(fmt::format(
        "unknown state \"{}\"; use pending, approved, rejected or failed", text.substr(0, 32)));
  }
  return std::optional<store::JoinState>(*s);
}

}  // namespace

void to_proto(const membership::JoinRequestInfo& in, v1::JoinRequestInfo* out) {
  out->set_id(in.id);
  out->set_direction(std::string(store::to_string(in.direction)));
  out->set_space_id(in.space_id);
  out->set_space_name(in.space_name);
  out->set_peer(in.peer);
  out->set_owner(in.owner);
  out->set_role(in.role);
  out->set_state(std::string(store::to_string(in.state)));
  out->set_created_ms(in.created_ms);
  out->set_updated_ms(in.updated_ms);
  out->set_granted_role(in.granted_role);
  out->set_expires_ms(in.expires_ms);
  out->set_reason(in.reason);
  out->set_decided_ms(in.decided_ms);
  out->set_delivery(std::string(store::to_string(in.delivery)));
  out->set_detail(in.detail);
  out->set_via(in.via);
}

MembershipService::MembershipService(membership::MembershipService& service,
                                     membership::JoinProtocol& protocol,
                                     membership::DelegationService& delegations,
                                     std::optional<std::string> token)
    : service_(service), protocol_(protocol), delegations_(delegations), token_(std::move(token)) {}

grpc::Status MembershipService::authorize(const grpc::ServerContext* ctx) const {
  return check_api_token(token_, ctx);
}

grpc::Status MembershipService::Join(grpc::ServerContext* ctx, const v1::JoinSpaceRequest* req,
                                     v1::JoinRequestInfo* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  if (req->via().empty()) {
    return fail("Join",
                core::Error::invalid("name the peer to ask: its peer id (12D3KooW…) or a multiaddr "
                                     "(/ip4/…/tcp/…/p2p/12D3KooW…)"));
  }
  auto joined = protocol_.join(req->space(), req->via(), req->role(), deadline_for(ctx));
  if (!joined) {
    // Everything but a local validation error is the peer's answer or the
    // network's doing.
    if (joined.error().code != core::ErrorCode::kInvalidArgument &&
        joined.error().code != core::ErrorCode::kAlreadyExists &&
        joined.error().code != core::ErrorCode::kInternal &&
        joined.error().code != core::ErrorCode::kDataLoss) {
      ctx->AddTrailingMetadata(std::string(NetworkService::kErrorOriginKey),
                               std::string(NetworkService::kErrorOriginNetwork));
    }
    return fail("Join", joined.error());
  }
  to_proto(*joined, reply);
  return grpc::Status::OK;
}

grpc::Status MembershipService::ListRequests(grpc::ServerContext* ctx,
                                             const v1::ListRequestsRequest* req,
                                             v1::ListRequestsReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  membership::RequestFilter filter;
  auto direction = parse_direction(req->direction());
  if (!direction) return fail("ListRequests", direction.error());
  auto state = parse_state(req->state());
  if (!state) return fail("ListRequests", state.error());
  filter.direction = *direction;
  filter.state = *state;
  filter.space = req->space();
  auto listed = service_.list_requests(filter);
  if (!listed) return fail("ListRequests", listed.error());
  for (const auto& r : *listed) to_proto(r, reply->add_requests());
  return grpc::Status::OK;
}

grpc::Status MembershipService::Approve(grpc::ServerContext* ctx, const v1::ApproveRequest* req,
                                        v1::JoinRequestInfo* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  std::optional<membership::Timestamp> expires;
  switch (req->expiry_case()) {
    case v1::ApproveRequest::kExpiresAtMs:
      expires = req->expires_at_ms();
      break;
    case v1::ApproveRequest::kLifetimeMs: {
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      if (req->lifetime_ms() <= 0 ||
          req->lifetime_ms() > std::numeric_limits<membership::Timestamp>::max() - now) {
        return fail("Approve", core::Error::invalid(fmt::format(
                                   "a membership lifetime must be positive and end before the "
                                   "year 292 million; {} ms is not",
                                   req->lifetime_ms())));
      }
      expires = now + req->lifetime_ms();
      break;
    }
    case v1::ApproveRequest::EXPIRY_NOT_SET:
      break;
  }
  auto approved = service_.approve(req->request(), req->role(), expires);
  if (!approved) return fail("Approve", approved.error());
  to_proto(*approved, reply);
  return grpc::Status::OK;
}

grpc::Status MembershipService::Reject(grpc::ServerContext* ctx, const v1::RejectRequest* req,
                                       v1::JoinRequestInfo* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto rejected = service_.reject(req->request(), req->reason());
  if (!rejected) return fail("Reject", rejected.error());
  to_proto(*rejected, reply);
  return grpc::Status::OK;
}

grpc::Status MembershipService::Audit(grpc::ServerContext* ctx, const v1::AuditRequest* req,
                                      v1::AuditReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto entries = service_.audit(req->space(), req->after_id(), req->limit());
  if (!entries) return fail("Audit", entries.error());
  for (const auto& e : *entries) {
    auto* out = reply->add_entries();
    out->set_id(e.id);
    out->set_time_ms(e.time_ms);
    out->set_space_id(e.space_id);
    out->set_action(e.action);
    out->set_actor(e.actor);
    out->set_subject(e.subject);
    out->set_request_id(e.request_id);
    out->set_capability_id(e.capability_id);
    out->set_role(e.role);
    out->set_detail(e.detail);
  }
  return grpc::Status::OK;
}

grpc::Status MembershipService::Delegate(grpc::ServerContext* ctx, const v1::DelegateRequest* req,
                                         v1::DelegationInfo* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  if (req->peer().empty()) {
    return fail("Delegate",
                core::Error::invalid("name the delegate: its peer id (12D3KooW…) or a multiaddr "
                                     "(/ip4/…/tcp/…/p2p/12D3KooW…)"));
  }
  // A multiaddr is dialed so the delegation can be sent there; the service
  // works with the peer id the connection authenticated.
  auto peer = protocol_.reach(req->peer(), deadline_for(ctx));
  if (!peer) {
    // A peer that cannot be dialed is the network's doing, not the daemon's.
    if (peer.error().code != core::ErrorCode::kInvalidArgument) {
      ctx->AddTrailingMetadata(std::string(NetworkService::kErrorOriginKey),
                               std::string(NetworkService::kErrorOriginNetwork));
    }
    return fail("Delegate", peer.error());
  }
  membership::DelegateArgs args;
  args.space = req->space();
  args.peer = peer->to_string();
  args.roles.assign(req->roles().begin(), req->roles().end());
  args.expires_at = req->expires_at_ms();
  args.max_member_expires_at = req->max_member_expires_at_ms();
  args.rate_per_hour = req->rate_per_hour();
  auto d = delegations_.delegate(args);
  if (!d) return fail("Delegate", d.error());
  reply->set_id(d->id);
  reply->set_space_id(d->space_id);
  reply->set_space_name(d->space_name);
  reply->set_owner(d->owner);
  reply->set_delegate(d->delegate);
  for (const auto& r : d->roles) reply->add_roles(r);
  reply->set_issued_ms(d->issued_ms);
  reply->set_expires_ms(d->expires_ms);
  reply->set_max_member_expires_ms(d->max_member_expires_ms);
  reply->set_rate_per_hour(d->rate_per_hour);
  reply->set_state(d->state);
  return grpc::Status::OK;
}

grpc::Status MembershipService::Revoke(grpc::ServerContext* ctx, const v1::RevokeRequest* req,
                                       v1::RevocationInfo* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  membership::RevokeArgs args;
  args.space = req->space();
  args.peer = req->peer();
  if (req->issued() == "keep") {
    args.issued = cap::IssuerPolicy::kKeepIssued;
  } else if (req->issued() == "after") {
    args.issued = cap::IssuerPolicy::kRevokeIssuedAfter;
    args.after = req->after_ms();
  } else if (req->issued() == "all") {
    args.issued = cap::IssuerPolicy::kRevokeAll;
  } else if (!req->issued().empty()) {
    return fail("Revoke", core::Error::invalid(fmt::format(
                              "unknown policy \"{}\" for what the issuer issued; use keep, after "
                              "or all",
                              req->issued().substr(0, 32))));
  }
  auto r = delegations_.revoke(args);
  if (!r) return fail("Revoke", r.error());
  reply->set_id(r->id);
  reply->set_space_id(r->space_id);
  reply->set_kind(r->kind);
  reply->set_peer(r->peer);
  reply->set_policy(r->policy);
  reply->set_after_ms(r->after_ms);
  reply->set_issued_ms(r->issued_ms);
  reply->set_recipients(static_cast<std::uint32_t>(r->recipients));
  return grpc::Status::OK;
}

grpc::Status MembershipService::ListMembers(grpc::ServerContext* ctx,
                                            const v1::ListMembersRequest* req,
                                            v1::ListMembersReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto members = delegations_.members(req->space());
  if (!members) return fail("ListMembers", members.error());
  for (const auto& m : *members) {
    auto* out = reply->add_members();
    out->set_peer(m.peer);
    out->set_kind(m.kind);
    out->set_role(m.role);
    for (const auto& r : m.roles) out->add_roles(r);
    out->set_issuer(m.issuer);
    out->set_capability_id(m.capability_id);
    out->set_issued_ms(m.issued_ms);
    out->set_expires_ms(m.expires_ms);
    out->set_state(m.state);
    out->set_detail(m.detail);
    out->set_access(m.access);
  }
  return grpc::Status::OK;
}

}  // namespace soma::api
