// soma peers, soma dial, soma ping, soma identify
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "commands.h"

namespace soma::cli {
namespace {

// The daemon marks every error of its network service with this trailing
// metadata (see proto/soma/api/v1/network.proto), so a peer that cannot be
// reached is not mistaken for a daemon that cannot.
constexpr std::string_view kErrorOriginKey = "soma-error-origin";
constexpr std::string_view kErrorOriginNetwork = "network";
// The daemon's limit on pings per call.
constexpr unsigned kMaxPingCount = 100;

template <typename Request, typename Reply>
core::Result<Reply> network_call(Client& client,
                                 grpc::Status (api::Network::Stub::*method)(grpc::ClientContext*,
                                                                            const Request&, Reply*),
                                 const Request& request) {
  auto ctx = client.context();
  Reply reply;
  grpc::Status status = (client.network().*method)(ctx.get(), request, &reply);
  if (status.ok()) return reply;
  const auto& trailers = ctx->GetServerTrailingMetadata();
  auto it = trailers.find(grpc::string_ref(kErrorOriginKey.data(), kErrorOriginKey.size()));
  bool from_network = it != trailers.end() &&
                      std::string_view(it->second.data(), it->second.size()) == kErrorOriginNetwork;
  if (from_network && (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
    return core::Error::unavailable(status.error_message());
  }
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return core::Error::internal(
        "this soma-daemon has no network API: it is older than this soma; restart it from the "
        "same build");
  }
  return client.error(status);
}

std::string format_ms(std::uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e6);
  return buf;
}

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items,
                 std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

nlohmann::json to_json(const api::Peer& p) {
  nlohmann::json connections = nlohmann::json::array();
  for (const auto& c : p.connections()) {
    connections.push_back({{"remote_addr", c.remote_addr()},
                           {"local_addr", c.local_addr()},
                           {"direction", c.direction()},
                           {"since_ms", c.since_ms()}});
  }
  return {
      {"peer_id", p.peer_id()}, {"connected", p.connected()},         {"connections", connections},
      {"addrs", p.addrs()},     {"agent_version", p.agent_version()}, {"protocols", p.protocols()}};
}

int run_peers(Context& ctx, bool all) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::ListPeersRequest request;
  request.set_include_known(all);
  auto reply = network_call(**client, &api::Network::Stub::ListPeers, request);
  if (!reply) return out.fail(reply.error());

  nlohmann::json peers = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : reply->peers()) {
    peers.push_back(to_json(p));
    std::string agent = p.agent_version().empty() ? "-" : p.agent_version();
    for (const auto& c : p.connections()) {
      rows.push_back(
          {p.peer_id(), c.direction(), c.remote_addr(), format_time(c.since_ms()), agent});
    }
    if (p.connections().empty()) {
      rows.push_back({p.peer_id(), "known", p.addrs().empty() ? "-" : p.addrs(0), "-", agent});
    }
  }
  out.document({{"peers", peers}});
  if (rows.empty()) {
    out.line(all ? "no peers known yet; connect to one with `soma dial MULTIADDR`"
                 : "no connected peers; connect to one with `soma dial MULTIADDR`");
  } else {
    out.table({"PEER", "STATE", "ADDRESS", "SINCE", "AGENT"}, rows);
  }
  return kExitOk;
}

int run_dial(Context& ctx, const std::string& target) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::DialRequest request;
  request.set_target(target);
  auto reply = network_call(**client, &api::Network::Stub::Dial, request);
  if (!reply) return out.fail(reply.error());
  out.document({{"peer_id", reply->peer_id()},
                {"addr", reply->addr()},
                {"already_connected", reply->already_connected()}});
  out.line(std::string(reply->already_connected() ? "already connected to " : "connected to ") +
           reply->peer_id() + " at " + reply->addr());
  return kExitOk;
}

int run_ping(Context& ctx, const std::string& target, unsigned count) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::PingRequest request;
  request.set_target(target);
  request.set_count(count);
  auto reply = network_call(**client, &api::Network::Stub::Ping, request);
  if (!reply) return out.fail(reply.error());

  std::vector<std::uint64_t> rtts(reply->rtt_ns().begin(), reply->rtt_ns().end());
  nlohmann::json doc = {{"peer_id", reply->peer_id()}, {"addr", reply->addr()}, {"rtt_ns", rtts}};
  if (!rtts.empty()) {
    auto [lo, hi] = std::minmax_element(rtts.begin(), rtts.end());
    std::uint64_t avg = std::accumulate(rtts.begin(), rtts.end(), std::uint64_t{0}) / rtts.size();
    doc["min_ms"] = static_cast<double>(*lo) / 1e6;
    doc["avg_ms"] = static_cast<double>(avg) / 1e6;
    doc["max_ms"] = static_cast<double>(*hi) / 1e6;
    for (std::size_t i = 0; i < rtts.size(); ++i) {
      out.line("pong " + std::to_string(i + 1) + " from " + reply->peer_id() +
               ": time=" + format_ms(rtts[i]) + " ms");
    }
    out.line(std::to_string(rtts.size()) + " pings to " + reply->addr() + ": min/avg/max = " +
             format_ms(*lo) + "/" + format_ms(avg) + "/" + format_ms(*hi) + " ms");
  }
  out.document(doc);
  return kExitOk;
}

int run_identify(Context& ctx, const std::string& target) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::IdentifyRequest request;
  request.set_target(target);
  auto reply = network_call(**client, &api::Network::Stub::Identify, request);
  if (!reply) return out.fail(reply.error());
  out.document({{"peer_id", reply->peer_id()},
                {"addr", reply->addr()},
                {"agent_version", reply->agent_version()},
                {"protocol_version", reply->protocol_version()},
                {"protocols", reply->protocols()},
                {"listen_addrs", reply->listen_addrs()},
                {"observed_addr", reply->observed_addr()}});
  auto dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  out.fields({{"peer id", reply->peer_id()},
              {"address", reply->addr()},
              {"agent", dash(reply->agent_version())},
              {"protocol version", dash(reply->protocol_version())},
              {"protocols", dash(join(reply->protocols(), ", "))},
              {"listening on", dash(join(reply->listen_addrs(), " "))},
              {"sees us as", dash(reply->observed_addr())}});
  return kExitOk;
}

constexpr const char* kTargetHelp =
    "A peer id (12D3KooW…: a connected peer, or one whose address the daemon knows) or a "
    "multiaddr to dial (/ip4/192.0.2.1/tcp/4001/p2p/12D3KooW…)";

}  // namespace

void add_peer_commands(CLI::App& app, Registry& registry) {
  struct PeerArgs {
    std::string target;
    unsigned count = 3;
    bool all = false;
  };
  auto args = std::make_shared<PeerArgs>();

  auto* peers = app.add_subcommand(
      "peers", "List the libp2p peers the daemon is connected to (--all: also known ones)");
  peers->add_flag("--all", args->all,
                  "Also list peers the daemon knows addresses for but is not connected to");
  registry.on(peers, [args](Context& ctx) { return run_peers(ctx, args->all); });

  auto* dial =
      app.add_subcommand("dial", "Connect the daemon to a peer (or reuse its live connection)");
  dial->add_option("TARGET", args->target, kTargetHelp)->required();
  registry.on(dial, [args](Context& ctx) { return run_dial(ctx, args->target); });

  auto* ping = app.add_subcommand(
      "ping", "Measure round trips to a peer with libp2p ping (dialing it first if needed)");
  ping->add_option("TARGET", args->target, kTargetHelp)->required();
  ping->add_option("-c,--count", args->count, "How many pings, one after another (default: 3)")
      ->check(CLI::Range(1u, kMaxPingCount));
  registry.on(ping, [args](Context& ctx) { return run_ping(ctx, args->target, args->count); });

  auto* identify = app.add_subcommand(
      "identify", "Ask a peer for its agent, protocols and addresses (libp2p identify)");
  identify->add_option("TARGET", args->target, kTargetHelp)->required();
  registry.on(identify, [args](Context& ctx) { return run_identify(ctx, args->target); });
}

}  // namespace soma::cli
