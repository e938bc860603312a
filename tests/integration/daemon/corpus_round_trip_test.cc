#include <gtest/gtest.h>

#include "harness/api_client.h"
#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

std::filesystem::path corpus() { return shared_dir() / "specs" / "libp2p"; }

void expect_same_tree(const std::filesystem::path& want_root, const std::filesystem::path& got_root) {
  auto want = read_tree(want_root);
  auto got = read_tree(got_root);
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [path, bytes] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      ADD_FAILURE() << "export lacks " << path;
      continue;
    }
    EXPECT_TRUE(it->second == bytes) << path << " differs after the round trip";
  }
  for (const auto& [path, bytes] : got) {
    EXPECT_TRUE(want.count(path)) << "export has an extra file " << path;
  }
}

TEST(CorpusRoundTrip, import_then_export_gives_back_every_file_identical) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  ASSERT_GE(read_tree(corpus()).size(), 78u) << "the corpus is missing at " << corpus();

  auto imported = daemon.soma({"import", corpus().string(), "--space", "specs"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;

  auto exported = daemon.soma({"export", "specs", (tmp / "out").string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  expect_same_tree(corpus(), tmp / "out");

  auto verified = daemon.soma({"blob", "verify", "--all"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST(CorpusRoundTrip, linked_figures_become_blobs_named_by_cid_in_the_note) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto imported = daemon.soma({"import", corpus().string(), "--space", "specs"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;

  // ping/ping.md links ./ping.svg: its document must point at the blob of
  // exactly those bytes, and no longer at the file.
  auto stub = api_client(daemon);
  grpc::ClientContext ctx;
  api::ListPagesRequest req;
  req.set_space("specs");
  req.set_recursive(true);
  api::ListPagesReply pages;
  ASSERT_TRUE(stub->ListPages(&ctx, req, &pages).ok());

  std::string ping_folder, ping_note;
  for (const auto& p : pages.pages()) {
    if (p.title() == "ping" && p.kind() == "folder") ping_folder = p.id();
  }
  for (const auto& p : pages.pages()) {
    if (p.title() == "ping" && p.kind() == "note" && p.parent_id() == ping_folder) ping_note = p.id();
  }
  ASSERT_FALSE(ping_note.empty()) << "no ping/ping.md page";

  grpc::ClientContext dctx;
  api::GetDocumentRequest dreq;
  dreq.set_page_id(ping_note);
  api::Document doc;
  ASSERT_TRUE(stub->GetDocument(&dctx, dreq, &doc).ok());
  EXPECT_EQ(doc.text().find("](./ping.svg)"), std::string::npos);
  ASSERT_EQ(doc.blob_cids_size(), 1);
  EXPECT_NE(doc.text().find("soma:blob/" + doc.blob_cids(0)), std::string::npos);

  grpc::ClientContext rctx;
  api::ReadBlobRequest rreq;
  rreq.set_cid(doc.blob_cids(0));
  auto reader = stub->ReadBlob(&rctx, rreq);
  std::string bytes;
  api::ReadBlobReply chunk;
  while (reader->Read(&chunk)) bytes += chunk.data();
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(bytes == read_file(corpus() / "ping" / "ping.svg"));
}

TEST(CorpusRoundTrip, a_restart_keeps_the_imported_space) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  ASSERT_EQ(daemon.soma({"import", corpus().string(), "--space", "specs"}).exit_code, 0);
  EXPECT_EQ(daemon.stop_gracefully(), 0);

  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto exported = daemon.soma({"export", "specs", (tmp / "out").string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  expect_same_tree(corpus(), tmp / "out");
}

}  // namespace
}  // namespace soma::testing
