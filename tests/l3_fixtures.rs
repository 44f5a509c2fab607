//! The layer-3 raw-scan fixtures (tests/fixtures/l3/, recorded by
//! scripts/record-l3-fixtures.sh for the path engine's tests) load and
//! resolve: every namespace has its routes, rules, neighbours and netconf,
//! no warning, and each scenario still holds the object it is named for
//! (so a careless rerecording cannot hollow one out). No root needed.

use std::path::Path;

use nsmap::raw::RawScan;
use nsmap::resolve::resolve;
use nsmap::snapshot::Snapshot;

fn load(name: &str) -> Snapshot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/l3")
        .join(format!("{name}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw: RawScan = serde_json::from_slice(&bytes).expect("a raw scan");
    resolve(&raw)
}

const SCENARIOS: &[&str] = &[
    "router-forwarding",
    "router-no-forwarding",
    "multipath",
    "throw",
    "prohibit-blackhole",
    "suppress-prefixlength",
    "ipv6-link-local-gateway",
    "routing-loop",
    "policy-blackhole",
];

#[test]
fn every_fixture_resolves_with_its_layer3() {
    for name in SCENARIOS {
        let s = load(name);
        assert!(s.warnings.is_empty(), "{name}: {:?}", s.warnings);
        assert!(s.namespaces.len() >= 2, "{name}");
        for n in &s.namespaces {
            let ctx = format!("{name}: {}", n.display_name);
            assert!(
                n.routes.as_ref().is_some_and(|r| !r.is_empty()),
                "{ctx}: routes"
            );
            assert!(
                n.rules.as_ref().is_some_and(|r| r.len() >= 5),
                "{ctx}: rules"
            );
            assert!(
                n.neighbours.is_some() && n.fdb.is_some(),
                "{ctx}: neighbours, fdb"
            );
            let netconf = n.netconf.as_ref().expect("netconf");
            assert!(
                netconf.ipv4.all.is_some() && netconf.ipv6.all.is_some(),
                "{ctx}"
            );
            assert!(
                n.interfaces.iter().all(|i| i.netconf.is_some()),
                "{ctx}: devconf"
            );
        }
    }
}

fn routes<'a>(s: &'a Snapshot, ns: &str) -> &'a [nsmap::snapshot::Route] {
    s.namespaces
        .iter()
        .find(|n| n.display_name == ns)
        .and_then(|n| n.routes.as_deref())
        .unwrap_or_else(|| panic!("{ns}"))
}

#[test]
fn each_scenario_holds_what_it_is_named_for() {
    let forwarding = |name: &str| {
        load(name)
            .namespaces
            .iter()
            .find(|n| n.display_name == "f3-router")
            .and_then(|n| n.netconf.as_ref()?.ipv4.all.as_ref()?.forwarding)
    };
    assert_eq!(forwarding("router-forwarding"), Some(1));
    assert_eq!(forwarding("router-no-forwarding"), Some(0));
    let s = load("multipath");
    let weights: Vec<u32> = routes(&s, "f3-src")
        .iter()
        .find(|r| r.dst == "10.33.9.0/24")
        .map(|r| r.nexthops.iter().map(|h| h.weight).collect())
        .expect("multipath route");
    assert_eq!(weights, vec![1, 3]);
    let s = load("throw");
    assert!(
        routes(&s, "f3-host")
            .iter()
            .any(|r| r.kind == "throw" && r.table == 100)
    );
    let s = load("prohibit-blackhole");
    let kinds: Vec<&str> = routes(&s, "f3-host")
        .iter()
        .map(|r| r.kind.as_str())
        .collect();
    assert!(kinds.contains(&"prohibit") && kinds.contains(&"blackhole"));
    let s = load("suppress-prefixlength");
    let host = s
        .namespaces
        .iter()
        .find(|n| n.display_name == "f3-host")
        .expect("host");
    assert!(
        host.rules
            .iter()
            .flatten()
            .any(|r| r.suppress_prefixlength == Some(0))
    );
    let s = load("ipv6-link-local-gateway");
    let default6 = routes(&s, "f3-host")
        .iter()
        .find(|r| r.dst == "::/0" && r.table == 254)
        .expect("IPv6 default");
    assert_eq!(
        default6.gateway.map(|g| g.to_string()),
        Some("fe80::1".into())
    );
    assert!(
        default6
            .dev
            .as_ref()
            .and_then(|d| d.ifname.as_ref())
            .is_some()
    );
    let s = load("routing-loop");
    for ns in ["f3-a", "f3-b"] {
        assert!(
            routes(&s, ns)
                .iter()
                .any(|r| r.dst == "10.38.8.0/24" && r.gateway.is_some())
        );
    }
    let s = load("policy-blackhole");
    assert!(
        routes(&s, "f3-host")
            .iter()
            .any(|r| r.kind == "blackhole" && r.table == 300)
    );
}

// The path engine on the recordings: each scenario's kernel answer (what
// `busybox ping` and `ip route get` said when it was recorded) as nsmap
// must predict it from the file alone.

use nsmap::path::{Action, Code, Proto, Query, Trace, Verdict, trace};

fn inode(s: &Snapshot, name: &str) -> u64 {
    s.namespaces
        .iter()
        .find(|n| n.names.iter().any(|x| x.as_str() == format!("f3-{name}")))
        .unwrap_or_else(|| panic!("no namespace f3-{name}"))
        .inode
}

fn go(s: &Snapshot, from: &str, dst: &str, bound: Option<&str>) -> Trace {
    trace(
        s,
        &Query {
            netns: inode(s, from),
            oif: None,
            from: bound.map(|b| b.parse().expect("address")),
            dst: dst.parse().expect("address"),
            proto: Proto::Icmp,
            dport: None,
        },
    )
}

fn labels(hops: &[nsmap::path::Hop]) -> Vec<String> {
    hops.iter()
        .map(|h| h.label.trim_start_matches("f3-").to_string())
        .collect()
}

#[test]
fn a_forwarding_router_carries_both_families_and_one_without_forwarding_drops() {
    let s = load("router-forwarding");
    for dst in ["10.31.2.2", "fd31:2::2"] {
        let t = go(&s, "left", dst, None);
        assert_eq!(t.verdict, Verdict::Reachable, "{dst}: {t:#?}");
        assert_eq!(labels(&t.forward), ["left", "router", "right"], "{dst}");
        assert_eq!(labels(&t.back), ["right", "router", "left"], "{dst}");
        assert_eq!(t.forward[1].action, Action::Forward);
    }
    let s = load("router-no-forwarding");
    for dst in ["10.31.2.2", "fd31:2::2"] {
        let t = go(&s, "left", dst, None);
        assert_eq!(
            (t.verdict, t.code),
            (Verdict::Unreachable, Some(Code::ForwardingDisabled)),
            "{dst}: {t:#?}"
        );
        assert_eq!(labels(&t.forward), ["left", "router"], "{dst}");
    }
}

#[test]
fn a_weighted_multipath_route_is_followed_on_every_path() {
    let s = load("multipath");
    // src's address differs by next hop (10.33.1.2 towards r1, 10.33.2.2
    // towards r2), and dst's way back is multipath too: a reply to
    // 10.33.1.2 hashed onto r2 finds no route there. Which pair the
    // kernel's hash (seeded at random) picks decides: unknown, with both
    // outcomes named.
    let t = go(&s, "src", "10.33.9.2", None);
    assert_eq!(
        (t.verdict, t.code),
        (Verdict::Unknown, Some(Code::Multipath)),
        "{t:#?}"
    );
    let reason = t.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("reachable") && reason.contains("no_return_route"),
        "{reason}"
    );
    let route = t.forward[0].route.as_ref().expect("route");
    let weights: Vec<u32> = route.nexthops.iter().map(|p| p.weight).collect();
    assert_eq!(weights, [1, 3], "{route:?}");
}

#[test]
fn a_throw_route_falls_through_to_main() {
    let s = load("throw");
    let thrown = go(&s, "host", "10.34.9.9", None);
    let kept = go(&s, "host", "10.34.200.9", None);
    let via = |t: &Trace| {
        t.forward[0]
            .route
            .as_ref()
            .map(|r| (r.table, r.gateway.map(|g| g.to_string())))
    };
    assert_eq!(
        via(&thrown),
        Some((254, Some("10.34.0.1".into()))),
        "{thrown:#?}"
    );
    assert_eq!(
        via(&kept),
        Some((100, Some("10.34.0.254".into()))),
        "{kept:#?}"
    );
}

#[test]
fn prohibit_and_blackhole_routes_stop_at_the_origin_in_both_families() {
    let s = load("prohibit-blackhole");
    for (dst, code) in [
        ("10.35.1.9", Code::Prohibit),
        ("10.35.2.9", Code::Blackhole),
        ("fd35:1::9", Code::Prohibit),
        ("fd35:2::9", Code::Blackhole),
    ] {
        let t = go(&s, "host", dst, None);
        assert_eq!(
            (t.verdict, t.code),
            (Verdict::Unreachable, Some(code)),
            "{dst}: {t:#?}"
        );
        assert_eq!(labels(&t.forward), ["host"], "{dst}");
    }
}

#[test]
fn suppress_prefixlength_sends_all_but_connected_traffic_to_the_vpn() {
    let s = load("suppress-prefixlength");
    let out = go(&s, "host", "192.0.2.1", None);
    let route = out.forward[0].route.as_ref().expect("route");
    assert_eq!(
        (
            route.table,
            route.gateway.map(|g| g.to_string()),
            route.rule
        ),
        (200, Some("10.36.9.1".into()), Some(200)),
        "{out:#?}"
    );
    let local = go(&s, "host", "10.36.0.1", None);
    let route = local.forward[0].route.as_ref().expect("route");
    assert_eq!((route.table, route.rule), (254, Some(100)), "{local:#?}");
}

#[test]
fn an_ipv6_link_local_gateway_is_resolved_on_its_device() {
    let s = load("ipv6-link-local-gateway");
    let t = go(&s, "host", "fd37:9::1", None);
    assert_eq!(t.verdict, Verdict::Reachable, "{t:#?}");
    let route = t.forward[0].route.as_ref().expect("route");
    assert_eq!(
        route.gateway.map(|g| g.to_string()).as_deref(),
        Some("fe80::1")
    );
    assert_eq!(labels(&t.forward), ["host", "router"]);
}

#[test]
fn a_routing_loop_ends_with_its_code() {
    let s = load("routing-loop");
    // a's packet comes back to a with a's own source: a martian there
    // (accept_local off, the kernel's default, taken as the device's
    // value as `all` was not read) — the loop's end from a's side.
    let t = go(&s, "a", "10.38.8.1", None);
    assert_eq!(t.verdict, Verdict::Unreachable, "{t:#?}");
    assert!(
        matches!(
            t.code,
            Some(Code::Loop | Code::TtlExhausted | Code::MartianSource)
        ),
        "{t:#?}"
    );
    assert_eq!(labels(&t.forward), ["a", "b", "a"], "{t:#?}");
}

#[test]
fn a_source_rule_blackholes_only_the_bound_source() {
    let s = load("policy-blackhole");
    let unbound = go(&s, "host", "10.39.0.1", None);
    assert_ne!(unbound.code, Some(Code::Blackhole), "{unbound:#?}");
    let bound = go(&s, "host", "10.39.0.1", Some("10.39.0.3"));
    assert_eq!(
        (bound.verdict, bound.code),
        (Verdict::Unreachable, Some(Code::Blackhole)),
        "{bound:#?}"
    );
    let other = go(&s, "host", "10.39.0.1", Some("10.39.0.2"));
    assert_ne!(other.code, Some(Code::Blackhole), "{other:#?}");
}
