#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cap/artifacts.h"
#include "cap/envelope.h"
#include "cap/verify.h"
#include "core/bytes.h"
#include "core/error.h"
#include "crypto/peer_id.h"

// The storage the authorizer needs, as interfaces: the store layer
// implements them over SQLite; the unit tests use an in-memory version.
// Implementations must be safe to call from any thread, and each call must
// be atomic on its own (the authorizer serializes check-then-record
// sequences itself).
namespace soma::cap {

// A membership capability the authorizer verified and accepted.
struct AcceptedCapability {
  ArtifactId id{};
  std::string space;
  crypto::PeerId subject;
  crypto::PeerId issuer;
  Role role = Role::kMember;
  Timestamp issued_at = 0;
  Timestamp expires_at = 0;
  bool delegated = false;  // issued by a delegate, so it counts toward that issuer's rate
  core::Bytes bytes;       // the carried envelope, verified again on every use
};

class CapabilityStore : public VerifyContext {
 public:
  // Records an accepted capability. Recording an id that is already there
  // (in the same space) changes nothing and succeeds. Once recorded, the
  // capability is seen by is_accepted, and by issuance_times when delegated.
  virtual core::Status record_capability(const AcceptedCapability& capability) = 0;

  // Every capability recorded for `subject` in `space`, expired or since
  // revoked ones included: the authorizer verifies each again on use.
  virtual core::Result<std::vector<AcceptedCapability>> capabilities_for(
      std::string_view space, const crypto::PeerId& subject) const = 0;

  // Stores a revocation the caller verified with verify_revocation. Storing
  // an id that is already there changes nothing and succeeds.
  virtual core::Status record_revocation(const Signed<Revocation>& revocation) = 0;
};

// Which spaces this device knows, and who owns each. The space repository
// implements it.
class SpaceDirectory {
 public:
  virtual ~SpaceDirectory() = default;
  // The owner of `space`, or nullopt when no such space is known here.
  virtual core::Result<std::optional<crypto::PeerId>> owner_of(std::string_view space) const = 0;
};

}  // namespace soma::cap
