#!/usr/bin/env bash
# Records the layer-3 raw-scan fixtures in tests/fixtures/l3/ (inputs of the
# path engine's unit tests) from real kernel objects: builds each topology,
# runs `nsmap snapshot --raw`, keeps only the fixture's namespaces,
# tears down. Run as root from the repository root after `cargo build`.
#
# Every namespace gets lo up and IPv6 DAD off before its devices exist
# (accept_dad=0 on all and default), so link-local and nodad addresses are
# usable at once and the recording holds no tentative address. No traffic
# is sent: neighbour tables hold only what the kernel makes by itself and
# what a scenario adds.
set -euo pipefail
nsmap=${NSMAP:-target/debug/nsmap}
dir=tests/fixtures/l3
p=f3   # every name starts with this prefix

cleanup() {
  set +e
  for ns in $(ip netns list | awk '{print $1}' | grep "^$p-"); do ip netns del "$ns"; done
}
trap cleanup EXIT
cleanup
mkdir -p "$dir"

netns() { # netns NAME...: namespaces with lo up and DAD off
  for n in "$@"; do
    ip netns add "$p-$n"
    ip netns exec "$p-$n" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip -n "$p-$n" link set lo up
  done
}
wire() { # wire A DEV_IN_A B DEV_IN_B: a veth between two namespaces, both ends up
  ip -n "$p-$1" link add "$2" type veth peer name "$4" netns "$p-$3"
  ip -n "$p-$1" link set "$2" up
  ip -n "$p-$3" link set "$4" up
}
on() { local n=$1; shift; ip -n "$p-$n" "$@"; }
sys() { local n=$1; shift; ip netns exec "$p-$n" sysctl -q -w "$@"; }

record() { # record NAME: snapshot --raw, filtered to the fixture
  "$nsmap" snapshot --raw --quiet | python3 -c '
import json, sys
prefix = sys.argv[1]
raw = json.load(sys.stdin)
keep = [ns for ns in raw["namespaces"] if any(n.startswith(prefix + "-") for n in ns["names"])]
inodes = {ns["inode"] for ns in keep}
for ns in keep:
    ns["nsids"] = [a for a in ns["nsids"] if a["netns"] in inodes]
raw["namespaces"] = keep
raw["warnings"] = [w for w in raw["warnings"] if w.get("netns") in inodes]
raw["scan"]["duration_ms"] = None
raw["scan"]["phases_ms"] = None
json.dump(raw, sys.stdout, indent=1)
print()
' "$p" > "$dir/$1.json"
  echo "recorded $dir/$1.json"
}

# 1. router-forwarding: left (10.31.1.2/24) — router — right (10.31.2.2/24);
#    each end has a default route via the router, which forwards (IPv4
#    forwarding on in all and on both devices, IPv6 forwarding on).
#    IPv6 too: fd31:1::/64 and fd31:2::/64, nodad.
router() { # router FORWARDING
  netns left router right
  wire left eth0 router to-left
  wire right eth0 router to-right
  on left addr add 10.31.1.2/24 dev eth0
  on right addr add 10.31.2.2/24 dev eth0
  on router addr add 10.31.1.1/24 dev to-left
  on router addr add 10.31.2.1/24 dev to-right
  on left -6 addr add fd31:1::2/64 dev eth0 nodad
  on right -6 addr add fd31:2::2/64 dev eth0 nodad
  on router -6 addr add fd31:1::1/64 dev to-left nodad
  on router -6 addr add fd31:2::1/64 dev to-right nodad
  on left route add default via 10.31.1.1
  on right route add default via 10.31.2.1
  on left -6 route add default via fd31:1::1
  on right -6 route add default via fd31:2::1
  sys router "net.ipv4.conf.all.forwarding=$1" "net.ipv4.conf.to-left.forwarding=$1" \
    "net.ipv4.conf.to-right.forwarding=$1" "net.ipv6.conf.all.forwarding=$1"
}
router 1
record router-forwarding
cleanup

# 2. router-no-forwarding: the same, with forwarding off on the router
#    (all, both devices, IPv6): packets from left to right die there.
router 0
record router-no-forwarding
cleanup

# 3. multipath: src reaches 10.33.9.0/24 through two routers, r1 weight 1
#    and r2 weight 3 (one IPv4 route with RTA_MULTIPATH); both routers
#    forward to dst, which routes back the same way.
netns src r1 r2 dst
wire src to-r1 r1 to-src
wire src to-r2 r2 to-src
wire r1 to-dst dst to-r1
wire r2 to-dst dst to-r2
on src addr add 10.33.1.2/24 dev to-r1
on src addr add 10.33.2.2/24 dev to-r2
on r1 addr add 10.33.1.1/24 dev to-src
on r2 addr add 10.33.2.1/24 dev to-src
on r1 addr add 10.33.3.1/24 dev to-dst
on r2 addr add 10.33.4.1/24 dev to-dst
on dst addr add 10.33.3.2/24 dev to-r1
on dst addr add 10.33.4.2/24 dev to-r2
on dst addr add 10.33.9.1/24 dev lo
on src route add 10.33.9.0/24 nexthop via 10.33.1.1 dev to-r1 weight 1 nexthop via 10.33.2.1 dev to-r2 weight 3
on r1 route add 10.33.9.0/24 via 10.33.3.2
on r2 route add 10.33.9.0/24 via 10.33.4.2
on dst route add 10.33.0.0/16 nexthop via 10.33.3.1 dev to-r1 nexthop via 10.33.4.1 dev to-r2
for r in r1 r2; do sys "$r" net.ipv4.conf.all.forwarding=1; done
record multipath
cleanup

# 4. throw: host (10.34.0.2/24 on eth0, gateways gw-a 10.34.0.1 and gw-b
#    10.34.0.254) has `from all lookup 100 pref 100`; table 100 holds a
#    default via gw-b and `throw 10.34.8.0/21`, so that prefix falls through
#    to main, where it goes via gw-a.
netns host gw
wire host eth0 gw eth0
on host addr add 10.34.0.2/24 dev eth0
on gw addr add 10.34.0.1/24 dev eth0
on gw addr add 10.34.0.254/24 dev eth0
on host route add 10.34.8.0/21 via 10.34.0.1
on host route add default via 10.34.0.254 table 100
on host route add throw 10.34.8.0/21 table 100
on host rule add from all lookup 100 pref 100
record throw
cleanup

# 5. prohibit-blackhole: host (10.35.0.2/24, default via 10.35.0.1) with
#    `prohibit 10.35.1.0/24` and `blackhole 10.35.2.0/24` in main, and the
#    IPv6 equivalents (fd35:1::/64 prohibit, fd35:2::/64 blackhole).
netns host gw
wire host eth0 gw eth0
on host addr add 10.35.0.2/24 dev eth0
on gw addr add 10.35.0.1/24 dev eth0
on host -6 addr add fd35::2/64 dev eth0 nodad
on gw -6 addr add fd35::1/64 dev eth0 nodad
on host route add default via 10.35.0.1
on host route add prohibit 10.35.1.0/24
on host route add blackhole 10.35.2.0/24
on host -6 route add prohibit fd35:1::/64
on host -6 route add blackhole fd35:2::/64
record prohibit-blackhole
cleanup

# 6. suppress-prefixlength: the VPN pattern. host (10.36.0.2/24 on eth0 to
#    gw 10.36.0.1; 10.36.9.2/24 on tun0 to vpn 10.36.9.1) has main's default
#    via gw, and table 200's default via vpn; rules `lookup main
#    suppress_prefixlength 0 pref 100` (a main hit of /0 is discarded) then
#    `lookup 200 pref 200`: everything but the connected subnets goes to vpn.
netns host gw vpn
wire host eth0 gw eth0
wire host tun0 vpn tun0
on host addr add 10.36.0.2/24 dev eth0
on host addr add 10.36.9.2/24 dev tun0
on gw addr add 10.36.0.1/24 dev eth0
on vpn addr add 10.36.9.1/24 dev tun0
on host route add default via 10.36.0.1
on host route add default via 10.36.9.1 table 200
on host rule add lookup main suppress_prefixlength 0 pref 100
on host rule add lookup 200 pref 200
record suppress-prefixlength
cleanup

# 7. ipv6-link-local-gateway: host's IPv6 default route is via fe80::1 dev
#    eth0 (a next hop that only has a meaning with its device); the router
#    owns fe80::1/64 on its end and fd37:9::1/64 beyond, forwarding IPv6.
netns host router
wire host eth0 router to-host
on router -6 addr add fe80::1/64 dev to-host nodad
on router -6 addr add fd37:9::1/64 dev lo nodad
on host -6 addr add fd37::2/64 dev eth0 nodad
on host -6 route add default via fe80::1 dev eth0
on router -6 route add fd37::/64 dev to-host
sys router net.ipv6.conf.all.forwarding=1
record ipv6-link-local-gateway
cleanup

# 8. routing-loop: a (10.38.0.1/30) and b (10.38.0.2/30) each route
#    10.38.8.0/24 via the other, both forwarding: a packet for it ping-pongs
#    until its TTL runs out.
netns a b
wire a eth0 b eth0
on a addr add 10.38.0.1/30 dev eth0
on b addr add 10.38.0.2/30 dev eth0
on a route add 10.38.8.0/24 via 10.38.0.2
on b route add 10.38.8.0/24 via 10.38.0.1
for n in a b; do sys "$n" net.ipv4.conf.all.forwarding=1; done
record routing-loop
cleanup

# 9. policy-blackhole: host (10.39.0.2/24 and 10.39.0.3/24 on eth0, default
#    via 10.39.0.1) has `from 10.39.0.3 lookup 300 pref 100`; table 300 holds
#    only `blackhole default`: traffic bound to 10.39.0.3 is dropped, traffic
#    from 10.39.0.2 (or an unbound source) leaves via the gateway.
netns host gw
wire host eth0 gw eth0
on host addr add 10.39.0.2/24 dev eth0
on host addr add 10.39.0.3/24 dev eth0
on gw addr add 10.39.0.1/24 dev eth0
on host route add default via 10.39.0.1
on host route add blackhole default table 300
on host rule add from 10.39.0.3 lookup 300 pref 100
record policy-blackhole
cleanup
