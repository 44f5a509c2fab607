//! Root tests of the qdisc dump: qdiscs made with tc in test namespaces,
//! scanned with `qdiscs: true`, resolved, and compared field by field with
//! `tc -j -s qdisc show` (kind, handle, parent, options, counters) and
//! with `tc -s -d class show` for htb classes (this iproute2 prints no
//! JSON for classes; the text is compared through nsmap's tc-unit
//! formatters, which also tests them). netem is tested where the kernel
//! has it; a kernel built without sch_netem skips that part, saying so.
//!
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).

mod common;

use std::process::Command;

use common::{Topology, inode_of, ip, wait_for};
use nsmap::render::qdisc::{rate, size, summary};
use nsmap::resolve::resolve;
use nsmap::snapshot::tc::Qdisc;
use nsmap::snapshot::{Interface, Namespace, Snapshot};
use nsmap::sys::{ScanOptions, scan};
use serde_json::Value;

fn scan_qdiscs() -> Snapshot {
    let raw = scan(&ScanOptions {
        qdiscs: true,
        stats: true,
        ..ScanOptions::default()
    })
    .expect("scan succeeds");
    resolve(&raw)
}

fn tc(args: &[&str]) -> std::process::Output {
    Command::new("tc").args(args).output().expect("run tc")
}

fn tc_ok(args: &[&str]) {
    let out = tc(args);
    assert!(
        out.status.success(),
        "tc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tc_text(args: &[&str]) -> String {
    let out = tc(args);
    assert!(out.status.success(), "tc {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn qdiscs_json(netns: &str) -> Vec<Value> {
    serde_json::from_str(&tc_text(&["-n", netns, "-j", "-s", "qdisc", "show"]))
        .expect("tc -j is JSON")
}

fn ns<'a>(s: &'a Snapshot, name: &str) -> &'a Namespace {
    let inode = inode_of(format!("/run/netns/{name}"));
    s.namespaces
        .iter()
        .find(|n| n.inode == inode)
        .unwrap_or_else(|| panic!("{name} not found"))
}

fn iface<'a>(n: &'a Namespace, name: &str) -> &'a Interface {
    n.interfaces
        .iter()
        .find(|i| i.ifname.as_str() == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", n.names))
}

/// A namespace without IPv6, so nothing but the test's own packets
/// (autoconfiguration, router solicitations) moves the counters.
fn quiet_netns(topo: &mut Topology, suffix: &str) -> String {
    let name = topo.netns(suffix);
    ip(&[
        "netns",
        "exec",
        &name,
        "sysctl",
        "-q",
        "-w",
        "net.ipv6.conf.all.disable_ipv6=1",
        "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    name
}

fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} not a number in {v}"))
}

/// Every key tc -j -s prints for a qdisc, held to nsmap's.
fn assert_same(q: &Qdisc, t: &Value) {
    let what = format!("{} {}", q.kind, q.handle);
    assert_eq!(q.kind, t["kind"].as_str().expect("kind"), "{what}");
    assert_eq!(q.handle, t["handle"].as_str().expect("handle"), "{what}");
    let parent = if t["root"].as_bool() == Some(true) {
        "root"
    } else {
        t["parent"].as_str().expect("parent")
    };
    assert_eq!(q.parent, parent, "{what}");
    let s = q.stats.as_ref().expect("counters");
    assert_eq!(
        (
            s.bytes,
            s.packets,
            u64::from(s.drops),
            u64::from(s.overlimits)
        ),
        (
            num(t, "bytes"),
            num(t, "packets"),
            num(t, "drops"),
            num(t, "overlimits")
        ),
        "{what}"
    );
    assert_eq!(
        (
            u64::from(s.requeues),
            u64::from(s.backlog),
            u64::from(s.qlen)
        ),
        (num(t, "requeues"), num(t, "backlog"), num(t, "qlen")),
        "{what}"
    );
    let o = &t["options"];
    match q.kind.as_str() {
        "tbf" => {
            let tbf = q.tbf.as_ref().expect("tbf options");
            assert_eq!(
                (tbf.rate, tbf.burst),
                (num(o, "rate"), num(o, "burst")),
                "{what}"
            );
            // tc prints lat as an integer (print_u64 of a double).
            assert_eq!(tbf.lat_us.map(|l| l as u64), o["lat"].as_u64(), "{what}");
        }
        "htb" => {
            let htb = q.htb.as_ref().expect("htb options");
            assert_eq!(
                (
                    u64::from(htb.r2q),
                    u64::from(htb.direct_packets_stat),
                    htb.direct_qlen.map(u64::from)
                ),
                (
                    num(o, "r2q"),
                    num(o, "direct_packets_stat"),
                    o["direct_qlen"].as_u64()
                ),
                "{what}"
            );
            assert_eq!(
                format!("{:#x}", htb.default),
                o["default"].as_str().expect("default"),
                "{what}"
            );
        }
        "netem" => {
            let n = q.netem.as_ref().expect("netem options");
            assert_eq!(u64::from(n.limit), num(o, "limit"), "{what}");
            let close = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.abs().max(1.0);
            let delay = &o["delay"];
            assert!(
                close(n.delay_us, delay["delay"].as_f64().unwrap_or(0.0) * 1e6),
                "{what}: delay {} vs {delay}",
                n.delay_us
            );
            assert!(
                close(n.jitter_us, delay["jitter"].as_f64().unwrap_or(0.0) * 1e6),
                "{what}: jitter"
            );
            // tc -j prints fractions; the snapshot percent.
            let frac = |key: &str| o[key][key].as_f64().unwrap_or(0.0) * 100.0;
            assert!(close(
                n.loss,
                o["loss-random"]["loss"].as_f64().unwrap_or(0.0) * 100.0
            ));
            assert!(close(n.duplicate, frac("duplicate")), "{what}: duplicate");
            assert!(close(n.corrupt, frac("corrupt")), "{what}: corrupt");
            assert!(close(n.reorder, frac("reorder")), "{what}: reorder");
            assert_eq!(n.rate, o["rate"]["rate"].as_u64(), "{what}: rate");
            assert_eq!(u64::from(n.gap), num(o, "gap"), "{what}: gap");
        }
        _ => {}
    }
}

/// Compares every qdisc of `netns` with tc's, device by device.
fn compare_namespace(snapshot: &Snapshot, netns: &str, oracle: &[Value]) {
    let n = ns(snapshot, netns);
    let mut compared = 0;
    for i in &n.interfaces {
        let ours = i.qdiscs.as_ref().expect("qdiscs read");
        let theirs: Vec<&Value> = oracle
            .iter()
            .filter(|t| t["dev"].as_str() == Some(i.ifname.as_str()))
            .collect();
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{}: {ours:#?} vs {theirs:#?}",
            i.ifname.as_str()
        );
        for t in theirs {
            let handle = t["handle"].as_str().expect("handle");
            let q = ours
                .iter()
                .find(|q| q.handle == handle)
                .unwrap_or_else(|| panic!("{handle} missing on {}", i.ifname.as_str()));
            assert_same(q, t);
            compared += 1;
        }
    }
    assert!(compared > 0);
}

/// A scan of the test's namespaces during which tc's view did not change.
fn scan_stable(namespaces: &[&str]) -> (Snapshot, Vec<Vec<Value>>) {
    for _ in 0..50 {
        let before: Vec<Vec<Value>> = namespaces.iter().map(|n| qdiscs_json(n)).collect();
        let s = scan_qdiscs();
        let after: Vec<Vec<Value>> = namespaces.iter().map(|n| qdiscs_json(n)).collect();
        if before == after {
            return (s, after);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the qdisc counters kept changing for 5 s");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn qdiscs_match_tc_kind_handle_parent_options_and_counters() {
    let mut topo = Topology::new("qdisc-match");
    let q = quiet_netns(&mut topo, "q");
    let p = quiet_netns(&mut topo, "p");
    // a1 (q) ─ a2 (p): a tbf small enough for pings to overflow it.
    ip(&[
        "-n", &q, "link", "add", "a1", "type", "veth", "peer", "name", "a2", "netns", &p,
    ]);
    // b1 ─ b2, c1 ─ c2 inside q: an htb with classes, an ingress and a
    // pfifo.
    ip(&[
        "-n", &q, "link", "add", "b1", "type", "veth", "peer", "name", "b2",
    ]);
    ip(&[
        "-n", &q, "link", "add", "c1", "type", "veth", "peer", "name", "c2",
    ]);
    ip(&["-n", &q, "addr", "add", "10.77.0.1/24", "dev", "a1"]);
    ip(&["-n", &p, "addr", "add", "10.77.0.2/24", "dev", "a2"]);
    for dev in ["a1", "b1", "b2", "c1", "c2", "lo"] {
        ip(&["-n", &q, "link", "set", dev, "up"]);
    }
    ip(&["-n", &p, "link", "set", "a2", "up"]);
    tc_ok(&[
        "-n", &q, "qdisc", "add", "dev", "a1", "root", "tbf", "rate", "16kbit", "burst", "2kb",
        "limit", "3kb",
    ]);
    tc_ok(&[
        "-n", &q, "qdisc", "add", "dev", "b1", "root", "handle", "1:", "htb", "default", "20",
    ]);
    tc_ok(&[
        "-n", &q, "class", "add", "dev", "b1", "parent", "1:", "classid", "1:1", "htb", "rate",
        "20mbit", "ceil", "40mbit",
    ]);
    tc_ok(&[
        "-n", &q, "class", "add", "dev", "b1", "parent", "1:1", "classid", "1:10", "htb", "rate",
        "10mbit", "ceil", "20mbit", "prio", "1",
    ]);
    tc_ok(&[
        "-n", &q, "class", "add", "dev", "b1", "parent", "1:1", "classid", "1:20", "htb", "rate",
        "1500kbit",
    ]);
    // A burst and rate whose ticks do not round trip exactly: the tick
    // conversion must be tc's to match its burst and latency.
    tc_ok(&[
        "-n", &q, "qdisc", "add", "dev", "b2", "root", "tbf", "rate", "10mbit", "burst", "10003",
        "limit", "20000",
    ]);
    tc_ok(&["-n", &q, "qdisc", "add", "dev", "c1", "ingress"]);
    tc_ok(&[
        "-n", &q, "qdisc", "add", "dev", "c2", "root", "handle", "5:", "pfifo", "limit", "50",
    ]);
    // Overflow the tbf (drops, overlimits), then let its queue drain.
    let _ = Command::new("ip")
        .args([
            "netns", "exec", &q, "busybox", "ping", "-c", "10", "-i", "0.01",
        ])
        .args(["-s", "1400", "-W", "1", "10.77.0.2"])
        .output();
    wait_for(|| {
        qdiscs_json(&q)
            .iter()
            .all(|t| t["qlen"].as_u64() == Some(0))
    });

    let (snapshot, oracles) = scan_stable(&[&q, &p]);
    compare_namespace(&snapshot, &q, &oracles[0]);
    compare_namespace(&snapshot, &p, &oracles[1]);

    let n = ns(&snapshot, &q);
    let a1 = iface(n, "a1");
    let tbf = &a1.qdiscs.as_ref().expect("read")[0];
    let s = tbf.stats.as_ref().expect("counters");
    assert!(s.drops > 0 && s.overlimits > 0, "{s:?}");
    assert_eq!(summary(tbf), "tbf rate 16Kbit burst 2Kb");
    let c1 = iface(n, "c1").qdiscs.as_ref().expect("read");
    assert_eq!(
        c1.iter()
            .map(|q| (q.kind.as_str(), q.parent.as_str()))
            .collect::<Vec<_>>(),
        [("noqueue", "root"), ("ingress", "ffff:fff1")],
        "root first"
    );

    // htb classes against `tc -s -d class show`, line by line.
    let b1 = iface(n, "b1").qdiscs.as_ref().expect("read");
    let htb = b1.iter().find(|q| q.kind == "htb").expect("htb");
    let classes = htb.classes.as_ref().expect("classes");
    let text = tc_text(&["-n", &q, "-s", "-d", "class", "show", "dev", "b1"]);
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("class ")).collect();
    assert_eq!(classes.len(), headers.len(), "{text}");
    for c in classes {
        let parent = if c.parent == "root" {
            "root".to_string()
        } else {
            format!("parent {}", c.parent)
        };
        let prio = if c.level == 0 {
            format!("prio {} quantum {} ", c.prio, c.quantum)
        } else {
            String::new()
        };
        let expected = format!(
            "class htb {} {parent} {prio}rate {} ceil {} linklayer ethernet burst {}/1 mpu 0b cburst {}/1 mpu 0b level {}",
            c.classid,
            rate(c.rate),
            rate(c.ceil),
            size(c.burst),
            size(c.cburst),
            c.level
        );
        assert!(
            headers.iter().any(|h| h.trim_end() == expected),
            "{expected:?} not in\n{text}"
        );
        let st = c.stats.as_ref().expect("class counters");
        let sent = format!(
            " Sent {} bytes {} pkt (dropped {}, overlimits {} requeues {}) ",
            st.bytes, st.packets, st.drops, st.overlimits, st.requeues
        );
        assert!(text.contains(&sent), "{sent:?} not in\n{text}");
    }
    assert_eq!(summary(htb), "htb (3 classes, 1500Kbit…20Mbit)");

    // The doctor: the dropping tbf is NSM036, nothing here is NSM035.
    let findings = nsmap::doctor::findings(&snapshot);
    let ours: Vec<_> = findings
        .iter()
        .filter(|f| f.netns == Some(n.inode))
        .map(|f| f.code.id())
        .collect();
    assert!(ours.contains(&"NSM036"), "{ours:?}");
    assert!(!ours.contains(&"NSM035"), "{ours:?}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn netem_matches_tc_where_the_kernel_has_it() {
    let mut topo = Topology::new("qdisc-netem");
    let q = quiet_netns(&mut topo, "q");
    ip(&[
        "-n", &q, "link", "add", "n1", "type", "veth", "peer", "name", "n2",
    ]);
    ip(&[
        "-n", &q, "link", "add", "m1", "type", "veth", "peer", "name", "m2",
    ]);
    let probe = tc(&[
        "-n", &q, "qdisc", "add", "dev", "n1", "root", "netem", "delay", "50ms", "loss", "1%",
    ]);
    if !probe.status.success() {
        eprintln!(
            "skipped: this kernel has no netem ({})",
            String::from_utf8_lossy(&probe.stderr).trim()
        );
        return;
    }
    tc_ok(&[
        "-n",
        &q,
        "qdisc",
        "add",
        "dev",
        "m1",
        "root",
        "netem",
        "delay",
        "20ms",
        "5ms",
        "duplicate",
        "2%",
        "corrupt",
        "0.5%",
        "reorder",
        "25%",
        "rate",
        "1mbit",
    ]);
    let (snapshot, oracles) = scan_stable(&[&q]);
    compare_namespace(&snapshot, &q, &oracles[0]);
    let n = ns(&snapshot, &q);
    let n1 = &iface(n, "n1").qdiscs.as_ref().expect("read")[0];
    assert_eq!(summary(n1), "netem delay 50ms loss 1%");
    let findings = nsmap::doctor::findings(&snapshot);
    let impaired = findings
        .iter()
        .filter(|f| f.netns == Some(n.inode) && f.code.id() == "NSM035")
        .count();
    assert_eq!(impaired, 2);
}
