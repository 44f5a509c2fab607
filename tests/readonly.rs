//! nsmap is read-only: a full scan (every command of the binary, layer 3
//! included) leaves the system exactly as it was — links, addresses, nsid
//! assignments, mounts, /run/netns, routes, rules, neighbours, nexthop
//! objects, the bridge FDB and sysctls. One test in its own binary, so no
//! other test of this suite changes the system while it compares.
//!
//! One change is the kernel's, not nsmap's: *any* RTM_GETLINK dump (`ip
//! link show` too) makes the dumping namespace assign an nsid to each
//! namespace its veths and macvlans point into, if it had none
//! (rtnl_fill_link_netnsid → peernet2id_alloc). The baseline is therefore
//! taken after `ip link show` in every namespace; what the test proves is
//! that nsmap adds nothing to that — in particular that its RTM_GETNSID
//! questions (asked of namespaces that have no nsid for the target, like
//! `over` about the host below) never allocate.

mod common;

use std::process::Command;

use common::{Topology, ip, nsmap};

/// Everything nsmap could conceivably change, as text.
fn system_state(namespaces: &[String], pid: u32) -> Vec<(String, String)> {
    let mut state = Vec::new();
    let mut capture = |label: String, program: &str, args: &[&str]| {
        let out = Command::new(program).args(args).output().expect("run");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        // Bridge timers (gc_timer, hello_timer, …) count down by themselves.
        if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(&text) {
            drop_timers(&mut json);
            text = json.to_string();
        }
        state.push((label, text));
    };
    capture("host links".into(), "ip", &["-j", "-d", "link", "show"]);
    capture("host addresses".into(), "ip", &["-j", "addr", "show"]);
    capture("host nsids".into(), "ip", &["-j", "netns", "list-id"]);
    capture("ip netns".into(), "ip", &["-j", "netns", "list"]);
    capture("mounts".into(), "cat", &["/proc/self/mountinfo"]);
    capture(
        "/run/netns".into(),
        "ls",
        &["-la", "--time-style=full-iso", "/run/netns"],
    );
    for ns in namespaces {
        capture(
            format!("{ns} links"),
            "ip",
            &["-n", ns, "-j", "-d", "link", "show"],
        );
        capture(
            format!("{ns} addresses"),
            "ip",
            &["-n", ns, "-j", "addr", "show"],
        );
        capture(
            format!("{ns} nsids"),
            "ip",
            &["-n", ns, "-j", "netns", "list-id"],
        );
        // Layer 3. Neighbour states age by themselves (and entries come
        // and go with traffic): the permanent entries are what is stable.
        for family in ["-4", "-6"] {
            capture(
                format!("{ns} routes {family}"),
                "ip",
                &[
                    "-n", ns, family, "-j", "-d", "route", "show", "table", "all",
                ],
            );
            capture(
                format!("{ns} rules {family}"),
                "ip",
                &["-n", ns, family, "-j", "-d", "rule", "show"],
            );
            capture(
                format!("{ns} permanent neighbours {family}"),
                "ip",
                &["-n", ns, family, "-j", "neigh", "show", "nud", "permanent"],
            );
            capture(
                format!("{ns} proxy neighbours {family}"),
                "ip",
                &["-n", ns, family, "-j", "neigh", "show", "proxy"],
            );
        }
        capture(
            format!("{ns} nexthops"),
            "ip",
            &["-n", ns, "-j", "nexthop", "show"],
        );
        capture(
            format!("{ns} fdb"),
            "bridge",
            &["-n", ns, "-j", "fdb", "show"],
        );
        capture(
            format!("{ns} sysctls"),
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "sysctl",
                "net.ipv4.conf",
                "net.ipv6.conf",
                "net.ipv4.ip_forward",
                "net.bridge",
            ],
        );
    }
    capture("host rules".into(), "ip", &["-j", "-d", "rule", "show"]);
    let target = format!("--net=/proc/{pid}/ns/net");
    capture(
        "process netns links".into(),
        "nsenter",
        &[&target, "ip", "-j", "-d", "link", "show"],
    );
    capture(
        "process netns nsids".into(),
        "nsenter",
        &[&target, "ip", "-j", "netns", "list-id"],
    );
    state
}

fn drop_timers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|key, _| !key.ends_with("_timer"));
            map.values_mut().for_each(drop_timers);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_timers),
        _ => {}
    }
}

/// Where two captures first differ, with some context (they can be large).
fn first_difference(before: &str, after: &str) -> String {
    let at = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(x, y)| x == y)
        .count();
    let from = before.floor_char_boundary(at.saturating_sub(150));
    let to = |s: &str| s.ceil_char_boundary((at + 150).min(s.len()));
    format!(
        "\n  before: …{}…\n  after:  …{}…",
        &before[from..to(before)],
        &after[from..to(after)]
    )
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_full_scan_changes_nothing() {
    let mut t = Topology::new("readonly");
    // Links stay down: no IPv6 DAD, so addresses do not change by themselves.
    let a = t.netns("a");
    let b = t.netns("b");
    let lonely = t.netns("lonely"); // no link to anyone: no nsid anywhere
    let pid = t.process_netns();
    let h = t.name("h");
    t.host_link(&h);
    ip(&[
        "link", "add", &h, "type", "veth", "peer", "name", "eth0", "netns", &a,
    ]);
    ip(&[
        "-n", &a, "link", "add", "to-b", "type", "veth", "peer", "name", "to-a", "netns", &b,
    ]);
    let hp = t.name("hp");
    t.host_link(&hp);
    ip(&[
        "link",
        "add",
        &hp,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &format!("/proc/{pid}/ns/net"),
    ]);
    ip(&["-n", &b, "link", "add", "br0", "type", "bridge"]);
    ip(&["-n", &b, "link", "set", "to-a", "master", "br0"]);
    let out = Command::new("bridge")
        .args([
            "-n",
            &b,
            "fdb",
            "add",
            "02:00:00:00:66:aa",
            "dev",
            "to-a",
            "master",
            "static",
        ])
        .output()
        .expect("run bridge");
    assert!(out.status.success(), "bridge fdb add");
    ip(&["-n", &a, "addr", "add", "10.66.0.1/24", "dev", "eth0"]);
    // Layer 3 for every dump a layer-3 scan makes: two addressed devices
    // (so the `all` sysctls are read), lo up for a blackhole nexthop object
    // and the route that names it (the nexthop dump), a rule, permanent
    // and proxy neighbours, and in b a bridge (the FDB dump and the
    // bridge sysctls) with a static entry.
    ip(&["-n", &a, "addr", "add", "10.67.0.1/24", "dev", "to-b"]);
    ip(&["-n", &a, "link", "set", "lo", "up"]);
    ip(&["-n", &a, "nexthop", "add", "id", "66", "blackhole"]);
    ip(&["-n", &a, "route", "add", "10.68.0.0/16", "nhid", "66"]);
    ip(&[
        "-n",
        &a,
        "route",
        "add",
        "blackhole",
        "10.69.0.0/16",
        "table",
        "100",
    ]);
    ip(&[
        "-n",
        &a,
        "rule",
        "add",
        "from",
        "10.66.0.0/24",
        "lookup",
        "100",
        "pref",
        "100",
    ]);
    ip(&[
        "-n",
        &a,
        "neigh",
        "add",
        "10.66.0.9",
        "lladdr",
        "02:00:00:00:66:09",
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    ip(&[
        "-n",
        &a,
        "neigh",
        "add",
        "proxy",
        "10.66.0.77",
        "dev",
        "eth0",
    ]);
    // A macvlan whose lower device is elsewhere: nsmap must ask `over`
    // which nsid candidates have (the host first), and asking must not
    // give `over` an nsid for the host.
    let under = t.netns("under");
    let over = t.netns("over");
    ip(&["-n", &under, "link", "add", "up0", "type", "bridge"]);
    ip(&[
        "-n", &under, "link", "add", "mv0", "link", "up0", "type", "macvlan",
    ]);
    ip(&["-n", &under, "link", "set", "mv0", "netns", &over]);

    let namespaces = vec![a, b, lonely, under, over];
    let before = system_state(&namespaces, pid);
    let commands: &[&[&str]] = &[
        &["ns"],
        &["links"],
        &["peers", "eth0"],
        &["bridges"],
        &["snapshot"],
        &["snapshot", "--raw"],
        &["doctor"],
        &["routes"],
        &["links", "--json", "--ns", &namespaces[0]],
    ];
    for args in commands {
        let out = nsmap().args(*args).output().expect("run nsmap");
        // doctor exits 1 when it finds an error anywhere on the host
        // (DOCTOR.md), which other software on the machine may cause; the
        // scan it made is what this test is about.
        let found = args[0] == "doctor" && out.status.code() == Some(1) && !out.stdout.is_empty();
        assert!(
            out.status.success() || found,
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let after = system_state(&namespaces, pid);
    for ((label, b), (_, a)) in before.iter().zip(&after) {
        assert!(
            b == a,
            "{label} changed during the scan: {}",
            first_difference(b, a)
        );
    }
    let over_nsids = &after
        .iter()
        .find(|(l, _)| l.starts_with(&format!("{} nsids", namespaces[4])))
        .expect("captured")
        .1;
    assert_eq!(
        over_nsids.matches("nsid").count(),
        1,
        "only the lower device's namespace: {over_nsids}"
    );

    // The test is only worth something if nsmap did ask `over` about the host.
    let raw = nsmap()
        .args(["snapshot", "--raw"])
        .output()
        .expect("run nsmap");
    let raw: serde_json::Value = serde_json::from_slice(&raw.stdout).expect("json");
    let over_inode = common::inode_of(format!("/run/netns/{}", namespaces[4]));
    let host_inode = common::inode_of("/proc/self/ns/net");
    let over_ns = raw["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .find(|n| n["inode"] == over_inode)
        .expect("over");
    assert!(
        over_ns["nsids"]
            .as_array()
            .expect("nsids")
            .iter()
            .any(|a| a["netns"] == host_inode && a["nsid"].is_null()),
        "nsmap asked over about the host and got no nsid: {}",
        over_ns["nsids"]
    );

    // Nor unless the layer-3 scan read every list the topology holds.
    let raw = nsmap()
        .args(["snapshot", "--raw"])
        .output()
        .expect("run nsmap");
    let raw: serde_json::Value = serde_json::from_slice(&raw.stdout).expect("json");
    let l3_of = |name: &str| {
        let inode = common::inode_of(format!("/run/netns/{name}"));
        raw["namespaces"]
            .as_array()
            .expect("namespaces")
            .iter()
            .find(|n| n["inode"] == inode)
            .map(|n| n["l3"].clone())
            .expect("namespace")
    };
    let a = l3_of(&namespaces[0]);
    let count = |v: &serde_json::Value| v.as_array().map_or(0, Vec::len);
    assert!(count(&a["routes"]) > 0 && count(&a["rules"]) > 0, "{a}");
    assert_eq!(count(&a["nexthops"]), 1, "the nexthop dump ran");
    assert!(
        count(&a["neighbours"]) >= 2,
        "permanent and proxy: {}",
        a["neighbours"]
    );
    assert!(
        a["sysctl"]["arp_ignore"].is_i64(),
        "the all sysctls were read"
    );
    let b = l3_of(&namespaces[1]);
    assert!(count(&b["fdb"]) > 0, "the fdb dump ran: {}", b["fdb"]);
}
