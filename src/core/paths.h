#pragma once

#include <filesystem>
#include <optional>

namespace soma::core {

// Where a daemon keeps its files. Defaults follow XDG; `--data-dir` puts
// everything, the API socket included, under one folder.
struct Paths {
  std::filesystem::path data_dir;    // identity, database, blobs
  std::filesystem::path socket_dir;  // 0700 folder holding the API socket
  std::filesystem::path socket() const { return socket_dir / "daemon.sock"; }
  std::filesystem::path token_file() const { return data_dir / "api.token"; }
};

// Resolves the paths from an explicit data dir, else $XDG_DATA_HOME/soma or
// ~/.local/share/soma, with the socket in $XDG_RUNTIME_DIR/soma when that
// is set and no data dir was given.
Paths resolve_paths(const std::optional<std::filesystem::path>& data_dir);

}  // namespace soma::core
