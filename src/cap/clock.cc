#include "cap/clock.h"

#include <chrono>

namespace soma::cap {

Timestamp SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace soma::cap
