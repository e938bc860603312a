#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "blob/blob_store.h"
#include "space/space_service.h"
#include "store/database.h"
#include "store/event_log.h"
#include "store/migrations.h"

namespace soma::space::testing {

inline constexpr const char* kLocalPeer = "12D3KooWLocalPeerOfTheSpaceTests";
inline constexpr std::uint64_t kQuotaBytes = 8u << 20;

// A SpaceService over a real database, event log and blob store in a fresh
// temporary directory, removed afterwards.
class SpaceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "soma-space-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;

    auto db = store::Database::open(dir_ / "soma.db", store::daemon_migrations());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
    events_ = std::make_unique<store::EventLog>(*db_);

    blob::Limits limits;
    limits.space_quota_bytes = kQuotaBytes;
    auto blobs = blob::BlobStore::open(dir_ / "blobs", *db_, *events_, limits);
    ASSERT_TRUE(blobs.ok()) << blobs.error().message;
    blobs_ = std::move(*blobs);
    service_ = std::make_unique<SpaceService>(*db_, *events_, *blobs_, kLocalPeer);
  }

  void TearDown() override {
    service_.reset();
    blobs_.reset();
    events_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Space make_space(const std::string& name) {
    auto s = service_->create_space(name);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? *s : Space{};
  }

  Page make_page(const std::string& space, const std::string& title,
                 const std::string& parent_id = "",
                 std::optional<std::int64_t> position = std::nullopt,
                 PageKind kind = PageKind::kNote) {
    NewPage p;
    p.space = space;
    p.parent_id = parent_id;
    p.title = title;
    p.kind = kind;
    p.position = position;
    auto page = service_->create_page(p);
    EXPECT_TRUE(page.ok()) << page.error().message;
    return page.ok() ? *page : Page{};
  }

  // Uploads `content` into the space through the real blob store.
  std::string upload(const std::string& space_id, const std::string& content) {
    auto up = blobs_->begin_upload(space_id, content.size(), std::nullopt, "test.bin");
    EXPECT_TRUE(up.ok()) << up.error().message;
    if (!up.ok()) return {};
    auto w = (*up)->write(core::as_bytes(content));
    EXPECT_TRUE(w.ok()) << w.error().message;
    auto info = (*up)->finish();
    EXPECT_TRUE(info.ok()) << info.error().message;
    return info.ok() ? info->cid : std::string();
  }

  // How many rows of `table` match `where` (an SQL condition with one ?).
  std::int64_t rows(const std::string& table, const std::string& where, const std::string& arg) {
    auto stmt = db_->prepare("SELECT count(*) FROM " + table + " WHERE " + where);
    EXPECT_TRUE(stmt.ok());
    if (!stmt.ok()) return -1;
    stmt->bind(1, arg);
    auto row = stmt->step();
    EXPECT_TRUE(row.ok() && *row);
    return stmt->column_int64(0);
  }

  std::vector<store::Event> events_after(std::uint64_t id) {
    auto list = events_->list_after(id, 1000);
    EXPECT_TRUE(list.ok());
    return list.ok() ? *list : std::vector<store::Event>{};
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::EventLog> events_;
  std::unique_ptr<blob::BlobStore> blobs_;
  std::unique_ptr<SpaceService> service_;
};

}  // namespace soma::space::testing
