#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "soma/api/v1/daemon.grpc.pb.h"
#include "soma/api/v1/membership.grpc.pb.h"
#include "soma/api/v1/network.grpc.pb.h"

namespace soma::cli {

namespace api = soma::api::v1;

// Where the daemon is and how to prove we may talk to it, from the global
// options and their SOMA_* environment variables.
struct Endpoint {
  std::filesystem::path socket;
  std::filesystem::path data_dir;                   // for the hint when unreachable
  std::optional<std::filesystem::path> token_file;  // read when present
  bool token_file_required = false;                 // given explicitly: must exist
  bool socket_given = false;                        // --socket / SOMA_SOCKET
  bool data_dir_given = false;                      // --data-dir / SOMA_DATA_DIR
};

// Resolves the endpoint: --socket wins, else --data-dir/run/daemon.sock,
// else the XDG defaults; the token from --token-file, else
// <data dir>/api.token when that file exists.
Endpoint resolve_endpoint(const std::string& socket, const std::string& data_dir,
                          const std::string& token_file);

// A connection to soma-daemon over its Unix socket. Calls carry the API
// token when there is one. Used by one thread.
class Client {
 public:
  // Fails with kUnavailable when there is no socket, kPermissionDenied or
  // kInvalidArgument when the token file cannot be used.
  static core::Result<std::unique_ptr<Client>> connect(const Endpoint& endpoint);

  api::Daemon::Stub& stub() { return *stub_; }
  // The daemon's network service, on the same connection.
  api::Network::Stub& network() { return *network_; }
  // The daemon's membership service (joins, decisions, audit).
  api::Membership::Stub& membership() { return *membership_; }

  // A context for one call: token attached; unary calls get a deadline,
  // streams none (they last as long as the transfer).
  std::unique_ptr<grpc::ClientContext> context(bool streaming = false) const;

  // A failed call as an error a person can act on; an unreachable daemon
  // says how to start it.
  core::Error error(const grpc::Status& status) const;

  template <typename Request, typename Reply>
  core::Result<Reply> call(grpc::Status (api::Daemon::Stub::*method)(grpc::ClientContext*,
                                                                     const Request&, Reply*),
                           const Request& request) {
    auto ctx = context();
    Reply reply;
    grpc::Status status = ((*stub_).*method)(ctx.get(), request, &reply);
    if (!status.ok()) return error(status);
    return reply;
  }

 private:
  Client(Endpoint endpoint, std::string token, std::unique_ptr<api::Daemon::Stub> stub,
         std::unique_ptr<api::Network::Stub> network,
         std::unique_ptr<api::Membership::Stub> membership)
      : endpoint_(std::move(endpoint)),
        token_(std::move(token)),
        stub_(std::move(stub)),
        network_(std::move(network)),
        membership_(std::move(membership)) {}

  Endpoint endpoint_;
  std::string token_;  // secret: never printed
  std::unique_ptr<api::Daemon::Stub> stub_;
  std::unique_ptr<api::Network::Stub> network_;
  std::unique_ptr<api::Membership::Stub> membership_;
};

// The error for a daemon that cannot be reached at `endpoint`, with a hint
// that matches how the endpoint was given (--socket, --data-dir or the
// defaults).
core::Error unreachable(const Endpoint& endpoint);

}  // namespace soma::cli
