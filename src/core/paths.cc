#include "core/paths.h"

#include <cstdlib>

namespace soma::core {
namespace {

std::optional<std::filesystem::path> env_path(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::filesystem::path(v);
}

}  // namespace

Paths resolve_paths(const std::optional<std::filesystem::path>& data_dir) {
  Paths p;
  if (data_dir) {
    p.data_dir = std::filesystem::absolute(*data_dir);
    p.socket_dir = p.data_dir / "run";
    return p;
  }
  if (auto xdg = env_path("XDG_DATA_HOME")) {
    p.data_dir = *xdg / "soma";
  } else if (auto home = env_path("HOME")) {
    p.data_dir = *home / ".local" / "share" / "soma";
  } else {
    p.data_dir = std::filesystem::current_path() / ".soma";
  }
  if (auto runtime = env_path("XDG_RUNTIME_DIR")) {
    p.socket_dir = *runtime / "soma";
  } else {
    p.socket_dir = p.data_dir / "run";
  }
  return p;
}

}  // namespace soma::core
