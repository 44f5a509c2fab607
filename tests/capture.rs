//! Root tests of `nsmap capture`: real namespaces, real pings, and the
//! real readers (tshark, tcpdump, pcap-file) as the oracle for the file.
//!
//! Every test namespace has IPv6 off and static neighbours, so the only
//! packets on its wires are the ones the test sends: counts are exact.
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Topology, exec_in, inode_of, ip, nsmap, wait_for};
use pcap_file::pcapng::blocks::interface_statistics::InterfaceStatisticsOption;
use pcap_file::pcapng::{Block, PcapNgReader};

/// A namespace with IPv6 off (no router or neighbour solicitations).
fn quiet_netns(topo: &mut Topology, suffix: &str) -> String {
    let ns = topo.netns(suffix);
    for key in ["all", "default"] {
        exec_in(
            &ns,
            &[
                "busybox",
                "sysctl",
                "-w",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ],
            "",
        );
    }
    ns
}

/// A veth `a_if`@a ↔ `b_if`@b, addressed 10.77.`net`.1 and .2, up, with
/// permanent neighbours (no ARP on the wire).
fn wire(a: &str, a_if: &str, b: &str, b_if: &str, net: u8) {
    let (mac_a, mac_b) = (
        format!("02:77:{net:02x}:00:00:01"),
        format!("02:77:{net:02x}:00:00:02"),
    );
    ip(&[
        "-n", a, "link", "add", a_if, "address", &mac_a, "type", "veth", "peer", "name", b_if,
        "address", &mac_b, "netns", b,
    ]);
    for (ns, dev, me, peer, mac) in [(a, a_if, 1, 2, &mac_b), (b, b_if, 2, 1, &mac_a)] {
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("10.77.{net}.{me}/24"),
            "dev",
            dev,
        ]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
        ip(&[
            "-n",
            ns,
            "neigh",
            "replace",
            &format!("10.77.{net}.{peer}"),
            "lladdr",
            mac,
            "dev",
            dev,
            "nud",
            "permanent",
        ]);
    }
}

/// Two quiet namespaces A and B on one veth (eth0 on both sides).
fn pair(topo: &mut Topology, net: u8) -> (String, String) {
    let a = quiet_netns(topo, "a");
    let b = quiet_netns(topo, "b");
    wire(&a, "eth0", &b, "eth0", net);
    (a, b)
}

fn ping(from: &str, to: &str, count: u32, extra: &[&str]) {
    let count = count.to_string();
    let mut argv = vec!["busybox", "ping", "-c", &count, "-i", "0.2", "-W", "2"];
    argv.extend_from_slice(extra);
    argv.push(to);
    exec_in(from, &argv, "");
}

/// `nsmap capture ARGS` in the background, stderr kept.
fn start(args: &[&str]) -> Child {
    nsmap()
        .arg("capture")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nsmap capture")
}

/// Waits until the file has its header (the handles are open by then).
fn wait_ready(file: &Path) {
    wait_for(|| std::fs::metadata(file).is_ok_and(|m| m.len() > 0));
}

/// Waits (at most 20 s) for the capture to end by itself.
fn finish(child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut child = child;
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "nsmap capture did not end: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// `tshark -r FILE -T fields -e …` lines, each split at tabs.
fn tshark(file: &Path, fields: &[&str], filter: Option<&str>) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    if let Some(f) = filter {
        cmd.args(["-Y", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

fn count(rows: &[Vec<String>], want: &[&str]) -> usize {
    rows.iter()
        .filter(|r| r.iter().map(String::as_str).eq(want.iter().copied()))
        .count()
}

/// `tcpdump -r FILE -n` lines (tcpdump reads pcapng too).
fn tcpdump(file: &Path) -> Vec<String> {
    let out = Command::new("tcpdump")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .output()
        .expect("run tcpdump");
    assert!(
        out.status.success(),
        "tcpdump -r: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The file's statistics blocks as (interface, ifrecv, ifdrop).
fn statistics(file: &Path) -> Vec<(u32, Option<u64>, Option<u64>)> {
    let bytes = std::fs::read(file).expect("read capture");
    let mut reader = PcapNgReader::new(bytes.as_slice()).expect("a pcapng file");
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        if let Block::InterfaceStatistics(isb) = block.expect("a valid block") {
            let recv = isb.options.iter().find_map(|o| match o {
                InterfaceStatisticsOption::IsbIfRecv(n) => Some(*n),
                _ => None,
            });
            let drop = isb.options.iter().find_map(|o| match o {
                InterfaceStatisticsOption::IsbIfDrop(n) => Some(*n),
                _ => None,
            });
            out.push((isb.interface_id, recv, drop));
        }
    }
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn file(topo: &mut Topology, name: &str) -> PathBuf {
    topo.path(std::env::temp_dir().join(format!("{}-{name}.pcapng", topo.prefix)))
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ten_pings_are_ten_requests_and_ten_replies_on_eth0_at_a() {
    let mut topo = Topology::new("capture-pings");
    let (a, _b) = pair(&mut topo, 1);
    let f = file(&mut topo, "pings");
    let target = format!("eth0@{a}");
    let child = start(&[&target, "-c", "20", "-w", f.to_str().expect("utf-8")]);
    wait_ready(&f);
    ping(&a, "10.77.1.2", 10, &[]);
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = tshark(&f, &["frame.interface_name", "icmp.type"], None);
    assert_eq!(rows.len(), 20, "{rows:?}");
    assert_eq!(count(&rows, &[&target, "8"]), 10, "{rows:?}");
    assert_eq!(count(&rows, &[&target, "0"]), 10, "{rows:?}");
    // The description carries the namespace's inode and the ifindex.
    let desc = tshark(&f, &["frame.interface_description"], None);
    let inode = inode_of(format!("/run/netns/{a}"));
    assert!(
        desc[0][0].contains(&format!("net:[{inode}]")) && desc[0][0].contains("ifindex "),
        "{desc:?}"
    );
    // tcpdump reads it too: the same 20 packets.
    let lines = tcpdump(&f);
    assert_eq!(lines.len(), 20, "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("ICMP echo request"))
            .count(),
        10
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("ICMP echo reply"))
            .count(),
        10
    );
    // One statistics block, with the kernel's counts: no drops.
    let stats = statistics(&f);
    assert_eq!(stats.len(), 1, "{stats:?}");
    assert!(
        stats[0].1.is_some_and(|n| n >= 20) && stats[0].2 == Some(0),
        "{stats:?}"
    );
    // The summary on stderr.
    assert!(
        stderr(&out).contains(&format!("{target}: 20 packets written")),
        "{}",
        stderr(&out)
    );
    // Nothing changed: no promiscuous mode unless asked.
    assert!(!exec_in(&a, &["ip", "link", "show", "eth0"], "").contains("PROMISC"));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn both_ends_of_the_veth_see_the_same_packets() {
    let mut topo = Topology::new("capture-both");
    let (a, b) = pair(&mut topo, 2);
    let f = file(&mut topo, "both");
    let target = format!("eth0@{a}");
    let child = start(&[
        &target,
        "--both",
        "-c",
        "40",
        "-w",
        f.to_str().expect("utf-8"),
    ]);
    wait_ready(&f);
    ping(&a, "10.77.2.2", 10, &[]);
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = tshark(&f, &["frame.interface_name", "icmp.type"], None);
    let peer = format!("eth0@{b}");
    for name in [&target, &peer] {
        assert_eq!(count(&rows, &[name, "8"]), 10, "{name}: {rows:?}");
        assert_eq!(count(&rows, &[name, "0"]), 10, "{name}: {rows:?}");
    }
    assert_eq!(statistics(&f).len(), 2);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_bridge_target_is_the_bridge_and_its_three_ports() {
    let mut topo = Topology::new("capture-bridge");
    let hub = quiet_netns(&mut topo, "hub");
    ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &hub, "link", "set", "br0", "up"]);
    let mut leaves = Vec::new();
    for i in 1..=3u8 {
        let leaf = quiet_netns(&mut topo, &format!("l{i}"));
        let port = format!("p{i}");
        ip(&[
            "-n", &hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
            &leaf,
        ]);
        ip(&["-n", &hub, "link", "set", &port, "master", "br0", "up"]);
        ip(&[
            "-n",
            &leaf,
            "addr",
            "add",
            &format!("10.77.3.{i}/24"),
            "dev",
            "eth0",
        ]);
        ip(&["-n", &leaf, "link", "set", "eth0", "up"]);
        leaves.push(leaf);
    }
    let f = file(&mut topo, "bridge");
    let bridge = format!("br0@{hub}");
    let child = start(&[
        "--bridge",
        &bridge,
        "--duration",
        "3",
        "-w",
        f.to_str().expect("utf-8"),
    ]);
    wait_ready(&f);
    ping(&leaves[0], "10.77.3.2", 5, &[]);
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = tshark(&f, &["frame.interface_name"], None)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for port in ["p1", "p2"] {
        let name = format!("{port}@{hub}");
        let icmp = tshark(&f, &["frame.interface_name"], Some("icmp"))
            .iter()
            .filter(|r| r[0] == name)
            .count();
        assert_eq!(icmp, 10, "{name}: {names:?}");
    }
    // Four interface blocks, in order: the bridge, then p1, p2, p3.
    let stats = statistics(&f);
    assert_eq!(stats.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
    let summary = stderr(&out);
    for name in ["br0", "p1", "p2", "p3"] {
        assert!(summary.contains(&format!("{name}@{hub}: ")), "{summary}");
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn the_filter_runs_in_the_kernel_icmp_captures_the_pings_tcp_none() {
    let mut topo = Topology::new("capture-filter");
    let (a, _b) = pair(&mut topo, 4);
    let target = format!("eth0@{a}");
    let icmp = file(&mut topo, "icmp");
    let tcp = file(&mut topo, "tcp");
    let with_icmp = start(&[
        &target,
        "-c",
        "10",
        "-w",
        icmp.to_str().expect("utf-8"),
        "--",
        "icmp",
    ]);
    let with_tcp = start(&[
        &target,
        "--duration",
        "3",
        "-w",
        tcp.to_str().expect("utf-8"),
        "--",
        "tcp",
        "port",
        "80",
    ]);
    wait_ready(&icmp);
    wait_ready(&tcp);
    ping(&a, "10.77.4.2", 5, &[]);
    let (oi, ot) = (finish(with_icmp), finish(with_tcp));
    assert!(
        oi.status.success() && ot.status.success(),
        "{} {}",
        stderr(&oi),
        stderr(&ot)
    );
    let rows = tshark(&icmp, &["icmp.type"], None);
    assert_eq!(rows.len(), 10, "{rows:?}");
    assert!(rows.iter().all(|r| r[0] == "8" || r[0] == "0"), "{rows:?}");
    assert_eq!(tshark(&tcp, &["frame.number"], None).len(), 0);
    // The kernel passed nothing to the tcp handle.
    assert_eq!(statistics(&tcp)[0].1, Some(0));
    assert!(stderr(&ot).contains("0 packets written"), "{}", stderr(&ot));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn snaplen_truncates_and_keeps_the_original_length() {
    let mut topo = Topology::new("capture-snaplen");
    let (a, _b) = pair(&mut topo, 5);
    let f = file(&mut topo, "snap");
    let target = format!("eth0@{a}");
    let child = start(&[
        &target,
        "-c",
        "4",
        "--snaplen",
        "64",
        "-w",
        f.to_str().expect("utf-8"),
    ]);
    wait_ready(&f);
    // 200 bytes of data: 14 + 20 + 8 + 200 = 242 bytes on the wire.
    ping(&a, "10.77.5.2", 2, &["-s", "200"]);
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = tshark(&f, &["frame.cap_len", "frame.len"], None);
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(count(&rows, &["64", "242"]), 4, "{rows:?}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn stdout_into_a_pipe_is_read_by_tcpdump() {
    let mut topo = Topology::new("capture-pipe");
    let (a, _b) = pair(&mut topo, 6);
    topo.spawn(&[
        "ip",
        "netns",
        "exec",
        &a,
        "busybox",
        "ping",
        "-i",
        "0.1",
        "10.77.6.2",
    ]);
    let target = format!("eth0@{a}");
    let mut capture = nsmap()
        .args(["capture", &target, "-c", "6"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nsmap capture");
    let pipe = capture.stdout.take().expect("stdout");
    let reader = Command::new("tcpdump")
        .args(["-n", "-r", "-"])
        .stdin(Stdio::from(pipe))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tcpdump");
    let out = finish(capture);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = reader.wait_with_output().expect("tcpdump");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let lines = String::from_utf8_lossy(&read.stdout).into_owned();
    assert_eq!(lines.lines().count(), 6, "{lines}");
    assert!(lines.lines().all(|l| l.contains("ICMP echo")), "{lines}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_reader_closing_the_pipe_ends_the_capture_even_on_a_quiet_link() {
    let mut topo = Topology::new("capture-closed");
    let (a, _b) = pair(&mut topo, 11);
    let mut capture = nsmap()
        .args(["capture", &format!("eth0@{a}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nsmap capture");
    let mut pipe = capture.stdout.take().expect("stdout");
    // Read the section header's first bytes, then close the pipe.
    let mut head = [0u8; 4];
    std::io::Read::read_exact(&mut pipe, &mut head).expect("read the header");
    assert_eq!(head, [0x0a, 0x0d, 0x0d, 0x0a], "a pcapng section header");
    drop(pipe);
    let out = finish(capture);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn sigint_mid_capture_leaves_a_file_tshark_reads() {
    let mut topo = Topology::new("capture-sigint");
    let (a, _b) = pair(&mut topo, 7);
    topo.spawn(&[
        "ip",
        "netns",
        "exec",
        &a,
        "busybox",
        "ping",
        "-i",
        "0.1",
        "10.77.7.2",
    ]);
    let f = file(&mut topo, "sigint");
    let child = start(&[&format!("eth0@{a}"), "-w", f.to_str().expect("utf-8")]);
    wait_ready(&f);
    std::thread::sleep(Duration::from_millis(1500));
    sigint(&child);
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = tshark(&f, &["icmp.type"], None);
    assert!(rows.len() >= 10, "{rows:?}");
    // Ended properly: the statistics block is there, after the packets.
    let stats = statistics(&f);
    assert_eq!(stats.len(), 1);
    assert!(
        stats[0].1.is_some_and(|n| n as usize >= rows.len()),
        "{stats:?}"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn bad_input_writes_nothing_unknown_target_exit_1_bad_filter_exit_2() {
    let mut topo = Topology::new("capture-bad");
    let (a, _b) = pair(&mut topo, 8);
    let f = file(&mut topo, "bad");
    let path = f.to_str().expect("utf-8");
    for (args, code, says) in [
        (
            vec![format!("eth9@{a}")],
            1,
            format!("'eth9' in namespace '{a}'"),
        ),
        (
            vec!["eth0@no-such-namespace".to_string()],
            1,
            "'no-such-namespace'".to_string(),
        ),
        (
            vec!["no-such-thing".to_string()],
            1,
            "'no-such-thing'".to_string(),
        ),
        (
            vec!["--bridge".to_string(), format!("br9@{a}")],
            1,
            "no bridge named 'br9'".to_string(),
        ),
        (
            vec![
                format!("eth0@{a}"),
                "--".into(),
                "icmp".into(),
                "and".into(),
            ],
            2,
            "syntax error".to_string(),
        ),
        (
            vec![
                format!("eth0@{a}"),
                "--".into(),
                "port".into(),
                "99999".into(),
            ],
            2,
            "99999".to_string(),
        ),
    ] {
        let out = nsmap()
            .arg("capture")
            .args(&args)
            .args(["-w", path])
            .output()
            .expect("run nsmap");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(&says), "{args:?}: {}", stderr(&out));
        assert!(!f.exists(), "{args:?} wrote {}", f.display());
    }
    // Without privilege: said plainly, nothing written.
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_nsmap"))
        .args([
            "capture",
            &format!("eth0@{a}"),
            "-w",
            "/tmp/nsmap-capture-unprivileged",
        ])
        .output()
        .expect("run setpriv");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("capturing needs root"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new("/tmp/nsmap-capture-unprivileged").exists());
    // --input has no packets.
    let out = nsmap()
        .args([
            "--input",
            "/dev/null",
            "capture",
            &format!("eth0@{a}"),
            "-w",
            path,
        ])
        .output()
        .expect("run nsmap");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--input"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_namespace_vanishing_mid_capture_ends_only_its_interface() {
    let mut topo = Topology::new("capture-vanish");
    let (a, b) = pair(&mut topo, 9);
    let c = quiet_netns(&mut topo, "c");
    wire(&c, "eth0", &b, "c0", 10);
    topo.spawn(&[
        "ip",
        "netns",
        "exec",
        &c,
        "busybox",
        "ping",
        "-i",
        "0.1",
        "10.77.10.2",
    ]);
    let f = file(&mut topo, "vanish");
    let gone = format!("eth0@{a}");
    let stays = format!("c0@{b}");
    let child = start(&[&gone, &stays, "-w", f.to_str().expect("utf-8")]);
    wait_ready(&f);
    std::thread::sleep(Duration::from_millis(500));
    // The container stops: its namespace is unnamed and its wire deleted.
    ip(&["netns", "del", &a]);
    ip(&["-n", &b, "link", "del", "eth0"]);
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs_f64();
    std::thread::sleep(Duration::from_millis(1500));
    sigint(&child);
    let out = finish(child);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("warning: {gone}: capture ended")),
        "{err}"
    );
    assert!(!err.contains(&format!("warning: {stays}")), "{err}");
    // The other interface went on after the wire was gone.
    let rows = tshark(
        &f,
        &["frame.interface_name", "frame.time_epoch"],
        Some("icmp"),
    );
    let later = rows
        .iter()
        .filter(|r| r[0] == stays && r[1].parse::<f64>().is_ok_and(|t| t > after + 0.3))
        .count();
    assert!(later >= 5, "{rows:?}");
    assert_eq!(statistics(&f).len(), 2);
}
