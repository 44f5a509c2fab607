//! Root tests of `nsmap path` through nftables rulesets: the kernel's
//! verdict (`busybox ping`) against nsmap's, which evaluates the rules it
//! read on the packet it models, and the rule nsmap names as deciding.
//!
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).

mod common;
// The kit serves tests/path.rs too; not every helper is used here.
#[allow(dead_code)]
#[path = "common/path.rs"]
mod lab;

use lab::{Expect, Lab, Ns, Probe};
use serde_json::Value;

/// a ─ r ─ b ([`Lab::routed`]), with `r` forwarding.
fn routed(lab: &mut Lab) -> (Ns, Ns, Ns) {
    let (a, r, b) = lab.routed();
    r.sysctl(&["net.ipv4.ip_forward=1"]);
    (a, r, b)
}

/// Every firewall note and reason of a trace, as one lowercase text.
fn told(json: &Value) -> String {
    let mut out = json["reason"].as_str().unwrap_or("").to_string();
    for dir in ["forward", "return"] {
        for hop in json[dir].as_array().into_iter().flatten() {
            for n in hop["notes"].as_array().into_iter().flatten() {
                out.push('\n');
                out.push_str(n.as_str().unwrap_or(""));
            }
        }
    }
    out.to_lowercase()
}

fn assert_told(json: &Value, words: &[&str]) {
    let text = told(json);
    for w in words {
        assert!(
            text.contains(&w.to_lowercase()),
            "nsmap names {w:?}: {text}\n{json}"
        );
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn icmp_accepted_after_a_jump_into_a_counter_only_chain() {
    let mut lab = Lab::new("pfw_counted", 240);
    let (a, r, b) = routed(&mut lab);
    r.nft(
        "table inet fw {
            chain counted {
                counter
            }
            chain forward {
                type filter hook forward priority 0; policy drop;
                jump counted
                meta l4proto icmp accept
            }
        }",
    );
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::reachable(&[&a, &r, &b]),
    );
    assert_told(&json, &["meta l4proto icmp accept"]);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_source_subnet_jumped_into_a_dropping_chain() {
    let mut lab = Lab::new("pfw_deny", 241);
    let (a, r, b) = routed(&mut lab);
    let c = lab.ns("c");
    lab.wire(&c, "eth0", &lab.v4("3.2/24"), &r, "eth2", &lab.v4("3.1/24"));
    c.route(&["default", "via", &lab.v4("3.1")]);
    r.nft(&format!(
        "table inet fw {{
            chain deny {{
                counter drop
            }}
            chain forward {{
                type filter hook forward priority 0; policy accept;
                ip saddr {} jump deny
            }}
        }}",
        lab.v4("1.0/24")
    ));
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
    );
    assert_told(
        &json,
        &["deny", "drop", &format!("ip saddr {}", lab.v4("1.0/24"))],
    );
    // From elsewhere the same chain lets it through.
    lab.check(
        &Probe::new(&c, &lab.v4("2.2")),
        &Expect::reachable(&[&c, &r, &b]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn replies_pass_as_established_and_die_without_it() {
    let mut lab = Lab::new("pfw_ct", 242);
    let (a, r, b) = routed(&mut lab);
    // Only what a sends is let in; b's replies need conntrack.
    r.nft(
        "table inet fw {
            chain forward {
                type filter hook forward priority 0; policy drop;
                ct state established,related accept
                iifname \"eth0\" accept
            }
        }",
    );
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::reachable(&[&a, &r, &b]),
    );
    assert_told(&json, &["ct state established,related accept"]);
    // b starting the conversation is not established: dropped at r.
    lab.check(
        &Probe::new(&b, &lab.v4("1.2")),
        &Expect::unreachable("firewall_drop", &r, &[&b, &r]),
    );
    // Without the conntrack rule the request passes and the reply dies.
    r.nft("flush ruleset");
    r.nft(
        "table inet fw {
            chain forward {
                type filter hook forward priority 0; policy drop;
                iifname \"eth0\" accept
            }
        }",
    );
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("firewall_drop", &r, &[&a, &r, &b]),
    );
    assert_eq!(json["direction"], "return", "{json}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_named_set_and_a_verdict_map_decide() {
    let mut lab = Lab::new("pfw_sets", 243);
    let (a, r, b) = routed(&mut lab);
    let c = lab.ns("c");
    lab.wire(&c, "eth0", &lab.v4("3.2/24"), &r, "eth2", &lab.v4("3.1/24"));
    c.route(&["default", "via", &lab.v4("3.1")]);
    r.nft(&format!(
        "table ip fw {{
            set allowed {{
                type ipv4_addr; flags interval;
                elements = {{ {b_net} }}
            }}
            chain forward {{
                type filter hook forward priority 0; policy drop;
                ct state established accept
                ip saddr vmap {{ {a_net} : jump from_a, {c_net} : drop }}
            }}
            chain from_a {{
                ip daddr @allowed accept
            }}
        }}",
        a_net = lab.v4("1.0/24"),
        b_net = lab.v4("2.0/24"),
        c_net = lab.v4("3.0/24"),
    ));
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::reachable(&[&a, &r, &b]),
    );
    assert_told(&json, &["@allowed"]);
    // a to c: in the vmap's jump, not in the set: the chain returns and
    // the policy drops.
    lab.check(
        &Probe::new(&a, &lab.v4("3.2")),
        &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
    );
    // c: the map's drop.
    let json = lab.check(
        &Probe::new(&c, &lab.v4("2.2")),
        &Expect::unreachable("firewall_drop", &r, &[&c, &r]),
    );
    assert_told(&json, &["vmap"]);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_bridge_family_drop_kills_the_reply_direction() {
    let mut lab = Lab::new("pfw_bridge", 244);
    let h = lab.ns("h");
    let x = lab.ns("x");
    let y = lab.ns("y");
    h.bridge("br0");
    lab.port(&h, "br0", "px", &x, &lab.v4("1.2/24"));
    lab.port(&h, "br0", "py", &y, &lab.v4("1.3/24"));
    // Frames from y's address are dropped on the bridge: x's request
    // reaches y, y's reply does not come back.
    h.nft(&format!(
        "table bridge filter {{
            chain forward {{
                type filter hook forward priority 0; policy accept;
                ip saddr {} drop
            }}
        }}",
        lab.v4("1.3")
    ));
    lab.settle();
    let json = lab.check(
        &Probe::new(&x, &lab.v4("1.3")),
        &Expect::unreachable("firewall_drop", &h, &[&x, &h, &y]),
    );
    assert_eq!(json["direction"], "return", "{json}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_dnat_port_forward_into_a_namespace_and_its_return() {
    let mut lab = Lab::new("pfw_dnat", 245);
    let (a, r, b) = routed(&mut lab);
    // What a sends to r's own address is forwarded to b; conntrack turns
    // b's reply back into one from r.
    r.nft(&format!(
        "table ip nat {{
            chain pre {{
                type nat hook prerouting priority dstnat; policy accept;
                ip daddr {r_addr} dnat to {b_addr}
            }}
        }}",
        r_addr = lab.v4("1.1"),
        b_addr = lab.v4("2.2"),
    ));
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("1.1")),
        &Expect::reachable(&[&a, &r, &b]),
    );
    let at_r = &json["forward"][1];
    assert_eq!(at_r["nat"][0]["kind"], "dnat", "{json}");
    assert_eq!(at_r["nat"][0]["to"], lab.v4("2.2"), "{json}");
    let back_at_r = &json["return"][1];
    assert_eq!(back_at_r["nat"][0]["kind"], "undo-dnat", "{json}");
    assert_eq!(back_at_r["nat"][0]["to"], lab.v4("1.1"), "{json}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn masquerade_on_the_way_out_brings_the_reply_back() {
    let mut lab = Lab::new("pfw_masq", 246);
    let a = lab.ns("a");
    let r = lab.ns("r");
    let b = lab.ns("b");
    lab.wire(&a, "eth0", &lab.v4("1.2/24"), &r, "eth0", &lab.v4("1.1/24"));
    lab.wire(&b, "eth0", &lab.v4("2.2/24"), &r, "eth1", &lab.v4("2.1/24"));
    a.route(&["default", "via", &lab.v4("1.1")]);
    r.sysctl(&["net.ipv4.ip_forward=1"]);
    // b has no route back to a's subnet: only a masquerade on r makes the
    // reply find its way (to r's own address, then back to a).
    lab.settle();
    lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("no_return_route", &b, &[&a, &r, &b]),
    );
    r.nft(
        "table ip nat {
            chain post {
                type nat hook postrouting priority srcnat; policy accept;
                oifname \"eth1\" masquerade
            }
        }",
    );
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::reachable(&[&a, &r, &b]),
    );
    assert_eq!(json["forward"][1]["nat"][0]["kind"], "masquerade", "{json}");
    assert_eq!(json["forward"][1]["nat"][0]["to"], lab.v4("2.1"), "{json}");
    assert_eq!(json["return"][1]["nat"][0]["kind"], "undo-snat", "{json}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_mark_set_at_prerouting_counts_in_forward_and_in_routing() {
    let mut lab = Lab::new("pfw_mark", 247);
    let (a, r, b) = routed(&mut lab);
    r.nft(
        "table inet mangle {
            chain pre {
                type filter hook prerouting priority mangle; policy accept;
                iifname \"eth0\" meta mark set 0x1
            }
        }
        table inet fw {
            chain forward {
                type filter hook forward priority 0; policy accept;
                meta mark 0x2 drop
            }
        }",
    );
    lab.settle();
    // Marked 0x1, not 0x2: through.
    lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::reachable(&[&a, &r, &b]),
    );
    // Marked 0x2: the forward chain drops it.
    r.nft("flush ruleset");
    r.nft(
        "table inet mangle {
            chain pre {
                type filter hook prerouting priority mangle; policy accept;
                iifname \"eth0\" meta mark set 0x2
            }
        }
        table inet fw {
            chain forward {
                type filter hook forward priority 0; policy accept;
                meta mark 0x2 drop
            }
        }",
    );
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("firewall_drop", &r, &[&a, &r]),
    );
    assert_told(&json, &["meta mark 0x00000002 drop"]);
    // And the route lookup after prerouting sees the mark: a rule sends
    // marked packets to a blackhole.
    r.nft("flush ruleset");
    r.nft(
        "table inet mangle {
            chain pre {
                type filter hook prerouting priority mangle; policy accept;
                iifname \"eth0\" meta mark set 0x7
            }
        }",
    );
    r.ip(&[
        "rule", "add", "fwmark", "0x7", "lookup", "107", "pref", "107",
    ]);
    r.ip(&["route", "add", "blackhole", "default", "table", "107"]);
    lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("blackhole", &r, &[&a, &r]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_reply_on_another_way_is_no_reply_to_that_router_s_conntrack() {
    // a → r1 → b, and b's reply back by r2, which never saw the request:
    // to r2's conntrack the echo reply is invalid, and its rules drop it.
    let mut lab = Lab::new("pfw_asym", 248);
    let a = lab.ns("a");
    let r1 = lab.ns("r1");
    let r2 = lab.ns("r2");
    let b = lab.ns("b");
    lab.wire(
        &a,
        "eth0",
        &lab.v4("1.2/24"),
        &r1,
        "eth0",
        &lab.v4("1.1/24"),
    );
    lab.wire(
        &b,
        "eth0",
        &lab.v4("2.2/24"),
        &r1,
        "eth1",
        &lab.v4("2.1/24"),
    );
    lab.wire(
        &a,
        "eth1",
        &lab.v4("3.2/24"),
        &r2,
        "eth0",
        &lab.v4("3.1/24"),
    );
    lab.wire(
        &b,
        "eth1",
        &lab.v4("4.2/24"),
        &r2,
        "eth1",
        &lab.v4("4.1/24"),
    );
    a.route(&[&lab.v4("2.0/24"), "via", &lab.v4("1.1")]);
    b.route(&[&lab.v4("1.0/24"), "via", &lab.v4("4.1")]);
    r2.route(&[&lab.v4("1.0/24"), "via", &lab.v4("3.2")]);
    for r in [&r1, &r2] {
        r.sysctl(&["net.ipv4.ip_forward=1"]);
    }
    r2.nft(
        "table inet fw {
            chain forward {
                type filter hook forward priority 0; policy drop;
                ct state established,related accept
                ct state invalid drop
            }
        }",
    );
    lab.settle();
    let json = lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::unreachable("firewall_drop", &r2, &[&a, &r1, &b]),
    );
    assert_eq!(json["direction"], "return", "{json}");
    assert_told(&json, &["ct state invalid drop"]);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_mark_does_not_cross_into_another_namespace() {
    // a marks what it sends; r routes marked packets to a blackhole. The
    // veth into r scrubs the mark (skb_scrub_packet): r routes it normally.
    let mut lab = Lab::new("pfw_scrub", 249);
    let (a, r, b) = routed(&mut lab);
    a.nft(
        "table inet m {
            chain out {
                type filter hook output priority 0; policy accept;
                meta mark set 0x1
            }
        }",
    );
    r.ip(&[
        "rule", "add", "fwmark", "0x1", "lookup", "101", "pref", "101",
    ]);
    r.ip(&["route", "add", "blackhole", "default", "table", "101"]);
    lab.settle();
    lab.check(
        &Probe::new(&a, &lab.v4("2.2")),
        &Expect::reachable(&[&a, &r, &b]),
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nat_chains_run_at_nf_nat_s_priority_not_their_own() {
    // A nat chain declared at priority 0 still translates at -100, before
    // a filter chain at -50, which sees the new destination.
    let mut lab = Lab::new("pfw_natprio", 252);
    let (a, r, b) = routed(&mut lab);
    r.nft(&format!(
        "table ip nat {{
            chain pre {{
                type nat hook prerouting priority 0; policy accept;
                ip daddr {r_addr} dnat to {b_addr}
            }}
        }}
        table ip guard {{
            chain pre {{
                type filter hook prerouting priority -50; policy drop;
                ct state established accept
                ip daddr {b_addr} accept
            }}
        }}",
        r_addr = lab.v4("1.1"),
        b_addr = lab.v4("2.2"),
    ));
    lab.settle();
    lab.check(
        &Probe::new(&a, &lab.v4("1.1")),
        &Expect::reachable(&[&a, &r, &b]),
    );
}
