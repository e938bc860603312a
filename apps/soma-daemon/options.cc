#include "options.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <array>
#include <charconv>
#include <iostream>
#include <string_view>

#include "blob/blob_store.h"
#include "p2p/node/node.h"
#include "p2p/transport/tcp.h"

namespace soma::daemon {
namespace {

constexpr std::array<std::string_view, 7> kLogLevels = {"trace", "debug",    "info", "warn",
                                                        "error", "critical", "off"};
constexpr std::array<std::string_view, 10> kConfigKeys = {
    "data_dir",          "socket_dir", "log_level", "require_token", "max_blob_bytes",
    "space_quota_bytes", "listen",     "no_listen", "mailbox",       "serve_mailbox"};

constexpr std::string_view kDescription =
    "soma-daemon: the per-device Soma backend. It owns this device's identity, its spaces, "
    "pages, documents and blobs, and serves them to the `soma` CLI and other local clients "
    "through a gRPC API on a private Unix socket. It prints `ready <socket>` on stdout once "
    "it accepts calls, and stops cleanly on SIGINT or SIGTERM.\n\n"
    "It also listens for libp2p peers: by default on TCP on every interface, on a port "
    "chosen once and kept across restarts (see --listen, --no-listen).\n\n"
    "Settings come from flags, then SOMA_* environment variables, then the TOML config "
    "file (keys: data_dir, socket_dir, log_level, require_token, max_blob_bytes, "
    "space_quota_bytes, listen (an array of multiaddrs), no_listen, mailbox, serve_mailbox; "
    "relative paths are taken "
    "from the config file's folder), then defaults.";

bool is_log_level(std::string_view level) {
  for (auto l : kLogLevels) {
    if (l == level) return true;
  }
  return false;
}

std::string config_error(const std::filesystem::path& file, std::string_view key,
                         std::string_view what) {
  return fmt::format("config file {}: key '{}' {}", file.string(), key, what);
}

// Reads one non-negative integer key. Returns an error message, or empty.
std::string read_size(const toml::table& table, const std::filesystem::path& file,
                      std::string_view key, std::uint64_t* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return {};
  auto value = node->value<std::int64_t>();
  if (!node->is_integer() || !value) {
    return config_error(file, key, "must be an integer number of bytes");
  }
  if (*value < 0) return config_error(file, key, "must not be negative");
  *out = static_cast<std::uint64_t>(*value);
  return {};
}

std::string read_path(const toml::table& table, const std::filesystem::path& file,
                      std::string_view key, std::optional<std::filesystem::path>* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return {};
  auto value = node->value<std::string>();
  if (!node->is_string() || !value || value->empty()) {
    return config_error(file, key, "must be a non-empty path string");
  }
  std::filesystem::path p(*value);
  if (p.is_relative()) p = std::filesystem::absolute(file).parent_path() / p;
  *out = p;
  return {};
}

// Reads one listen address: a TCP multiaddr the host can bind. Returns an
// error message naming `where` and the address, or empty.
std::string parse_listen(std::string_view where, std::string text,
                         std::vector<p2p::Multiaddr>* out) {
  auto first = text.find_first_not_of(" \t");
  auto last = text.find_last_not_of(" \t");
  text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  auto addr = p2p::Multiaddr::parse(text);
  if (addr.ok()) {
    auto endpoint = p2p::transport::endpoint_from_multiaddr(*addr);
    if (endpoint.ok()) {
      out->push_back(std::move(*addr));
      return {};
    }
    return fmt::format("{} '{}' cannot be listened on: {}", where, text, endpoint.error().message);
  }
  return fmt::format(
      "{} '{}' is not a multiaddr: {}; a listen address looks like "
      "/ip4/0.0.0.0/tcp/4001 or /ip6/::/tcp/0",
      where, text, addr.error().message);
}

// Which settings a flag or the environment already gave.
struct Given {
  bool data_dir = false;
  bool socket_dir = false;
  bool log_level = false;
  bool require_token = false;
  bool max_blob_bytes = false;
  bool space_quota_bytes = false;
  bool listen = false;  // --listen or --no-listen
  bool mailbox = false;
  bool serve_mailbox = false;
};

// Applies the config file to `opts` for every setting not already given.
// Returns an error message that names the file and key, or empty.
std::string apply_config(const std::filesystem::path& file, const Given& given, Options* opts) {
  toml::table table;
  try {
    table = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return fmt::format("config file {}: line {}, column {}: {}", file.string(), where.line,
                       where.column, e.description());
  }
  for (const auto& [key, node] : table) {
    bool known = false;
    for (auto k : kConfigKeys) known = known || k == key.str();
    if (!known) {
      return config_error(file, key.str(),
                          "is not a setting soma-daemon knows (known keys: data_dir, socket_dir, "
                          "log_level, require_token, max_blob_bytes, space_quota_bytes, listen, "
                          "no_listen, mailbox, serve_mailbox)");
    }
  }
  std::optional<std::filesystem::path> data_dir;
  std::optional<std::filesystem::path> socket_dir;
  std::uint64_t max_blob_bytes = opts->max_blob_bytes;
  std::uint64_t space_quota_bytes = opts->space_quota_bytes;
  for (const std::string& err : {read_path(table, file, "data_dir", &data_dir),
                                 read_path(table, file, "socket_dir", &socket_dir),
                                 read_size(table, file, "max_blob_bytes", &max_blob_bytes),
                                 read_size(table, file, "space_quota_bytes", &space_quota_bytes)}) {
    if (!err.empty()) return err;
  }
  if (!given.data_dir && data_dir) opts->data_dir = data_dir;
  if (!given.socket_dir && socket_dir) opts->socket_dir = socket_dir;
  if (!given.max_blob_bytes) opts->max_blob_bytes = max_blob_bytes;
  if (!given.space_quota_bytes) opts->space_quota_bytes = space_quota_bytes;

  if (const toml::node* node = table.get("log_level")) {
    auto level = node->value<std::string>();
    if (!node->is_string() || !level || !is_log_level(*level)) {
      return config_error(file, "log_level",
                          "must be one of trace, debug, info, warn, error, critical, off");
    }
    if (!given.log_level) opts->log_level = *level;
  }
  std::vector<p2p::Multiaddr> listen;
  bool listen_set = false;
  if (const toml::node* node = table.get("listen")) {
    const toml::array* list = node->as_array();
    if (list == nullptr) {
      return config_error(file, "listen", "must be an array of multiaddr strings");
    }
    listen_set = true;
    for (const toml::node& item : *list) {
      auto text = item.value<std::string>();
      if (!item.is_string() || !text) {
        return config_error(file, "listen", "must hold only multiaddr strings");
      }
      std::string err = parse_listen(
          fmt::format("config file {}: key 'listen': address", file.string()), *text, &listen);
      if (!err.empty()) return err;
    }
  }
  bool no_listen = false;
  if (const toml::node* node = table.get("no_listen")) {
    auto flag = node->value<bool>();
    if (!node->is_boolean() || !flag)
      return config_error(file, "no_listen", "must be true or false");
    no_listen = *flag;
  }
  if (no_listen && !listen.empty()) {
    return config_error(file, "no_listen", "cannot be true while 'listen' names addresses");
  }
  if (!given.listen) {
    if (listen_set) opts->listen = std::move(listen);
    opts->no_listen = no_listen || (listen_set && opts->listen.empty());
  }

  if (const toml::node* node = table.get("mailbox")) {
    auto text = node->value<std::string>();
    if (!node->is_string() || !text || !p2p::node::parse_target(*text).ok()) {
      return config_error(file, "mailbox", "must be a peer id or a multiaddr string");
    }
    if (!given.mailbox) opts->mailbox = *text;
  }
  if (const toml::node* node = table.get("serve_mailbox")) {
    auto flag = node->value<bool>();
    if (!node->is_boolean() || !flag)
      return config_error(file, "serve_mailbox", "must be true or false");
    if (!given.serve_mailbox) opts->serve_mailbox = *flag;
  }

  if (const toml::node* node = table.get("require_token")) {
    auto flag = node->value<bool>();
    if (!node->is_boolean() || !flag)
      return config_error(file, "require_token", "must be true or false");
    if (!given.require_token) opts->require_token = *flag;
  }
  return {};
}

// Accepts a plain decimal byte count that fits 64 bits (zero only when
// `zero_ok`), so a sign, a unit suffix or an overflow is reported instead
// of being misread.
CLI::Validator byte_count(bool zero_ok) {
  return CLI::Validator(
      [zero_ok](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (text.empty() || text.front() == '-' || ec == std::errc::result_out_of_range) {
          return "must be a whole number of bytes from 0 to 2^64-1, like 1048576";
        }
        if (ec != std::errc() || ptr != end) {
          return "must be a whole number of bytes (no units or signs), like 1048576";
        }
        if (!zero_ok && value == 0) return "must be at least 1";
        return {};
      },
      "BYTES");
}

}  // namespace

ParseOutcome parse_options(int argc, char** argv) {
  Options opts;
  opts.max_blob_bytes = blob::Limits::kDefaultMaxBlobBytes;

  CLI::App app{std::string(kDescription), "soma-daemon"};
  app.set_version_flag("--version", std::string("soma-daemon ") + SOMA_VERSION);
  app.get_formatter()->column_width(32);

  std::string data_dir;
  std::string socket_dir;
  std::string config;
  std::string log_level;
  bool require_token = false;
  std::uint64_t max_blob_bytes = 0;
  std::uint64_t space_quota_bytes = 0;
  std::uint64_t upload_idle_seconds = 0;
  std::vector<std::string> listen;
  bool no_listen = false;

  auto* data_dir_opt =
      app.add_option("--data-dir", data_dir,
                     "Folder for the identity, database and blobs (default: "
                     "$XDG_DATA_HOME/soma or ~/.local/share/soma); the socket goes in its run/ "
                     "folder unless --socket-dir says otherwise")
          ->envname("SOMA_DATA_DIR");
  auto* socket_dir_opt = app.add_option("--socket-dir", socket_dir,
                                        "Folder (mode 0700) for the API socket daemon.sock "
                                        "(default: DATA_DIR/run when a data dir is given, else "
                                        "$XDG_RUNTIME_DIR/soma, else DATA_DIR/run)")
                             ->envname("SOMA_SOCKET_DIR");
  auto* config_opt = app.add_option("--config", config, "TOML config file")->envname("SOMA_CONFIG");
  auto* log_opt =
      app.add_option("--log-level", log_level,
                     "Log level on stderr: trace, debug, info, warn, error, "
                     "critical, off (default: info)")
          ->envname("SOMA_LOG")
          ->check(CLI::IsMember(std::vector<std::string>(kLogLevels.begin(), kLogLevels.end())));
  auto* token_opt =
      app.add_flag("--require-token", require_token,
                   "Require the API token from DATA_DIR/api.token (created 0600 if missing) "
                   "on every call")
          ->envname("SOMA_REQUIRE_TOKEN");
  auto* max_blob_opt = app.add_option("--max-blob-bytes", max_blob_bytes,
                                      fmt::format("Largest blob accepted, in bytes (default: {})",
                                                  blob::Limits::kDefaultMaxBlobBytes))
                           ->envname("SOMA_MAX_BLOB_BYTES")
                           ->check(byte_count(false));
  auto* quota_opt = app.add_option("--space-quota-bytes", space_quota_bytes,
                                   "Most blob bytes one space may hold (default: 0, no quota)")
                        ->envname("SOMA_SPACE_QUOTA_BYTES")
                        ->check(byte_count(true));
  auto* idle_opt =
      app.add_option("--upload-idle-timeout", upload_idle_seconds,
                     fmt::format("Seconds an upload may send nothing before it is cancelled and "
                                 "discarded (default: {})",
                                 opts.upload_idle_timeout.count()))
          ->envname("SOMA_UPLOAD_IDLE_TIMEOUT")
          ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{86400}));
  auto* listen_opt =
      app.add_option("--listen", listen,
                     "libp2p listen address, repeatable, e.g. /ip4/0.0.0.0/tcp/4001 (SOMA_LISTEN: "
                     "comma-separated). Port 0 picks a random port once and keeps it across "
                     "restarts (default: /ip4/0.0.0.0/tcp/0 and /ip6/::/tcp/0)")
          ->envname("SOMA_LISTEN")
          ->delimiter(',')
          ->type_name("MULTIADDR");
  auto* no_listen_opt = app.add_flag("--no-listen", no_listen,
                                     "Open no libp2p listener; the daemon can still dial out")
                            ->envname("SOMA_NO_LISTEN");
  std::string mailbox;
  auto* mailbox_opt =
      app.add_option("--mailbox", mailbox,
                     "Peer id or multiaddr of a peer serving /soma/mailbox/1 for this daemon: "
                     "join decisions and requests for peers that cannot be reached are left "
                     "there, and what others left for this daemon is fetched at start and "
                     "every 30 s")
          ->envname("SOMA_MAILBOX")
          ->type_name("PEER|MULTIADDR");
  bool serve_mailbox = false;
  auto* serve_mailbox_opt =
      app.add_flag("--serve-mailbox", serve_mailbox,
                   "Hold join requests and decisions for other peers until they fetch them "
                   "(bounded per peer and in all, kept at most 30 days)")
          ->envname("SOMA_SERVE_MAILBOX");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return Exit{code == 0 ? 0 : 1};
  }

  Given given;
  if (data_dir_opt->count() > 0) {
    given.data_dir = true;
    opts.data_dir = data_dir;
  }
  if (socket_dir_opt->count() > 0) {
    given.socket_dir = true;
    opts.socket_dir = socket_dir;
  }
  if (log_opt->count() > 0) {
    given.log_level = true;
    opts.log_level = log_level;
  }
  if (token_opt->count() > 0) {
    given.require_token = true;
    opts.require_token = require_token;
  }
  if (max_blob_opt->count() > 0) {
    given.max_blob_bytes = true;
    opts.max_blob_bytes = max_blob_bytes;
  }
  if (quota_opt->count() > 0) {
    given.space_quota_bytes = true;
    opts.space_quota_bytes = space_quota_bytes;
  }
  if (idle_opt->count() > 0) {
    opts.upload_idle_timeout = std::chrono::seconds(static_cast<std::int64_t>(upload_idle_seconds));
  }
  if (listen_opt->count() > 0) {
    given.listen = true;
    for (auto& text : listen) {
      std::string err = parse_listen("--listen", text, &opts.listen);
      if (!err.empty()) {
        std::cerr << "soma-daemon: " << err << "\n";
        return Exit{1};
      }
    }
  }
  if (no_listen_opt->count() > 0 && no_listen) {
    if (given.listen) {
      std::cerr << "soma-daemon: --no-listen and --listen contradict each other; give one\n";
      return Exit{1};
    }
    given.listen = true;
    opts.no_listen = true;
  }
  if (mailbox_opt->count() > 0 && !mailbox.empty()) {
    auto target = p2p::node::parse_target(mailbox);
    if (!target) {
      std::cerr << "soma-daemon: --mailbox: " << target.error().message << "\n";
      return Exit{1};
    }
    given.mailbox = true;
    opts.mailbox = mailbox;
  }
  if (serve_mailbox_opt->count() > 0) {
    given.serve_mailbox = true;
    opts.serve_mailbox = serve_mailbox;
  }
  if (config_opt->count() > 0 && !config.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(config, ec)) {
      std::cerr << "soma-daemon: config file " << config
                << " does not exist or is not a file; fix --config / SOMA_CONFIG\n";
      return Exit{1};
    }
    std::string err = apply_config(config, given, &opts);
    if (!err.empty()) {
      std::cerr << "soma-daemon: " << err << "\n";
      return Exit{1};
    }
    if (opts.max_blob_bytes == 0) {
      std::cerr << "soma-daemon: config file " << config
                << ": key 'max_blob_bytes' must be at least 1\n";
      return Exit{1};
    }
  }
  return opts;
}

}  // namespace soma::daemon
