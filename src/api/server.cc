#include "api/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <utility>

#include "api/daemon_service.h"
#include "api/socket_guard.h"

namespace soma::api {
namespace {

// bind() creates the socket file with mode 0777 minus the umask.
constexpr mode_t kSocketUmask = 0177;

void enable_reflection_once() {
  static std::once_flag once;
  std::call_once(once, [] { grpc::reflection::InitProtoReflectionServerBuilderPlugin(); });
}

void remove_socket_file(const std::filesystem::path& socket) {
  struct stat st {};
  if (lstat(socket.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(socket.c_str());
}

}  // namespace

core::Result<std::unique_ptr<Server>> Server::start(const std::filesystem::path& socket,
                                                    DaemonService& service,
                                                    store::EventLog& events) {
  SOMA_TRY(check_socket_path(socket));
  SOMA_TRY(ensure_socket_dir(socket.parent_path()));
  enable_reflection_once();

  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket.string(), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
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
    return core::Error::unavailable("cannot listen on the API socket " + socket.string() +
                                    " (gRPC logged why above); check that its directory is "
                                    "writable and no other process uses it");
  }
  auto checked = check_socket_file(socket);
  if (!checked.ok()) {
    server->Shutdown(std::chrono::system_clock::now());
    server->Wait();
    remove_socket_file(socket);
    return checked.take_error();
  }
  return std::unique_ptr<Server>(new Server(socket, std::move(server), events));
}

Server::Server(std::filesystem::path socket, std::unique_ptr<grpc::Server> server,
               store::EventLog& events)
    : socket_(std::move(socket)), server_(std::move(server)), events_(events) {}

Server::~Server() { shutdown(); }

void Server::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  // Wake watchers first so following streams end on their own rather than
  // being cancelled at the deadline.
  events_.shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server_->Wait();
  remove_socket_file(socket_);
  spdlog::debug("api server stopped; removed {}", socket_.string());
}

}  // namespace soma::api
