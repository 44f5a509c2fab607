//! Root tests of the interface counters: a veth pair between two test
//! namespaces, a known number of packets of a known size sent across it,
//! and nsmap's counters for both ends compared with `ip -s -s -j link`
//! taken right after the scan (no traffic in between, so they must be
//! equal), and with the exact growth the packets imply.
//!
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).

mod common;

use std::process::Command;

use common::{Topology, exec_in, inode_of, ip};
use nsmap::resolve::resolve;
use nsmap::snapshot::{LinkStats, Snapshot};
use nsmap::sys::{ScanOptions, scan};
use serde_json::{Value, json};

fn scan_stats(stats: bool) -> Snapshot {
    resolve(
        &scan(&ScanOptions {
            stats,
            ..ScanOptions::default()
        })
        .expect("scan succeeds"),
    )
}

fn stats_of(snapshot: &Snapshot, netns: &str, ifname: &str) -> (LinkStats, u64) {
    let inode = inode_of(format!("/run/netns/{netns}"));
    let ns = snapshot
        .namespaces
        .iter()
        .find(|n| n.inode == inode)
        .expect("namespace scanned");
    let i = ns
        .interfaces
        .iter()
        .find(|i| i.ifname.as_str() == ifname)
        .expect("interface scanned");
    (
        i.stats.clone().expect("counters read"),
        ns.stats_at_ns.expect("time of the counters"),
    )
}

/// `ip -s -s -j link show DEV` in NETNS, as nsmap names the counters:
/// `rx.bytes` → `rx_bytes`, `rx.multicast` → `multicast`, `tx.collisions`
/// → `collisions`, `tx.carrier_changes` → `carrier_changes`.
fn oracle(netns: &str, ifname: &str) -> serde_json::Map<String, Value> {
    let out = Command::new("ip")
        .args(["-n", netns, "-s", "-s", "-j", "link", "show", "dev", ifname])
        .output()
        .expect("run ip");
    assert!(out.status.success());
    let links: Vec<Value> = serde_json::from_slice(&out.stdout).expect("ip -j");
    let stats = &links[0]["stats64"];
    let mut named = serde_json::Map::new();
    for dir in ["rx", "tx"] {
        for (k, v) in stats[dir].as_object().expect("stats64 parts") {
            let key = match (dir, k.as_str()) {
                ("rx", "multicast") | ("tx", "collisions" | "carrier_changes") => k.clone(),
                ("rx", "otherhost") => "rx_otherhost_dropped".to_string(),
                _ => format!("{dir}_{k}"),
            };
            named.insert(key, v.clone());
        }
    }
    named
}

/// Every counter iproute2 prints equals nsmap's.
fn assert_matches_ip(ours: &LinkStats, netns: &str, ifname: &str) {
    let ours = serde_json::to_value(ours).expect("serializes");
    let theirs = oracle(netns, ifname);
    assert!(theirs.len() >= 20, "ip printed too little: {theirs:?}");
    for (k, v) in &theirs {
        assert_eq!(&ours[k], v, "{k} of {ifname} in {netns}");
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn counters_equal_iproute2_and_grow_by_what_was_sent() {
    let mut t = Topology::new("stats_counters");
    let a = t.netns("a");
    let b = t.netns("b");
    let (va, vb) = (t.name("va"), t.name("vb"));
    for ns in [&a, &b] {
        // No IPv6: router solicitations and DAD would add packets of their
        // own to the counters being checked.
        exec_in(
            ns,
            &["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"],
            "",
        );
        exec_in(
            ns,
            &["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"],
            "",
        );
    }
    ip(&[
        "-n",
        &a,
        "link",
        "add",
        &va,
        "address",
        "02:00:00:00:fd:01",
        "type",
        "veth",
        "peer",
        "name",
        &vb,
        "address",
        "02:00:00:00:fd:02",
        "netns",
        &b,
    ]);
    ip(&["-n", &a, "addr", "add", "10.253.1.1/24", "dev", &va]);
    ip(&["-n", &b, "addr", "add", "10.253.1.2/24", "dev", &vb]);
    // Permanent neighbours: no ARP during the measurement.
    ip(&[
        "-n",
        &a,
        "neigh",
        "add",
        "10.253.1.2",
        "lladdr",
        "02:00:00:00:fd:02",
        "dev",
        &va,
        "nud",
        "permanent",
    ]);
    ip(&[
        "-n",
        &b,
        "neigh",
        "add",
        "10.253.1.1",
        "lladdr",
        "02:00:00:00:fd:01",
        "dev",
        &vb,
        "nud",
        "permanent",
    ]);
    ip(&["-n", &a, "link", "set", &va, "up"]);
    ip(&["-n", &b, "link", "set", &vb, "up"]);

    // The wiring-only scan reads no counters at all.
    let plain = scan_stats(false);
    let inode = inode_of(format!("/run/netns/{a}"));
    let ns = plain
        .namespaces
        .iter()
        .find(|n| n.inode == inode)
        .expect("a");
    assert_eq!(ns.stats_at_ns, None);
    assert!(ns.interfaces.iter().all(|i| i.stats.is_none()));

    let before = scan_stats(true);
    let (a0, t0) = stats_of(&before, &a, &va);
    let (b0, _) = stats_of(&before, &b, &vb);
    assert_matches_ip(&a0, &a, &va);
    assert_matches_ip(&b0, &b, &vb);

    const N: u64 = 7;
    const SIZE: u64 = 300;
    exec_in(
        &a,
        &[
            "busybox",
            "ping",
            "-c",
            "7",
            "-s",
            "300",
            "-i",
            "0.1",
            "-W",
            "2",
            "-q",
            "10.253.1.2",
        ],
        "",
    );

    // Five frames of an EtherType nothing takes (LLDP's): b counts each in
    // rx_dropped, so that counter is checked with a value of its own.
    const RAW: u64 = 5;
    exec_in(
        &a,
        &[
            "python3",
            "-c",
            "import socket,sys\n\
             s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n\
             s.bind((sys.argv[1],0))\n\
             f=bytes.fromhex('0180c200000e02000000fd01')+b'\\x88\\xcc'+bytes(46)\n\
             [s.send(f) for _ in range(5)]",
            &va,
        ],
        "",
    );

    let after = scan_stats(true);
    let (a1, t1) = stats_of(&after, &a, &va);
    let (b1, _) = stats_of(&after, &b, &vb);
    assert_matches_ip(&a1, &a, &va);
    assert_matches_ip(&b1, &b, &vb);
    assert!(t1 > t0, "the counters' time advances");

    // An echo request or reply on the wire: Ethernet 14 + IPv4 20 + ICMP 8
    // + payload.
    // The raw frames are 60 bytes each.
    let frame = 14 + 20 + 8 + SIZE;
    let grew = |x: u64, y: u64| y - x;
    assert_eq!(
        json!({
            "a_tx_packets": grew(a0.tx_packets, a1.tx_packets),
            "a_rx_packets": grew(a0.rx_packets, a1.rx_packets),
            "a_tx_bytes": grew(a0.tx_bytes, a1.tx_bytes),
            "a_rx_bytes": grew(a0.rx_bytes, a1.rx_bytes),
            "b_rx_packets": grew(b0.rx_packets, b1.rx_packets),
            "b_tx_packets": grew(b0.tx_packets, b1.tx_packets),
            "b_rx_bytes": grew(b0.rx_bytes, b1.rx_bytes),
            "b_rx_dropped": grew(b0.rx_dropped, b1.rx_dropped),
        }),
        json!({
            "a_tx_packets": N + RAW,
            "a_rx_packets": N,
            "a_tx_bytes": N * frame + RAW * 60,
            "a_rx_bytes": N * frame,
            "b_rx_packets": N + RAW,
            "b_tx_packets": N,
            "b_rx_bytes": N * frame + RAW * 60,
            "b_rx_dropped": RAW,
        })
    );
    // Every counter that moved has a value of its own, so a field read at
    // the wrong offset could not match iproute2 above by chance.
    assert_eq!(b1.carrier_changes, Some(2));
    assert_eq!(a1.tx_dropped, a0.tx_dropped);

    // The same counters through the binary's JSON.
    let out = common::nsmap()
        .args(["links", "--stats", "--json", "--ns", &a])
        .output()
        .expect("run nsmap");
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("links --json");
    let row = rows
        .iter()
        .find(|r| r["ifname"] == va.as_str())
        .expect("va listed");
    let theirs = oracle(&a, &va);
    assert_eq!(row["stats"]["tx_packets"], theirs["tx_packets"]);
    assert_eq!(row["stats"]["rx_bytes"], theirs["rx_bytes"]);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn doctor_sample_names_a_veth_whose_peer_is_down() {
    let mut t = Topology::new("stats_doctor_sample");
    let a = t.netns("a");
    let b = t.netns("b");
    let (va, vb) = (t.name("va"), t.name("vb"));
    ip(&[
        "-n", &a, "link", "add", &va, "type", "veth", "peer", "name", &vb, "netns", &b,
    ]);
    ip(&["-n", &a, "addr", "add", "10.253.2.1/24", "dev", &va]);
    ip(&[
        "-n",
        &a,
        "neigh",
        "add",
        "10.253.2.2",
        "lladdr",
        "02:00:00:00:fd:03",
        "dev",
        &va,
        "nud",
        "permanent",
    ]);
    // va is up, its peer vb is not: veth_xmit drops every frame.
    ip(&["-n", &a, "link", "set", &va, "up"]);
    let dropped = || oracle(&a, &va)["tx_dropped"].as_u64().expect("tx_dropped");
    let before = dropped();
    t.ping_in(&a, &["-i", "0.1", "-c", "100"], "10.253.2.2");
    let out = common::nsmap()
        .args([
            "doctor",
            "--sample",
            "1.5",
            "--json",
            "--fail-on",
            "warning",
        ])
        .args(["--ns", &a])
        .output()
        .expect("run nsmap");
    assert!(dropped() > before, "the kernel counted drops meanwhile");
    // The warning makes --fail-on warning exit 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("doctor --json");
    let veth: Vec<&Value> = findings.iter().filter(|f| f["code"] == "NSM037").collect();
    assert_eq!(veth.len(), 1, "{findings:#?}");
    let f = veth[0];
    assert_eq!(f["interfaces"][0]["ifname"], va.as_str());
    assert_eq!(f["interfaces"][1]["ifname"], vb.as_str());
    let message = f["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("its peer {vb}@{b} is down")),
        "{message}"
    );
    assert_eq!(
        f["hint"].as_str(),
        Some(format!("ip -n {b} link set dev {vb} up").as_str())
    );

    // Without --sample the drops are facts, not findings; with --input,
    // --sample is refused.
    let out = common::nsmap()
        .args(["doctor", "--json", "--ns", &a])
        .output()
        .expect("run nsmap");
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("doctor --json");
    assert!(findings.iter().all(|f| f["code"] != "NSM037"));
    let out = common::nsmap()
        .args(["--input", "assets/demo.json", "doctor", "--sample", "1"])
        .output()
        .expect("run nsmap");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sample"));
}
