#!/usr/bin/env bash
# Builds a small container host and records `nsmap snapshot` of it to
# assets/demo.json (or $1). The host is a sandbox: a network namespace of
# its own with private mount and PID namespaces (its /run/netns a tmpfs,
# its /proc its own), so nsmap inside sees only the demo, and nothing of
# the machine it is recorded on is touched. Everything goes with the
# sandbox's PID 1 and its namespace, also on error.
# Run as root from the repository root after `cargo build --release`.
#
#   host: bridge cni0 (10.88.0.1/16) with veth ports to web, db, cache and
#         a namespace held only by a process; a tap (a VM) on cni0; bridge
#         br-ext with a vxlan on it; eth0 (203.0.113.10/24) to the uplink
#         isp, default route via it; IPv4 forwarding on; an nftables input
#         chain with a rule and an empty forward chain.
#   web:  eth0 → cni0, default via 10.88.0.1, and 192.168.100.0/30 via db;
#         ext0 macvlan on the host's br-ext.
#   db:   eth0 → cni0; backend0 to cache (192.168.100.1/30); does not
#         forward.
#   cache: eth0 → cni0, down; backend0 (192.168.100.2/30) down.
#   isp:  the uplink: forwards, but has no route beyond its own subnet.
set -euo pipefail
out=$(realpath -m "${1:-assets/demo.json}")
nsmap=$(realpath "${NSMAP:-target/release/nsmap}")
node=nsmap-demo-node
cleanup() { ip netns del "$node" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
ip netns add "$node"
export out nsmap
ip netns exec "$node" unshare --mount --pid --fork --mount-proc --propagation private \
  bash -euo pipefail -c '
# The sandbox is nsmap'\''s host: not a mount of itself, nor named.
umount /run/netns/nsmap-demo-node
mount -t tmpfs tmpfs /run/netns
sysctl -q -w net.ipv4.conf.all.forwarding=1
ip link set lo up

ip link add cni0 type bridge
ip addr add 10.88.0.1/16 dev cni0
ip link set cni0 up
ip link add br-ext type bridge
ip link set br-ext up

i=2
for pair in web:veth3f2a91c0 db:veth5b7e02d4 cache:veth8d4c6f1a; do
  ns=${pair%%:*}; host=${pair##*:}
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -q -w net.ipv4.conf.all.forwarding=0
  ip link add "$host" type veth peer name eth0 netns "$ns"
  ip link set "$host" master cni0 up
  ip -n "$ns" addr add "10.88.0.$i/16" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via 10.88.0.1
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
nsenter --net="/proc/$pod_pid/ns/net" ip route add default via 10.88.0.1

ip -n db link add backend0 type veth peer name backend0 netns cache
ip -n db addr add 192.168.100.1/30 dev backend0
ip -n cache addr add 192.168.100.2/30 dev backend0
ip -n db link set backend0 up
ip -n web route add 192.168.100.0/30 via 10.88.0.3

ip link add ext0 link br-ext type macvlan mode bridge
ip link set ext0 netns web
ip -n web link set ext0 up
ip link add vxlan100 type vxlan id 100 dstport 4789 dev br-ext
ip link set vxlan100 up
ip tuntap add dev tap0 mode tap
ip link set tap0 master cni0

ip netns add isp
ip link add eth0 type veth peer name wan0 netns isp
ip addr add 203.0.113.10/24 dev eth0
ip link set eth0 up
ip -n isp addr add 203.0.113.1/24 dev wan0
ip -n isp link set lo up
ip -n isp link set wan0 up
ip netns exec isp sysctl -q -w net.ipv4.conf.all.forwarding=1
ip route add default via 203.0.113.1

nft -f - <<EOF
table inet filter {
  chain input { type filter hook input priority 0; policy accept; ct state established,related accept; }
  chain forward { type filter hook forward priority 0; policy accept; }
}
EOF

# Let IPv6 link-local addresses finish duplicate address detection.
sleep 2
"$nsmap" snapshot > "$out"
'
echo "recorded $out"
