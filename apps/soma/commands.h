#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "client.h"
#include "core/error.h"
#include "output.h"

namespace soma::cli {

// Options every command accepts.
struct Globals {
  std::string socket;
  std::string data_dir;
  std::string token_file;
  bool json = false;
};

// What a running command can reach: its options, its output and, on first
// use, the daemon.
class Context {
 public:
  Globals globals;

  Output out() const { return Output(globals.json); }
  Endpoint endpoint() const {
    return resolve_endpoint(globals.socket, globals.data_dir, globals.token_file);
  }
  core::Result<Client*> client();

 private:
  std::unique_ptr<Client> client_;
};

using Action = std::function<int(Context&)>;

// Subcommands register the action that runs when they are chosen.
class Registry {
 public:
  void on(CLI::App* command, Action action) {
    command->callback([this, action = std::move(action)] { chosen_ = action; });
  }
  const Action& chosen() const { return chosen_; }

 private:
  Action chosen_;
};

void add_status_command(CLI::App& app, Registry& registry);
void add_space_commands(CLI::App& app, Registry& registry);
void add_page_commands(CLI::App& app, Registry& registry);
void add_doc_commands(CLI::App& app, Registry& registry);
void add_attach_commands(CLI::App& app, Registry& registry);
void add_blob_commands(CLI::App& app, Registry& registry);
void add_events_command(CLI::App& app, Registry& registry);
void add_import_command(CLI::App& app, Registry& registry);
void add_export_command(CLI::App& app, Registry& registry);
void add_peer_commands(CLI::App& app, Registry& registry);
void add_membership_commands(CLI::App& app, Registry& registry);

// Reads a whole file (or stdin for "-") of at most `max_bytes`.
core::Result<std::string> read_input(const std::string& path, std::uint64_t max_bytes);

// Documents and initial page texts are capped here before anything is sent.
constexpr std::uint64_t kMaxDocumentBytes = 64ull << 20;

// Looks a space up by id or name and returns its id.
core::Result<api::Space> find_space(Client& client, const std::string& space);

}  // namespace soma::cli
