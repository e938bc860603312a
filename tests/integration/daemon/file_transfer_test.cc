// The local fast path end to end: the real CLI asking the real daemon to
// read and write files itself, falling back to streaming when the daemon
// sees another file, and a daemon killed in the middle of reading one.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "harness/api_client.h"
#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

namespace fs = std::filesystem;

// What streaming the same bytes over UploadBlob names them, to compare the
// fast path's CIDs with.
std::string streamed_cid(api::Daemon::Stub& stub, const std::string& bytes) {
  static int n = 0;
  auto space = create_space(stub, "reference-" + std::to_string(++n));
  api::BlobInfo info;
  auto s = upload(stub, space, bytes, &info);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return info.cid();
}

std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST(FileTransfer, the_cli_has_the_daemon_read_and_write_files_with_the_same_cids) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  ASSERT_EQ(daemon.soma({"space", "create", "s"}).exit_code, 0);

  // Larger than one batch of chunks, and not a whole number of chunks.
  const std::string bytes = random_bytes((9u << 20) + 4321, 1);
  write_file(tmp / "big.bin", bytes);
  auto added = daemon.soma({"blob", "add", (tmp / "big.bin").string(), "--space", "s"});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  const std::string cid = trim(added.out);
  EXPECT_EQ(cid, streamed_cid(*stub, bytes));
  EXPECT_NE(daemon.stderr_text().find("api ImportBlobFile stored " + cid), std::string::npos)
      << "the daemon did not read the file itself";

  auto got = daemon.soma({"blob", "get", cid, "-o", (tmp / "back.bin").string()});
  ASSERT_EQ(got.exit_code, 0) << got.out << got.err;
  EXPECT_TRUE(read_file(tmp / "back.bin") == bytes);
  EXPECT_NE(daemon.stderr_text().find("api ExportBlobFile wrote " + cid), std::string::npos)
      << "the daemon did not write the file itself";

  // A folder round trip takes the same path for its linked file.
  write_file(tmp / "notes" / "a.md", "# A\n\n![fig](figs/big.bin)\n");
  write_file(tmp / "notes" / "figs" / "big.bin", bytes);
  write_file(tmp / "notes" / "empty.dat", "");
  auto imported = daemon.soma({"import", (tmp / "notes").string(), "--space", "notes"});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  auto exported = daemon.soma({"export", "notes", (tmp / "out").string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  EXPECT_EQ(read_tree(tmp / "out"), read_tree(tmp / "notes"));
}

TEST(FileTransfer, the_cli_streams_the_bytes_when_the_daemon_finds_another_file_at_the_path) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  ASSERT_EQ(daemon.soma({"space", "create", "s"}).exit_code, 0);

  // The CLI reads a file that was removed after it was opened: the path it
  // gives the daemon ends in " (deleted)", and there the daemon finds
  // another file, as a daemon in another mount namespace would.
  const std::string real = random_bytes((2u << 20) + 99, 2);
  const std::string decoy = random_bytes((2u << 20) + 99, 3);
  write_file(tmp / "victim.bin", real);
  write_file(tmp / "victim.bin (deleted)", decoy);
  const std::string script = "exec 3<'" + (tmp / "victim.bin").string() + "' && rm '" +
                             (tmp / "victim.bin").string() + "' && exec '" + cli_binary().string() +
                             "' --data-dir '" + (tmp / "data").string() +
                             "' blob add /dev/fd/3 --space s";
  auto added = run({"/bin/sh", "-c", script});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  EXPECT_EQ(trim(added.out), streamed_cid(*stub, real));
  EXPECT_NE(trim(added.out), streamed_cid(*stub, decoy));
  EXPECT_NE(daemon.stderr_text().find("api ImportBlobFile refused (failed precondition): the "
                                      "daemon sees another file at"),
            std::string::npos)
      << "the daemon was never asked, so nothing fell back";
}

TEST(FileTransfer, blob_get_over_an_existing_file_replaces_it_whole_and_leaves_no_temporary) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  ASSERT_EQ(daemon.soma({"space", "create", "s"}).exit_code, 0);
  const std::string bytes = random_bytes(700'000, 4);
  write_file(tmp / "src" / "a.bin", bytes);
  auto added = daemon.soma({"blob", "add", (tmp / "src" / "a.bin").string(), "--space", "s"});
  ASSERT_EQ(added.exit_code, 0) << added.err;

  write_file(tmp / "dst" / "a.bin", std::string(2'000'000, 'x'));
  auto got = daemon.soma({"blob", "get", trim(added.out), "-o", (tmp / "dst" / "a.bin").string()});
  ASSERT_EQ(got.exit_code, 0) << got.out << got.err;
  EXPECT_TRUE(read_file(tmp / "dst" / "a.bin") == bytes);
  EXPECT_EQ(files_in(tmp / "dst"), 1u);

  // Export still wants an empty or new folder and touches nothing else.
  write_file(tmp / "full" / "keep.txt", "mine");
  auto exported = daemon.soma({"export", "s", (tmp / "full").string()});
  EXPECT_EQ(exported.exit_code, 1) << exported.out << exported.err;
  EXPECT_EQ(read_tree(tmp / "full"), (std::map<std::string, std::string>{{"keep.txt", "mine"}}));
}

TEST(FileTransfer, a_kill_while_the_daemon_reads_a_file_leaves_no_half_blob) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto stub = api_client(daemon);
  auto space = create_space(*stub, "s");
  api::BlobInfo acknowledged;
  ASSERT_TRUE(upload(*stub, space, random_bytes(300'000, 5), &acknowledged).ok());

  // 64 MiB, killed as soon as the first batch is reported.
  std::string chunk = random_bytes(1 << 20, 6);
  std::string big;
  for (int i = 0; i < 64; ++i) big += std::to_string(i) + chunk.substr(std::to_string(i).size());
  write_file(tmp / "big.bin", big);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "big.bin").c_str(), &st), 0);
  api::ImportBlobFileRequest req;
  req.set_space(space);
  req.set_path((tmp / "big.bin").string());
  req.set_size(big.size());
  req.set_device(st.st_dev);
  req.set_inode(st.st_ino);

  grpc::ClientContext ctx;
  auto reader = stub->ImportBlobFile(&ctx, req);
  api::BlobFileReply reply;
  bool moving = false;
  bool finished = false;
  while (reader->Read(&reply)) {
    if (reply.has_blob()) finished = true;
    if (reply.done() > 0 && !reply.has_blob()) {
      moving = true;
      daemon.kill_hard();
      break;
    }
  }
  ctx.TryCancel();
  (void)reader->Finish();
  ASSERT_TRUE(moving) << "the import ended before it could be interrupted";
  EXPECT_FALSE(finished);

  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto after = api_client(daemon);
  auto blobs = list_blobs(*after);
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs[0].cid(), acknowledged.cid());
  auto verify = daemon.soma({"blob", "verify", "--all"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_TRUE(fs::is_empty(tmp / "data" / "blobs" / "tmp"));

  // The same file imports whole afterwards.
  auto added = daemon.soma({"blob", "add", (tmp / "big.bin").string(), "--space", "s"});
  ASSERT_EQ(added.exit_code, 0) << added.out << added.err;
  EXPECT_EQ(list_blobs(*after).size(), 2u);
}

}  // namespace
}  // namespace soma::testing
