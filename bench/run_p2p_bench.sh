#!/usr/bin/env bash
# The libp2p benchmark on loopback: Soma's host (bench/p2p_bench.cc) and
# js-libp2p (bench/js/p2p_bench.mjs) in the pairings C++->C++, JS->JS,
# C++->JS and JS->C++ (client->server), measuring
#   - /perf/1.0.0 throughput on one stream: an upload and a download;
#   - new connections per second (dial + Noise + yamux + close, sequential);
#   - ping: open stream + ping + close, and a ping on one open stream
#     (medians of many);
#   - the server's resident memory idle and with held connections.
# It prints each figure as it comes and a table with the C++/JS ratios.
#
#   bench/run_p2p_bench.sh [--perf-mib N] [--conns N] [--pings N] [--echoes N]
#                          [--hold N] [--settle SECONDS]
#   defaults: 1024 MiB each way, 2000 connections, 2000 new-stream pings,
#   5000 pings on one stream, 500 held connections, 2 s for a server to
#   settle before its memory is read.
# It fails when a figure is missing from the table.
#   SOMA_P2P_BENCH_BIN=path/to/p2p_bench uses that binary instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

perf_mib=1024
conns=2000
pings=2000
echoes=5000
hold=500
settle=2
while [ $# -gt 0 ]; do
  case $1 in
    --perf-mib) perf_mib=$2 ;;
    --conns) conns=$2 ;;
    --pings) pings=$2 ;;
    --echoes) echoes=$2 ;;
    --hold) hold=$2 ;;
    --settle) settle=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
perf_bytes=$((perf_mib * 1024 * 1024))

# SOMA_P2P_BENCH_BIN names a p2p_bench binary to use as it is (to compare
# two builds); otherwise a Release tree is built.
cpp_bin=${SOMA_P2P_BENCH_BIN:-}
if [ -z "$cpp_bin" ]; then
  build=${SOMA_P2P_BENCH_BUILD_DIR:-build/p2pbench}
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOMA_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target p2p_bench -- -j2 >/dev/null
  cpp_bin=$root/$build/bench/p2p_bench
fi
if [ ! -f tests/interop/node_modules/libp2p/package.json ]; then
  (cd tests/interop && npm ci --no-audit --no-fund >/dev/null)
fi

cpp_cmd=("$cpp_bin")
js_cmd=(node --import "$root/tests/interop/libp2p/polyfill.mjs" "$root/bench/js/p2p_bench.mjs")

work=$(mktemp -d /tmp/soma-p2p-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }
cmd_of() { if [ "$1" = cpp ]; then echo cpp_cmd; else echo js_cmd; fi; }

# run KIND ARGS... runs a client of KIND (cpp or js) in the foreground.
run() {
  local -n cmd=$(cmd_of "$1")
  shift
  timeout 600 "${cmd[@]}" "$@"
}

# start_server KIND: sets server_pid and server_addr.
start_server() {
  local -n cmd=$(cmd_of "$1")
  local out=$work/server-$1-$RANDOM.out
  : >"$out"
  "${cmd[@]}" server >"$out" 2>"$out.err" &
  server_pid=$!
  pids+=("$server_pid")
  server_addr=
  for _ in $(seq 200); do
    server_addr=$(awk '/^ready/ {print $2; exit}' "$out")
    [ -n "$server_addr" ] && return 0
    sleep 0.05
  done
  echo "the $1 server did not start:" >&2
  cat "$out.err" >&2
  exit 1
}

# start_bg KIND OUT ARGS...: a client of KIND in the background; sets bg_pid.
start_bg() {
  local -n cmd=$(cmd_of "$1")
  local out=$2
  shift 2
  : >"$out"
  "${cmd[@]}" "$@" >"$out" 2>"$out.err" &
  bg_pid=$!
  pids+=("$bg_pid")
}

stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

# value LINE KEY: the value of key=value in a result line.
value() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

declare -A fig
record() { fig[$1:$2]=$3; }

echo "== machine"
echo "cores=$(nproc) cpu=\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\" kernel=$(uname -r) node=$(node --version)"
openssl speed -evp chacha20-poly1305 -bytes 16384 -seconds 2 2>/dev/null |
  awk '/^ChaCha20-Poly1305/ {print "openssl_chacha20_poly1305_16KiB_kB_per_s=" $2}'

pairs=(cpp:cpp js:js cpp:js js:cpp)
for pair in "${pairs[@]}"; do
  client=${pair%%:*}
  server=${pair##*:}
  name="$client->$server"
  echo "== $name (client->server)"
  start_server "$server"

  line=$(run "$client" perf "$server_addr" --upload "$perf_bytes" --download 0)
  echo "perf upload: $line"
  record "$pair" upload "$(value "$line" mb_per_s)"
  line=$(run "$client" perf "$server_addr" --upload 0 --download "$perf_bytes")
  echo "perf download: $line"
  record "$pair" download "$(value "$line" mb_per_s)"

  line=$(run "$client" conns "$server_addr" --count "$conns")
  echo "$line"
  record "$pair" conns "$(value "$line" conns_per_s)"

  out=$(run "$client" ping "$server_addr" --count "$pings" --echo-count "$echoes")
  echo "$out"
  record "$pair" ping_new "$(value "$(grep ping_new_stream <<<"$out")" median_us)"
  record "$pair" ping_echo "$(value "$(grep ping_echo <<<"$out")" median_us)"
  stop_server

  # Memory: a fresh server, idle, then holding connections from the client.
  start_server "$server"
  sleep "$settle"
  idle=$(rss_kib "$server_pid")
  idle_anon=$(anon_kib "$server_pid")
  held_out=$work/hold-$client-$server.out
  start_bg "$client" "$held_out" hold "$server_addr" --count "$hold"
  hold_pid=$bg_pid
  for _ in $(seq 1200); do grep -q '^result hold' "$held_out" 2>/dev/null && break; sleep 0.1; done
  if ! grep -q '^result hold' "$held_out"; then
    echo "the $client client could not hold $hold connections:" >&2
    cat "$held_out.err" >&2
    exit 1
  fi
  sleep "$settle"
  busy=$(rss_kib "$server_pid")
  busy_anon=$(anon_kib "$server_pid")
  client_rss=$(rss_kib "$hold_pid")
  kill -TERM "$hold_pid" 2>/dev/null || true
  wait "$hold_pid" 2>/dev/null || true
  per_conn=$(awk -v a="$idle" -v b="$busy" -v n="$hold" 'BEGIN { printf "%.1f", (b - a) / n }')
  echo "server rss_idle_kib=$idle (anon $idle_anon) rss_${hold}_conns_kib=$busy (anon $busy_anon)" \
    "per_conn_kib=$per_conn; client rss_${hold}_conns_kib=$client_rss"
  record "$pair" rss_idle "$(awk -v k="$idle" 'BEGIN { printf "%.1f", k / 1024 }')"
  record "$pair" rss_busy "$(awk -v k="$busy" 'BEGIN { printf "%.1f", k / 1024 }')"
  record "$pair" per_conn "$per_conn"
  stop_server
done

echo "== summary (C++/JS compares C++->C++ with JS->JS)"
rows=(
  "upload:perf upload, MB/s"
  "download:perf download, MB/s"
  "conns:new connections/s"
  "ping_new:new-stream ping median, us"
  "ping_echo:ping on open stream median, us"
  "rss_idle:server RSS idle, MiB"
  "rss_busy:server RSS with $hold conns, MiB"
  "per_conn:server KiB per connection"
)
printf '%-36s %10s %10s %10s %10s %8s\n' figure 'C++->C++' 'JS->JS' 'C++->JS' 'JS->C++' 'C++/JS'
missing=0
for row in "${rows[@]}"; do
  key=${row%%:*}
  label=${row#*:}
  for pair in "${pairs[@]}"; do
    [[ ${fig[$pair:$key]:-} =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || missing=$((missing + 1))
  done
  c=${fig[cpp:cpp:$key]:-} j=${fig[js:js:$key]:-}
  ratio=$(awk -v c="$c" -v j="$j" 'BEGIN { if (j + 0 > 0) printf "%.2f", c / j; else print "-" }')
  printf '%-36s %10s %10s %10s %10s %8s\n' "$label" "$c" "$j" "${fig[cpp:js:$key]:-}" \
    "${fig[js:cpp:$key]:-}" "$ratio"
done
if [ "$missing" -gt 0 ]; then
  echo "$missing figures are missing" >&2
  exit 1
fi
