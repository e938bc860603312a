#include "api/status_mapping.h"

namespace soma::api {

grpc::StatusCode to_grpc_code(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case core::ErrorCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case core::ErrorCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case core::ErrorCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case core::ErrorCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case core::ErrorCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case core::ErrorCode::kDataLoss:
      return grpc::StatusCode::DATA_LOSS;
    case core::ErrorCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case core::ErrorCode::kCancelled:
      return grpc::StatusCode::CANCELLED;
    case core::ErrorCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status to_grpc_status(const core::Error& error) {
  return {to_grpc_code(error.code), error.message};
}

grpc::Status to_grpc_status(const core::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return to_grpc_status(status.error());
}

}  // namespace soma::api
