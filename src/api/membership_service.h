#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "membership/delegation_service.h"
#include "membership/join_protocol.h"
#include "membership/membership_service.h"
#include "soma/api/v1/membership.grpc.pb.h"

namespace soma::api {

// The gRPC controller of soma.api.v1.Membership: each handler checks the
// API token (when one is configured), decodes the request, calls the
// membership service (or, for Join, the join protocol, which reaches the
// peer) and encodes the answer. Service errors become gRPC codes through
// to_grpc_status.
//
// Join waits for the peer until the call's gRPC deadline less kReplyMargin,
// or kMaxJoinTime, whichever comes first. Its errors that come from the
// network (the peer cannot be reached, refused, or did not answer) carry
// the trailing metadata NetworkService::kErrorOriginKey: "network", so a
// client can tell an unreachable peer from an unreachable daemon.
//
// Ownership: borrows the service and protocol, which must outlive the gRPC
// server that runs this. Threading: gRPC calls the handlers concurrently;
// both are thread-safe.
class MembershipService final : public v1::Membership::Service {
 public:
  static constexpr std::chrono::seconds kMaxJoinTime{60};
  static constexpr std::chrono::milliseconds kReplyMargin{500};

  MembershipService(membership::MembershipService& service, membership::JoinProtocol& protocol,
                    membership::DelegationService& delegations, std::optional<std::string> token);

  grpc::Status Join(grpc::ServerContext* ctx, const v1::JoinSpaceRequest* req,
                    v1::JoinRequestInfo* reply) override;
  grpc::Status ListRequests(grpc::ServerContext* ctx, const v1::ListRequestsRequest* req,
                            v1::ListRequestsReply* reply) override;
  grpc::Status Approve(grpc::ServerContext* ctx, const v1::ApproveRequest* req,
                       v1::JoinRequestInfo* reply) override;
  grpc::Status Reject(grpc::ServerContext* ctx, const v1::RejectRequest* req,
                      v1::JoinRequestInfo* reply) override;
  grpc::Status Audit(grpc::ServerContext* ctx, const v1::AuditRequest* req,
                     v1::AuditReply* reply) override;
  grpc::Status Delegate(grpc::ServerContext* ctx, const v1::DelegateRequest* req,
                        v1::DelegationInfo* reply) override;
  grpc::Status Revoke(grpc::ServerContext* ctx, const v1::RevokeRequest* req,
                      v1::RevocationInfo* reply) override;
  grpc::Status ListMembers(grpc::ServerContext* ctx, const v1::ListMembersRequest* req,
                           v1::ListMembersReply* reply) override;

 private:
  grpc::Status authorize(const grpc::ServerContext* ctx) const;

  membership::MembershipService& service_;
  membership::JoinProtocol& protocol_;
  membership::DelegationService& delegations_;
  const std::optional<std::string> token_;
};

// The API's view of a join request.
void to_proto(const membership::JoinRequestInfo& in, v1::JoinRequestInfo* out);

}  // namespace soma::api
