#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace soma::store {

struct Event {
  std::uint64_t id = 0;
  std::int64_t time_ms = 0;
  std::string kind;
  std::string space_id;
  std::string subject;
  std::string detail;  // a short summary for people; never content nor control characters
};

// The daemon's persistent, ordered event log. Events are written in the same
// transaction as the change they describe, so a client that resumes after a
// restart sees exactly what was committed. Thread-safe.
class EventLog {
 public:
  // Keeps at most this many events; older ones are pruned on append.
  static constexpr std::uint64_t kDefaultRetention = 100'000;

  explicit EventLog(Database& db, std::uint64_t retention = kDefaultRetention);

  // Appends inside the caller's open transaction and returns the new id.
  // Call published() after the transaction commits to wake watchers.
  // Control characters in `detail` (C0, DEL and C1, which terminals act on)
  // and bytes that are not UTF-8 are stored as U+FFFD, so no name a caller
  // chose can drive the terminal of whoever reads the log.
  Result<std::uint64_t> append(const std::string& kind, const std::string& space_id,
                               const std::string& subject, const std::string& detail);
  void published();

  // Up to `limit` events with id > after_id, oldest first. Ids are never
  // above INT64_MAX (SQLite rowids), so a larger after_id gives nothing.
  Result<std::vector<Event>> list_after(std::uint64_t after_id, std::size_t limit);
  std::uint64_t last_id();

  // Blocks until an event with id > after_id may exist, the deadline passes,
  // or shutdown() is called. Returns false on shutdown.
  bool wait_after(std::uint64_t after_id, std::chrono::steady_clock::time_point deadline);
  void shutdown();
  bool stopped();
  // The highest id announced by published(); no database access.
  std::uint64_t last_published();

 private:
  Database& db_;
  std::uint64_t retention_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t last_published_ = 0;
  bool shutdown_ = false;
};

}  // namespace soma::store
