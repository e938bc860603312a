#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/error.h"

namespace soma::cap {

// Why an artifact or a peer was refused. Every check in verify.h and the
// authorizer ends in exactly one of these, so a surface can tell a person
// why ("expired", "revoked") and tests can tell the checks apart.
enum class Reason : std::uint8_t {
  kTooLarge,                  // the carried bytes exceed kMaxArtifactSize
  kMalformed,                 // not CBOR, truncated, trailing bytes, or a schema violation
  kNotDeterministic,          // CBOR, but not the one deterministic encoding
  kBadSignature,              // the signature does not verify under the signer's key
  kWrongSpace,                // the artifact is for another space
  kWrongOwner,                // the artifact names an owner other than the space's
  kSubjectMismatch,           // the capability's subject is not the authenticated peer
  kNotYetValid,               // issued later than now plus the clock-skew allowance
  kExpired,                   // expired longer ago than the clock-skew allowance
  kRoleNotGrantable,          // the owner role for anyone but the owner
  kIssuerNotAuthorized,       // issuer is not the owner and carries no delegation
  kDelegationInvalid,         // the delegation is not the owner's, or is for someone else
  kDelegationExpired,         // the delegation is not valid now
  kDelegationRoleNotAllowed,  // the delegation does not allow this role
  kDelegationExpiryExceeded,  // the membership outlives the delegation's limit
  kIssuedOutsideDelegation,   // issued before or after the delegation's validity
  kDelegationRevoked,         // the delegation itself was revoked by id
  kIssuerRevoked,             // the issuer was revoked and the policy covers this one
  kMemberRevoked,             // the subject was revoked as a member
  kCapabilityRevoked,         // this capability was revoked by id
  kRateLimited,               // the issuer exceeded its delegation's rate per hour
  kUnknownSpace,              // the authorizer knows no space with this id
  kNoCapability,              // the peer holds no capability for the space
  kRequestMismatch,           // a join decision that does not answer the request
};

// A stable snake_case name ("subject_mismatch") for logs, APIs and tests.
std::string_view to_string(Reason reason);

// The most fitting core::ErrorCode for a reason: kInvalidArgument for
// malformed input, kResourceExhausted for size and rate, kNotFound for an
// unknown space, kPermissionDenied for the rest.
core::ErrorCode error_code(Reason reason);

struct Refusal {
  Reason reason = Reason::kMalformed;
  std::string message;  // what was wrong, for a person; never holds key material

  core::Error to_error() const { return core::Error{error_code(reason), message}; }
};

// Either a checked value or the Refusal that stopped it. Storage or other
// local failures are not refusals; functions that can hit them return
// core::Result<Checked<T>>.
template <typename T>
class [[nodiscard]] Checked {
 public:
  Checked(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Checked(Refusal refusal) : v_(std::move(refusal)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Refusal& refusal() const { return std::get<1>(v_); }
  Refusal&& take_refusal() { return std::get<1>(std::move(v_)); }

  core::Result<T> to_result() && {
    if (ok()) return std::get<0>(std::move(v_));
    return std::get<1>(v_).to_error();
  }

 private:
  std::variant<T, Refusal> v_;
};

}  // namespace soma::cap
