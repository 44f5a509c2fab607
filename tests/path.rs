//! Root tests of `nsmap path`: real layer-3 topologies built with iproute2,
//! the kernel's verdict (`busybox ping`) and its per-hop routing decision
//! (`ip route get`), compared with `nsmap path --json`.
//!
//! Each test first checks that the kernel does what the scenario claims,
//! then holds nsmap to it: the verdict, the code, the namespace where the
//! packet dies, the namespaces it crosses (bridge-only ones included), and
//! every routed hop against `ip route get` in that hop's namespace.
//!
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).

mod common;
#[path = "common/path.rs"]
mod lab;

use std::time::Duration;

use lab::{Expect, Lab, Ns, Probe, hops, host_chains, namespaces};

/// a ─ r ─ b, as the kit builds it ([`Lab::routed`]).
fn routed(lab: &mut Lab) -> (Ns, Ns, Ns) {
    lab.routed()
}

/// `x` and `y` as ports of `br0` in `h`, with the given addresses.
fn bridged(lab: &mut Lab, x_addr: &str, y_addr: &str) -> (Ns, Ns, Ns) {
    let h = lab.ns("h");
    let x = lab.ns("x");
    let y = lab.ns("y");
    h.bridge("br0");
    lab.port(&h, "br0", "px", &x, x_addr);
    lab.port(&h, "br0", "py", &y, y_addr);
    (h, x, y)
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn bridge_in_a_namespace_carries_two_namespaces() {
    let mut lab = Lab::new("path_bridge_ns", 201);
    let (xa, ya) = (lab.v4("0.2/24"), lab.v4("0.3/24"));
    let (h, x, y) = bridged(&mut lab, &xa, &ya);
    lab.settle();
    let json = lab.check(
        &Probe::new(&x, &lab.v4("0.3")),
        &Expect::reachable(&[&x, &h, &y]),
    );
    // The bridge hop names the bridge.
    let bridge_hop = hops(&json, "forward")
        .iter()
        .find(|hop| hop["netns"] == h.inode)
        .expect("a hop in the bridge's namespace");
    assert_eq!(bridge_hop["action"], "bridge", "{json}");
    assert!(
        bridge_hop["via"]
            .as_array()
            .expect("via")
            .iter()
            .any(|r| r["ifname"] == "br0"),
        "via names br0: {json}"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn bridge_in_the_host_namespace_carries_two_namespaces() {
    // The host's firewall is not ours: it may hold rules of other software
    // (with br_netfilter, bridged IPv4 crosses the host's FORWARD hook), so
    // nsmap may say `unknown` — but only naming one of the host's chains.
    let mut lab = Lab::new("path_bridge_host", 202);
    let host = lab.host();
    let x = lab.ns("x");
    let y = lab.ns("y");
    let br = lab.topo.name("br");
    lab.topo.host_link(&br);
    common::ip(&["link", "add", &br, "type", "bridge"]);
    // No IPv6 link-local address in the host for links of the test.
    common::ip(&["link", "set", &br, "addrgenmode", "none"]);
    common::ip(&["link", "set", &br, "up"]);
    for (ns, addr, port) in [(&x, "0.2/24", "px"), (&y, "0.3/24", "py")] {
        let port = lab.topo.name(port);
        lab.topo.host_link(&port);
        common::ip(&[
            "link",
            "add",
            &port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns.sel(),
        ]);
        common::ip(&["link", "set", &port, "addrgenmode", "none"]);
        common::ip(&["link", "set", &port, "master", &br]);
        common::ip(&["link", "set", &port, "up"]);
        ns.addr("eth0", &lab.v4(addr));
        ns.up("eth0");
    }
    lab.settle();
    let probe = Probe::new(&x, &lab.v4("0.3"));
    let replied = lab.ping(&probe);
    let trace = lab.trace(&probe);
    let j = &trace.json;
    let chains = host_chains();
    let reason = j["reason"].as_str().unwrap_or("");
    let names_host_chain = chains.iter().any(|c| reason.contains(c.as_str()));
    let unknown = j["verdict"] == "unknown";
    assert_eq!(
        unknown,
        j["code"] == "firewall_rules" && names_host_chain,
        "unknown if and only if firewall_rules naming a host chain ({chains:?}): {j}"
    );
    if unknown {
        assert_eq!(trace.exit, 4, "{j}");
        return;
    }
    // Otherwise ping's verdict.
    if replied {
        lab.assert_expected(&probe, &trace, &Expect::reachable(&[&x, &host, &y]));
    } else {
        assert_eq!(j["verdict"], "unreachable", "ping failed: {j}");
        assert_eq!(trace.exit, 1, "{j}");
    }
    lab.assert_hops_match_kernel(&probe, &trace);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn router_forwards_between_two_namespaces() {
    let mut lab = Lab::new("path_router", 203);
    let (a, r, b) = routed(&mut lab);
    r.sysctl(&["net.ipv4.ip_forward=1"]);
    lab.settle();
    lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::reachable(&[&a, &r, &b]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn router_with_forwarding_off_drops() {
    let mut lab = Lab::new("path_router_off", 204);
    let (a, r, _b) = routed(&mut lab);
    r.sysctl(&["net.ipv4.ip_forward=0"]);
    lab.settle();
    lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("forwarding_disabled", &r, &[&a, &r]),
    );
    // The router's own far address is local, not forwarded: reachable.
    lab.check(
        &Probe::new(&a, &lab.v4("2.1")),
        &Expect::reachable(&[&a, &r]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn missing_return_route_dies_at_the_destination() {
    let mut lab = Lab::new("path_no_return", 205);
    let (a, r, b) = routed(&mut lab);
    r.sysctl(&["net.ipv4.ip_forward=1"]);
    b.ip(&["route", "del", "default"]);
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("no_return_route", &b, &[&a, &r, &b]),
    );
    assert_eq!(
        namespaces(hops(&json, "return")),
        vec![b.inode],
        "the reply dies where it starts: {json}"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn veth_end_down_on_either_side() {
    let mut lab = Lab::new("path_veth_down", 206);
    let a = lab.ns("a");
    let b = lab.ns("b");
    lab.wire(&a, "eth0", &lab.v4("1.1/24"), &b, "eth0", &lab.v4("1.2/24"));
    let probe = Probe::new(&a, &lab.v4("1.2"));
    lab.settle();
    lab.check(&probe, &Expect::reachable(&[&a, &b]));

    // The sending end down: its routes are gone (the kernel: no route).
    a.down("eth0");
    lab.settle();
    lab.check(&probe, &Expect::unreachable("link_down", &a, &[&a]));

    // The far end down: the route stays ("linkdown"), the carrier is gone.
    a.up("eth0");
    b.down("eth0");
    lab.settle();
    lab.check(&probe, &Expect::unreachable("no_carrier", &a, &[&a]));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn policy_rule_from_matches_only_a_bound_source() {
    let mut lab = Lab::new("path_policy_rule", 207);
    let a = lab.ns("a");
    let b = lab.ns("b");
    lab.wire(&a, "eth0", &lab.v4("1.1/24"), &b, "eth0", &lab.v4("1.2/24"));
    let x = lab.v4("1.11");
    a.addr("eth0", &format!("{x}/24"));
    a.ip(&["rule", "add", "from", &x, "lookup", "100"]);
    a.route(&["blackhole", "default", "table", "100"]);
    lab.settle();
    // An unbound socket is routed with source 0.0.0.0: `from X` never
    // matches it.
    let json = lab.check(
        &Probe::new(&a, &lab.v4("1.2")),
        &Expect::reachable(&[&a, &b]),
    );
    assert_eq!(json["src"]["address"], lab.v4("1.1"), "{json}");
    // Bound to X, the rule sends it to the blackhole.
    let json = lab.check(
        &Probe::new(&a, &lab.v4("1.2")).from(&x),
        &Expect::unreachable("blackhole", &a, &[&a]),
    );
    let route = &hops(&json, "forward")[0]["route"];
    if !route.is_null() {
        assert_eq!(route["type"], "blackhole", "{json}");
        assert_eq!(route["table"], 100, "{json}");
        assert_eq!(route["rule"], rule_priority(&a, "100"), "{json}");
    }
}

/// The priority of the rule that looks up `table`.
fn rule_priority(ns: &Ns, table: &str) -> u64 {
    let out = std::process::Command::new("ip")
        .args(["-n", ns.sel(), "-j", "rule", "show"])
        .output()
        .expect("run ip rule");
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("rules");
    rules
        .iter()
        .find(|r| r["table"] == table)
        .and_then(|r| r["priority"].as_u64())
        .expect("the rule's priority")
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn same_subnet_on_two_isolated_bridges_follows_the_wire() {
    let mut lab = Lab::new("path_same_subnet", 208);
    let (h1, h2) = (lab.ns("h1"), lab.ns("h2"));
    let (a1, b1, a2, b2) = (lab.ns("a1"), lab.ns("b1"), lab.ns("a2"), lab.ns("b2"));
    for (h, a, b) in [(&h1, &a1, &b1), (&h2, &a2, &b2)] {
        h.bridge("br0");
        lab.port(h, "br0", "pa", a, &lab.v4("0.1/24"));
        lab.port(h, "br0", "pb", b, &lab.v4("0.2/24"));
    }
    let dst = lab.v4("0.2");
    lab.settle();
    lab.check(&Probe::new(&a1, &dst), &Expect::reachable(&[&a1, &h1, &b1]));
    lab.check(&Probe::new(&a2, &dst), &Expect::reachable(&[&a2, &h2, &b2]));

    // b2 still has the address, but not on a1's wire. The one that has it
    // there is down: nsmap names it (link_down); nobody answering ARP is
    // the kernel's own view of the same.
    b1.down("eth0");
    lab.settle();
    let json = lab.check(
        &Probe::new(&a1, &dst),
        &Expect::unreachable("link_down", &a1, &[&a1]).or_code("neighbour_unresolvable"),
    );
    for list in ["forward", "return"] {
        let crossed = namespaces(hops(&json, list));
        assert!(
            !crossed.contains(&b2.inode) && !crossed.contains(&h2.inode),
            "the {list} path strays onto the other bridge: {json}"
        );
    }
    assert!(
        json["dst"]["netns"].is_null() || json["dst"]["netns"] == b1.inode,
        "the destination is b1 (on the wire) or not known, never b2: {json}"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn macvlan_siblings_reach_each_other_but_not_their_parent() {
    let mut lab = Lab::new("path_macvlan", 209);
    let p = lab.ns("p");
    let w = lab.ns("w");
    let c1 = lab.ns("c1");
    let c2 = lab.ns("c2");
    // The parent's wire leads to a namespace with no address at all.
    lab.wire(&p, "eth0", &lab.v4("0.1/24"), &w, "eth0", "");
    for (c, m, addr) in [(&c1, "m1", "0.11/24"), (&c2, "m2", "0.12/24")] {
        p.ip(&[
            "link", "add", m, "link", "eth0", "type", "macvlan", "mode", "bridge",
        ]);
        p.ip(&["link", "set", m, "netns", c.sel()]);
        c.addr(m, &lab.v4(addr));
        c.up(m);
    }
    lab.settle();
    // Whether siblings' frames "cross" the parent's namespace is the
    // engine's choice: the parent's macvlan port switches them there.
    lab.check(
        &Probe::new(&c1, &lab.v4("0.12")),
        &Expect::reachable(&[&c1, &c2]).or_forward(&[&c1, &p, &c2]),
    );
    lab.check(
        &Probe::new(&c1, &lab.v4("0.1")),
        &Expect::unreachable("neighbour_unresolvable", &c1, &[&c1]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nft_forward_chain_with_policy_drop_and_no_rules_drops() {
    let mut lab = Lab::new("path_nft_drop", 210);
    let (a, r, _b) = routed(&mut lab);
    r.sysctl(&["net.ipv4.ip_forward=1"]);
    r.nft(
        "table ip guard {
            chain fwd_guard {
                type filter hook forward priority 0; policy drop;
            }
        }",
    );
    lab.settle();
    lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nft_forward_chain_with_a_rule_that_does_not_match_drops_by_policy() {
    let mut lab = Lab::new("path_nft_rule", 211);
    let (a, r, _b) = routed(&mut lab);
    r.sysctl(&["net.ipv4.ip_forward=1"]);
    // The rule does not match ICMP: the kernel drops by policy, and nsmap,
    // running the rule on the packet, says so and names the chain.
    r.nft(
        "table ip guard {
            chain fwd_guard {
                type filter hook forward priority 0; policy drop;
                tcp dport 22 accept
            }
        }",
    );
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
    );
    let reason = json["reason"].as_str().expect("reason").to_lowercase();
    let name = r.sel().to_lowercase();
    assert!(
        reason.contains(&name) || reason.contains(&r.inode.to_string()),
        "the reason names the namespace: {json}"
    );
    for word in ["forward", "fwd_guard", "policy"] {
        assert!(reason.contains(word), "the reason names {word:?}: {json}");
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn lo_down_breaks_local_delivery_only() {
    let mut lab = Lab::new("path_lo_down", 212);
    let a = lab.ns("a");
    let b = lab.ns("b");
    lab.wire(&a, "eth0", &lab.v4("1.1/24"), &b, "eth0", &lab.v4("1.2/24"));
    b.down("lo");
    lab.settle();
    lab.check(
        &Probe::new(&b, "127.0.0.1"),
        &Expect::unreachable("lo_down", &b, &[&b]),
    );
    // Local delivery goes through lo: b's own eth0 address is gone too.
    lab.check(
        &Probe::new(&b, &lab.v4("1.2")),
        &Expect::unreachable("lo_down", &b, &[&b]),
    );
    // Yet a reaches b's eth0 address.
    lab.check(
        &Probe::new(&a, &lab.v4("1.2")),
        &Expect::reachable(&[&a, &b]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ipv6_across_a_bridge_and_without_a_route() {
    let mut lab = Lab::new("path_ipv6", 213);
    let (xa, ya) = (lab.v6("1::2/64"), lab.v6("1::3/64"));
    let (h, x, y) = bridged(&mut lab, &xa, &ya);
    lab.settle();
    lab.check(
        &Probe::new(&x, &lab.v6("1::3")),
        &Expect::reachable(&[&x, &h, &y]),
    );
    lab.check(
        &Probe::new(&x, &lab.v6("99::1")),
        &Expect::unreachable("no_route", &x, &[&x]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn default_gateway_nobody_owns() {
    let mut lab = Lab::new("path_ghost_gateway", 214);
    let a = lab.ns("a");
    let b = lab.ns("b");
    lab.wire(&a, "eth0", &lab.v4("1.2/24"), &b, "eth0", &lab.v4("1.1/24"));
    a.route(&["default", "via", &lab.v4("1.99")]);
    lab.settle();
    lab.check(
        &Probe::new(&a, "192.0.2.1"),
        &Expect::unreachable("neighbour_unresolvable", &a, &[&a]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn two_subnets_on_one_bridge_need_on_link_routes() {
    let mut lab = Lab::new("path_two_subnets", 215);
    let (xa, ya) = (lab.v4("1.2/24"), lab.v4("2.2/24"));
    let (h, x, y) = bridged(&mut lab, &xa, &ya);
    lab.settle();
    let probe = Probe::new(&x, &lab.v4("2.2"));
    lab.check(&probe, &Expect::unreachable("no_route", &x, &[&x]));
    x.route(&[&lab.v4("2.0/24"), "dev", "eth0"]);
    y.route(&[&lab.v4("1.0/24"), "dev", "eth0"]);
    lab.check(&probe, &Expect::reachable(&[&x, &h, &y]));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn containers_behind_a_host_bridge_gateway() {
    let mut lab = Lab::new("path_containers", 216);
    let host = lab.ns("host");
    let c1 = lab.ns("c1");
    let c2 = lab.ns("c2");
    host.bridge("br0");
    host.addr("br0", &lab.v4("0.1/16"));
    lab.port(&host, "br0", "veth1", &c1, &lab.v4("0.2/16"));
    lab.port(&host, "br0", "veth2", &c2, &lab.v4("0.3/16"));
    for c in [&c1, &c2] {
        c.route(&["default", "via", &lab.v4("0.1")]);
    }
    host.sysctl(&["net.ipv4.ip_forward=1"]);
    lab.settle();
    lab.check(
        &Probe::new(&c1, &lab.v4("0.3")),
        &Expect::reachable(&[&c1, &host, &c2]),
    );
    lab.check(
        &Probe::new(&c1, &lab.v4("0.1")),
        &Expect::reachable(&[&c1, &host]),
    );
    lab.check(
        &Probe::new(&c1, "192.0.2.1"),
        &Expect::unreachable("no_route", &host, &[&c1, &host]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn routing_loop_is_found_quickly() {
    let mut lab = Lab::new("path_loop", 217);
    let a = lab.ns("a");
    let r1 = lab.ns("r1");
    let r2 = lab.ns("r2");
    lab.wire(
        &a,
        "eth0",
        &lab.v4("1.2/24"),
        &r1,
        "eth0",
        &lab.v4("1.1/24"),
    );
    lab.wire(
        &r1,
        "eth1",
        &lab.v4("2.1/24"),
        &r2,
        "eth0",
        &lab.v4("2.2/24"),
    );
    a.route(&["default", "via", &lab.v4("1.1")]);
    r1.route(&[&lab.v4("9.0/24"), "via", &lab.v4("2.2")]);
    r2.route(&[&lab.v4("9.0/24"), "via", &lab.v4("2.1")]);
    r2.route(&[&lab.v4("1.0/24"), "via", &lab.v4("2.1")]);
    for r in [&r1, &r2] {
        r.sysctl(&["net.ipv4.ip_forward=1"]);
    }
    lab.settle();
    let json = lab.check_within(
        &Probe::new(&a, &lab.v4("9.9")),
        &Expect::unreachable("loop", &r1, &[])
            .or_code("ttl_exhausted")
            .or_drop_in(&r2)
            .any_forward(),
        Duration::from_secs(5),
    );
    // a, then r1 and r2 in turn, at least once round.
    let crossed = namespaces(hops(&json, "forward"));
    assert!(crossed.len() >= 4, "{json}");
    assert_eq!(crossed[0], a.inode, "{json}");
    for (i, inode) in crossed[1..].iter().enumerate() {
        let want = if i % 2 == 0 { r1.inode } else { r2.inode };
        assert_eq!(*inode, want, "r1 and r2 in turn: {json}");
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn source_bound_to_an_interface() {
    // s has eth0 towards d (which owns the destination behind a route) and
    // eth1 towards c (no route to it). Bound to eth1, the kernel finds no
    // route on that device and assumes the destination is on its link: it
    // asks for it by ARP on eth1, and nobody there answers.
    let mut lab = Lab::new("path_bound_iface", 218);
    let s = lab.ns("s");
    let d = lab.ns("d");
    let c = lab.ns("c");
    lab.wire(&s, "eth0", &lab.v4("4.2/24"), &d, "eth0", &lab.v4("4.1/24"));
    lab.wire(&s, "eth1", &lab.v4("3.2/24"), &c, "eth0", &lab.v4("3.1/24"));
    let dst = lab.v4("1.2");
    d.addr("eth0", &format!("{dst}/32"));
    s.route(&[&lab.v4("1.0/24"), "via", &lab.v4("4.1")]);
    lab.settle();
    lab.check(&Probe::new(&s, &dst), &Expect::reachable(&[&s, &d]));
    lab.check(
        &Probe::new(&s, &dst).via("eth0"),
        &Expect::reachable(&[&s, &d]),
    );
    let json = lab.check(
        &Probe::new(&s, &dst).via("eth1"),
        &Expect::unreachable("neighbour_unresolvable", &s, &[&s]),
    );
    assert_eq!(json["src"]["address"], lab.v4("3.2"), "{json}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn forwarded_packet_takes_the_first_of_equal_default_routes() {
    // r has two default routes of one metric, via b first, then (appended)
    // via c, which owns the destination. A packet r forwards takes the
    // first (no fib_select_default on input): b, whose forwarding is off,
    // drops it. Had nsmap counted both as possible, it would say unknown.
    let mut lab = Lab::new("path_eqdefault", 219);
    let a = lab.ns("a");
    let r = lab.ns("r");
    let b = lab.ns("b");
    let c = lab.ns("c");
    lab.wire(&a, "eth0", &lab.v4("1.2/24"), &r, "eth0", &lab.v4("1.1/24"));
    lab.wire(&b, "eth0", &lab.v4("2.2/24"), &r, "eth1", &lab.v4("2.1/24"));
    lab.wire(&c, "eth0", &lab.v4("3.2/24"), &r, "eth2", &lab.v4("3.1/24"));
    let dst = lab.v4("9.9");
    c.addr("eth0", &format!("{dst}/32"));
    a.route(&["default", "via", &lab.v4("1.1")]);
    b.route(&["default", "via", &lab.v4("2.1")]);
    c.route(&["default", "via", &lab.v4("3.1")]);
    r.route(&["default", "via", &lab.v4("2.2"), "metric", "10"]);
    r.ip(&[
        "route",
        "append",
        "default",
        "via",
        &lab.v4("3.2"),
        "metric",
        "10",
    ]);
    r.sysctl(&["net.ipv4.ip_forward=1"]);
    b.sysctl(&["net.ipv4.ip_forward=0"]);
    lab.settle();
    lab.check(
        &Probe::new(&a, &dst),
        &Expect::unreachable("forwarding_disabled", &b, &[&a, &r, &b]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ipv6_bound_to_a_device_passes_over_error_routes() {
    // s: a blackhole route for the destination's /64 (on lo, metric 1024)
    // and a worse route of the same prefix via d on eth0. Unbound, the
    // blackhole decides; bound to eth0, IPv6 scores every route on another
    // device as failed, the blackhole too, and the packet leaves by eth0.
    let mut lab = Lab::new("path_v6_bound", 220);
    let s = lab.ns("s");
    let d = lab.ns("d");
    lab.wire(
        &s,
        "eth0",
        &lab.v6("4::2/64"),
        &d,
        "eth0",
        &lab.v6("4::1/64"),
    );
    let dst = lab.v6("9::9");
    d.addr("eth0", &format!("{dst}/128"));
    let prefix = lab.v6("9::/64");
    s.route(&["blackhole", &prefix]);
    s.route(&[&prefix, "via", &lab.v6("4::1"), "metric", "2048"]);
    lab.settle();
    lab.check(
        &Probe::new(&s, &dst),
        &Expect::unreachable("blackhole", &s, &[&s]),
    );
    lab.check(
        &Probe::new(&s, &dst).via("eth0"),
        &Expect::reachable(&[&s, &d]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ipv6_host_passes_over_a_failed_router() {
    // s (not forwarding) routes the destination's /64 via a gateway on
    // eth0 whose neighbour entry is FAILED, and has a default route via d2,
    // which owns the destination. An IPv6 host looks up with
    // RT6_LOOKUP_F_REACHABLE: the failed router is passed over, down to the
    // default route. (The entry is made FAILED by hand, so the kernel does
    // not probe it again for rtr_probe_interval, a minute.)
    let mut lab = Lab::new("path_v6_failed", 221);
    let s = lab.ns("s");
    let d = lab.ns("d");
    let d2 = lab.ns("d2");
    lab.wire(
        &s,
        "eth0",
        &lab.v6("4::2/64"),
        &d,
        "eth0",
        &lab.v6("4::1/64"),
    );
    lab.wire(
        &s,
        "eth1",
        &lab.v6("5::2/64"),
        &d2,
        "eth0",
        &lab.v6("5::1/64"),
    );
    let dst = lab.v6("9::9");
    d2.addr("eth0", &format!("{dst}/128"));
    d2.route(&["default", "via", &lab.v6("5::2")]);
    let gone = lab.v6("4::7");
    s.route(&[&lab.v6("9::/64"), "via", &gone]);
    s.route(&["default", "via", &lab.v6("5::1")]);
    s.ip(&["-6", "neigh", "add", &gone, "dev", "eth0", "nud", "failed"]);
    lab.settle();
    lab.check(&Probe::new(&s, &dst), &Expect::reachable(&[&s, &d2]));
    // A router (forwarding on) does not pass over it: the packet waits for
    // a neighbour nobody is.
    s.sysctl(&["net.ipv6.conf.all.forwarding=1"]);
    s.ip(&[
        "-6", "neigh", "replace", &gone, "dev", "eth0", "nud", "failed",
    ]);
    lab.check(
        &Probe::new(&s, &dst),
        &Expect::unreachable("neighbour_unresolvable", &s, &[&s]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ipv6_optimistic_link_local_answers_and_the_reply_leaves_by_its_interface() {
    // d runs optimistic DAD for a long time: its link-local address stays
    // tentative and optimistic, which the kernel uses and answers NDP for
    // (RFC 4429). The echo reply to s's link-local address leaves by the
    // interface the request came in on.
    let mut lab = Lab::new("path_v6_optimistic", 222);
    let s = lab.ns("s");
    let d = lab.ns("d");
    d.sysctl(&[
        "net.ipv6.conf.default.accept_dad=1",
        "net.ipv6.conf.default.dad_transmits=200",
        "net.ipv6.conf.default.optimistic_dad=1",
    ]);
    lab.wire(&s, "eth0", "", &d, "eth0", "");
    lab.settle();
    let out = std::process::Command::new("ip")
        .args([
            "-n",
            d.sel(),
            "-j",
            "-6",
            "addr",
            "show",
            "dev",
            "eth0",
            "scope",
            "link",
        ])
        .output()
        .expect("run ip");
    let addrs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j addr");
    let ll = &addrs[0]["addr_info"][0];
    assert_eq!(ll["optimistic"], true, "{addrs}");
    assert_eq!(ll["tentative"], true, "{addrs}");
    let dst = ll["local"].as_str().expect("link-local address");
    lab.check(
        &Probe::new(&s, dst).via("eth0"),
        &Expect::reachable(&[&s, &d]),
    );
}

/// nffa ─ nffr ─ nffb as [`routed`] builds it (10.N.1.0/24, 10.N.2.0/24,
/// and fdN:1::/64, fdN:2::/64 for IPv6), with `nffr` forwarding both
/// families.
fn routed_both(lab: &mut Lab) -> (Ns, Ns, Ns) {
    let a = lab.ns("nffa");
    let r = lab.ns("nffr");
    let b = lab.ns("nffb");
    lab.wire(&a, "eth0", &lab.v4("1.2/24"), &r, "eth0", &lab.v4("1.1/24"));
    lab.wire(&b, "eth0", &lab.v4("2.2/24"), &r, "eth1", &lab.v4("2.1/24"));
    a.addr("eth0", &lab.v6("1::2/64"));
    r.addr("eth0", &lab.v6("1::1/64"));
    r.addr("eth1", &lab.v6("2::1/64"));
    b.addr("eth0", &lab.v6("2::2/64"));
    a.route(&["default", "via", &lab.v4("1.1")]);
    b.route(&["default", "via", &lab.v4("2.1")]);
    a.ip(&["-6", "route", "add", "default", "via", &lab.v6("1::1")]);
    b.ip(&["-6", "route", "add", "default", "via", &lab.v6("2::1")]);
    r.sysctl(&["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
    (a, r, b)
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ipv6_force_forwarding_forwards_what_arrives_on_that_device() {
    // r with all.forwarding 0: force_forwarding (Linux 6.17+) on eth0
    // alone forwards the request, not the reply arriving on eth1; on both,
    // the ping gets through.
    let mut lab = Lab::new("path_v6_force_fwd", 223);
    let (a, r, b) = routed_both(&mut lab);
    if !std::path::Path::new("/proc/sys/net/ipv6/conf/all/force_forwarding").exists() {
        panic!("this kernel has no net.ipv6.conf.*.force_forwarding (Linux 6.17+)");
    }
    r.sysctl(&[
        "net.ipv6.conf.all.forwarding=0",
        "net.ipv6.conf.eth0.force_forwarding=1",
    ]);
    lab.settle();
    let dst = lab.v6("2::2");
    lab.check(
        &Probe::new(&a, &dst),
        &Expect::unreachable("forwarding_disabled", &r, &[&a, &r, &b]),
    );
    r.sysctl(&["net.ipv6.conf.eth1.force_forwarding=1"]);
    lab.check(&Probe::new(&a, &dst), &Expect::reachable(&[&a, &r, &b]));
}

/// The MAC address of `dev` in `ns`.
fn mac(ns: &Ns, dev: &str) -> String {
    let out = std::process::Command::new("ip")
        .args(["-n", ns.sel(), "-j", "link", "show", "dev", dev])
        .output()
        .expect("run ip");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ip -j link");
    v[0]["address"].as_str().expect("a MAC").to_string()
}

/// A table `nff` of `family` with one chain `c` of `spec`.
fn ruleset(family: &str, spec: &str) -> String {
    format!(
        "table {family} nff {{\n  chain c {{\n    {}\n  }}\n}}\n",
        spec.replace("; ", ";\n    ")
    )
}

/// Loads `ruleset` in `ns`, checks `probe` against `expect`, and removes
/// the ruleset again (`nft flush ruleset`) for the next case.
fn with_ruleset(
    lab: &Lab,
    ns: &Ns,
    ruleset: &str,
    probe: &Probe,
    expect: &Expect,
) -> serde_json::Value {
    ns.nft(ruleset);
    lab.settle();
    let json = lab.check(probe, expect);
    ns.nft("flush ruleset");
    json
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nff_device_hooks_on_the_way_drop_and_others_do_not_matter() {
    let mut lab = Lab::new("nff_device_hooks", 231);
    let (a, r, b) = routed_both(&mut lab);
    // A device the packet never meets: a veth pair inside the router.
    r.ip(&["link", "add", "u0", "type", "veth", "peer", "name", "u1"]);
    r.up("u0");
    r.up("u1");
    lab.settle();
    let probe = Probe::new(&a, &lab.v4("2.2"));
    // A chain that drops everything, on a device the packet never meets.
    for hook in ["ingress", "egress"] {
        with_ruleset(
            &lab,
            &r,
            &ruleset(
                "netdev",
                &format!("type filter hook {hook} device u0 priority 0; policy drop;"),
            ),
            &probe,
            &Expect::reachable(&[&a, &r, &b]),
        );
    }
    // netdev ingress where the packet arrives, egress where it leaves.
    for (hook, dev) in [("ingress", "eth0"), ("egress", "eth1")] {
        let json = with_ruleset(
            &lab,
            &r,
            &ruleset(
                "netdev",
                &format!("type filter hook {hook} device {dev} priority 0; policy drop;"),
            ),
            &probe,
            &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
        );
        let reason = json["reason"].as_str().unwrap_or("");
        assert!(
            reason.contains(hook) && reason.contains(dev),
            "the reason names the hook and device: {json}"
        );
    }
    // netdev ingress at the far end of the reply's way in (the request
    // leaves by eth1, the reply comes back by it).
    with_ruleset(
        &lab,
        &r,
        &ruleset(
            "netdev",
            "type filter hook ingress device eth1 priority 0; policy drop;",
        ),
        &probe,
        &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
    );
    // inet ingress sees IP but not ARP: the destination's own device
    // drops the packet once it arrived.
    with_ruleset(
        &lab,
        &b,
        &ruleset(
            "inet",
            "type filter hook ingress device eth0 priority 0; policy drop;",
        ),
        &probe,
        &Expect::unreachable("firewall_drop", &b, &[&a, &r, &b]),
    );
    // A rule there: ARP crosses it first, and nsmap does not run rules
    // on ARP frames: it cannot decide.
    let json = with_ruleset(
        &lab,
        &r,
        &ruleset(
            "netdev",
            "type filter hook ingress device eth0 priority 0; policy drop; tcp dport 22 accept;",
        ),
        &probe,
        &Expect::unknown("firewall_rules", &[&a, &r]),
    );
    assert!(
        json["reason"].as_str().unwrap_or("").contains("ARP"),
        "{json}"
    );
    // lo's own hooks on a local delivery.
    with_ruleset(
        &lab,
        &a,
        &ruleset(
            "netdev",
            "type filter hook egress device lo priority 0; policy drop;",
        ),
        &Probe::new(&a, &lab.v4("1.2")),
        &Expect::unreachable("firewall_drop", &a, &[&a]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nff_neighbour_resolution_crosses_arp_and_ndp_hooks() {
    let mut lab = Lab::new("nff_neigh_hooks", 232);
    let (a, r, b) = routed_both(&mut lab);
    lab.settle();
    let v4 = Probe::new(&a, &lab.v4("2.2"));
    let v6 = Probe::new(&a, &lab.v6("2::2"));
    let flush = || {
        for ns in [&a, &r, &b] {
            ns.ip(&["neigh", "flush", "all"]);
        }
    };
    for hook in ["input", "output"] {
        flush();
        let json = with_ruleset(
            &lab,
            &r,
            &ruleset(
                "arp",
                &format!("type filter hook {hook} priority 0; policy drop;"),
            ),
            &v4,
            &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
        );
        assert!(
            json["reason"].as_str().unwrap_or("").contains("arp"),
            "{json}"
        );
    }
    // ARP chains do not see IPv6, whose neighbour discovery is ICMPv6:
    // the router's IPv6 input hook (the packet itself only crosses
    // forward) drops its neighbour solicitations.
    flush();
    with_ruleset(
        &lab,
        &r,
        &ruleset("arp", "type filter hook input priority 0; policy drop;"),
        &v6,
        &Expect::reachable(&[&a, &r, &b]),
    );
    flush();
    with_ruleset(
        &lab,
        &r,
        &ruleset("ip6", "type filter hook input priority 0; policy drop;"),
        &v6,
        &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
    );
    // A permanent entry skips ARP: the ARP chain then does not matter.
    flush();
    let rmac = mac(&r, "eth0");
    a.ip(&[
        "neigh",
        "replace",
        &lab.v4("1.1"),
        "lladdr",
        &rmac,
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    let rb = mac(&r, "eth1");
    let bmac = mac(&b, "eth0");
    r.ip(&[
        "neigh",
        "replace",
        &lab.v4("2.2"),
        "lladdr",
        &bmac,
        "dev",
        "eth1",
        "nud",
        "permanent",
    ]);
    b.ip(&[
        "neigh",
        "replace",
        &lab.v4("2.1"),
        "lladdr",
        &rb,
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    let amac = mac(&a, "eth0");
    r.ip(&[
        "neigh",
        "replace",
        &lab.v4("1.2"),
        "lladdr",
        &amac,
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    with_ruleset(
        &lab,
        &r,
        &ruleset("arp", "type filter hook input priority 0; policy drop;"),
        &v4,
        &Expect::reachable(&[&a, &r, &b]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nff_bridge_port_hooks_count_only_on_ports_crossed() {
    let mut lab = Lab::new("nff_port_hooks", 233);
    let h = lab.ns("nffh");
    let x = lab.ns("nffx");
    let y = lab.ns("nffy");
    let z = lab.ns("nffz");
    h.bridge("br0");
    lab.port(&h, "br0", "px", &x, &lab.v4("0.2/24"));
    lab.port(&h, "br0", "py", &y, &lab.v4("0.3/24"));
    lab.port(&h, "br0", "pz", &z, &lab.v4("0.4/24"));
    lab.settle();
    let probe = Probe::new(&x, &lab.v4("0.3"));
    with_ruleset(
        &lab,
        &h,
        &ruleset(
            "netdev",
            "type filter hook ingress device pz priority 0; policy drop;",
        ),
        &probe,
        &Expect::reachable(&[&x, &h, &y]),
    );
    // px receives the request; it sends the reply (egress), which is
    // where that one dies.
    for hook in ["ingress", "egress"] {
        with_ruleset(
            &lab,
            &h,
            &ruleset(
                "netdev",
                &format!("type filter hook {hook} device px priority 0; policy drop;"),
            ),
            &probe,
            &Expect::unreachable("firewall_drop", &h, &[&x, &h]).or_forward(&[&x, &h, &y]),
        );
    }
}

/// Sets the policy of the arptables-legacy `filter` table's INPUT chain
/// in `ns` to DROP, as `arptables-legacy -P INPUT DROP` would (no such
/// binary here): asking for the table creates it from its template, then
/// ARPT_SO_SET_REPLACE installs the same entries with the policy changed.
#[allow(unsafe_code)]
fn arptables_legacy_input_drop(ns: &Ns) {
    use std::os::fd::AsRawFd;
    let path = format!("/run/netns/{}", ns.sel());
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open the namespace");
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let sock = nix::sys::socket::socket(
            nix::sys::socket::AddressFamily::Inet,
            nix::sys::socket::SockType::Raw,
            nix::sys::socket::SockFlag::SOCK_CLOEXEC,
            nix::sys::socket::SockProtocol::Raw,
        )
        .expect("raw socket");
        let fd = sock.as_raw_fd();
        let get = |opt: i32, buf: &mut Vec<u8>| {
            let mut len = buf.len() as libc::socklen_t;
            // SAFETY: buf is valid for len bytes; the kernel writes at most len.
            let r = unsafe {
                libc::getsockopt(fd, libc::SOL_IP, opt, buf.as_mut_ptr().cast(), &mut len)
            };
            assert_eq!(
                r,
                0,
                "getsockopt {opt}: {}",
                std::io::Error::last_os_error()
            );
        };
        let word =
            |b: &[u8], at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        let mut info = b"filter".to_vec();
        info.resize(68, 0);
        get(96, &mut info); // ARPT_SO_GET_INFO
        let (valid, num, size) = (word(&info, 32), word(&info, 60), word(&info, 64));
        let underflow_in = word(&info, 48) as usize;
        let mut entries = b"filter".to_vec();
        entries.resize(32, 0);
        entries.extend(size.to_ne_bytes());
        entries.resize(40 + size as usize, 0);
        get(97, &mut entries); // ARPT_SO_GET_ENTRIES
        let mut blob = entries[40..].to_vec();
        // The INPUT policy's standard target: its verdict follows the
        // 32-byte target header at the entry's target_offset.
        let target =
            u16::from_ne_bytes([blob[underflow_in + 164], blob[underflow_in + 165]]) as usize;
        let at = underflow_in + target + 32;
        blob[at..at + 4].copy_from_slice(&(-1i32).to_ne_bytes()); // -NF_DROP - 1
        let mut counters = vec![0u8; 16 * num as usize];
        let mut replace = b"filter".to_vec();
        replace.resize(32, 0);
        for w in [valid, num, size] {
            replace.extend(w.to_ne_bytes());
        }
        replace.extend_from_slice(&info[36..60]); // hook_entry[3], underflow[3]
        replace.extend(num.to_ne_bytes()); // num_counters
        replace.extend((counters.as_mut_ptr() as u64).to_ne_bytes());
        replace.extend(&blob);
        // SAFETY: replace is valid for its length; counters outlives the call.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_IP,
                96,
                replace.as_ptr().cast(),
                replace.len() as libc::socklen_t,
            )
        };
        assert_eq!(
            r,
            0,
            "ARPT_SO_SET_REPLACE: {}",
            std::io::Error::last_os_error()
        );
    })
    .join()
    .expect("arptables thread");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nff_arptables_legacy_policy_drop_is_seen() {
    let mut lab = Lab::new("nff_arptables_legacy", 234);
    let (a, r, b) = routed_both(&mut lab);
    lab.settle();
    let probe = Probe::new(&a, &lab.v4("2.2"));
    lab.check(&probe, &Expect::reachable(&[&a, &r, &b]));
    arptables_legacy_input_drop(&r);
    for ns in [&a, &r, &b] {
        ns.ip(&["neigh", "flush", "all"]);
    }
    let json = lab.check(&probe, &Expect::unreachable("firewall_drop", &r, &[&a, &r]));
    let reason = json["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("arptables-legacy") && reason.contains("INPUT"),
        "{json}"
    );
}
