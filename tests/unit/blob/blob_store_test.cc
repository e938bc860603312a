#include "blob/blob_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "blob/cid.h"
#include "blob/dag_builder.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/migrations.h"

namespace soma::blob {
namespace {

namespace fs = std::filesystem;
using core::ErrorCode;

constexpr const char* kHelloWorld = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
constexpr const char* kEmpty = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

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

// A BlobStore over a real database and event log in a fresh temporary
// directory, with two spaces, removed afterwards.
class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-blob-XXXXXX").string();
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

  Result<BlobInfo> upload(const std::string& space, core::ByteView data,
                          std::size_t piece = 100'000,
                          const std::optional<std::string>& expected = std::nullopt) {
    auto up = store_->begin_upload(space, data.size(), expected, "file.bin");
    if (!up) return up.take_error();
    while (!data.empty()) {
      std::size_t take = std::min(piece, data.size());
      auto w = (*up)->write(data.first(take));
      if (!w) return w.take_error();
      data = data.subspan(take);
    }
    return (*up)->finish();
  }

  core::Bytes read_all(const std::string& cid, std::uint64_t offset = 0, std::uint64_t length = 0) {
    core::Bytes out;
    auto s = store_->read(cid, offset, length, [&](core::ByteView d, std::uint64_t at) -> Status {
      EXPECT_EQ(at, offset + out.size());
      EXPECT_LE(d.size(), kChunkSize);
      core::append(out, d);
      return {};
    });
    EXPECT_TRUE(s.ok()) << s.error().message;
    return out;
  }

  fs::path blob_file(const std::string& cid) const {
    return blob_dir_ / cid.substr(cid.size() - 2) / cid;
  }

  // Regular files under the blob directory, temporary ones included.
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
    EXPECT_EQ(store_->blob_count(), 0u);
  }

  void corrupt(const fs::path& file, std::uint64_t at) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
  }

  fs::path root_;
  fs::path blob_dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::EventLog> events_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, stores_reads_and_verifies_a_blob_of_several_chunks) {
  core::Bytes data = random_bytes(3 * kChunkSize + 4321, 1);
  auto info = upload("space-a", data, 77'777);
  ASSERT_TRUE(info.ok()) << info.error().message;

  EXPECT_EQ(info->cid, cid_of(data));
  EXPECT_TRUE(info->cid.starts_with("bafybei"));
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(info->block_count, 5u);  // four leaves and the root
  EXPECT_EQ(info->space_ids, std::vector<std::string>{"space-a"});
  EXPECT_TRUE(fs::exists(blob_file(info->cid)));
  EXPECT_EQ(fs::file_size(blob_file(info->cid)), data.size());
  EXPECT_TRUE(fs::is_empty(blob_dir_ / "tmp"));

  EXPECT_EQ(read_all(info->cid), data);
  // A range across a chunk boundary.
  core::Bytes range = read_all(info->cid, kChunkSize - 10, 20);
  EXPECT_EQ(range, core::Bytes(data.begin() + kChunkSize - 10, data.begin() + kChunkSize + 10));
  // A length past the end stops at the end.
  EXPECT_EQ(read_all(info->cid, data.size() - 5, 1000).size(), 5u);

  auto report = store_->verify({});
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->checked, 1u);
  EXPECT_EQ(report->bytes_checked, data.size());
  EXPECT_EQ(store_->blob_count(), 1u);
  EXPECT_EQ(store_->total_bytes(), data.size());
}

TEST_F(BlobStoreTest, names_small_and_empty_blobs_as_ipfs_does) {
  auto hello = upload("space-a", core::as_bytes("hello world\n"));
  ASSERT_TRUE(hello.ok()) << hello.error().message;
  EXPECT_EQ(hello->cid, kHelloWorld);
  EXPECT_EQ(hello->block_count, 1u);
  auto text = read_all(kHelloWorld);
  EXPECT_EQ(std::string(text.begin(), text.end()), "hello world\n");

  auto empty = upload("space-a", {});
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->cid, kEmpty);
  EXPECT_TRUE(read_all(kEmpty).empty());
  auto report = store_->verify({kHelloWorld, kEmpty});
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->checked, 2u);
}

TEST_F(BlobStoreTest, records_one_event_per_new_space_link) {
  core::Bytes data = random_bytes(1000, 2);
  auto first = upload("space-a", data);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto events = events_->list_after(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "blob.added");
  EXPECT_EQ((*events)[0].space_id, "space-a");
  EXPECT_EQ((*events)[0].subject, first->cid);
  EXPECT_EQ((*events)[0].detail, "file.bin (1000 bytes)");

  // The same bytes again in the same space change nothing.
  ASSERT_TRUE(upload("space-a", data).ok());
  EXPECT_EQ(events_->last_id(), (*events)[0].id);
}

TEST_F(BlobStoreTest, stores_identical_bytes_once_and_links_each_space) {
  core::Bytes data = random_bytes(kChunkSize + 5, 3);
  ASSERT_TRUE(upload("space-a", data).ok());
  auto again = upload("space-b", data);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->space_ids, (std::vector<std::string>{"space-a", "space-b"}));
  EXPECT_EQ(store_->blob_count(), 1u);
  EXPECT_EQ(file_count(), 1u);
  EXPECT_TRUE(store_->space_has("space-b", again->cid));
  EXPECT_EQ(*store_->space_usage("space-b"), data.size());

  auto other = upload("space-b", core::as_bytes("hello world\n"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*store_->space_usage("space-b"), data.size() + 12);
  EXPECT_EQ(*store_->space_usage("space-a"), data.size());
  auto listed = store_->list(std::string("space-a"));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].cid, again->cid);
  EXPECT_EQ(store_->list(std::nullopt)->size(), 2u);
}

TEST_F(BlobStoreTest, rejects_truncated_upload) {
  auto up = store_->begin_upload("space-a", 100, std::nullopt, "");
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->write(random_bytes(60, 4)).ok());
  EXPECT_EQ((*up)->received(), 60u);
  auto info = (*up)->finish();
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(info.error().message, "truncated upload: received 60 of 100 bytes; nothing was stored");
  expect_nothing_stored();
  EXPECT_EQ((*up)->finish().error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(BlobStoreTest, rejects_bytes_that_do_not_hash_to_the_expected_cid) {
  core::Bytes data = random_bytes(500, 5);
  auto info = upload("space-a", data, 100, std::string(kHelloWorld));
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(info.error().message, "uploaded bytes hash to " + cid_of(data) + ", not " +
                                      kHelloWorld + "; nothing was stored");
  expect_nothing_stored();

  auto good = upload("space-a", core::as_bytes("hello world\n"), 3, std::string(kHelloWorld));
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->cid, kHelloWorld);
}

TEST_F(BlobStoreTest, rejects_an_expected_cid_that_cannot_name_the_declared_size) {
  auto big = store_->begin_upload("space-a", kChunkSize + 1, std::string(kHelloWorld), "");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  auto bad = store_->begin_upload("space-a", 10, std::string("QmNotAV1Cid"), "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  expect_nothing_stored();
}

TEST_F(BlobStoreTest, rejects_writes_past_the_declared_size) {
  auto up = store_->begin_upload("space-a", 10, std::nullopt, "");
  ASSERT_TRUE(up.ok());
  ASSERT_TRUE((*up)->write(random_bytes(8, 6)).ok());
  auto w = (*up)->write(random_bytes(3, 7));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ((*up)->finish().error().code, ErrorCode::kFailedPrecondition);
  expect_nothing_stored();
}

TEST_F(BlobStoreTest, rejects_a_blob_over_the_size_limit_before_writing) {
  Limits limits;
  limits.max_blob_bytes = 1000;
  reopen(limits);
  auto up = store_->begin_upload("space-a", 1001, std::nullopt, "");
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().code, ErrorCode::kResourceExhausted);
  expect_nothing_stored();
  EXPECT_TRUE(store_->begin_upload("space-a", 1000, std::nullopt, "").ok());
}

TEST_F(BlobStoreTest, rejects_upload_over_the_space_quota) {
  Limits limits;
  limits.space_quota_bytes = 1'000'000;
  reopen(limits);
  core::Bytes first = random_bytes(600'000, 8);
  core::Bytes second = random_bytes(600'000, 9);
  ASSERT_TRUE(upload("space-a", first).ok());

  // Refused up front when the declared size cannot fit.
  auto up = store_->begin_upload("space-a", second.size(), std::nullopt, "");
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().code, ErrorCode::kResourceExhausted);

  // Bytes the space already holds cost nothing more.
  ASSERT_TRUE(upload("space-a", first, 100'000, cid_of(first)).ok());
  EXPECT_EQ(*store_->space_usage("space-a"), first.size());
  // Another space has its own quota.
  ASSERT_TRUE(upload("space-b", second).ok());
  EXPECT_EQ(store_->blob_count(), 2u);
}

TEST_F(BlobStoreTest, rejects_at_finish_an_upload_that_no_longer_fits_the_quota) {
  Limits limits;
  limits.space_quota_bytes = 1'000'000;
  reopen(limits);
  core::Bytes first = random_bytes(600'000, 10);
  core::Bytes second = random_bytes(600'000, 11);

  // Both fit when they begin; only the first fits when they finish.
  auto a = store_->begin_upload("space-a", first.size(), std::nullopt, "");
  auto b = store_->begin_upload("space-a", second.size(), std::nullopt, "");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->write(first).ok());
  ASSERT_TRUE((*b)->write(second).ok());
  ASSERT_TRUE((*a)->finish().ok());
  auto late = (*b)->finish();
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kResourceExhausted);

  EXPECT_FALSE(fs::exists(blob_file(cid_of(second))));
  EXPECT_EQ(file_count(), 1u);
  EXPECT_EQ(rows("blobs"), 1);
  EXPECT_EQ(*store_->space_usage("space-a"), first.size());
}

TEST_F(BlobStoreTest, rejects_upload_to_a_missing_space) {
  auto up = store_->begin_upload("no-such-space", 10, std::nullopt, "");
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.error().code, ErrorCode::kNotFound);
  expect_nothing_stored();
}

TEST_F(BlobStoreTest, leaves_nothing_when_an_upload_is_dropped_midway) {
  {
    auto up = store_->begin_upload("space-a", kChunkSize * 2, std::nullopt, "");
    ASSERT_TRUE(up.ok());
    ASSERT_TRUE((*up)->write(random_bytes(kChunkSize + 1, 12)).ok());
    EXPECT_EQ(file_count(), 1u);  // the temporary file
  }
  expect_nothing_stored();
}

TEST_F(BlobStoreTest, detects_a_corrupted_file_on_read_before_serving_its_chunk) {
  core::Bytes data = random_bytes(3 * kChunkSize, 13);
  auto info = upload("space-a", data);
  ASSERT_TRUE(info.ok());
  corrupt(blob_file(info->cid), kChunkSize + 1000);

  core::Bytes served;
  auto s = store_->read(info->cid, 0, 0, [&](core::ByteView d, std::uint64_t) -> Status {
    core::append(served, d);
    return {};
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(s.error().message.find(info->cid), std::string::npos);
  EXPECT_NE(s.error().message.find("chunk 1"), std::string::npos) << s.error().message;
  // Only the intact first chunk went out.
  EXPECT_EQ(served, core::Bytes(data.begin(), data.begin() + kChunkSize));
  // Chunks that are intact still read.
  EXPECT_EQ(read_all(info->cid, 2 * kChunkSize, 10).size(), 10u);

  auto report = store_->verify({info->cid});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 2u);
  EXPECT_EQ(report->problems[0].cid, info->cid);
  EXPECT_NE(report->problems[0].problem.find("chunk(s) do not match their digests: 1"),
            std::string::npos)
      << report->problems[0].problem;
  EXPECT_NE(report->problems[1].problem.find("not the blob's CID"), std::string::npos);
}

TEST_F(BlobStoreTest, repairs_a_damaged_copy_when_the_same_bytes_arrive_again) {
  core::Bytes data = random_bytes(kChunkSize + 10, 16);
  auto info = upload("space-a", data);
  ASSERT_TRUE(info.ok());
  corrupt(blob_file(info->cid), 5);
  ASSERT_FALSE(store_->verify({info->cid})->problems.empty());

  auto again = upload("space-b", data);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(store_->verify({info->cid})->problems.empty());
  EXPECT_EQ(read_all(info->cid), data);
  EXPECT_TRUE(fs::is_empty(blob_dir_ / "tmp"));
}

TEST_F(BlobStoreTest, verify_reports_missing_and_resized_files) {
  auto a = upload("space-a", random_bytes(1000, 14));
  auto b = upload("space-a", random_bytes(2000, 15));
  ASSERT_TRUE(a.ok() && b.ok());
  fs::remove(blob_file(a->cid));
  fs::resize_file(blob_file(b->cid), 1999);

  auto report = store_->verify({});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 2u);
  for (const auto& p : report->problems) {
    if (p.cid == a->cid) {
      EXPECT_EQ(p.problem, "file is missing");
    } else {
      EXPECT_EQ(p.cid, b->cid);
      EXPECT_EQ(p.problem, "file is 1999 bytes; the record says 2000");
    }
  }
  auto missing =
      store_->read(a->cid, 0, 0, [](core::ByteView, std::uint64_t) -> Status { return {}; });
  EXPECT_EQ(missing.error().code, ErrorCode::kDataLoss);
}

TEST_F(BlobStoreTest, removes_leftover_files_on_reopen) {
  ASSERT_TRUE(upload("space-a", core::as_bytes("hello world\n")).ok());

  // A crash mid-upload leaves a temporary file; one between rename and
  // commit leaves a blob file without a record.
  std::ofstream(blob_dir_ / "tmp" / "deadbeef.part") << "partial";
  std::string orphan = cid_of(core::as_bytes("orphan"));
  fs::create_directories(blob_file(orphan).parent_path());
  std::ofstream(blob_file(orphan)) << "orphan";
  std::ofstream(blob_dir_ / "README") << "not ours";

  reopen(Limits{});
  EXPECT_TRUE(fs::is_empty(blob_dir_ / "tmp"));
  EXPECT_FALSE(fs::exists(blob_file(orphan)));
  EXPECT_TRUE(fs::exists(blob_file(kHelloWorld)));
  EXPECT_TRUE(fs::exists(blob_dir_ / "README"));

  auto report = store_->verify({});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->leftovers_removed, 2u);
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(store_->verify({})->leftovers_removed, 0u);
}

TEST_F(BlobStoreTest, verify_reports_a_blob_file_without_a_record) {
  std::string orphan = cid_of(core::as_bytes("orphan"));
  fs::create_directories(blob_file(orphan).parent_path());
  std::ofstream(blob_file(orphan)) << "orphan";
  auto report = store_->verify({});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].cid, orphan);
  EXPECT_EQ(report->problems[0].problem, "file has no record");
}

TEST_F(BlobStoreTest, rejects_bad_read_requests) {
  auto info = upload("space-a", core::as_bytes("hello world\n"));
  ASSERT_TRUE(info.ok());
  auto none = [](core::ByteView, std::uint64_t) -> Status { return {}; };
  EXPECT_EQ(store_->read(kHelloWorld, 13, 0, none).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->read(kEmpty, 0, 0, none).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->read("not-a-cid", 0, 0, none).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->get(kEmpty).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->get("Qmfoo").error().code, ErrorCode::kInvalidArgument);

  auto stopped = store_->read(kHelloWorld, 0, 0, [](core::ByteView, std::uint64_t) -> Status {
    return core::Error::cancelled("client went away");
  });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace soma::blob
