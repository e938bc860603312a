#include "api/network_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/call_guard.h"
#include "api/status_mapping.h"

namespace soma::api {
namespace {

using p2p::node::Answer;
using p2p::node::Clock;

// When the node must have answered, from the client's deadline and ours.
Clock::time_point deadline_for(const grpc::ServerContext* ctx) {
  return Clock::now() +
         call_budget(ctx, NetworkService::kMaxCallTime, NetworkService::kReplyMargin);
}

grpc::Status network_error(grpc::ServerContext* ctx, grpc::Status status) {
  ctx->AddTrailingMetadata(std::string(NetworkService::kErrorOriginKey),
                           std::string(NetworkService::kErrorOriginNetwork));
  return status;
}

// Maps a node error for the client, logging it by who caused it: our own
// faults at error, everything a peer or caller can cause at debug.
grpc::Status fail(grpc::ServerContext* ctx, std::string_view method, const core::Error& error) {
  return network_error(ctx, fail_call(method, error));
}

// The node's answer as a status: OK, its error, or DEADLINE_EXCEEDED when it
// did not answer in time.
template <typename T>
grpc::Status check(grpc::ServerContext* ctx, std::string_view method, const Answer<T>& answer,
                   Clock::time_point started, Clock::time_point deadline) {
  if (!answer) {
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - started).count();
    spdlog::debug("api {} gave up waiting for the network after {} ms", method, waited);
    return network_error(
        ctx, {grpc::StatusCode::DEADLINE_EXCEEDED,
              fmt::format("the network did not answer within {} ms; the peer may be slow or "
                          "unreachable, try again",
                          waited)});
  }
  if (!answer->ok()) return fail(ctx, method, answer->error());
  return grpc::Status::OK;
}

std::string_view direction(p2p::transport::Role role) {
  return role == p2p::transport::Role::kDialer ? "outbound" : "inbound";
}

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  if (t.time_since_epoch().count() <= 0) return 0;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

NetworkService::NetworkService(p2p::node::Node& node, std::optional<std::string> token)
    : node_(node), token_(std::move(token)) {}

grpc::Status NetworkService::authorize(const grpc::ServerContext* ctx) const {
  return check_api_token(token_, ctx);
}

grpc::Status NetworkService::ListPeers(grpc::ServerContext* ctx, const v1::ListPeersRequest* req,
                                       v1::ListPeersReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  const auto started = Clock::now();
  const auto deadline = deadline_for(ctx);
  auto peers = node_.peers(req->include_known(), deadline);
  if (auto s = check(ctx, "ListPeers", peers, started, deadline); !s.ok()) return s;
  for (const auto& p : peers->value()) {
    auto* out = reply->add_peers();
    out->set_peer_id(p.peer.to_string());
    out->set_connected(!p.connections.empty());
    for (const auto& c : p.connections) {
      auto* conn = out->add_connections();
      conn->set_remote_addr(c.remote_addr.to_string());
      conn->set_local_addr(c.local_addr.to_string());
      conn->set_direction(std::string(direction(c.role)));
      conn->set_since_ms(to_ms(c.since));
    }
    for (const auto& addr : p.addrs) out->add_addrs(addr.to_string());
    out->set_agent_version(p.agent_version);
    for (const auto& protocol : p.protocols) out->add_protocols(protocol);
  }
  return grpc::Status::OK;
}

grpc::Status NetworkService::Dial(grpc::ServerContext* ctx, const v1::DialRequest* req,
                                  v1::DialReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto target = p2p::node::parse_target(req->target());
  if (!target) return fail(ctx, "Dial", target.error());
  const auto started = Clock::now();
  const auto deadline = deadline_for(ctx);
  auto dialed = node_.dial(std::move(*target), deadline);
  if (auto s = check(ctx, "Dial", dialed, started, deadline); !s.ok()) return s;
  const auto& d = dialed->value();
  reply->set_peer_id(d.peer.to_string());
  reply->set_addr(d.addr.to_string());
  reply->set_already_connected(d.already_connected);
  return grpc::Status::OK;
}

grpc::Status NetworkService::Ping(grpc::ServerContext* ctx, const v1::PingRequest* req,
                                  v1::PingReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto target = p2p::node::parse_target(req->target());
  if (!target) return fail(ctx, "Ping", target.error());
  const std::uint32_t count = req->count() == 0 ? 1 : req->count();
  if (count > static_cast<std::uint32_t>(p2p::node::kMaxPingCount)) {
    return fail(ctx, "Ping",
                core::Error::invalid(fmt::format("a ping count must be from 1 to {}, not {}",
                                                 p2p::node::kMaxPingCount, count)));
  }
  const auto started = Clock::now();
  const auto deadline = deadline_for(ctx);
  auto pinged = node_.ping(std::move(*target), static_cast<int>(count), deadline);
  if (auto s = check(ctx, "Ping", pinged, started, deadline); !s.ok()) return s;
  const auto& p = pinged->value();
  reply->set_peer_id(p.peer.to_string());
  reply->set_addr(p.addr.to_string());
  for (auto rtt : p.rtts) reply->add_rtt_ns(static_cast<std::uint64_t>(rtt.count()));
  return grpc::Status::OK;
}

grpc::Status NetworkService::Identify(grpc::ServerContext* ctx, const v1::IdentifyRequest* req,
                                      v1::IdentifyReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto target = p2p::node::parse_target(req->target());
  if (!target) return fail(ctx, "Identify", target.error());
  const auto started = Clock::now();
  const auto deadline = deadline_for(ctx);
  auto identified = node_.identify(std::move(*target), deadline);
  if (auto s = check(ctx, "Identify", identified, started, deadline); !s.ok()) return s;
  const auto& i = identified->value();
  reply->set_peer_id(i.peer.to_string());
  reply->set_addr(i.addr.to_string());
  reply->set_agent_version(i.info.agent_version);
  reply->set_protocol_version(i.info.protocol_version);
  for (const auto& protocol : i.info.protocols) reply->add_protocols(protocol);
  for (const auto& addr : i.info.listen_addrs) reply->add_listen_addrs(addr.to_string());
  if (i.info.observed_addr) reply->set_observed_addr(i.info.observed_addr->to_string());
  return grpc::Status::OK;
}

}  // namespace soma::api
