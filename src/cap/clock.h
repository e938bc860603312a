#pragma once

#include "cap/artifacts.h"

namespace soma::cap {

// The time verification runs at. Injected so tests can move time, and so
// every check in one authorizer call sees one consistent "now".
// Implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

// Wall-clock time (std::chrono::system_clock) in milliseconds since the epoch.
class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
};

}  // namespace soma::cap
