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
