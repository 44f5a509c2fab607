//! Scans while the system changes under them: namespaces, veth pairs and
//! processes created and deleted by another thread. Every scan must succeed
//! and be self-consistent; what vanished is a warning, never an error.

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Topology;
use nsmap::resolve::resolve;
use nsmap::snapshot::{Snapshot, WarningCode};
use nsmap::sys::{ScanOptions, scan};

/// Runs `ip` quietly; failures are expected (the other side may be gone).
fn ip(args: &[&str]) {
    let _ = Command::new("ip").args(args).stderr(Stdio::null()).status();
}

/// Every peer nsmap resolved must point back, and every reference must
/// name a namespace of the snapshot or be null.
fn assert_consistent(s: &Snapshot) {
    let index = s.index();
    for ns in &s.namespaces {
        for iface in &ns.interfaces {
            let Some(peer) = &iface.peer else { continue };
            if let Some(inode) = peer.netns {
                assert!(
                    index.namespace(inode).is_some(),
                    "peer netns {inode} is not in the snapshot"
                );
            }
            if let Some((_, other)) = index.resolve(peer) {
                let back = other.peer.as_ref().expect("a resolved peer has a peer");
                assert_eq!(
                    (back.netns, back.ifindex),
                    (Some(ns.inode), iface.ifindex),
                    "{}'s peer {} does not point back",
                    iface.ifname.as_str(),
                    other.ifname.as_str()
                );
            }
        }
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn scans_stay_consistent_while_namespaces_come_and_go() {
    let mut t = Topology::new("churn");
    let names: Vec<String> = (0..8).map(|i| t.name(&format!("c{i}"))).collect();
    for n in &names {
        t.own_netns(n.as_bytes());
    }
    let host_ends: Vec<String> = (0..8).map(|i| t.name(&format!("h{i}"))).collect();
    for h in &host_ends {
        t.host_link(h);
    }
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs(4);

    let (operations, scans) = std::thread::scope(|s| {
        let churner = s.spawn(|| {
            let mut ops = 0usize;
            let mut children = Vec::new();
            while !stop.load(Ordering::Relaxed) && ops < 600 {
                let i = ops % names.len();
                let (ns, h) = (&names[i], &host_ends[i]);
                match (ops / names.len()) % 3 {
                    0 => {
                        ip(&["netns", "add", ns]);
                        ip(&[
                            "link", "add", h, "type", "veth", "peer", "name", "eth0", "netns", ns,
                        ]);
                        let j = (i + 1) % names.len();
                        ip(&[
                            "-n", ns, "link", "add", "x", "type", "veth", "peer", "name", "y",
                            "netns", &names[j],
                        ]);
                    }
                    1 => {
                        let child = Command::new("ip")
                            .args(["netns", "exec", ns, "sleep", "1"])
                            .stderr(Stdio::null())
                            .spawn();
                        children.extend(child.ok());
                        ip(&["link", "del", h]);
                    }
                    _ => ip(&["netns", "del", ns]),
                }
                ops += 1;
            }
            for mut c in children {
                let _ = c.kill();
                let _ = c.wait();
            }
            ops
        });
        let mut scans = 0usize;
        let mut warning_codes: HashMap<WarningCode, usize> = HashMap::new();
        while Instant::now() < deadline {
            // Alternate the library and the binary: exit 0 under churn is
            // part of the contract too.
            let snapshot = if scans.is_multiple_of(2) {
                resolve(&scan(&ScanOptions::default()).expect("a scan during churn still succeeds"))
            } else {
                let out = common::nsmap()
                    .args(["snapshot", "--compact", "-q"])
                    .output()
                    .expect("run");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                serde_json::from_slice(&out.stdout).expect("a whole JSON document")
            };
            assert_consistent(&snapshot);
            for w in &snapshot.warnings {
                *warning_codes.entry(w.code).or_default() += 1;
            }
            scans += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let ops = churner.join().expect("churner");
        eprintln!("{scans} scans over {ops} operations; warnings seen: {warning_codes:?}");
        (ops, scans)
    });
    assert!(
        operations >= 100,
        "the churn was real: {operations} operations"
    );
    assert!(scans >= 3, "{scans} scans");
}
