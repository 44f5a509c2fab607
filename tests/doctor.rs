//! `nsmap doctor`: its output on recorded snapshots (insta), its exit
//! codes (`--fail-on`), and — as root — a real topology that trips every
//! kernel-observable check, asserting the exact findings about it, then
//! running some of the printed fixes and checking they fix. The layer-3
//! topology first proves with the kernel (`busybox ping`, `ip route get`)
//! that each namespace is broken the way its check says, then asserts the
//! doctor's findings and hints once the live scan reads routes, then runs
//! the fixes and proves with the kernel that traffic passes.
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
    let out = run(&["doctor", "--input", &fixture("tests/fixtures/demo-l2.json")]);
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn demo_json() {
    let out = run(&[
        "doctor",
        "--json",
        "--input",
        &fixture("tests/fixtures/demo-l2.json"),
    ]);
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
    serde_json::from_slice(&std::fs::read(fixture("tests/fixtures/demo-l2.json")).expect("read"))
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
    let demo = fixture("tests/fixtures/demo-l2.json");
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
        &fixture("tests/fixtures/demo-l2.json"),
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
        &fixture("tests/fixtures/demo-l2.json"),
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

// ---------------------------------------------------------- root, layer 3

/// Runs `argv` (no shell), returning whether it succeeded and its output.
fn try_run(argv: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// One `busybox ping` from namespace `ns`: does `dst` answer?
fn pings(ns: &str, dst: &str) -> bool {
    try_run(&[
        "ip", "netns", "exec", ns, "busybox", "ping", "-c", "1", "-W", "1", dst,
    ])
    .0
}

/// `sysctl -w KEY=VALUE` in namespace `ns`.
fn sysctl(ns: &str, assignment: &str) {
    let (ok, out) = try_run(&["ip", "netns", "exec", ns, "sysctl", "-qw", assignment]);
    assert!(ok, "sysctl {assignment} in {ns}: {out}");
}

/// `nft ARGS` in namespace `ns`.
fn nft(ns: &str, args: &str) {
    let (ok, out) = try_run(&["ip", "netns", "exec", ns, "nft", args]);
    assert!(ok, "nft {args} in {ns}: {out}");
}

/// Runs a hint (a shell command) and checks it succeeded.
fn run_hint(command: &str) {
    let (ok, out) = try_run(&["bash", "-c", command]);
    assert!(ok, "{command}: {out}");
}

/// The layer-3 findings (NSM020 and later) of `nsmap doctor --json` about
/// the namespaces in `names`, as (code, namespace, interfaces) with
/// sorted interfaces, and their hints by (code, namespace).
fn l3_findings(names: &HashMap<u64, String>) -> (Vec<Seen>, HashMap<(String, String), String>) {
    let out = run(&["doctor", "--json"]);
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).expect("doctor JSON");
    let ns = |v: &Value| {
        v.as_u64()
            .and_then(|i| names.get(&i).cloned())
            .unwrap_or_else(|| "-".to_string())
    };
    let mut seen = Vec::new();
    let mut hints = HashMap::new();
    for f in findings {
        let code = f["code"].as_str().unwrap_or_default().to_string();
        if code.as_str() < "NSM020" || !f["netns"].as_u64().is_some_and(|i| names.contains_key(&i))
        {
            continue;
        }
        let mut interfaces: Vec<String> = f["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{}@{}",
                    r["ifname"].as_str().unwrap_or("?"),
                    ns(&r["netns"])
                )
            })
            .collect();
        interfaces.sort();
        let netns = ns(&f["netns"]);
        if let Some(h) = f["hint"].as_str() {
            hints.insert((code.clone(), netns.clone()), h.to_string());
        }
        seen.push((code, netns, interfaces));
    }
    seen.sort();
    (seen, hints)
}

/// Whether the live scan (with layer 3, as `nsmap doctor` asks) read the
/// routes of every namespace in `inodes`, and which of them have their
/// firewall read (the checks that need it stay silent without it).
fn layer3_read(inodes: &[u64]) -> (bool, Vec<u64>) {
    let options = ScanOptions {
        layer3: true,
        ..ScanOptions::default()
    };
    let s = resolve(&scan(&options).expect("scan succeeds"));
    let ours: Vec<_> = s
        .namespaces
        .iter()
        .filter(|n| inodes.contains(&n.inode))
        .collect();
    let routes = ours.len() == inodes.len() && ours.iter().all(|n| n.routes.is_some());
    let firewall = ours
        .iter()
        .filter(|n| {
            n.firewall
                .as_ref()
                .is_some_and(|f| f.nftables.is_some() && f.iptables_legacy.is_some())
        })
        .map(|n| n.inode)
        .collect();
    (routes, firewall)
}

#[test]
#[ignore = "needs root: run as root with --include-ignored"]
fn real_layer3_topology_trips_each_check_and_the_fixes_work() {
    let mut t = Topology::new("doctor_l3");
    let short = [
        "h", "far", "nd", "ng", "no", "ol", "dd", "tp", "ov", "ru", "fa", "r2", "fb", "sa", "sl",
        "r3", "sb", "fc", "r4", "fd",
    ];
    let full: HashMap<&str, String> = short.iter().map(|s| (*s, t.netns(s))).collect();
    let n = |s: &str| full[s].clone();
    let names: HashMap<u64, String> = short
        .iter()
        .map(|s| (inode_of(format!("/run/netns/{}", n(s))), s.to_string()))
        .collect();
    let inodes: Vec<u64> = names.keys().copied().collect();
    for s in short {
        ip(&["-n", &n(s), "link", "set", "lo", "up"]);
        // New namespaces may inherit ip_forward from the host: make it
        // explicit, off except for the routers below.
        sysctl(&n(s), "net.ipv4.ip_forward=0");
    }
    // A veth from `a` (named `an`) to `b` (named `bn`), both up, with
    // addresses.
    let wire = |a: &str, an: &str, aaddr: Option<&str>, b: &str, bn: &str, baddr: Option<&str>| {
        ip(&[
            "-n",
            &n(a),
            "link",
            "add",
            an,
            "type",
            "veth",
            "peer",
            "name",
            bn,
            "netns",
            &n(b),
        ]);
        for (ns, dev, addr) in [(a, an, aaddr), (b, bn, baddr)] {
            if let Some(addr) = addr {
                ip(&["-n", &n(ns), "addr", "add", addr, "dev", dev]);
            }
            ip(&["-n", &n(ns), "link", "set", dev, "up"]);
        }
    };
    let route = |ns: &str, args: &[&str]| {
        let mut argv = vec!["-n", &*full[ns], "route"];
        argv.extend_from_slice(args);
        ip(&argv);
    };

    // h: bridge lan (10.77.0.1/24 and .253) for the containers below, and
    // a link to far (10.78.0.0/24), the "world". h forwards.
    let h = n("h");
    ip(&["-n", &h, "link", "add", "lan", "type", "bridge"]);
    ip(&["-n", &h, "addr", "add", "10.77.0.1/24", "dev", "lan"]);
    ip(&["-n", &h, "addr", "add", "10.77.0.253/24", "dev", "lan"]);
    ip(&["-n", &h, "link", "set", "lan", "up"]);
    sysctl(&h, "net.ipv4.ip_forward=1");
    wire(
        "h",
        "tofar",
        Some("10.78.0.1/24"),
        "far",
        "eth0",
        Some("10.78.0.2/24"),
    );
    route("far", &["add", "default", "via", "10.78.0.1"]);
    let container = |c: &str, addr: &str| {
        let port = format!("p{c}");
        wire("h", &port, None, c, "eth0", Some(addr));
        ip(&["-n", &h, "link", "set", &port, "master", "lan"]);
    };
    // NSM020: nd has no default route, lan (10.77.0.1) is on its link.
    container("nd", "10.77.0.2/24");
    // NSM022: ng's gateway 10.77.0.254 is nobody's.
    container("ng", "10.77.0.3/24");
    route("ng", &["add", "default", "via", "10.77.0.254"]);
    // NSM023: no routes via its own address.
    container("no", "10.77.0.4/24");
    route("no", &["add", "default", "via", "10.77.0.4"]);
    // NSM021: ol's default via 10.77.0.1 outlived 10.77.0.6/24.
    container("ol", "10.77.0.6/24");
    ip(&["-n", &n("ol"), "addr", "add", "10.84.0.6/24", "dev", "eth0"]);
    route("ol", &["add", "default", "via", "10.77.0.1"]);
    ip(&["-n", &n("ol"), "addr", "del", "10.77.0.6/24", "dev", "eth0"]);
    // NSM028: dd has two default routes with metric 0.
    container("dd", "10.77.0.8/24");
    route("dd", &["add", "default", "via", "10.77.0.1"]);
    route("dd", &["append", "default", "via", "10.77.0.253"]);
    // NSM024: a tap no process has open, with a route through it.
    let tp = n("tp");
    ip(&["-n", &tp, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
    ip(&["-n", &tp, "addr", "add", "10.86.0.1/24", "dev", "tap0"]);
    ip(&["-n", &tp, "link", "set", "tap0", "up"]);
    route("tp", &["add", "10.87.0.0/16", "via", "10.86.0.2"]);
    // NSM027: docker0 172.30.0.0/16 and a "VPN" vpn0 172.30.5.0/24.
    let ov = n("ov");
    ip(&["-n", &ov, "link", "add", "docker0", "type", "bridge"]);
    ip(&["-n", &ov, "addr", "add", "172.30.0.1/16", "dev", "docker0"]);
    ip(&["-n", &ov, "link", "set", "docker0", "up"]);
    ip(&[
        "-n", &ov, "link", "add", "vpn0", "type", "veth", "peer", "name", "vpn1",
    ]);
    ip(&["-n", &ov, "addr", "add", "172.30.5.2/24", "dev", "vpn0"]);
    ip(&["-n", &ov, "link", "set", "vpn0", "up"]);
    ip(&["-n", &ov, "link", "set", "vpn1", "up"]);
    // NSM031: a rule for a device that does not exist.
    ip(&[
        "-n",
        &n("ru"),
        "rule",
        "add",
        "iif",
        "vethgone",
        "lookup",
        "100",
    ]);
    // NSM025: fa —— r2 —— fb, r2 does not forward.
    wire(
        "fa",
        "eth0",
        Some("10.79.0.2/24"),
        "r2",
        "ra",
        Some("10.79.0.1/24"),
    );
    wire(
        "r2",
        "rb",
        Some("10.80.0.1/24"),
        "fb",
        "eth0",
        Some("10.80.0.2/24"),
    );
    route("fa", &["add", "default", "via", "10.79.0.1"]);
    route("fb", &["add", "default", "via", "10.80.0.1"]);
    // NSM026: sl (10.83.0.2) —— sa —— r3 —— sb; r3 reaches 10.83.0.0/24
    // only through sb and filters strictly on ra.
    wire(
        "sl",
        "eth0",
        Some("10.83.0.2/24"),
        "sa",
        "lan0",
        Some("10.83.0.1/24"),
    );
    wire(
        "sa",
        "eth0",
        Some("10.81.0.2/24"),
        "r3",
        "ra",
        Some("10.81.0.1/24"),
    );
    wire(
        "r3",
        "rb",
        Some("10.82.0.1/24"),
        "sb",
        "eth0",
        Some("10.82.0.2/24"),
    );
    route("sl", &["add", "default", "via", "10.83.0.1"]);
    route("sa", &["add", "default", "via", "10.81.0.1"]);
    route("sb", &["add", "default", "via", "10.82.0.1"]);
    route("r3", &["add", "10.83.0.0/24", "via", "10.82.0.2"]);
    for ns in ["sa", "r3", "sb"] {
        sysctl(&n(ns), "net.ipv4.ip_forward=1");
    }
    sysctl(&n("r3"), "net.ipv4.conf.all.rp_filter=1");
    // NSM029, NSM030: fc —— r4 —— fd; r4's forward chain drops with no
    // rules, its input chain with one.
    wire(
        "fc",
        "eth0",
        Some("10.89.0.2/24"),
        "r4",
        "ra",
        Some("10.89.0.1/24"),
    );
    wire(
        "r4",
        "rb",
        Some("10.90.0.1/24"),
        "fd",
        "eth0",
        Some("10.90.0.2/24"),
    );
    route("fc", &["add", "default", "via", "10.89.0.1"]);
    route("fd", &["add", "default", "via", "10.90.0.1"]);
    sysctl(&n("r4"), "net.ipv4.ip_forward=1");
    let r4 = n("r4");
    nft(&r4, "add table inet f");
    nft(
        &r4,
        "add chain inet f transit { type filter hook forward priority 0; policy drop; }",
    );
    nft(
        &r4,
        "add chain inet f mine { type filter hook input priority 0; policy drop; }",
    );
    nft(&r4, "add rule inet f mine ct state established accept");
    // Bridge ports forward once linkwatch has seen their carrier.
    wait_for(|| {
        let l = links(&h);
        ["pnd", "png", "pno", "pol", "pdd"]
            .iter()
            .all(|p| port_state(&l[*p]) == Some("forwarding"))
    });

    // The kernel side: each topology is broken the way its check says.
    assert!(pings(&n("nd"), "10.77.0.1"), "nd reaches its link");
    assert!(
        !pings(&n("nd"), "10.78.0.2"),
        "nd reaches nothing beyond (NSM020)"
    );
    assert!(pings(&n("dd"), "10.78.0.2"), "h forwards to far");
    assert!(
        !pings(&n("ng"), "10.78.0.2"),
        "ng's gateway is nobody's (NSM022)"
    );
    let (_, neigh) = try_run(&["ip", "-n", &n("ng"), "neigh", "show", "10.77.0.254"]);
    assert!(
        neigh.contains("FAILED") || neigh.contains("INCOMPLETE"),
        "ARP for 10.77.0.254 fails: {neigh}"
    );
    assert!(
        !pings(&n("no"), "10.78.0.2"),
        "no routes via itself (NSM023)"
    );
    let (_, get) = try_run(&["ip", "-n", &n("no"), "route", "get", "10.78.0.2"]);
    assert!(
        !get.contains(" via "),
        "the kernel treats it as on-link: {get}"
    );
    let (ok, why) = try_run(&[
        "ip",
        "-n",
        &n("ol"),
        "route",
        "add",
        "10.85.0.0/16",
        "via",
        "10.77.0.1",
    ]);
    assert!(
        !ok && why.contains("invalid gateway"),
        "10.77.0.1 is off ol's link now (NSM021): {why}"
    );
    let (_, routes) = try_run(&["ip", "-n", &tp, "route", "show", "10.87.0.0/16"]);
    assert!(
        routes.contains("linkdown"),
        "tap0's route is linkdown (NSM024): {routes}"
    );
    let (_, get) = try_run(&["ip", "-n", &ov, "route", "get", "172.30.5.9"]);
    assert!(
        get.contains("dev vpn0"),
        "vpn0 takes part of docker0's range (NSM027): {get}"
    );
    let (_, defaults) = try_run(&["ip", "-n", &n("dd"), "route", "show", "default"]);
    assert_eq!(
        defaults.lines().count(),
        2,
        "two equal defaults (NSM028): {defaults}"
    );
    let (_, rules) = try_run(&["ip", "-n", &n("ru"), "rule", "show"]);
    assert!(
        rules.contains("iif vethgone [detached]"),
        "detached rule (NSM031): {rules}"
    );
    assert!(
        !pings(&n("fa"), "10.80.0.2"),
        "r2 does not forward (NSM025)"
    );
    let (ok, why) = try_run(&[
        "ip",
        "-n",
        &n("r3"),
        "route",
        "get",
        "10.82.0.2",
        "from",
        "10.83.0.2",
        "iif",
        "ra",
    ]);
    // EXDEV on older kernels; 6.13 and later report every input drop as
    // EINVAL. The fix below (loose mode) passing proves it is rp_filter.
    assert!(
        !ok && (why.contains("cross-device") || why.contains("Invalid argument")),
        "strict rp_filter on r3's ra (NSM026): {why}"
    );
    assert!(
        !pings(&n("fc"), "10.90.0.2"),
        "r4's forward chain drops (NSM029)"
    );
    assert!(
        !pings(&n("fc"), "10.89.0.1"),
        "r4's input chain drops pings (NSM030)"
    );

    // nsmap's side: a root scan reads layer 3 and the firewall of every
    // namespace here (a test that could skip would prove nothing).
    let (read, firewall) = layer3_read(&inodes);
    let inode = |s: &str| inode_of(format!("/run/netns/{}", n(s)));
    assert!(
        read,
        "the live layer-3 scan did not read routes of every namespace of this test"
    );
    assert!(
        firewall.contains(&inode("sa")) && firewall.contains(&inode("r4")),
        "the live scan did not read the firewalls of sa and r4"
    );
    {
        let (got, hints) = l3_findings(&names);
        let sorted = |v: &[&str]| {
            let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        let mut expected: Vec<Seen> = vec![
            ("NSM020".into(), "nd".into(), sorted(&["eth0@nd", "lan@h"])),
            ("NSM021".into(), "ol".into(), sorted(&["eth0@ol"])),
            ("NSM022".into(), "ng".into(), sorted(&["eth0@ng"])),
            ("NSM023".into(), "no".into(), sorted(&["eth0@no"])),
            ("NSM024".into(), "tp".into(), sorted(&["tap0@tp"])),
            (
                "NSM025".into(),
                "r2".into(),
                sorted(&["ra@r2", "rb@r2", "eth0@fa", "eth0@fb"]),
            ),
            (
                "NSM027".into(),
                "ov".into(),
                sorted(&["docker0@ov", "vpn0@ov"]),
            ),
            ("NSM028".into(), "dd".into(), sorted(&["eth0@dd"])),
            ("NSM031".into(), "ru".into(), Vec::new()),
        ];
        if firewall.contains(&inode("sa")) {
            expected.push((
                "NSM026".into(),
                "r3".into(),
                sorted(&["ra@r3", "eth0@sa", "lan0@sa"]),
            ));
        }
        if firewall.contains(&inode("r4")) {
            let refs = sorted(&["ra@r4", "rb@r4", "eth0@fc", "eth0@fd"]);
            expected.push(("NSM029".into(), "r4".into(), refs.clone()));
            expected.push(("NSM030".into(), "r4".into(), refs));
        }
        expected.sort();
        assert_eq!(got, expected, "layer-3 findings");
        let hint = |code: &str, ns: &str| hints[&(code.to_string(), ns.to_string())].clone();
        assert_eq!(
            hint("NSM020", "nd"),
            format!("ip -n {} route add default via 10.77.0.1 dev eth0", n("nd"))
        );
        assert_eq!(
            hint("NSM022", "ng"),
            format!(
                "ip -n {} route replace default via 10.77.0.1 dev eth0",
                n("ng")
            )
        );
        assert_eq!(
            hint("NSM025", "r2"),
            format!("ip netns exec {} sysctl -w net.ipv4.ip_forward=1", n("r2"))
        );
        if firewall.contains(&inode("sa")) {
            assert_eq!(
                hint("NSM026", "r3"),
                format!(
                    "ip netns exec {} sysctl -w net.ipv4.conf.ra.rp_filter=2",
                    n("r3")
                )
            );
        }
        if firewall.contains(&inode("r4")) {
            assert_eq!(
                hint("NSM029", "r4"),
                format!("ip netns exec {r4} nft 'chain inet f transit {{ policy accept; }}'")
            );
        }
    }

    // The fixes (the hints above, verbatim) make the traffic pass.
    run_hint(&format!(
        "ip -n {} route add default via 10.77.0.1 dev eth0",
        n("nd")
    ));
    assert!(pings(&n("nd"), "10.78.0.2"), "NSM020's fix");
    run_hint(&format!(
        "ip -n {} route replace default via 10.77.0.1 dev eth0",
        n("ng")
    ));
    assert!(pings(&n("ng"), "10.78.0.2"), "NSM022's fix");
    run_hint(&format!(
        "ip netns exec {} sysctl -w net.ipv4.ip_forward=1",
        n("r2")
    ));
    assert!(pings(&n("fa"), "10.80.0.2"), "NSM025's fix");
    run_hint(&format!(
        "ip netns exec {} sysctl -w net.ipv4.conf.ra.rp_filter=2",
        n("r3")
    ));
    let (ok, why) = try_run(&[
        "ip",
        "-n",
        &n("r3"),
        "route",
        "get",
        "10.82.0.2",
        "from",
        "10.83.0.2",
        "iif",
        "ra",
    ]);
    assert!(ok, "NSM026's fix: {why}");
    run_hint(&format!(
        "ip netns exec {r4} nft 'chain inet f transit {{ policy accept; }}'"
    ));
    assert!(pings(&n("fc"), "10.90.0.2"), "NSM029's fix");
    drop(t);
}

#[test]
#[ignore = "needs root: run as root with --include-ignored"]
fn a_port_forward_to_an_address_nobody_has_is_found() {
    let mut t = Topology::new("doctor_dnat");
    let host = t.netns("h");
    let ctr = t.netns("c");
    ip(&[
        "-n", &host, "link", "add", "v0", "type", "veth", "peer", "name", "eth0", "netns", &ctr,
    ]);
    ip(&["-n", &host, "addr", "add", "10.77.0.1/24", "dev", "v0"]);
    ip(&["-n", &ctr, "addr", "add", "10.77.0.2/24", "dev", "eth0"]);
    // One forward to the container, one to an address nobody has on the
    // same subnet, one to another host (not judged).
    nft(
        &host,
        "add table ip nat; \
         add chain ip nat pre { type nat hook prerouting priority dstnat; policy accept; }; \
         add rule ip nat pre tcp dport 8080 dnat to 10.77.0.2:80; \
         add rule ip nat pre tcp dport 8081 dnat to 10.77.0.99:80; \
         add rule ip nat pre tcp dport 8082 dnat to 192.0.2.9:80",
    );
    let out = run(&["doctor", "--json", "--fail-on", "error", "--ns", &host]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("doctor --json");
    let found: Vec<&Value> = json
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "NSM033")
        .collect();
    assert_eq!(found.len(), 1, "{json}");
    let message = found[0]["message"].as_str().expect("message");
    assert!(message.contains("10.77.0.99"), "{message}");
    let hint = found[0]["hint"].as_str().expect("hint");
    assert!(hint.contains("nft delete rule ip nat pre handle"), "{hint}");
    // The hint works: the rule it names is the one that goes.
    let command = hint
        .strip_prefix(&format!("ip netns exec {host} "))
        .expect("a hint in the namespace");
    let (ok, why) = try_run(&["ip", "netns", "exec", &host, "sh", "-c", command]);
    assert!(ok, "{hint}: {why}");
    let out = run(&["doctor", "--json", "--ns", &host]);
    let json: Value = serde_json::from_str(&stdout(&out)).expect("doctor --json");
    assert!(
        !json
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["code"] == "NSM033"),
        "{json}"
    );
}
