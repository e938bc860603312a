#!/usr/bin/env bash
# Builds every libFuzzer target under fuzz/ with clang and runs each for a
# while (default 20 seconds; CI uses the default, soak runs pass more).
#   scripts/fuzz.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
build=${SOMA_FUZZ_BUILD_DIR:-build/fuzz}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSOMA_BUILD_FUZZ=ON -DSOMA_BUILD_TESTS=OFF -DSOMA_BUILD_BENCH=OFF >/dev/null
targets=$(cd fuzz && ls *_fuzzer.cc 2>/dev/null | sed 's/\.cc$//')
[ -n "$targets" ] || { echo "no fuzz targets"; exit 0; }
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $targets

failed=0
for t in $targets; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  if "$build/fuzz/$t" "$corpus" -max_total_time="$seconds" -max_len=4096 \
       -print_final_stats=0 >"$build/$t.log" 2>&1; then
    echo "fuzz $t: ${seconds}s, no crash"
  else
    echo "fuzz $t: FAILED — see $build/$t.log"; tail -30 "$build/$t.log"; failed=1
  fi
done
exit $failed
