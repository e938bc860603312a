#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

// What every service of the local API does around a call: check the bearer
// token, and turn a service error into a status, logged by who caused it.
namespace soma::api {

inline constexpr std::string_view kTokenRequired =
    "this daemon requires its API token; pass --token-file or run as the user who owns "
    "DATA_DIR/api.token";

// OK when no token is set or the call carries `authorization: Bearer
// <token>` with the right one; else PERMISSION_DENIED saying what to do.
grpc::Status check_api_token(const std::optional<std::string>& token,
                             const grpc::ServerContextBase* ctx);

// Maps `error` for the client. Our own faults and corrupt storage are
// logged at error; everything a caller or peer can cause at debug.
grpc::Status fail_call(std::string_view method, const core::Error& error);

// How long a call that waits on the network may take: at most `max`, and
// less when the client's own deadline, minus `margin` for the reply to get
// back, comes sooner. Never negative.
std::chrono::milliseconds call_budget(const grpc::ServerContext* ctx, std::chrono::milliseconds max,
                                      std::chrono::milliseconds margin);

}  // namespace soma::api
