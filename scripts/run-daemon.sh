#!/usr/bin/env bash
# Installs what the build needs, builds a release, and runs soma-daemon on
# its defaults (embedded SQLite, data in $XDG_DATA_HOME/soma). Arguments
# are passed to soma-daemon, e.g. --data-dir /tmp/soma-a.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

build_dir=${SOMA_BUILD_DIR:-build/release}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSOMA_BUILD_TESTS=OFF -DSOMA_BUILD_BENCH=OFF
cmake --build "$build_dir" -j "$(nproc)" --target soma-daemon soma

echo "built $build_dir/apps/soma-daemon/soma-daemon and $build_dir/apps/soma/soma"
exec "$build_dir/apps/soma-daemon/soma-daemon" "$@"
