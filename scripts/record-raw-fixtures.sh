#!/usr/bin/env bash
# Records the raw-scan fixtures in tests/fixtures/raw/ from real kernel
# objects: builds each topology, runs `nsmap snapshot --raw`, keeps only the
# fixture's namespaces (and, from the host, only its links), tears down.
# Run as root from the repository root after `cargo build`.
set -euo pipefail
nsmap=${NSMAP:-target/debug/nsmap}
dir=tests/fixtures/raw
p=fx   # every name starts with this prefix

cleanup() {
  set +e
  [ -n "${evil_pid:-}" ] && kill "$evil_pid" 2>/dev/null
  rm -f "/tmp/$p-"*
  for ns in $(ip netns list | awk '{print $1}' | grep "^$p-"); do ip netns del "$ns"; done
  for l in $(ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^$p-"); do ip link del "$l"; done
}
trap cleanup EXIT
cleanup

record() { # record NAME: snapshot --raw, filtered to the fixture
  "$nsmap" snapshot --raw | python3 -c '
import json, sys
prefix = sys.argv[1]
raw = json.load(sys.stdin)
keep = []
for ns in raw["namespaces"]:
    named = any(n.startswith(prefix + "-") for n in ns["names"])
    if ns["current"]:
        ns["links"] = [l for l in ns["links"] if l["ifname"] == "lo" or l["ifname"].startswith(prefix + "-")]
        idx = {l["ifindex"] for l in ns["links"]}
        ns["addrs"] = [a for a in ns["addrs"] if a["ifindex"] in idx]
        ns["pids"] = ns["pids"][:1]
        ns["threads"], ns["holders"] = [], []
    if named or ns["current"]:
        keep.append(ns)
inodes = {ns["inode"] for ns in keep}
for ns in keep:
    ns["nsids"] = [a for a in ns["nsids"] if a["netns"] in inodes]
raw["namespaces"] = keep
raw["warnings"] = []
raw["scan"]["duration_ms"] = None
json.dump(raw, sys.stdout, indent=1)
print()
' "$p" > "$dir/$1.json"
  echo "recorded $dir/$1.json"
}

# 1. ifindex collisions: four namespaces with eth0 at ifindex 2, paired a↔b
#    and c↔d (equal ifindex on both ends); e to a host veth.
for n in a b c d e; do ip netns add "$p-$n"; done
ip -n "$p-a" link add eth0 type veth peer name eth0 netns "$p-b"
ip -n "$p-c" link add eth0 type veth peer name eth0 netns "$p-d"
ip link add "$p-h0" type veth peer name eth0 netns "$p-e"
record same-ifindex
cleanup

# 2. everything else: host bridge with a veth port to ns a; a↔b; a pair
#    inside b; a bridge inside b; macvlan and vxlan in c on a lower device in b.
for n in a b c; do ip netns add "$p-$n"; done
ip link add "$p-br" type bridge
ip link add "$p-p0" type veth peer name eth0 netns "$p-a"
ip link set "$p-p0" master "$p-br"
ip link set "$p-br" up
ip link set "$p-p0" up
ip -n "$p-a" link set eth0 up
ip -n "$p-a" addr add 10.1.0.2/24 dev eth0
ip -n "$p-a" link add to-b type veth peer name to-a netns "$p-b"
ip -n "$p-b" link add left type veth peer name right
ip -n "$p-b" link add br-in type bridge
ip -n "$p-b" link set left master br-in
ip -n "$p-b" link add mv0 link br-in type macvlan
ip -n "$p-b" link set mv0 netns "$p-c"
ip -n "$p-b" link add vx0 type vxlan id 7 dstport 4789 dev br-in
ip -n "$p-b" link set vx0 netns "$p-c"
record mixed
cleanup

# 3. hostile names: a namespace, interfaces and a process whose names hold
#    escape sequences, a bell, a non-UTF-8 byte and a backslash.
evil_ns=$(printf '%s-\033[31mred' "$p")
ip netns add "$evil_ns"
ip -n "$evil_ns" link add "$(printf '\033[2Jx\a')" type veth peer name "$(printf 'bad\377')"
ip -n "$evil_ns" link add 'back\slash' type bridge
exe="/tmp/$p-$(printf '\033]0;pwn\a')"
cp /bin/sleep "$exe"
ip netns exec "$evil_ns" "$exe" 600 &
evil_pid=$!
sleep 0.3
"$nsmap" snapshot --raw | python3 -c '
import json, sys
raw = json.load(sys.stdin)
keep = [ns for ns in raw["namespaces"] if any(n.startswith(sys.argv[1] + "-") for n in ns["names"])]
for ns in keep:
    ns["nsids"] = []
raw["namespaces"] = keep
raw["warnings"] = []
raw["scan"]["duration_ms"] = None
json.dump(raw, sys.stdout, indent=1)
print()
' "$p" > "$dir/hostile.json"
echo "recorded $dir/hostile.json"
ip netns del "$evil_ns"
