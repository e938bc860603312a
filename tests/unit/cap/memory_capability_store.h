#pragma once

// In-memory implementations of the authorizer's storage interfaces, for
// unit tests only: the daemon uses the SQLite repositories.

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cap/capability_store.h"
#include "cap/clock.h"

namespace soma::cap::testing {

class MemoryCapabilityStore final : public CapabilityStore {
 public:
  core::Result<std::vector<Revocation>> revocations(std::string_view space) const override {
    std::lock_guard lock(mutex_);
    if (read_error_) return *read_error_;
    std::vector<Revocation> out;
    for (const auto& r : revocations_) {
      if (r.space == space) out.push_back(r);
    }
    return out;
  }

  core::Result<bool> is_accepted(std::string_view space, const ArtifactId& id) const override {
    std::lock_guard lock(mutex_);
    return find(space, id) != nullptr;
  }

  core::Result<std::vector<Timestamp>> issuance_times(std::string_view space,
                                                      const crypto::PeerId& issuer, Timestamp from,
                                                      Timestamp to) const override {
    std::lock_guard lock(mutex_);
    std::vector<Timestamp> out;
    for (const auto& c : capabilities_) {
      if (c.space == space && c.delegated && c.issuer == issuer && c.issued_at >= from &&
          c.issued_at <= to) {
        out.push_back(c.issued_at);
      }
    }
    return out;
  }

  core::Status record_capability(const AcceptedCapability& capability) override {
    std::lock_guard lock(mutex_);
    if (find(capability.space, capability.id) == nullptr) capabilities_.push_back(capability);
    return {};
  }

  core::Result<std::vector<AcceptedCapability>> capabilities_for(
      std::string_view space, const crypto::PeerId& subject) const override {
    std::lock_guard lock(mutex_);
    if (read_error_) return *read_error_;
    std::vector<AcceptedCapability> out;
    for (const auto& c : capabilities_) {
      if (c.space == space && c.subject == subject) out.push_back(c);
    }
    return out;
  }

  core::Status record_revocation(const Signed<Revocation>& revocation) override {
    std::lock_guard lock(mutex_);
    const bool known = std::any_of(revocations_.begin(), revocations_.end(), [&](const auto& r) {
      return r.space == revocation.body.space && r.id == revocation.body.id;
    });
    if (!known) revocations_.push_back(revocation.body);
    return {};
  }

  // Makes revocations() and capabilities_for() fail, as a broken disk would.
  void fail_reads_with(std::optional<core::Error> error) {
    std::lock_guard lock(mutex_);
    read_error_ = std::move(error);
  }

  std::size_t capability_count() const {
    std::lock_guard lock(mutex_);
    return capabilities_.size();
  }

 private:
  const AcceptedCapability* find(std::string_view space, const ArtifactId& id) const {
    for (const auto& c : capabilities_) {
      if (c.space == space && c.id == id) return &c;
    }
    return nullptr;
  }

  mutable std::mutex mutex_;
  std::vector<AcceptedCapability> capabilities_;
  std::vector<Revocation> revocations_;
  std::optional<core::Error> read_error_;
};

class MemorySpaceDirectory final : public SpaceDirectory {
 public:
  void add(const SpaceRef& space) {
    std::lock_guard lock(mutex_);
    owners_[space.id] = space.owner;
  }

  core::Result<std::optional<crypto::PeerId>> owner_of(std::string_view space) const override {
    std::lock_guard lock(mutex_);
    auto it = owners_.find(std::string(space));
    if (it == owners_.end()) return std::optional<crypto::PeerId>();
    return std::optional<crypto::PeerId>(it->second);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, crypto::PeerId> owners_;
};

// A clock that only moves when a test moves it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp now) : now_(now) {}
  Timestamp now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(Timestamp now) {
    std::lock_guard lock(mutex_);
    now_ = now;
  }
  void advance(Timestamp by) {
    std::lock_guard lock(mutex_);
    now_ += by;
  }

 private:
  mutable std::mutex mutex_;
  Timestamp now_;
};

}  // namespace soma::cap::testing
