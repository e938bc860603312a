// The request outbox over a real SQLite file: entries come back in due
// order, survive a reopen, are replaced by request id, and go with their
// request.
#include "store/request_outbox_repository.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "store/join_request_repository.h"
#include "store/migrations.h"

namespace soma::store {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'800'000'000'000;

class RequestOutboxRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "soma-outbox-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    db_.reset();
    fs::remove_all(dir_);
  }
  void reopen() {
    db_.reset();
    auto opened = Database::open(dir_ / "soma.db", daemon_migrations());
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    db_ = std::move(*opened);
  }

  void add_request(const std::string& id) {
    JoinRequestRecord r;
    r.id = id;
    r.direction = JoinDirection::kOutgoing;
    r.space_id = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
    r.role = "member";
    r.request = core::Bytes{1, 2, 3};
    r.created_ms = r.updated_ms = kNow;
    ASSERT_TRUE(JoinRequestRepository(*db_).insert(r).ok());
  }

  RequestOutboxItem item(const std::string& id, std::int64_t next) {
    RequestOutboxItem i;
    i.request_id = id;
    i.target = "/ip4/127.0.0.1/tcp/4001";
    i.next_attempt_ms = next;
    i.give_up_ms = kNow + 1000;
    i.created_ms = kNow;
    return i;
  }

  fs::path dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(RequestOutboxRepositoryTest, due_entries_come_back_earliest_first_and_survive_a_reopen) {
  add_request("a1");
  add_request("b2");
  add_request("c3");
  RequestOutboxRepository outbox(*db_);
  ASSERT_TRUE(outbox.put(item("a1", kNow + 30)).ok());
  ASSERT_TRUE(outbox.put(item("b2", kNow + 10)).ok());
  ASSERT_TRUE(outbox.put(item("c3", kNow + 99)).ok());

  reopen();
  RequestOutboxRepository again(*db_);
  auto due = again.due(kNow + 50, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].request_id, "b2");
  EXPECT_EQ((*due)[1].request_id, "a1");
  EXPECT_EQ((*due)[1].target, "/ip4/127.0.0.1/tcp/4001");
  EXPECT_EQ(again.due(kNow + 50, 1)->size(), 1u);
  EXPECT_EQ(**again.next_due(), kNow + 10);
  EXPECT_EQ(*again.size(), 3u);
}

TEST_F(RequestOutboxRepositoryTest, a_put_replaces_the_entry_and_removal_empties_the_outbox) {
  add_request("a1");
  RequestOutboxRepository outbox(*db_);
  ASSERT_TRUE(outbox.put(item("a1", kNow)).ok());
  RequestOutboxItem later = item("a1", kNow + 500);
  later.attempts = 3;
  later.last_error = "refused";
  ASSERT_TRUE(outbox.put(later).ok());
  auto found = outbox.find("a1");
  ASSERT_TRUE(found.ok() && *found);
  EXPECT_EQ((*found)->attempts, 3);
  EXPECT_EQ((*found)->next_attempt_ms, kNow + 500);
  EXPECT_EQ((*found)->last_error, "refused");
  EXPECT_EQ(*outbox.size(), 1u);

  EXPECT_TRUE(*outbox.remove("a1"));
  EXPECT_FALSE(*outbox.remove("a1"));
  EXPECT_FALSE(outbox.next_due()->has_value());
}

TEST_F(RequestOutboxRepositoryTest, an_entry_goes_with_its_request) {
  add_request("a1");
  RequestOutboxRepository outbox(*db_);
  ASSERT_TRUE(outbox.put(item("a1", kNow)).ok());
  ASSERT_TRUE(db_->exec("DELETE FROM join_requests WHERE id = 'a1'").ok());
  EXPECT_EQ(*outbox.size(), 0u);
  // And none can be queued for a request that does not exist.
  EXPECT_FALSE(outbox.put(item("zz", kNow)).ok());
}

}  // namespace
}  // namespace soma::store
