//! Root tests of the layer-3 scan: namespaces with routes, rules,
//! neighbours, FDB entries, nexthop objects and netconf built with
//! iproute2, scanned with `layer3: true`, resolved, and compared field by
//! field with iproute2's own JSON (`ip -j -d route show table all`, `ip -j
//! rule`, `ip -j neigh`, `bridge -j fdb`, `ip -j nexthop`) and with the
//! sysctls read inside the namespace.
//!
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).
//! Other tests run in parallel, so each asserts only on what it built.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{Topology, inode_of, ip};
use nsmap::raw::RawScan;
use nsmap::resolve::resolve;
use nsmap::snapshot::{Interface, Namespace, Snapshot};
use nsmap::sys::{ScanOptions, scan};
use serde_json::Value;

fn scan_l3() -> (RawScan, Snapshot) {
    let raw = scan(&ScanOptions {
        layer3: true,
        ..ScanOptions::default()
    })
    .expect("scan succeeds");
    let snapshot = resolve(&raw);
    (raw, snapshot)
}

/// A layer-3 scan during which `oracle` (iproute2's view) did not change:
/// a link that just came up still gets routes from the kernel for a moment
/// (linkwatch delivers carrier changes late, IPv6 adds link-local routes
/// after that), and the two sides must describe the same state.
fn scan_l3_stable(oracle: impl Fn() -> String) -> Snapshot {
    for _ in 0..50 {
        let before = oracle();
        let (_, s) = scan_l3();
        if oracle() == before {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the routes kept changing for 5 s");
}

/// Turns IPv6 DAD off in a new namespace before its devices exist, so its
/// addresses (link-local ones too) are usable at once.
fn no_dad(netns: &str) {
    ip(&[
        "netns",
        "exec",
        netns,
        "sysctl",
        "-q",
        "-w",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
    ]);
}

fn ns<'a>(s: &'a Snapshot, name: &str) -> &'a Namespace {
    let inode = inode_of(format!("/run/netns/{name}"));
    s.namespaces
        .iter()
        .find(|n| n.inode == inode)
        .unwrap_or_else(|| panic!("{name} not found"))
}

fn iface<'a>(n: &'a Namespace, name: &str) -> &'a Interface {
    n.interfaces
        .iter()
        .find(|i| i.ifname.as_str() == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", n.names))
}

/// No warning names one of this test's namespaces, but for the firewall
/// reader's (another module, with tests of its own).
fn assert_no_warnings(s: &Snapshot, names: &[&str]) {
    for name in names {
        let inode = inode_of(format!("/run/netns/{name}"));
        let mine: Vec<_> = s
            .warnings
            .iter()
            .filter(|w| w.netns == Some(inode) && !w.message.contains("cannot read its firewall"))
            .collect();
        assert!(mine.is_empty(), "{name}: {mine:?}");
    }
}

/// `ip -n NS ARGS` as JSON. iproute2 prints interface names as raw bytes,
/// so its output is read lossily, like nsmap's names are compared.
fn ip_json(netns: &str, args: &[&str]) -> Vec<Value> {
    let out = Command::new("ip")
        .args(["-n", netns])
        .args(args)
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap_or_default()
}

fn bridge_json(netns: &str, args: &[&str]) -> Vec<Value> {
    let out = Command::new("bridge")
        .args(["-n", netns, "-j"])
        .args(args)
        .output()
        .expect("run bridge");
    assert!(out.status.success(), "bridge {args:?}");
    serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap_or_default()
}

/// Compares nsmap's values with the sysctl files' where the file exists
/// (IPv6 mc_forwarding has none without multicast routing, yet the kernel
/// reports it in the devconf array).
fn assert_same(ours: Vec<Option<i32>>, files: Vec<Option<i32>>, what: &str) {
    assert_eq!(ours.len(), files.len(), "{what}: key count");
    let read = files.iter().filter(|f| f.is_some()).count();
    assert!(read > 0, "{what}: no sysctl readable");
    for (i, (o, f)) in ours.iter().zip(&files).enumerate() {
        if f.is_some() {
            assert_eq!(o, f, "{what}: key {i}");
        }
    }
}

/// `ip netns exec NS cat` of sysctl files under /proc/sys/net, in one shell.
fn sysctls(netns: &str, keys: &[String]) -> Vec<Option<i32>> {
    let script = keys
        .iter()
        .map(|k| format!("cat /proc/sys/net/{k} 2>/dev/null || echo none"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "sh", "-c", &script])
        .output()
        .expect("run sysctl reads");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().ok())
        .collect()
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// iproute2's table names as ids.
fn table_id(v: &Value) -> Option<u32> {
    match v.as_str()? {
        "main" => Some(254),
        "local" => Some(255),
        "default" => Some(253),
        n => n.parse().ok(),
    }
}

/// iproute2's `dst`: `default` or an address without a length for a host
/// route; nsmap always writes CIDR.
fn cidr(v: &Value, v6: bool) -> Option<String> {
    let s = v.as_str()?;
    Some(match s {
        "default" if v6 => "::/0".to_string(),
        "default" => "0.0.0.0/0".to_string(),
        s if s.contains('/') => s.to_string(),
        s if v6 => format!("{s}/128"),
        s => format!("{s}/32"),
    })
}

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(text).collect())
        .unwrap_or_default()
}

/// One route reduced to what both sides say, as text.
type RouteKey = Vec<(&'static str, String)>;

fn route_of_ip(r: &Value, v6: bool) -> RouteKey {
    let gateway = |v: &Value| text(&v["gateway"]).or_else(|| text(&v["via"]["host"]));
    let mut key = vec![
        ("table", format!("{:?}", table_id(&r["table"]))),
        ("type", format!("{:?}", text(&r["type"]))),
        ("dst", format!("{:?}", cidr(&r["dst"], v6))),
        ("src", format!("{:?}", text(&r["from"]))),
        ("protocol", format!("{:?}", text(&r["protocol"]))),
        ("scope", format!("{:?}", text(&r["scope"]))),
        ("metric", format!("{:?}", r["metric"].as_u64())),
        ("tos", format!("{:?}", text(&r["tos"]))),
        ("prefsrc", format!("{:?}", text(&r["prefsrc"]))),
        ("gateway", format!("{:?}", gateway(r))),
        ("dev", format!("{:?}", text(&r["dev"]))),
        ("flags", format!("{:?}", names(&r["flags"]))),
        ("nhid", format!("{:?}", r["nhid"].as_u64())),
        (
            "mtu",
            format!(
                "{:?}",
                r["metrics"]
                    .as_array()
                    .and_then(|m| m.iter().find_map(|x| x["mtu"].as_u64()))
            ),
        ),
        ("pref", format!("{:?}", text(&r["pref"]))),
    ];
    let hops: Vec<String> = r["nexthops"]
        .as_array()
        .map(|hops| {
            hops.iter()
                .map(|h| {
                    format!(
                        "{:?} {:?} {:?} {:?}",
                        gateway(h),
                        text(&h["dev"]),
                        h["weight"].as_u64(),
                        names(&h["flags"])
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    key.push(("nexthops", format!("{hops:?}")));
    key
}

fn route_of_nsmap(r: &nsmap::snapshot::Route) -> RouteKey {
    let dev = |d: &Option<nsmap::snapshot::LinkRef>| {
        d.as_ref()
            .and_then(|d| d.ifname.as_ref())
            .map(|n| n.as_str().to_string())
    };
    let tos = (r.tos != 0).then(|| format!("0x{:02x}", r.tos));
    let hops: Vec<String> = r
        .nexthops
        .iter()
        .map(|h| {
            format!(
                "{:?} {:?} {:?} {:?}",
                h.gateway.map(|g| g.to_string()),
                dev(&h.dev),
                Some(u64::from(h.weight)),
                h.flags.iter().cloned().collect::<BTreeSet<_>>()
            )
        })
        .collect();
    vec![
        ("table", format!("{:?}", Some(r.table))),
        ("type", format!("{:?}", Some(&r.kind))),
        ("dst", format!("{:?}", Some(&r.dst))),
        ("src", format!("{:?}", r.src)),
        ("protocol", format!("{:?}", Some(&r.protocol))),
        ("scope", format!("{:?}", Some(&r.scope))),
        ("metric", format!("{:?}", r.metric.map(u64::from))),
        ("tos", format!("{tos:?}")),
        ("prefsrc", format!("{:?}", r.prefsrc.map(|a| a.to_string()))),
        ("gateway", format!("{:?}", r.gateway.map(|a| a.to_string()))),
        ("dev", format!("{:?}", dev(&r.dev))),
        (
            "flags",
            format!("{:?}", r.flags.iter().cloned().collect::<BTreeSet<_>>()),
        ),
        ("nhid", format!("{:?}", r.nhid.map(u64::from))),
        ("mtu", format!("{:?}", r.mtu.map(u64::from))),
        ("pref", format!("{:?}", r.pref)),
        ("nexthops", format!("{hops:?}")),
    ]
}

/// Every route of `netns`, nsmap's and iproute2's, compared as sorted lists.
fn assert_routes_match(s: &Snapshot, netns: &str) {
    let ours = ns(s, netns).routes.as_ref().expect("routes read");
    for (family, v6) in [
        (nsmap::snapshot::l3::Family::Inet, false),
        (nsmap::snapshot::l3::Family::Inet6, true),
    ] {
        let fam = if v6 { "-6" } else { "-4" };
        let mut theirs: Vec<RouteKey> =
            ip_json(netns, &[fam, "-j", "-d", "route", "show", "table", "all"])
                .iter()
                .map(|r| route_of_ip(r, v6))
                .collect();
        let mut mine: Vec<RouteKey> = ours
            .iter()
            .filter(|r| r.family == family)
            .map(route_of_nsmap)
            .collect();
        theirs.sort();
        mine.sort();
        for (m, t) in mine.iter().zip(&theirs) {
            assert_eq!(m, t, "{netns} {fam}: first differing route");
        }
        assert_eq!(
            mine.len(),
            theirs.len(),
            "{netns} {fam}: route count\nnsmap: {mine:#?}\nip: {theirs:#?}"
        );
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn routes_match_ip_route_show_table_all() {
    let mut t = Topology::new("l3-routes");
    let r = t.netns("r");
    let p = t.netns("p");
    no_dad(&r);
    no_dad(&p);
    let x = |args: &[&str]| {
        let mut all = vec!["-n", &r];
        all.extend_from_slice(args);
        ip(&all);
    };
    ip(&[
        "-n", &r, "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", &p,
    ]);
    ip(&[
        "-n", &r, "link", "add", "veth1", "type", "veth", "peer", "name", "veth1", "netns", &p,
    ]);
    x(&["link", "add", "br0", "type", "bridge"]);
    for dev in ["lo", "veth0", "veth1", "br0"] {
        x(&["link", "set", dev, "up"]);
    }
    for dev in ["veth0", "veth1"] {
        ip(&["-n", &p, "link", "set", dev, "up"]);
    }
    x(&["addr", "add", "10.61.0.1/24", "dev", "veth0"]);
    x(&["addr", "add", "10.61.1.1/24", "dev", "veth1"]);
    x(&["addr", "add", "10.61.2.1/24", "dev", "br0"]);
    x(&["-6", "addr", "add", "fd61::1/64", "dev", "veth0", "nodad"]);
    x(&["-6", "addr", "add", "fd61:1::1/64", "dev", "veth1", "nodad"]);
    x(&["route", "add", "default", "via", "10.61.0.2"]);
    x(&[
        "route",
        "add",
        "10.62.0.0/16",
        "via",
        "10.61.1.2",
        "table",
        "100",
        "metric",
        "7",
        "mtu",
        "1400",
    ]);
    x(&["route", "add", "blackhole", "10.63.0.0/24"]);
    x(&["route", "add", "unreachable", "10.63.1.0/24"]);
    x(&["route", "add", "prohibit", "10.63.2.0/24", "table", "100"]);
    x(&["route", "add", "throw", "10.63.3.0/24", "table", "100"]);
    x(&[
        "route",
        "add",
        "10.64.0.0/24",
        "nexthop",
        "via",
        "10.61.0.2",
        "dev",
        "veth0",
        "weight",
        "2",
        "nexthop",
        "via",
        "10.61.1.2",
        "dev",
        "veth1",
        "weight",
        "5",
    ]);
    x(&[
        "route",
        "add",
        "10.65.0.0/24",
        "via",
        "192.0.2.77",
        "dev",
        "veth0",
        "onlink",
    ]);
    x(&[
        "route",
        "add",
        "10.66.0.0/24",
        "dev",
        "veth0",
        "tos",
        "0x10",
    ]);
    x(&[
        "nexthop",
        "add",
        "id",
        "61",
        "via",
        "10.61.0.3",
        "dev",
        "veth0",
    ]);
    x(&["route", "add", "10.67.0.0/24", "nhid", "61"]);
    x(&[
        "route",
        "add",
        "10.68.0.0/24",
        "via",
        "inet6",
        "fe80::2",
        "dev",
        "veth0",
    ]);
    x(&[
        "-6",
        "route",
        "add",
        "fd62::/64",
        "from",
        "fd63::/64",
        "dev",
        "veth0",
    ]);
    x(&[
        "-6",
        "route",
        "add",
        "fd64::/64",
        "via",
        "fe80::2",
        "dev",
        "veth1",
        "pref",
        "high",
        "metric",
        "5",
    ]);
    x(&[
        "-6",
        "route",
        "add",
        "fd65::/64",
        "nexthop",
        "via",
        "fd61::2",
        "dev",
        "veth0",
        "weight",
        "1",
        "nexthop",
        "via",
        "fd61:1::2",
        "dev",
        "veth1",
        "weight",
        "3",
    ]);
    x(&[
        "-6",
        "route",
        "add",
        "blackhole",
        "fd66::/64",
        "table",
        "200",
    ]);

    let oracle = || {
        [&r, &p]
            .iter()
            .flat_map(|n| {
                ["-4", "-6"].map(|f| {
                    format!(
                        "{:?}",
                        ip_json(n, &[f, "-j", "-d", "route", "show", "table", "all"])
                    )
                })
            })
            .collect::<String>()
    };
    let s = scan_l3_stable(oracle);
    assert_no_warnings(&s, &[&r, &p]);
    assert_routes_match(&s, &r);
    assert_routes_match(&s, &p);
    // The nexthop object the route names was dumped, and matches `ip nexthop`.
    let n = ns(&s, &r);
    let objects = n.nexthops.as_ref().expect("a route names one: dumped");
    let theirs = ip_json(&r, &["-j", "nexthop"]);
    assert_eq!(objects.len(), theirs.len());
    for (ours, theirs) in objects.iter().zip(&theirs) {
        assert_eq!(Some(u64::from(ours.id)), theirs["id"].as_u64());
        assert_eq!(
            ours.gateway.map(|g| g.to_string()),
            text(&theirs["gateway"])
        );
        assert_eq!(
            ours.dev
                .as_ref()
                .and_then(|d| d.ifname.as_ref())
                .map(|n| n.as_str().to_string()),
            text(&theirs["dev"])
        );
    }
    // `p` names no nexthop object: not dumped.
    assert_eq!(ns(&s, &p).nexthops, None);
    // Table ids beyond 255 (RTA_TABLE, not the header's 8 bits).
    assert!(
        n.routes
            .iter()
            .flatten()
            .any(|r| r.table == 200 && r.kind == "blackhole")
    );
}

/// One rule reduced to what both sides say.
type RuleKey = Vec<(&'static str, String)>;

fn rule_of_ip(r: &Value) -> RuleKey {
    let prefix = |addr: &Value, len: &Value| match (text(addr), len.as_u64()) {
        (Some(a), _) if a == "all" => None,
        (Some(a), Some(l)) => Some(format!("{a}/{l}")),
        (Some(a), None) => Some(a),
        (None, _) => None,
    };
    let hex =
        |v: &Value| text(v).and_then(|h| u32::from_str_radix(h.trim_start_matches("0x"), 16).ok());
    let range = |one: &str, start: &str, end: &str| match (
        r[one].as_u64(),
        r[start].as_u64(),
        r[end].as_u64(),
    ) {
        (Some(p), _, _) => Some((p, p)),
        (None, Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    let proto = text(&r["ipproto"]).map(|p| match p.as_str() {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "ipv6-icmp" => 58,
        other => other.trim_start_matches("ipproto-").parse().unwrap_or(0),
    });
    let action = if r.get("goto").is_some() {
        "goto".to_string()
    } else if r.get("nop").is_some() {
        "nop".to_string()
    } else {
        text(&r["action"]).unwrap_or_else(|| "lookup".to_string())
    };
    vec![
        ("priority", format!("{:?}", r["priority"].as_u64())),
        ("not", format!("{}", r.get("not").is_some())),
        ("src", format!("{:?}", prefix(&r["src"], &r["srclen"]))),
        ("dst", format!("{:?}", prefix(&r["dst"], &r["dstlen"]))),
        ("iif", format!("{:?}", text(&r["iif"]))),
        ("oif", format!("{:?}", text(&r["oif"]))),
        (
            "iif_detached",
            format!("{}", r.get("iif_detached").is_some()),
        ),
        (
            "oif_detached",
            format!("{}", r.get("oif_detached").is_some()),
        ),
        ("fwmark", format!("{:?}", hex(&r["fwmark"]))),
        // iproute2 leaves out a mask of 0xffffffff (the kernel's default
        // for a mark given without one).
        (
            "fwmask",
            format!(
                "{:?}",
                hex(&r["fwmask"]).or_else(|| hex(&r["fwmark"]).map(|_| u32::MAX))
            ),
        ),
        ("tos", format!("{:?}", hex(&r["tos"]).unwrap_or(0))),
        ("ipproto", format!("{proto:?}")),
        (
            "sport",
            format!("{:?}", range("sport", "sport_start", "sport_end")),
        ),
        (
            "dport",
            format!("{:?}", range("dport", "dport_start", "dport_end")),
        ),
        (
            "uidrange",
            format!("{:?}", range("", "uid_start", "uid_end")),
        ),
        ("l3mdev", format!("{}", r.get("l3mdev").is_some())),
        ("action", action.clone()),
        (
            "table",
            format!(
                "{:?}",
                (action == "lookup" && r.get("l3mdev").is_none())
                    .then(|| table_id(&r["table"]))
                    .flatten()
            ),
        ),
        ("goto", format!("{:?}", r["goto"].as_u64())),
        (
            "suppress_prefixlength",
            format!("{:?}", r["suppress_prefixlen"].as_u64()),
        ),
        (
            "suppress_ifgroup",
            format!(
                "{:?}",
                text(&r["suppress_ifgroup"]).and_then(|g| g.parse::<u64>().ok())
            ),
        ),
        ("protocol", format!("{:?}", text(&r["protocol"]))),
    ]
}

fn rule_of_nsmap(r: &nsmap::snapshot::Rule) -> RuleKey {
    let name = |n: &Option<nsmap::name::Name>| {
        n.as_ref()
            .map(|n| String::from_utf8_lossy(&n.to_bytes()).into_owned())
    };
    let pair16 = |p: Option<[u16; 2]>| p.map(|[a, b]| (u64::from(a), u64::from(b)));
    vec![
        ("priority", format!("{:?}", Some(u64::from(r.priority)))),
        ("not", format!("{}", r.not)),
        ("src", format!("{:?}", r.src)),
        ("dst", format!("{:?}", r.dst)),
        ("iif", format!("{:?}", name(&r.iif))),
        ("oif", format!("{:?}", name(&r.oif))),
        ("iif_detached", format!("{}", r.iif_detached)),
        ("oif_detached", format!("{}", r.oif_detached)),
        ("fwmark", format!("{:?}", r.fwmark)),
        ("fwmask", format!("{:?}", r.fwmask)),
        ("tos", format!("{:?}", u32::from(r.tos))),
        ("ipproto", format!("{:?}", r.ipproto.map(i64::from))),
        ("sport", format!("{:?}", pair16(r.sport))),
        ("dport", format!("{:?}", pair16(r.dport))),
        (
            "uidrange",
            format!(
                "{:?}",
                r.uidrange.map(|[a, b]| (u64::from(a), u64::from(b)))
            ),
        ),
        ("l3mdev", format!("{}", r.l3mdev)),
        ("action", r.action.clone()),
        ("table", format!("{:?}", r.table.filter(|_| !r.l3mdev))),
        ("goto", format!("{:?}", r.goto.map(u64::from))),
        (
            "suppress_prefixlength",
            format!("{:?}", r.suppress_prefixlength.map(u64::from)),
        ),
        (
            "suppress_ifgroup",
            format!("{:?}", r.suppress_ifgroup.map(u64::from)),
        ),
        ("protocol", format!("{:?}", Some(&r.protocol))),
    ]
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn rules_match_ip_rule_with_every_selector() {
    let mut t = Topology::new("l3-rules");
    let r = t.netns("r");
    let rule = |args: &[&str]| {
        let mut all = vec!["-n", &r, "rule", "add"];
        all.extend_from_slice(args);
        ip(&all);
    };
    let rule6 = |args: &[&str]| {
        let mut all = vec!["-n", &r, "-6", "rule", "add"];
        all.extend_from_slice(args);
        ip(&all);
    };
    ip(&[
        "-n", &r, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    // A device name that is not UTF-8 (the kernel keeps the rule, detached).
    common::ip_bytes(&[
        b"-n",
        r.as_bytes(),
        b"rule",
        b"add",
        b"iif",
        b"bad\xff",
        b"lookup",
        b"100",
        b"pref",
        b"10",
    ]);
    rule(&["from", "10.70.0.0/16", "lookup", "100", "pref", "100"]);
    rule(&["to", "10.71.0.0/16", "lookup", "101", "pref", "101"]);
    rule(&["iif", "veth0", "lookup", "102", "pref", "102"]);
    rule(&["oif", "veth1", "lookup", "103", "pref", "103"]);
    rule(&["fwmark", "0x10/0xff", "lookup", "104", "pref", "104"]);
    rule(&["fwmark", "0x20", "lookup", "104", "pref", "105"]);
    rule(&["tos", "0x10", "lookup", "105", "pref", "106"]);
    rule(&[
        "ipproto", "tcp", "dport", "80", "lookup", "106", "pref", "107",
    ]);
    rule(&[
        "ipproto",
        "udp",
        "sport",
        "1000-2000",
        "lookup",
        "106",
        "pref",
        "108",
    ]);
    rule(&["uidrange", "100-200", "lookup", "107", "pref", "109"]);
    rule(&[
        "not",
        "from",
        "10.72.0.0/16",
        "lookup",
        "108",
        "pref",
        "110",
    ]);
    rule(&["pref", "111", "goto", "113"]);
    rule(&["pref", "112", "goto", "999"]);
    rule(&["pref", "113", "nop"]);
    rule(&[
        "lookup",
        "main",
        "suppress_prefixlength",
        "0",
        "pref",
        "114",
    ]);
    rule(&["lookup", "main", "suppress_ifgroup", "5", "pref", "115"]);
    rule(&["l3mdev", "pref", "116"]);
    rule(&["from", "10.73.0.0/16", "blackhole", "pref", "117"]);
    rule(&["from", "10.74.0.0/16", "unreachable", "pref", "118"]);
    rule(&["from", "10.75.0.0/16", "prohibit", "pref", "119"]);
    rule(&[
        "from",
        "10.76.0.0/16",
        "lookup",
        "1000",
        "pref",
        "120",
        "protocol",
        "static",
    ]);
    rule6(&["from", "fd70::/64", "lookup", "100", "pref", "100"]);
    rule6(&[
        "to",
        "fd71::/48",
        "iif",
        "veth0",
        "lookup",
        "101",
        "pref",
        "101",
    ]);
    rule6(&[
        "fwmark", "0x1/0x1", "ipproto", "tcp", "dport", "443", "lookup", "102", "pref", "102",
    ]);
    rule6(&[
        "lookup",
        "main",
        "suppress_prefixlength",
        "0",
        "pref",
        "103",
    ]);

    let (_, s) = scan_l3();
    assert_no_warnings(&s, &[&r]);
    let ours = ns(&s, &r).rules.as_ref().expect("rules read");
    for (family, fam) in [
        (nsmap::snapshot::l3::Family::Inet, "-4"),
        (nsmap::snapshot::l3::Family::Inet6, "-6"),
    ] {
        let theirs: Vec<RuleKey> = ip_json(&r, &[fam, "-j", "-d", "rule"])
            .iter()
            .map(rule_of_ip)
            .collect();
        let mine: Vec<RuleKey> = ours
            .iter()
            .filter(|x| x.family == family)
            .map(rule_of_nsmap)
            .collect();
        // Same order too: the kernel dumps rules in evaluation order.
        for (m, t) in mine.iter().zip(&theirs) {
            assert_eq!(m, t, "{fam}: first differing rule");
        }
        assert_eq!(mine.len(), theirs.len(), "{fam}: rule count");
    }
    // The hostile name is kept byte for byte.
    let bad = ours.iter().find(|x| x.priority == 10).expect("rule 10");
    assert_eq!(
        bad.iif.as_ref().map(|n| n.to_bytes()),
        Some(b"bad\xff".to_vec())
    );
    assert!(bad.iif_detached);
}

/// (dst, dev, lladdr, router, proxy, state) of a neighbour entry; the
/// state only where it is stable (PERMANENT, NOARP, none for proxies).
type NeighKey = (
    String,
    String,
    Option<String>,
    bool,
    bool,
    Option<BTreeSet<String>>,
);

fn stable_state(state: BTreeSet<String>) -> Option<BTreeSet<String>> {
    (state.contains("PERMANENT") || state.contains("NOARP")).then_some(state)
}

fn neighbours_of_ip(netns: &str) -> BTreeSet<NeighKey> {
    let all = ip_json(netns, &["-j", "neigh", "show", "nud", "all"]);
    let proxy = ip_json(netns, &["-j", "neigh", "show", "proxy"]);
    all.iter()
        .map(|n| (n, false))
        .chain(proxy.iter().map(|n| (n, true)))
        .map(|(n, is_proxy)| {
            (
                text(&n["dst"]).unwrap_or_default(),
                text(&n["dev"]).unwrap_or_default(),
                text(&n["lladdr"]),
                n.get("router").is_some(),
                is_proxy,
                if is_proxy {
                    None
                } else {
                    stable_state(names(&n["state"]))
                },
            )
        })
        .collect()
}

fn neighbours_of_nsmap(n: &Namespace) -> BTreeSet<NeighKey> {
    n.neighbours
        .as_ref()
        .expect("neighbours read")
        .iter()
        .map(|x| {
            (
                x.dst.to_string(),
                x.dev
                    .ifname
                    .as_ref()
                    .map(|n| n.as_str().to_string())
                    .unwrap_or_default(),
                x.lladdr.clone(),
                x.router,
                x.proxy,
                if x.proxy {
                    None
                } else {
                    stable_state(x.state.iter().cloned().collect())
                },
            )
        })
        .collect()
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn neighbours_and_fdb_match_ip_neigh_and_bridge_fdb() {
    let mut t = Topology::new("l3-neigh");
    let a = t.netns("a");
    let b = t.netns("b");
    let c = t.netns("c");
    // a and c hang off a bridge in b; b routes between them.
    ip(&["-n", &b, "link", "add", "br0", "type", "bridge"]);
    ip(&[
        "-n", &b, "link", "add", "pa", "type", "veth", "peer", "name", "eth0", "netns", &a,
    ]);
    ip(&[
        "-n", &b, "link", "add", "pc", "type", "veth", "peer", "name", "eth0", "netns", &c,
    ]);
    ip(&["-n", &b, "link", "set", "pa", "master", "br0"]);
    ip(&[
        "-n", &b, "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "dev",
        "br0",
    ]);
    for (netns, dev) in [
        (&b, "br0"),
        (&b, "pa"),
        (&b, "pc"),
        (&b, "vx0"),
        (&a, "eth0"),
        (&c, "eth0"),
    ] {
        ip(&["-n", netns, "link", "set", dev, "up"]);
    }
    ip(&["-n", &b, "addr", "add", "10.81.0.1/24", "dev", "br0"]);
    ip(&["-n", &b, "addr", "add", "10.82.0.1/24", "dev", "pc"]);
    ip(&["-n", &a, "addr", "add", "10.81.0.2/24", "dev", "eth0"]);
    ip(&["-n", &c, "addr", "add", "10.82.0.2/24", "dev", "eth0"]);
    ip(&[
        "-n",
        &a,
        "-6",
        "addr",
        "add",
        "fd81::2/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    ip(&[
        "-n",
        &b,
        "-6",
        "addr",
        "add",
        "fd81::1/64",
        "dev",
        "br0",
        "nodad",
    ]);
    // Permanent entries, a router entry, proxies, static FDB entries.
    ip(&[
        "-n",
        &a,
        "neigh",
        "add",
        "10.81.0.9",
        "lladdr",
        "02:00:00:00:81:09",
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    ip(&[
        "-n",
        &a,
        "-6",
        "neigh",
        "add",
        "fd81::9",
        "lladdr",
        "02:00:00:00:81:19",
        "dev",
        "eth0",
        "router",
        "nud",
        "permanent",
    ]);
    ip(&[
        "-n",
        &b,
        "neigh",
        "add",
        "10.82.0.9",
        "lladdr",
        "02:00:00:00:82:09",
        "dev",
        "pc",
        "nud",
        "noarp",
    ]);
    ip(&["-n", &b, "neigh", "add", "proxy", "10.82.0.77", "dev", "pc"]);
    ip(&[
        "-n", &b, "-6", "neigh", "add", "proxy", "fd81::77", "dev", "br0",
    ]);
    let fdb = |args: &[&str]| {
        let mut all = vec!["-n", b.as_str(), "fdb"];
        all.extend_from_slice(args);
        let out = Command::new("bridge")
            .args(&all)
            .output()
            .expect("run bridge");
        assert!(
            out.status.success(),
            "bridge {all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    fdb(&["add", "02:00:00:00:aa:01", "dev", "pa", "master", "static"]);
    fdb(&[
        "append",
        "00:00:00:00:00:00",
        "dev",
        "vx0",
        "dst",
        "10.81.0.250",
    ]);
    fdb(&[
        "add",
        "02:00:00:00:aa:02",
        "dev",
        "vx0",
        "dst",
        "10.81.0.251",
        "port",
        "4790",
    ]);
    // Learned entries: traffic inside the namespaces made here.
    for (netns, dst) in [(&a, "10.81.0.1"), (&c, "10.82.0.1"), (&a, "fd81::1")] {
        let ok = Command::new("ip")
            .args([
                "netns", "exec", netns, "busybox", "ping", "-c", "1", "-W", "2", dst,
            ])
            .output()
            .expect("run busybox ping")
            .status
            .success();
        assert!(ok, "ping {dst} from {netns}");
    }

    // Entries age by themselves: what nsmap saw must lie between what ip
    // saw just before and just after.
    let before: Vec<_> = [&a, &b, &c].iter().map(|n| neighbours_of_ip(n)).collect();
    let fdb_before = bridge_json(&b, &["fdb", "show"]);
    let (_, s) = scan_l3();
    let after: Vec<_> = [&a, &b, &c].iter().map(|n| neighbours_of_ip(n)).collect();
    assert_no_warnings(&s, &[&a, &b, &c]);
    for (i, netns) in [&a, &b, &c].iter().enumerate() {
        let ours = neighbours_of_nsmap(ns(&s, netns));
        let stable: BTreeSet<_> = before[i].intersection(&after[i]).cloned().collect();
        let seen: BTreeSet<_> = before[i].union(&after[i]).cloned().collect();
        assert!(
            stable.is_subset(&ours),
            "{netns}: missing {:?}",
            stable.difference(&ours).collect::<Vec<_>>()
        );
        assert!(
            ours.is_subset(&seen),
            "{netns}: extra {:?}",
            ours.difference(&seen).collect::<Vec<_>>()
        );
    }
    // The entries made on purpose, exactly.
    let ours = neighbours_of_nsmap(ns(&s, &a));
    assert!(ours.contains(&(
        "fd81::9".into(),
        "eth0".into(),
        Some("02:00:00:00:81:19".into()),
        true,
        false,
        Some(["PERMANENT".to_string()].into())
    )));
    let learned = ns(&s, &a).neighbours.as_ref().expect("read");
    assert!(
        learned
            .iter()
            .any(|n| n.dst.to_string() == "10.81.0.1" && n.lladdr.is_some()),
        "learned by ping"
    );
    let proxies: BTreeSet<String> = ns(&s, &b)
        .neighbours
        .iter()
        .flatten()
        .filter(|n| n.proxy)
        .map(|n| n.dst.to_string())
        .collect();
    assert_eq!(
        proxies,
        ["10.82.0.77".to_string(), "fd81::77".to_string()].into()
    );

    // The FDB: the bridge's entries (with their master) and the vxlan's,
    // as `bridge fdb` shows them; a device's own address lists left out.
    let fdb_after = bridge_json(&b, &["fdb", "show"]);
    let key = |mac: Option<String>,
               dev: Option<String>,
               master: Option<String>,
               dst: Option<String>,
               port: Option<u64>,
               state: String| { (mac, dev, master, dst, port, state) };
    let theirs = |list: &[Value]| -> BTreeSet<_> {
        list.iter()
            .filter(|e| e.get("master").is_some() || e["ifname"] == "vx0")
            .map(|e| {
                key(
                    text(&e["mac"]),
                    text(&e["ifname"]),
                    text(&e["master"]),
                    text(&e["dst"]),
                    e["port"].as_u64(),
                    text(&e["state"]).unwrap_or_default(),
                )
            })
            .collect()
    };
    let (fdb_before, fdb_after) = (theirs(&fdb_before), theirs(&fdb_after));
    let mine: BTreeSet<_> = ns(&s, &b)
        .fdb
        .as_ref()
        .expect("fdb read: b has a bridge")
        .iter()
        .map(|e| {
            let state = if e.state.iter().any(|s| s == "PERMANENT") {
                "permanent"
            } else if e.state.iter().any(|s| s == "NOARP") {
                "static"
            } else if e.state.iter().any(|s| s == "STALE") {
                "stale"
            } else {
                ""
            };
            key(
                Some(e.mac.clone()),
                e.dev.ifname.as_ref().map(|n| n.as_str().to_string()),
                e.master
                    .as_ref()
                    .and_then(|m| m.ifname.as_ref())
                    .map(|n| n.as_str().to_string()),
                e.dst.map(|d| d.to_string()),
                e.port.map(u64::from),
                state.to_string(),
            )
        })
        .collect();
    let stable: BTreeSet<_> = fdb_before.intersection(&fdb_after).cloned().collect();
    let seen: BTreeSet<_> = fdb_before.union(&fdb_after).cloned().collect();
    assert!(
        stable.is_subset(&mine),
        "fdb missing {:?}",
        stable.difference(&mine).collect::<Vec<_>>()
    );
    assert!(
        mine.is_subset(&seen),
        "fdb extra {:?}",
        mine.difference(&seen).collect::<Vec<_>>()
    );
    assert!(
        mine.iter()
            .any(|e| e.0.as_deref() == Some("02:00:00:00:aa:01") && e.5 == "static")
    );
    assert!(
        mine.iter()
            .any(|e| e.3.as_deref() == Some("10.81.0.251") && e.4 == Some(4790))
    );
    // a and c have no bridge and no vxlan: nothing to dump, known empty.
    assert_eq!(ns(&s, &a).fdb.as_deref(), Some(&[][..]));
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn netconf_and_sysctls_match_the_namespace() {
    let mut t = Topology::new("l3-netconf");
    let r = t.netns("r");
    let single = t.netns("single");
    ip(&[
        "-n", &r, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    ip(&["-n", &r, "addr", "add", "10.91.0.1/24", "dev", "veth0"]);
    ip(&["-n", &r, "addr", "add", "10.91.1.1/24", "dev", "veth1"]);
    ip(&[
        "-n", &single, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    ip(&["-n", &single, "addr", "add", "10.92.0.1/24", "dev", "veth0"]);
    let set = |netns: &str, kv: &[&str]| {
        let mut args = vec!["netns", "exec", netns, "sysctl", "-q", "-w"];
        args.extend_from_slice(kv);
        ip(&args);
    };
    set(
        &r,
        &[
            "net.ipv4.conf.all.forwarding=0",
            "net.ipv4.conf.veth0.forwarding=1",
            "net.ipv4.conf.all.rp_filter=2",
            "net.ipv4.conf.veth1.rp_filter=1",
            "net.ipv4.conf.veth1.proxy_arp=1",
            "net.ipv4.conf.default.rp_filter=1",
            "net.ipv4.conf.all.arp_ignore=1",
            "net.ipv4.conf.all.arp_filter=1",
            "net.ipv4.conf.all.accept_local=1",
            "net.ipv4.conf.all.route_localnet=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv6.conf.veth0.proxy_ndp=1",
            "net.ipv6.conf.veth1.disable_ipv6=1",
        ],
    );
    set(&single, &["net.ipv4.conf.all.arp_ignore=2"]);

    let (_, s) = scan_l3();
    assert_no_warnings(&s, &[&r, &single]);
    let n = ns(&s, &r);
    let v4 = [
        "forwarding",
        "rp_filter",
        "mc_forwarding",
        "proxy_arp",
        "ignore_routes_with_linkdown",
        "accept_local",
        "route_localnet",
        "arp_ignore",
        "arp_filter",
    ];
    let v6 = [
        "forwarding",
        "proxy_ndp",
        "mc_forwarding",
        "disable_ipv6",
        "ignore_routes_with_linkdown",
    ];
    let pick4 = |c: &nsmap::snapshot::l3::Netconf| {
        vec![
            c.forwarding,
            c.rp_filter,
            c.mc_forwarding,
            c.proxy_neigh,
            c.ignore_routes_with_linkdown,
            c.accept_local,
            c.route_localnet,
            c.arp_ignore,
            c.arp_filter,
        ]
    };
    let pick6 = |c: &nsmap::snapshot::l3::Netconf| {
        vec![
            c.forwarding,
            c.proxy_neigh,
            c.mc_forwarding,
            c.disable_ipv6,
            c.ignore_routes_with_linkdown,
        ]
    };
    for dev in ["lo", "veth0", "veth1"] {
        let conf = iface(n, dev).netconf.as_ref().expect("devconf read");
        let keys: Vec<String> = v4.iter().map(|k| format!("ipv4/conf/{dev}/{k}")).collect();
        assert_same(
            pick4(conf.ipv4.as_ref().expect("ipv4")),
            sysctls(&r, &keys),
            &format!("{dev} ipv4"),
        );
        let keys: Vec<String> = v6.iter().map(|k| format!("ipv6/conf/{dev}/{k}")).collect();
        // disable_ipv6 keeps the device's IPv6 devconf (veth1 reads 1).
        let ours = conf.ipv6.as_ref().map(pick6).expect("ipv6 devconf");
        assert_same(ours, sysctls(&r, &keys), &format!("{dev} ipv6"));
    }
    // all and default: netconf's keys from RTM_GETNETCONF, the rest of
    // `all` from /proc/sys (r has two addressed devices: worth reading).
    let netconf = n.netconf.as_ref().expect("netconf");
    let all4 = netconf.ipv4.all.as_ref().expect("ipv4 all");
    let keys: Vec<String> = v4.iter().map(|k| format!("ipv4/conf/all/{k}")).collect();
    assert_same(pick4(all4), sysctls(&r, &keys), "ipv4 all");
    let default4 = netconf.ipv4.default.as_ref().expect("ipv4 default");
    let keys: Vec<String> = [
        "forwarding",
        "rp_filter",
        "mc_forwarding",
        "proxy_arp",
        "ignore_routes_with_linkdown",
    ]
    .iter()
    .map(|k| format!("ipv4/conf/default/{k}"))
    .collect();
    assert_same(
        vec![
            default4.forwarding,
            default4.rp_filter,
            default4.mc_forwarding,
            default4.proxy_neigh,
            default4.ignore_routes_with_linkdown,
        ],
        sysctls(&r, &keys),
        "ipv4 default",
    );
    for (which, conf) in [
        ("all", &netconf.ipv6.all),
        ("default", &netconf.ipv6.default),
    ] {
        let conf = conf.as_ref().expect("ipv6");
        let keys: Vec<String> = [
            "forwarding",
            "proxy_ndp",
            "mc_forwarding",
            "ignore_routes_with_linkdown",
        ]
        .iter()
        .map(|k| format!("ipv6/conf/{which}/{k}"))
        .collect();
        assert_same(
            vec![
                conf.forwarding,
                conf.proxy_neigh,
                conf.mc_forwarding,
                conf.ignore_routes_with_linkdown,
            ],
            sysctls(&r, &keys),
            &format!("ipv6 {which}"),
        );
    }
    // And netconf agrees with `ip netconf` (its words for the same numbers).
    let theirs = ip_json(&r, &["-j", "netconf", "show"]);
    let all = theirs
        .iter()
        .find(|e| e["family"] == "inet" && e["interface"] == "all")
        .expect("ip netconf all");
    assert_eq!(all["rp_filter"], "loose");
    assert_eq!(all4.rp_filter, Some(2));
    // A single-homed namespace: its `all` sysctls are not read (null), on
    // purpose (sys::sysctl::worth_reading).
    let one = ns(&s, &single).netconf.as_ref().expect("netconf");
    assert_eq!(one.ipv4.all.as_ref().map(|a| a.arp_ignore), Some(None));
    // The bridge sysctls only where there is a bridge.
    assert_eq!(
        n.firewall.as_ref().and_then(|f| f.bridge_nf_call_iptables),
        None
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn bridge_sysctls_are_read_where_there_is_a_bridge() {
    let mut t = Topology::new("l3-brnf");
    let b = t.netns("b");
    ip(&["-n", &b, "link", "add", "br0", "type", "bridge"]);
    let (_, s) = scan_l3();
    let fw = ns(&s, &b).firewall.as_ref().expect("firewall read");
    let expect = sysctls(
        &b,
        &[
            "bridge/bridge-nf-call-iptables".to_string(),
            "bridge/bridge-nf-call-ip6tables".to_string(),
            "bridge/bridge-nf-call-arptables".to_string(),
        ],
    );
    // None in both when br_netfilter is not loaded.
    assert_eq!(
        vec![
            fw.bridge_nf_call_iptables,
            fw.bridge_nf_call_ip6tables,
            fw.bridge_nf_call_arptables
        ],
        expect
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn layer2_scans_leave_layer3_null() {
    let mut t = Topology::new("l3-null");
    let a = t.netns("a");
    ip(&[
        "-n", &a, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    ip(&["-n", &a, "addr", "add", "10.93.0.1/24", "dev", "veth0"]);
    let raw = scan(&ScanOptions::default()).expect("scan succeeds");
    let inode = inode_of(format!("/run/netns/{a}"));
    assert!(
        raw.namespaces.iter().all(|n| n.l3.is_none()),
        "no namespace has layer 3"
    );
    let r = raw.namespaces.iter().find(|n| n.inode == inode).expect("a");
    assert!(
        r.links
            .iter()
            .all(|l| l.inet_conf.is_none() && l.inet6_conf.is_none())
    );
    let s = resolve(&raw);
    let n = ns(&s, &a);
    assert_eq!(
        (
            &n.routes,
            &n.rules,
            &n.neighbours,
            &n.fdb,
            &n.nexthops,
            &n.netconf,
            &n.firewall
        ),
        (&None, &None, &None, &None, &None, &None, &None)
    );
    assert!(n.interfaces.iter().all(|i| i.netconf.is_none()));
    // Layer 2 stays what it was: the same links either way.
    let (l3raw, _) = scan_l3();
    let l3ns = l3raw
        .namespaces
        .iter()
        .find(|n| n.inode == inode)
        .expect("a");
    let names = |links: &[nsmap::raw::RawLink]| {
        links
            .iter()
            .map(|l| (l.ifindex, l.ifname.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&r.links), names(&l3ns.links));
    assert!(l3ns.l3.is_some());
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn conntrack_use_is_read_where_there_is_a_firewall() {
    let mut t = Topology::new("l3-ct");
    let with = t.netns("fw");
    let without = t.netns("plain");
    let out = Command::new("ip")
        // A ct rule: it loads nf_conntrack if nothing did before.
        .args([
            "netns",
            "exec",
            &with,
            "nft",
            "add table inet t; add chain inet t c { type filter hook input priority 0; }; add rule inet t c ct state established accept",
        ])
        .output()
        .expect("run nft");
    assert!(out.status.success(), "nft add table");
    let (_, s) = scan_l3();
    let fw = ns(&s, &with).firewall.as_ref().expect("firewall read");
    let expect = sysctls(
        &with,
        &[
            "netfilter/nf_conntrack_count".to_string(),
            "netfilter/nf_conntrack_max".to_string(),
        ],
    );
    assert_eq!(vec![fw.conntrack_count, fw.conntrack_max], expect);
    assert!(fw.conntrack_max.is_some(), "nf_conntrack is loaded here");
    // Not read where nothing uses conntrack.
    let plain = ns(&s, &without).firewall.as_ref().expect("firewall read");
    assert_eq!((plain.conntrack_count, plain.conntrack_max), (None, None));
}
