#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "p2p/multiaddr/multiaddr.h"

namespace soma::daemon {

// The daemon's settings after flags, SOMA_* environment variables and the
// optional TOML config file are merged (in that order of precedence, then
// the built-in defaults).
struct Options {
  std::optional<std::filesystem::path> data_dir;    // nullopt: XDG default
  std::optional<std::filesystem::path> socket_dir;  // nullopt: from data dir / XDG
  std::string log_level = "info";
  bool require_token = false;
  std::uint64_t max_blob_bytes = 0;     // filled with the blob store default
  std::uint64_t space_quota_bytes = 0;  // 0: no quota
  // An upload that sends nothing for this long is cancelled.
  std::chrono::seconds upload_idle_timeout{60};
  // Where libp2p listens, each a TCP address checked when parsed; empty:
  // the defaults (every interface, a port chosen once and remembered).
  std::vector<p2p::Multiaddr> listen;
  // Open no listener at all (the daemon can still dial out when asked).
  bool no_listen = false;
  // A peer (id or multiaddr) holding a mailbox for this daemon: decisions
  // and requests for peers that cannot be reached are left there, and
  // items for this daemon are fetched from it. Empty: none.
  std::string mailbox;
  // Serve /soma/mailbox/1: hold items for other peers, within limits.
  bool serve_mailbox = false;
};

// What parsing decided: run with these options, or exit now with this code
// (0 after --help or --version, 1 after a usage or config error, whose
// message has already been printed to stderr).
struct Exit {
  int code = 0;
};
using ParseOutcome = std::variant<Options, Exit>;

ParseOutcome parse_options(int argc, char** argv);

}  // namespace soma::daemon
