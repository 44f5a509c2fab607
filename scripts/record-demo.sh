#!/usr/bin/env bash
# Builds a small container-host topology, records `nsmap snapshot` of it to
# assets/demo.json (or $1), and tears everything down again, also on error.
# Run as root from the repository root after `cargo build --release`.
#
#   host: bridge cni0 (10.88.0.1/16) with veth ports to web, db, cache and a
#         namespace held only by a process; a tap (a VM) on cni0; bridge
#         br-ext with a vxlan on it; cache's wire is down.
#   web:  eth0 → cni0; ext0 macvlan on the host's br-ext.
#   db ↔ cache: a direct veth pair (backend0), no host side at all.
set -euo pipefail
out=${1:-assets/demo.json}
nsmap=${NSMAP:-target/release/nsmap}
pod_pid=""

cleanup() {
  set +e
  [ -n "$pod_pid" ] && kill "$pod_pid" 2>/dev/null && wait "$pod_pid" 2>/dev/null
  for ns in web db cache; do ip netns del "$ns" 2>/dev/null; done
  for l in cni0 br-ext tap0 vxlan100 veth9c1e44d2; do ip link del "$l" 2>/dev/null; done
}
trap cleanup EXIT

ip link add cni0 type bridge
ip addr add 10.88.0.1/16 dev cni0
ip link set cni0 up
ip link add br-ext type bridge
ip link set br-ext up

i=2
for pair in web:veth3f2a91c0 db:veth5b7e02d4 cache:veth8d4c6f1a; do
  ns=${pair%%:*}; host=${pair##*:}
  ip netns add "$ns"
  ip link add "$host" type veth peer name eth0 netns "$ns"
  ip link set "$host" master cni0 up
  ip -n "$ns" addr add "10.88.0.$i/16" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  i=$((i + 1))
done
ip -n cache link set eth0 down

# A namespace that only a process holds (no /run/netns entry), like a container.
unshare --net sleep 600 &
pod_pid=$!
sleep 0.2
ip link add veth9c1e44d2 type veth peer name eth0 netns "/proc/$pod_pid/ns/net"
ip link set veth9c1e44d2 master cni0 up
nsenter --net="/proc/$pod_pid/ns/net" ip addr add 10.88.0.9/16 dev eth0
nsenter --net="/proc/$pod_pid/ns/net" ip link set eth0 up
nsenter --net="/proc/$pod_pid/ns/net" ip link set lo up

ip -n db link add backend0 type veth peer name backend0 netns cache
ip -n db addr add 192.168.100.1/30 dev backend0
ip -n cache addr add 192.168.100.2/30 dev backend0
ip -n db link set backend0 up

ip link add ext0 link br-ext type macvlan mode bridge
ip link set ext0 netns web
ip -n web link set ext0 up
ip link add vxlan100 type vxlan id 100 dstport 4789 dev br-ext
ip link set vxlan100 up
ip tuntap add dev tap0 mode tap
ip link set tap0 master cni0

"$nsmap" snapshot > "$out"
echo "recorded $out"
