#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cap/clock.h"
#include "core/error.h"
#include "crypto/peer_id.h"
#include "membership/mailbox_wire.h"
#include "membership/rate_limiter.h"
#include "store/database.h"
#include "store/mailbox_repository.h"

// The rules of the items this daemon holds for other peers: who may put
// what, how much is kept, for how long, and who may take it back out.
namespace soma::membership::mailbox {

// Items kept for one recipient, and in all.
inline constexpr std::size_t kMaxItemsPerRecipient = 32;
inline constexpr std::size_t kMaxItemsTotal = 4096;
// Items one depositor may keep for one recipient: a single peer cannot
// take all of a recipient's slots.
inline constexpr std::size_t kMaxItemsPerDepositor = 8;
// How long an item is kept when the depositor names no time, and at most.
inline constexpr cap::Timestamp kDefaultItemLifetime = 7LL * 24 * 3600 * 1000;
inline constexpr cap::Timestamp kMaxItemLifetime = 30LL * 24 * 3600 * 1000;
// Deposits one peer may make in kDepositWindow, and the peers tracked.
inline constexpr std::size_t kDepositsPerWindow = 20;
inline constexpr cap::Timestamp kDepositWindow = 60 * 1000;
inline constexpr std::size_t kMaxTrackedDepositors = 4096;

struct StoreLimits {
  std::size_t per_recipient = kMaxItemsPerRecipient;
  std::size_t total = kMaxItemsTotal;
  std::size_t per_depositor = kMaxItemsPerDepositor;
  cap::Timestamp default_lifetime = kDefaultItemLifetime;
  cap::Timestamp max_lifetime = kMaxItemLifetime;
  std::size_t deposits_per_window = kDepositsPerWindow;
  cap::Timestamp deposit_window = kDepositWindow;
  std::size_t max_tracked_depositors = kMaxTrackedDepositors;
};

// Every peer id given is the one the caller's channel authenticated: a
// fetch or an acknowledgement only ever sees or removes the items
// addressed to `recipient`.
//
// Threading: every member may be called from any thread; SQLite runs on
// the caller's thread. Errors: kInvalidArgument for a payload out of
// bounds, kResourceExhausted past a rate or size limit (naming it), and
// the database's.
class MailboxStore {
 public:
  MailboxStore(store::Database& db, const cap::Clock& clock, StoreLimits limits = {});

  // Keeps `payload` for `recipient` until now + ttl (the default when ttl
  // is 0 or less, capped at max_lifetime). Returns the item's id.
  core::Result<std::int64_t> deposit(const crypto::PeerId& depositor,
                                     const crypto::PeerId& recipient, Kind kind,
                                     core::ByteView payload, std::int64_t ttl_ms);
  // The unexpired items for `recipient`, oldest first, at most `max`
  // (0 or above kMaxFetchBatch: kMaxFetchBatch). They stay until
  // acknowledged or expired.
  core::Result<std::vector<Item>> fetch(const crypto::PeerId& recipient, std::size_t max);
  // Removes those of `ids` that are addressed to `recipient`; ids of other
  // peers' items are ignored. Returns how many were removed.
  core::Result<std::uint32_t> acknowledge(const crypto::PeerId& recipient,
                                          const std::vector<std::int64_t>& ids);
  // Drops expired items; returns how many.
  core::Result<std::uint64_t> prune();

  std::uint64_t refused_deposits() const { return rate_.refused(); }

 private:
  store::Database& db_;
  const cap::Clock& clock_;
  const StoreLimits limits_;
  store::MailboxRepository items_;
  RateLimiter rate_;
};

}  // namespace soma::membership::mailbox
