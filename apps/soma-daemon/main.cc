// soma-daemon: wires storage, identity and services together and serves the
// local gRPC API until SIGINT or SIGTERM.

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "api/api_token.h"
#include "api/daemon_service.h"
#include "api/membership_service.h"
#include "api/network_service.h"
#include "api/protobuf_log.h"
#include "api/server.h"
#include "api/socket_guard.h"
#include "blob/blob_store.h"
#include "cap/authorizer.h"
#include "cap/clock.h"
#include "core/logging.h"
#include "core/paths.h"
#include "crypto/identity_file.h"
#include "crypto/peer_id.h"
#include "data_dir_lock.h"
#include "membership/courier.h"
#include "membership/decider.h"
#include "membership/delegate_decider.h"
#include "membership/delegation_service.h"
#include "membership/join_protocol.h"
#include "membership/mailbox_fetcher.h"
#include "membership/mailbox_protocol.h"
#include "membership/mailbox_store.h"
#include "membership/membership_service.h"
#include "membership/push_courier.h"
#include "membership/request_courier.h"
#include "network.h"
#include "options.h"
#include "p2p/node/node.h"
#include "space/space_service.h"
#include "store/capability_repository.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/listen_port_repository.h"
#include "store/migrations.h"

namespace soma::daemon {
namespace {

// Exit codes the daemon's users and tests rely on.
constexpr int kExitClean = 0;
constexpr int kExitUsage = 1;       // bad flags, config or token file; data dir, socket or
                                    // listen address in use
constexpr int kExitStorage = 2;     // identity, database, migration or blob store
constexpr int kExitPermission = 3;  // loose socket dir, key file or token file permissions

// Everything the daemon creates (database, its -wal and -shm, blobs, keys)
// is private to its user from the first byte, whatever umask it inherited.
constexpr mode_t kDaemonUmask = 0077;

constexpr const char* kDatabaseFile = "soma.db";
constexpr const char* kBlobDir = "blobs";

int exit_code_for(const core::Error& error, int otherwise) {
  return error.code == core::ErrorCode::kPermissionDenied ? kExitPermission : otherwise;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Creates the data dir with mode 0700 when missing (parents as needed).
core::Status ensure_data_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec)) {
      return core::Error::precondition("data dir " + dir.string() +
                                       " exists and is not a directory; pick another --data-dir");
    }
    return {};
  }
  if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (!ec && mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    ec = std::error_code(errno, std::generic_category());
  }
  if (ec) {
    const std::string msg = "cannot create data dir " + dir.string() + ": " + ec.message();
    if (ec == std::errc::permission_denied) return core::Error::denied(msg);
    return core::Error::precondition(msg);
  }
  return {};
}

int run(const Options& opts, const sigset_t& stop_signals) {
  core::Paths paths = core::resolve_paths(opts.data_dir);
  if (opts.socket_dir) paths.socket_dir = std::filesystem::absolute(*opts.socket_dir);
  const std::filesystem::path socket = paths.socket();
  const std::int64_t started_ms = now_ms();

  if (auto made = ensure_data_dir(paths.data_dir); !made.ok()) {
    spdlog::error("{}", made.error().message);
    return exit_code_for(made.error(), kExitStorage);
  }
  auto lock = DataDirLock::acquire(paths.data_dir);
  if (!lock) {
    // Printed as well as logged: this is the message a person starting a
    // second daemon by hand needs to see even with logging turned off.
    std::cerr << "soma-daemon: " << lock.error().message << "\n";
    return exit_code_for(lock.error(), kExitUsage);
  }

  auto key = crypto::load_or_create_identity(paths.data_dir);
  if (!key) {
    spdlog::error("cannot load the device identity: {}", key.error().message);
    return exit_code_for(key.error(), kExitStorage);
  }
  const std::string peer_id = crypto::PeerId::from_public_key(key->public_key()).to_string();

  auto db = store::Database::open(paths.data_dir / kDatabaseFile, store::daemon_migrations());
  if (!db) {
    spdlog::error("cannot open the database: {}", db.error().message);
    return exit_code_for(db.error(), kExitStorage);
  }
  store::EventLog events(**db);

  blob::Limits limits;
  limits.max_blob_bytes = opts.max_blob_bytes;
  limits.space_quota_bytes = opts.space_quota_bytes;
  auto blobs = blob::BlobStore::open(paths.data_dir / kBlobDir, **db, events, limits);
  if (!blobs) {
    spdlog::error("cannot open the blob store: {}", blobs.error().message);
    return exit_code_for(blobs.error(), kExitStorage);
  }
  space::SpaceService spaces(**db, events, **blobs, peer_id);

  // Who may do what in which space: one authorizer over the stored
  // capabilities, and the join flow on top of it.
  store::CapabilityRepository capabilities(**db);
  store::SpaceOwners space_owners(**db);
  cap::SystemClock clock;
  cap::Authorizer authorizer(capabilities, space_owners, clock);
  // Delegations and revocations; requests for spaces owned here wait for
  // the owner, those reaching this peer as a delegate are decided at once.
  membership::DelegationService delegations(**db, events, authorizer, capabilities, space_owners,
                                            clock, *key);
  membership::DelegateDecides decider(delegations, space_owners,
                                      membership::kDefaultMembershipLifetime);
  membership::MembershipService memberships(**db, events, authorizer, capabilities, space_owners,
                                            clock, *key, {}, &decider);
  memberships.set_delegations(&delegations);

  std::optional<std::string> token;
  if (opts.require_token) {
    auto loaded = api::load_or_create_api_token(paths.token_file());
    if (!loaded) {
      // The messages name the file and say how to fix it.
      spdlog::error("{}", loaded.error().message);
      return exit_code_for(loaded.error(), kExitUsage);
    }
    token = std::move(*loaded);
  }

  if (auto ok = api::check_socket_path(socket); !ok.ok()) {
    spdlog::error("{}", ok.error().message);
    return kExitUsage;
  }
  if (auto ok = api::ensure_socket_dir(paths.socket_dir); !ok.ok()) {
    spdlog::error("{}", ok.error().message);
    return exit_code_for(ok.error(), kExitUsage);
  }
  // A socket here is either live (another daemon, perhaps of another data
  // dir sharing this socket dir: refused) or a leftover of one that did not
  // shut down cleanly (removed).
  if (auto ok = api::remove_stale_socket(socket); !ok.ok()) {
    spdlog::error("{}", ok.error().message);
    if (ok.error().code == core::ErrorCode::kAlreadyExists) {
      std::cerr << "soma-daemon: " << ok.error().message << "\n";
    }
    return exit_code_for(ok.error(), kExitUsage);
  }

  // The network starts after the database (a failed migration opens no
  // listener) and before the API, so Status can report its addresses.
  p2p::node::Config net_config;
  net_config.host.agent_version = std::string("soma/") + SOMA_VERSION;
  auto node = p2p::node::Node::start(std::move(*key), std::move(net_config));
  if (!node) {
    spdlog::error("cannot start the network: {}", node.error().message);
    return kExitUsage;
  }
  if (opts.no_listen) {
    spdlog::info("not listening for peers (--no-listen)");
  } else {
    store::ListenPortRepository ports(**db);
    const bool defaults = opts.listen.empty();
    auto opened =
        open_listeners(**node, ports, defaults ? default_listen_addrs() : opts.listen, defaults);
    if (!opened.ok()) {
      // Printed, not only logged: a person fixing --listen needs to see it.
      std::cerr << "soma-daemon: " << opened.error().message
                << "; fix --listen, SOMA_LISTEN or the config's listen key\n";
      return kExitUsage;
    }
  }

  api::DaemonInfo info{peer_id, SOMA_VERSION, paths.data_dir, socket, started_ms};
  info.listen_addrs = [net = node->get()] {
    std::vector<std::string> out;
    for (const auto& addr : net->dialable_addrs()) out.push_back(addr.to_string());
    return out;
  };
  api::ApiLimits api_limits;
  api_limits.upload_idle_timeout = opts.upload_idle_timeout;
  api::NetworkService network(**node, token);

  membership::JoinProtocol join(memberships, **node);

  // A mailbox served here for other peers, and the one this daemon uses.
  membership::mailbox::MailboxStore mailbox_store(**db, clock);
  membership::mailbox::MailboxServer mailbox_server(mailbox_store, **node);
  if (opts.serve_mailbox) {
    if (auto served = mailbox_server.start(); !served.ok()) {
      spdlog::error("cannot serve the mailbox protocol: {}", served.error().message);
      return kExitUsage;
    }
  }
  std::optional<membership::mailbox::MailboxClient> mailbox;
  if (!opts.mailbox.empty()) {
    auto target = p2p::node::parse_target(opts.mailbox);
    if (!target) {
      spdlog::error("--mailbox: {}", target.error().message);
      return kExitUsage;
    }
    mailbox.emplace(**node, std::move(*target));
  }

  // Requests whose target cannot be reached wait and are sent again.
  membership::RequestCourier request_courier(**db, clock, memberships, join,
                                             mailbox ? &*mailbox : nullptr);
  join.set_unreachable_handler(
      [&request_courier](const std::string& id, const std::string& via, const core::Error& why) {
        return request_courier.queue(id, via, why);
      });
  membership::PushCourier push_courier(delegations, join);
  delegations.set_push_listener([&push_courier] { push_courier.wake(); });
  join.set_delegations(&delegations);
  if (auto served = join.start(); !served.ok()) {
    spdlog::error("cannot serve the join protocols: {}", served.error().message);
    return kExitUsage;
  }
  // Decisions still in the outbox from an earlier run go out now.
  membership::Courier courier(memberships, join);
  memberships.set_decision_listener([&courier] { courier.wake(); });
  if (mailbox) courier.set_fallback(membership::leave_decision_in(*mailbox));
  courier.start();
  request_courier.start();
  // Delegations, revocations and issuance reports still unsent go out now.
  push_courier.start();
  std::optional<membership::MailboxFetcher> fetcher;
  if (mailbox) {
    fetcher.emplace(memberships, *mailbox);
    fetcher->start();
  }
  api::MembershipService membership_api(memberships, join, delegations, token);
  api::DaemonService service(spaces, **blobs, events, std::move(info), std::move(token),
                             api_limits);
  auto server = api::Server::start(socket, service, events, &network, &membership_api);
  if (!server) {
    spdlog::error("{}", server.error().message);
    return exit_code_for(server.error(), kExitUsage);
  }

  spdlog::info("soma-daemon ready peer={} socket={} data_dir={} token={}", peer_id, socket.string(),
               paths.data_dir.string(), opts.require_token ? "required" : "not required");
  if (spdlog::should_log(spdlog::level::info)) {
    for (const auto& addr : (*node)->dialable_addrs()) {
      spdlog::info("reachable at {}", addr.to_string());
    }
  }
  std::cout << "ready " << socket.string() << std::endl;

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  spdlog::info("soma-daemon stopping on signal {}", sig);
  (*server)->shutdown();
  if (fetcher) fetcher->stop();
  request_courier.stop();
  courier.stop();
  push_courier.stop();
  (*node)->stop();
  join.stop();
  mailbox_server.stop();
  spdlog::info("soma-daemon stopped");
  spdlog::default_logger()->flush();
  return kExitClean;
}

}  // namespace
}  // namespace soma::daemon

int main(int argc, char** argv) {
  using namespace soma::daemon;
  // Block the stop signals before any thread exists, so every thread
  // (gRPC's, spdlog's) inherits the mask and only sigwait in run() sees
  // them: no async signal handler runs at all.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  umask(kDaemonUmask);

  ParseOutcome parsed = parse_options(argc, argv);
  if (auto* done = std::get_if<Exit>(&parsed)) return done->code;
  const Options& opts = std::get<Options>(parsed);
  soma::core::init_logging("soma-daemon", opts.log_level);
  soma::api::route_protobuf_logs_to_spdlog();
  return run(opts, stop_signals);
}
