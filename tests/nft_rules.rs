//! Root tests of the nftables rule and set reader: rulesets loaded with
//! `nft -f -` into a test namespace, read the way the scanner reads them
//! (`nsmap::sys::netfilter::read` on a thread inside the namespace), and
//! compared with the kernel's own tools:
//!
//! - register level: `nft --debug=netlink list ruleset` prints every rule's
//!   expressions and every set's elements as libnftnl formats them; a small
//!   formatter here prints nsmap's [`Expr`] and [`NftElem`] the same way,
//!   and the two are compared rule by rule, line for line;
//! - high level: `nft -j list ruleset`: the same tables, chains, rules
//!   (handles, order, comments) and named sets (flags, element count);
//! - reading changes nothing (same `nft list ruleset`, same generation).
//!
//! Run as root: `cargo test -- --include-ignored`.

mod common;
mod nft_fmt;

use std::collections::BTreeMap;

use common::{Topology, exec_in};
use nft_fmt::{element, libnftnl, squash};
use serde_json::Value;

/// (family, table, chain).
type ChainKey = (String, String, String);

/// `NFT_CHAIN_BINDING`.
const BINDING: u32 = 4;

const RULESET: &str = r#"
table ip t4 {
  set s1 { type ipv4_addr; elements = { 10.0.0.1, 10.0.0.2 }; }
  set s2 { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 192.168.0.0/16 }; }
  set s3 { type ipv4_addr . inet_service; flags interval; elements = { 10.0.0.0/8 . 20-30, 1.2.3.4 . 80 }; }
  map m1 { type ipv4_addr : ipv4_addr; elements = { 1.1.1.1 : 2.2.2.2 }; }
  chain x { counter; return; }
  chain y { goto x; }
  chain input { type filter hook input priority 0; policy accept;
    ip saddr 10.1.0.0/16 accept
    ip daddr 10.2.0.1 drop
    tcp dport 22 accept
    udp dport { 53, 5353 } accept
    iifname "eth*" accept
    oif lo accept
    meta l4proto icmp accept
    ct state established,related accept
    ct state invalid drop
    ct original saddr 10.0.0.1 accept
    ip saddr @s1 accept
    ip saddr != @s2 accept
    ip saddr . tcp dport @s3 accept
    ip saddr vmap { 10.0.0.0/8 : jump x, 192.168.1.1 : drop }
    jump x
    goto y
    counter
    log prefix "x"
    limit rate 10/second
    limit rate over 1 mbytes/second
    quota 1000 bytes
    reject with icmp type host-unreachable
    tcp dport 23 reject with tcp reset
    fib daddr type local accept comment "hello"
    ip daddr 10.9.9.9 jump { counter; accept; }
    ip daddr != 10.0.0.0/8 accept
    tcp dport 1000-2000 accept
    meta mark set 0x10
    ip daddr 10.0.0.3 return
    tcp dport != 1000-2000 accept
    meta cpu 1-2 accept
    ct mark set 0x5
    meta mark set meta mark << 1
  }
  chain pre { type nat hook prerouting priority -100;
    tcp dport 80 dnat to 10.0.0.2:80
    tcp dport 81 redirect to :8080
  }
  chain post { type nat hook postrouting priority 100;
    ip saddr 10.0.0.0/8 snat to 10.0.0.1
    oifname "eth0" masquerade
  }
}
table ip6 t6 { chain c { type filter hook input priority 0; ip6 saddr ::1 accept; }; }
table inet ti { chain c { type filter hook input priority 0; meta nfproto ipv4 tcp dport { 22, 80 } accept; iifname "lo" accept; }; }
table bridge tb { chain c { type filter hook forward priority 0; ether type ip accept; }; }
table netdev tn { chain c { type filter hook ingress device lo priority 0; meta protocol ip accept; }; }
table arp ta { chain c { type filter hook input priority 0; arp operation request accept; }; }
"#;

fn family_name(n: u8) -> &'static str {
    match n {
        1 => "inet",
        2 => "ip",
        3 => "arp",
        5 => "netdev",
        7 => "bridge",
        10 => "ip6",
        _ => "?",
    }
}

/// `nft --debug=netlink list ruleset`: rules by (family table chain
/// handle) and set elements by (family table set), each as its lines.
#[allow(clippy::type_complexity)]
fn netlink_debug(netns: &str) -> (Vec<(String, Vec<String>)>, BTreeMap<String, Vec<String>>) {
    let text = exec_in(netns, &["nft", "--debug=netlink", "list", "ruleset"], "");
    let (mut rules, mut sets) = (Vec::new(), BTreeMap::new());
    let mut current: Option<(bool, String, Vec<String>)> = None;
    let mut flush = |cur: Option<(bool, String, Vec<String>)>,
                     rules: &mut Vec<(String, Vec<String>)>| {
        if let Some((is_set, key, lines)) = cur {
            if is_set {
                sets.insert(key, lines);
            } else {
                rules.push((key, lines));
            }
        }
    };
    for line in text.lines() {
        if line.starts_with("table ") {
            break; // the ruleset listing follows the debug part
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            flush(current.take(), &mut rules);
            let f: Vec<&str> = line.split_whitespace().collect();
            current = Some(if f.len() == 3 && f[2].starts_with('@') {
                (
                    true,
                    format!("{} {} {}", f[0], f[1], &f[2][1..]),
                    Vec::new(),
                )
            } else {
                // family table chain handle [position]
                (false, f[..4.min(f.len())].join(" "), Vec::new())
            });
        } else if let Some((_, _, lines)) = current.as_mut()
            && !trimmed.starts_with("userdata")
        {
            lines.push(squash(trimmed));
        }
    }
    flush(current.take(), &mut rules);
    (rules, sets)
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn rules_and_sets_read_like_nft_prints_them() {
    let mut topo = Topology::new("nft_rules_registers");
    let ns = topo.netns("fw");
    exec_in(&ns, &["nft", "-f", "-"], RULESET);
    // iptables-nft's compat expressions: xt_recent and xt_TCPMSS have no
    // native translation.
    exec_in(
        &ns,
        &[
            "iptables-nft",
            "-A",
            "FORWARD",
            "-p",
            "tcp",
            "-m",
            "recent",
            "--name",
            "t",
            "--set",
            "-j",
            "TCPMSS",
            "--clamp-mss-to-pmtu",
        ],
        "",
    );
    let listed_before = exec_in(&ns, &["nft", "list", "ruleset"], "");

    let fw = common::firewall_in(&ns, || ());
    assert!(fw.problems.is_empty(), "{:?}", fw.problems);
    let tables = fw.nftables.clone().expect("nftables read");

    // (b) Register level, rule by rule, in the kernel's order.
    let (debug_rules, debug_sets) = netlink_debug(&ns);
    let mut ours = Vec::new();
    let mut our_sets = BTreeMap::new();
    for t in &tables {
        let fam = family_name(t.family);
        for c in &t.chains {
            for r in c.rule_list.as_ref().expect("rules read") {
                let key = format!("{fam} {} {} {}", t.name.as_str(), c.name.as_str(), r.handle);
                ours.push((key, r.exprs.iter().map(|e| squash(&libnftnl(e))).collect()));
            }
        }
        for s in t.sets.as_ref().expect("sets read") {
            let key = format!("{fam} {} {}", t.name.as_str(), s.name.as_str());
            let elems = s.elements.as_ref().expect("elements read");
            our_sets.insert(key, elems.iter().map(|e| squash(&element(e))).collect());
        }
    }
    // nft lists a bound chain's rules after its table's other chains; so
    // do both sides here, sorted by key, keeping each chain's order.
    let sorted = |mut v: Vec<(String, Vec<String>)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (ours, debug_rules) = (sorted(ours), sorted(debug_rules));
    assert_eq!(ours.len(), debug_rules.len(), "rule count");
    for (o, d) in ours.iter().zip(&debug_rules) {
        assert_eq!(o, d, "rule {} differs from nft --debug=netlink", d.0);
    }
    assert_eq!(our_sets, debug_sets, "set elements");
    let all: Vec<&String> = ours.iter().flat_map(|(_, l)| l).collect();
    for kind in [
        "[ range",
        "[ byteorder",
        "[ match",
        "[ target",
        "[ ct set",
        "[ meta set",
        "<<",
        "[ quota",
        "[ nat",
        "[ masq",
        "[ redir",
        "[ fib",
        "[ limit",
        "[ log",
        "[ reject",
    ] {
        assert!(all.iter().any(|l| l.contains(kind)), "no {kind} read");
    }
    assert!(
        !all.iter().any(|l| l.contains("Other")),
        "an expression was left undecoded"
    );
    assert!(
        our_sets.keys().any(|k| k.contains("__set"))
            && our_sets.keys().any(|k| k.contains("__map")),
        "anonymous sets and maps read: {:?}",
        our_sets.keys()
    );

    // (a) nft -j: tables, chains, rules (handle, order, comment), sets.
    let json: Value =
        serde_json::from_str(&exec_in(&ns, &["nft", "-j", "list", "ruleset"], "")).expect("json");
    let items = json["nftables"].as_array().expect("array");
    let mut nft_rules: BTreeMap<ChainKey, Vec<(u64, Option<String>)>> = BTreeMap::new();
    let mut nft_chains = Vec::new();
    let mut nft_tables = Vec::new();
    let mut nft_sets = BTreeMap::new();
    for item in items {
        if let Some(t) = item.get("table") {
            nft_tables.push((
                t["family"].as_str().expect("family").to_string(),
                t["name"].as_str().expect("name").to_string(),
                t["handle"].as_u64().expect("handle"),
            ));
        }
        if let Some(c) = item.get("chain") {
            nft_chains.push((
                c["family"].as_str().expect("family").to_string(),
                c["table"].as_str().expect("table").to_string(),
                c["name"].as_str().expect("name").to_string(),
                c["handle"].as_u64().expect("handle"),
            ));
        }
        if let Some(r) = item.get("rule") {
            nft_rules
                .entry((
                    r["family"].as_str().expect("f").into(),
                    r["table"].as_str().expect("t").into(),
                    r["chain"].as_str().expect("c").into(),
                ))
                .or_default()
                .push((
                    r["handle"].as_u64().expect("handle"),
                    r["comment"].as_str().map(String::from),
                ));
        }
        if let Some(s) = item.get("set").or_else(|| item.get("map")) {
            let mut flags: Vec<String> = s["flags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if item.get("map").is_some() {
                flags.push("map".into());
            }
            flags.sort();
            let count = s["elem"].as_array().map_or(0, Vec::len);
            nft_sets.insert(
                format!(
                    "{} {} {}",
                    s["family"].as_str().expect("f"),
                    s["table"].as_str().expect("t"),
                    s["name"].as_str().expect("n")
                ),
                (flags, count),
            );
        }
    }
    let mut our_chains = Vec::new();
    let mut our_rules = BTreeMap::new();
    let mut our_named = BTreeMap::new();
    for t in &tables {
        let fam = family_name(t.family).to_string();
        for c in t.chains.iter().filter(|c| c.flags & BINDING == 0) {
            our_chains.push((
                fam.clone(),
                t.name.to_string(),
                c.name.to_string(),
                c.handle,
            ));
            let rules = c.rule_list.as_ref().expect("rules");
            assert_eq!(rules.len() as u32, c.rules, "rule count matches the list");
            if !rules.is_empty() {
                our_rules.insert(
                    (fam.clone(), t.name.to_string(), c.name.to_string()),
                    rules
                        .iter()
                        .map(|r| (r.handle, r.comment.as_ref().map(|c| c.to_string())))
                        .collect::<Vec<_>>(),
                );
            }
        }
        for s in t.sets.as_ref().expect("sets").iter() {
            if s.flags.iter().any(|f| f == "anonymous") {
                continue;
            }
            let mut flags: Vec<String> =
                s.flags.iter().filter(|f| *f != "concat").cloned().collect();
            flags.sort();
            // An interval set without key_end keeps each range as a start
            // and an end element; nft shows the ranges.
            let elems = s.elements.as_ref().expect("elements");
            let count = elems.iter().filter(|e| !e.interval_end).count();
            our_named.insert(
                format!("{fam} {} {}", t.name.as_str(), s.name.as_str()),
                (flags, count),
            );
        }
    }
    let our_tables: Vec<(String, String, u64)> = tables
        .iter()
        .map(|t| {
            (
                family_name(t.family).to_string(),
                t.name.to_string(),
                t.handle,
            )
        })
        .collect();
    assert_eq!(our_tables, nft_tables, "tables");
    assert_eq!(our_chains, nft_chains, "chains");
    assert_eq!(our_rules, nft_rules, "rules: handles, order, comments");
    assert_eq!(our_named, nft_sets, "named sets");
    assert!(
        our_rules
            .values()
            .flatten()
            .any(|(_, c)| c.as_deref() == Some("hello")),
        "the comment was read"
    );
    let bound = tables
        .iter()
        .flat_map(|t| &t.chains)
        .filter(|c| c.flags & BINDING != 0)
        .count();
    assert_eq!(bound, 1, "the inline jump's chain is read");

    // Reading changed nothing.
    let again = common::firewall_in(&ns, || ());
    assert_eq!(again.nft_generation, fw.nft_generation);
    assert_eq!(again.nftables, fw.nftables, "a second read sees the same");
    assert_eq!(exec_in(&ns, &["nft", "list", "ruleset"], ""), listed_before);
}
