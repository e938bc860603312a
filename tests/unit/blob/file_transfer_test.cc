// BlobStore::import_file and export_file: the store reading a caller's
// file and writing a blob into one, on its transfer threads.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "blob/blob_store.h"
#include "blob/chunk_copy.h"
#include "blob/dag_builder.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/migrations.h"

namespace soma::blob {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;

core::Bytes random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  core::Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

std::string cid_of(core::ByteView data) {
  DagBuilder b;
  b.update(data);
  return b.finish().root.to_string();
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class FileTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-xfer-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    blob_dir_ = root_ / "blobs";
    auto db = store::Database::open(root_ / "soma.db", store::daemon_migrations());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    events_ = std::make_unique<store::EventLog>(*db_);
    for (const char* id : {"space-a", "space-b"}) {
      auto stmt = db_->prepare(
          "INSERT INTO spaces (id, name, owner, created_ms, updated_ms) VALUES (?, ?, 'me', 1, 1)");
      ASSERT_TRUE(stmt.ok());
      stmt->bind(1, id).bind(2, id);
      ASSERT_TRUE(stmt->run().ok());
    }
    reopen(Limits{});
  }

  void TearDown() override {
    store_.reset();
    events_.reset();
    db_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void reopen(Limits limits) {
    store_.reset();
    auto s = BlobStore::open(blob_dir_, *db_, *events_, limits);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }

  fs::path write_source(const std::string& name, core::ByteView data) {
    fs::path p = root_ / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    return p;
  }

  Result<BlobInfo> import(const fs::path& path, std::uint64_t size,
                          const BlobStore::TransferProgress& progress = {},
                          const std::string& space = "space-a",
                          const std::optional<std::string>& expected = std::nullopt) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    EXPECT_GE(fd.get(), 0);
    return store_->import_file(fd.get(), space, size, expected, path.filename().string(), progress);
  }

  Result<BlobInfo> stream(const std::string& space, core::ByteView data) {
    auto up = store_->begin_upload(space, data.size(), std::nullopt, "streamed");
    if (!up) return up.take_error();
    for (std::size_t at = 0; at < data.size(); at += 1 << 20) {
      auto w = (*up)->write(data.subspan(at, std::min<std::size_t>(1 << 20, data.size() - at)));
      if (!w) return w.take_error();
    }
    return (*up)->finish();
  }

  // Exports into a new empty file; returns its bytes.
  Result<std::uint64_t> export_to(const std::string& cid, const fs::path& path,
                                  const BlobStore::TransferProgress& progress = {}) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    EXPECT_GE(fd.get(), 0);
    return store_->export_file(cid, fd.get(), progress);
  }

  static core::Bytes read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return core::Bytes(std::istreambuf_iterator<char>(in), {});
  }

  std::size_t file_count() const {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(blob_dir_)) n += e.is_regular_file();
    return n;
  }

  std::int64_t rows(const std::string& table) {
    auto stmt = db_->prepare("SELECT count(*) FROM " + table);
    EXPECT_TRUE(stmt.ok());
    auto row = stmt->step();
    EXPECT_TRUE(row.ok() && *row);
    return stmt->column_int64(0);
  }

  void expect_nothing_stored() {
    EXPECT_EQ(file_count(), 0u);
    EXPECT_EQ(rows("blobs"), 0);
    EXPECT_EQ(rows("space_blobs"), 0);
    EXPECT_EQ(rows("events"), 0);
  }

  fs::path root_;
  fs::path blob_dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::EventLog> events_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(FileTransferTest, imports_and_exports_files_with_the_cids_the_streaming_path_gives) {
  const std::vector<std::size_t> sizes = {
      0, 1, kChunkSize, kChunkSize + 1, (3u << 20) + 123, kCopyBatchChunks * kChunkSize + 1};
  std::uint32_t seed = 100;
  for (std::size_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    core::Bytes data = random_bytes(size, ++seed);
    fs::path source = write_source("in-" + std::to_string(size), data);

    std::vector<std::uint64_t> seen;
    auto imported = import(source, size, [&](std::uint64_t done) -> Status {
      seen.push_back(done);
      return {};
    });
    ASSERT_TRUE(imported.ok()) << imported.error().message;
    EXPECT_EQ(imported->cid, cid_of(data));
    EXPECT_EQ(imported->size, size);
    EXPECT_EQ(imported->space_ids, std::vector<std::string>{"space-a"});
    // One report per batch, rising to the whole file.
    ASSERT_EQ(seen.size(), (dag_leaf_count(size) + kCopyBatchChunks - 1) / kCopyBatchChunks);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    EXPECT_EQ(seen.back(), size);

    // The streaming path names the same bytes identically and finds them stored.
    auto streamed = stream("space-b", data);
    ASSERT_TRUE(streamed.ok()) << streamed.error().message;
    EXPECT_EQ(streamed->cid, imported->cid);

    fs::path out = root_ / ("out-" + std::to_string(size));
    auto written = export_to(imported->cid, out);
    ASSERT_TRUE(written.ok()) << written.error().message;
    EXPECT_EQ(*written, size);
    EXPECT_EQ(read_bytes(out), data);
  }
  EXPECT_EQ(store_->blob_count(), sizes.size());
  EXPECT_TRUE(fs::is_empty(blob_dir_ / "tmp"));
  auto report = store_->verify({});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty());
}

TEST_F(FileTransferTest, refuses_to_import_what_is_not_a_regular_file) {
  fs::path fifo = root_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Fd fifo_fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  Fd dir_fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  Fd zero_fd(::open("/dev/zero", O_RDONLY | O_CLOEXEC));
  for (int fd : {fifo_fd.get(), dir_fd.get(), zero_fd.get()}) {
    ASSERT_GE(fd, 0);
    auto info = store_->import_file(fd, "space-a", 0, std::nullopt, "thing", {});
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(info.error().message,
              "thing is not a regular file; only regular files can be imported");
  }
  expect_nothing_stored();
}

TEST_F(FileTransferTest, refuses_to_export_into_what_is_not_an_empty_regular_file) {
  core::Bytes data = random_bytes(1000, 1);
  auto info = import(write_source("in", data), data.size());
  ASSERT_TRUE(info.ok()) << info.error().message;

  Fd null_fd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto to_null = store_->export_file(info->cid, null_fd.get(), {});
  ASSERT_FALSE(to_null.ok());
  EXPECT_EQ(to_null.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(to_null.error().message,
            "the export file is not a regular file; blobs are exported only into regular files");

  fs::path taken = write_source("taken", core::as_bytes("keep me"));
  auto over = export_to(info->cid, taken);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(over.error().message,
            "the export file is not empty (7 bytes); blobs are exported only into a new, empty "
            "file");
  auto kept = read_bytes(taken);
  EXPECT_EQ(std::string(kept.begin(), kept.end()), "keep me");

  auto missing = export_to(cid_of(core::as_bytes("never stored")), root_ / "none");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(FileTransferTest, refuses_a_file_whose_size_is_not_the_one_the_caller_saw) {
  fs::path source = write_source("in", random_bytes(5000, 2));
  auto info = import(source, 4000);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(info.error().message,
            "in is 5000 bytes, not the 4000 it had a moment ago; it is changing; nothing was "
            "stored");
  expect_nothing_stored();
}

TEST_F(FileTransferTest, refuses_a_file_that_grows_while_imported_and_stores_nothing) {
  fs::path source = write_source("in", random_bytes(3 * kChunkSize, 3));
  auto info = import(source, 3 * kChunkSize, [&](std::uint64_t) -> Status {
    std::ofstream(source, std::ios::binary | std::ios::app) << "more";
    return {};
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(info.error().message, "in grew while being imported; nothing was stored; try again once it stops changing");
  expect_nothing_stored();
}

TEST_F(FileTransferTest, refuses_a_file_that_shrinks_while_imported_and_stores_nothing) {
  // Cut after the first of two batches: the second batch comes up short.
  std::size_t size = kCopyBatchChunks * kChunkSize + 5000;
  fs::path source = write_source("in", random_bytes(size, 4));
  auto info = import(source, size, [&](std::uint64_t) -> Status {
    fs::resize_file(source, kCopyBatchChunks * kChunkSize + 10);
    return {};
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(info.error().message, "in shrank while being imported; nothing was stored; try again once it stops changing");
  expect_nothing_stored();

  // Cut after the last batch: the end check finds it.
  fs::path small = write_source("small", random_bytes(1000, 5));
  auto late = import(small, 1000, [&](std::uint64_t) -> Status {
    fs::resize_file(small, 10);
    return {};
  });
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().message, "small shrank while being imported; nothing was stored; try again once it stops changing");
  expect_nothing_stored();
}

TEST_F(FileTransferTest, refuses_a_file_modified_in_place_while_imported) {
  fs::path source = write_source("in", random_bytes(2000, 6));
  // An old modification time, so the rewrite below surely changes it.
  struct timespec old[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, source.c_str(), old, 0), 0);
  auto info = import(source, 2000, [&](std::uint64_t) -> Status {
    std::fstream f(source, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('x');
    return {};
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(info.error().message, "in was modified while being imported; nothing was stored; try again once it stops changing");
  expect_nothing_stored();
}

TEST_F(FileTransferTest, stops_an_import_when_progress_says_the_caller_went_away) {
  std::size_t size = 2 * kCopyBatchChunks * kChunkSize;
  fs::path source = write_source("in", random_bytes(size, 7));
  int calls = 0;
  auto info = import(source, size, [&](std::uint64_t) -> Status {
    ++calls;
    return core::Error::cancelled("the client went away");
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(calls, 1);
  expect_nothing_stored();
}

TEST_F(FileTransferTest, checks_limits_quota_space_and_expected_cid_before_reading) {
  core::Bytes data = random_bytes(600'000, 8);
  fs::path source = write_source("in", data);
  bool read_any = false;
  auto progress = [&](std::uint64_t) -> Status {
    read_any = true;
    return {};
  };

  Limits small;
  small.max_blob_bytes = 500'000;
  reopen(small);
  auto too_big = import(source, data.size(), progress);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::kResourceExhausted);

  Limits quota;
  quota.space_quota_bytes = 500'000;
  reopen(quota);
  auto over_quota = import(source, data.size(), progress);
  ASSERT_FALSE(over_quota.ok());
  EXPECT_EQ(over_quota.error().code, ErrorCode::kResourceExhausted);

  reopen(Limits{});
  auto no_space = import(source, data.size(), progress, "no-such-space");
  ASSERT_FALSE(no_space.ok());
  EXPECT_EQ(no_space.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(read_any);
  expect_nothing_stored();

  // A wrong expected CID is found once the bytes are hashed.
  std::string other = cid_of(random_bytes(600'000, 9));
  auto wrong = import(source, data.size(), {}, "space-a", other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(wrong.error().message,
            "in hashes to " + cid_of(data) + ", not " + other + "; nothing was stored");
  expect_nothing_stored();
  auto right = import(source, data.size(), {}, "space-a", cid_of(data));
  ASSERT_TRUE(right.ok()) << right.error().message;
  EXPECT_EQ(rows("events"), 1);
}

TEST_F(FileTransferTest, export_writes_no_chunk_that_fails_its_digest_and_leaves_the_file_empty) {
  core::Bytes data = random_bytes(3 * kChunkSize, 10);
  auto info = import(write_source("in", data), data.size());
  ASSERT_TRUE(info.ok()) << info.error().message;
  fs::path stored = blob_dir_ / info->cid.substr(info->cid.size() - 2) / info->cid;
  {
    std::fstream f(stored, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(kChunkSize + 7));
    f.put(static_cast<char>(data[kChunkSize + 7] ^ 0x01));
  }
  fs::path out = root_ / "out";
  auto written = export_to(info->cid, out);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(written.error().message, "blob " + info->cid +
                                         " chunk 1 does not match its digest; the stored copy "
                                         "is corrupt");
  EXPECT_EQ(fs::file_size(out), 0u);
}

TEST_F(FileTransferTest, export_stopped_by_progress_leaves_the_file_empty) {
  core::Bytes data = random_bytes(2 * kCopyBatchChunks * kChunkSize, 11);
  auto info = import(write_source("in", data), data.size());
  ASSERT_TRUE(info.ok()) << info.error().message;
  fs::path out = root_ / "out";
  auto written = export_to(info->cid, out, [](std::uint64_t done) -> Status {
    EXPECT_EQ(done, kCopyBatchChunks * kChunkSize);
    return core::Error::cancelled("the client went away");
  });
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(fs::file_size(out), 0u);
}

TEST_F(FileTransferTest, imports_several_files_at_once) {
  constexpr int kFiles = 4;
  std::vector<core::Bytes> data;
  std::vector<fs::path> paths;
  for (int i = 0; i < kFiles; ++i) {
    data.push_back(random_bytes(kChunkSize * (5 + static_cast<std::size_t>(i)) + 17,
                                static_cast<std::uint32_t>(20 + i)));
    paths.push_back(write_source("in" + std::to_string(i), data.back()));
  }
  std::vector<std::optional<Result<BlobInfo>>> results(kFiles);
  std::vector<std::thread> threads;
  for (int i = 0; i < kFiles; ++i) {
    threads.emplace_back([&, i] {
      auto idx = static_cast<std::size_t>(i);
      results[idx] = import(paths[idx], data[idx].size());
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(results[i]->ok()) << results[i]->error().message;
    EXPECT_EQ((*results[i])->cid, cid_of(data[i]));
  }
  EXPECT_EQ(store_->blob_count(), static_cast<std::uint64_t>(kFiles));
}

TEST(WorkerPool, runs_every_piece_exactly_once_for_concurrent_callers) {
  WorkerPool pool(3);
  EXPECT_EQ(pool.threads(), 4u);
  constexpr std::size_t kCallers = 6;
  constexpr std::size_t kPieces = 200;
  std::vector<std::vector<int>> counts(kCallers, std::vector<int>(kPieces, 0));
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < 20; ++round) {
        pool.run(kPieces, [&](std::size_t i, std::size_t slot) {
          EXPECT_LT(slot, 4u);
          ++counts[c][i];
        });
      }
    });
  }
  for (auto& t : callers) t.join();
  for (const auto& per_caller : counts) {
    for (int n : per_caller) EXPECT_EQ(n, 20);
  }
}

TEST(WorkerPool, runs_everything_on_the_caller_without_helpers) {
  WorkerPool pool(0);
  std::vector<std::size_t> order;
  pool.run(5, [&](std::size_t i, std::size_t slot) {
    EXPECT_EQ(slot, 0u);
    order.push_back(i);
  });
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace soma::blob
