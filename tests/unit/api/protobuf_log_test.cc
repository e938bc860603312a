#include "api/protobuf_log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace soma::api {
namespace {

using std::chrono::milliseconds;

TEST(LogRateLimiter, lets_a_few_lines_through_per_window_then_counts_the_rest) {
  LogRateLimiter limiter(3, milliseconds(1000));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    auto d = limiter.admit(t0 + milliseconds(i));
    EXPECT_TRUE(d.emit);
    EXPECT_EQ(d.suppressed_before, 0u);
  }
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.admit(t0 + milliseconds(10 + i)).emit);

  auto next = limiter.admit(t0 + milliseconds(1000));
  EXPECT_TRUE(next.emit);
  EXPECT_EQ(next.suppressed_before, 100u);
  EXPECT_EQ(limiter.admit(t0 + milliseconds(1001)).suppressed_before, 0u);
}

TEST(ProtobufLog, a_flood_of_libprotobuf_lines_becomes_a_few_log_lines_and_a_count) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_pattern("%l %v");
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);

  // What libprotobuf says for each request with a string that is not UTF-8.
  const std::string complaint =
      "String field 'soma.api.v1.CreateSpaceRequest.name' contains invalid UTF-8 data when "
      "parsing a protocol buffer.";
  for (int i = 0; i < 1000; ++i) protobuf_log_handler(2, "wire_format_lite.cc", 581, complaint);

  std::string text = captured.str();
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  // All 1000 arrive within one or two windows of a second.
  EXPECT_GE(lines, kProtobufLogLinesPerSecond);
  EXPECT_LE(lines, 2 * kProtobufLogLinesPerSecond + 1) << text;

  // The next line after the window reports how many were dropped.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  captured.str("");
  protobuf_log_handler(2, "wire_format_lite.cc", 581, complaint);
  spdlog::set_default_logger(previous);
  const std::string after = captured.str();
  EXPECT_NE(after.find("more lines suppressed (rate limit 5 a second)"), std::string::npos)
      << after;
  EXPECT_EQ(after.find(" 0 more lines"), std::string::npos) << after;
  EXPECT_NE(text.find("warning libprotobuf wire_format_lite.cc:581: String field"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace soma::api
