#include "cap/refusal.h"

namespace soma::cap {

std::string_view to_string(Reason reason) {
  switch (reason) {
    case Reason::kTooLarge:
      return "too_large";
    case Reason::kMalformed:
      return "malformed";
    case Reason::kNotDeterministic:
      return "not_deterministic";
    case Reason::kBadSignature:
      return "bad_signature";
    case Reason::kWrongSpace:
      return "wrong_space";
    case Reason::kWrongOwner:
      return "wrong_owner";
    case Reason::kSubjectMismatch:
      return "subject_mismatch";
    case Reason::kNotYetValid:
      return "not_yet_valid";
    case Reason::kExpired:
      return "expired";
    case Reason::kRoleNotGrantable:
      return "role_not_grantable";
    case Reason::kIssuerNotAuthorized:
      return "issuer_not_authorized";
    case Reason::kDelegationInvalid:
      return "delegation_invalid";
    case Reason::kDelegationExpired:
      return "delegation_expired";
    case Reason::kDelegationRoleNotAllowed:
      return "delegation_role_not_allowed";
    case Reason::kDelegationExpiryExceeded:
      return "delegation_expiry_exceeded";
    case Reason::kIssuedOutsideDelegation:
      return "issued_outside_delegation";
    case Reason::kDelegationRevoked:
      return "delegation_revoked";
    case Reason::kIssuerRevoked:
      return "issuer_revoked";
    case Reason::kMemberRevoked:
      return "member_revoked";
    case Reason::kCapabilityRevoked:
      return "capability_revoked";
    case Reason::kRateLimited:
      return "rate_limited";
    case Reason::kUnknownSpace:
      return "unknown_space";
    case Reason::kNoCapability:
      return "no_capability";
    case Reason::kRequestMismatch:
      return "request_mismatch";
  }
  return "unknown";
}

core::ErrorCode error_code(Reason reason) {
  switch (reason) {
    case Reason::kMalformed:
    case Reason::kNotDeterministic:
      return core::ErrorCode::kInvalidArgument;
    case Reason::kTooLarge:
    case Reason::kRateLimited:
      return core::ErrorCode::kResourceExhausted;
    case Reason::kUnknownSpace:
      return core::ErrorCode::kNotFound;
    default:
      return core::ErrorCode::kPermissionDenied;
  }
}

}  // namespace soma::cap
