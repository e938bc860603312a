#!/usr/bin/env bash
# Join latency between two daemons on loopback with automatic approval: the
# owner A creates a space and delegates it to C (`soma delegate`); once C
# holds the delegation, bench/join_bench sends N join requests to C, each
# from a new identity, and measures the time to C's signed decision (read
# in the answer on /soma/join/1, and again as C's courier delivers it on
# /soma/join-decision/1), verifying every decision. It prints the machine,
# the limits that apply, join_bench's result lines, and C's and A's view
# afterwards (approved requests; memberships A has learned of).
#
#   bench/run_join_bench.sh [--count N] [--role ROLE] [--work-dir DIR]
#   defaults: 1000 joins, role viewer, a new folder under /tmp.
#   SOMA_BENCH_SKIP_BUILD=1 runs the binaries already in the build tree.
# It fails when a join fails or a decision does not verify.
set -euo pipefail
cd "$(dirname "$0")/.."

count=1000
role=viewer
work_parent=/tmp
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=$2 ;;
    --role) role=$2 ;;
    --work-dir) work_parent=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
# The delegation's hourly rate: every join of the run fits in it, so the
# issuer's rate (checked by C's authorizer and by each requester) is
# applied but never refuses.
rate=$((count * 2 > 1000 ? count * 2 : 1000))

build=${SOMA_BENCH_BUILD_DIR:-build/bench}
if [ -z "${SOMA_BENCH_SKIP_BUILD:-}" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOMA_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" --target soma-daemon soma join_bench >/dev/null
fi
daemon_bin=$build/apps/soma-daemon/soma-daemon
soma_bin=$build/apps/soma/soma
bench_bin=$build/bench/join_bench

work=$(mktemp -d "$work_parent/soma-join-bench-XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT

soma_on() { local d=$1; shift; "$soma_bin" --data-dir "$work/$d" "$@"; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# The daemon's 127.0.0.1 address, ending in /p2p/<its id>.
loopback_addr() {
  soma_on "$1" status --json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
for a in doc["listen_addrs"]:
    if a.startswith("/ip4/127.0.0.1/tcp/"):
        print(a if "/p2p/" in a else a + "/p2p/" + doc["peer_id"])
        break
else:
    sys.exit("no 127.0.0.1 listen address")'
}

start_daemon() {
  mkdir -m 700 "$work/$1"
  "$daemon_bin" --data-dir "$work/$1" --listen /ip4/127.0.0.1/tcp/0 \
    >"$work/$1.out" 2>"$work/$1.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^ready' "$work/$1.out" 2>/dev/null && return; sleep 0.1; done
  echo "daemon $1 did not start:" >&2; cat "$work/$1.log" >&2; exit 1
}

echo "== machine"
echo "cores=$(nproc) cpu=\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\""

echo "== daemons"
start_daemon a
start_daemon c
a_id=$(soma_on a status --json | json_field peer_id)
c_addr=$(loopback_addr c)
space=$(soma_on a space create Bench --json | json_field id)
soma_on a delegate "$space" "$c_addr" --roles "$role" --rate "$rate/h" --json >/dev/null
for _ in $(seq 300); do
  soma_on c spaces --json | grep -q "\"$space\"" && break
  sleep 0.1
done
soma_on c spaces --json | grep -q "\"$space\"" || { echo "C never received the delegation" >&2; exit 1; }
echo "owner=$a_id delegate=$c_addr space=$space role=$role rate_per_hour=$rate"
# What limits a run: per requester, 10 join requests a minute and 4
# pending (each join here is a new peer); 256 requests pending in all
# (approved ones do not count); the delegation's rate above. The owner
# takes 30 pushes a minute from one peer, so C's reports of what it issued
# reach A at that pace, after the run.
echo "limits: per_peer=10/min pending_total=256 delegation_rate=$rate/h owner_reports=30/min"

echo "== joins"
"$bench_bin" "$c_addr" "$space" "$a_id" --count "$count" --role "$role"

echo "== afterwards"
# Every approval must end recorded as delivered: join_bench acknowledges
# each delivery before it lets its peer go (C records it just after).
delivery_states() {
  soma_on c requests --incoming --state approved --json | python3 -c '
import collections, json, sys
rs = json.load(sys.stdin)["requests"]
states = collections.Counter(r.get("delivery", "") for r in rs)
print("c_approved_requests=%d delivery=%s" % (
    len(rs), ",".join("%s:%d" % kv for kv in sorted(states.items()))))'
}
want="c_approved_requests=$count delivery=delivered:$count"
[ "$count" -gt 1000 ] && want="c_approved_requests=1000 delivery=delivered:1000"  # listings stop at 1000
for _ in $(seq 50); do [ "$(delivery_states)" = "$want" ] && break; sleep 0.1; done
states=$(delivery_states)
echo "$states"
# What A learned of so far: C's reports of what it issued reach it at 30 a
# minute.
soma_on a members "$space" --json | python3 -c '
import json, sys
ms = json.load(sys.stdin)["members"]
print("a_memberships_reported=%d" % sum(1 for m in ms if m["kind"] == "membership"))'
echo "c_rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/${pids[1]}/status")"
[ "$states" = "$want" ] || { echo "expected $want" >&2; exit 1; }
