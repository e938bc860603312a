// Runs the real API server with real services on a Unix socket in a temp
// dir and calls it through a real gRPC channel.

#include "api/daemon_service.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "api/server.h"
#include "blob/blob_store.h"
#include "crypto/identity_file.h"
#include "crypto/peer_id.h"
#include "soma/api/v1/daemon.grpc.pb.h"
#include "space/space_service.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/migrations.h"

namespace soma::api {
namespace {

constexpr std::chrono::seconds kCallDeadline{10};

std::string random_bytes_text(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(byte(rng));
  return out;
}

class DaemonApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/soma-api-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ / "run" / "daemon.sock";
  }

  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  // Wires the real services the way soma-daemon does and starts serving.
  void start(std::optional<std::string> token = std::nullopt, ApiLimits limits = {}) {
    auto key = crypto::load_or_create_identity(dir_);
    ASSERT_TRUE(key.ok()) << key.error().message;
    peer_id_ = crypto::PeerId::from_public_key(key->public_key()).to_string();
    auto db = store::Database::open(dir_ / "soma.db", store::daemon_migrations());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    events_ = std::make_unique<store::EventLog>(*db_);
    auto blobs = blob::BlobStore::open(dir_ / "blobs", *db_, *events_, blob::Limits{});
    ASSERT_TRUE(blobs.ok()) << blobs.error().message;
    blobs_ = std::move(*blobs);
    spaces_ = std::make_unique<space::SpaceService>(*db_, *events_, *blobs_, peer_id_);
    DaemonInfo info{peer_id_, "9.8.7", dir_, socket_, 1234};
    service_ = std::make_unique<DaemonService>(*spaces_, *blobs_, *events_, info, token, limits);
    auto server = Server::start(socket_, *service_, *events_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    stub_ = v1::Daemon::NewStub(
        grpc::CreateChannel("unix:" + socket_.string(), grpc::InsecureChannelCredentials()));
  }

  void stop() {
    stub_.reset();
    server_.reset();
    service_.reset();
    spaces_.reset();
    blobs_.reset();
    events_.reset();
    db_.reset();
  }

  // A context with a deadline, so a broken server fails the test instead
  // of hanging it.
  std::unique_ptr<grpc::ClientContext> context(const std::string& token = {}) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  v1::Space create_space(const std::string& name) {
    v1::CreateSpaceRequest req;
    req.set_name(name);
    v1::Space space;
    auto ctx = context();
    grpc::Status s = stub_->CreateSpace(ctx.get(), req, &space);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return space;
  }

  grpc::Status upload(const std::string& space, const std::string& bytes, v1::BlobInfo* info,
                      const std::string& expected_cid = {}, std::size_t piece = 64 * 1024) {
    auto ctx = context();
    auto writer = stub_->UploadBlob(ctx.get(), info);
    v1::UploadBlobRequest msg;
    msg.mutable_header()->set_space(space);
    msg.mutable_header()->set_size(bytes.size());
    msg.mutable_header()->set_name("test.bin");
    msg.mutable_header()->set_expected_cid(expected_cid);
    EXPECT_TRUE(writer->Write(msg));
    for (std::size_t off = 0; off < bytes.size(); off += piece) {
      msg.set_data(bytes.substr(off, piece));
      if (!writer->Write(msg)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::vector<v1::Event> replay(std::uint64_t after_id) {
    v1::WatchEventsRequest req;
    req.set_after_id(after_id);
    req.set_follow(false);
    auto ctx = context();
    auto reader = stub_->WatchEvents(ctx.get(), req);
    std::vector<v1::Event> out;
    v1::Event e;
    while (reader->Read(&e)) out.push_back(e);
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::filesystem::path dir_;
  std::filesystem::path socket_;
  std::string peer_id_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::EventLog> events_;
  std::unique_ptr<blob::BlobStore> blobs_;
  std::unique_ptr<space::SpaceService> spaces_;
  std::unique_ptr<DaemonService> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::Daemon::Stub> stub_;
};

TEST_F(DaemonApiTest, status_returns_the_peer_id_and_counts) {
  ASSERT_NO_FATAL_FAILURE(start());
  create_space("notes");
  v1::StatusReply reply;
  auto ctx = context();
  grpc::Status s = stub_->Status(ctx.get(), v1::StatusRequest{}, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.peer_id(), peer_id_);
  EXPECT_EQ(reply.peer_id().rfind("12D3KooW", 0), 0u);
  EXPECT_EQ(reply.version(), "9.8.7");
  EXPECT_EQ(reply.data_dir(), dir_.string());
  EXPECT_EQ(reply.socket_path(), socket_.string());
  EXPECT_EQ(reply.space_count(), 1u);
  EXPECT_EQ(reply.page_count(), 0u);
  EXPECT_EQ(reply.blob_count(), 0u);
  EXPECT_EQ(reply.started_ms(), 1234);
  EXPECT_EQ(reply.last_event_id(), 1u);
  EXPECT_EQ(reply.listen_addrs_size(), 0);
}

TEST_F(DaemonApiTest, creates_a_space_a_page_and_its_document) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::Space space = create_space("Research");
  EXPECT_EQ(space.name(), "Research");
  EXPECT_EQ(space.owner(), peer_id_);
  EXPECT_EQ(space.role(), "owner");

  v1::CreatePageRequest page_req;
  page_req.set_space("Research");  // by unique name
  page_req.set_title("Reading list");
  page_req.mutable_document()->set_text("# Books\n");
  v1::Page page;
  auto ctx = context();
  grpc::Status s = stub_->CreatePage(ctx.get(), page_req, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(page.space_id(), space.id());
  EXPECT_EQ(page.title(), "Reading list");
  EXPECT_EQ(page.kind(), "note");
  EXPECT_EQ(page.parent_id(), "");

  v1::GetDocumentRequest get_req;
  get_req.set_page_id(page.id());
  v1::Document doc;
  ctx = context();
  s = stub_->GetDocument(ctx.get(), get_req, &doc);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(doc.text(), "# Books\n");
  EXPECT_EQ(doc.format(), "markdown");

  v1::PutDocumentRequest put;
  put.set_page_id(page.id());
  put.set_format("markdown");
  put.set_text("# Books\n\n- Dune\n");
  put.set_structure(R"({"tags":["reading"]})");
  put.set_if_revision(doc.revision());
  v1::Document updated;
  ctx = context();
  s = stub_->PutDocument(ctx.get(), put, &updated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(updated.text(), "# Books\n\n- Dune\n");
  EXPECT_GT(updated.revision(), doc.revision());

  // A put against the old revision is a conflict, not a silent overwrite.
  put.set_text("stale");
  ctx = context();
  s = stub_->PutDocument(ctx.get(), put, &updated);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();

  v1::ListPagesRequest list_req;
  list_req.set_space(space.id());
  list_req.set_recursive(true);
  v1::ListPagesReply pages;
  ctx = context();
  s = stub_->ListPages(ctx.get(), list_req, &pages);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(pages.pages_size(), 1);
  EXPECT_EQ(pages.pages(0).id(), page.id());
}

TEST_F(DaemonApiTest, service_errors_arrive_as_grpc_codes_with_their_message) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::GetSpaceRequest req;
  req.set_space("no-such-space");
  v1::Space space;
  auto ctx = context();
  grpc::Status s = stub_->GetSpace(ctx.get(), req, &space);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("no-such-space"), std::string::npos) << s.error_message();

  v1::CreatePageRequest page_req;
  page_req.set_space("no-such-space");
  page_req.set_title("x");
  page_req.set_kind("spreadsheet");
  v1::Page page;
  ctx = context();
  s = stub_->CreatePage(ctx.get(), page_req, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
}

TEST_F(DaemonApiTest, uploads_a_blob_and_reads_back_identical_bytes) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::Space space = create_space("files");
  const std::string bytes = random_bytes_text((3u << 20) + 12345, 7);
  v1::BlobInfo info;
  grpc::Status s = upload(space.id(), bytes, &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.size(), bytes.size());
  EXPECT_EQ(info.cid().rfind("bafy", 0), 0u) << info.cid();
  ASSERT_EQ(info.space_ids_size(), 1);
  EXPECT_EQ(info.space_ids(0), space.id());

  v1::ReadBlobRequest req;
  req.set_cid(info.cid());
  auto ctx = context();
  auto reader = stub_->ReadBlob(ctx.get(), req);
  std::string back;
  v1::ReadBlobReply chunk;
  while (reader->Read(&chunk)) {
    EXPECT_EQ(chunk.offset(), back.size());
    EXPECT_EQ(chunk.total_size(), bytes.size());
    EXPECT_LE(chunk.data().size(), DaemonService::kReadMessageBytes);
    back += chunk.data();
  }
  s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(back.size(), bytes.size());
  EXPECT_TRUE(back == bytes);

  // A range read returns exactly that range.
  req.set_offset(300000);
  req.set_length(1000);
  ctx = context();
  reader = stub_->ReadBlob(ctx.get(), req);
  back.clear();
  while (reader->Read(&chunk)) back += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(back == bytes.substr(300000, 1000));

  v1::VerifyBlobsRequest verify;
  verify.set_all(true);
  v1::VerifyBlobsReply report;
  ctx = context();
  s = stub_->VerifyBlobs(ctx.get(), verify, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.checked(), 1u);
  EXPECT_EQ(report.bytes_checked(), bytes.size());
  EXPECT_EQ(report.problems_size(), 0);
}

TEST_F(DaemonApiTest, an_upload_that_does_not_hash_to_the_expected_cid_is_data_loss) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::Space space = create_space("files");
  v1::BlobInfo first;
  ASSERT_TRUE(upload(space.id(), "first blob", &first).ok());
  v1::BlobInfo second;
  grpc::Status s = upload(space.id(), "other bytes", &second, first.cid());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_EQ(blobs_->blob_count(), 1u);
}

TEST_F(DaemonApiTest, rejects_an_upload_whose_first_message_is_not_the_header) {
  ASSERT_NO_FATAL_FAILURE(start());
  create_space("files");
  v1::BlobInfo info;
  auto ctx = context();
  auto writer = stub_->UploadBlob(ctx.get(), &info);
  v1::UploadBlobRequest msg;
  msg.set_data("hello");
  writer->Write(msg);
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "the first message of UploadBlob must be the header");
  EXPECT_EQ(blobs_->blob_count(), 0u);
}

TEST_F(DaemonApiTest, an_upload_that_ends_early_stores_nothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::Space space = create_space("files");
  v1::BlobInfo info;
  auto ctx = context();
  auto writer = stub_->UploadBlob(ctx.get(), &info);
  v1::UploadBlobRequest msg;
  msg.mutable_header()->set_space(space.id());
  msg.mutable_header()->set_size(100000);
  ASSERT_TRUE(writer->Write(msg));
  msg.set_data(std::string(40000, 'x'));
  ASSERT_TRUE(writer->Write(msg));
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("40000"), std::string::npos) << s.error_message();
  EXPECT_EQ(blobs_->blob_count(), 0u);

  // A cancelled upload leaves nothing either.
  v1::BlobInfo info2;
  auto ctx2 = context();
  auto writer2 = stub_->UploadBlob(ctx2.get(), &info2);
  msg.mutable_header()->set_space(space.id());
  msg.mutable_header()->set_size(100000);
  ASSERT_TRUE(writer2->Write(msg));
  msg.set_data(std::string(40000, 'y'));
  writer2->Write(msg);
  ctx2->TryCancel();
  EXPECT_EQ(writer2->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(blobs_->blob_count(), 0u);
}

TEST_F(DaemonApiTest, watch_events_resumes_after_an_id_without_duplicates) {
  ASSERT_NO_FATAL_FAILURE(start());
  create_space("a");
  create_space("b");
  create_space("c");
  auto all = replay(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].kind(), "space.created");
  EXPECT_LT(all[0].id(), all[1].id());
  EXPECT_LT(all[1].id(), all[2].id());

  auto rest = replay(all[1].id());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id(), all[2].id());
  EXPECT_EQ(rest[0].subject(), all[2].subject());
  EXPECT_TRUE(replay(all[2].id()).empty());
}

TEST_F(DaemonApiTest, a_following_watch_delivers_new_events_after_the_replay) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::Space first = create_space("first");
  v1::WatchEventsRequest req;
  req.set_after_id(0);
  req.set_follow(true);
  auto ctx = context();
  auto reader = stub_->WatchEvents(ctx.get(), req);
  v1::Event e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.subject(), first.id());
  const std::uint64_t first_id = e.id();

  v1::Space second = create_space("second");
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.id(), first_id + 1);
  EXPECT_EQ(e.kind(), "space.created");
  EXPECT_EQ(e.subject(), second.id());

  ctx->TryCancel();
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(DaemonApiTest, shutdown_ends_a_following_watch_with_unavailable) {
  ASSERT_NO_FATAL_FAILURE(start());
  create_space("first");
  v1::WatchEventsRequest req;
  req.set_follow(true);
  auto ctx = context();
  auto reader = stub_->WatchEvents(ctx.get(), req);
  v1::Event e;
  ASSERT_TRUE(reader->Read(&e));

  const auto before = std::chrono::steady_clock::now();
  server_->shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - before, Server::kShutdownGrace);
  EXPECT_FALSE(reader->Read(&e));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("after_id=" + std::to_string(e.id())), std::string::npos)
      << s.error_message();
  EXPECT_FALSE(std::filesystem::exists(socket_)) << "shutdown removes the socket file";
}

TEST_F(DaemonApiTest, requires_the_api_token_when_one_is_configured) {
  const std::string token(64, 'c');
  ASSERT_NO_FATAL_FAILURE(start(token));
  v1::StatusReply reply;

  auto ctx = context();
  grpc::Status s = stub_->Status(ctx.get(), v1::StatusRequest{}, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(),
            "this daemon requires its API token; pass --token-file or run as the user who owns "
            "DATA_DIR/api.token");

  ctx = context(std::string(64, 'd'));
  s = stub_->Status(ctx.get(), v1::StatusRequest{}, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message().find(token), std::string::npos);

  // Streaming calls are guarded too.
  ctx = context();
  v1::WatchEventsRequest watch;
  auto reader = stub_->WatchEvents(ctx.get(), watch);
  v1::Event e;
  EXPECT_FALSE(reader->Read(&e));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  ctx = context(token);
  s = stub_->Status(ctx.get(), v1::StatusRequest{}, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.peer_id(), peer_id_);
}

TEST_F(DaemonApiTest, refuses_a_request_larger_than_the_message_limit) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::CreateSpaceRequest req;
  req.set_name(std::string(Server::kMaxReceiveMessageBytes + 1, 'n'));
  v1::Space space;
  auto ctx = context();
  grpc::Status s = stub_->CreateSpace(ctx.get(), req, &space);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(spaces_->counts()->spaces, 0u);
}

// Reflection has no installed C++ stub, so this speaks it through the
// generic stub: a ServerReflectionRequest whose only field is
// list_services = "" (field 7, length-delimited, empty).
TEST_F(DaemonApiTest, serves_reflection_that_lists_the_daemon_service) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto channel =
      grpc::CreateChannel("unix:" + socket_.string(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue cq;
  auto ctx = context();
  auto call = generic.PrepareCall(
      ctx.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&](std::intptr_t id) {
    void* got = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&got, &ok));
    EXPECT_EQ(reinterpret_cast<std::intptr_t>(got), id);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  const char list_services[] = {0x3a, 0x00};
  grpc::Slice slice(list_services, sizeof(list_services));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  ASSERT_TRUE(step(4));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(bytes.find("soma.api.v1.Daemon"), std::string::npos);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  cq.Shutdown();
  void* ignored = nullptr;
  bool ok = false;
  while (cq.Next(&ignored, &ok)) {
  }
}

TEST_F(DaemonApiTest, the_socket_is_mode_0600_in_a_0700_directory) {
  ASSERT_NO_FATAL_FAILURE(start());
  struct stat st {};
  ASSERT_EQ(lstat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(lstat(socket_.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(DaemonApiTest, refuses_to_serve_from_a_socket_dir_with_mode_0755) {
  const auto run = dir_ / "run";
  ASSERT_EQ(mkdir(run.c_str(), 0755), 0);
  ASSERT_EQ(chmod(run.c_str(), 0755), 0);
  auto db = store::Database::open(dir_ / "soma.db", store::daemon_migrations());
  ASSERT_TRUE(db.ok()) << db.error().message;
  store::EventLog events(**db);
  auto blobs = blob::BlobStore::open(dir_ / "blobs", **db, events, blob::Limits{});
  ASSERT_TRUE(blobs.ok()) << blobs.error().message;
  space::SpaceService spaces(**db, events, **blobs, "peer");
  DaemonService service(spaces, **blobs, events, DaemonInfo{}, std::nullopt);

  auto server = Server::start(socket_, service, events);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(server.error().message,
            "socket directory " + run.string() +
                " has mode 0755; it must be 0700 and owned by you (chmod 700 " + run.string() +
                ")");
  EXPECT_FALSE(std::filesystem::exists(socket_));
}

TEST_F(DaemonApiTest, a_watch_after_an_id_beyond_the_last_returns_nothing_and_keeps_following) {
  ASSERT_NO_FATAL_FAILURE(start());
  create_space("first");
  EXPECT_TRUE(replay(std::uint64_t{1} << 63).empty());
  EXPECT_TRUE(replay(std::numeric_limits<std::uint64_t>::max()).empty());
  EXPECT_TRUE(replay(events_->last_id()).empty());

  v1::WatchEventsRequest req;
  req.set_after_id(std::uint64_t{1} << 63);
  req.set_follow(true);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(800));
  auto reader = stub_->WatchEvents(&ctx, req);
  create_space("second");
  v1::Event e;
  EXPECT_FALSE(reader->Read(&e)) << "delivered event " << e.id();
  // Still following when the deadline ends it: not finished, not replayed.
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(DaemonApiTest, refuses_followers_beyond_the_cap_while_short_calls_still_answer) {
  ApiLimits limits;
  limits.max_followers = 40;  // more than the server has threads
  ASSERT_NO_FATAL_FAILURE(start(std::nullopt, limits));
  create_space("first");
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Event>>> readers;
  v1::WatchEventsRequest req;
  req.set_follow(true);
  for (std::size_t i = 0; i < limits.max_followers; ++i) {
    contexts.push_back(context());
    readers.push_back(stub_->WatchEvents(contexts.back().get(), req));
    v1::Event e;
    ASSERT_TRUE(readers.back()->Read(&e)) << "follower " << i;  // it is open on the server
  }
  static_assert(40 > Server::kMaxThreads);

  auto ctx = context();
  auto refused = stub_->WatchEvents(ctx.get(), req);
  v1::Event e;
  EXPECT_FALSE(refused->Read(&e));
  grpc::Status s = refused->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "too many event followers (40); close some");

  v1::StatusReply reply;
  ctx = context();
  s = stub_->Status(ctx.get(), v1::StatusRequest{}, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.space_count(), 1u);

  // Every follower still gets news.
  create_space("second");
  for (auto& r : readers) {
    ASSERT_TRUE(r->Read(&e));
    EXPECT_EQ(e.kind(), "space.created");
  }
  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) r->Finish();
}

TEST_F(DaemonApiTest, refuses_uploads_beyond_the_cap) {
  ApiLimits limits;
  limits.max_uploads = 1;
  ASSERT_NO_FATAL_FAILURE(start(std::nullopt, limits));
  v1::Space space = create_space("blobs");
  v1::BlobInfo info;
  auto ctx = context();
  auto open = stub_->UploadBlob(ctx.get(), &info);
  v1::UploadBlobRequest head;
  head.mutable_header()->set_space(space.id());
  head.mutable_header()->set_size(3);
  ASSERT_TRUE(open->Write(head));
  // Give the server time to take the upload's place.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  v1::BlobInfo other;
  grpc::Status s = upload(space.id(), "abc", &other);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "too many blob uploads (1); wait for some to finish and try again");

  v1::UploadBlobRequest data;
  data.set_data("abc");
  ASSERT_TRUE(open->Write(data));
  open->WritesDone();
  s = open->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.size(), 3u);
  // The place is free again.
  s = upload(space.id(), "def", &other);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(DaemonApiTest, cancels_an_idle_upload_after_the_timeout_and_stores_nothing) {
  ApiLimits limits;
  limits.upload_idle_timeout = std::chrono::milliseconds(300);
  ASSERT_NO_FATAL_FAILURE(start(std::nullopt, limits));
  v1::Space space = create_space("blobs");
  v1::BlobInfo info;
  auto ctx = context();
  auto writer = stub_->UploadBlob(ctx.get(), &info);
  v1::UploadBlobRequest msg;
  msg.mutable_header()->set_space(space.id());
  msg.mutable_header()->set_size(1000);
  ASSERT_TRUE(writer->Write(msg));
  msg.set_data(std::string(100, 'x'));
  ASSERT_TRUE(writer->Write(msg));

  const auto before = std::chrono::steady_clock::now();
  grpc::Status s = writer->Finish();  // without WritesDone: the client just sits there
  const auto waited = std::chrono::steady_clock::now() - before;
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED) << s.error_message();
  EXPECT_LT(waited, std::chrono::seconds(3)) << "the idle upload was not cut";
  EXPECT_EQ(blobs_->blob_count(), 0u);
  auto ctx2 = context();
  v1::ListBlobsReply list;
  ASSERT_TRUE(stub_->ListBlobs(ctx2.get(), v1::ListBlobsRequest{}, &list).ok());
  EXPECT_EQ(list.blobs_size(), 0);
}

TEST_F(DaemonApiTest, refuses_blob_names_with_control_or_bidi_characters) {
  ASSERT_NO_FATAL_FAILURE(start());
  v1::Space space = create_space("blobs");
  for (const std::string& name :
       {std::string("evil\nname"), std::string("bell\a"), std::string("\x1b[31mred"),
        std::string("a\xe2\x80\xae"
                    "b")}) {
    v1::BlobInfo info;
    auto ctx = context();
    auto writer = stub_->UploadBlob(ctx.get(), &info);
    v1::UploadBlobRequest msg;
    msg.mutable_header()->set_space(space.id());
    msg.mutable_header()->set_size(3);
    msg.mutable_header()->set_name(name);
    writer->Write(msg);
    msg.set_data("abc");
    writer->Write(msg);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_EQ(s.error_message().rfind("blob name contains", 0), 0u) << s.error_message();
  }
  EXPECT_EQ(blobs_->blob_count(), 0u);
  // An empty name is allowed.
  v1::BlobInfo info;
  auto ctx = context();
  auto writer = stub_->UploadBlob(ctx.get(), &info);
  v1::UploadBlobRequest msg;
  msg.mutable_header()->set_space(space.id());
  msg.mutable_header()->set_size(3);
  writer->Write(msg);
  msg.set_data("abc");
  writer->Write(msg);
  writer->WritesDone();
  EXPECT_TRUE(writer->Finish().ok());
}

TEST_F(DaemonApiTest, event_details_never_carry_control_characters) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto id = events_->append("test.event", "", "subject",
                            "a\nb\x1b[2Jc\x07\x7f"
                            "d\xc2\x9b"
                            "e\xff"
                            "f \xc3\xbc");
  ASSERT_TRUE(id.ok()) << id.error().message;
  events_->published();
  auto all = replay(0);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].detail(),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd[2Jc\xef\xbf\xbd\xef\xbf\xbd"
            "d\xef\xbf\xbd"
            "e\xef\xbf\xbd"
            "f \xc3\xbc");
}

}  // namespace
}  // namespace soma::api
