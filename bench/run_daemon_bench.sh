#!/usr/bin/env bash
# Measures one soma-daemon on this machine: import/export throughput (the
# libp2p spec corpus and a folder holding a 1 GiB file) beside OpenSSL's
# single-core SHA-256 rate, UploadBlob/ReadBlob throughput and Status
# latency over the socket, and the daemon's resident memory.
#
# Beside the hashing floor it measures the file system's own: copying the
# big file with dd and syncing it, as an import must, and copying it past
# the page cache (direct I/O both ways), as an export of an uncached blob
# reads and writes.
#
#   bench/run_daemon_bench.sh [--big-mib N] [--work-dir DIR]
#   defaults: 1024 MiB; a new folder under /tmp. --work-dir /dev/shm puts the
#   data dir and the files in memory, taking the disk out of the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

big_mib=1024
work_parent=/tmp
while [ $# -gt 0 ]; do
  case $1 in
    --big-mib) big_mib=$2 ;;
    --work-dir) work_parent=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done

build=${SOMA_BENCH_BUILD_DIR:-build/bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOMA_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target soma-daemon soma api_bench >/dev/null
daemon_bin=$build/apps/soma-daemon/soma-daemon
soma_bin=$build/apps/soma/soma
corpus=$(cd .. && pwd)/shared/specs/libp2p

work=$(mktemp -d "$work_parent/soma-bench-XXXXXX")
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
soma() { "$soma_bin" --data-dir "$work/data" "$@"; }

echo "== machine"
echo "cores=$(nproc) cpu=\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\""
openssl speed -evp sha256 -bytes 262144 -seconds 3 2>/dev/null | awk '/^sha256/ {print "openssl_sha256_256KiB_kB_per_s=" $2}'

echo "== daemon"
"$daemon_bin" --data-dir "$work/data" >"$work/daemon.out" 2>"$work/daemon.log" &
pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/daemon.out" 2>/dev/null && break; sleep 0.1; done
sleep 1
echo "rss_idle_kib=$(rss_kib $pid)"

corpus_bytes=$(du -sb "$corpus" | cut -f1)
t=$(now); soma import "$corpus" --space corpus >/dev/null; s=$(awk -v a="$t" -v b="$(now)" 'BEGIN{print b-a}')
echo "corpus_import bytes=$corpus_bytes seconds=$s mb_per_s=$(mbps "$corpus_bytes" "$s")"
t=$(now); soma export corpus "$work/corpus-out" >/dev/null; s=$(awk -v a="$t" -v b="$(now)" 'BEGIN{print b-a}')
echo "corpus_export bytes=$corpus_bytes seconds=$s mb_per_s=$(mbps "$corpus_bytes" "$s")"
diff -r "$corpus" "$work/corpus-out" >/dev/null && echo "corpus_round_trip=identical"
echo "rss_after_corpus_kib=$(rss_kib $pid)"

mkdir -p "$work/big"
openssl rand -out "$work/big/big.bin" $((big_mib * 1024 * 1024))
printf '# Big\n\n[data](big.bin)\n' >"$work/big/notes.md"
big_bytes=$((big_mib * 1024 * 1024))
sync
t=$(now); dd if="$work/big/big.bin" of="$work/dd.bin" bs=4M conv=fsync status=none
s=$(awk -v a="$t" -v b="$(now)" 'BEGIN{print b-a}')
echo "disk_copy_and_sync mib=$big_mib seconds=$s mb_per_s=$(mbps "$big_bytes" "$s")"
# The same copy past the page cache, reading the disk as an export of a
# blob that is not cached does; where direct I/O is refused it is skipped.
rm -f "$work/dd.bin"
t=$(now)
if dd if="$work/big/big.bin" of="$work/dd.bin" bs=8M iflag=direct oflag=direct status=none 2>/dev/null; then
  s=$(awk -v a="$t" -v b="$(now)" 'BEGIN{print b-a}')
  echo "disk_direct_copy mib=$big_mib seconds=$s mb_per_s=$(mbps "$big_bytes" "$s")"
else
  echo "disk_direct_copy refused by this file system"
fi
rm -f "$work/dd.bin"
sync
t=$(now); soma import "$work/big" --space big >/dev/null; s=$(awk -v a="$t" -v b="$(now)" 'BEGIN{print b-a}')
echo "big_import mib=$big_mib seconds=$s mb_per_s=$(mbps "$big_bytes" "$s")"
t=$(now); soma export big "$work/big-out" >/dev/null; s=$(awk -v a="$t" -v b="$(now)" 'BEGIN{print b-a}')
echo "big_export mib=$big_mib seconds=$s mb_per_s=$(mbps "$big_bytes" "$s")"
cmp -s "$work/big/big.bin" "$work/big-out/big.bin" && echo "big_round_trip=identical"
rm -rf "$work/big" "$work/big-out"
echo "rss_after_big_kib=$(rss_kib $pid)"

echo "== api"
"$build/bench/api_bench" "$work/data/run/daemon.sock" --blob-mib 256 --status-calls 10000
