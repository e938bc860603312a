#include <gtest/gtest.h>

#include "harness/soma_harness.h"

namespace soma::testing {
namespace {

TEST(CliExitCodes, an_unreachable_daemon_is_exit_4_with_a_hint) {
  TempDir tmp;
  Daemon absent(tmp / "nobody");
  auto r = absent.soma({"status"});
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("soma-daemon"), std::string::npos) << r.err;
}

TEST(CliExitCodes, usage_errors_are_exit_1_and_not_found_is_exit_2) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  EXPECT_EQ(daemon.soma({"no-such-command"}).exit_code, 1);
  EXPECT_EQ(daemon.soma({"space", "create"}).exit_code, 1);
  auto missing = daemon.soma({"space", "show", "nothing-here"});
  EXPECT_EQ(missing.exit_code, 2) << missing.out << missing.err;
  EXPECT_EQ(
      daemon.soma({"blob", "info", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"})
          .exit_code,
      2);
}

TEST(CliExitCodes, text_that_is_not_utf8_is_a_usage_error_naming_the_field) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto r = daemon.soma({"space", "create", "caf\xe9 notes"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("the value for name is not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("libprotobuf"), std::string::npos) << r.err;
  // Nothing was created, and the daemon still serves.
  auto listed = daemon.soma({"space", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out.find("notes"), std::string::npos) << listed.out;
}

TEST(CliExitCodes, a_wrong_api_token_is_exit_3) {
  TempDir tmp;
  Daemon daemon(tmp / "data", {"--require-token"});
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  EXPECT_EQ(daemon.soma({"status"}).exit_code, 0);  // reads DATA_DIR/api.token

  write_file(tmp / "wrong.token",
             "0000000000000000000000000000000000000000000000000000000000000000");
  auto r = daemon.soma({"--token-file", (tmp / "wrong.token").string(), "status"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
}

TEST(CliExitCodes, json_output_is_one_parsable_document) {
  TempDir tmp;
  Daemon daemon(tmp / "data");
  ASSERT_TRUE(daemon.start()) << daemon.stderr_text();
  auto created = daemon.soma({"--json", "space", "create", "team notes"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto listed = daemon.soma({"--json", "space", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("\"team notes\""), std::string::npos) << listed.out;
  auto missing = daemon.soma({"--json", "space", "show", "nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.out.find("\"error\""), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace soma::testing
