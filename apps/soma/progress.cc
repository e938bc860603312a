#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include "output.h"

namespace soma::cli {
namespace {

// Redrawing more often than this only costs time.
constexpr std::chrono::milliseconds kRedrawInterval{100};
constexpr int kBarWidth = 30;

}  // namespace

Progress::Progress(std::string label, std::uint64_t total, bool json)
    : label_(escape_control(label)),
      allowed_(!json && ::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {
  set_total(total);
}

Progress::~Progress() {
  if (active_ && !finished_) std::fputc('\n', stderr);
}

void Progress::set_total(std::uint64_t total) {
  total_ = total;
  active_ = allowed_ && total_ > kMinBytes;
}

void Progress::advance(std::uint64_t bytes) {
  done_ += bytes;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  draw(true);
  if (active_) std::fputc('\n', stderr);
  finished_ = true;
}

void Progress::draw(bool force) {
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;

  double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
  if (fraction > 1.0) fraction = 1.0;
  int filled = static_cast<int>(fraction * kBarWidth);
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done_) / 1e6 / seconds : 0.0;

  char bar[kBarWidth + 1];
  for (int i = 0; i < kBarWidth; ++i) bar[i] = i < filled ? '#' : '-';
  bar[kBarWidth] = '\0';
  std::fprintf(stderr, "\r%s [%s] %5.1f%%  %.1f/%.1f MB  %.1f MB/s ", label_.c_str(), bar,
               fraction * 100.0, static_cast<double>(done_) / 1e6,
               static_cast<double>(total_) / 1e6, rate);
  std::fflush(stderr);
}

}  // namespace soma::cli
