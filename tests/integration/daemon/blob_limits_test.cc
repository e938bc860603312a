#include <gtest/gtest.h>

#include <regex>

#include "harness/api_client.h"
#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

// Files under the blob folder other than the database's own, i.e. what a
// failed upload could have left behind.
std::size_t files_under(const std::filesystem::path& dir) {
  std::size_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

TEST(BlobLimits, bytes_that_do_not_hash_to_the_expected_cid_are_not_stored) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  auto space = create_space(*stub, "s");

  // The CID of the empty file, claimed for bytes that are not empty.
  api::BlobInfo info;
  auto s = upload(*stub, space, "not empty", &info,
                  "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  EXPECT_TRUE(list_blobs(*stub).empty());
  EXPECT_EQ(files_under(tmp / "data" / "blobs"), 0u);

  // The CLI reports it the same way.
  write_file(tmp / "f.txt", "not empty");
  auto r = daemon.soma({"blob", "add", (tmp / "f.txt").string(), "--space", "s", "--expect",
                        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_TRUE(list_blobs(*stub).empty());
}

TEST(BlobLimits, a_truncated_upload_is_refused_and_leaves_nothing) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  auto space = create_space(*stub, "s");

  grpc::ClientContext ctx;
  api::BlobInfo info;
  auto writer = stub->UploadBlob(&ctx, &info);
  api::UploadBlobRequest head;
  head.mutable_header()->set_space(space);
  head.mutable_header()->set_size(1'000'000);
  ASSERT_TRUE(writer->Write(head));
  api::UploadBlobRequest part;
  part.set_data(random_bytes(300'000, 1));
  ASSERT_TRUE(writer->Write(part));
  writer->WritesDone();
  auto s = writer->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("300000"), std::string::npos) << s.error_message();
  EXPECT_TRUE(list_blobs(*stub).empty());
  EXPECT_EQ(files_under(tmp / "data" / "blobs"), 0u);
}

TEST(BlobLimits, an_upload_over_the_blob_limit_is_refused_before_anything_is_written) {
  TempDir tmp;
  Daemon daemon(tmp / "data", {"--max-blob-bytes", "4096"});
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  auto space = create_space(*stub, "s");

  api::BlobInfo info;
  auto s = upload(*stub, space, random_bytes(5000, 2), &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(list_blobs(*stub).empty());

  EXPECT_TRUE(upload(*stub, space, random_bytes(4096, 3), &info).ok());
  EXPECT_EQ(list_blobs(*stub).size(), 1u);
}

TEST(BlobLimits, a_space_over_its_quota_takes_no_more_blobs) {
  TempDir tmp;
  Daemon daemon(tmp / "data", {"--space-quota-bytes", "10000"});
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  auto space = create_space(*stub, "s");

  api::BlobInfo first;
  ASSERT_TRUE(upload(*stub, space, random_bytes(6000, 4), &first).ok());
  api::BlobInfo second;
  auto s = upload(*stub, space, random_bytes(6000, 5), &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  auto blobs = list_blobs(*stub);
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs[0].cid(), first.cid());
}

TEST(BlobLimits, a_blob_corrupted_on_disk_is_never_served_and_verify_reports_it) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  auto space = create_space(*stub, "s");
  std::string bytes = random_bytes(600'000, 6);
  api::BlobInfo info;
  ASSERT_TRUE(upload(*stub, space, bytes, &info).ok());

  // Flip one byte in the stored file, wherever the store keeps it.
  std::filesystem::path stored;
  for (const auto& e : std::filesystem::recursive_directory_iterator(tmp / "data" / "blobs")) {
    if (e.is_regular_file() && e.path().filename().string().find(info.cid()) != std::string::npos) {
      stored = e.path();
    }
  }
  ASSERT_FALSE(stored.empty()) << "no file named by " << info.cid();
  std::string on_disk = read_file(stored);
  ASSERT_EQ(on_disk.size(), bytes.size());
  on_disk[400'000] ^= 0x01;
  write_file(stored, on_disk);

  grpc::ClientContext ctx;
  api::ReadBlobRequest req;
  req.set_cid(info.cid());
  auto reader = stub->ReadBlob(&ctx, req);
  std::string got;
  api::ReadBlobReply chunk;
  while (reader->Read(&chunk)) got += chunk.data();
  auto s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS) << s.error_message();
  // The chunk holding the bad byte (the second, from 262144) never left.
  EXPECT_LE(got.size(), 262'144u);
  EXPECT_TRUE(got == bytes.substr(0, got.size()));

  auto verify = daemon.soma({"blob", "verify", "--all"});
  EXPECT_EQ(verify.exit_code, 5) << verify.out << verify.err;
  EXPECT_NE((verify.out + verify.err).find(info.cid()), std::string::npos);
}

}  // namespace
}  // namespace soma::testing
