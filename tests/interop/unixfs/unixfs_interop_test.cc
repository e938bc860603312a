// Soma's blob CIDs against IPFS's own UnixFS importer (run under Node from
// tests/interop): the same bytes must get the same CID, from one empty file
// to a tree of two levels.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "blob/dag_builder.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/migrations.h"

namespace soma::blob {
namespace {

namespace fs = std::filesystem;

const fs::path kInteropDir = fs::path(SOMA_SOURCE_DIR) / "tests" / "interop";

// Deterministic bytes that do not repeat across chunks (xorshift64).
class Noise {
 public:
  explicit Noise(std::uint64_t seed) : state_(seed | 1) {}
  void fill(core::Bytes& out) {
    for (std::size_t i = 0; i < out.size(); i += 8) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      for (std::size_t k = 0; k < 8 && i + k < out.size(); ++k) {
        out[i + k] = static_cast<std::uint8_t>(state_ >> (8 * k));
      }
    }
  }

 private:
  std::uint64_t state_;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "soma-unixfs-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Writes `size` deterministic bytes to `file` and returns DagBuilder's CID
// for them, fed in pieces that straddle chunk boundaries.
std::string write_and_build(const fs::path& file, std::uint64_t size, std::uint64_t seed) {
  std::ofstream out(file, std::ios::binary);
  Noise noise(seed);
  DagBuilder builder;
  core::Bytes piece(100'003);
  for (std::uint64_t left = size; left > 0;) {
    piece.resize(static_cast<std::size_t>(std::min<std::uint64_t>(left, 100'003)));
    noise.fill(piece);
    out.write(reinterpret_cast<const char*>(piece.data()),
              static_cast<std::streamsize>(piece.size()));
    builder.update(piece);
    left -= piece.size();
  }
  out.close();
  EXPECT_TRUE(out.good()) << "cannot write " << file;
  return builder.finish().root.to_string();
}

// Runs the reference importer; returns path -> CID, or an explanation.
std::map<std::string, std::string> ipfs_cids(const std::vector<fs::path>& files,
                                             std::string& failure) {
  std::map<std::string, std::string> out;
  if (!fs::exists(kInteropDir / "node_modules" / "ipfs-unixfs-importer")) {
    failure = "IPFS's importer is not installed: run npm ci in tests/interop (" +
              kInteropDir.string() + ")";
    return out;
  }
  std::string cmd = "cd '" + kInteropDir.string() + "' && node unixfs/cids.mjs";
  for (const auto& f : files) cmd += " '" + f.string() + "'";
  cmd += " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    failure = "cannot run node";
    return out;
  }
  std::string text;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  int status = pclose(pipe);
  if (status != 0) {
    failure =
        "node unixfs/cids.mjs failed (is Node 18+ installed? run npm ci in tests/interop): " + text;
    return out;
  }
  std::istringstream lines(text);
  std::string path, cid;
  while (lines >> path >> cid) out[path] = cid;
  return out;
}

TEST(UnixfsInterop, soma_dag_cids_match_the_ipfs_importer) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::vector<std::uint64_t> sizes = {
      0,                       // one empty raw block
      1,                       // one raw block
      kChunkSize,              // exactly one chunk
      kChunkSize + 1,          // a root over two leaves
      5 * (1u << 20) + 12345,  // twenty-one leaves
      174 * kChunkSize + 1,    // one link too many for a node: two levels
  };

  std::vector<fs::path> files;
  std::map<std::string, std::string> ours;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    fs::path f = tmp.path() / ("file-" + std::to_string(sizes[i]) + ".bin");
    ours[f.string()] = write_and_build(f, sizes[i], 1000 + i);
    files.push_back(f);
  }

  std::string failure;
  auto theirs = ipfs_cids(files, failure);
  ASSERT_TRUE(failure.empty()) << failure;
  ASSERT_EQ(theirs.size(), files.size());
  for (const auto& [path, cid] : ours) {
    ASSERT_TRUE(theirs.contains(path)) << "the importer printed no CID for " << path;
    EXPECT_EQ(cid, theirs[path]) << "for " << path;
  }
}

TEST(UnixfsInterop, soma_blob_store_names_an_upload_as_the_ipfs_importer_does) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  fs::path file = tmp.path() / "upload.bin";
  write_and_build(file, 3 * kChunkSize + 77, 42);

  auto db = store::Database::open(tmp.path() / "soma.db", store::daemon_migrations());
  ASSERT_TRUE(db.ok()) << db.error().message;
  store::EventLog events(**db);
  ASSERT_TRUE((*db)
                  ->exec("INSERT INTO spaces (id, name, owner, created_ms, updated_ms) "
                         "VALUES ('s', 's', 'me', 1, 1)")
                  .ok());
  auto blobs = BlobStore::open(tmp.path() / "blobs", **db, events, Limits{});
  ASSERT_TRUE(blobs.ok()) << blobs.error().message;

  std::ifstream in(file, std::ios::binary);
  core::Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto up = (*blobs)->begin_upload("s", bytes.size(), std::nullopt, "upload.bin");
  ASSERT_TRUE(up.ok()) << up.error().message;
  ASSERT_TRUE((*up)->write(bytes).ok());
  auto info = (*up)->finish();
  ASSERT_TRUE(info.ok()) << info.error().message;

  std::string failure;
  auto theirs = ipfs_cids({file}, failure);
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(info->cid, theirs[file.string()]);
}

}  // namespace
}  // namespace soma::blob
