#include "api/status_mapping.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace soma::api {
namespace {

TEST(StatusMapping, maps_every_error_code_to_its_grpc_code) {
  const std::vector<std::pair<core::ErrorCode, grpc::StatusCode>> table = {
      {core::ErrorCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT},
      {core::ErrorCode::kNotFound, grpc::StatusCode::NOT_FOUND},
      {core::ErrorCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS},
      {core::ErrorCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED},
      {core::ErrorCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {core::ErrorCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION},
      {core::ErrorCode::kDataLoss, grpc::StatusCode::DATA_LOSS},
      {core::ErrorCode::kUnavailable, grpc::StatusCode::UNAVAILABLE},
      {core::ErrorCode::kCancelled, grpc::StatusCode::CANCELLED},
      {core::ErrorCode::kInternal, grpc::StatusCode::INTERNAL},
  };
  for (const auto& [code, expected] : table) {
    EXPECT_EQ(to_grpc_code(code), expected) << core::to_string(code);
  }
}

TEST(StatusMapping, passes_the_message_through_unchanged) {
  grpc::Status s = to_grpc_status(core::Error::not_found("no space named \"x\""));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no space named \"x\"");
}

TEST(StatusMapping, an_ok_status_maps_to_ok) {
  EXPECT_TRUE(to_grpc_status(core::Status{}).ok());
  grpc::Status failed = to_grpc_status(core::Status(core::Error::exhausted("quota")));
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace soma::api
