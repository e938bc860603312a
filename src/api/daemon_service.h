#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/event_followers.h"
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
  // The daemon's dialable multiaddrs, asked on every Status call (the
  // interfaces may change); unset when the daemon has no network.
  std::function<std::vector<std::string>()> listen_addrs;
};

// Bounds on long-lived calls, so that no number of them can take the
// threads short calls need (see Server::kMaxThreads).
struct ApiLimits {
  // WatchEvents runs without a thread; this only bounds memory and work.
  static constexpr std::size_t kDefaultMaxFollowers = EventFollowers::kDefaultMaxFollowers;
  // UploadBlob and ReadBlob each hold one of the server's threads while
  // open; together they stay well below the pool.
  static constexpr std::size_t kDefaultMaxUploads = 8;
  static constexpr std::size_t kDefaultMaxReads = 8;
  // An upload that receives nothing for this long is cancelled and
  // discarded, so an idle client cannot hold a thread forever.
  static constexpr std::chrono::seconds kDefaultUploadIdleTimeout{60};

  std::size_t max_followers = kDefaultMaxFollowers;
  std::size_t max_uploads = kDefaultMaxUploads;
  std::size_t max_reads = kDefaultMaxReads;
  std::chrono::milliseconds upload_idle_timeout = kDefaultUploadIdleTimeout;
};

// The gRPC controller of soma.api.v1.Daemon. Each handler checks the API
// token (when one is configured), decodes the request, calls one service
// and encodes the answer; the rules live in the services. Service errors
// become gRPC codes through to_grpc_status.
//
// Ownership: the services are borrowed and must outlive this object and
// the server that runs it. Threading: gRPC calls the handlers from its
// thread pool concurrently (WatchEvents from its callback threads); the
// services are thread-safe and the counters and watchdog here are guarded.
// The gRPC server must be shut down before this object is destroyed.
class DaemonService final : public v1::Daemon::WithCallbackMethod_WatchEvents<v1::Daemon::Service> {
 public:
  // The most blob bytes in one ReadBlob message: one chunk of the store.
  static constexpr std::size_t kReadMessageBytes = 256 * 1024;

  // `token`: when set, every call must carry `authorization: Bearer <token>`.
  DaemonService(space::SpaceService& spaces, blob::BlobStore& blobs, store::EventLog& events,
                DaemonInfo info, std::optional<std::string> token, ApiLimits limits = {});
  ~DaemonService() override;

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
  // client cancels, the call fails or nothing arrives for
  // upload_idle_timeout, the unfinished upload is discarded. Beyond
  // max_uploads open uploads, RESOURCE_EXHAUSTED.
  grpc::Status UploadBlob(grpc::ServerContext* ctx,
                          grpc::ServerReader<v1::UploadBlobRequest>* reader,
                          v1::BlobInfo* reply) override;
  // Streams verified pieces of at most kReadMessageBytes; stops when the
  // client cancels. Beyond max_reads open reads, RESOURCE_EXHAUSTED.
  grpc::Status ReadBlob(grpc::ServerContext* ctx, const v1::ReadBlobRequest* req,
                        grpc::ServerWriter<v1::ReadBlobReply>* writer) override;
  grpc::Status GetBlob(grpc::ServerContext* ctx, const v1::GetBlobRequest* req,
                       v1::BlobInfo* reply) override;
  grpc::Status ListBlobs(grpc::ServerContext* ctx, const v1::ListBlobsRequest* req,
                         v1::ListBlobsReply* reply) override;
  grpc::Status VerifyBlobs(grpc::ServerContext* ctx, const v1::VerifyBlobsRequest* req,
                           v1::VerifyBlobsReply* reply) override;
  // The local fast path: the daemon opens the caller's file itself (see
  // blob::open_caller_file), replies once it has (done = 0), after every
  // batch of chunks, and last with the blob. An import counts as one of
  // max_uploads, an export as one of max_reads; either stops, storing or
  // leaving nothing, when the client cancels.
  grpc::Status ImportBlobFile(grpc::ServerContext* ctx, const v1::ImportBlobFileRequest* req,
                              grpc::ServerWriter<v1::BlobFileReply>* writer) override;
  grpc::Status ExportBlobFile(grpc::ServerContext* ctx, const v1::ExportBlobFileRequest* req,
                              grpc::ServerWriter<v1::BlobFileReply>* writer) override;

  // Replays events with id > after_id in batches; with follow, then waits
  // (holding no thread) for new ones until the client cancels or the event
  // log shuts down (UNAVAILABLE, so the client knows to reconnect and
  // resume). Beyond max_followers open watches, RESOURCE_EXHAUSTED.
  grpc::ServerWriteReactor<v1::Event>* WatchEvents(grpc::CallbackServerContext* ctx,
                                                   const v1::WatchEventsRequest* req) override;

 private:
  // Cancels uploads that have received nothing for the idle timeout.
  class UploadWatchdog {
   public:
    explicit UploadWatchdog(std::chrono::milliseconds timeout);
    ~UploadWatchdog();
    void add(grpc::ServerContext* ctx);
    void touch(grpc::ServerContext* ctx);
    void remove(grpc::ServerContext* ctx);
    // True when the watchdog cancelled `ctx`.
    bool expired(grpc::ServerContext* ctx);

   private:
    void run();
    const std::chrono::milliseconds timeout_;
    std::mutex mu_;
    std::condition_variable cv_;
    struct Entry {
      std::chrono::steady_clock::time_point last;
      bool expired = false;
    };
    std::unordered_map<grpc::ServerContext*, Entry> uploads_;
    bool stop_ = false;
    std::thread thread_;
  };

  grpc::Status authorize(const grpc::ServerContextBase* ctx) const;
  // Resolves a space given by id or unique name to its id.
  core::Result<std::string> space_id(const std::string& space);

  space::SpaceService& spaces_;
  blob::BlobStore& blobs_;
  store::EventLog& events_;
  const DaemonInfo info_;
  const std::optional<std::string> token_;
  const ApiLimits limits_;
  EventFollowers followers_;
  std::atomic<std::size_t> uploads_open_{0};
  std::atomic<std::size_t> reads_open_{0};
  UploadWatchdog watchdog_;
};

}  // namespace soma::api
