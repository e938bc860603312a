#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "client.h"
#include "core/bytes.h"
#include "core/error.h"
#include "notes/file_access.h"

namespace soma::cli {

// Uploads are sent in messages of this size after the header.
constexpr std::size_t kUploadChunkBytes = 1 << 20;

// Streams the regular file open at `fd` (`size` bytes) to the daemon as a
// blob charged to `space`: the header first, then 1 MiB chunks. With
// `expected_cid` the daemon refuses bytes that hash to anything else.
core::Result<api::BlobInfo> upload_blob(Client& client, int fd, std::uint64_t size,
                                        const std::string& space, const std::string& name,
                                        const std::string& expected_cid, bool json);

// Streams a blob's bytes into `sink` in order, checking that they arrive
// in sequence and complete; a progress bar shows for large blobs.
core::Status read_blob(Client& client, const std::string& cid, bool json,
                       const std::function<core::Status(core::ByteView)>& sink);

// Stores the regular file open at `fd` (`size` bytes) as upload_blob does,
// but first asks the daemon to read the file itself (ImportBlobFile), which
// spares the bytes the trip through gRPC. When the daemon cannot reach the
// file (it runs in another mount namespace, or predates that call) the
// bytes are streamed with upload_blob instead; nothing tells the two apart
// but speed. A progress bar shows for large files either way.
core::Result<api::BlobInfo> add_file_blob(Client& client, int fd, std::uint64_t size,
                                          const std::string& space, const std::string& name,
                                          const std::string& expected_cid, bool json);

// Fills `out` (an empty temporary file, renamed into place by the caller)
// with blob `cid`: the daemon writes and syncs it itself when it can reach
// it (ExportBlobFile), else the bytes are streamed with read_blob.
core::Status write_blob_file(Client& client, const std::string& cid, notes::AtomicFile& out,
                             bool json);

}  // namespace soma::cli
