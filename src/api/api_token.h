#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace soma::api {

// The optional bearer token of the local API: 32 random bytes, written as
// 64 lower-case hex characters (plus a newline) in a file of mode 0600.
// Clients send it as gRPC metadata `authorization: Bearer <token>`.
// The token is a secret: never log it or put it in an error message.
inline constexpr std::size_t kApiTokenBytes = 32;
inline constexpr std::string_view kAuthorizationKey = "authorization";
inline constexpr std::string_view kBearerPrefix = "Bearer ";

// Returns the token in `file`, creating the file with a fresh token (mode
// 0600, synced) when it does not exist. An existing file must be a regular
// file owned by the effective user with no group or other permission bits,
// else kPermissionDenied naming the fix; a file that does not hold a token
// is kInvalidArgument.
core::Result<std::string> load_or_create_api_token(const std::filesystem::path& file);

// Reads the token a client should present. Fails with kNotFound when the
// file is missing and kInvalidArgument when it does not hold a token.
core::Result<std::string> read_api_token(const std::filesystem::path& file);

// Compares in constant time for tokens of the expected length, so the time
// taken reveals nothing about how much of a guess was right.
bool api_token_matches(std::string_view expected, std::string_view presented);

}  // namespace soma::api
