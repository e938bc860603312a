#include "api/api_token.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace soma::api {
namespace {

class ApiTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/soma-token-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(ApiTokenTest, creates_a_private_token_file_and_reads_it_back) {
  const auto file = dir_ / "api.token";
  auto first = load_or_create_api_token(file);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->size(), kApiTokenBytes * 2);
  EXPECT_EQ(first->find_first_not_of("0123456789abcdef"), std::string::npos);

  struct stat st {};
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto again = load_or_create_api_token(file);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *first);
  auto client = read_api_token(file);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_EQ(*client, *first);
}

TEST_F(ApiTokenTest, two_new_token_files_hold_different_tokens) {
  auto a = load_or_create_api_token(dir_ / "a.token");
  auto b = load_or_create_api_token(dir_ / "b.token");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(ApiTokenTest, refuses_a_token_file_readable_by_others) {
  const auto file = dir_ / "api.token";
  ASSERT_TRUE(load_or_create_api_token(file).ok());
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  auto loaded = load_or_create_api_token(file);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(loaded.error().message.find("has mode 0644"), std::string::npos)
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("chmod 600 " + file.string()), std::string::npos);
}

TEST_F(ApiTokenTest, rejects_a_file_that_holds_no_token_and_keeps_it) {
  const auto file = dir_ / "api.token";
  {
    std::ofstream out(file);
    out << "not a token\n";
  }
  ASSERT_EQ(chmod(file.c_str(), 0600), 0);
  auto loaded = load_or_create_api_token(file);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(loaded.error().message.find("not a token"), std::string::npos)
      << "the file's content must not be echoed";
  std::ifstream in(file);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "not a token");
}

TEST_F(ApiTokenTest, reading_a_missing_token_file_is_not_found) {
  auto loaded = read_api_token(dir_ / "missing.token");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, core::ErrorCode::kNotFound);
}

TEST(ApiTokenMatch, accepts_only_the_exact_token) {
  const std::string token(64, 'a');
  EXPECT_TRUE(api_token_matches(token, token));
  EXPECT_FALSE(api_token_matches(token, std::string(63, 'a')));
  EXPECT_FALSE(api_token_matches(token, std::string(63, 'a') + "b"));
  EXPECT_FALSE(api_token_matches(token, ""));
  EXPECT_FALSE(api_token_matches("", ""));
}

}  // namespace
}  // namespace soma::api
