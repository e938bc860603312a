#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

using namespace std::chrono_literals;

void run_sql(const std::filesystem::path& db_file, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

TEST(DaemonLifecycle, a_second_daemon_on_the_same_data_dir_is_refused_and_the_first_keeps_running) {
  TempDir tmp;
  Daemon first(tmp / "data");
  ASSERT_TRUE(first.start()) << first.stderr_text();

  Daemon second(tmp / "data");
  EXPECT_FALSE(second.start());
  auto code = second.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "the second daemon did not exit";
  EXPECT_EQ(*code, 1);
  EXPECT_NE(second.stderr_text().find("already"), std::string::npos) << second.stderr_text();

  EXPECT_TRUE(first.running());
  auto status = first.soma({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
}

TEST(DaemonLifecycle, refuses_a_socket_directory_others_can_enter) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "data" / "run");
  chmod((tmp / "data").c_str(), 0700);
  chmod((tmp / "data" / "run").c_str(), 0755);

  Daemon daemon(tmp / "data");
  EXPECT_FALSE(daemon.start());
  auto code = daemon.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(daemon.stderr_text().find("0700"), std::string::npos) << daemon.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
}

TEST(DaemonLifecycle, serves_only_a_0600_socket_in_a_0700_directory_and_keeps_its_key_private) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  EXPECT_EQ(mode_of(daemon.socket_path()) & 0777, 0600u);
  EXPECT_EQ(mode_of(daemon.socket_path().parent_path()), 0700u);
  EXPECT_EQ(mode_of(tmp / "data" / "identity.key"), 0600u);
  EXPECT_EQ(mode_of(tmp / "data"), 0700u);
}

TEST(DaemonLifecycle, keeps_its_peer_id_across_restarts_and_exits_cleanly_on_sigterm) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto before = daemon.soma({"status", "--json"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  auto pos = before.out.find("12D3KooW");
  ASSERT_NE(pos, std::string::npos) << before.out;
  std::string peer_id = before.out.substr(pos, 52);

  EXPECT_EQ(daemon.stop_gracefully(), 0);
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));

  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto after = daemon.soma({"status", "--json"});
  EXPECT_NE(after.out.find(peer_id), std::string::npos) << after.out;
}

TEST(DaemonLifecycle, a_database_from_a_newer_version_stops_startup_before_any_socket) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  EXPECT_EQ(daemon.stop_gracefully(), 0);
  run_sql(tmp / "data" / "soma.db", "PRAGMA user_version=999");

  EXPECT_FALSE(daemon.start());
  auto code = daemon.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(daemon.stderr_text().find("999"), std::string::npos) << daemon.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
}

TEST(DaemonLifecycle, a_failing_migration_is_named_and_stops_startup_before_any_socket) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "data");
  chmod((tmp / "data").c_str(), 0700);
  // A stray table makes migration 1 fail half-way; it must roll back whole.
  run_sql(tmp / "data" / "soma.db", "CREATE TABLE documents (x INTEGER)");

  Daemon daemon(tmp / "data");
  EXPECT_FALSE(daemon.start());
  auto code = daemon.wait_exit(10s);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(daemon.stderr_text().find("migration 1"), std::string::npos) << daemon.stderr_text();
  EXPECT_FALSE(std::filesystem::exists(daemon.socket_path()));
}

}  // namespace
}  // namespace soma::testing
