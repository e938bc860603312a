#include "harness/soma_harness.h"

#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <random>
#include <sstream>

namespace soma::testing {

std::filesystem::path daemon_binary() { return SOMA_DAEMON_BIN; }
std::filesystem::path cli_binary() { return SOMA_CLI_BIN; }
std::filesystem::path shared_dir() { return SOMA_SHARED_DIR; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "soma-it-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  path_ = made != nullptr ? std::filesystem::path(made) : std::filesystem::path();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Daemon::Daemon(std::filesystem::path data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

Daemon::~Daemon() {
  if (running()) process_->stop(SIGTERM);
}

bool Daemon::start() {
  process_ = std::make_unique<ChildProcess>();
  std::vector<std::string> argv = {daemon_binary().string(), "--data-dir", data_dir_.string()};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  if (!process_->start(argv, {"SOMA_LOG=debug"})) return false;
  return process_->wait_for_line("ready", std::chrono::seconds(30)).has_value();
}

int Daemon::stop_gracefully() { return process_ ? process_->stop(SIGTERM) : -1000; }

void Daemon::kill_hard() {
  if (process_) process_->stop(SIGKILL);
}

std::optional<int> Daemon::wait_exit(std::chrono::milliseconds timeout) {
  return process_ ? process_->wait_exit(timeout) : std::nullopt;
}

std::string Daemon::stderr_text() const { return process_ ? process_->stderr_text() : ""; }

RunResult Daemon::soma(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv = {cli_binary().string(), "--data-dir", data_dir_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, input);
}

std::map<std::string, std::string> read_tree(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    out[std::filesystem::relative(e.path(), root).string()] = read_file(e.path());
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

}  // namespace soma::testing
