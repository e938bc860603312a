#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>

#include "api/socket_guard.h"
#include "core/error.h"
#include "space/space_service.h"
#include "store/event_log.h"

namespace grpc {
class Server;
}

namespace soma::api {

class DaemonService;
class MembershipService;
class NetworkService;

// Runs the daemon's gRPC API on a Unix socket, never on a TCP port, with
// server reflection so generic tools can explore it.
//
// Ownership: `service` and `events` are borrowed and must outlive the
// Server. Threading: start() and shutdown() are called from one thread
// (the daemon's main); gRPC runs handlers on its own bounded pool.
class Server {
 public:
  // The most threads gRPC may use for calls; a call beyond it is refused
  // with RESOURCE_EXHAUSTED instead of growing the process without bound.
  // Long calls (uploads, reads) are capped well below it (ApiLimits) and
  // event watches hold no thread, so short calls always find one.
  static constexpr int kMaxThreads = 32;
  // The largest single request message accepted, checked by gRPC before it
  // allocates the message: a PutDocument whose text and structure are both
  // at the document limit, plus 1 MiB for its blob CIDs and other fields.
  // Blob data arrives in many smaller messages.
  static constexpr std::size_t kMaxReceiveMessageBytes =
      2 * space::SpaceService::kMaxDocumentBytes + (1u << 20);
  // How long calls in flight get to finish at shutdown before they are
  // cancelled.
  static constexpr std::chrono::seconds kShutdownGrace{2};

  // Checks the socket path and directory (see socket_guard.h), then listens
  // on a name private to this process with a umask of 0177, confirms the
  // socket file came out with mode 0600 and links it to `socket`. An
  // existing file at `socket` must have been cleared with
  // remove_stale_socket first; one that appears meanwhile is
  // kAlreadyExists. Fails with kPermissionDenied for loose permissions,
  // kInvalidArgument for an unusable path, kUnavailable when gRPC cannot
  // listen. `network`, when given, is served on the same socket and must
  // outlive the Server too; so must `membership`, served the same way.
  static core::Result<std::unique_ptr<Server>> start(const std::filesystem::path& socket,
                                                     DaemonService& service,
                                                     store::EventLog& events,
                                                     NetworkService* network = nullptr,
                                                     MembershipService* membership = nullptr);

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Ends watch streams, stops accepting calls, waits up to kShutdownGrace
  // for calls in flight, then removes the socket file if it is still the
  // one this server created (not one another daemon made at the same path
  // since). Idempotent.
  void shutdown();

  const std::filesystem::path& socket() const { return socket_; }

 private:
  Server(std::filesystem::path socket, FileIdentity identity, std::unique_ptr<grpc::Server> server,
         store::EventLog& events);

  std::filesystem::path socket_;
  FileIdentity identity_;
  std::unique_ptr<grpc::Server> server_;
  store::EventLog& events_;
  bool stopped_ = false;
};

}  // namespace soma::api
