#pragma once

#include <optional>
#include <string>

#include "cap/artifacts.h"
#include "crypto/peer_id.h"

namespace soma::membership {

// A join request as a decider sees it: verified, recorded as pending.
struct IncomingJoin {
  std::string id;
  std::string space_id;
  crypto::PeerId requester;  // as the channel authenticated it
  cap::Role role = cap::Role::kMember;
  cap::Timestamp received_at = 0;
};

// What a decider wants done with a request.
struct Verdict {
  enum class Kind { kLeavePending, kApprove, kReject };
  Kind kind = Kind::kLeavePending;
  cap::Role role = cap::Role::kMember;     // kApprove
  std::optional<cap::Timestamp> expires_at;  // kApprove; nullopt: the default lifetime
  std::string reason;                      // kReject (optional)
};

// Decides join requests as they arrive. MembershipService asks it once per
// new request, after the request is recorded, and carries out the verdict
// with the same rules as a person's approve or reject. Called from the
// thread that records the request; implementations must be thread-safe.
class JoinDecider {
 public:
  virtual ~JoinDecider() = default;
  virtual Verdict on_request(const IncomingJoin& request) = 0;
};

// Leaves every request pending for the owner to decide (`soma approve`,
// `soma reject`): the daemon's decider.
class OwnerDecides final : public JoinDecider {
 public:
  Verdict on_request(const IncomingJoin&) override { return Verdict{}; }
};

}  // namespace soma::membership
