#pragma once

#include <string>
#include <utility>

#include "cap/clock.h"
#include "core/error.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/membership_repository.h"

namespace soma::membership {

// What a membership change leaves behind: one transaction, the events
// watchers see once it committed, and the audit log. Shared by the join
// and delegation services so both record changes the same way.
class Journal {
 public:
  Journal(store::Database& db, store::EventLog& events, const cap::Clock& clock)
      : db_(db), events_(events), clock_(clock), audit_log_(db) {}

  // Runs fn in one transaction and wakes event watchers once it committed.
  template <typename Fn>
  core::Status commit(Fn&& fn) {
    core::Status s = db_.transaction(std::forward<Fn>(fn));
    if (s.ok()) events_.published();
    return s;
  }

  // Inside a commit: an event for watchers.
  core::Status emit(const std::string& kind, const std::string& space_id,
                    const std::string& subject, const std::string& detail);
  // Inside a commit: `entry` in the audit log, stamped with the time now.
  core::Status audit(store::AuditEntry entry);

  store::AuditRepository& audit_log() { return audit_log_; }

 private:
  store::Database& db_;
  store::EventLog& events_;
  const cap::Clock& clock_;
  store::AuditRepository audit_log_;
};

}  // namespace soma::membership
