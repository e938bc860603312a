// soma: the command-line client of soma-daemon. Parses, calls, prints.
#include <CLI/CLI.hpp>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <string>

#include "commands.h"

namespace {

constexpr const char* kFooter =
    "Exit codes:\n"
    "  0  success\n"
    "  1  usage error, or the daemon found the request invalid (INVALID_ARGUMENT)\n"
    "  2  not found (NOT_FOUND)\n"
    "  3  permission denied: the API token is missing or wrong, or the space's\n"
    "     rules refuse it (not the owner, not a member, no delegation) (PERMISSION_DENIED)\n"
    "  4  soma-daemon cannot be reached: not running, or no socket; or the peer a\n"
    "     network command names cannot be reached (UNAVAILABLE)\n"
    "  5  any other failure: quota, data loss, blobs failing verification, files an\n"
    "     import or export had to leave out\n"
    "With --json every command prints one JSON document on stdout, errors as\n"
    "{\"error\": {\"code\": \"NOT_FOUND\", \"message\": \"...\"}}.";

void apply_to_all(CLI::App* app, const std::function<void(CLI::App*)>& fn) {
  for (auto* sub : app->get_subcommands({})) {
    fn(sub);
    apply_to_all(sub, fn);
  }
}

// For a command line naming a command group (`soma space …`) with a word
// that is none of its commands: the group and that word. Option values are
// skipped, global options included.
struct UnknownCommand {
  std::string group;  // "soma space"
  std::string word;   // empty: no command given at all
  CLI::App* app = nullptr;
};

std::optional<UnknownCommand> unknown_command(CLI::App& root, int argc, char** argv) {
  CLI::App* current = &root;
  std::string group = "soma";
  auto takes_value = [&](const std::string& name) {
    for (CLI::App* app = current; app != nullptr; app = app->get_parent()) {
      if (const CLI::Option* opt = app->get_option_no_throw(name))
        return opt->get_items_expected_min() > 0;
    }
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      if (arg.find('=') == std::string::npos && takes_value(arg)) ++i;
      continue;
    }
    CLI::App* next = nullptr;
    for (CLI::App* sub : current->get_subcommands(std::function<bool(CLI::App*)>())) {
      if (sub->check_name(arg)) next = sub;
    }
    if (next != nullptr) {
      current = next;
      group += " " + arg;
      continue;
    }
    if (current->get_require_subcommand_min() > 0) return UnknownCommand{group, arg, current};
    return std::nullopt;
  }
  if (current->get_require_subcommand_min() > 0) return UnknownCommand{group, "", current};
  return std::nullopt;
}

std::string command_names(CLI::App* app) {
  std::string names;
  for (CLI::App* sub : app->get_subcommands(std::function<bool(CLI::App*)>())) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace soma::cli;

  Context ctx;
  Registry registry;
  CLI::App app{"soma: the command-line client of soma-daemon", "soma"};
  app.add_option("--socket", ctx.globals.socket,
                 "API socket of the daemon (default: <data dir>/run/daemon.sock, or "
                 "$XDG_RUNTIME_DIR/soma/daemon.sock)")
      ->envname("SOMA_SOCKET");
  app.add_option("--data-dir", ctx.globals.data_dir,
                 "The daemon's data dir: socket DIR/run/daemon.sock, token DIR/api.token "
                 "(default: $XDG_DATA_HOME/soma or ~/.local/share/soma)")
      ->envname("SOMA_DATA_DIR");
  app.add_option("--token-file", ctx.globals.token_file,
                 "File holding the API token (default: <data dir>/api.token if it exists)")
      ->envname("SOMA_TOKEN_FILE");
  app.add_flag("--json", ctx.globals.json, "Machine output: one JSON document on stdout");
  app.require_subcommand(1);
  app.footer(kFooter);

  add_status_command(app, registry);
  add_space_commands(app, registry);
  add_page_commands(app, registry);
  add_doc_commands(app, registry);
  add_attach_commands(app, registry);
  add_blob_commands(app, registry);
  add_events_command(app, registry);
  add_import_command(app, registry);
  add_export_command(app, registry);
  add_peer_commands(app, registry);
  add_membership_commands(app, registry);

  // Global options work after the command too, and every help shows the
  // exit codes.
  apply_to_all(&app, [](CLI::App* sub) {
    sub->fallthrough();
    sub->footer(kFooter);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // --json may not have been parsed before the error.
    bool json = ctx.globals.json;
    for (int i = 1; i < argc; ++i) json = json || std::strcmp(argv[i], "--json") == 0;
    if (auto unknown = unknown_command(app, argc, argv)) {
      std::string what = unknown->word.empty()
                             ? unknown->group + " needs a command"
                             : "unknown command '" + unknown->word + "' for " + unknown->group;
      return Output(json).fail(
          soma::core::Error::invalid(what + "; it takes one of: " + command_names(unknown->app) +
                                     " (see " + unknown->group + " --help)"));
    }
    return Output(json).fail(
        soma::core::Error::invalid(std::string(e.what()) + " (see soma --help)"));
  }

  if (!registry.chosen()) {
    std::cout << app.help();
    return kExitUsage;
  }
  return registry.chosen()(ctx);
}
