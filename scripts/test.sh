#!/usr/bin/env bash
# Installs what the tests need, builds once with warnings as errors under
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs every test.
# Usage: scripts/test.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh

build_dir=${SOMA_TEST_BUILD_DIR:-build/ci}
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSOMA_WERROR=ON -DSOMA_SANITIZE=ON -DSOMA_BUILD_BENCH=OFF
cmake --build "$build_dir" -j "$(nproc)"

# Interop peers come from npm, pinned by the lockfile.
if [ -f tests/interop/package-lock.json ]; then
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi

# Every decoder's libFuzzer target, briefly (a separate clang build).
./scripts/fuzz.sh "${SOMA_FUZZ_SECONDS:-10}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
