//! Root tests of `nsmap capture`: real namespaces, real pings, and the
//! real readers (tshark, tcpdump, pcap-file) as the oracle for the file.
//!
//! Every test namespace has IPv6 off and static neighbours, so the only
//! packets on its wires are the ones the test sends: counts are exact.
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).

#[path = "../common/mod.rs"]
mod common;
mod oracle;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Topology, exec_in, inode_of, ip, nsmap};
use oracle::*;

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
    topo.ping_in(&a, &["-i", "0.1"], "10.77.6.2");
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
fn sigterm_ends_a_capture_whose_reader_stopped_reading() {
    let mut topo = Topology::new("capture-stalled");
    let (a, _b) = pair(&mut topo, 12);
    topo.ping_in(&a, &["-i", "0.01", "-s", "1400"], "10.77.12.2");
    // Nobody reads the pipe: it fills within a second.
    let mut capture = nsmap()
        .args(["capture", &format!("eth0@{a}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nsmap capture");
    let pipe = capture.stdout.take().expect("stdout");
    std::thread::sleep(Duration::from_millis(2000));
    let stopped = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &capture.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let out = finish(capture);
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "took {:?} to stop: {}",
        stopped.elapsed(),
        stderr(&out)
    );
    drop(pipe);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn sigint_mid_capture_leaves_a_file_tshark_reads() {
    let mut topo = Topology::new("capture-sigint");
    let (a, _b) = pair(&mut topo, 7);
    topo.ping_in(&a, &["-i", "0.1"], "10.77.7.2");
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
fn a_deleted_namespace_is_let_go_not_kept_alive_by_the_capture() {
    let mut topo = Topology::new("capture-letgo");
    let (a, b) = pair(&mut topo, 13);
    let f = file(&mut topo, "letgo");
    let child = start(&[&format!("eth0@{a}"), "-w", f.to_str().expect("utf-8")]);
    wait_ready(&f);
    // Nothing but the capture holds `a` once its name is gone: the kernel
    // frees it (and the veth pair with it) only if nsmap lets go.
    ip(&["netns", "del", &a]);
    let peer_gone = || {
        !Command::new("ip")
            .args(["-n", &b, "link", "show", "dev", "eth0"])
            .output()
            .expect("run ip")
            .status
            .success()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !peer_gone() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let freed = peer_gone();
    sigint(&child);
    let out = finish(child);
    assert!(
        freed,
        "the namespace outlived its deletion: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: eth0@{a}: capture ended: its namespace was deleted"
        )),
        "{err}"
    );
    // Still a file tshark reads.
    assert_eq!(statistics(&f).len(), 1);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_namespace_vanishing_mid_capture_ends_only_its_interface() {
    let mut topo = Topology::new("capture-vanish");
    let (a, b) = pair(&mut topo, 9);
    let c = quiet_netns(&mut topo, "c");
    wire(&c, "eth0", &b, "c0", 10);
    topo.ping_in(&c, &["-i", "0.1"], "10.77.10.2");
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
