//! Root tests of the firewall reader (`nsmap::sys::netfilter::read`): real
//! nftables and iptables-legacy rulesets loaded into test namespaces with
//! `nft -f -` and `iptables-legacy`, read on a thread that entered the
//! namespace, and compared with the tools' own view of that namespace
//! (`nft -j list ruleset`, `iptables-legacy-save`, `ip6tables-legacy-save`).
//! Also the read-only proof: reading a fresh namespace creates nothing.
//!
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).

mod common;

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::process::Command;

use common::{Topology, exec_in, ip};
use nix::sched::{CloneFlags, setns};
use nsmap::raw::l3::{RawFirewall, RawNftChain, RawXtTable};
use serde_json::Value;

/// `NFT_CHAIN_BINDING`: an anonymous chain `nft` shows inline.
const BINDING: u32 = 4;

/// Reads the firewall of `/run/netns/NAME` the way the scanner will: on a
/// thread of its own that entered the namespace (`drop_caps`: after
/// giving up every capability, like an unprivileged caller).
fn read_in(netns: &str, drop_caps: bool) -> RawFirewall {
    common::firewall_in(netns, move || {
        if drop_caps {
            drop_capabilities();
        }
    })
}

/// Clears this thread's effective, permitted and inheritable capabilities
/// (capset(2) acts on the calling thread only; the test process keeps its
/// own). uid stays 0, so files owned by root stay readable.
#[allow(unsafe_code)]
fn drop_capabilities() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    // _LINUX_CAPABILITY_VERSION_3: two Data words (capabilities 0-63).
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: both pointers are to live, correctly laid out structs for
    // the duration of the call (linux/capability.h); capset reads them.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) };
    assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
}

fn nft_json(netns: &str) -> Vec<Value> {
    let text = exec_in(netns, &["nft", "-j", "list", "ruleset"], "");
    let json: Value = serde_json::from_str(&text).expect("nft -j output is JSON");
    json["nftables"].as_array().cloned().unwrap_or_default()
}

/// NFPROTO_* for nft's family names.
fn family_number(name: &str) -> u8 {
    match name {
        "inet" => 1,
        "ip" => 2,
        "arp" => 3,
        "netdev" => 5,
        "bridge" => 7,
        "ip6" => 10,
        other => panic!("unknown family {other}"),
    }
}

/// A hook name in a family's own numbering (NF_INET_*, NF_NETDEV_*, NF_ARP_*).
fn hook_number(family: u8, hook: &str) -> u32 {
    match (family, hook) {
        (5, "ingress") => 0,
        (5, "egress") => 1,
        (3, "input") => 0,
        (3, "output") => 1,
        (3, "forward") => 2,
        (_, "prerouting") => 0,
        (_, "input") => 1,
        (_, "forward") => 2,
        (_, "output") => 3,
        (_, "postrouting") => 4,
        (_, "ingress") => 5,
        other => panic!("unknown hook {other:?}"),
    }
}

/// One chain as compared: (handle, hook, priority, policy, type, devices, rules).
type ChainFacts = (
    u64,
    Option<u32>,
    Option<i32>,
    Option<u32>,
    Option<String>,
    Vec<String>,
    u32,
);

/// nft's view: (family, table) → (handle, chain name → facts).
fn nft_facts(netns: &str) -> BTreeMap<(u8, String), (u64, BTreeMap<String, ChainFacts>)> {
    let objects = nft_json(netns);
    let mut out: BTreeMap<(u8, String), (u64, BTreeMap<String, ChainFacts>)> = BTreeMap::new();
    let key = |o: &Value| {
        (
            family_number(o["family"].as_str().expect("family")),
            o["table"].as_str().expect("table").to_string(),
        )
    };
    for object in &objects {
        if let Some(t) = object.get("table") {
            let family = family_number(t["family"].as_str().expect("family"));
            let name = t["name"].as_str().expect("name").to_string();
            let handle = t["handle"].as_u64().expect("handle");
            out.insert((family, name), (handle, BTreeMap::new()));
        } else if let Some(c) = object.get("chain") {
            let (family, table) = key(c);
            let mut devices = match &c["dev"] {
                Value::String(d) => vec![d.clone()],
                Value::Array(ds) => ds
                    .iter()
                    .filter_map(|d| d.as_str())
                    .map(String::from)
                    .collect(),
                // nft 1.0.6 leaves `dev` out of its JSON: ask its text.
                _ if c["hook"] == "ingress" || c["hook"] == "egress" => text_devices(
                    netns,
                    o_family(c),
                    &table,
                    c["name"].as_str().expect("name"),
                ),
                _ => Vec::new(),
            };
            devices.sort();
            let facts = (
                c["handle"].as_u64().expect("handle"),
                c["hook"].as_str().map(|h| hook_number(family, h)),
                c["prio"].as_i64().map(|p| p as i32),
                c["policy"].as_str().map(|p| match p {
                    "drop" => 0,
                    "accept" => 1,
                    other => panic!("policy {other}"),
                }),
                c["type"].as_str().map(String::from),
                devices,
                0,
            );
            let chains = &mut out.get_mut(&(family, table)).expect("table first").1;
            chains.insert(c["name"].as_str().expect("name").to_string(), facts);
        } else if let Some(r) = object.get("rule") {
            let (family, table) = key(r);
            let chain = r["chain"].as_str().expect("chain");
            let chains = &mut out.get_mut(&(family, table)).expect("table first").1;
            chains.get_mut(chain).expect("chain first").6 += 1;
        }
    }
    out
}

fn o_family(o: &Value) -> &str {
    o["family"].as_str().expect("family")
}

/// The devices of a chain as `nft list chain` prints them: `device "x"`
/// or `devices = { x, y }`.
fn text_devices(netns: &str, family: &str, table: &str, chain: &str) -> Vec<String> {
    let text = exec_in(netns, &["nft", "list", "chain", family, table, chain], "");
    let hook = text
        .lines()
        .find(|l| l.contains(" hook "))
        .expect("a base chain");
    if let Some(rest) = hook.split("devices = { ").nth(1) {
        let list = rest.split(" }").next().expect("closing brace");
        list.split(", ").map(String::from).collect()
    } else if let Some(rest) = hook.split("device \"").nth(1) {
        vec![rest.split('"').next().expect("quote").to_string()]
    } else {
        Vec::new()
    }
}

fn chain_facts(c: &RawNftChain) -> ChainFacts {
    let mut devices: Vec<String> = c.devices.iter().map(|d| d.as_str().to_string()).collect();
    // The kernel keeps its own order (newest first); nft sorts.
    devices.sort();
    (
        c.handle,
        c.hook,
        c.priority,
        c.policy,
        c.kind.clone(),
        devices,
        c.rules,
    )
}

/// nsmap's view, the same shape; binding chains (which `nft -j` folds into
/// their rule) are returned apart, by name.
type Facts = BTreeMap<(u8, String), (u64, BTreeMap<String, ChainFacts>)>;

fn nsmap_facts(fw: &RawFirewall) -> (Facts, Vec<(String, u32)>) {
    let mut out = BTreeMap::new();
    let mut bindings = Vec::new();
    for t in fw.nftables.as_ref().expect("nftables read") {
        let mut chains = BTreeMap::new();
        for c in &t.chains {
            if c.flags & BINDING != 0 {
                bindings.push((c.name.as_str().to_string(), c.rules));
            } else {
                chains.insert(c.name.as_str().to_string(), chain_facts(c));
            }
        }
        out.insert((t.family, t.name.as_str().to_string()), (t.handle, chains));
    }
    (out, bindings)
}

const RULESET: &str = r#"
table inet filter {
  set blocked {
    type ipv4_addr
    elements = { 10.9.9.9, 10.9.9.10 }
  }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept
    jump common
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ip saddr @blocked drop
    jump common
    goto common
  }
  chain output {
    type filter hook output priority 10; policy accept;
  }
  chain common {
    tcp dport 22 accept
    udp dport 53 accept
    icmp type echo-request accept
  }
  chain inline {
    ip daddr 10.1.1.1 jump {
      counter
      accept
    }
  }
}
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    tcp dport 8080 dnat to 10.0.0.2:80
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "PFX-v0" masquerade
  }
}
table ip6 raw6 {
  chain pre {
    type filter hook prerouting priority raw; policy accept;
    notrack
  }
}
table bridge br {
  chain brfwd {
    type filter hook forward priority -200; policy accept;
    ether type arp accept
    ether type ip6 drop
  }
}
table netdev ing {
  chain in0 {
    type filter hook ingress device "PFX-v0" priority -500; policy accept;
    counter
  }
  chain in2 {
    type filter hook ingress devices = { PFX-v0, PFX-v1 } priority 0; policy accept;
  }
}
"#;

/// No namespace of this test is left (`ip netns list`).
fn assert_cleaned(prefix: &str) {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        !list.lines().any(|l| l.starts_with(prefix)),
        "left behind: {list}"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn nftables_tables_chains_and_rule_counts_match_nft() {
    let mut topo = Topology::new("nftables_tables_chains_and_rule_counts_match_nft");
    let ns = topo.netns("fw");
    let v0 = topo.name("v0");
    ip(&[
        "-n",
        &ns,
        "link",
        "add",
        &v0,
        "type",
        "veth",
        "peer",
        "name",
        &topo.name("v1"),
    ]);
    let ruleset = RULESET
        .replace("PFX-v0", &v0)
        .replace("PFX-v1", &topo.name("v1"));
    exec_in(&ns, &["nft", "-f", "-"], &ruleset);
    let fw = read_in(&ns, false);
    assert!(fw.problems.is_empty(), "{:?}", fw.problems);
    let (ours, bindings) = nsmap_facts(&fw);
    assert_eq!(ours, nft_facts(&ns));
    // The one binding chain holds the block's two statements as two rules.
    assert_eq!(bindings.len(), 1, "{bindings:?}");
    assert!(bindings[0].0.starts_with("__chain"));
    assert_eq!(bindings[0].1, 2);
    // One commit (`nft -f`) after the namespace's initial generation 1
    // (nf_tables_init_net).
    assert_eq!(fw.nft_generation, Some(2));
    assert!(fw.nftables.iter().flatten().all(|t| t.flags == 0));
    // Nothing legacy was loaded.
    assert_eq!(fw.iptables_legacy, Some(vec![]));

    // One more commit: the generation moves by one and the count follows.
    exec_in(
        &ns,
        &["nft", "add", "rule", "inet", "filter", "output", "counter"],
        "",
    );
    let again = read_in(&ns, false);
    assert_eq!(again.nft_generation, Some(3));
    let before = nft_facts(&ns);
    assert_eq!(nsmap_facts(&again).0, before);

    // A dormant table: `nft -j` 1.0.6 prints invalid JSON for table
    // flags, so `nft list table`'s text is the oracle for them.
    exec_in(
        &ns,
        &["nft", "add", "table", "ip", "off", "{ flags dormant; }"],
        "",
    );
    let text = exec_in(&ns, &["nft", "list", "table", "ip", "off"], "");
    assert!(text.contains("flags dormant"), "{text}");
    let dormant = read_in(&ns, false);
    let tables = dormant.nftables.as_ref().expect("read");
    let off = tables
        .iter()
        .find(|t| t.name.as_str() == "off")
        .expect("off");
    assert_eq!(
        (off.family, off.flags, off.chains.len()),
        (2, 1, 0),
        "NFT_TABLE_F_DORMANT"
    );
    let (mut ours, _) = nsmap_facts(&dormant);
    ours.remove(&(2, "off".to_string()));
    assert_eq!(ours, before);
    drop(topo);
    assert_cleaned(&ns);
}

/// iptables-legacy-save's view: table → chain → (policy, rule count).
fn legacy_save(netns: &str, tool: &str) -> BTreeMap<String, BTreeMap<String, (Option<u32>, u32)>> {
    let text = exec_in(netns, &[tool], "");
    let mut out: BTreeMap<String, BTreeMap<String, (Option<u32>, u32)>> = BTreeMap::new();
    let mut table = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('*') {
            table = name.to_string();
            out.entry(table.clone()).or_default();
        } else if let Some(rest) = line.strip_prefix(':') {
            let mut words = rest.split(' ');
            let chain = words.next().expect("chain").to_string();
            let policy = match words.next() {
                Some("ACCEPT") => Some(1),
                Some("DROP") => Some(0),
                _ => None,
            };
            out.get_mut(&table)
                .expect("table")
                .insert(chain, (policy, 0));
        } else if let Some(rest) = line.strip_prefix("-A ") {
            let chain = rest.split(' ').next().expect("chain");
            out.get_mut(&table)
                .expect("table")
                .get_mut(chain)
                .expect("declared chain")
                .1 += 1;
        }
    }
    out
}

fn nsmap_legacy(
    tables: &[RawXtTable],
    family: u8,
) -> BTreeMap<String, BTreeMap<String, (Option<u32>, u32)>> {
    let builtin = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];
    tables
        .iter()
        .filter(|t| t.family == family)
        .map(|t| {
            assert_eq!(t.problem, None, "{}", t.name);
            let chains = t
                .chains
                .iter()
                .map(|c| {
                    // A built-in chain's hook is its NF_INET_* number.
                    match c.hook {
                        Some(h) => assert_eq!(builtin[usize::from(h)], c.name.as_str()),
                        None => assert!(!builtin.contains(&c.name.as_str())),
                    }
                    (c.name.as_str().to_string(), (c.policy, c.rules))
                })
                .collect();
            (t.name.clone(), chains)
        })
        .collect()
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn iptables_legacy_chains_policies_and_rule_counts_match_save() {
    let mut topo = Topology::new("iptables_legacy_chains_policies_and_rule_counts_match_save");
    let ns = topo.netns("xt");
    let v0 = topo.name("v0");
    ip(&[
        "-n",
        &ns,
        "link",
        "add",
        &v0,
        "type",
        "veth",
        "peer",
        "name",
        &topo.name("v1"),
    ]);
    let script = format!(
        "set -e
        iptables-legacy -N WEB
        iptables-legacy -A WEB -p tcp --dport 80 -j ACCEPT
        iptables-legacy -A WEB -p tcp --dport 443 -j ACCEPT
        iptables-legacy -A WEB -j RETURN
        iptables-legacy -N EMPTY
        iptables-legacy -A FORWARD -i {v0} -j WEB
        iptables-legacy -A FORWARD -s 10.0.0.0/8 -j DROP
        iptables-legacy -A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
        iptables-legacy -P FORWARD DROP
        iptables-legacy -A INPUT -j EMPTY
        iptables-legacy -t nat -A POSTROUTING -o {v0} -j MASQUERADE
        iptables-legacy -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80
        iptables-legacy -t mangle -A OUTPUT -j MARK --set-mark 7
        ip6tables-legacy -P INPUT DROP
        ip6tables-legacy -A INPUT -p ipv6-icmp -j ACCEPT
        ip6tables-legacy -A INPUT -i lo -j ACCEPT
        ip6tables-legacy -N EMPTY6
        "
    );
    exec_in(&ns, &["sh", "-c", &script], "");
    let fw = read_in(&ns, false);
    assert!(fw.problems.is_empty(), "{:?}", fw.problems);
    let tables = fw.iptables_legacy.as_deref().expect("legacy read");
    assert_eq!(
        nsmap_legacy(tables, 2),
        legacy_save(&ns, "iptables-legacy-save")
    );
    assert_eq!(
        nsmap_legacy(tables, 10),
        legacy_save(&ns, "ip6tables-legacy-save")
    );
    // Exactly the tables the names files list, no more (nothing created).
    let listed = exec_in(&ns, &["cat", "/proc/net/ip_tables_names"], "");
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort_unstable();
    let mut ours: Vec<&str> = tables
        .iter()
        .filter(|t| t.family == 2)
        .map(|t| t.name.as_str())
        .collect();
    ours.sort_unstable();
    assert_eq!(ours, listed);
    assert_eq!(listed, ["filter", "mangle", "nat"]);
    // No nftables here.
    assert_eq!(fw.nftables, Some(vec![]));
    drop(topo);
    assert_cleaned(&ns);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn an_empty_namespace_reads_as_empty_lists_and_reading_creates_nothing() {
    let mut topo =
        Topology::new("an_empty_namespace_reads_as_empty_lists_and_reading_creates_nothing");
    let ns = topo.netns("empty");
    for _ in 0..3 {
        let fw = read_in(&ns, false);
        assert_eq!(fw.nftables, Some(vec![]));
        assert_eq!(fw.iptables_legacy, Some(vec![]));
        assert!(fw.problems.is_empty(), "{:?}", fw.problems);
        // A fresh namespace starts at generation 1 (nf_tables_init_net) and
        // reading commits nothing.
        assert_eq!(fw.nft_generation, Some(1));
    }
    // The read-only proof: no legacy table was instantiated from its
    // template (IPT_SO_GET_INFO would have), no nftables object exists.
    for file in ["/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"] {
        assert_eq!(exec_in(&ns, &["cat", file], ""), "", "{file}");
    }
    assert_eq!(exec_in(&ns, &["nft", "list", "ruleset"], ""), "");
    assert_eq!(exec_in(&ns, &["iptables-legacy-save"], ""), "");
    drop(topo);
    assert_cleaned(&ns);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn reading_one_legacy_table_creates_no_other() {
    // Only `filter` exists; asking IPT_SO_GET_INFO for `nat`, `mangle`,
    // `raw` or `security` would create each from its template.
    let mut topo = Topology::new("reading_one_legacy_table_creates_no_other");
    let ns = topo.netns("one");
    exec_in(&ns, &["iptables-legacy", "-P", "FORWARD", "DROP"], "");
    let fw = read_in(&ns, false);
    let tables = fw.iptables_legacy.expect("read");
    assert_eq!(tables.len(), 1, "{tables:?}");
    assert_eq!((tables[0].family, tables[0].name.as_str()), (2, "filter"));
    assert_eq!(
        exec_in(&ns, &["cat", "/proc/net/ip_tables_names"], ""),
        "filter\n"
    );
    assert_eq!(exec_in(&ns, &["cat", "/proc/net/ip6_tables_names"], ""), "");
    drop(topo);
    assert_cleaned(&ns);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn without_capabilities_the_problems_say_what_failed_and_what_to_do() {
    let mut topo =
        Topology::new("without_capabilities_the_problems_say_what_failed_and_what_to_do");
    let ns = topo.netns("nocap");
    exec_in(&ns, &["nft", "add", "table", "inet", "t"], "");
    exec_in(&ns, &["iptables-legacy", "-P", "FORWARD", "DROP"], "");
    let fw = read_in(&ns, true);
    // nfnetlink_rcv refuses the datagram (EPERM) without CAP_NET_ADMIN.
    assert_eq!(fw.nftables, None);
    assert_eq!(fw.nft_generation, None);
    assert!(
        fw.problems
            .iter()
            .any(|p| p.starts_with("cannot read nftables")
                && p.contains("Operation not permitted")
                && p.ends_with("run as root")),
        "{:?}",
        fw.problems
    );
    // uid 0 still reads the names file; the raw socket needs CAP_NET_RAW,
    // so the listed table is present, unread, with the reason.
    let tables = fw.iptables_legacy.expect("names readable");
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].name, "filter");
    assert!(tables[0].chains.is_empty());
    let problem = tables[0].problem.as_deref().expect("problem");
    assert!(
        problem.contains("Operation not permitted") && problem.ends_with("run as root"),
        "{problem}"
    );
    drop(topo);
    assert_cleaned(&ns);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn reads_during_changes_are_consistent_or_say_so() {
    // Each `nft add rule` is one commit adding one rule: in a read that
    // reports no problem, the chain holds exactly (generation - start)
    // rules. A read that mixed generations must carry a problem instead.
    let mut topo = Topology::new("reads_during_changes_are_consistent_or_say_so");
    let ns = topo.netns("churn");
    exec_in(&ns, &["nft", "add", "table", "inet", "t"], "");
    exec_in(&ns, &["nft", "add", "chain", "inet", "t", "c"], "");
    let start = read_in(&ns, false).nft_generation.expect("generation");
    let mut writer = Command::new("ip")
        .args(["netns", "exec", &ns, "sh", "-c"])
        .arg("for i in $(seq 150); do nft add rule inet t c counter; done")
        .spawn()
        .expect("spawn writer");
    let path = format!("/run/netns/{ns}");
    let (reads, flagged) = std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        setns(file.as_fd(), CloneFlags::CLONE_NEWNET).expect("setns");
        let mut buf = vec![0u8; 64 * 1024];
        let (mut reads, mut flagged) = (0, 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer did not finish"
            );
            let fw = nsmap::sys::netfilter::read(&mut buf);
            reads += 1;
            let generation = fw.nft_generation.expect("generation");
            if fw.problems.is_empty() {
                let chain = &fw.nftables.as_ref().expect("read")[0].chains[0];
                assert_eq!(chain.rules, generation - start, "read {reads}");
            } else {
                flagged += 1;
                assert!(fw.problems[0].contains("kept changing while it was read"));
            }
            if generation == start + 150 {
                return (reads, flagged);
            }
        }
    })
    .join()
    .expect("reader");
    assert!(writer.wait().expect("writer").success());
    assert!(reads > 150, "{reads} reads, {flagged} flagged");
    drop(topo);
    assert_cleaned(&ns);
}
