#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace soma::api {

// Lets at most `max_lines` through per `window`; counts the rest, so a
// flood of identical complaints (any local client can send a malformed
// request per millisecond) costs a few log lines and a count.
// Thread-safe.
class LogRateLimiter {
 public:
  LogRateLimiter(std::size_t max_lines, std::chrono::milliseconds window);

  struct Decision {
    bool emit = false;
    // Lines dropped since the last one emitted; report them with this one.
    std::uint64_t suppressed_before = 0;
  };
  Decision admit(std::chrono::steady_clock::time_point now);

 private:
  const std::size_t max_lines_;
  const std::chrono::milliseconds window_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point window_start_{};
  std::size_t in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

// libprotobuf logs problems (such as a request string that is not UTF-8)
// straight to stderr, one unstructured line each. This sends them through
// spdlog instead, at most kProtobufLogLinesPerSecond a second, followed by
// how many were suppressed. Call once at startup, before any thread
// parses messages (libprotobuf's handler is not thread-safe to set).
inline constexpr std::size_t kProtobufLogLinesPerSecond = 5;
void route_protobuf_logs_to_spdlog();

// The handler route_protobuf_logs_to_spdlog installs; `level` is
// libprotobuf's LogLevel as an int (0 info ... 3 fatal).
void protobuf_log_handler(int level, const char* filename, int line, const std::string& message);

}  // namespace soma::api
