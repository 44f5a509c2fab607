#!/usr/bin/env bash
# Cost of `nsmap top`: builds N network namespaces (default 1000), each
# with lo up and a veth to the host (host end up, so the host namespace
# holds N links too), then runs `nsmap top --json --interval 1
# --debug-timing` for WARMUP + SECS seconds and reports
#   - its average CPU use over SECS seconds after the warm-up (utime +
#     stime from /proc/PID/stat, in % of one core),
#   - each sample's dump time (mean, median, max; the samples where a
#     rediscovery ran are counted apart: that scan's time too),
#   - its peak RSS.
# Everything it builds is torn down, also on error or Ctrl-C.
#
#   sudo bench/top.sh              # N = 1000, 30 s
#   sudo bench/top.sh 2000 60      # N, seconds
# Needs root and iproute2; builds nsmap --release.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
secs=${2:-30}
warmup=${WARMUP:-5}
prefix=ntb
tmp=$(mktemp -d)
pid=

teardown() (
  set +e
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  # Deleting the host end removes both ends at once; deleting a namespace
  # would leave the host ends to the kernel's asynchronous cleanup.
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$prefix-v" | sed 's/^/link del /' > "$tmp/del"
  ip netns list | awk '{print $1}' | grep "^$prefix-" | sed 's/^/netns del /' >> "$tmp/del"
  ip -force -batch "$tmp/del" 2>/dev/null
  true
)
trap 'teardown; rm -rf "$tmp"' EXIT

CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target} cargo build --release --quiet
nsmap=${CARGO_TARGET_DIR:-$PWD/target}/release/nsmap
ulimit -n "$(ulimit -Hn)"
teardown
for i in $(seq 1 "$n"); do
  echo "netns add $prefix-$i"
  echo "link add $prefix-v$i type veth peer name eth0 netns $prefix-$i"
  echo "link set $prefix-v$i up"
done > "$tmp/up"
ip -batch "$tmp/up"
for i in $(seq 1 "$n"); do
  printf '%s\n' "link set lo up" "link set eth0 up"
done > "$tmp/inner"
for i in $(seq 1 "$n"); do ip -n "$prefix-$i" -batch "$tmp/inner" 2>/dev/null || true; done
# Let the kernel settle (deferred work after creating that many devices).
sleep 3
echo "machine: $(nproc) cores, $(uname -r); $n namespaces; sampling ${secs}s after ${warmup}s"

"$nsmap" top --json --interval 1 --debug-timing --quiet > "$tmp/out" 2> "$tmp/err" &
pid=$!
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
sleep "$warmup"
t0=$(ticks); s0=$(date +%s.%N)
sleep "$secs"
t1=$(ticks); s1=$(date +%s.%N)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
hz=$(getconf CLK_TCK)
awk -v a="$t0" -v b="$t1" -v s="$s0" -v e="$s1" -v hz="$hz" \
  'BEGIN { printf "cpu: %.2f%% of one core (%.2f s CPU over %.1f s)\n", (b - a) / hz / (e - s) * 100, (b - a) / hz, e - s }'
echo "peak RSS: $(( rss / 1024 )) MiB; lines printed: $(wc -l < "$tmp/out")"
# "nsmap: sample: N namespaces, M interfaces, dumps X ms[, rediscovery Y ms]"
# (the first sample, the baseline, is left out: it follows the start-up scan)
grep 'nsmap: sample:' "$tmp/err" | tail -n +2 > "$tmp/samples"
[ -s "$tmp/samples" ] || { echo "bench/top.sh: no samples" >&2; exit 1; }
head -1 "$tmp/samples" | awk '{ printf "samples of %d namespaces, %d interfaces\n", $3, $5 }'
awk '{ print $8 + 0 }' "$tmp/samples" | sort -n | awk '
  { v[NR] = $1; sum += $1 }
  END { printf "dumps per sample (%d samples): mean %.2f ms, median %.2f ms, p90 %.2f ms, max %.2f ms\n", NR, sum / NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], v[NR] }'
grep rediscovery "$tmp/samples" | awk '{ v = $11 + 0; sum += v; if (v > max) max = v }
  END { if (NR > 0) printf "rediscoveries: %d, mean %.1f ms, max %.1f ms\n", NR, sum / NR, max }'
