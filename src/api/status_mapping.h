#pragma once

#include <grpcpp/support/status.h>

#include "core/error.h"

namespace soma::api {

// The one place where Soma's error codes become gRPC status codes. The
// message passes through unchanged: services already word it for people.
grpc::StatusCode to_grpc_code(core::ErrorCode code);
grpc::Status to_grpc_status(const core::Error& error);

// OK for a successful status, else its mapped error.
grpc::Status to_grpc_status(const core::Status& status);

}  // namespace soma::api
