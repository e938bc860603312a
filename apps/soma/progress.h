#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace soma::cli {

// A one-line progress bar on stderr for a transfer: bytes, percent and
// MB/s. It shows only for transfers larger than kMinBytes, when stderr is
// a terminal and output is not --json; otherwise every call does nothing.
class Progress {
 public:
  static constexpr std::uint64_t kMinBytes = 4ull << 20;

  Progress(std::string label, std::uint64_t total, bool json);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // The total may only become known with the first chunk of a download.
  void set_total(std::uint64_t total);
  void advance(std::uint64_t bytes);
  // Draws the final state and ends the line.
  void finish();

 private:
  void draw(bool force);

  std::string label_;
  std::uint64_t total_ = 0;
  std::uint64_t done_ = 0;
  bool allowed_ = false;
  bool active_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace soma::cli
