#include "crypto/identity_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/keys.h"
#include "crypto/peer_id.h"
#include "crypto/random.h"

namespace soma::crypto {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class IdentityFile : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("soma-identity-test-" + random_id());
    ASSERT_TRUE(fs::create_directory(root_));
    ASSERT_EQ(::chmod(root_.c_str(), 0700), 0);
    dir_ = root_ / "state" / "identity";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  fs::path key_path() const { return dir_ / "identity.key"; }

  fs::path root_;
  fs::path dir_;
};

TEST_F(IdentityFile, creates_a_0600_key_in_a_0700_directory) {
  auto key = load_or_create_identity(dir_);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(mode_of(dir_), 0700u);
  EXPECT_EQ(mode_of(key_path()), 0600u);

  // The file holds exactly the protobuf PrivateKey encoding, and nothing else
  // (no temporary file) is left behind.
  std::string contents = read_file(key_path());
  core::Bytes expected = encode_private_key(*key);
  EXPECT_EQ(contents, std::string(core::as_chars(expected)));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(IdentityFile, reloads_the_same_identity) {
  auto first = load_or_create_identity(dir_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = load_or_create_identity(dir_);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(PeerId::from_public_key(first->public_key()),
            PeerId::from_public_key(second->public_key()));
  EXPECT_EQ(first->seed(), second->seed());
}

TEST_F(IdentityFile, refuses_a_key_file_readable_by_others) {
  ASSERT_TRUE(load_or_create_identity(dir_).ok());
  ASSERT_EQ(::chmod(key_path().c_str(), 0644), 0);

  auto key = load_or_create_identity(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, core::ErrorCode::kPermissionDenied);
  const std::string& msg = key.error().message;
  EXPECT_NE(msg.find(key_path().string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("0644"), std::string::npos) << msg;
  EXPECT_NE(msg.find("chmod 600 " + key_path().string()), std::string::npos) << msg;
  EXPECT_EQ(mode_of(key_path()), 0644u);  // reported, not silently changed
}

TEST_F(IdentityFile, refuses_a_directory_open_to_others) {
  ASSERT_TRUE(load_or_create_identity(dir_).ok());
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);

  auto key = load_or_create_identity(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, core::ErrorCode::kPermissionDenied);
  const std::string& msg = key.error().message;
  EXPECT_NE(msg.find("0755"), std::string::npos) << msg;
  EXPECT_NE(msg.find("chmod 700 " + dir_.string()), std::string::npos) << msg;
}

TEST_F(IdentityFile, refuses_a_corrupt_key_file_without_overwriting_it) {
  fs::create_directories(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  const std::string garbage = "this is not a key";
  {
    std::ofstream out(key_path(), std::ios::binary);
    out << garbage;
  }
  ASSERT_EQ(::chmod(key_path().c_str(), 0600), 0);

  auto key = load_or_create_identity(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, core::ErrorCode::kDataLoss);
  EXPECT_NE(key.error().message.find(key_path().string()), std::string::npos);
  EXPECT_EQ(read_file(key_path()), garbage);

  // A second attempt reports the same and still leaves the file alone.
  EXPECT_EQ(load_or_create_identity(dir_).error().code, core::ErrorCode::kDataLoss);
  EXPECT_EQ(read_file(key_path()), garbage);
}

TEST_F(IdentityFile, refuses_a_truncated_key_file) {
  auto created = load_or_create_identity(dir_);
  ASSERT_TRUE(created.ok());
  fs::resize_file(key_path(), 20);
  auto key = load_or_create_identity(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, core::ErrorCode::kDataLoss);
  EXPECT_EQ(fs::file_size(key_path()), 20u);
}

TEST_F(IdentityFile, refuses_a_symlinked_key_file) {
  fs::create_directories(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  fs::path target = root_ / "elsewhere.key";
  {
    std::ofstream out(target, std::ios::binary);
    core::Bytes enc = encode_private_key(Ed25519PrivateKey::generate());
    out << core::as_chars(enc);
  }
  fs::create_symlink(target, key_path());
  auto key = load_or_create_identity(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(key.error().message.find("symbolic link"), std::string::npos);
}

TEST_F(IdentityFile, refuses_a_path_that_is_a_file_not_a_directory) {
  fs::create_directories(dir_.parent_path());
  { std::ofstream out(dir_); }
  auto key = load_or_create_identity(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(key.error().message.find("not a directory"), std::string::npos);
}

}  // namespace
}  // namespace soma::crypto
