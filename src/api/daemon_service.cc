#include "api/daemon_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/call_guard.h"
#include "api/converters.h"
#include "api/status_mapping.h"
#include "blob/caller_file.h"
#include "space/validation.h"

namespace soma::api {
namespace {

constexpr std::string_view kHeaderFirst = "the first message of UploadBlob must be the header";

grpc::Status fail(std::string_view method, const core::Error& error) {
  return fail_call(method, error);
}

// Holds one of `max` places of a kind of call while alive.
class Slot {
 public:
  Slot(std::atomic<std::size_t>& open, std::size_t max) : open_(open) {
    taken_ = open_.fetch_add(1) < max;
    if (!taken_) open_.fetch_sub(1);
  }
  ~Slot() {
    if (taken_) open_.fetch_sub(1);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  bool taken() const { return taken_; }

 private:
  std::atomic<std::size_t>& open_;
  bool taken_ = false;
};

grpc::Status too_many(std::string_view method, std::string_view what, std::size_t max) {
  spdlog::warn("api {} refused: {} {} are open, the most allowed", method, max, what);
  return {grpc::StatusCode::RESOURCE_EXHAUSTED,
          fmt::format("too many {} ({}); wait for some to finish and try again", what, max)};
}

}  // namespace

DaemonService::DaemonService(space::SpaceService& spaces, blob::BlobStore& blobs,
                             store::EventLog& events, DaemonInfo info,
                             std::optional<std::string> token, ApiLimits limits)
    : spaces_(spaces),
      blobs_(blobs),
      events_(events),
      info_(std::move(info)),
      token_(std::move(token)),
      limits_(limits),
      followers_(events, limits.max_followers),
      watchdog_(limits.upload_idle_timeout) {}

DaemonService::~DaemonService() = default;

DaemonService::UploadWatchdog::UploadWatchdog(std::chrono::milliseconds timeout)
    : timeout_(timeout), thread_([this] { run(); }) {}

DaemonService::UploadWatchdog::~UploadWatchdog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DaemonService::UploadWatchdog::add(grpc::ServerContext* ctx) {
  std::lock_guard lock(mu_);
  uploads_[ctx] = Entry{std::chrono::steady_clock::now(), false};
}

void DaemonService::UploadWatchdog::touch(grpc::ServerContext* ctx) {
  std::lock_guard lock(mu_);
  if (auto it = uploads_.find(ctx); it != uploads_.end()) {
    it->second.last = std::chrono::steady_clock::now();
  }
}

void DaemonService::UploadWatchdog::remove(grpc::ServerContext* ctx) {
  std::lock_guard lock(mu_);
  uploads_.erase(ctx);
}

bool DaemonService::UploadWatchdog::expired(grpc::ServerContext* ctx) {
  std::lock_guard lock(mu_);
  auto it = uploads_.find(ctx);
  return it != uploads_.end() && it->second.expired;
}

void DaemonService::UploadWatchdog::run() {
  // Checking four times per timeout cuts an idle upload within 1.25
  // timeouts; once a second is enough for long ones.
  const auto period = std::clamp<std::chrono::milliseconds>(
      timeout_ / 4, std::chrono::milliseconds{10}, std::chrono::milliseconds{1000});
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
    const auto now = std::chrono::steady_clock::now();
    for (auto& [ctx, entry] : uploads_) {
      if (entry.expired || now - entry.last < timeout_) continue;
      entry.expired = true;
      spdlog::warn("api UploadBlob received nothing for {} ms; cancelling it, nothing is stored",
                   timeout_.count());
      // Safe: the handler removes its entry, under mu_, before the context
      // goes away.
      ctx->TryCancel();
    }
  }
}

grpc::Status DaemonService::authorize(const grpc::ServerContextBase* ctx) const {
  return check_api_token(token_, ctx);
}

core::Result<std::string> DaemonService::space_id(const std::string& space) {
  auto found = spaces_.get_space(space);
  if (!found) return found.take_error();
  return std::move(found->id);
}

grpc::Status DaemonService::Status(grpc::ServerContext* ctx, const v1::StatusRequest*,
                                   v1::StatusReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto counts = spaces_.counts();
  if (!counts) return fail("Status", counts.error());
  reply->set_peer_id(info_.peer_id);
  reply->set_version(info_.version);
  reply->set_data_dir(info_.data_dir.string());
  reply->set_socket_path(info_.socket_path.string());
  reply->set_space_count(counts->spaces);
  reply->set_page_count(counts->pages);
  reply->set_blob_count(blobs_.blob_count());
  reply->set_blob_bytes(blobs_.total_bytes());
  reply->set_started_ms(info_.started_ms);
  if (info_.listen_addrs) {
    for (const auto& addr : info_.listen_addrs()) reply->add_listen_addrs(addr);
  }
  reply->set_last_event_id(events_.last_id());
  return grpc::Status::OK;
}

grpc::Status DaemonService::CreateSpace(grpc::ServerContext* ctx, const v1::CreateSpaceRequest* req,
                                        v1::Space* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto space = spaces_.create_space(req->name());
  if (!space) return fail("CreateSpace", space.error());
  to_proto(*space, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ListSpaces(grpc::ServerContext* ctx, const v1::ListSpacesRequest*,
                                       v1::ListSpacesReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto spaces = spaces_.list_spaces();
  if (!spaces) return fail("ListSpaces", spaces.error());
  for (const auto& s : *spaces) to_proto(s, reply->add_spaces());
  return grpc::Status::OK;
}

grpc::Status DaemonService::GetSpace(grpc::ServerContext* ctx, const v1::GetSpaceRequest* req,
                                     v1::Space* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto space = spaces_.get_space(req->space());
  if (!space) return fail("GetSpace", space.error());
  to_proto(*space, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::RenameSpace(grpc::ServerContext* ctx, const v1::RenameSpaceRequest* req,
                                        v1::Space* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto space = spaces_.rename_space(req->space(), req->name());
  if (!space) return fail("RenameSpace", space.error());
  to_proto(*space, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::DeleteSpace(grpc::ServerContext* ctx, const v1::DeleteSpaceRequest* req,
                                        v1::DeleteSpaceReply*) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto deleted = spaces_.delete_space(req->space());
  if (!deleted.ok()) return fail("DeleteSpace", deleted.error());
  return grpc::Status::OK;
}

grpc::Status DaemonService::CreatePage(grpc::ServerContext* ctx, const v1::CreatePageRequest* req,
                                       v1::Page* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto page_req = from_proto(*req);
  if (!page_req) return fail("CreatePage", page_req.error());
  auto page = spaces_.create_page(*page_req);
  if (!page) return fail("CreatePage", page.error());
  to_proto(*page, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ListPages(grpc::ServerContext* ctx, const v1::ListPagesRequest* req,
                                      v1::ListPagesReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto pages = spaces_.list_pages(req->space(), req->parent_id(), req->recursive());
  if (!pages) return fail("ListPages", pages.error());
  for (const auto& p : *pages) to_proto(p, reply->add_pages());
  return grpc::Status::OK;
}

grpc::Status DaemonService::GetPage(grpc::ServerContext* ctx, const v1::GetPageRequest* req,
                                    v1::Page* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto page = spaces_.get_page(req->page_id());
  if (!page) return fail("GetPage", page.error());
  to_proto(*page, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::UpdatePage(grpc::ServerContext* ctx, const v1::UpdatePageRequest* req,
                                       v1::Page* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto page = spaces_.update_page(from_proto(*req));
  if (!page) return fail("UpdatePage", page.error());
  to_proto(*page, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::DeletePage(grpc::ServerContext* ctx, const v1::DeletePageRequest* req,
                                       v1::DeletePageReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto deleted = spaces_.delete_page(req->page_id());
  if (!deleted) return fail("DeletePage", deleted.error());
  reply->set_deleted_pages(*deleted);
  return grpc::Status::OK;
}

grpc::Status DaemonService::GetDocument(grpc::ServerContext* ctx, const v1::GetDocumentRequest* req,
                                        v1::Document* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto doc = spaces_.get_document(req->page_id());
  if (!doc) return fail("GetDocument", doc.error());
  to_proto(*doc, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::PutDocument(grpc::ServerContext* ctx, const v1::PutDocumentRequest* req,
                                        v1::Document* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto doc = spaces_.put_document(from_proto(*req));
  if (!doc) return fail("PutDocument", doc.error());
  to_proto(*doc, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::AddAttachment(grpc::ServerContext* ctx,
                                          const v1::AddAttachmentRequest* req,
                                          v1::Attachment* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto attachment = spaces_.add_attachment(from_proto(*req));
  if (!attachment) return fail("AddAttachment", attachment.error());
  to_proto(*attachment, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ListAttachments(grpc::ServerContext* ctx,
                                            const v1::ListAttachmentsRequest* req,
                                            v1::ListAttachmentsReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto list = spaces_.list_attachments(req->space(), req->page_id(), req->all());
  if (!list) return fail("ListAttachments", list.error());
  for (const auto& att : *list) to_proto(att, reply->add_attachments());
  return grpc::Status::OK;
}

grpc::Status DaemonService::RemoveAttachment(grpc::ServerContext* ctx,
                                             const v1::RemoveAttachmentRequest* req,
                                             v1::RemoveAttachmentReply*) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto removed = spaces_.remove_attachment(req->attachment_id());
  if (!removed.ok()) return fail("RemoveAttachment", removed.error());
  return grpc::Status::OK;
}

grpc::Status DaemonService::UploadBlob(grpc::ServerContext* ctx,
                                       grpc::ServerReader<v1::UploadBlobRequest>* reader,
                                       v1::BlobInfo* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  Slot slot(uploads_open_, limits_.max_uploads);
  if (!slot.taken()) return too_many("UploadBlob", "blob uploads", limits_.max_uploads);
  watchdog_.add(ctx);
  struct Unwatch {
    UploadWatchdog& w;
    grpc::ServerContext* c;
    ~Unwatch() { w.remove(c); }
  } unwatch{watchdog_, ctx};
  auto cancelled = [&] {
    if (watchdog_.expired(ctx)) {
      return grpc::Status{grpc::StatusCode::DEADLINE_EXCEEDED,
                          fmt::format("the upload sent nothing for {} ms; nothing was stored",
                                      limits_.upload_idle_timeout.count())};
    }
    return grpc::Status{grpc::StatusCode::CANCELLED,
                        "the upload was cancelled; nothing was stored"};
  };

  v1::UploadBlobRequest msg;
  if (!reader->Read(&msg)) {
    if (ctx->IsCancelled()) return cancelled();
    return {grpc::StatusCode::INVALID_ARGUMENT, std::string(kHeaderFirst)};
  }
  watchdog_.touch(ctx);
  if (!msg.has_header()) return {grpc::StatusCode::INVALID_ARGUMENT, std::string(kHeaderFirst)};
  const v1::UploadBlobHeader& header = msg.header();
  if (!header.name().empty()) {
    auto named = space::validation::check_name(header.name(), "blob name",
                                               space::SpaceService::kMaxNameBytes);
    if (!named.ok()) return fail("UploadBlob", named.error());
  }
  auto space = space_id(header.space());
  if (!space) return fail("UploadBlob", space.error());
  std::optional<std::string> expected;
  if (!header.expected_cid().empty()) expected = header.expected_cid();
  auto upload = blobs_.begin_upload(*space, header.size(), expected, header.name());
  if (!upload) return fail("UploadBlob", upload.error());

  // From here on, returning early destroys the upload, which discards every
  // byte received so far.
  while (reader->Read(&msg)) {
    watchdog_.touch(ctx);
    if (msg.part_case() != v1::UploadBlobRequest::kData) {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "only the first message of UploadBlob may be a header; every later one must be "
              "data"};
    }
    auto written = (*upload)->write(core::as_bytes(msg.data()));
    if (!written.ok()) return fail("UploadBlob", written.error());
  }
  if (ctx->IsCancelled()) {
    spdlog::debug("api UploadBlob cancelled after {} bytes; nothing stored", (*upload)->received());
    return cancelled();
  }
  auto info = (*upload)->finish();
  if (!info) return fail("UploadBlob", info.error());
  to_proto(*info, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ReadBlob(grpc::ServerContext* ctx, const v1::ReadBlobRequest* req,
                                     grpc::ServerWriter<v1::ReadBlobReply>* writer) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  Slot slot(reads_open_, limits_.max_reads);
  if (!slot.taken()) return too_many("ReadBlob", "blob reads", limits_.max_reads);
  auto info = blobs_.get(req->cid());
  if (!info) return fail("ReadBlob", info.error());
  const std::uint64_t total = info->size;
  v1::ReadBlobReply chunk;
  auto sink = [&](core::ByteView data, std::uint64_t offset) -> core::Status {
    for (std::size_t done = 0; done < data.size(); done += kReadMessageBytes) {
      if (ctx->IsCancelled()) return core::Error::cancelled("the client cancelled the read");
      const core::ByteView piece =
          data.subspan(done, std::min(kReadMessageBytes, data.size() - done));
      chunk.set_data(piece.data(), piece.size());
      chunk.set_offset(offset + done);
      chunk.set_total_size(total);
      if (!writer->Write(chunk)) return core::Error::cancelled("the client went away");
    }
    return {};
  };
  auto read = blobs_.read(req->cid(), req->offset(), req->length(), sink);
  if (!read.ok()) return fail("ReadBlob", read.error());
  return grpc::Status::OK;
}

grpc::Status DaemonService::GetBlob(grpc::ServerContext* ctx, const v1::GetBlobRequest* req,
                                    v1::BlobInfo* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  auto info = blobs_.get(req->cid());
  if (!info) return fail("GetBlob", info.error());
  to_proto(*info, reply);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ListBlobs(grpc::ServerContext* ctx, const v1::ListBlobsRequest* req,
                                      v1::ListBlobsReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  std::optional<std::string> space;
  if (!req->space().empty()) {
    auto id = space_id(req->space());
    if (!id) return fail("ListBlobs", id.error());
    space = std::move(*id);
  }
  auto blobs = blobs_.list(space);
  if (!blobs) return fail("ListBlobs", blobs.error());
  for (const auto& b : *blobs) to_proto(b, reply->add_blobs());
  return grpc::Status::OK;
}

grpc::Status DaemonService::VerifyBlobs(grpc::ServerContext* ctx, const v1::VerifyBlobsRequest* req,
                                        v1::VerifyBlobsReply* reply) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  if (req->all() && req->cids_size() > 0) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "VerifyBlobs takes either a list of CIDs or all=true, not both"};
  }
  if (!req->all() && req->cids_size() == 0) {
    return {grpc::StatusCode::INVALID_ARGUMENT,
            "VerifyBlobs needs the CIDs to check, or all=true to check every blob"};
  }
  // The store reads an empty list as "every blob".
  std::vector<std::string> cids(req->cids().begin(), req->cids().end());
  auto report = blobs_.verify(cids);
  if (!report) return fail("VerifyBlobs", report.error());
  to_proto(*report, reply);
  return grpc::Status::OK;
}

namespace {

// Reports a file transfer's progress to the client after each batch; stops
// the transfer when the client has gone.
blob::BlobStore::TransferProgress report_to(grpc::ServerContext* ctx,
                                            grpc::ServerWriter<v1::BlobFileReply>* writer,
                                            std::uint64_t total) {
  return [ctx, writer, total](std::uint64_t done) -> core::Status {
    if (ctx->IsCancelled()) return core::Error::cancelled("the client cancelled the transfer");
    v1::BlobFileReply reply;
    reply.set_done(done);
    reply.set_total(total);
    if (!writer->Write(reply)) return core::Error::cancelled("the client went away");
    return {};
  };
}

}  // namespace

grpc::Status DaemonService::ImportBlobFile(grpc::ServerContext* ctx,
                                           const v1::ImportBlobFileRequest* req,
                                           grpc::ServerWriter<v1::BlobFileReply>* writer) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  Slot slot(uploads_open_, limits_.max_uploads);
  if (!slot.taken()) return too_many("ImportBlobFile", "blob uploads", limits_.max_uploads);
  if (!req->name().empty()) {
    auto named =
        space::validation::check_name(req->name(), "blob name", space::SpaceService::kMaxNameBytes);
    if (!named.ok()) return fail("ImportBlobFile", named.error());
  }
  auto space = space_id(req->space());
  if (!space) return fail("ImportBlobFile", space.error());
  auto file =
      blob::open_caller_file(req->path(), blob::FileAccess::kRead, {req->device(), req->inode()});
  if (!file) return fail("ImportBlobFile", file.error());

  // The first reply tells the client the daemon has its file.
  auto progress = report_to(ctx, writer, req->size());
  if (auto opened = progress(0); !opened.ok()) return fail("ImportBlobFile", opened.error());
  std::optional<std::string> expected;
  if (!req->expected_cid().empty()) expected = req->expected_cid();
  auto info = blobs_.import_file(file->fd(), *space, req->size(), expected, req->name(), progress);
  if (!info) return fail("ImportBlobFile", info.error());

  v1::BlobFileReply last;
  last.set_done(info->size);
  last.set_total(info->size);
  to_proto(*info, last.mutable_blob());
  writer->Write(last);
  spdlog::debug("api ImportBlobFile stored {} ({} bytes) from the caller's file", info->cid,
                info->size);
  return grpc::Status::OK;
}

grpc::Status DaemonService::ExportBlobFile(grpc::ServerContext* ctx,
                                           const v1::ExportBlobFileRequest* req,
                                           grpc::ServerWriter<v1::BlobFileReply>* writer) {
  if (auto a = authorize(ctx); !a.ok()) return a;
  Slot slot(reads_open_, limits_.max_reads);
  if (!slot.taken()) return too_many("ExportBlobFile", "blob reads", limits_.max_reads);
  auto info = blobs_.get(req->cid());
  if (!info) return fail("ExportBlobFile", info.error());
  auto file =
      blob::open_caller_file(req->path(), blob::FileAccess::kWrite, {req->device(), req->inode()});
  if (!file) return fail("ExportBlobFile", file.error());

  auto progress = report_to(ctx, writer, info->size);
  if (auto opened = progress(0); !opened.ok()) return fail("ExportBlobFile", opened.error());
  auto written = blobs_.export_file(req->cid(), file->fd(), progress);
  if (!written) return fail("ExportBlobFile", written.error());

  v1::BlobFileReply last;
  last.set_done(*written);
  last.set_total(info->size);
  to_proto(*info, last.mutable_blob());
  writer->Write(last);
  spdlog::debug("api ExportBlobFile wrote {} ({} bytes) into the caller's file", req->cid(),
                *written);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::Event>* DaemonService::WatchEvents(grpc::CallbackServerContext* ctx,
                                                                const v1::WatchEventsRequest* req) {
  if (auto a = authorize(ctx); !a.ok()) return refused_watch(a);
  return followers_.watch(*req);
}

}  // namespace soma::api
