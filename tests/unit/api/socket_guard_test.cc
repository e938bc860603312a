#include "api/socket_guard.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace soma::api {
namespace {

class SocketGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/soma-sock-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  mode_t mode_of(const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  std::filesystem::path dir_;
};

TEST_F(SocketGuardTest, creates_a_missing_socket_dir_with_mode_0700) {
  const auto run = dir_ / "nested" / "run";
  ASSERT_TRUE(ensure_socket_dir(run).ok());
  EXPECT_EQ(mode_of(run), 0700u);
}

TEST_F(SocketGuardTest, creates_0700_even_under_a_permissive_umask) {
  const auto run = dir_ / "run";
  ScopedUmask mask(0);
  ASSERT_TRUE(ensure_socket_dir(run).ok());
  EXPECT_EQ(mode_of(run), 0700u);
}

TEST_F(SocketGuardTest, refuses_an_existing_socket_dir_with_mode_0755) {
  const auto run = dir_ / "run";
  ASSERT_EQ(mkdir(run.c_str(), 0700), 0);
  ASSERT_EQ(chmod(run.c_str(), 0755), 0);
  auto s = ensure_socket_dir(run);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_EQ(s.error().message, "socket directory " + run.string() +
                                   " has mode 0755; it must be 0700 and owned by you (chmod 700 " +
                                   run.string() + ")");
  EXPECT_EQ(mode_of(run), 0755u) << "a refused directory is left as it was";
}

TEST_F(SocketGuardTest, refuses_a_symlink_as_socket_dir) {
  const auto real = dir_ / "real";
  const auto link = dir_ / "link";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  auto s = ensure_socket_dir(link);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(s.error().message.find("symbolic link"), std::string::npos);
}

TEST_F(SocketGuardTest, rejects_a_socket_path_longer_than_sockaddr_un_allows) {
  const auto long_path = dir_ / std::string(120, 'x') / "daemon.sock";
  auto s = check_socket_path(long_path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(check_socket_path(dir_ / "daemon.sock").ok());
}

TEST_F(SocketGuardTest, removes_a_stale_socket_but_not_a_regular_file) {
  const auto sock_path = dir_ / "daemon.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  ASSERT_TRUE(std::filesystem::exists(sock_path));
  ASSERT_TRUE(remove_stale_socket(sock_path).ok());
  EXPECT_FALSE(std::filesystem::exists(sock_path));
  EXPECT_TRUE(remove_stale_socket(sock_path).ok()) << "nothing to remove is fine";

  { std::ofstream(sock_path) << "precious"; }
  auto s = remove_stale_socket(sock_path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(sock_path));
}

}  // namespace
}  // namespace soma::api
