#include "membership/journal.h"

namespace soma::membership {

core::Status Journal::emit(const std::string& kind, const std::string& space_id,
                           const std::string& subject, const std::string& detail) {
  auto id = events_.append(kind, space_id, subject, detail);
  if (!id) return id.take_error();
  return {};
}

core::Status Journal::audit(store::AuditEntry entry) {
  entry.time_ms = clock_.now();
  auto id = audit_log_.append(entry);
  if (!id) return id.take_error();
  return {};
}

}  // namespace soma::membership
