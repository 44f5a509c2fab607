#!/usr/bin/env bash
# Capture benchmark: an iperf3 stream through a veth pair between two test
# namespaces, captured side by side in one run, on the same interface, by
#   nsmap capture eth0@A -w F1              (libpcap on a thread setns'd into A)
#   ip netns exec A tcpdump -i eth0 -w F2   (the reference)
# Both use a 4 MiB kernel buffer and a full snap length. Reports, for each:
# packets written, the kernel's drops (PACKET_STATISTICS, as each tool
# prints it), packets per second and CPU time per packet (user + system of
# the whole process, from /proc/PID/stat, counted from when both are
# capturing), and the ratio nsmap/tcpdump.
#
#   sudo bench/capture.sh                  # TCP, 10 s
#   SECS=20 sudo bench/capture.sh          # longer
#   PROTO=udp RATE=2G LEN=1400 sudo bench/capture.sh
#                                          # a UDP flood of 1400-byte datagrams
#   RUNS=3 sudo bench/capture.sh           # several runs
# Needs root, iproute2, iperf3, tcpdump and capinfos (tshark); builds nsmap
# --release. Everything it builds is torn down, also on error or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${SECS:-10}
proto=${PROTO:-tcp}
rate=${RATE:-0}
len=${LEN:-}
runs=${RUNS:-1}
a=nscap-a
b=nscap-b
work=$(mktemp -d /tmp/nsmap-capture-bench.XXXXXX)
pids=()

teardown() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$work"
}
trap teardown EXIT INT TERM

cargo build --release --quiet
nsmap=${CARGO_TARGET_DIR:-target}/release/nsmap
hz=$(getconf CLK_TCK)

ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add eth0 type veth peer name eth0 netns "$b"
ip -n "$a" addr add 10.78.0.1/24 dev eth0
ip -n "$b" addr add 10.78.0.2/24 dev eth0
for ns in "$a" "$b"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
done

# user + system ticks of a process (all its threads)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run_once() {
  local n=$1
  rm -f "$work"/*.pcapng
  ip netns exec "$b" iperf3 -s -D -1 >/dev/null 2>&1 || true
  "$nsmap" capture "eth0@$a" -w "$work/nsmap.pcapng" 2>"$work/nsmap.err" &
  local np=$!
  pids+=("$np")
  ip netns exec "$a" tcpdump -i eth0 -B 4096 -s 262144 -w "$work/tcpdump.pcapng" 2>"$work/tcpdump.err" &
  local tp=$!
  pids+=("$tp")
  # Both capturing: nsmap has written its header, tcpdump said "listening".
  for _ in $(seq 200); do
    [ -s "$work/nsmap.pcapng" ] && grep -q listening "$work/tcpdump.err" && break
    sleep 0.05
  done
  local n0 t0
  n0=$(ticks "$np")
  t0=$(ticks "$tp")
  local args=(-c 10.78.0.2 -t "$secs")
  [ "$proto" = udp ] && args+=(-u -b "$rate")
  [ -n "$len" ] && args+=(-l "$len")
  ip netns exec "$a" iperf3 "${args[@]}" >"$work/client.log"
  local n1 t1
  n1=$(ticks "$np")
  t1=$(ticks "$tp")
  kill -INT "$np" "$tp"
  wait "$np" "$tp" || true
  local npk tpk nd td
  npk=$(capinfos -M -c "$work/nsmap.pcapng" | awk '/Number of packets/ { print $NF }')
  tpk=$(capinfos -M -c "$work/tcpdump.pcapng" | awk '/Number of packets/ { print $NF }')
  nd=$(sed -n 's/.*, \([0-9]*\) dropped by the kernel.*/\1/p' "$work/nsmap.err")
  td=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$work/tcpdump.err")
  local stream
  stream=$(grep -E 'sender|receiver' "$work/client.log" | tail -1 | awk '{ print $7, $8 }')
  awk -v run="$n" -v secs="$secs" -v hz="$hz" -v stream="$stream" \
    -v npk="$npk" -v tpk="$tpk" -v nd="${nd:-?}" -v td="${td:-?}" \
    -v nc=$((n1 - n0)) -v tc=$((t1 - t0)) 'BEGIN {
      ncpu = nc / hz; tcpu = tc / hz
      nper = npk ? ncpu / npk * 1e6 : 0; tper = tpk ? tcpu / tpk * 1e6 : 0
      printf "run %d: iperf3 %s for %d s\n", run, stream, secs
      printf "  %-8s %10s %10s %8s %10s %12s\n", "", "packets", "pkts/s", "drops", "cpu s", "cpu us/pkt"
      printf "  %-8s %10d %10.0f %8s %10.2f %12.3f\n", "nsmap", npk, npk / secs, nd, ncpu, nper
      printf "  %-8s %10d %10.0f %8s %10.2f %12.3f\n", "tcpdump", tpk, tpk / secs, td, tcpu, tper
      if (tper > 0) printf "  nsmap/tcpdump cpu per packet: %.2f\n", nper / tper
    }'
}

for n in $(seq "$runs"); do
  run_once "$n"
done
