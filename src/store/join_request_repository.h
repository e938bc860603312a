#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "store/database.h"

// Join requests in both directions (table `join_requests`) and the outbox
// of decisions on their way to their requesters (`decision_outbox`).
namespace soma::store {

enum class JoinDirection : std::uint8_t { kIncoming, kOutgoing };

// pending: waiting for a decision. approved, rejected: decided (made here
// for incoming requests, received for outgoing ones). failed: an outgoing
// request that never reached a decider, or that the decider refused to
// record.
enum class JoinState : std::uint8_t { kPending, kApproved, kRejected, kFailed };

// Where a decision made here is on its way back: none (undecided, or an
// outgoing request), pending (in the outbox), delivered, failed (given up).
enum class Delivery : std::uint8_t { kNone, kPending, kDelivered, kFailed };

std::string_view to_string(JoinDirection direction);
std::string_view to_string(JoinState state);
std::string_view to_string(Delivery delivery);
// The inverses; nullopt for text that names none.
std::optional<JoinDirection> parse_join_direction(std::string_view text);
std::optional<JoinState> parse_join_state(std::string_view text);
std::optional<Delivery> parse_delivery(std::string_view text);

struct JoinRequestRecord {
  std::string id;  // the request's nonce, 32 lower-case hex digits
  JoinDirection direction = JoinDirection::kIncoming;
  std::string space_id;
  // Incoming: the requester, as the channel authenticated it. Outgoing: the
  // peer the request went to (empty until one answered).
  std::string peer;
  std::string owner;  // outgoing: the space's owner as the answer named it
  std::string role;   // the role asked for
  JoinState state = JoinState::kPending;
  core::Bytes request;                  // the signed JoinRequest envelope
  std::vector<std::string> peer_addrs;  // incoming: where the requester said it listens
  std::string via;                      // outgoing: the peer or address the user named
  std::string space_name;               // outgoing: the name an approval carried
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  std::optional<std::string> granted_role;  // approved: the role the capability grants
  std::optional<std::int64_t> expires_ms;   // approved: when the capability ends
  std::optional<std::string> reason;        // the decision's reason, when it gave one
  std::optional<core::Bytes> decision;      // the signed JoinDecision, made or received
  std::optional<std::int64_t> decided_ms;
  Delivery delivery = Delivery::kNone;
  std::string detail;  // why a request failed, or what delivery last ran into
};

struct JoinRequestFilter {
  std::optional<JoinDirection> direction;
  std::optional<JoinState> state;
  std::optional<std::string> space_id;
  std::size_t limit = 1000;
};

// A decision waiting in the outbox.
struct OutboxItem {
  std::string request_id;
  std::string peer;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_ms = 0;
  std::int64_t give_up_ms = 0;
  std::string last_error;
  std::int64_t created_ms = 0;
};

// The SQL for join requests and the decision outbox. Each call takes the
// database lock; callers that need several calls to be atomic wrap them in
// Database::transaction(). Errors are the database's (see sqlite_error;
// kAlreadyExists for a duplicate id), and kDataLoss for a row whose enums
// do not parse. Thread-safe.
class JoinRequestRepository {
 public:
  explicit JoinRequestRepository(Database& db) : db_(db) {}

  Status insert(const JoinRequestRecord& request);
  // Writes every field but id, direction and created_ms. False when no
  // such request exists.
  Result<bool> update(const JoinRequestRecord& request);
  Result<std::optional<JoinRequestRecord>> find(const std::string& id);
  // Requests whose id starts with `prefix` (hex), at most `limit` of them.
  Result<std::vector<JoinRequestRecord>> find_by_prefix(const std::string& prefix,
                                                        std::size_t limit);
  // Newest first.
  Result<std::vector<JoinRequestRecord>> list(const JoinRequestFilter& filter);
  // Incoming requests still pending: from `peer`, or from anyone.
  Result<std::uint64_t> count_pending_from(const std::string& peer);
  Result<std::uint64_t> count_pending_incoming();

  // Puts a decision in the outbox, first attempt at next_attempt_ms.
  // Replaces an earlier entry for the same request.
  Status enqueue(const OutboxItem& item);
  // Outbox entries due at `now_ms`, earliest first, at most `limit`.
  Result<std::vector<OutboxItem>> due(std::int64_t now_ms, std::size_t limit);
  // When the earliest outbox entry is due, or nullopt for an empty outbox.
  Result<std::optional<std::int64_t>> next_due();
  Result<std::optional<OutboxItem>> outbox_item(const std::string& request_id);
  // Records a failed attempt; false when the entry is gone.
  Result<bool> reschedule(const std::string& request_id, std::int64_t attempts,
                          std::int64_t next_attempt_ms, const std::string& last_error);
  Result<bool> dequeue(const std::string& request_id);
  Result<std::uint64_t> outbox_size();

 private:
  Database& db_;
};

}  // namespace soma::store
