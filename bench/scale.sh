#!/usr/bin/env bash
# Scale benchmark: builds N network namespaces, each with a veth to one host
# bridge (every fourth also holding a process, like a container), then times
# in one hyperfine run, side by side:
#   nsmap snapshot                                 (full map: peers resolved)
#   for ns in $(ip netns list); do ip -n "$ns" -j -d link; done   (iproute2)
#   lsns -t net -J                                 (discovery only)
# and tears everything down, also on error or Ctrl-C.
#
#   sudo bench/scale.sh            # N = 100 300
#   sudo bench/scale.sh 500 1000   # any sizes
# Needs root, iproute2, util-linux (lsns) and hyperfine; builds nsmap --release.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 300)
prefix=nsb
bridge=${prefix}-br0
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
  ip link del "$bridge" 2>/dev/null
  true
)
tmp=$(mktemp -d)
trap 'teardown; rm -rf "$tmp"' EXIT

cargo build --release --quiet
nsmap=$PWD/target/release/nsmap
ulimit -n "$(ulimit -Hn)"

for n in "${sizes[@]}"; do
  teardown
  pids=()
  ip link add "$bridge" type bridge
  : > "$tmp/up"
  for i in $(seq 1 "$n"); do
    echo "netns add $prefix-$i"
    echo "link add $prefix-v$i type veth peer name eth0 netns $prefix-$i"
    echo "link set $prefix-v$i master $bridge up"
  done > "$tmp/up"
  ip -batch "$tmp/up"
  for i in $(seq 1 4 "$n"); do
    # nsenter joins only the network namespace; `ip netns exec` would also
    # give each process a private mount namespace holding every /run/netns
    # mount, which nsmap must read too (~1 ms each at 300 namespaces).
    nsenter --net="/run/netns/$prefix-$i" sleep 3600 &
    pids+=($!)
  done
  echo "== $n namespaces"
  hyperfine --warmup 2 --runs 10 --style basic --export-markdown "$tmp/result-$n.md" \
    -n "nsmap snapshot" "$nsmap snapshot --compact --quiet > /dev/null" \
    -n "ip -n NS -j -d link (loop)" 'for ns in $(ip netns list | cut -d" " -f1); do ip -n "$ns" -j -d link > /dev/null; done' \
    -n "lsns -t net -J" "lsns -t net -J > /dev/null"
  cat "$tmp/result-$n.md"
  /usr/bin/time -f "nsmap snapshot at $n namespaces: %e s wall, %U s user, %S s sys, %M KiB max RSS" \
    "$nsmap" snapshot --compact --quiet > /dev/null
done
