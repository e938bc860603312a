#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace soma::testing {

// The result of running a command to completion.
struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

// Runs `argv` with `env_extra` added to the environment, feeding `input` on
// stdin, and waits at most `timeout` (then kills it and fails the test).
RunResult run(const std::vector<std::string>& argv, const std::string& input = {},
              std::chrono::seconds timeout = std::chrono::seconds(120),
              const std::vector<std::string>& env_extra = {});

// A child process whose stdout is captured line by line.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool start(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra = {});
  // Reads stdout until a line starting with `prefix`; returns that line.
  std::optional<std::string> wait_for_line(const std::string& prefix,
                                           std::chrono::milliseconds timeout);
  // Signals and waits; returns the exit code, or -signal when killed.
  int stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for the process to exit by itself; nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  bool running();
  pid_t pid() const { return pid_; }
  // Everything read from stdout so far, and stderr after exit.
  const std::string& output() const { return out_; }
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::filesystem::path err_file_;
  std::string out_;
  std::size_t consumed_ = 0;
  std::optional<int> status_;
};

}  // namespace soma::testing
