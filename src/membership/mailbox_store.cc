#include "membership/mailbox_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace soma::membership::mailbox {

using core::Error;

MailboxStore::MailboxStore(store::Database& db, const cap::Clock& clock, StoreLimits limits)
    : db_(db),
      clock_(clock),
      limits_(limits),
      items_(db),
      rate_(limits.deposits_per_window, limits.deposit_window, limits.max_tracked_depositors) {}

core::Result<std::int64_t> MailboxStore::deposit(const crypto::PeerId& depositor,
                                                 const crypto::PeerId& recipient, Kind kind,
                                                 core::ByteView payload, std::int64_t ttl_ms) {
  const cap::Timestamp now = clock_.now();
  // Counted first, so a flood of malformed deposits is limited too.
  if (!rate_.allow(depositor, now)) {
    return Error::exhausted(fmt::format(
        "too many mailbox deposits from {}: at most {} in {} s; try again later",
        depositor.to_string(), limits_.deposits_per_window, limits_.deposit_window / 1000));
  }
  if (payload.empty() || payload.size() > kMaxPayloadSize) {
    return Error::invalid(fmt::format("a mailbox payload is 1 to {} bytes; this one has {}",
                                      kMaxPayloadSize, payload.size()));
  }
  const cap::Timestamp lifetime = ttl_ms <= 0
                                      ? limits_.default_lifetime
                                      : std::min<cap::Timestamp>(ttl_ms, limits_.max_lifetime);

  store::MailboxItemRecord record;
  record.recipient = recipient.to_string();
  record.depositor = depositor.to_string();
  record.kind = static_cast<std::int64_t>(kind);
  record.payload.assign(payload.begin(), payload.end());
  record.deposited_ms = now;
  record.expires_ms = now + lifetime;

  std::int64_t id = 0;
  core::Status done = db_.transaction([&]() -> core::Status {
    auto expired = items_.remove_expired(now);
    if (!expired) return expired.take_error();
    auto mine = items_.count_for(record.recipient);
    if (!mine) return mine.take_error();
    if (*mine >= limits_.per_recipient) {
      return Error::exhausted(fmt::format(
          "the mailbox holds {} items for {}, the most it keeps for one peer; try again after "
          "it fetched them",
          *mine, record.recipient));
    }
    auto theirs = items_.count_from(record.depositor, record.recipient);
    if (!theirs) return theirs.take_error();
    if (*theirs >= limits_.per_depositor) {
      return Error::exhausted(fmt::format(
          "the mailbox already holds {} items from {} for {}, the most one peer may leave for "
          "another; try again after they were fetched",
          *theirs, record.depositor, record.recipient));
    }
    auto all = items_.count_all();
    if (!all) return all.take_error();
    if (*all >= limits_.total) {
      spdlog::warn("mailbox deposit refused: {} items held, the most allowed", *all);
      return Error::exhausted(
          fmt::format("the mailbox holds {} items, the most it keeps; try again later", *all));
    }
    auto inserted = items_.insert(record);
    if (!inserted) return inserted.take_error();
    id = *inserted;
    return {};
  });
  if (!done.ok()) return done.take_error();
  spdlog::debug("mailbox item {} kept for peer={} from peer={} kind={}", id, record.recipient,
                record.depositor, to_string(kind));
  return id;
}

core::Result<std::vector<Item>> MailboxStore::fetch(const crypto::PeerId& recipient,
                                                    std::size_t max) {
  if (max == 0 || max > kMaxFetchBatch) max = kMaxFetchBatch;
  auto rows = items_.for_recipient(recipient.to_string(), clock_.now(), max);
  if (!rows) return rows.take_error();
  std::vector<Item> out;
  for (store::MailboxItemRecord& row : *rows) {
    auto depositor = crypto::PeerId::parse(row.depositor);
    if (!depositor || (row.kind != static_cast<std::int64_t>(Kind::kJoinRequest) &&
                       row.kind != static_cast<std::int64_t>(Kind::kJoinDecision))) {
      return Error::data_loss(
          fmt::format("mailbox item {} no longer reads back; the database is damaged", row.id));
    }
    out.push_back(Item{row.id, std::move(*depositor), static_cast<Kind>(row.kind),
                       std::move(row.payload), row.deposited_ms, row.expires_ms});
  }
  return out;
}

core::Result<std::uint32_t> MailboxStore::acknowledge(const crypto::PeerId& recipient,
                                                      const std::vector<std::int64_t>& ids) {
  if (ids.size() > kMaxAckIds) {
    return Error::invalid(fmt::format("an acknowledgement names at most {} items; this one {}",
                                      kMaxAckIds, ids.size()));
  }
  const std::string who = recipient.to_string();
  std::uint32_t removed = 0;
  core::Status done = db_.transaction([&]() -> core::Status {
    for (std::int64_t id : ids) {
      auto gone = items_.remove(who, id);
      if (!gone) return gone.take_error();
      if (*gone) ++removed;
    }
    return {};
  });
  if (!done.ok()) return done.take_error();
  return removed;
}

core::Result<std::uint64_t> MailboxStore::prune() { return items_.remove_expired(clock_.now()); }

}  // namespace soma::membership::mailbox
