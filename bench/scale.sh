#!/usr/bin/env bash
# Scale benchmark: builds N network namespaces, each with a veth to a host
# bridge (every fourth also holding a process, like a container) and a
# container's layer 3: lo and eth0 up, an address in the bridge's subnet, a
# default route via the bridge's address, three extra policy rules per
# family and a permanent neighbour (the gateway). Then it times, in one
# hyperfine run per N, side by side:
#   nsmap snapshot                                 (full map with layer 3:
#                                                   routes, rules, neighbours,
#                                                   netconf, sysctls)
#   nsmap links --json                             (wiring only: discovery,
#                                                   links, addresses, peers
#                                                   resolved, processes and
#                                                   containers named)
#   $BASELINE links --json, $BASELINE snapshot     (another build, when
#                                                   BASELINE is set: the same
#                                                   wiring-only command, and
#                                                   its full map)
#   for ns in $(ip netns list); do ip -n "$ns" -j -d link; done   (iproute2)
#   lsns -t net -J                                 (discovery only)
# plus nsmap's CPU time, peak RSS and per-phase times (layer-3 scan), and
# prints a summary: ratios, cost per namespace, and growth from one N to
# the next. Everything it builds is torn down, also on error or Ctrl-C.
#
#   sudo bench/scale.sh                    # N = 100 500 1000 2000
#   sudo bench/scale.sh 300                # any sizes
#   RUNS=20 sudo bench/scale.sh 1000       # more runs per command
#   BASELINE=OTHER_NSMAP sudo bench/scale.sh 1000
#                                          # and another build's nsmap, same run
# Needs root, iproute2, util-linux (lsns, nsenter), hyperfine and GNU time;
# builds nsmap --release.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 500 1000 2000)
runs=${RUNS:-10}
prefix=nsb
pids=()

teardown() (
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  # Deleting a veth removes both ends at once; deleting a namespace would
  # leave the host ends to the kernel's asynchronous cleanup.
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$prefix-v" | sed 's/^/link del /' > "$tmp/del"
  ip netns list | awk '{print $1}' | grep "^$prefix-" | sed 's/^/netns del /' >> "$tmp/del"
  ip -force -batch "$tmp/del" 2>/dev/null
  for b in $(ip -o link show type bridge | awk -F': ' '{print $2}' | grep "^$prefix-br"); do ip link del "$b"; done
  true
)
# Waits (at most 60 s) until the CPUs are 90% idle over a second: the
# kernel frees deleted namespaces on a work queue, seconds after the
# teardown of the previous N, and that must not be timed as this N.
settle() {
  local a b idle total i
  for _ in $(seq 60); do
    read -ra a < /proc/stat; sleep 1; read -ra b < /proc/stat
    idle=$(( b[4] - a[4] )); total=0
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    [ $(( idle * 100 )) -ge $(( total * 90 )) ] && return 0
  done
  echo "bench/scale.sh: the machine did not settle; timings may be noisy" >&2
}
tmp=$(mktemp -d)
trap 'teardown; rm -rf "$tmp"' EXIT

for tool in hyperfine lsns nsenter /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/scale.sh needs $tool" >&2; exit 1; }
done
cargo build --release --quiet
nsmap=$PWD/target/release/nsmap
ulimit -n "$(ulimit -Hn)"
echo "machine: $(nproc) cores, $(uname -r), nsmap $("$nsmap" --version | cut -d' ' -f2)"
baseline=()
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE" ] || { echo "bench/scale.sh: BASELINE=$BASELINE is not an executable" >&2; exit 1; }
  baseline=(-n baseline "$BASELINE links --json --quiet > /dev/null"
            -n baseline-snapshot "$BASELINE snapshot --compact --quiet > /dev/null")
fi

: > "$tmp/summary"
for n in "${sizes[@]}"; do
  teardown
  pids=()
  # A bridge takes at most 1024 ports (BR_MAX_PORTS): one per 1000, each
  # with its own /16 (10.200.0.0/16, 10.201.0.0/16, …) and gateway .0.1.
  for b in $(seq 0 $(( (n - 1) / 1000 ))); do
    ip link add "$prefix-br$b" type bridge
    ip addr add "10.$(( 200 + b )).0.1/16" dev "$prefix-br$b"
  done
  for i in $(seq 1 "$n"); do
    echo "netns add $prefix-$i"
    echo "link add $prefix-v$i type veth peer name eth0 netns $prefix-$i"
    echo "link set $prefix-v$i master $prefix-br$(( (i - 1) / 1000 )) up"
  done > "$tmp/up"
  ip -batch "$tmp/up"
  # Layer 3 inside each namespace: `ip -batch` per namespace and family
  # (batch lines take no -n and no -6).
  for i in $(seq 1 "$n"); do
    b=$(( (i - 1) / 1000 )); j=$(( (i - 1) % 1000 + 2 ))
    gw="10.$(( 200 + b )).0.1"
    me="10.$(( 200 + b )).$(( j / 256 )).$(( j % 256 ))"
    printf '%s\n' \
      "link set lo up" \
      "link set eth0 up" \
      "addr add $me/16 dev eth0" \
      "route add default via $gw" \
      "rule add from $me lookup 100 pref 100" \
      "rule add to 10.99.0.0/16 lookup 101 pref 101" \
      "rule add fwmark 0x1/0xff lookup 102 pref 102" \
      "neigh add $gw lladdr 02:00:00:00:00:01 dev eth0 nud permanent" > "$tmp/l3"
    printf '%s\n' \
      "rule add from fd7b:$i::/64 lookup 100 pref 100" \
      "rule add to fd7c::/16 lookup 101 pref 101" \
      "rule add from fd7d::/16 to fd7e::/16 lookup 102 pref 102" > "$tmp/l3v6"
    ip -n "$prefix-$i" -batch "$tmp/l3"
    ip -6 -n "$prefix-$i" -batch "$tmp/l3v6"
  done
  for i in $(seq 1 4 "$n"); do
    # nsenter joins only the network namespace; `ip netns exec` would also
    # give each process a private mount namespace holding every /run/netns
    # mount, which nsmap must read too (~1 ms each at 300 namespaces).
    nsenter --net="/run/netns/$prefix-$i" sleep 3600 &
    pids+=($!)
  done
  settle
  echo
  echo "== $n namespaces"
  hyperfine --warmup 2 --runs "$runs" --style basic --export-csv "$tmp/$n.csv" \
    -n nsmap-l3 "$nsmap snapshot --compact --quiet > /dev/null" \
    -n nsmap-l2 "$nsmap links --json --quiet > /dev/null" \
    "${baseline[@]}" \
    -n ip-loop 'for ns in $(ip netns list | cut -d" " -f1); do ip -n "$ns" -j -d link > /dev/null; done' \
    -n lsns "lsns -t net -J > /dev/null"
  /usr/bin/time -f "%U %S %M" -o "$tmp/time" "$nsmap" snapshot --compact --quiet > "$tmp/snap.json"
  phases=$(grep -o '"phases_ms":{[^}]*}' "$tmp/snap.json" | sed 's/"phases_ms"://; s/[{}"]//g; s/,/ /g')
  read -r user sys rss < "$tmp/time"
  mean() { awk -F, -v c="$1" '$1 == c { found = 1; printf "%.1f", $2 * 1000 } END { if (!found) printf "0" }' "$tmp/$n.csv"; }
  echo "$n $(mean nsmap-l3) $(mean nsmap-l2) $(mean baseline) $(mean ip-loop) $(mean lsns) $user $sys $rss $(mean baseline-snapshot) $phases" >> "$tmp/summary"
  echo "nsmap phases (ms): $phases"
done

echo
echo "| N | nsmap L3 ms | nsmap L2 ms | baseline L2 ms | baseline snapshot ms | L3 / L2 | L2 / baseline L2 | ip loop ms | lsns ms | ip loop / L3 | L3 µs per ns | L3 growth | L2 growth | L3 CPU user+sys s | L3 peak RSS MiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk '{
  growth3 = (prev_n > 0) ? sprintf("%.2f× for %.1f× N", $2 / prev_3, $1 / prev_n) : "-";
  growth2 = (prev_n > 0) ? sprintf("%.2f×", $3 / prev_2) : "-";
  base = ($4 > 0) ? sprintf("%.1f", $4) : "-";
  ratio = ($4 > 0) ? sprintf("%.2f", $3 / $4) : "-";
  basesnap = ($10 > 0) ? sprintf("%.1f", $10) : "-";
  printf "| %d | %.1f | %.1f | %s | %s | %.2f | %s | %.1f | %.1f | %.0f× | %.0f | %s | %s | %.2f | %.1f |\n",
    $1, $2, $3, base, basesnap, $2 / $3, ratio, $5, $6, $5 / $2, $2 * 1000 / $1, growth3, growth2, $7 + $8, $9 / 1024;
  prev_n = $1; prev_3 = $2; prev_2 = $3;
}' "$tmp/summary"
