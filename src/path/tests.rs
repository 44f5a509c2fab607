//! The engine on hand-built hosts: one behaviour per test, each the
//! kernel's (the root tests in tests/path.rs hold the same scenarios to
//! `ping` and `ip route get`).

use std::net::IpAddr;

use super::testing::{Host, Ns, route, rule};
use super::{Action, Code, Proto, Query, Trace, Verdict, trace};
use crate::snapshot::l3::{Family, RoutePath, TABLE_MAIN};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn run(h: &Host, from: Ns, dst: &str) -> Trace {
    trace(
        &h.build(),
        &Query {
            netns: h.inode(from),
            oif: None,
            from: None,
            dst: ip(dst),
            proto: Proto::Icmp,
            dport: None,
        },
    )
}

fn run_from(h: &Host, from: Ns, src: &str, dst: &str) -> Trace {
    trace(
        &h.build(),
        &Query {
            netns: h.inode(from),
            oif: None,
            from: Some(ip(src)),
            dst: ip(dst),
            proto: Proto::Icmp,
            dport: None,
        },
    )
}

fn labels(hops: &[super::Hop]) -> Vec<&str> {
    hops.iter().map(|h| h.label.as_str()).collect()
}

fn actions(hops: &[super::Hop]) -> Vec<Action> {
    hops.iter().map(|h| h.action).collect()
}

/// a and b on bridge br0 of "host": 10.0.0.1/24 and 10.0.0.2/24.
fn bridged() -> (Host, Ns, Ns, Ns) {
    let mut h = Host::new();
    let host = h.ns("host");
    let a = h.ns("a");
    let b = h.ns("b");
    let br = h.bridge(host, "br0");
    let (va, ea) = h.veth(host, "va", a, "eth0");
    let (vb, eb) = h.veth(host, "vb", b, "eth0");
    h.enslave(host, va, br);
    h.enslave(host, vb, br);
    h.addr(a, ea, "10.0.0.1/24");
    h.addr(b, eb, "10.0.0.2/24");
    (h, host, a, b)
}

#[test]
fn two_namespaces_on_a_bridge_reach_each_other_through_a_layer2_hop() {
    let (h, _, a, _) = bridged();
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    assert_eq!(labels(&t.forward), ["a", "host", "b"]);
    assert_eq!(
        actions(&t.forward),
        [Action::Originate, Action::Bridge, Action::Deliver]
    );
    assert_eq!(labels(&t.back), ["b", "host", "a"]);
    let bridge = &t.forward[1];
    assert!(bridge.route.is_none());
    let via: Vec<String> = bridge.via.iter().map(|r| r.name_or_index()).collect();
    assert_eq!(via, ["va", "br0", "vb"]);
    assert_eq!(t.src.address, Some(ip("10.0.0.1")));
    let origin = t.forward[0].route.as_ref().expect("route");
    assert_eq!(
        (origin.table, origin.dst.as_str(), origin.rule),
        (TABLE_MAIN, "10.0.0.0/24", Some(32766))
    );
    assert_eq!(t.exit_code(), 0);
}

#[test]
fn a_gateway_nobody_owns_dies_on_neighbour_resolution() {
    let (mut h, _, a, _) = bridged();
    h.route(a, "0.0.0.0/0", Some("10.0.0.254"), 2);
    let t = run(&h, a, "192.0.2.1");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::NeighbourUnresolvable)),
        "{t:#?}"
    );
    assert_eq!(labels(&t.forward), ["a"]);
    assert_eq!(t.forward[0].action, Action::Drop);
    assert_eq!(t.exit_code(), 1);
}

/// a —— r —— b, a 10.1.0.0/24, b 10.2.0.0/24, routes via r.
fn routed(forwarding: bool) -> (Host, Ns, Ns, Ns) {
    let mut h = Host::new();
    let a = h.ns("a");
    let r = h.ns("r");
    let b = h.ns("b");
    let (ea, ra) = h.veth(a, "eth0", r, "ra");
    let (rb, eb) = h.veth(r, "rb", b, "eth0");
    h.addr(a, ea, "10.1.0.2/24");
    h.addr(r, ra, "10.1.0.1/24");
    h.addr(r, rb, "10.2.0.1/24");
    h.addr(b, eb, "10.2.0.2/24");
    h.route(a, "0.0.0.0/0", Some("10.1.0.1"), ea);
    h.route(b, "0.0.0.0/0", Some("10.2.0.1"), eb);
    h.forwarding(r, forwarding);
    (h, a, r, b)
}

#[test]
fn a_forwarding_router_passes_and_one_without_forwarding_drops() {
    let (h, a, _, _) = routed(true);
    let t = run(&h, a, "10.2.0.2");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    assert_eq!(labels(&t.forward), ["a", "r", "b"]);
    assert_eq!(t.forward[1].action, Action::Forward);
    let (h, a, r, _) = routed(false);
    let t = run(&h, a, "10.2.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::ForwardingDisabled)),
        "{t:#?}"
    );
    assert_eq!(t.forward.last().and_then(|h| h.netns), Some(h.inode(r)));
    assert!(
        t.hint
            .as_deref()
            .is_some_and(|h| h.contains("forwarding=1")),
        "{:?}",
        t.hint
    );
}

#[test]
fn a_missing_return_route_fails_on_the_way_back() {
    let (mut h, a, _, b) = routed(true);
    if let Some(routes) = &mut h.snapshot.namespaces[b.0].routes {
        routes.retain(|r| r.dst != "0.0.0.0/0");
    }
    let t = run(&h, a, "10.2.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::NoReturnRoute)),
        "{t:#?}"
    );
    assert_eq!(t.direction, Some(super::Direction::Return));
    assert_eq!(labels(&t.forward), ["a", "r", "b"]);
    assert_eq!(labels(&t.back), ["b"]);
}

#[test]
fn a_veth_whose_peer_is_down_has_no_carrier_and_one_that_is_down_has_no_route() {
    let (mut h, _, a, b) = bridged();
    // b's end down: a's frames reach the bridge, b never takes them.
    h.down(b, 2);
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Unreachable, "{t:#?}");
    assert_eq!(t.code, Some(Code::LinkDown), "{t:#?}");
    // a direct pair: the sender's peer down.
    let mut h = Host::new();
    let x = h.ns("x");
    let y = h.ns("y");
    let (ex, ey) = h.veth(x, "eth0", y, "eth0");
    h.addr(x, ex, "10.9.0.1/24");
    h.addr(y, ey, "10.9.0.2/24");
    h.down(y, ey);
    h.no_carrier(x, ex);
    let t = run(&h, x, "10.9.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::NoCarrier)),
        "{t:#?}"
    );
    // the sender's own end down: its connected route is gone.
    let mut h = Host::new();
    let x = h.ns("x");
    let y = h.ns("y");
    let (ex, ey) = h.veth(x, "eth0", y, "eth0");
    h.addr(x, ex, "10.9.0.1/24");
    h.addr(y, ey, "10.9.0.2/24");
    h.down(x, ex);
    let t = run(&h, x, "10.9.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::LinkDown)),
        "{t:#?}"
    );
    assert!(
        t.hint
            .as_deref()
            .is_some_and(|h| h.contains("link set dev eth0 up"))
    );
}

#[test]
fn a_rule_for_a_bound_source_does_not_match_an_unbound_one() {
    let (mut h, _, a, _) = bridged();
    let mut r = rule(Family::Inet, 100, 100);
    r.src = Some("10.0.0.1/32".into());
    h.push_rule(a, r);
    h.push_route(a, route(Family::Inet, 100, "blackhole", "0.0.0.0/0", None));
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    let t = run_from(&h, a, "10.0.0.1", "10.0.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::Blackhole)),
        "{t:#?}"
    );
    assert_eq!(labels(&t.forward), ["a"]);
    // Binding an address the namespace does not have fails at once.
    let t = run_from(&h, a, "10.0.0.9", "10.0.0.2");
    assert_eq!(t.code, Some(Code::SourceNotLocal));
}

#[test]
fn the_same_subnet_on_two_isolated_bridges_follows_the_wire() {
    let mut h = Host::new();
    let host = h.ns("host");
    let mut nss = Vec::new();
    for (bridge, names) in [("br1", ["a1", "b1"]), ("br2", ["a2", "b2"])] {
        let br = h.bridge(host, bridge);
        for (n, addr) in names.iter().zip(["10.0.0.1/24", "10.0.0.2/24"]) {
            let ns = h.ns(n);
            let (v, e) = h.veth(host, &format!("v{n}"), ns, "eth0");
            h.enslave(host, v, br);
            h.addr(ns, e, addr);
            nss.push((ns, e));
        }
    }
    let (a1, _) = nss[0];
    let (b1, eb1) = nss[1];
    let t = run(&h, a1, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Reachable);
    assert_eq!(t.dst.netns, Some(h.inode(b1)));
    h.down(b1, eb1);
    let t = run(&h, a1, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Unreachable, "{t:#?}");
    let crossed: Vec<u64> = t.forward.iter().filter_map(|h| h.netns).collect();
    assert!(
        !crossed.contains(&h.inode(nss[3].0)),
        "must never reach b2: {crossed:?}"
    );
}

#[test]
fn macvlan_siblings_reach_each_other_but_not_their_parent() {
    let mut h = Host::new();
    let p = h.ns("parent");
    let m1 = h.ns("m1");
    let m2 = h.ns("m2");
    let other = h.ns("other");
    let (lower, _) = h.veth(p, "eth0", other, "eth0");
    h.addr(p, lower, "10.5.0.1/24");
    let c1 = h.macvlan(m1, "mv0", p, lower, "bridge");
    let c2 = h.macvlan(m2, "mv0", p, lower, "bridge");
    h.addr(m1, c1, "10.5.0.11/24");
    h.addr(m2, c2, "10.5.0.12/24");
    let t = run(&h, m1, "10.5.0.12");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    assert_eq!(labels(&t.forward), ["m1", "m2"]);
    let t = run(&h, m1, "10.5.0.1");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::NeighbourUnresolvable)),
        "{t:#?}"
    );
}

#[test]
fn a_forward_chain_with_policy_drop_drops_and_one_with_rules_is_unknown() {
    let (mut h, a, r, _) = routed(true);
    h.nft_chain(r, "inet", "forward", "drop", 0);
    let t = run(&h, a, "10.2.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::FirewallDrop)),
        "{t:#?}"
    );
    assert_eq!(t.forward.last().and_then(|h| h.netns), Some(h.inode(r)));
    let (mut h, a, r, _) = routed(true);
    h.nft_chain(r, "inet", "forward", "drop", 2);
    let t = run(&h, a, "10.2.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unknown, Some(Code::FirewallRules)),
        "{t:#?}"
    );
    let reason = t.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("r") && reason.contains("forward") && reason.contains("drop"),
        "{reason}"
    );
    assert_eq!(t.exit_code(), 4);
}

#[test]
fn lo_down_makes_127_unreachable_but_eth0_still_answers() {
    let (mut h, _, a, b) = bridged();
    h.down(b, 1);
    let t = run(&h, b, "127.0.0.1");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::LoDown)),
        "{t:#?}"
    );
    let t = run(&h, b, "10.0.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::LoDown)),
        "own address over lo: {t:#?}"
    );
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
}

#[test]
fn ipv6_crosses_a_bridge_and_an_unrouted_destination_has_no_route() {
    let (mut h, _, a, b) = bridged();
    h.addr(a, 2, "fd00::1/64");
    h.addr(b, 2, "fd00::2/64");
    let t = run(&h, a, "fd00::2");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    assert_eq!(t.src.address, Some(ip("fd00::1")));
    let t = run(&h, a, "fd99::1");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::NoRoute)),
        "{t:#?}"
    );
}

#[test]
fn two_routers_pointing_at_each_other_are_a_loop() {
    let (mut h, a, r, _) = routed(true);
    let r2 = h.ns("r2");
    let (x, y) = h.veth(r, "rx", r2, "ry");
    h.addr(r, x, "10.3.0.1/24");
    h.addr(r2, y, "10.3.0.2/24");
    h.forwarding(r2, true);
    h.route(r, "198.51.100.0/24", Some("10.3.0.2"), x);
    h.route(r2, "198.51.100.0/24", Some("10.3.0.1"), y);
    let t = run(&h, a, "198.51.100.7");
    assert_eq!(t.verdict, Verdict::Unreachable, "{t:#?}");
    assert!(
        matches!(t.code, Some(Code::Loop | Code::TtlExhausted)),
        "{t:#?}"
    );
}

#[test]
fn multipath_next_hops_that_agree_give_one_verdict_and_ones_that_do_not_are_unknown() {
    let (mut h, a, r, _) = routed(true);
    // A second router r2 on a's segment? Simpler: two gateways on r's far side.
    let b2 = h.ns("b2");
    let (rb2, eb2) = h.veth(r, "rb2", b2, "eth0");
    h.addr(r, rb2, "10.4.0.1/24");
    h.addr(b2, eb2, "10.4.0.2/24");
    h.addr(b2, 1, "203.0.113.5/32");
    h.route(b2, "0.0.0.0/0", Some("10.4.0.1"), eb2);
    let b = Ns(2);
    let mut mp = route(Family::Inet, TABLE_MAIN, "unicast", "203.0.113.0/24", None);
    let rb = 3; // r: lo, ra, rb, rb2
    mp.nexthops = vec![
        RoutePath {
            gateway: Some(ip("10.2.0.2")),
            dev: Some(h.at(r, rb)),
            weight: 1,
            flags: Vec::new(),
        },
        RoutePath {
            gateway: Some(ip("10.4.0.2")),
            dev: Some(h.at(r, rb2)),
            weight: 1,
            flags: Vec::new(),
        },
    ];
    h.push_route(r, mp);
    // Only b2 has 203.0.113.5; b does not forward: the choice decides.
    let t = run(&h, a, "203.0.113.5");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unknown, Some(Code::Multipath)),
        "{t:#?}"
    );
    // Give b the address too: both next hops deliver.
    h.addr(b, 1, "203.0.113.5/32");
    let t = run(&h, a, "203.0.113.5");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    assert!(
        t.notes.iter().any(|n| n.contains("equal-cost")),
        "{:?}",
        t.notes
    );
}

#[test]
fn throw_prohibit_and_suppress_prefixlength_follow_the_kernel() {
    let (mut h, _, a, _) = bridged();
    // table 100: throw for 10.0.0.0/24 (back to the rules), prohibit default.
    let mut r = rule(Family::Inet, 100, 100);
    r.dst = Some("0.0.0.0/0".into());
    h.push_rule(a, r);
    h.push_route(a, route(Family::Inet, 100, "throw", "10.0.0.0/24", None));
    h.push_route(a, route(Family::Inet, 100, "prohibit", "0.0.0.0/0", None));
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(
        t.verdict,
        Verdict::Reachable,
        "throw goes on to main: {t:#?}"
    );
    let t = run(&h, a, "192.0.2.1");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::Prohibit)),
        "{t:#?}"
    );
    // suppress_prefixlength 0 on main: a default route there is ignored.
    let (mut h, _, a, _) = bridged();
    h.route(a, "0.0.0.0/0", Some("10.0.0.2"), 2);
    if let Some(rules) = &mut h.snapshot.namespaces[a.0].rules {
        for r in rules
            .iter_mut()
            .filter(|r| r.priority == 32766 && r.family == Family::Inet)
        {
            r.suppress_prefixlength = Some(0);
        }
    }
    let t = run(&h, a, "192.0.2.1");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::NoRoute)),
        "{t:#?}"
    );
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(
        t.verdict,
        Verdict::Reachable,
        "a /24 is longer than 0: {t:#?}"
    );
}

#[test]
fn strict_rp_filter_drops_a_reply_that_would_leave_by_another_interface() {
    let (mut h, a, r, b) = routed(true);
    // b reaches a's subnet through a second link to r, not the one it uses.
    let (r2, b2) = h.veth(r, "rb2", b, "eth1");
    h.addr(r, r2, "10.6.0.1/24");
    h.addr(b, b2, "10.6.0.2/24");
    h.route(b, "10.1.0.0/24", Some("10.6.0.1"), b2);
    h.rp_filter_all(b, 1);
    let t = run(&h, a, "10.2.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::RpFilter)),
        "{t:#?}"
    );
    assert_eq!(t.forward.last().and_then(|h| h.netns), Some(h.inode(b)));
}

#[test]
fn a_namespace_without_layer3_data_is_unknown_not_a_guess() {
    let (mut h, _, a, b) = bridged();
    h.snapshot.namespaces[b.0].routes = None;
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unknown, Some(Code::NotScanned)),
        "{t:#?}"
    );
}

proptest::proptest! {
    /// Any generated tables and rules: the engine answers, never panics,
    /// never loops.
    #[test]
    fn any_generated_tables_terminate(
        routes in proptest::collection::vec((0u8..4, 0u8..=32, 0u8..6, 0u32..4, proptest::option::of(0u8..4)), 0..24),
        rules in proptest::collection::vec((0u32..40, 0u8..6, 0u32..4, proptest::option::of(0u32..40), proptest::bool::ANY), 0..12),
        dst in 0u8..4,
    ) {
        let (mut h, _, a, _) = routed(true);
        let kinds = ["unicast", "blackhole", "throw", "unreachable", "prohibit", "local"];
        for (net, len, kind, table, via) in routes {
            let mut r = route(Family::Inet, 250 + table, kinds[usize::from(kind)], &format!("10.{net}.0.0/{len}"), Some(h.at(a, 2)));
            r.gateway = via.map(|v| ip(&format!("10.1.0.{v}")));
            h.push_route(a, r);
        }
        let actions = ["lookup", "goto", "nop", "blackhole", "unreachable", "prohibit"];
        for (priority, action, table, goto, not) in rules {
            let mut r = rule(Family::Inet, priority, 250 + table);
            r.action = actions[usize::from(action)].into();
            r.goto = goto;
            r.not = not;
            h.push_rule(a, r);
        }
        let t = run(&h, a, &format!("10.{dst}.0.9"));
        proptest::prop_assert!(t.forward.len() <= 80);
    }
}

#[test]
fn knobs_of_all_that_were_not_read_are_said_not_guessed() {
    let (mut h, _, a, b) = bridged();
    for ns in [a, b] {
        if let Some(all) = h.snapshot.namespaces[ns.0]
            .netconf
            .as_mut()
            .and_then(|c| c.ipv4.all.as_mut())
        {
            all.arp_ignore = None;
            all.arp_filter = None;
            all.accept_local = None;
            all.route_localnet = None;
        }
    }
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("net.ipv4.conf.all.arp_ignore, not read in a, b")),
        "{:?}",
        t.notes
    );
    // A packet whose source is the receiver's own address: accept_local
    // decides, and it was not read.
    let t = run_from(&h, a, "10.0.0.1", "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Reachable);
}

#[test]
fn has_local_route_sees_local_routes_of_every_table() {
    let (mut h, _, a, _) = bridged();
    let s = h.build();
    let ctx = super::ctx::Ctx::new(&s);
    let view = ctx.view(h.inode(a)).expect("view");
    assert!(view.has_local_route(ip("10.0.0.1")));
    assert!(
        view.has_local_route(ip("127.0.0.9")),
        "127/8 is one local route"
    );
    assert!(!view.has_local_route(ip("10.0.0.2")));
    assert!(!view.has_local_route(ip("::2")));
    // AnyIP: a local prefix in a table of its own counts too.
    let dev = h.at(a, 2);
    h.push_route(
        a,
        route(Family::Inet, 100, "local", "192.0.2.0/24", Some(dev)),
    );
    let s = h.build();
    let ctx = super::ctx::Ctx::new(&s);
    let view = ctx.view(h.inode(a)).expect("view");
    assert!(view.has_local_route(ip("192.0.2.77")));
}

#[test]
fn a_neighbour_whose_rules_nsmap_cannot_read_does_not_hide_the_gateway() {
    // b has a rule nsmap does not model, but neither a local route for
    // 10.0.0.3 nor forwarding: it cannot answer ARP for it, whatever the
    // rule says, so x's answer stands.
    let (mut h, host, a, b) = bridged();
    let mut odd = rule(Family::Inet, 10, 100);
    odd.action = "nat".into();
    h.push_rule(b, odd);
    let x = h.ns("x");
    let (vx, ex) = h.veth(host, "vx", x, "eth0");
    let br0 = 2;
    h.enslave(host, vx, br0);
    h.addr(x, ex, "10.0.0.3/24");
    let t = run(&h, a, "10.0.0.3");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
}

#[test]
fn a_bridge_whose_ports_loop_back_is_walked_port_by_port() {
    // Two ports of br0 joined by a veth pair: frames come back into the
    // bridge, so its fan-out is not a tree and the walk goes port by port.
    let (mut h, host, a, _) = bridged();
    let br0 = 2;
    let (l1, l2) = h.veth(host, "loop1", host, "loop2");
    h.enslave(host, l1, br0);
    h.enslave(host, l2, br0);
    let s = h.build();
    let ctx = super::ctx::Ctx::new(&s);
    let full = super::wire::segment(&ctx, h.inode(a), 2);
    let names: Vec<&str> = full
        .endpoints
        .iter()
        .map(|e| e.iface.ifname.as_str())
        .collect();
    assert!(
        names.contains(&"br0") && names.contains(&"eth0"),
        "{names:?}"
    );
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
}

#[test]
fn isolated_ports_do_not_reach_each_other() {
    let (mut h, host, a, _) = bridged();
    for port in [3, 4] {
        if let Some(i) = h.snapshot.namespaces[host.0]
            .interfaces
            .iter_mut()
            .find(|i| i.ifindex == port)
        {
            i.port_isolated = Some(true);
        }
    }
    let t = run(&h, a, "10.0.0.2");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::PortIsolated)),
        "{t:#?}"
    );
}

#[test]
fn a_big_bridge_answers_through_its_fanout_like_the_full_walk() {
    let mut h = Host::new();
    let host = h.ns("host");
    let br = h.bridge(host, "br0");
    h.addr(host, br, "10.0.0.1/16");
    let mut nss = Vec::new();
    for i in 0..40u32 {
        let ns = h.ns(&format!("c{i}"));
        let (v, e) = h.veth(host, &format!("v{i}"), ns, "eth0");
        h.enslave(host, v, br);
        h.addr(ns, e, &format!("10.0.{}.{}/16", i / 200, i % 200 + 2));
        h.route(ns, "0.0.0.0/0", Some("10.0.0.1"), e);
        nss.push(ns);
    }
    // One container down, one port blocked.
    h.down(nss[7], 2);
    if let Some(p) = h.snapshot.namespaces[host.0]
        .interfaces
        .iter_mut()
        .find(|i| i.ifname.as_str() == "v9")
    {
        p.port_state = Some(std::borrow::Cow::Borrowed("blocking"));
    }
    let s = h.build();
    for (i, &ns) in nss.iter().enumerate().take(12) {
        let t = trace(
            &s,
            &Query {
                netns: h.inode(nss[0]),
                oif: None,
                from: None,
                dst: ip(&format!("10.0.0.{}", i + 2)),
                proto: Proto::Icmp,
                dport: None,
            },
        );
        let expected = match i {
            7 => Some(Code::LinkDown),
            9 => Some(Code::BridgePortBlocked),
            _ => None,
        };
        assert_eq!(t.code, expected, "to c{i}: {t:#?}");
        if expected.is_none() {
            assert_eq!(t.dst.netns, Some(h.inode(ns)));
        }
    }
    // The bridge's own address, and from the host to a container.
    let t = run(&h, nss[3], "10.0.0.1");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    let t = run(&h, host, "10.0.0.5");
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    assert_eq!(t.dst.netns, Some(h.inode(nss[3])));
}

#[test]
fn ipv6_ignores_linkdown_routes_by_the_device_alone() {
    // all=1 then the device set back to 0: IPv6 reads the device
    // (ip6_ignore_linkdown), IPv4 ORs in `all` (IN_DEV_ORCONF).
    let mut h = Host::new();
    let a = h.ns("a");
    let dev = h.iface(a, "eth0", Some("veth"));
    {
        let ns = &mut h.snapshot.namespaces[a.0];
        if let Some(nc) = ns.netconf.as_mut() {
            for all in [nc.ipv4.all.as_mut(), nc.ipv6.all.as_mut()]
                .into_iter()
                .flatten()
            {
                all.ignore_routes_with_linkdown = Some(1);
            }
        }
        let iface = ns
            .interfaces
            .iter_mut()
            .find(|i| i.ifindex == dev)
            .expect("eth0");
        if let Some(nc) = iface.netconf.as_mut() {
            for c in [nc.ipv4.as_mut(), nc.ipv6.as_mut()].into_iter().flatten() {
                c.ignore_routes_with_linkdown = Some(0);
            }
        }
    }
    let snapshot = h.build();
    let view = super::view::NsView::new(&snapshot.namespaces[a.0]);
    assert_eq!(view.ignore_linkdown(dev, Family::Inet6), Some(false));
    assert_eq!(view.ignore_linkdown(dev, Family::Inet), Some(true));
}

#[test]
fn a_forwarded_ipv4_packet_takes_the_first_of_equal_default_routes() {
    // r: default via b first, then via b2 (same metric); only b2 owns the
    // destination. Forwarded, the packet takes the first route (no
    // fib_select_default on input) and b, not forwarding, drops it; sent
    // by r itself, either route may be chosen.
    let (mut h, a, r, _) = routed(true);
    let b = Ns(2);
    let b2 = h.ns("b2");
    let (rb2, eb2) = h.veth(r, "rb2", b2, "eth0");
    h.addr(r, rb2, "10.4.0.1/24");
    h.addr(b2, eb2, "10.4.0.2/24");
    h.addr(b2, 1, "203.0.113.5/32");
    h.route(b2, "0.0.0.0/0", Some("10.4.0.1"), eb2);
    let rb = 3; // r: lo, ra, rb, rb2
    h.route(r, "0.0.0.0/0", Some("10.2.0.2"), rb);
    h.route(r, "0.0.0.0/0", Some("10.4.0.2"), rb2);
    let t = run(&h, a, "203.0.113.5");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unreachable, Some(Code::ForwardingDisabled)),
        "{t:#?}"
    );
    assert_eq!(t.forward.last().and_then(|h| h.netns), Some(h.inode(b)));
    let t = run(&h, r, "203.0.113.5");
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unknown, Some(Code::Multipath)),
        "{t:#?}"
    );
}

#[test]
fn an_ipv6_host_passes_over_a_failed_gateway_and_a_router_does_not() {
    use super::fib::{self, Fib, Opts};
    use crate::snapshot::l3::Neighbour;
    let mut h = Host::new();
    let s = h.ns("s");
    let e0 = h.iface(s, "eth0", Some("veth"));
    let e1 = h.iface(s, "eth1", Some("veth"));
    h.addr(s, e0, "fd00:4::2/64");
    h.addr(s, e1, "fd00:5::2/64");
    h.route(s, "fd00:9::/64", Some("fd00:4::7"), e0);
    h.route(s, "::/0", Some("fd00:5::1"), e1);
    let dev = h.at(s, e0);
    h.snapshot.namespaces[s.0]
        .neighbours
        .get_or_insert_with(Vec::new)
        .push(Neighbour {
            family: Family::Inet6,
            dst: ip("fd00:4::7"),
            dev,
            lladdr: None,
            state: vec!["FAILED".into()],
            router: false,
            proxy: false,
            flags: Vec::new(),
        });
    let flow = fib::output_flow(Family::Inet6, ip("fd00:9::9"), None, None, 58, None, None);
    let chosen = |h: &Host| {
        let snapshot = h.build();
        let view = super::view::NsView::new(&snapshot.namespaces[s.0]);
        match fib::lookup(&view, &flow, Opts::default()) {
            Ok(Fib::Route(m)) => Ok(m.route.dst.clone()),
            Ok(other) => Err(format!("{other:?}")),
            Err(why) => Err(why),
        }
    };
    h.forwarding(s, false);
    assert_eq!(chosen(&h).as_deref(), Ok("::/0"));
    h.forwarding(s, true);
    assert_eq!(chosen(&h).as_deref(), Ok("fd00:9::/64"));
    // Not read: which of the two it is depends on it, so nsmap says so.
    if let Some(all) = h.snapshot.namespaces[s.0]
        .netconf
        .as_mut()
        .and_then(|c| c.ipv6.all.as_mut())
    {
        all.forwarding = None;
    }
    let why = chosen(&h).expect_err("undecidable");
    assert!(why.contains("forwarding"), "{why}");
}

#[test]
fn rule_masks_match_as_the_kernel_does_and_a_flow_label_or_unknown_selector_is_unknown() {
    let prohibit_via = |edit: &dyn Fn(&mut crate::snapshot::Rule)| {
        let (mut h, _, a, _) = bridged();
        let mut r = rule(Family::Inet, 100, 100);
        edit(&mut r);
        h.push_rule(a, r);
        h.push_route(a, route(Family::Inet, 100, "prohibit", "0.0.0.0/0", None));
        let netns = h.inode(a);
        let q = move |dport| Query {
            netns,
            oif: None,
            from: None,
            dst: ip("10.0.0.2"),
            proto: Proto::Udp,
            dport: Some(dport),
        };
        let snapshot = h.build();
        move |dport| {
            let t = trace(&snapshot, &q(dport));
            (t.verdict, t.code)
        }
    };
    let prohibited = (Verdict::Unreachable, Some(Code::Prohibit));
    // dport 0x50/0xfff0: 80..=95 match, 96 does not.
    let udp = prohibit_via(&|r| {
        r.ipproto = Some(17);
        r.dport = Some([0x50, 0x50]);
        r.dport_mask = Some(0xfff0);
    });
    assert_eq!(udp(0x5f), prohibited);
    assert_ne!(udp(0x60), prohibited);
    // dscp 8 under mask 0x38 needs bits the packet (tos 0) does not have;
    // dscp 0 under it matches.
    let dscp = |value| {
        prohibit_via(&move |r| {
            r.dscp = Some(value);
            r.dscp_mask = Some(0x38);
        })(53)
    };
    assert_ne!(dscp(8), prohibited);
    assert_eq!(dscp(0), prohibited);
    // What nsmap cannot know is said, not guessed.
    let label = prohibit_via(&|r| r.flowlabel = Some([0x12345, 0xfffff]))(53);
    assert_eq!(label.0, Verdict::Unknown, "{label:?}");
    let newer = prohibit_via(&|r| r.unknown_selectors = vec![31])(53);
    assert_eq!(newer.0, Verdict::Unknown, "{newer:?}");
}

#[test]
fn ports_are_the_request_s_on_the_way_there_and_swapped_on_the_way_back() {
    let tcp = |h: &Host, from: Ns, dport: Option<u16>| {
        trace(
            &h.build(),
            &Query {
                netns: h.inode(from),
                oif: None,
                from: None,
                dst: ip("10.0.0.2"),
                proto: Proto::Tcp,
                dport,
            },
        )
    };
    // b answers from port 80: a rule there for source port 80 sends the
    // reply to a prohibit route; other ports pass.
    let (mut h, _, a, b) = bridged();
    let mut r = rule(Family::Inet, 100, 100);
    r.ipproto = Some(6);
    r.sport = Some([80, 80]);
    h.push_rule(b, r);
    h.push_route(b, route(Family::Inet, 100, "prohibit", "0.0.0.0/0", None));
    let t = tcp(&h, a, Some(80));
    assert_eq!(
        (t.verdict, t.code, t.direction),
        (
            Verdict::Unreachable,
            Some(Code::Prohibit),
            Some(super::Direction::Return)
        ),
        "{t:#?}"
    );
    assert_eq!(tcp(&h, a, Some(443)).verdict, Verdict::Reachable);
    // Without --dport, that rule cannot be decided; neither can a rule on
    // the sender's source port, its ephemeral one.
    let t = tcp(&h, a, None);
    assert_eq!(t.verdict, Verdict::Unknown, "{t:#?}");
    let (mut h, _, a, _) = bridged();
    let mut r = rule(Family::Inet, 100, 100);
    r.sport = Some([1024, 2047]);
    h.push_rule(a, r);
    let t = tcp(&h, a, Some(80));
    assert_eq!(t.verdict, Verdict::Unknown, "{t:#?}");
    assert!(
        t.reason.as_deref().is_some_and(|r| r.contains("ephemeral")),
        "{t:#?}"
    );
}
