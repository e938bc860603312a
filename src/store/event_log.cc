#include "store/event_log.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>

namespace soma::store {
namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

bool is_continuation(unsigned char b) { return (b & 0xc0) == 0x80; }

// Length of the UTF-8 sequence at text[i] when it is well-formed, else 0.
std::size_t sequence_length(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  std::size_t len = 0;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf)
    len = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef)
    len = 3;
  else if (b0 >= 0xf0 && b0 <= 0xf4)
    len = 4;
  else
    return 0;
  if (text.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if (!is_continuation(static_cast<unsigned char>(text[i + k]))) return 0;
  }
  const auto b1 = static_cast<unsigned char>(text[i + 1]);
  if ((b0 == 0xe0 && b1 < 0xa0) || (b0 == 0xed && b1 > 0x9f) || (b0 == 0xf0 && b1 < 0x90) ||
      (b0 == 0xf4 && b1 > 0x8f)) {
    return 0;
  }
  return len;
}

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t len = sequence_length(text, i);
    const auto b0 = static_cast<unsigned char>(text[i]);
    const bool c0 = len == 1 && (b0 < 0x20 || b0 == 0x7f);
    const bool c1 = len == 2 && b0 == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0;
    if (len == 0 || c0 || c1) {
      out += kReplacement;
      i += len == 0 ? 1 : len;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

EventLog::EventLog(Database& db, std::uint64_t retention) : db_(db), retention_(retention) {
  last_published_ = last_id();
}

Result<std::uint64_t> EventLog::append(const std::string& kind, const std::string& space_id,
                                       const std::string& subject, const std::string& detail) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO events (time_ms, kind, space_id, subject, detail) VALUES (?, ?, ?, ?, ?)");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, now_ms())
      .bind(2, kind)
      .bind(3, space_id)
      .bind(4, subject)
      .bind(5, sanitize(detail));
  SOMA_TRY(stmt->run());
  auto id = static_cast<std::uint64_t>(db_.last_insert_rowid());

  // Pruning by id keeps the newest `retention_` events; AUTOINCREMENT
  // guarantees ids are never reused after a prune.
  if (id > retention_ && id % 1024 == 0) {
    auto prune = db_.prepare("DELETE FROM events WHERE id <= ?");
    if (!prune) return prune.take_error();
    prune->bind(1, static_cast<std::int64_t>(id - retention_));
    SOMA_TRY(prune->run());
  }
  return id;
}

void EventLog::published() {
  std::uint64_t last = last_id();
  {
    std::lock_guard lock(mu_);
    last_published_ = last;
  }
  cv_.notify_all();
}

Result<std::vector<Event>> EventLog::list_after(std::uint64_t after_id, std::size_t limit) {
  constexpr auto kMaxId = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (after_id >= kMaxId || limit == 0) return std::vector<Event>{};
  constexpr auto kMaxLimit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  if (limit > kMaxLimit) limit = kMaxLimit;
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "SELECT id, time_ms, kind, space_id, subject, detail FROM events "
      "WHERE id > ? ORDER BY id LIMIT ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, static_cast<std::int64_t>(after_id)).bind(2, static_cast<std::int64_t>(limit));
  std::vector<Event> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    Event e;
    e.id = static_cast<std::uint64_t>(stmt->column_int64(0));
    e.time_ms = stmt->column_int64(1);
    e.kind = stmt->column_text(2);
    e.space_id = stmt->column_text(3);
    e.subject = stmt->column_text(4);
    e.detail = stmt->column_text(5);
    out.push_back(std::move(e));
  }
  return out;
}

std::uint64_t EventLog::last_id() {
  std::lock_guard lock(db_.mutex());
  // sqlite_sequence holds the highest id ever handed out, even after pruning.
  auto stmt = db_.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
  if (!stmt) return 0;
  auto row = stmt->step();
  return (row.ok() && *row) ? static_cast<std::uint64_t>(stmt->column_int64(0)) : 0;
}

bool EventLog::wait_after(std::uint64_t after_id, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return shutdown_ || last_published_ > after_id; });
  return !shutdown_;
}

bool EventLog::stopped() {
  std::lock_guard lock(mu_);
  return shutdown_;
}

std::uint64_t EventLog::last_published() {
  std::lock_guard lock(mu_);
  return last_published_;
}

void EventLog::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

}  // namespace soma::store
