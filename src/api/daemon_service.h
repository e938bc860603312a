#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "blob/blob_store.h"
#include "soma/api/v1/daemon.grpc.pb.h"
#include "space/space_service.h"
#include "store/event_log.h"

namespace soma::api {

// What Status reports about the daemon itself; fixed for its lifetime.
struct DaemonInfo {
  std::string peer_id;
  std::string version;
  std::filesystem::path data_dir;
  std::filesystem::path socket_path;
  std::int64_t started_ms = 0;
};

// The gRPC controller of soma.api.v1.Daemon. Each handler checks the API
// token (when one is configured), decodes the request, calls one service
// and encodes the answer; the rules live in the services. Service errors
// become gRPC codes through to_grpc_status.
//
// Ownership: the services are borrowed and must outlive this object and
// the server that runs it. Threading: gRPC calls the handlers from its
// thread pool concurrently; the services are thread-safe and this class
// holds no mutable state.
class DaemonService final : public v1::Daemon::Service {
 public:
  // The most blob bytes in one ReadBlob message: one chunk of the store.
  static constexpr std::size_t kReadMessageBytes = 256 * 1024;
  // Events sent per replay query; also bounds what one WatchEvents call
  // holds in memory at a time.
  static constexpr std::size_t kEventBatch = 256;
  // How long a following WatchEvents waits for news before it looks again
  // whether the client left or the daemon is stopping.
  static constexpr std::chrono::milliseconds kWatchPollInterval{500};

  // `token`: when set, every call must carry `authorization: Bearer <token>`.
  DaemonService(space::SpaceService& spaces, blob::BlobStore& blobs, store::EventLog& events,
                DaemonInfo info, std::optional<std::string> token);

  grpc::Status Status(grpc::ServerContext* ctx, const v1::StatusRequest* req,
                      v1::StatusReply* reply) override;

  grpc::Status CreateSpace(grpc::ServerContext* ctx, const v1::CreateSpaceRequest* req,
                           v1::Space* reply) override;
  grpc::Status ListSpaces(grpc::ServerContext* ctx, const v1::ListSpacesRequest* req,
                          v1::ListSpacesReply* reply) override;
  grpc::Status GetSpace(grpc::ServerContext* ctx, const v1::GetSpaceRequest* req,
                        v1::Space* reply) override;
  grpc::Status RenameSpace(grpc::ServerContext* ctx, const v1::RenameSpaceRequest* req,
                           v1::Space* reply) override;
  grpc::Status DeleteSpace(grpc::ServerContext* ctx, const v1::DeleteSpaceRequest* req,
                           v1::DeleteSpaceReply* reply) override;

  grpc::Status CreatePage(grpc::ServerContext* ctx, const v1::CreatePageRequest* req,
                          v1::Page* reply) override;
  grpc::Status ListPages(grpc::ServerContext* ctx, const v1::ListPagesRequest* req,
                         v1::ListPagesReply* reply) override;
  grpc::Status GetPage(grpc::ServerContext* ctx, const v1::GetPageRequest* req,
                       v1::Page* reply) override;
  grpc::Status UpdatePage(grpc::ServerContext* ctx, const v1::UpdatePageRequest* req,
                          v1::Page* reply) override;
  grpc::Status DeletePage(grpc::ServerContext* ctx, const v1::DeletePageRequest* req,
                          v1::DeletePageReply* reply) override;

  grpc::Status GetDocument(grpc::ServerContext* ctx, const v1::GetDocumentRequest* req,
                           v1::Document* reply) override;
  grpc::Status PutDocument(grpc::ServerContext* ctx, const v1::PutDocumentRequest* req,
                           v1::Document* reply) override;

  grpc::Status AddAttachment(grpc::ServerContext* ctx, const v1::AddAttachmentRequest* req,
                             v1::Attachment* reply) override;
  grpc::Status ListAttachments(grpc::ServerContext* ctx, const v1::ListAttachmentsRequest* req,
                               v1::ListAttachmentsReply* reply) override;
  grpc::Status RemoveAttachment(grpc::ServerContext* ctx, const v1::RemoveAttachmentRequest* req,
                                v1::RemoveAttachmentReply* reply) override;

  // The first message must be the header. Data messages go to the upload
  // as they arrive; the blob is stored when the client half-closes. If the
  // client cancels or the call fails, the unfinished upload is discarded.
  grpc::Status UploadBlob(grpc::ServerContext* ctx,
                          grpc::ServerReader<v1::UploadBlobRequest>* reader,
                          v1::BlobInfo* reply) override;
  // Streams verified pieces of at most kReadMessageBytes; stops when the
  // client cancels.
  grpc::Status ReadBlob(grpc::ServerContext* ctx, const v1::ReadBlobRequest* req,
                        grpc::ServerWriter<v1::ReadBlobReply>* writer) override;
  grpc::Status GetBlob(grpc::ServerContext* ctx, const v1::GetBlobRequest* req,
                       v1::BlobInfo* reply) override;
  grpc::Status ListBlobs(grpc::ServerContext* ctx, const v1::ListBlobsRequest* req,
                         v1::ListBlobsReply* reply) override;
  grpc::Status VerifyBlobs(grpc::ServerContext* ctx, const v1::VerifyBlobsRequest* req,
                           v1::VerifyBlobsReply* reply) override;

  // Replays events with id > after_id in batches; with follow, then waits
  // for new ones until the client cancels or the event log shuts down
  // (UNAVAILABLE, so the client knows to reconnect and resume).
  grpc::Status WatchEvents(grpc::ServerContext* ctx, const v1::WatchEventsRequest* req,
                           grpc::ServerWriter<v1::Event>* writer) override;

 private:
  grpc::Status authorize(const grpc::ServerContext* ctx) const;
  // Resolves a space given by id or unique name to its id.
  core::Result<std::string> space_id(const std::string& space);

  space::SpaceService& spaces_;
  blob::BlobStore& blobs_;
  store::EventLog& events_;
  const DaemonInfo info_;
  const std::optional<std::string> token_;
};

}  // namespace soma::api
