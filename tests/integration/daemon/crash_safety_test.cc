#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <thread>

#include "harness/api_client.h"
#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

using namespace std::chrono_literals;

std::size_t temp_files_under(const std::filesystem::path& dir) {
  std::size_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().parent_path().filename() == "tmp") ++n;
  }
  return n;
}

api::VerifyBlobsReply verify_all(api::Daemon::Stub& stub) {
  grpc::ClientContext ctx;
  api::VerifyBlobsRequest req;
  req.set_all(true);
  api::VerifyBlobsReply reply;
  auto s = stub.VerifyBlobs(&ctx, req, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return reply;
}

TEST(CrashSafety, a_kill_during_a_large_upload_loses_nothing_acknowledged_and_shows_nothing_half_written) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  auto space = create_space(*stub, "s");
  api::BlobInfo acknowledged;
  ASSERT_TRUE(upload(*stub, space, random_bytes(700'000, 7), &acknowledged).ok());

  // Stream a 64 MiB blob and kill the daemon once a quarter of it is sent.
  std::atomic<std::size_t> sent{0};
  std::thread uploader([&] {
    grpc::ClientContext ctx;
    api::BlobInfo info;
    auto writer = stub->UploadBlob(&ctx, &info);
    api::UploadBlobRequest head;
    head.mutable_header()->set_space(space);
    head.mutable_header()->set_size(64u << 20);
    writer->Write(head);
    std::string chunk = random_bytes(1 << 20, 8);
    for (int i = 0; i < 64; ++i) {
      api::UploadBlobRequest part;
      part.set_data(chunk);
      if (!writer->Write(part)) break;
      sent += chunk.size();
    }
    writer->WritesDone();
    EXPECT_FALSE(writer->Finish().ok());
  });
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (sent < (16u << 20) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  daemon.kill_hard();
  uploader.join();

  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto after = api_client(daemon);
  auto blobs = list_blobs(*after);
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs[0].cid(), acknowledged.cid());
  auto report = verify_all(*after);
  EXPECT_EQ(report.problems_size(), 0);
  EXPECT_EQ(report.checked(), 1u);
  auto cli_verify = daemon.soma({"blob", "verify", "--all"});
  EXPECT_EQ(cli_verify.exit_code, 0) << cli_verify.out << cli_verify.err;
  EXPECT_EQ(temp_files_under(tmp / "data" / "blobs"), 0u);
}

TEST(CrashSafety, a_kill_during_an_import_leaves_a_consistent_space) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();

  // Enough notes, each linking its own figure, that the import takes a
  // while: every blob and page is a separate, synced commit.
  for (int i = 0; i < 400; ++i) {
    auto n = std::to_string(i);
    write_file(tmp / "notes" / ("d" + std::to_string(i % 10)) / ("note" + n + ".md"),
               "# Note " + n + "\n\n![figure](fig" + n + ".bin)\n");
    write_file(tmp / "notes" / ("d" + std::to_string(i % 10)) / ("fig" + n + ".bin"),
               random_bytes(3000 + static_cast<std::size_t>(i), static_cast<unsigned>(i)));
  }

  ChildProcess importer;
  ASSERT_TRUE(importer.start({cli_binary().string(), "--data-dir", (tmp / "data").string(),
                              "import", (tmp / "notes").string(), "--space", "specs"}));

  // Wait until part of the import is acknowledged, then pull the plug.
  auto stub = api_client(daemon);
  std::vector<api::Event> seen;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  auto pages_seen = [&] {
    return std::count_if(seen.begin(), seen.end(),
                         [](const api::Event& e) { return e.kind() == "page.created"; });
  };
  // The importer uploads blobs first, then creates pages: wait until pages
  // are being written, so the kill lands among page and document commits.
  while (pages_seen() < 20 && std::chrono::steady_clock::now() < deadline) {
    seen.clear();
    grpc::ClientContext ctx;
    api::WatchEventsRequest req;
    auto reader = stub->WatchEvents(&ctx, req);
    api::Event e;
    while (reader->Read(&e)) seen.push_back(e);
    (void)reader->Finish();
  }
  bool import_was_running = importer.running();
  daemon.kill_hard();
  importer.stop(SIGKILL);
  ASSERT_GE(pages_seen(), 20) << "the import made too little progress to test";
  EXPECT_TRUE(import_was_running) << "the import finished before the kill; nothing was tested";

  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto after = api_client(daemon);
  EXPECT_EQ(verify_all(*after).problems_size(), 0);
  auto cli_verify = daemon.soma({"blob", "verify", "--all"});
  EXPECT_EQ(cli_verify.exit_code, 0) << cli_verify.out << cli_verify.err;

  // Every page acknowledged before the kill is there, with a readable
  // document whose blobs all exist.
  for (const auto& e : seen) {
    if (e.kind() != "page.created") continue;
    grpc::ClientContext pctx;
    api::GetPageRequest preq;
    preq.set_page_id(e.subject());
    api::Page page;
    EXPECT_TRUE(after->GetPage(&pctx, preq, &page).ok()) << "lost page " << e.subject();
  }
  grpc::ClientContext lctx;
  api::ListPagesRequest lreq;
  lreq.set_space("specs");
  lreq.set_recursive(true);
  api::ListPagesReply pages;
  ASSERT_TRUE(after->ListPages(&lctx, lreq, &pages).ok());
  EXPECT_FALSE(pages.pages().empty());
  for (const auto& p : pages.pages()) {
    grpc::ClientContext dctx;
    api::GetDocumentRequest dreq;
    dreq.set_page_id(p.id());
    api::Document doc;
    ASSERT_TRUE(after->GetDocument(&dctx, dreq, &doc).ok()) << p.title();
    for (const auto& cid : doc.blob_cids()) {
      grpc::ClientContext bctx;
      api::GetBlobRequest breq;
      breq.set_cid(cid);
      api::BlobInfo info;
      EXPECT_TRUE(after->GetBlob(&bctx, breq, &info).ok()) << p.title() << " refers to " << cid;
    }
  }
  EXPECT_EQ(temp_files_under(tmp / "data" / "blobs"), 0u);
}

}  // namespace
}  // namespace soma::testing
