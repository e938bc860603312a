#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cap/capability_store.h"
#include "store/database.h"

// The authorizer's storage over SQLite: accepted membership capabilities
// (table `capabilities`), revocations (`revocations`) and the owners of
// known spaces (`spaces`). See cap/capability_store.h for the contracts.
namespace soma::store {

// Implements cap::CapabilityStore. Each call takes the database lock, so a
// caller holding Database::transaction() sees its own uncommitted rows.
// Errors are the database's (see sqlite_error), plus kDataLoss for a stored
// row that no longer decodes. Thread-safe.
class CapabilityRepository final : public cap::CapabilityStore {
 public:
  explicit CapabilityRepository(Database& db) : db_(db) {}

  core::Result<std::vector<cap::Revocation>> revocations(std::string_view space) const override;
  core::Result<bool> is_accepted(std::string_view space, const cap::ArtifactId& id) const override;
  core::Result<std::vector<cap::Timestamp>> issuance_times(std::string_view space,
                                                           const crypto::PeerId& issuer,
                                                           cap::Timestamp from,
                                                           cap::Timestamp to) const override;
  core::Status record_capability(const cap::AcceptedCapability& capability) override;
  core::Result<std::vector<cap::AcceptedCapability>> capabilities_for(
      std::string_view space, const crypto::PeerId& subject) const override;
  core::Status record_revocation(const cap::Signed<cap::Revocation>& revocation) override;

  // Every capability recorded in `space`, by subject then issuance, at most
  // `limit`.
  core::Result<std::vector<cap::AcceptedCapability>> in_space(std::string_view space,
                                                              std::size_t limit) const;

  // One recorded capability by id, or nullopt.
  core::Result<std::optional<cap::AcceptedCapability>> find(std::string_view space,
                                                            const cap::ArtifactId& id) const;

 private:
  Database& db_;
};

// Implements cap::SpaceDirectory over `spaces`: every space this device
// holds, created here or joined, with the owner it recorded. An owner that
// does not parse as a PeerId is kDataLoss. Thread-safe.
class SpaceOwners final : public cap::SpaceDirectory {
 public:
  explicit SpaceOwners(Database& db) : db_(db) {}

  core::Result<std::optional<crypto::PeerId>> owner_of(std::string_view space) const override;

 private:
  Database& db_;
};

}  // namespace soma::store
