// Real daemons under pressure from hostile or careless local clients: many
// long-lived calls, a second daemon on the same socket, malformed requests.

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/api_client.h"
#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<api::Daemon::Stub> stub_at(const std::filesystem::path& socket) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return api::Daemon::NewStub(grpc::CreateCustomChannel("unix:" + socket.string(),
                                                        grpc::InsecureChannelCredentials(), args));
}

grpc::Status status_of(api::Daemon::Stub& stub, api::StatusReply* reply) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  return stub.Status(&ctx, api::StatusRequest{}, reply);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

struct Follower {
  std::unique_ptr<grpc::ClientContext> ctx = std::make_unique<grpc::ClientContext>();
  std::unique_ptr<grpc::ClientReader<api::Event>> reader;
};

struct IdleUpload {
  std::unique_ptr<grpc::ClientContext> ctx = std::make_unique<grpc::ClientContext>();
  api::BlobInfo info;
  std::unique_ptr<grpc::ClientWriter<api::UploadBlobRequest>> writer;
};

TEST(DaemonHardening, status_answers_while_hundreds_of_followers_and_idle_uploads_are_open) {
  TempDir tmp;
  Daemon daemon(tmp / "data", {"--upload-idle-timeout", "2"});
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  const std::string space = create_space(*stub, "busy");

  // The default cap, far more than the server has threads.
  constexpr std::size_t kMaxFollowers = 256;
  std::vector<Follower> followers(kMaxFollowers);
  api::WatchEventsRequest watch;
  watch.set_follow(true);
  for (auto& f : followers) {
    f.reader = stub->WatchEvents(f.ctx.get(), watch);
    api::Event e;
    ASSERT_TRUE(f.reader->Read(&e)) << "a follower got no replay";
  }
  Follower extra;
  extra.reader = stub->WatchEvents(extra.ctx.get(), watch);
  api::Event e;
  EXPECT_FALSE(extra.reader->Read(&e));
  grpc::Status refused = extra.reader->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(), "too many event followers (256); close some");

  // Uploads that send a header, then nothing.
  std::vector<IdleUpload> uploads(8);
  api::UploadBlobRequest head;
  head.mutable_header()->set_space(space);
  head.mutable_header()->set_size(1000);
  for (auto& u : uploads) {
    u.writer = stub->UploadBlob(u.ctx.get(), &u.info);
    ASSERT_TRUE(u.writer->Write(head));
  }
  std::this_thread::sleep_for(300ms);
  api::BlobInfo info;
  grpc::Status over = upload(*stub, space, "abc", &info);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << over.error_message();
  EXPECT_NE(daemon.stderr_text().find("UploadBlob refused"), std::string::npos);

  const auto before = std::chrono::steady_clock::now();
  api::StatusReply reply;
  grpc::Status s = status_of(*stub, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
  EXPECT_EQ(reply.space_count(), 1u);
  auto cli = daemon.soma({"status"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;

  // The idle uploads are cut after the 2 s timeout; nothing is stored.
  for (auto& u : uploads) {
    grpc::Status ended = u.writer->Finish();
    EXPECT_EQ(ended.error_code(), grpc::StatusCode::CANCELLED) << ended.error_message();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - before, 6s);
  EXPECT_TRUE(list_blobs(*stub).empty());
  EXPECT_NE(daemon.stderr_text().find("received nothing for 2000 ms"), std::string::npos);

  // With the uploads gone, an upload works again, and followers see it.
  s = upload(*stub, space, "abc", &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(followers.front().reader->Read(&e));
  EXPECT_EQ(e.kind(), "blob.added");
  for (auto& f : followers) f.ctx->TryCancel();
  for (auto& f : followers) f.reader->Finish();
  EXPECT_EQ(daemon.stop_gracefully(), 0);
}

TEST(DaemonHardening, a_second_daemon_sharing_the_socket_dir_is_refused_and_the_first_keeps_it) {
  TempDir tmp;
  const auto run = tmp / "run";
  Daemon first(tmp / "a", {"--socket-dir", run.string()});
  ASSERT_TRUE(first.start()) << first.stderr_text();

  Daemon second(tmp / "b", {"--socket-dir", run.string()});
  EXPECT_FALSE(second.start());
  auto code = second.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "the second daemon did not exit";
  EXPECT_EQ(*code, 1);
  EXPECT_NE(
      second.stderr_text().find("another daemon is listening on " + (run / "daemon.sock").string()),
      std::string::npos)
      << second.stderr_text();

  auto stub = stub_at(run / "daemon.sock");
  api::StatusReply reply;
  grpc::Status s = status_of(*stub, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.data_dir(), (tmp / "a").string());
  stub.reset();
  EXPECT_EQ(first.stop_gracefully(), 0);
  EXPECT_FALSE(std::filesystem::exists(run / "daemon.sock"));
}

TEST(DaemonHardening, shutdown_leaves_alone_a_socket_another_daemon_made_at_the_same_path) {
  TempDir tmp;
  const auto run = tmp / "run";
  const auto socket = run / "daemon.sock";
  Daemon first(tmp / "a", {"--socket-dir", run.string()});
  ASSERT_TRUE(first.start()) << first.stderr_text();
  // Someone removes the first daemon's socket; a second daemon takes the path.
  ASSERT_TRUE(std::filesystem::remove(socket));
  Daemon second(tmp / "b", {"--socket-dir", run.string()});
  ASSERT_TRUE(second.start()) << second.stderr_text();

  EXPECT_EQ(first.stop_gracefully(), 0);
  EXPECT_TRUE(std::filesystem::exists(socket)) << "the first daemon removed the second's socket";
  auto stub = stub_at(socket);
  api::StatusReply reply;
  grpc::Status s = status_of(*stub, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.data_dir(), (tmp / "b").string());
  EXPECT_EQ(second.stop_gracefully(), 0);
  EXPECT_FALSE(std::filesystem::exists(socket));
}

TEST(DaemonHardening, every_file_the_daemon_creates_is_private_whatever_the_umask) {
  TempDir tmp;
  const mode_t previous = umask(022);
  Daemon daemon(tmp / "data", {"--require-token"});
  const bool started = daemon.start();
  umask(previous);
  ASSERT_TRUE(started) << daemon.stderr_text();
  auto stub = api_client(daemon);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + read_file(tmp / "data" / "api.token").substr(0, 64));
  api::CreateSpaceRequest req;
  req.set_name("private");
  api::Space space;
  ASSERT_TRUE(stub->CreateSpace(&ctx, req, &space).ok());
  grpc::ClientContext up_ctx;
  up_ctx.AddMetadata("authorization",
                     "Bearer " + read_file(tmp / "data" / "api.token").substr(0, 64));
  api::BlobInfo info;
  auto writer = stub->UploadBlob(&up_ctx, &info);
  api::UploadBlobRequest msg;
  msg.mutable_header()->set_space(space.id());
  msg.mutable_header()->set_size(4096);
  writer->Write(msg);
  msg.set_data(random_bytes(4096, 7));
  writer->Write(msg);
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());

  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(tmp / "data")) {
    struct stat st {};
    ASSERT_EQ(lstat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 077, 0u)
        << entry.path() << " has mode " << std::oct << (st.st_mode & 07777);
    if (S_ISREG(st.st_mode)) ++files;
  }
  // The database, its -wal and -shm, the key, the token and the blob at least.
  EXPECT_GE(files, 6u);
  EXPECT_TRUE(std::filesystem::exists(tmp / "data" / "soma.db-wal"));
  EXPECT_EQ(daemon.stop_gracefully(), 0);
}

TEST(DaemonHardening, a_token_file_without_a_token_is_a_configuration_error_naming_the_file) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "data");
  std::filesystem::permissions(tmp / "data", std::filesystem::perms::owner_all);
  write_file(tmp / "data" / "api.token", "not a token\n");
  std::filesystem::permissions(tmp / "data" / "api.token", std::filesystem::perms::owner_read |
                                                               std::filesystem::perms::owner_write);
  Daemon daemon(tmp / "data", {"--require-token"});
  EXPECT_FALSE(daemon.start());
  auto code = daemon.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  EXPECT_NE(daemon.stderr_text().find((tmp / "data" / "api.token").string()), std::string::npos)
      << daemon.stderr_text();
}

TEST(DaemonHardening, a_flood_of_requests_that_are_not_utf8_cannot_flood_the_log) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  // This process's own libprotobuf complains while sending; only the
  // daemon's log is under test.
  auto* previous = google::protobuf::SetLogHandler(nullptr);
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext ctx;
    api::CreateSpaceRequest req;
    req.set_name("bad\xff name");
    api::Space space;
    grpc::Status s = stub->CreateSpace(&ctx, req, &space);
    EXPECT_FALSE(s.ok());
  }
  google::protobuf::SetLogHandler(previous);
  api::StatusReply reply;
  ASSERT_TRUE(status_of(*stub, &reply).ok());
  EXPECT_EQ(reply.space_count(), 0u);
  EXPECT_EQ(daemon.stop_gracefully(), 0);
  const std::string log = daemon.stderr_text();
  const std::size_t lines = count_of(log, "invalid UTF-8");
  EXPECT_GE(lines, 1u) << log;
  // 200 bad requests in well under a few seconds: a few lines a second.
  EXPECT_LE(lines, 20u) << log;
  EXPECT_EQ(count_of(log, "[libprotobuf ERROR"), 0u) << "libprotobuf wrote to stderr itself";
}

}  // namespace
}  // namespace soma::testing
