#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/process.h"

namespace soma::testing {

// Paths of the binaries under test and of the shared corpus, set by CMake.
std::filesystem::path daemon_binary();
std::filesystem::path cli_binary();
std::filesystem::path shared_dir();

// A fresh directory under /tmp, removed when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// A real soma-daemon process on its own data dir.
class Daemon {
 public:
  explicit Daemon(std::filesystem::path data_dir, std::vector<std::string> extra_args = {});
  ~Daemon();

  // Starts the daemon and waits for its "ready" line; false when it exits
  // or stays silent (the reason is then in stderr_text()).
  bool start();
  int stop_gracefully();  // SIGTERM; returns the exit code
  void kill_hard();       // SIGKILL, as a crash or power loss would
  bool running() { return process_ && process_->running(); }
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string stderr_text() const;

  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path socket_path() const { return data_dir_ / "run" / "daemon.sock"; }

  // Runs `soma --data-dir DIR args...`.
  RunResult soma(const std::vector<std::string>& args, const std::string& input = {}) const;

 private:
  std::filesystem::path data_dir_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<ChildProcess> process_;
};

// Every regular file under root, relative path -> bytes.
std::map<std::string, std::string> read_tree(const std::filesystem::path& root);
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);
// Deterministic pseudo-random bytes.
std::string random_bytes(std::size_t n, unsigned seed);

}  // namespace soma::testing
