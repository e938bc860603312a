#include "transfer.h"

#include <sys/stat.h>

#include <vector>

#include "notes/file_access.h"
#include "output.h"
#include "progress.h"

namespace soma::cli {

using core::Error;
using core::Result;
using core::Status;

namespace {

// The daemon takes a blob's name only as a label for logs and events, and
// refuses control, bidirectional-formatting and blank names. A file's name
// may be any of those, so it is made printable rather than sent as it is.
std::string blob_label(const std::string& name) {
  std::string label = escape_control(name);
  for (std::string_view bidi :
       {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae",
        "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9"}) {
    for (auto pos = label.find(bidi); pos != std::string::npos; pos = label.find(bidi, pos)) {
      label.replace(pos, bidi.size(), "?");
    }
  }
  constexpr std::size_t kMaxLabelBytes = 200;
  if (label.size() > kMaxLabelBytes) {
    std::size_t cut = kMaxLabelBytes;
    while (cut > 0 && (static_cast<unsigned char>(label[cut]) & 0xc0) == 0x80) --cut;
    label.resize(cut);
  }
  if (label.find_first_not_of(" \t") == std::string::npos) label.clear();
  return label;
}

}  // namespace

Result<api::BlobInfo> upload_blob(Client& client, int fd, std::uint64_t size,
                                  const std::string& space, const std::string& name,
                                  const std::string& expected_cid, bool json) {
  auto ctx = client.context(true);
  api::BlobInfo info;
  auto writer = client.stub().UploadBlob(ctx.get(), &info);

  api::UploadBlobRequest header;
  header.mutable_header()->set_space(space);
  header.mutable_header()->set_size(size);
  header.mutable_header()->set_expected_cid(expected_cid);
  header.mutable_header()->set_name(blob_label(name));
  bool open = writer->Write(header);

  Progress progress("upload " + name, size, json);
  std::uint64_t sent = 0;
  Status read_status;
  if (open) {
    api::UploadBlobRequest chunk;
    read_status = notes::read_chunks(fd, kUploadChunkBytes, [&](core::ByteView data) -> Status {
      if (sent + data.size() > size) {
        return Error::precondition(name + " grew while it was being uploaded; try again");
      }
      chunk.set_data(data.data(), data.size());
      if (!writer->Write(chunk)) return Error::unavailable("the daemon closed the upload");
      sent += data.size();
      progress.advance(data.size());
      return {};
    });
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  progress.finish();

  // When the daemon stopped taking bytes, its verdict (quota, size limit)
  // says most. When the file itself misbehaved (it grew, shrank or could
  // not be read), the daemon only saw a short or long upload: the local
  // diagnosis is the accurate one.
  bool daemon_stopped =
      !open || (!read_status.ok() && read_status.error().code == core::ErrorCode::kUnavailable);
  if (!daemon_stopped) {
    if (!read_status.ok()) return read_status.take_error();
    if (sent != size) {
      return Error::precondition(name + " changed size while it was being uploaded; try again");
    }
  }
  if (!status.ok()) return client.error(status);
  return info;
}

Status read_blob(Client& client, const std::string& cid, bool json,
                 const std::function<Status(core::ByteView)>& sink) {
  auto ctx = client.context(true);
  api::ReadBlobRequest request;
  request.set_cid(cid);
  auto reader = client.stub().ReadBlob(ctx.get(), request);

  Progress progress("download " + cid.substr(0, 16), 0, json);
  api::ReadBlobReply reply;
  bool first = true;
  std::uint64_t total = 0;
  std::uint64_t received = 0;
  Status sink_status;
  while (reader->Read(&reply)) {
    if (first) {
      total = reply.total_size();
      progress.set_total(total);
      first = false;
    }
    if (reply.offset() != received) {
      sink_status = Error::data_loss("the daemon sent blob " + cid + " out of order");
      ctx->TryCancel();
      break;
    }
    sink_status = sink(core::as_bytes(reply.data()));
    if (!sink_status.ok()) {
      ctx->TryCancel();
      break;
    }
    received += reply.data().size();
    progress.advance(reply.data().size());
  }
  grpc::Status status = reader->Finish();
  progress.finish();
  if (!sink_status.ok()) return sink_status;
  if (!status.ok()) return client.error(status);
  if (!first && received != total) {
    return Error::data_loss("blob " + cid + " ended after " + std::to_string(received) + " of " +
                            std::to_string(total) + " bytes");
  }
  return {};
}

namespace {

// What became of a transfer the daemon was asked to do with a file.
struct FileTransfer {
  bool fall_back = false;  // the daemon could not reach the file: stream instead
  api::BlobFileReply last;
};

// Follows the daemon's replies to an ImportBlobFile or ExportBlobFile,
// moving the progress bar. A refusal before the first reply that only says
// the daemon cannot reach the file (or does not know the call) means the
// bytes must be sent the slow way; anything else is the answer.
template <typename Reader>
Result<FileTransfer> follow(Client& client, Reader& reader, Progress& progress) {
  FileTransfer out;
  api::BlobFileReply reply;
  bool opened = false;
  std::uint64_t shown = 0;
  while (reader.Read(&reply)) {
    if (!opened) {
      progress.set_total(reply.total());
      opened = true;
    }
    if (reply.done() > shown) {
      progress.advance(reply.done() - shown);
      shown = reply.done();
    }
    if (reply.has_blob()) out.last = reply;
  }
  grpc::Status status = reader.Finish();
  if (!status.ok()) {
    if (!opened && (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                    status.error_code() == grpc::StatusCode::UNIMPLEMENTED)) {
      out.fall_back = true;
      return out;
    }
    return client.error(status);
  }
  if (!out.last.has_blob()) {
    return Error::internal("the daemon ended the transfer without saying what it moved");
  }
  progress.finish();
  return out;
}

}  // namespace

Result<api::BlobInfo> add_file_blob(Client& client, int fd, std::uint64_t size,
                                    const std::string& space, const std::string& name,
                                    const std::string& expected_cid, bool json) {
  struct stat st {};
  auto path = notes::fd_path(fd);
  if (path && ::fstat(fd, &st) == 0) {
    api::ImportBlobFileRequest request;
    request.set_space(space);
    request.set_path(*path);
    request.set_size(size);
    request.set_device(st.st_dev);
    request.set_inode(st.st_ino);
    request.set_expected_cid(expected_cid);
    request.set_name(blob_label(name));

    auto ctx = client.context(true);
    auto reader = client.stub().ImportBlobFile(ctx.get(), request);
    // The bar takes its total from the daemon's first reply, so a refusal
    // that sends the bytes the slow way leaves no trace of it.
    Progress progress("upload " + name, 0, json);
    auto done = follow(client, *reader, progress);
    if (!done) return done.take_error();
    if (!done->fall_back) return done->last.blob();
  }
  return upload_blob(client, fd, size, space, name, expected_cid, json);
}

Status write_blob_file(Client& client, const std::string& cid, notes::AtomicFile& out, bool json) {
  struct stat st {};
  auto path = out.temp_path();
  if (path && ::fstat(out.fd(), &st) == 0) {
    api::ExportBlobFileRequest request;
    request.set_cid(cid);
    request.set_path(*path);
    request.set_device(st.st_dev);
    request.set_inode(st.st_ino);

    auto ctx = client.context(true);
    auto reader = client.stub().ExportBlobFile(ctx.get(), request);
    Progress progress("download " + cid.substr(0, 16), 0, json);
    auto done = follow(client, *reader, progress);
    if (!done) return done.take_error();
    if (!done->fall_back) return out.adopt_written(done->last.done());
  }
  return read_blob(client, cid, json, [&out](core::ByteView chunk) { return out.write(chunk); });
}

}  // namespace soma::cli
