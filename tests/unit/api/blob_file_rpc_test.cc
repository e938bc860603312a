// ImportBlobFile and ExportBlobFile through the real API server on a Unix
// socket: the daemon opening the caller's file only when it is the very
// file the caller named, and the reply stream that tells a client when it
// must send the bytes itself.

#include <fcntl.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api/daemon_service.h"
#include "api/server.h"
#include "blob/blob_store.h"
#include "blob/dag_builder.h"
#include "crypto/identity_file.h"
#include "crypto/peer_id.h"
#include "soma/api/v1/daemon.grpc.pb.h"
#include "space/space_service.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/migrations.h"

namespace soma::api {
namespace {

namespace fs = std::filesystem;
constexpr std::chrono::seconds kCallDeadline{20};

std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

std::string cid_of(const std::string& bytes) {
  blob::DagBuilder b;
  b.update(core::as_bytes(bytes));
  return b.finish().root.to_string();
}

// The replies of one call and how it ended.
struct Transfer {
  std::vector<v1::BlobFileReply> replies;
  grpc::Status status;
};

class BlobFileRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/soma-bfr-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto key = crypto::load_or_create_identity(dir_);
    ASSERT_TRUE(key.ok()) << key.error().message;
    std::string peer_id = crypto::PeerId::from_public_key(key->public_key()).to_string();
    auto db = store::Database::open(dir_ / "soma.db", store::daemon_migrations());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    events_ = std::make_unique<store::EventLog>(*db_);
    auto blobs = blob::BlobStore::open(dir_ / "blobs", *db_, *events_, blob::Limits{});
    ASSERT_TRUE(blobs.ok()) << blobs.error().message;
    blobs_ = std::move(*blobs);
    spaces_ = std::make_unique<space::SpaceService>(*db_, *events_, *blobs_, peer_id);
    fs::path socket = dir_ / "run" / "daemon.sock";
    DaemonInfo info{peer_id, "1.0.0", dir_, socket, 1};
    service_ = std::make_unique<DaemonService>(*spaces_, *blobs_, *events_, info, std::nullopt);
    auto server = Server::start(socket, *service_, *events_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    stub_ = v1::Daemon::NewStub(
        grpc::CreateChannel("unix:" + socket.string(), grpc::InsecureChannelCredentials()));

    v1::CreateSpaceRequest req;
    req.set_name("files");
    v1::Space space;
    auto ctx = context();
    ASSERT_TRUE(stub_->CreateSpace(ctx.get(), req, &space).ok());
    space_ = space.id();
  }

  void TearDown() override {
    stub_.reset();
    server_.reset();
    service_.reset();
    spaces_.reset();
    blobs_.reset();
    events_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<grpc::ClientContext> context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    return ctx;
  }

  fs::path write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
    return p;
  }

  static struct stat stat_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st;
  }

  v1::ImportBlobFileRequest import_request(const fs::path& p) {
    struct stat st = stat_of(p);
    v1::ImportBlobFileRequest req;
    req.set_space(space_);
    req.set_path(p.string());
    req.set_size(static_cast<std::uint64_t>(st.st_size));
    req.set_device(st.st_dev);
    req.set_inode(st.st_ino);
    req.set_name(p.filename().string());
    return req;
  }

  v1::ExportBlobFileRequest export_request(const std::string& cid, const fs::path& p) {
    struct stat st = stat_of(p);
    v1::ExportBlobFileRequest req;
    req.set_cid(cid);
    req.set_path(p.string());
    req.set_device(st.st_dev);
    req.set_inode(st.st_ino);
    return req;
  }

  template <typename Reader>
  static Transfer drain(Reader reader) {
    Transfer t;
    v1::BlobFileReply reply;
    while (reader->Read(&reply)) t.replies.push_back(reply);
    t.status = reader->Finish();
    return t;
  }

  Transfer import(const v1::ImportBlobFileRequest& req) {
    auto ctx = context();
    return drain(stub_->ImportBlobFile(ctx.get(), req));
  }

  Transfer export_blob(const v1::ExportBlobFileRequest& req) {
    auto ctx = context();
    return drain(stub_->ExportBlobFile(ctx.get(), req));
  }

  std::size_t blob_count() {
    v1::ListBlobsReply reply;
    auto ctx = context();
    EXPECT_TRUE(stub_->ListBlobs(ctx.get(), v1::ListBlobsRequest(), &reply).ok());
    return static_cast<std::size_t>(reply.blobs_size());
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
  std::string space_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::EventLog> events_;
  std::unique_ptr<blob::BlobStore> blobs_;
  std::unique_ptr<space::SpaceService> spaces_;
  std::unique_ptr<DaemonService> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::Daemon::Stub> stub_;
};

TEST_F(BlobFileRpcTest, imports_the_named_file_reporting_progress_then_the_blob) {
  const std::string bytes = random_text((9u << 20) + 77, 1);
  auto t = import(import_request(write("big.bin", bytes)));
  ASSERT_TRUE(t.status.ok()) << t.status.error_message();

  // Opened, then one reply per batch, then the blob.
  ASSERT_GE(t.replies.size(), 3u);
  EXPECT_EQ(t.replies.front().done(), 0u);
  EXPECT_FALSE(t.replies.front().has_blob());
  for (std::size_t i = 1; i < t.replies.size(); ++i) {
    EXPECT_GE(t.replies[i].done(), t.replies[i - 1].done());
    EXPECT_EQ(t.replies[i].total(), bytes.size());
  }
  const auto& last = t.replies.back();
  ASSERT_TRUE(last.has_blob());
  EXPECT_EQ(last.done(), bytes.size());
  EXPECT_EQ(last.blob().cid(), cid_of(bytes));
  EXPECT_EQ(last.blob().size(), bytes.size());
  ASSERT_EQ(last.blob().space_ids_size(), 1);
  EXPECT_EQ(last.blob().space_ids(0), space_);

  // And back out into an empty file the caller created.
  fs::path out = write("out.bin", "");
  auto e = export_blob(export_request(last.blob().cid(), out));
  ASSERT_TRUE(e.status.ok()) << e.status.error_message();
  ASSERT_FALSE(e.replies.empty());
  EXPECT_EQ(e.replies.front().done(), 0u);
  EXPECT_EQ(e.replies.back().done(), bytes.size());
  EXPECT_EQ(e.replies.back().blob().cid(), last.blob().cid());
  EXPECT_TRUE(read(out) == bytes);
}

TEST_F(BlobFileRpcTest, another_file_at_the_path_is_failed_precondition_before_any_reply) {
  fs::path p = write("a.bin", random_text(5000, 2));
  auto req = import_request(p);
  req.set_inode(req.inode() + 1);
  auto t = import(req);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(t.status.error_message(),
            "the daemon sees another file at " + p.string() +
                " than the caller does (another mount namespace?); send the bytes over the API "
                "instead");
  EXPECT_TRUE(t.replies.empty());

  // A path the daemon cannot open at all says the same kind of thing.
  auto missing = import_request(p);
  missing.set_path((dir_ / "not-here.bin").string());
  t = import(missing);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(t.status.error_message(), "the daemon cannot open " + (dir_ / "not-here.bin").string() +
                                          ": No such file or directory; send the bytes over the "
                                          "API instead");
  EXPECT_TRUE(t.replies.empty());
  EXPECT_EQ(blob_count(), 0u);

  // Exporting: the daemon writes nothing into a file that is not the caller's.
  auto stored = import(import_request(p));
  ASSERT_TRUE(stored.status.ok()) << stored.status.error_message();
  fs::path out = write("out.bin", "");
  auto exp = export_request(stored.replies.back().blob().cid(), out);
  exp.set_inode(exp.inode() + 1);
  auto e = export_blob(exp);
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(e.replies.empty());
  EXPECT_EQ(fs::file_size(out), 0u);

  // Nor through a symbolic link, even to the caller's own file.
  fs::path link = dir_ / "link.bin";
  fs::create_symlink(out, link);
  auto via_link = export_request(stored.replies.back().blob().cid(), out);
  via_link.set_path(link.string());
  e = export_blob(via_link);
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(fs::file_size(out), 0u);
}

TEST_F(BlobFileRpcTest, refuses_what_is_not_a_regular_file_or_an_absolute_path) {
  fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  struct stat st = stat_of(fifo);
  v1::ImportBlobFileRequest req;
  req.set_space(space_);
  req.set_path(fifo.string());
  req.set_device(st.st_dev);
  req.set_inode(st.st_ino);
  auto t = import(req);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(t.status.error_message(), fifo.string() +
                                          " is a FIFO, not a regular file; only regular files "
                                          "can be imported or exported");

  st = stat_of(dir_);
  req.set_path(dir_.string());
  req.set_device(st.st_dev);
  req.set_inode(st.st_ino);
  t = import(req);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(t.status.error_message(), dir_.string() +
                                          " is a directory, not a regular file; only regular "
                                          "files can be imported or exported");

  st = stat_of("/dev/zero");
  req.set_path("/dev/zero");
  req.set_device(st.st_dev);
  req.set_inode(st.st_ino);
  t = import(req);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(t.status.error_message(),
            "/dev/zero is a character device, not a regular file; only regular files can be "
            "imported or exported");

  auto relative = import_request(write("r.bin", "x"));
  relative.set_path("r.bin");
  t = import(relative);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(t.status.error_message(), "the file's path must be absolute, not \"r.bin\"");
  EXPECT_TRUE(t.replies.empty());
  EXPECT_EQ(blob_count(), 0u);
}

TEST_F(BlobFileRpcTest, a_file_that_changed_since_the_caller_looked_fails_after_it_was_opened) {
  fs::path p = write("a.bin", random_text(5000, 3));
  auto req = import_request(p);
  req.set_size(4000);
  auto t = import(req);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // The reply saying the daemon opened the file came first: this error is
  // final, not a cue to stream.
  ASSERT_EQ(t.replies.size(), 1u);
  EXPECT_EQ(t.replies[0].done(), 0u);
  EXPECT_EQ(t.status.error_message(),
            "a.bin is 5000 bytes, not the 4000 it had a moment ago; it is changing; nothing was "
            "stored");
  EXPECT_EQ(blob_count(), 0u);
}

TEST_F(BlobFileRpcTest, exporting_a_blob_that_does_not_exist_is_not_found) {
  fs::path out = write("out.bin", "");
  auto e = export_blob(export_request(cid_of("nothing like this"), out));
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(e.replies.empty());
}

}  // namespace
}  // namespace soma::api
