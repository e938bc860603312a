#include "api/server.h"

#include <fmt/format.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "api/daemon_service.h"
#include "api/membership_service.h"
#include "api/network_service.h"
#include "api/socket_guard.h"

namespace soma::api {
namespace {

// bind() creates the socket file with mode 0777 minus the umask.
constexpr mode_t kSocketUmask = 0177;

void enable_reflection_once() {
  static std::once_flag once;
  std::call_once(once, [] { grpc::reflection::InitProtoReflectionServerBuilderPlugin(); });
}

// Removes `socket` only if it is still the file this server created.
void remove_socket_file(const std::filesystem::path& socket, const FileIdentity& ours) {
  struct stat st {};
  if (lstat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  if (FileIdentity{st.st_dev, st.st_ino} != ours) {
    spdlog::warn("the API socket {} was replaced by another process; leaving it in place",
                 socket.string());
    return;
  }
  unlink(socket.c_str());
}

}  // namespace

core::Result<std::unique_ptr<Server>> Server::start(const std::filesystem::path& socket,
                                                    DaemonService& service,
                                                    store::EventLog& events,
                                                    NetworkService* network,
                                                    MembershipService* membership) {
  // gRPC binds a path of its own and unlinks it by name when it stops,
  // whatever file is there by then. So it gets a name only this process
  // uses; the public name is a hard link made with link(), which fails if
  // anything took the path meanwhile. Removing the public name is then ours
  // alone, and done only while it is still this socket.
  const std::filesystem::path bound =
      socket.parent_path() / fmt::format(".{}.{}", socket.filename().string(), getpid());
  SOMA_TRY(check_socket_path(socket));
  SOMA_TRY(check_socket_path(bound));
  SOMA_TRY(ensure_socket_dir(socket.parent_path()));
  enable_reflection_once();

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + bound.string(), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  if (network != nullptr) builder.RegisterService(network);
  if (membership != nullptr) builder.RegisterService(membership);
  builder.SetMaxReceiveMessageSize(static_cast<int>(kMaxReceiveMessageBytes));
  grpc::ResourceQuota quota("soma-daemon-api");
  quota.SetMaxThreads(kMaxThreads);
  builder.SetResourceQuota(quota);

  std::unique_ptr<grpc::Server> server;
  {
    // gRPC creates the socket with bind(), which applies the umask; 0177
    // makes it 0600 from the first instant, with no window to chmod.
    ScopedUmask mask(kSocketUmask);
    server = builder.BuildAndStart();
  }
  if (!server) {
    return core::Error::unavailable("cannot listen on the API socket " + bound.string() +
                                    " (gRPC logged why above); check that its directory is "
                                    "writable and no other process uses it");
  }
  auto stop_now = [&] {
    server->Shutdown(std::chrono::system_clock::now());
    server->Wait();
  };
  auto checked = check_socket_file(bound);
  if (!checked.ok()) {
    stop_now();
    return checked.take_error();
  }
  if (link(bound.c_str(), socket.c_str()) != 0) {
    const int err = errno;
    stop_now();
    if (err == EEXIST) {
      return core::Error::exists(fmt::format(
          "another daemon is listening on {}; stop it or give this one another --socket-dir",
          socket.string()));
    }
    return core::Error::unavailable(
        fmt::format("cannot create the API socket {}: {}", socket.string(), std::strerror(err)));
  }
  unlink(bound.c_str());
  auto identity = identity_of(socket);
  if (!identity) {
    stop_now();
    return core::Error::unavailable("the API socket " + socket.string() +
                                    " vanished right after it was created");
  }
  return std::unique_ptr<Server>(new Server(socket, *identity, std::move(server), events));
}

Server::Server(std::filesystem::path socket, FileIdentity identity,
               std::unique_ptr<grpc::Server> server, store::EventLog& events)
    : socket_(std::move(socket)),
      identity_(identity),
      server_(std::move(server)),
      events_(events) {}

Server::~Server() { shutdown(); }

void Server::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  // Wake watchers first so following streams end on their own rather than
  // being cancelled at the deadline.
  events_.shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server_->Wait();
  remove_socket_file(socket_, identity_);
  spdlog::debug("api server stopped; removed {}", socket_.string());
}

}  // namespace soma::api
