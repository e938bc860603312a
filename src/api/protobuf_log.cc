#include "api/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/spdlog.h>

namespace soma::api {
namespace {

LogRateLimiter& protobuf_limiter() {
  static LogRateLimiter limiter(kProtobufLogLinesPerSecond, std::chrono::seconds{1});
  return limiter;
}

void handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  protobuf_log_handler(static_cast<int>(level), filename, line, message);
}

}  // namespace

LogRateLimiter::LogRateLimiter(std::size_t max_lines, std::chrono::milliseconds window)
    : max_lines_(max_lines), window_(window) {}

LogRateLimiter::Decision LogRateLimiter::admit(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  if (in_window_ == 0 || now - window_start_ >= window_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= max_lines_) {
    ++suppressed_;
    return {};
  }
  ++in_window_;
  Decision d{true, suppressed_};
  suppressed_ = 0;
  return d;
}

void protobuf_log_handler(int level, const char* filename, int line, const std::string& message) {
  auto decision = protobuf_limiter().admit(std::chrono::steady_clock::now());
  if (!decision.emit) return;
  if (decision.suppressed_before > 0) {
    spdlog::warn("libprotobuf: {} more lines suppressed (rate limit {} a second)",
                 decision.suppressed_before, kProtobufLogLinesPerSecond);
  }
  // libprotobuf's own problems are rarely ours to fix; most come from a
  // malformed request, which the caller is told about too.
  const auto lvl = level >= static_cast<int>(google::protobuf::LOGLEVEL_ERROR)
                       ? spdlog::level::warn
                       : spdlog::level::debug;
  spdlog::log(lvl, "libprotobuf {}:{}: {}", filename != nullptr ? filename : "?", line, message);
}

void route_protobuf_logs_to_spdlog() { google::protobuf::SetLogHandler(&handle); }

}  // namespace soma::api
