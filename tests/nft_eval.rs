//! The evaluator against the kernel: namespaces a ─ r ─ b joined by veth
//! pairs, r forwarding, a ruleset in r's forward chain; `busybox ping`
//! from a to b gets through exactly when the evaluator, run on the ruleset
//! as `nft --debug=netlink list ruleset` shows it in r, accepts both the
//! echo request (a new connection) and its reply (established).

mod common;

use std::process::Command;

use common::{Topology, ip, links_json};
use nsmap::name::Name;
use nsmap::path::nft::{Ct, CtDir, CtState, Dev, NoEnv, Outcome, Packet, PktType, run_chain};
use nsmap::snapshot::l3::Family;

/// The test parser of the unit tests, over the library's types.
mod name {
    pub use nsmap::name::*;
}
mod snapshot {
    pub use nsmap::snapshot::*;
}
#[allow(dead_code)]
#[path = "../src/path/nft/testing.rs"]
mod testing;

fn nft_in(ns: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns, "nft"]).args(args);
    let out = match stdin {
        Some(text) => {
            use std::io::Write;
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("nft");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("write");
            child.wait_with_output().expect("nft")
        }
        None => cmd.output().expect("nft"),
    };
    assert!(
        out.status.success(),
        "nft {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn sh(ns: &str, argv: &[&str]) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(argv)
        .status()
        .expect("run")
        .success()
}

fn dev(ns: &str, name: &str) -> Dev {
    let links = links_json(Some(ns));
    let link = links.iter().find(|l| l["ifname"] == name).expect("link");
    Dev {
        ifindex: u32::try_from(link["ifindex"].as_u64().expect("ifindex")).expect("u32"),
        name: Name::from(name),
        kind: Some("veth".into()),
        ll_type: 1,
    }
}

fn echo(src: [u8; 4], dst: [u8; 4], icmp_type: u8, iif: Dev, oif: Dev, ct: Ct) -> Packet {
    Packet {
        family: Family::Inet,
        src: src.into(),
        dst: dst.into(),
        l4proto: 1,
        sport: None,
        dport: None,
        icmp_type: Some(icmp_type),
        icmp_code: Some(0),
        tcp_flags: None,
        // ip_forward decrements the TTL before the forward hook.
        ttl: 63,
        iif: Some(iif),
        oif: Some(oif),
        bri_iif: None,
        bri_oif: None,
        mark: 0,
        ct,
        skuid: None,
        skgid: None,
        pkttype: PktType::Host,
        has_ll: true,
        ll: None,
        // busybox ping: 56 bytes of data, ICMP and IPv4 headers.
        len: Some(84),
    }
}

/// `table inet t` with `extra` (sets, chains) and a forward base chain.
fn fw(policy: &str, extra: &str, rules: &[&str]) -> String {
    let mut s = format!(
        "table inet t {{\n{extra}chain fw {{\ntype filter hook forward priority 0; policy {policy};\n"
    );
    for r in rules {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str("}\n}\n");
    s
}

/// Some(true) accept, Some(false) drop, None unknown.
fn decision(o: &Outcome) -> Option<bool> {
    match o {
        Outcome::Accept { .. } => Some(true),
        Outcome::Drop { .. } => Some(false),
        _ => None,
    }
}

/// Loads `rules` (naming the interfaces `R0`/`R1`) in r, pings, and
/// checks the evaluator's verdict against the ping.
fn case(topo: &Topology, r: &str, a: &str, rules: &str, want_through: bool) {
    let (r0, r1) = (topo.name("r0"), topo.name("r1"));
    let rules = rules.replace("R0", &r0).replace("R1", &r1);
    nft_in(r, &["flush", "ruleset"], None);
    nft_in(r, &["-f", "-"], Some(&rules));
    let listing = nft_in(r, &["list", "ruleset"], None);
    let netlink = nft_in(r, &["--debug=netlink", "list", "ruleset"], None);
    let through = sh(a, &["busybox", "ping", "-c1", "-W1", "10.91.2.2"]);
    assert_eq!(
        through, want_through,
        "the ruleset does not do what the test means:\n{rules}"
    );

    let fx = testing::parse(&netlink, &listing);
    let table = fx
        .tables
        .iter()
        .find(|t| t.name.as_str() == "t")
        .expect("table t");
    let chain = table
        .chains
        .iter()
        .find(|c| c.hook.as_deref() == Some("forward"))
        .expect("forward chain");
    let (d0, d1) = (dev(r, &r0), dev(r, &r1));
    let orig = Ct {
        state: CtState::New,
        direction: CtDir::Original,
        status: Some(0),
    };
    let reply = Ct {
        state: CtState::Established,
        direction: CtDir::Reply,
        status: None,
    };
    let request = run_chain(
        table,
        chain,
        &echo(
            [10, 91, 1, 2],
            [10, 91, 2, 2],
            8,
            d0.clone(),
            d1.clone(),
            orig,
        ),
        &NoEnv,
    );
    let response = run_chain(
        table,
        chain,
        &echo([10, 91, 2, 2], [10, 91, 1, 2], 0, d1, d0, reply),
        &NoEnv,
    );
    let predicted = match decision(&request.outcome) {
        Some(false) => Some(false),
        Some(true) => decision(&response.outcome),
        None => None,
    };
    assert_eq!(
        predicted,
        Some(through),
        "ruleset:\n{listing}\nrequest: {:?}\nreply: {:?}",
        request.outcome,
        response.outcome
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ping_through_a_forward_chain_matches_the_evaluator() {
    let mut topo = Topology::new("nft_eval_ping_through_forward_chain");
    let (a, r, b) = (topo.netns("a"), topo.netns("r"), topo.netns("b"));
    let (a0, r0, r1, b0) = (
        topo.name("a0"),
        topo.name("r0"),
        topo.name("r1"),
        topo.name("b0"),
    );
    ip(&[
        "-n", &a, "link", "add", &a0, "type", "veth", "peer", "name", &r0, "netns", &r,
    ]);
    ip(&[
        "-n", &b, "link", "add", &b0, "type", "veth", "peer", "name", &r1, "netns", &r,
    ]);
    for (ns, dev, addr) in [
        (&a, &a0, "10.91.1.2/24"),
        (&r, &r0, "10.91.1.1/24"),
        (&r, &r1, "10.91.2.1/24"),
        (&b, &b0, "10.91.2.2/24"),
    ] {
        ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
        ip(&["-n", ns, "link", "set", dev, "up"]);
    }
    ip(&["-n", &a, "route", "add", "default", "via", "10.91.1.1"]);
    ip(&["-n", &b, "route", "add", "default", "via", "10.91.2.1"]);
    assert!(sh(&r, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]));
    assert!(
        sh(&a, &["busybox", "ping", "-c1", "-W1", "10.91.2.2"]),
        "no path without rules"
    );

    // A drop rule on the request's source.
    case(
        &topo,
        &r,
        &a,
        &fw(
            "accept",
            "",
            &["ip saddr 10.91.1.0/24 icmp type echo-request drop"],
        ),
        false,
    );
    // Policy drop, the request accepted as new, the reply as established.
    let conntrack = [
        "ct state established,related accept",
        "iifname \"R0\" icmp type echo-request accept",
    ];
    case(&topo, &r, &a, &fw("drop", "", &conntrack), true);
    // The same without the conntrack rule: the reply dies.
    case(&topo, &r, &a, &fw("drop", "", &conntrack[1..]), false);
    // A named interval set of blocked destinations, through a jump and a
    // return.
    let blocked = "set blocked {\ntype ipv4_addr\nflags interval\nelements = { 10.91.2.0/28 }\n}\nchain check {\nip daddr @blocked drop\nreturn\n}\n";
    case(
        &topo,
        &r,
        &a,
        &fw("accept", blocked, &["meta l4proto icmp jump check"]),
        false,
    );
    // A verdict map on the output device: r1 jumps to a chain that accepts
    // echo requests and drops the rest, r0 (the reply's way) accepts.
    let req = "chain req {\nicmp type echo-request accept\ndrop\n}\n";
    case(
        &topo,
        &r,
        &a,
        &fw(
            "drop",
            req,
            &["oifname vmap { \"R1\" : jump req, \"R0\" : accept }"],
        ),
        true,
    );
    // A concatenation that holds the request's pair but not the reply's.
    case(
        &topo,
        &r,
        &a,
        &fw(
            "drop",
            "",
            &["ip saddr . ip daddr { 10.91.1.0/24 . 10.91.2.0/24 } accept"],
        ),
        false,
    );
    nft_in(&r, &["flush", "ruleset"], None);
}
