#include "store/join_request_repository.h"

#include <fmt/format.h>

#include <limits>

namespace soma::store {
namespace {

constexpr std::string_view kColumns =
    "id, direction, space_id, peer, owner, role, state, request, peer_addrs, via, space_name, "
    "created_ms, updated_ms, granted_role, expires_ms, reason, decision, decided_ms, delivery, "
    "detail";

// Addresses are multiaddrs, which never hold a newline.
std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::int64_t clamp_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(limit > kMax ? kMax : limit);
}

Error damaged(const std::string& id, std::string_view column, const std::string& value) {
  return Error::data_loss(fmt::format(
      "join request {} has {} '{}', which this daemon does not know; the database is damaged",
      id, column, value.substr(0, 32)));
}

Result<JoinRequestRecord> read_request(const Statement& stmt) {
  JoinRequestRecord r;
  r.id = stmt.column_text(0);
  const std::string direction = stmt.column_text(1);
  auto d = parse_join_direction(direction);
  if (!d) return damaged(r.id, "direction", direction);
  r.direction = *d;
  r.space_id = stmt.column_text(2);
  r.peer = stmt.column_text(3);
  r.owner = stmt.column_text(4);
  r.role = stmt.column_text(5);
  const std::string state = stmt.column_text(6);
  auto s = parse_join_state(state);
  if (!s) return damaged(r.id, "state", state);
  r.state = *s;
  r.request = stmt.column_blob(7);
  r.peer_addrs = split_lines(stmt.column_text(8));
  r.via = stmt.column_text(9);
  r.space_name = stmt.column_text(10);
  r.created_ms = stmt.column_int64(11);
  r.updated_ms = stmt.column_int64(12);
  r.granted_role = stmt.column_optional_text(13);
  if (!stmt.column_is_null(14)) r.expires_ms = stmt.column_int64(14);
  r.reason = stmt.column_optional_text(15);
  if (!stmt.column_is_null(16)) r.decision = stmt.column_blob(16);
  if (!stmt.column_is_null(17)) r.decided_ms = stmt.column_int64(17);
  const std::string delivery = stmt.column_text(18);
  auto del = parse_delivery(delivery);
  if (!del) return damaged(r.id, "delivery", delivery);
  r.delivery = *del;
  r.detail = stmt.column_text(19);
  return r;
}

Result<std::vector<JoinRequestRecord>> read_requests(Statement& stmt) {
  std::vector<JoinRequestRecord> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) break;
    auto r = read_request(stmt);
    if (!r) return r.take_error();
    out.push_back(std::move(*r));
  }
  return out;
}

// Binds the mutable fields at `first`, `first + 1`, … in the order
// owner … detail of kColumns.
void bind_mutable(Statement& stmt, int first, const JoinRequestRecord& r) {
  stmt.bind(first, r.peer)
      .bind(first + 1, r.owner)
      .bind(first + 2, r.role)
      .bind(first + 3, to_string(r.state))
      .bind(first + 4, join_lines(r.peer_addrs))
      .bind(first + 5, r.via)
      .bind(first + 6, r.space_name)
      .bind(first + 7, r.updated_ms)
      .bind_optional(first + 8, r.granted_role);
  if (r.expires_ms) {
    stmt.bind(first + 9, *r.expires_ms);
  } else {
    stmt.bind_null(first + 9);
  }
  stmt.bind_optional(first + 10, r.reason);
  if (r.decision) {
    stmt.bind(first + 11, core::ByteView(*r.decision));
  } else {
    stmt.bind_null(first + 11);
  }
  if (r.decided_ms) {
    stmt.bind(first + 12, *r.decided_ms);
  } else {
    stmt.bind_null(first + 12);
  }
  stmt.bind(first + 13, to_string(r.delivery)).bind(first + 14, r.detail);
}

OutboxItem read_item(const Statement& stmt) {
  OutboxItem item;
  item.request_id = stmt.column_text(0);
  item.peer = stmt.column_text(1);
  item.attempts = stmt.column_int64(2);
  item.next_attempt_ms = stmt.column_int64(3);
  item.give_up_ms = stmt.column_int64(4);
  item.last_error = stmt.column_text(5);
  item.created_ms = stmt.column_int64(6);
  return item;
}

constexpr std::string_view kOutboxColumns =
    "request_id, peer, attempts, next_attempt_ms, give_up_ms, last_error, created_ms";

}  // namespace

std::string_view to_string(JoinDirection direction) {
  return direction == JoinDirection::kIncoming ? "incoming" : "outgoing";
}

std::string_view to_string(JoinState state) {
  switch (state) {
    case JoinState::kPending: return "pending";
    case JoinState::kApproved: return "approved";
    case JoinState::kRejected: return "rejected";
    case JoinState::kFailed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(Delivery delivery) {
  switch (delivery) {
    case Delivery::kNone: return "";
    case Delivery::kPending: return "pending";
    case Delivery::kDelivered: return "delivered";
    case Delivery::kFailed: return "failed";
  }
  return "unknown";
}

std::optional<JoinDirection> parse_join_direction(std::string_view text) {
  if (text == "incoming") return JoinDirection::kIncoming;
  if (text == "outgoing") return JoinDirection::kOutgoing;
  return std::nullopt;
}

std::optional<JoinState> parse_join_state(std::string_view text) {
  for (auto s : {JoinState::kPending, JoinState::kApproved, JoinState::kRejected,
                 JoinState::kFailed}) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

std::optional<Delivery> parse_delivery(std::string_view text) {
  for (auto d : {Delivery::kNone, Delivery::kPending, Delivery::kDelivered, Delivery::kFailed}) {
    if (text == to_string(d)) return d;
  }
  return std::nullopt;
}

Status JoinRequestRepository::insert(const JoinRequestRecord& r) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "INSERT INTO join_requests ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?)",
      kColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, r.id)
      .bind(2, to_string(r.direction))
      .bind(3, r.space_id)
      .bind(4, r.peer)
      .bind(5, r.owner)
      .bind(6, r.role)
      .bind(7, to_string(r.state))
      .bind(8, core::ByteView(r.request))
      .bind(9, join_lines(r.peer_addrs))
      .bind(10, r.via)
      .bind(11, r.space_name)
      .bind(12, r.created_ms)
      .bind(13, r.updated_ms)
      .bind_optional(14, r.granted_role);
  if (r.expires_ms) {
    stmt->bind(15, *r.expires_ms);
  } else {
    stmt->bind_null(15);
  }
  stmt->bind_optional(16, r.reason);
  if (r.decision) {
    stmt->bind(17, core::ByteView(*r.decision));
  } else {
    stmt->bind_null(17);
  }
  if (r.decided_ms) {
    stmt->bind(18, *r.decided_ms);
  } else {
    stmt->bind_null(18);
  }
  stmt->bind(19, to_string(r.delivery)).bind(20, r.detail);
  return stmt->run();
}

Result<bool> JoinRequestRepository::update(const JoinRequestRecord& r) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "UPDATE join_requests SET peer = ?, owner = ?, role = ?, state = ?, peer_addrs = ?, "
      "via = ?, space_name = ?, updated_ms = ?, granted_role = ?, expires_ms = ?, reason = ?, "
      "decision = ?, decided_ms = ?, delivery = ?, detail = ? WHERE id = ?");
  if (!stmt) return stmt.take_error();
  bind_mutable(*stmt, 1, r);
  stmt->bind(16, r.id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<std::optional<JoinRequestRecord>> JoinRequestRepository::find(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format("SELECT {} FROM join_requests WHERE id = ?", kColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id);
  auto rows = read_requests(*stmt);
  if (!rows) return rows.take_error();
  if (rows->empty()) return std::optional<JoinRequestRecord>();
  return std::optional<JoinRequestRecord>(std::move(rows->front()));
}

Result<std::vector<JoinRequestRecord>> JoinRequestRepository::find_by_prefix(
    const std::string& prefix, std::size_t limit) {
  std::lock_guard lock(db_.mutex());
  // substr() rather than LIKE: the prefix is matched byte for byte, with no
  // wildcard characters to escape.
  auto stmt = db_.prepare(fmt::format(
      "SELECT {} FROM join_requests WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT ?", kColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, static_cast<std::int64_t>(prefix.size())).bind(2, prefix).bind(3,
                                                                               clamp_limit(limit));
  return read_requests(*stmt);
}

Result<std::vector<JoinRequestRecord>> JoinRequestRepository::list(
    const JoinRequestFilter& filter) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "SELECT {} FROM join_requests WHERE (?1 IS NULL OR direction = ?1) AND "
      "(?2 IS NULL OR state = ?2) AND (?3 IS NULL OR space_id = ?3) "
      "ORDER BY created_ms DESC, id LIMIT ?4",
      kColumns));
  if (!stmt) return stmt.take_error();
  if (filter.direction) {
    stmt->bind(1, to_string(*filter.direction));
  } else {
    stmt->bind_null(1);
  }
  if (filter.state) {
    stmt->bind(2, to_string(*filter.state));
  } else {
    stmt->bind_null(2);
  }
  stmt->bind_optional(3, filter.space_id);
  stmt->bind(4, clamp_limit(filter.limit));
  return read_requests(*stmt);
}

Result<std::uint64_t> JoinRequestRepository::count_pending_from(const std::string& peer) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "SELECT count(*) FROM join_requests WHERE direction = 'incoming' AND state = 'pending' "
      "AND peer = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, peer);
  auto row = stmt->step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt->column_int64(0));
}

Result<std::uint64_t> JoinRequestRepository::count_pending_incoming() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "SELECT count(*) FROM join_requests WHERE direction = 'incoming' AND state = 'pending'");
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt->column_int64(0));
}

Status JoinRequestRepository::enqueue(const OutboxItem& item) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "INSERT INTO decision_outbox ({}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO "
      "UPDATE SET peer = excluded.peer, attempts = excluded.attempts, next_attempt_ms = "
      "excluded.next_attempt_ms, give_up_ms = excluded.give_up_ms, last_error = "
      "excluded.last_error, created_ms = excluded.created_ms",
      kOutboxColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, item.request_id)
      .bind(2, item.peer)
      .bind(3, item.attempts)
      .bind(4, item.next_attempt_ms)
      .bind(5, item.give_up_ms)
      .bind(6, item.last_error)
      .bind(7, item.created_ms);
  return stmt->run();
}

Result<std::vector<OutboxItem>> JoinRequestRepository::due(std::int64_t now_ms, std::size_t limit) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      fmt::format("SELECT {} FROM decision_outbox WHERE next_attempt_ms <= ? "
                  "ORDER BY next_attempt_ms, request_id LIMIT ?",
                  kOutboxColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, now_ms).bind(2, clamp_limit(limit));
  std::vector<OutboxItem> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(read_item(*stmt));
  }
  return out;
}

Result<std::optional<std::int64_t>> JoinRequestRepository::next_due() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT min(next_attempt_ms) FROM decision_outbox");
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row || stmt->column_is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt->column_int64(0));
}

Result<std::optional<OutboxItem>> JoinRequestRepository::outbox_item(
    const std::string& request_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      fmt::format("SELECT {} FROM decision_outbox WHERE request_id = ?", kOutboxColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, request_id);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<OutboxItem>();
  return std::optional<OutboxItem>(read_item(*stmt));
}

Result<bool> JoinRequestRepository::reschedule(const std::string& request_id,
                                               std::int64_t attempts,
                                               std::int64_t next_attempt_ms,
                                               const std::string& last_error) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "UPDATE decision_outbox SET attempts = ?, next_attempt_ms = ?, last_error = ? "
      "WHERE request_id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, attempts).bind(2, next_attempt_ms).bind(3, last_error).bind(4, request_id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<bool> JoinRequestRepository::dequeue(const std::string& request_id) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("DELETE FROM decision_outbox WHERE request_id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, request_id);
  SOMA_TRY(stmt->run());
  return db_.changes() > 0;
}

Result<std::uint64_t> JoinRequestRepository::outbox_size() {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT count(*) FROM decision_outbox");
  if (!stmt) return stmt.take_error();
  auto row = stmt->step();
  if (!row) return row.take_error();
  return static_cast<std::uint64_t>(stmt->column_int64(0));
}

}  // namespace soma::store
