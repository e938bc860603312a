#pragma once

#include <filesystem>

#include "core/error.h"
#include "crypto/ed25519.h"

namespace soma::crypto {

// The file name of the identity key inside its directory.
inline constexpr const char* kIdentityFileName = "identity.key";

// Loads the device identity from `dir`/identity.key (the libp2p protobuf
// PrivateKey encoding), creating the key when the file does not exist.
//
// `dir` is created with mode 0700 if missing. An existing `dir` or key file
// that group or others can access, a key file that is not a regular file or
// is owned by another user, is refused with kPermissionDenied; the message
// names the path, its mode and the chmod that fixes it. A key file that does
// not decode is kDataLoss naming the file, and it is never overwritten.
// A new key is written to a 0600 temporary file, synced, then linked into
// place without replacing a file another process created meanwhile (that
// file is loaded instead), and the directory is synced.
//
// Other errors: the OS refusing access (EACCES, EPERM) is kPermissionDenied,
// any other I/O failure is kFailedPrecondition; both name the path and the
// OS error. Safe to call from several processes at once: they all end up
// with the same key. Never logs the key.
core::Result<Ed25519PrivateKey> load_or_create_identity(const std::filesystem::path& dir);

}  // namespace soma::crypto
