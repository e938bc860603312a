#include "api/call_guard.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "api/api_token.h"
#include "api/status_mapping.h"

namespace soma::api {

grpc::Status check_api_token(const std::optional<std::string>& token,
                             const grpc::ServerContextBase* ctx) {
  if (!token) return grpc::Status::OK;
  const auto& metadata = ctx->client_metadata();
  auto it = metadata.find(grpc::string_ref(kAuthorizationKey.data(), kAuthorizationKey.size()));
  if (it != metadata.end()) {
    std::string_view value(it->second.data(), it->second.size());
    if (value.substr(0, kBearerPrefix.size()) == kBearerPrefix &&
        api_token_matches(*token, value.substr(kBearerPrefix.size()))) {
      return grpc::Status::OK;
    }
  }
  spdlog::debug("api call refused: missing or wrong API token");
  return {grpc::StatusCode::PERMISSION_DENIED, std::string(kTokenRequired)};
}

grpc::Status fail_call(std::string_view method, const core::Error& error) {
  if (error.code == core::ErrorCode::kInternal || error.code == core::ErrorCode::kDataLoss) {
    spdlog::error("api {} failed: {}", method, error.message);
  } else {
    spdlog::debug("api {} refused ({}): {}", method, core::to_string(error.code), error.message);
  }
  return to_grpc_status(error);
}

std::chrono::milliseconds call_budget(const grpc::ServerContext* ctx, std::chrono::milliseconds max,
                                      std::chrono::milliseconds margin) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto now = std::chrono::system_clock::now();
  const auto client = ctx->deadline();
  if (client < now + max + margin) {
    return std::max(milliseconds(0), duration_cast<milliseconds>(client - now - margin));
  }
  return max;
}

}  // namespace soma::api
