#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "p2p/node/node.h"
#include "soma/api/v1/network.grpc.pb.h"

namespace soma::api {

// The gRPC controller of soma.api.v1.Network: each handler checks the API
// token (when one is configured), decodes the request, calls the network
// node and encodes the answer. Handlers never touch connection state: the
// node posts each call to its loop and waits until the call's gRPC
// deadline (less kReplyMargin, so the answer still reaches the client) or
// kMaxCallTime, whichever comes first; past it the call fails with
// DEADLINE_EXCEEDED. Node errors become gRPC codes through
// to_grpc_status.
//
// Every error that comes from the network (not from the token check)
// carries trailing metadata kErrorOriginKey: kErrorOriginNetwork, so a
// client can tell a peer that cannot be reached from a daemon that cannot;
// both are UNAVAILABLE.
//
// Ownership: `node` is borrowed and must outlive the gRPC server that runs
// this service. Threading: gRPC calls the handlers concurrently from its
// pool; the node is thread-safe.
class NetworkService final : public v1::Network::Service {
 public:
  static constexpr std::chrono::seconds kMaxCallTime{60};
  static constexpr std::chrono::milliseconds kReplyMargin{500};
  static constexpr std::string_view kErrorOriginKey = "soma-error-origin";
  static constexpr std::string_view kErrorOriginNetwork = "network";

  // `token`: when set, every call must carry `authorization: Bearer <token>`.
  NetworkService(p2p::node::Node& node, std::optional<std::string> token);

  grpc::Status ListPeers(grpc::ServerContext* ctx, const v1::ListPeersRequest* req,
                         v1::ListPeersReply* reply) override;
  grpc::Status Dial(grpc::ServerContext* ctx, const v1::DialRequest* req,
                    v1::DialReply* reply) override;
  grpc::Status Ping(grpc::ServerContext* ctx, const v1::PingRequest* req,
                    v1::PingReply* reply) override;
  grpc::Status Identify(grpc::ServerContext* ctx, const v1::IdentifyRequest* req,
                        v1::IdentifyReply* reply) override;

 private:
  grpc::Status authorize(const grpc::ServerContext* ctx) const;

  p2p::node::Node& node_;
  const std::optional<std::string> token_;
};

}  // namespace soma::api
