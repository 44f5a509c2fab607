//! `nsmap doctor`: its output on recorded snapshots (insta), its exit
//! codes (`--fail-on`), and — as root — a real topology that trips every
//! kernel-observable check, asserting the exact findings about it, then
//! running some of the printed fixes and checking they fix.
//!
//! Root tests run in parallel with others that make their own namespaces,
//! so they only look at findings about what they built.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Topology, inode_of, ip, ip_bytes, nsmap, wait_for};
use nsmap::doctor::{self, Finding, Severity};
use nsmap::resolve::resolve;
use nsmap::snapshot::Snapshot;
use nsmap::sys::{ScanOptions, scan};
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    nsmap()
        .args(args)
        .args(["--color=never", "--quiet"])
        .output()
        .expect("run nsmap")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

#[test]
fn demo_human() {
    let out = run(&["doctor", "--input", &fixture("assets/demo.json")]);
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn demo_json() {
    let out = run(&["doctor", "--json", "--input", &fixture("assets/demo.json")]);
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn hostile_human() {
    let out = run(&["doctor", "--input", &fixture("tests/fixtures/hostile.json")]);
    let text = stdout(&out);
    assert!(
        !text
            .chars()
            .any(|c| c != '\n' && nsmap::name::needs_terminal_escape(c)),
        "a control character reached the terminal"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn hostile_json() {
    let out = run(&[
        "doctor",
        "--json",
        "--input",
        &fixture("tests/fixtures/hostile.json"),
    ]);
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "JSON escapes controls");
    let findings: Vec<Value> = serde_json::from_str(&text).expect("valid JSON");
    // jq -r gives back the exact kernel name, so scripts can act on it.
    assert!(findings.iter().any(|f| {
        f["interfaces"][0]["ifname"].as_str() == Some("\u{1b}[31mx\u{7}") && f["code"] == "NSM019"
    }));
    insta::assert_snapshot!(text);
}

/// Writes `snapshot` to a file for `--input`.
fn saved(name: &str, snapshot: &Snapshot) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("doctor-{name}.json"));
    std::fs::write(&path, serde_json::to_vec(snapshot).expect("serialize")).expect("write");
    path
}

fn demo() -> Snapshot {
    serde_json::from_slice(&std::fs::read(fixture("assets/demo.json")).expect("read"))
        .expect("parse")
}

/// Exit code of `nsmap doctor --input FILE [--fail-on LEVEL]`.
fn exit_code(file: &Path, fail_on: Option<&str>) -> i32 {
    let mut args = vec!["doctor", "--input", file.to_str().expect("UTF-8 path")];
    if let Some(level) = fail_on {
        args.extend(["--fail-on", level]);
    }
    run(&args).status.code().expect("exited")
}

#[test]
fn fail_on_sets_the_exit_code() {
    // The demo has errors (cache's wires are down).
    let errors = saved("errors", &demo());
    // With cache's two ends up only the down tap0 (a warning) and infos remain.
    let mut fixed = demo();
    for ns in fixed.namespaces.iter_mut().filter(|n| n.label() == "cache") {
        for i in ns.interfaces.iter_mut().filter(|i| i.ifindex > 1) {
            i.flags.push("UP".into());
        }
    }
    assert_eq!(
        doctor::findings(&fixed).iter().map(|f| f.severity).min(),
        Some(Severity::Warning)
    );
    let warnings = saved("warnings", &fixed);
    // web alone with only lo: held by its mount only, only lo (infos).
    let mut web = demo();
    web.namespaces.retain(|n| n.label() == "web");
    let ext0 = web.namespaces[0].interfaces[2].clone();
    web.namespaces[0].interfaces.truncate(1);
    let infos = saved("infos", &web);
    // A process in it, and its macvlan with an address: nothing to say.
    web.namespaces[0].pids = vec![1];
    web.namespaces[0].interfaces.push(ext0);
    web.namespaces[0].interfaces[1]
        .addresses
        .push("192.0.2.9/24".into());
    let clean = saved("clean", &web);

    for (file, default, error, warning, info) in [
        (&errors, 1, 1, 1, 1),
        (&warnings, 0, 0, 1, 1),
        (&infos, 0, 0, 0, 1),
        (&clean, 0, 0, 0, 0),
    ] {
        let name = file.display();
        assert_eq!(exit_code(file, None), default, "{name}: default is error");
        assert_eq!(
            exit_code(file, Some("error")),
            error,
            "{name} --fail-on error"
        );
        assert_eq!(
            exit_code(file, Some("warning")),
            warning,
            "{name} --fail-on warning"
        );
        assert_eq!(exit_code(file, Some("info")), info, "{name} --fail-on info");
    }
    assert_eq!(
        stdout(&run(&["doctor", "--input", clean.to_str().expect("path")])),
        "no findings\n"
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let demo = fixture("assets/demo.json");
    let out = run(&["doctor", "--fail-on", "fatal", "--input", &demo]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["doctor", "--ns", "nosuch", "--input", &demo]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no namespace matches 'nosuch'"));
    let out = run(&["graph", "--format", "png", "--input", &demo]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn ns_limits_findings_to_the_selection() {
    let out = run(&[
        "doctor",
        "--json",
        "--ns",
        "cache",
        "--input",
        &fixture("assets/demo.json"),
    ]);
    assert_eq!(out.status.code(), Some(1), "cache's down wires are errors");
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    let codes: Vec<&str> = findings.iter().filter_map(|f| f["code"].as_str()).collect();
    assert_eq!(codes, ["NSM004", "NSM004", "NSM017"]);
    let out = run(&[
        "doctor",
        "--ns",
        "web",
        "--input",
        &fixture("assets/demo.json"),
    ]);
    assert_eq!(out.status.code(), Some(0), "web has only an info");
}

// ---------------------------------------------------------------- root

fn live() -> Snapshot {
    resolve(&scan(&ScanOptions::default()).expect("scan succeeds"))
}

/// `ip -j -d link show` of one namespace, by ifname.
fn links(netns: &str) -> HashMap<String, Value> {
    common::links_json(Some(netns))
        .into_iter()
        .filter_map(|l| Some((l["ifname"].as_str()?.to_string(), l)))
        .collect()
}

fn port_state(link: &Value) -> Option<&str> {
    link["linkinfo"]["info_slave_data"]["state"].as_str()
}

/// A finding as the test compares it: code, namespace, interfaces, each
/// namespace shown by its suffix in this test (`a`, `b`, …).
type Seen = (String, String, Vec<String>);

fn seen(f: &Finding, names: &HashMap<u64, String>) -> Seen {
    let ns = |inode: Option<u64>| {
        inode.map_or("-".to_string(), |i| {
            names.get(&i).cloned().unwrap_or_else(|| i.to_string())
        })
    };
    (
        f.code.id().to_string(),
        ns(f.netns),
        f.interfaces
            .iter()
            .map(|r| {
                let name = r.ifname.as_ref().map_or("?", |n| n.as_str());
                format!("{name}@{}", ns(r.netns))
            })
            .collect(),
    )
}

fn expect(code: &str, ns: &str, interfaces: &[&str]) -> Seen {
    (
        code.to_string(),
        ns.to_string(),
        interfaces.iter().map(|s| s.to_string()).collect(),
    )
}

/// The findings about what this test built, in doctor's order.
fn ours(findings: &[Finding], names: &HashMap<u64, String>, prefix: &str) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| {
            f.netns.is_some_and(|n| names.contains_key(&n))
                || f.interfaces
                    .iter()
                    .any(|r| r.netns.is_some_and(|n| names.contains_key(&n)))
                || f.message.contains(prefix)
        })
        .cloned()
        .collect()
}

#[test]
#[ignore = "needs root: run as root with --include-ignored"]
fn real_topology_trips_each_check_and_the_fixes_work() {
    let mut t = Topology::new("doctor_checks");
    let short = ["a", "b", "c", "d", "e", "na", "lonly"];
    let full: HashMap<&str, String> = short.iter().map(|s| (*s, t.netns(s))).collect();
    let n = |s: &str| full[s].as_str();
    let pid = t.process_netns();
    let mut names: HashMap<u64, String> = short
        .iter()
        .map(|s| (inode_of(format!("/run/netns/{}", n(s))), s.to_string()))
        .collect();
    names.insert(inode_of(format!("/proc/{pid}/ns/net")), "pid".into());
    let inode = |s: &str| inode_of(format!("/run/netns/{}", n(s)));
    let (a, b, c, d, e, na) = (n("a"), n("b"), n("c"), n("d"), n("e"), n("na"));
    for ns in [b, c, d, e, na] {
        ip(&["-n", ns, "link", "set", "lo", "up"]);
    }

    // a ↔ b: one end up (NSM004), an MTU mismatch (NSM005, both down),
    // different subnets (NSM014). a's lo stays down (NSM012).
    ip(&[
        "-n", a, "link", "add", "up0", "type", "veth", "peer", "name", "down0", "netns", b,
    ]);
    ip(&["-n", a, "link", "set", "up0", "up"]);
    ip(&[
        "-n", a, "link", "add", "mtu0", "type", "veth", "peer", "name", "mtu0", "netns", b,
    ]);
    ip(&["-n", a, "link", "set", "mtu0", "mtu", "1400"]);
    ip(&[
        "-n", a, "link", "add", "net0", "type", "veth", "peer", "name", "net0", "netns", b,
    ]);
    ip(&["-n", a, "addr", "add", "10.1.0.1/24", "dev", "net0"]);
    ip(&["-n", b, "addr", "add", "10.2.0.1/24", "dev", "net0"]);
    ip(&["-n", a, "link", "set", "net0", "up"]);
    ip(&["-n", b, "link", "set", "net0", "up"]);
    // A name with an escape sequence (NSM019), both ends down.
    ip_bytes(&[
        b"-n",
        b.as_bytes(),
        b"link",
        b"add",
        b"\x1b[31mx",
        b"type",
        b"veth",
        b"peer",
        b"name",
        b"ctl0",
    ]);
    // na: eth0 up, no address (NSM013); its peer in b.
    ip(&[
        "-n", b, "link", "add", "na0", "type", "veth", "peer", "name", "eth0", "netns", na,
    ]);
    ip(&["-n", b, "link", "set", "na0", "up"]);
    ip(&["-n", na, "link", "set", "eth0", "up"]);

    // c: bridges.
    let veth_in_c = |x: &str, y: &str| {
        ip(&["-n", c, "link", "add", x, "type", "veth", "peer", "name", y]);
    };
    let master = |port: &str, br: &str| ip(&["-n", c, "link", "set", port, "master", br]);
    let up = |ns: &str, dev: &str| ip(&["-n", ns, "link", "set", dev, "up"]);
    for br in ["brdup", "brmtu", "brempty", "brport", "brdown"] {
        ip(&["-n", c, "link", "add", br, "type", "bridge"]);
    }
    // brdup: the same address behind two ports (NSM015).
    ip(&["-n", c, "addr", "add", "10.9.0.1/24", "dev", "brdup"]);
    for (port, ns) in [("d1", d), ("e1", e)] {
        ip(&[
            "-n", c, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ]);
        master(port, "brdup");
        up(c, port);
        ip(&["-n", ns, "addr", "add", "10.9.0.5/24", "dev", "eth0"]);
        up(ns, "eth0");
    }
    // brmtu: ports of 1500 and 1400 (NSM006; the bridge follows the smallest).
    veth_in_c("m1", "m1p");
    veth_in_c("m2", "m2p");
    ip(&["-n", c, "link", "set", "m2", "mtu", "1400"]);
    ip(&["-n", c, "link", "set", "m2p", "mtu", "1400"]);
    // brport: a down port (NSM008), a tap without carrier (NSM008), ports
    // set disabled (NSM009) and listening (NSM010) by hand. (`blocking`
    // cannot be set with STP off — br_port_state_selection makes it
    // forwarding again — and STP would need a loop and BPDUs: unit-tested.)
    for (x, y) in [("pd", "pdp"), ("pz", "pzp"), ("pl", "plp")] {
        veth_in_c(x, y);
        master(x, "brport");
    }
    ip(&["-n", c, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
    master("tap0", "brport");
    // brdown: down, with a port up (NSM011).
    veth_in_c("bd", "bdp");
    master("bd", "brdown");
    for p in ["m1", "m2"] {
        master(p, "brmtu");
    }
    for dev in [
        "brdup", "brmtu", "brempty", "brport", "m1", "m1p", "m2", "m2p", "pz", "pzp", "pl", "plp",
        "tap0", "bd", "bdp",
    ] {
        up(c, dev);
    }
    // Carrier reaches the bridge through linkwatch, asynchronously: wait
    // until every live port forwards before setting states by hand.
    let live_ports = ["d1", "e1", "m1", "m2", "pz", "pl"];
    wait_for(|| {
        let l = links(c);
        live_ports
            .iter()
            .all(|p| port_state(&l[*p]) == Some("forwarding"))
            && l["tap0"]["operstate"] == "DOWN"
    });
    for (port, state) in [("pz", "0"), ("pl", "1")] {
        common::run(
            "bridge",
            &["-n", c, "link", "set", "dev", port, "state", state].map(std::ffi::OsStr::new),
        );
    }
    wait_for(|| {
        let l = links(c);
        port_state(&l["pz"]) == Some("disabled") && port_state(&l["pl"]) == Some("listening")
    });
    // A stale /run/netns entry (NSM016).
    let stale = t.path(format!("/run/netns/{}", t.name("stale")));
    std::fs::write(&stale, b"").expect("stale file");

    let s = live();
    let all = doctor::findings(&s);
    let found = ours(&all, &names, &t.prefix);
    let got: Vec<Seen> = found.iter().map(|f| seen(f, &names)).collect();

    // Pair checks name the ends in (inode, ifindex) order where it matters.
    let (lo_ab, hi_ab) = if inode("a") < inode("b") {
        ("a", "b")
    } else {
        ("b", "a")
    };
    let (lo_de, hi_de) = if inode("d") < inode("e") {
        ("d", "e")
    } else {
        ("e", "d")
    };
    let mut expected = vec![
        expect("NSM004", "b", &["down0@b", "up0@a"]),
        expect("NSM005", "b", &["mtu0@b", "mtu0@a"]),
        expect(
            "NSM015",
            "c",
            &[
                &format!("eth0@{lo_de}"),
                &format!("eth0@{hi_de}"),
                "brdup@c",
            ],
        ),
        expect("NSM006", "c", &["brmtu@c", "m1@c"]),
        expect("NSM008", "c", &["pd@c", "brport@c"]),
        expect("NSM008", "c", &["tap0@c", "brport@c"]),
        expect("NSM009", "c", &["pz@c", "brport@c"]),
        expect("NSM011", "c", &["brdown@c", "bd@c"]),
        expect("NSM012", "a", &["lo@a"]),
        expect("NSM013", "na", &["eth0@na"]),
        expect(
            "NSM014",
            hi_ab,
            &[&format!("net0@{hi_ab}"), &format!("net0@{lo_ab}")],
        ),
        expect("NSM016", "-", &[]),
        expect("NSM019", "b", &["\x1b[31mx@b"]),
        expect("NSM007", "c", &["brempty@c"]),
        expect("NSM010", "c", &["pl@c", "brport@c"]),
        expect("NSM018", "lonly", &["lo@lonly"]),
        expect("NSM018", "pid", &["lo@pid"]),
    ];
    for s in short {
        expected.push(expect("NSM017", s, &[]));
    }
    let sorted = |mut v: Vec<Seen>| {
        v.sort();
        v
    };
    assert_eq!(sorted(got.clone()), sorted(expected), "findings: {got:#?}");
    assert!(
        found.windows(2).all(|w| w[0].severity <= w[1].severity),
        "most severe first"
    );

    // The hints are the commands a user would run; check a few verbatim.
    let hint = |code: &str, iface: &str| -> String {
        found
            .iter()
            .find(|f| {
                f.code.id() == code
                    && f.interfaces
                        .first()
                        .and_then(|r| r.ifname.as_ref())
                        .is_some_and(|n| n.as_str() == iface)
            })
            .and_then(|f| f.hint.clone())
            .unwrap_or_else(|| panic!("no {code} hint for {iface}"))
    };
    assert_eq!(
        hint("NSM004", "down0"),
        format!("ip -n {b} link set dev down0 up")
    );
    assert_eq!(
        hint("NSM009", "pz"),
        format!("bridge -n {c} link set dev pz state 3")
    );
    assert!(
        hint("NSM018", "lo").starts_with("ip link add <IFNAME> type veth peer name eth0 netns "),
    );
    assert_eq!(
        hint("NSM019", "\x1b[31mx"),
        format!(r"ip -n {b} link set dev $'\x1b[31mx' name <NEWNAME>")
    );

    // Run the fixes that need no placeholder; their findings must go away.
    let fixed = [
        ("NSM004", "down0"),
        ("NSM005", "mtu0"),
        ("NSM006", "brmtu"),
        ("NSM009", "pz"),
        ("NSM011", "brdown"),
        ("NSM012", "lo"),
    ];
    for (code, iface) in fixed {
        let command = hint(code, iface);
        let out = std::process::Command::new("bash")
            .args(["-c", &command])
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_for(|| {
        let l = links(c);
        ["pz", "bd"]
            .iter()
            .all(|p| port_state(&l[*p]) == Some("forwarding"))
    });
    let after = ours(&doctor::findings(&live()), &names, &t.prefix);
    let still: Vec<Seen> = after.iter().map(|f| seen(f, &names)).collect();
    let gone: Vec<&str> = fixed.iter().map(|(code, _)| *code).collect();
    for f in &after {
        let fixed_one = gone.contains(&f.code.id())
            && fixed.iter().any(|(code, iface)| {
                *code == f.code.id()
                    && f.interfaces
                        .first()
                        .and_then(|r| r.ifname.as_ref())
                        .is_some_and(|n| n.as_str() == *iface)
            });
        assert!(!fixed_one, "still there after its fix: {f:?}");
    }
    assert_eq!(
        still.len(),
        got.len() - fixed.len(),
        "only the fixed findings went away: {still:#?}"
    );

    // The CLI on the live host: --ns selects, --fail-on decides the exit.
    let out = run(&["doctor", "--json", "--ns", n("lonly")]);
    assert_eq!(out.status.code(), Some(0), "only infos about lonly");
    let codes: Vec<String> = serde_json::from_slice::<Vec<Value>>(&out.stdout)
        .expect("JSON")
        .iter()
        .filter_map(|f| f["code"].as_str().map(String::from))
        .collect();
    assert_eq!(codes, ["NSM017", "NSM018"]);
    let out = run(&["doctor", "--ns", n("lonly"), "--fail-on", "info"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["doctor", "--ns", n("c")]);
    assert_eq!(out.status.code(), Some(1), "c still has NSM015, an error");
}
