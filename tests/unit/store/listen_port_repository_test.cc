#include "store/listen_port_repository.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "store/migrations.h"

namespace soma::store {
namespace {

namespace fs = std::filesystem;

class ListenPortRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void reopen() {
    db_.reset();
    auto db = Database::open(dir_ / "soma.db", daemon_migrations());
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = std::move(*db);
  }

  fs::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(ListenPortRepositoryTest, finds_nothing_for_an_address_never_saved) {
  ListenPortRepository ports(*db_);
  auto found = ports.find("/ip4/0.0.0.0/tcp/0");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(found->has_value());
}

TEST_F(ListenPortRepositoryTest, remembers_a_port_across_reopening_the_database) {
  {
    ListenPortRepository ports(*db_);
    ASSERT_TRUE(ports.save("/ip4/0.0.0.0/tcp/0", 40123, 1000).ok());
  }
  reopen();
  ListenPortRepository ports(*db_);
  auto found = ports.find("/ip4/0.0.0.0/tcp/0");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, 40123);
}

TEST_F(ListenPortRepositoryTest, saving_again_replaces_the_port_of_that_address_only) {
  ListenPortRepository ports(*db_);
  ASSERT_TRUE(ports.save("/ip4/0.0.0.0/tcp/0", 40123, 1000).ok());
  ASSERT_TRUE(ports.save("/ip6/::/tcp/0", 40999, 1000).ok());
  ASSERT_TRUE(ports.save("/ip4/0.0.0.0/tcp/0", 51000, 2000).ok());

  auto all = ports.list();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].listen_addr, "/ip4/0.0.0.0/tcp/0");
  EXPECT_EQ((*all)[0].port, 51000);
  EXPECT_EQ((*all)[0].updated_ms, 2000);
  EXPECT_EQ((*all)[1].listen_addr, "/ip6/::/tcp/0");
  EXPECT_EQ((*all)[1].port, 40999);
}

TEST_F(ListenPortRepositoryTest, refuses_port_zero_and_an_empty_address) {
  ListenPortRepository ports(*db_);
  auto zero = ports.save("/ip4/0.0.0.0/tcp/0", 0, 1000);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, core::ErrorCode::kInvalidArgument);
  auto empty = ports.save("", 4001, 1000);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, core::ErrorCode::kInvalidArgument);
  auto all = ports.list();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(ListenPortRepositoryTest, the_schema_rejects_a_port_out_of_range_written_by_hand) {
  auto status = db_->exec(
      "INSERT INTO listen_ports (listen_addr, port, updated_ms) "
      "VALUES ('/ip4/0.0.0.0/tcp/0', 70000, 1)");
  EXPECT_FALSE(status.ok());
  ListenPortRepository ports(*db_);
  auto found = ports.find("/ip4/0.0.0.0/tcp/0");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(ListenPortRepositoryTest, remove_forgets_the_address_and_reports_whether_it_was_known) {
  ListenPortRepository ports(*db_);
  ASSERT_TRUE(ports.save("/ip4/127.0.0.1/tcp/0", 40500, 1000).ok());
  auto removed = ports.remove("/ip4/127.0.0.1/tcp/0");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  auto again = ports.remove("/ip4/127.0.0.1/tcp/0");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto found = ports.find("/ip4/127.0.0.1/tcp/0");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

}  // namespace
}  // namespace soma::store
