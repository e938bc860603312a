#include <gtest/gtest.h>

#include "harness/api_client.h"
#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

constexpr char kSecret[] = "SECRET-OUTSIDE-THE-IMPORT-FOLDER-7f3a";

// Everything the daemon stores, as bytes, to prove a file never reached it.
std::string all_blob_bytes(api::Daemon::Stub& stub) {
  std::string all;
  for (const auto& b : list_blobs(stub)) {
    grpc::ClientContext ctx;
    api::ReadBlobRequest req;
    req.set_cid(b.cid());
    auto reader = stub.ReadBlob(&ctx, req);
    api::ReadBlobReply chunk;
    while (reader->Read(&chunk)) all += chunk.data();
    EXPECT_TRUE(reader->Finish().ok());
  }
  return all;
}

TEST(ImportProblems, imports_what_is_safe_reports_the_rest_and_never_reads_outside_the_folder) {
  TempDir tmp;
  auto notes = tmp / "notes";
  write_file(tmp / "secret.txt", kSecret);
  write_file(notes / "img.png", "\x89PNG fake image bytes");
  const std::string good =
      "# Good\n\n![figure](img.png)\n[missing](missing.png)\n[escape](../secret.txt)\n"
      "[deep](sub/../../secret.txt)\n[web](https://example.org/x.png)\n[link](link.txt)\n";
  write_file(notes / "good.md", good);
  std::filesystem::create_symlink(tmp / "secret.txt", notes / "link.txt");
  const std::string malformed = "# [unclosed ![img](  \n```\nno end fence\n<div <<<\n[x]: \n";
  write_file(notes / "malformed.md", malformed);
  write_file(notes / std::string("bad\xff\xfename.md"), "named badly\n");
  write_file(notes / "latin1.md", std::string("caf\xe9 au lait\n"));

  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto imported = daemon.soma({"import", notes.string(), "--space", "notes"});
  EXPECT_EQ(imported.exit_code, 5) << imported.out << imported.err;
  std::string report = imported.out + imported.err;
  EXPECT_NE(report.find("missing.png"), std::string::npos) << report;
  EXPECT_NE(report.find("secret.txt"), std::string::npos) << report;
  EXPECT_NE(report.find("link.txt"), std::string::npos) << report;
  EXPECT_NE(report.find("UTF-8"), std::string::npos) << report;

  auto stub = api_client(daemon);
  EXPECT_EQ(all_blob_bytes(*stub).find(kSecret), std::string::npos)
      << "bytes from outside the import folder were stored";

  // What was safe comes back intact.
  auto exported = daemon.soma({"export", "notes", (tmp / "out").string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  EXPECT_EQ(read_file(tmp / "out" / "good.md"), good);
  EXPECT_EQ(read_file(tmp / "out" / "img.png"), "\x89PNG fake image bytes");
  EXPECT_EQ(read_file(tmp / "out" / "malformed.md"), malformed);
  EXPECT_EQ(read_file(tmp / "out" / "latin1.md"), std::string("caf\xe9 au lait\n"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "out" / "secret.txt"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "secret.txt.copy"));
}

}  // namespace
}  // namespace soma::testing
