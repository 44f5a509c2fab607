//! Root tests: real namespaces, veth pairs, bridges and stacked devices
//! built with iproute2, scanned by nsmap, and checked against the kernel's
//! own answers (`ip -j -d link`, `ip netns list-id`).
//!
//! Run as root: `cargo test -- --include-ignored` (what .ci/run does).
//! Other tests run in parallel, so each asserts only on what it built.

mod common;

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::{Topology, inode_of, ip, ip_bytes, links_json, nsids_json, nsmap};
use nsmap::name::Name;
use nsmap::resolve::resolve;
use nsmap::snapshot::{Interface, LinkRef, Namespace, Snapshot, WarningCode};
use nsmap::sys::{ScanOptions, scan, scan_with_hook};
use serde_json::Value;

fn snapshot() -> Snapshot {
    resolve(&scan(&ScanOptions::default()).expect("scan succeeds"))
}

fn netns_inode(name: &str) -> u64 {
    inode_of(format!("/run/netns/{name}"))
}

fn host_inode() -> u64 {
    inode_of("/proc/self/ns/net")
}

fn ns(s: &Snapshot, inode: u64) -> &Namespace {
    s.namespaces
        .iter()
        .find(|n| n.inode == inode)
        .unwrap_or_else(|| panic!("namespace {inode} not found"))
}

fn iface<'a>(n: &'a Namespace, name: &str) -> &'a Interface {
    let name = Name::from(name);
    n.interfaces
        .iter()
        .find(|i| i.ifname == name)
        .unwrap_or_else(|| panic!("{name:?} not in net:[{}]", n.inode))
}

fn at(netns: u64, ifindex: u32, ifname: &str) -> Option<LinkRef> {
    Some(LinkRef {
        netns: Some(netns),
        ifindex,
        ifname: Some(Name::from(ifname)),
    })
}

fn link_ref(netns: u64, i: &Interface) -> Option<LinkRef> {
    Some(LinkRef {
        netns: Some(netns),
        ifindex: i.ifindex,
        ifname: Some(i.ifname.clone()),
    })
}

/// Checks every attribute nsmap reports for the named links of one
/// namespace against `ip -j -d link` and `ip netns list-id` there.
/// `names` maps the ip-netns names whose nsids may appear to their inodes.
fn assert_matches_ip(s: &Snapshot, netns: Option<&str>, made: &[&str]) {
    let inode = netns.map_or_else(host_inode, netns_inode);
    let n = ns(s, inode);
    let nsid_names: HashMap<i64, String> = nsids_json(netns)
        .iter()
        .filter_map(|e| Some((e["nsid"].as_i64()?, e["name"].as_str()?.to_string())))
        .collect();
    let oracle = links_json(netns);
    for name in made {
        let link = oracle
            .iter()
            .find(|l| l["ifname"] == *name)
            .unwrap_or_else(|| panic!("ip does not show {name}"));
        let ours = iface(n, name);
        let ctx = format!("{name} in {netns:?}");
        assert_eq!(
            Some(u64::from(ours.ifindex)),
            link["ifindex"].as_u64(),
            "{ctx}: ifindex"
        );
        assert_eq!(
            Some(u64::from(ours.mtu)),
            link["mtu"].as_u64(),
            "{ctx}: mtu"
        );
        assert_eq!(
            Some(&*ours.operstate),
            link["operstate"].as_str(),
            "{ctx}: operstate"
        );
        // M-DOWN is iproute2's own note that a same-namespace peer is down.
        let flags: Vec<&str> = link["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| *f != "M-DOWN")
            .collect();
        assert_eq!(ours.flags, flags, "{ctx}: flags");
        assert_eq!(
            ours.address.as_deref(),
            link["address"].as_str(),
            "{ctx}: address"
        );
        assert_eq!(
            ours.kind.as_deref(),
            link["linkinfo"]["info_kind"].as_str(),
            "{ctx}: kind"
        );
        assert_eq!(
            ours.slave_kind.as_deref(),
            link["linkinfo"]["info_slave_kind"].as_str(),
            "{ctx}: slave kind"
        );
        let master = ours
            .master
            .as_ref()
            .and_then(|m| m.ifname.as_ref())
            .map(|n| n.as_str().to_string());
        assert_eq!(master.as_deref(), link["master"].as_str(), "{ctx}: master");

        // Peer / lower device: ip gives a name when it is local, otherwise
        // link_index (absent when equal to ifindex) and a link_netnsid.
        let other = ours.peer.as_ref().or(ours.link.as_ref());
        if ours.kind.as_deref() == Some("vxlan") {
            continue; // ip names vxlan's lower device by name in info_data; checked per test
        }
        match (link["link_netnsid"].as_i64(), link["link"].as_str()) {
            (Some(nsid), _) => {
                let other = other
                    .unwrap_or_else(|| panic!("{ctx}: nsmap has no peer/link, ip has nsid {nsid}"));
                let expected_ifindex = link["link_index"]
                    .as_u64()
                    .unwrap_or(u64::from(ours.ifindex));
                assert_eq!(
                    u64::from(other.ifindex),
                    expected_ifindex,
                    "{ctx}: peer ifindex"
                );
                if let Some(peer_ns) = nsid_names.get(&nsid) {
                    assert_eq!(
                        other.netns,
                        Some(netns_inode(peer_ns)),
                        "{ctx}: peer netns (nsid {nsid} = {peer_ns})"
                    );
                } else {
                    assert!(other.netns.is_some(), "{ctx}: peer netns unresolved");
                }
            }
            (None, Some(local)) => {
                let other = other
                    .unwrap_or_else(|| panic!("{ctx}: nsmap has no peer/link, ip says {local}"));
                assert_eq!(other.netns, Some(inode), "{ctx}: local peer netns");
                assert_eq!(
                    other.ifname.as_ref().map(Name::as_str),
                    Some(local),
                    "{ctx}: local peer name"
                );
            }
            (None, None) => assert!(other.is_none(), "{ctx}: nsmap has a peer/link, ip has none"),
        }
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn named_namespace_is_found_with_its_name_and_mount() {
    let mut t = Topology::new("named_namespace");
    let name = t.netns("blue");
    let s = snapshot();
    let n = ns(&s, netns_inode(&name));
    assert_eq!(n.names, vec![Name::from(name.as_str())]);
    assert!(
        n.mounts
            .contains(&Name::from(format!("/run/netns/{name}").as_str())),
        "{:?}",
        n.mounts
    );
    assert!(n.scanned && !n.current && !n.host);
    assert!(n.pids.is_empty());
    assert_eq!(n.interfaces.len(), 1);
    assert_eq!(n.interfaces[0].ifname, Name::from("lo"));
    assert!(n.id.is_some(), "NS_GET_ID works on this kernel");
    assert_eq!(n.label(), name);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn namespace_held_only_by_a_process_lists_its_pid() {
    let mut t = Topology::new("process_namespace");
    let pid = t.process_netns();
    let inode = inode_of(format!("/proc/{pid}/ns/net"));
    let s = snapshot();
    let n = ns(&s, inode);
    assert_eq!(n.pids, vec![pid]);
    assert!(n.names.is_empty() && n.mounts.is_empty());
    let process = n.process.as_ref().expect("process summary");
    assert_eq!((process.pid, process.comm.as_str()), (pid, "sleep"));
    assert_eq!(n.label(), format!("sleep({pid})"));
    assert!(n.scanned);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn namespace_held_only_by_a_bind_mount_outside_run_netns() {
    let mut t = Topology::new("bind_mount_namespace");
    let pid = t.process_netns();
    let inode = inode_of(format!("/proc/{pid}/ns/net"));
    let target = std::env::temp_dir().join(t.name("pinned"));
    t.bind_mount(Path::new(&format!("/proc/{pid}/ns/net")), &target);
    t.kill(pid);
    let s = snapshot();
    let n = ns(&s, inode);
    assert!(n.pids.is_empty(), "{:?}", n.pids);
    assert_eq!(
        n.mounts,
        vec![Name::from_bytes(target.as_os_str().as_bytes())]
    );
    assert!(n.scanned);
    assert_eq!(n.label(), target.to_string_lossy());
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn namespace_mounted_in_another_mount_namespace_is_found() {
    let mut t = Topology::new("foreign_mount");
    let pid = t.process_netns();
    let inode = inode_of(format!("/proc/{pid}/ns/net"));
    // A private mount namespace that bind-mounts the netns and then sleeps;
    // the mount is invisible from ours.
    let target = format!("/tmp/{}", t.name("hidden"));
    let holder = t.spawn(&[
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &format!("touch {target} && mount --bind /proc/{pid}/ns/net {target} && exec sleep 600"),
    ]);
    t.path(&target);
    common::wait_for(|| {
        std::fs::read(format!("/proc/{holder}/mountinfo"))
            .is_ok_and(|m| String::from_utf8_lossy(&m).contains(&target))
    });
    t.kill(pid);
    let s = snapshot();
    let n = ns(&s, inode);
    assert!(n.pids.is_empty());
    // Recorded as the path that reaches it from here, never as a host path.
    assert_eq!(
        n.mounts,
        vec![Name::from(format!("/proc/{holder}/root{target}").as_str())]
    );
    assert!(n.scanned, "opened through /proc/{holder}/root");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn namespace_held_only_by_an_open_fd() {
    let mut t = Topology::new("fd_namespace");
    let pid = t.process_netns();
    let inode = inode_of(format!("/proc/{pid}/ns/net"));
    let holder = t.spawn(&[
        "sh",
        "-c",
        &format!("exec 7</proc/{pid}/ns/net; exec sleep 600"),
    ]);
    common::wait_for(|| std::fs::read_link(format!("/proc/{holder}/fd/7")).is_ok());
    t.kill(pid);
    // And one whose fd was opened through a bind mount that is gone since:
    // readlink shows a path, not net:[…].
    let named = t.netns("viafd");
    let named_inode = netns_inode(&named);
    let holder2 = t.spawn(&[
        "sh",
        "-c",
        &format!("exec 8</run/netns/{named}; exec sleep 600"),
    ]);
    common::wait_for(|| std::fs::read_link(format!("/proc/{holder2}/fd/8")).is_ok());
    ip(&["netns", "del", &named]);

    let s = snapshot();
    let n = ns(&s, inode);
    assert!(n.pids.is_empty());
    assert_eq!(n.holders.len(), 1);
    assert_eq!((n.holders[0].pid, n.holders[0].fd), (holder, 7));
    assert!(n.scanned);
    let n2 = ns(&s, named_inode);
    assert!(n2.names.is_empty(), "deleted name is gone: {:?}", n2.names);
    assert_eq!((n2.holders[0].pid, n2.holders[0].fd), (holder2, 8));
    assert!(n2.scanned);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn veth_pairs_host_to_ns_ns_to_ns_and_within_one_ns() {
    let mut t = Topology::new("veth_pairs");
    let a = t.netns("a");
    let b = t.netns("b");
    let host_end = t.name("h0");
    t.host_link(&host_end);
    ip(&[
        "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &a,
    ]);
    ip(&[
        "-n", &a, "link", "add", "to-b", "type", "veth", "peer", "name", "to-a", "netns", &b,
    ]);
    ip(&[
        "-n", &b, "link", "add", "left", "type", "veth", "peer", "name", "right",
    ]);
    ip(&["-n", &a, "addr", "add", "10.77.0.2/24", "dev", "eth0"]);
    ip(&["-n", &a, "link", "set", "eth0", "up"]);
    ip(&["link", "set", &host_end, "up"]);

    let s = snapshot();
    let (host, ia, ib) = (host_inode(), netns_inode(&a), netns_inode(&b));
    let h0 = iface(ns(&s, host), &host_end);
    let eth0 = iface(ns(&s, ia), "eth0");
    assert_eq!(h0.peer, link_ref(ia, eth0));
    assert_eq!(eth0.peer, link_ref(host, h0));
    assert_eq!(
        eth0.addresses[0], "10.77.0.2/24",
        "IPv6 link-local may follow"
    );
    let to_b = iface(ns(&s, ia), "to-b");
    let to_a = iface(ns(&s, ib), "to-a");
    assert_eq!(to_b.peer, link_ref(ib, to_a));
    assert_eq!(to_a.peer, link_ref(ia, to_b));
    let left = iface(ns(&s, ib), "left");
    let right = iface(ns(&s, ib), "right");
    assert_eq!(left.peer, link_ref(ib, right));
    assert_eq!(right.peer, link_ref(ib, left));

    assert_matches_ip(&s, None, &[&host_end]);
    assert_matches_ip(&s, Some(&a), &["eth0", "to-b"]);
    assert_matches_ip(&s, Some(&b), &["to-a", "left", "right"]);
    for inode in [ia, ib] {
        assert!(
            !s.warnings.iter().any(|w| w.netns == Some(inode)),
            "no warnings about our namespaces: {:?}",
            s.warnings
        );
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn ifindex_collisions_never_mix_up_peers() {
    // Six namespaces, each with eth0 at ifindex 2: a↔b and c↔d paired to
    // each other (both ends ifindex 2, so the kernel omits IFLA_LINK), e and
    // f to host veths. sysfs iflink reads 2 for all of them.
    let mut t = Topology::new("ifindex_collisions");
    let names: Vec<String> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|n| t.netns(n))
        .collect();
    for (x, y) in [(0, 1), (2, 3)] {
        ip(&[
            "-n", &names[x], "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
            "netns", &names[y],
        ]);
    }
    let mut host_ends = Vec::new();
    for (i, n) in names[4..].iter().enumerate() {
        let h = t.name(&format!("h{i}"));
        t.host_link(&h);
        ip(&[
            "link", "add", &h, "type", "veth", "peer", "name", "eth0", "netns", n,
        ]);
        host_ends.push(h);
    }
    let s = snapshot();
    let inode: Vec<u64> = names.iter().map(|n| netns_inode(n)).collect();
    for (x, y) in [(0, 1), (2, 3), (1, 0), (3, 2)] {
        let e = iface(ns(&s, inode[x]), "eth0");
        assert_eq!(e.ifindex, 2);
        assert_eq!(
            e.peer,
            at(inode[y], 2, "eth0"),
            "eth0 of {} must pair with {}",
            names[x],
            names[y]
        );
    }
    for (i, h) in host_ends.iter().enumerate() {
        let host_side = iface(ns(&s, host_inode()), h);
        assert_eq!(host_side.peer, at(inode[4 + i], 2, "eth0"));
        let e = iface(ns(&s, inode[4 + i]), "eth0");
        assert_eq!(e.peer, link_ref(host_inode(), host_side));
    }
    for n in &names {
        assert_matches_ip(&s, Some(n), &["eth0"]);
    }
    // The CLI answers `peers eth0` for each, with the true peer.
    let out = nsmap()
        .args(["peers", "eth0", "--json"])
        .output()
        .expect("run nsmap");
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    for (x, y) in [(0, 1), (2, 3)] {
        let row = rows
            .iter()
            .find(|r| r["interface"]["netns"] == inode[x])
            .unwrap_or_else(|| panic!("peers lists eth0 of {}", names[x]));
        assert_eq!(row["peer"]["netns"], inode[y]);
        assert_eq!(row["peer_netns_name"], names[y].as_str());
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn bridges_in_host_and_in_a_namespace_list_their_ports() {
    let mut t = Topology::new("bridges");
    let a = t.netns("a");
    let b = t.netns("b");
    let br = t.name("br");
    t.host_link(&br);
    ip(&["link", "add", &br, "type", "bridge"]);
    let port = t.name("p0");
    t.host_link(&port);
    ip(&[
        "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &a,
    ]);
    ip(&["link", "set", &port, "master", &br]);
    ip(&["link", "set", &br, "up"]);
    ip(&["link", "set", &port, "up"]);
    ip(&["-n", &a, "link", "set", "eth0", "up"]);
    ip(&["-n", &b, "link", "add", "br-in", "type", "bridge"]);
    ip(&[
        "-n", &b, "link", "add", "port1", "type", "veth", "peer", "name", "port2",
    ]);
    ip(&["-n", &b, "link", "set", "port1", "master", "br-in"]);
    ip(&["-n", &b, "link", "set", "port2", "master", "br-in"]);

    let s = snapshot();
    let host = ns(&s, host_inode());
    let bridge = iface(host, &br);
    let p = iface(host, &port);
    assert_eq!(p.master, link_ref(host.inode, bridge));
    assert_eq!(p.slave_kind.as_deref(), Some("bridge"));
    assert_eq!(
        p.port_state.as_deref(),
        Some("forwarding"),
        "STP off, carrier up"
    );
    let nb = ns(&s, netns_inode(&b));
    let inner = iface(nb, "br-in");
    for port in ["port1", "port2"] {
        assert_eq!(iface(nb, port).master, link_ref(nb.inode, inner));
        assert_eq!(
            iface(nb, port).port_state.as_deref(),
            Some("disabled"),
            "down ports are disabled"
        );
    }
    assert_matches_ip(&s, None, &[&br, &port]);
    assert_matches_ip(&s, Some(&b), &["br-in", "port1", "port2"]);

    let rows = nsmap::query::bridges(&s, Some(&Name::from(br.as_str())), &Default::default());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].ports.len(), 1);
    assert_eq!(
        rows[0].ports[0].peer_netns_name.as_deref(),
        Some(a.as_str())
    );
    let out = nsmap()
        .args(["bridges", &br])
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("── eth0 @ {a}")), "{text}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn macvlan_and_vxlan_lower_devices_in_another_namespace() {
    let mut t = Topology::new("lower_links");
    let under = t.netns("under");
    let over = t.netns("over");
    ip(&["-n", &under, "link", "add", "uplink", "type", "bridge"]);
    ip(&[
        "-n", &under, "link", "add", "mv0", "link", "uplink", "type", "macvlan", "mode", "bridge",
    ]);
    ip(&["-n", &under, "link", "set", "mv0", "netns", &over]);
    ip(&[
        "-n", &under, "link", "add", "vx0", "type", "vxlan", "id", "42", "dstport", "4789", "dev",
        "uplink",
    ]);
    ip(&["-n", &under, "link", "set", "vx0", "netns", &over]);

    let s = snapshot();
    let nu = ns(&s, netns_inode(&under));
    let no = ns(&s, netns_inode(&over));
    let uplink = iface(nu, "uplink");
    assert_eq!(iface(no, "mv0").link, link_ref(nu.inode, uplink));
    assert_eq!(iface(no, "mv0").peer, None);
    assert_eq!(iface(no, "vx0").link, link_ref(nu.inode, uplink));
    assert_matches_ip(&s, Some(&over), &["mv0", "vx0"]);
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn hostile_names_are_exact_in_json_and_escaped_on_the_terminal() {
    let mut t = Topology::new("hostile_names");
    let evil_ns = format!("{}-\x1b[31mred", t.prefix);
    t.own_netns(evil_ns.as_bytes());
    ip(&["netns", "add", &evil_ns]);
    let evil = b"\x1b[31mx\x07";
    let bad: &[u8] = b"bad\xff";
    ip_bytes(&[
        b"-n",
        evil_ns.as_bytes(),
        b"link",
        b"add",
        evil,
        b"type",
        b"veth",
        b"peer",
        b"name",
        bad,
    ]);

    let s = snapshot();
    let n = ns(&s, inode_of(format!("/run/netns/{evil_ns}")));
    let e = n
        .interfaces
        .iter()
        .find(|i| i.ifname == Name::from_bytes(evil))
        .expect("escape-sequence name");
    let b = n
        .interfaces
        .iter()
        .find(|i| i.ifname == Name::from_bytes(bad))
        .expect("non-UTF-8 name");
    assert_eq!(b.ifname.as_str(), "bad\\xff");
    assert_eq!(e.ifname.to_bytes(), evil);
    assert_eq!(e.peer, link_ref(n.inode, b));
    assert_eq!(n.names, vec![Name::from(evil_ns.as_str())]);

    for args in [
        &["links"][..],
        &["ns"],
        &["peers", "bad\\xff"],
        &["snapshot"],
        &["links", "--json"],
    ] {
        let out = nsmap()
            .args(args)
            .arg("--color=never")
            .output()
            .expect("run nsmap");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.stdout.contains(&0x1b) && !out.stdout.contains(&0x07),
            "{args:?} printed a raw control byte"
        );
        assert!(
            std::str::from_utf8(&out.stdout).is_ok(),
            "{args:?} output is UTF-8"
        );
    }
    // `peers` takes the kernel's bytes too.
    let out = nsmap()
        .arg("peers")
        .arg(std::ffi::OsStr::from_bytes(bad))
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\\x1b[31mx\\x07"), "{text}");
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn stale_and_bogus_run_netns_entries_are_warnings() {
    let mut t = Topology::new("stale_entries");
    std::fs::create_dir_all("/run/netns").expect("mkdir /run/netns");
    let file = t.path(format!("/run/netns/{}", t.name("stale")));
    std::fs::write(&file, b"").expect("stale file");
    let dir = t.path(format!("/run/netns/{}", t.name("dir")));
    std::fs::create_dir(&dir).expect("dir");
    let link = t.path(format!("/run/netns/{}", t.name("link")));
    std::os::unix::fs::symlink("/proc/self/ns/net", &link).expect("symlink");
    let uts = format!("/run/netns/{}", t.name("uts"));
    t.bind_mount(Path::new("/proc/self/ns/uts"), Path::new(&uts));
    // Regression: a FIFO without a writer blocked a plain open forever.
    let fifo = t.path(format!("/run/netns/{}", t.name("fifo")));
    common::run("mkfifo", &[fifo.as_os_str()]);

    let s = snapshot();
    for (path, what) in [
        (&file, "an empty file"),
        (&dir, "a directory"),
        (&link, "a symbolic link"),
    ] {
        let path = path.to_string_lossy();
        let w = s
            .warnings
            .iter()
            .find(|w| w.message.starts_with(&format!("{path} is")))
            .unwrap_or_else(|| panic!("no warning for {path}: {:?}", s.warnings));
        assert_eq!(w.code, WarningCode::StaleNetnsEntry);
        assert!(w.message.contains(what), "{}", w.message);
        assert_eq!(w.path.as_ref().map(Name::as_str), Some(path.as_ref()));
        assert!(
            !w.message.contains("rm -r"),
            "never advise a recursive delete: {}",
            w.message
        );
    }
    assert!(s.warnings.iter().any(|w| {
        w.message
            .starts_with(&format!("{uts} is a mount of a uts namespace"))
    }));
    // The symlink to our own namespace was not followed: no namespace got its name.
    assert!(
        s.namespaces
            .iter()
            .all(|n| !n.names.iter().any(|x| x.as_str().starts_with(&t.prefix)))
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn namespace_vanishing_during_the_scan_is_a_warning() {
    let mut t = Topology::new("vanishing");
    let pid = t.process_netns();
    let gone = inode_of(format!("/proc/{pid}/ns/net"));
    let name = t.netns("gone");
    let gone_named = netns_inode(&name);
    let host_end = t.name("h");
    t.host_link(&host_end);
    ip(&[
        "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", &name,
    ]);
    let stays = t.netns("stays");

    let mut hook = || {
        // After /proc was walked, before namespaces are opened.
        t.kill(pid);
        ip(&["netns", "del", &name]);
    };
    let raw = scan_with_hook(&ScanOptions::default(), &mut hook).expect("scan still succeeds");
    let s = resolve(&raw);
    for inode in [gone, gone_named] {
        assert!(
            s.namespaces.iter().all(|n| n.inode != inode),
            "vanished namespace listed"
        );
        assert!(
            s.warnings
                .iter()
                .any(|w| w.code == WarningCode::Vanished && w.netns == Some(inode)),
            "no vanished warning for {inode}: {:?}",
            s.warnings
        );
    }
    assert!(ns(&s, netns_inode(&stays)).scanned);
    // The host end may still exist for a moment (the kernel tears the pair
    // down asynchronously); if it is listed, its peer is never a wrong one.
    if let Some(h) = ns(&s, host_inode())
        .interfaces
        .iter()
        .find(|i| i.ifname == Name::from(host_end.as_str()))
    {
        assert!(
            h.peer
                .as_ref()
                .is_none_or(|p| p.netns.is_none() || p.netns == Some(gone_named)),
            "{:?}",
            h.peer
        );
    }
}

/// `nsmap ns --json` run through `wrapper` (setpriv, prlimit …), which must
/// succeed: every namespace listed, nsmap's own, and its stderr.
fn ns_json_through(wrapper: &[&str]) -> (Vec<Value>, Value, String) {
    let out = std::process::Command::new(wrapper[0])
        .args(&wrapper[1..])
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_nsmap"))
        .args(["ns", "--json"])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", wrapper[0]));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let namespaces: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let own = namespaces
        .iter()
        .find(|n| n["current"] == true)
        .expect("own namespace listed")
        .clone();
    (namespaces, own, stderr)
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn unprivileged_run_shows_own_namespace_and_one_notice() {
    let (_, own, stderr) = ns_json_through(&[
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
    ]);
    assert_eq!(own["inode"], host_inode());
    assert_eq!(own["scanned"], true);
    assert!(own["interfaces"].as_array().is_some_and(|i| !i.is_empty()));
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one notice: {stderr}");
    assert!(
        lines[0].contains("not running as root") && lines[0].contains("run as root"),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_low_fd_limit_scans_what_fits_and_says_why() {
    // A scan holds one file per namespace. Under a limit too low for all
    // of them, the ones that fit are scanned, the rest listed unscanned,
    // and one warning says why — never "stale entry, remove it", never
    // "vanished". (Other tests may run meanwhile: only our namespaces are
    // asserted on.)
    let mut t = Topology::new("low_fd_limit");
    let names: Vec<String> = (0..48).map(|i| t.netns(&i.to_string())).collect();
    let (namespaces, own, stderr) = ns_json_through(&["prlimit", "--nofile=100:100"]);
    assert_eq!(own["scanned"], true);
    let ours: Vec<&Value> = names
        .iter()
        .map(|name| {
            namespaces
                .iter()
                .find(|n| {
                    n["names"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == name.as_str()))
                })
                .unwrap_or_else(|| panic!("{name} listed: {stderr}"))
        })
        .collect();
    let (scanned, unscanned): (Vec<&Value>, Vec<&Value>) =
        ours.iter().partition(|n| n["scanned"] == true);
    // 100 fds less the 64 kept free hold some of the 48, never all.
    assert!(!scanned.is_empty() && !unscanned.is_empty(), "{stderr}");
    for n in &scanned {
        let ifnames: Vec<&Value> = n["interfaces"]
            .as_array()
            .map(|a| a.iter().map(|i| &i["ifname"]).collect())
            .unwrap_or_default();
        assert_eq!(ifnames, vec!["lo"], "{n}");
    }
    let fd_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cannot open") && l.contains("out of file descriptors"))
        .collect();
    assert_eq!(fd_lines.len(), 1, "one warning for all of them: {stderr}");
    let count: usize = fd_lines[0]
        .strip_prefix("nsmap: warning: cannot open ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {}", fd_lines[0]));
    assert!(count >= unscanned.len(), "{stderr}");
    assert!(
        fd_lines[0].ends_with(
            "network namespace(s): out of file descriptors (limit 100), so they are listed without interfaces; a scan holds about one per namespace: raise the limit (`ulimit -n`, or LimitNOFILE= for a service) and rescan"
        ),
        "{stderr}"
    );
    for (name, n) in names.iter().zip(&ours) {
        let stale = format!("/run/netns/{name} ");
        let vanished = format!("net:[{}] vanished", n["inode"]);
        assert!(
            !stderr
                .lines()
                .any(|l| l.contains(&stale) || l.contains(&vanished)),
            "{name}: {stderr}"
        );
    }
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn newlines_and_escapes_in_process_names_and_mount_paths() {
    // Interface names cannot hold a newline; process names and paths can.
    let mut t = Topology::new("hostile_host");
    // comm is the executable's file name: give sleep a hostile one.
    let exe_dir = t.path(std::env::temp_dir().join(t.name("bin")));
    std::fs::create_dir(&exe_dir).expect("mkdir");
    let exe = t.path(exe_dir.join("ev\nil\x1b[2J"));
    std::fs::copy("/bin/sleep", &exe).expect("copy sleep");
    let pid = t.spawn(&["unshare", "--net", exe.to_str().expect("UTF-8 path"), "600"]);
    common::wait_for(|| {
        std::fs::read(format!("/proc/{pid}/comm")).is_ok_and(|c| c.starts_with(b"ev\n"))
    });
    let inode = inode_of(format!("/proc/{pid}/ns/net"));
    let dir = t.path(std::env::temp_dir().join(t.name("dir\nx\x1b[1m")));
    std::fs::create_dir(&dir).expect("mkdir with a newline");
    let target = dir.join("ns\tfile");
    t.bind_mount(Path::new(&format!("/proc/{pid}/ns/net")), &target);

    let s = snapshot();
    let n = ns(&s, inode);
    assert_eq!(
        n.process.as_ref().map(|p| p.comm.to_bytes()),
        Some(b"ev\nil\x1b[2J".to_vec())
    );
    assert_eq!(
        n.mounts,
        vec![Name::from_bytes(target.as_os_str().as_bytes())]
    );
    for args in [
        &["ns"][..],
        &["links", "--ns", &format!("pid:{pid}")],
        &["ns", "--json"],
    ] {
        let out = nsmap().args(args).output().expect("run nsmap");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("UTF-8");
        let line = text
            .lines()
            .find(|l| l.contains(&inode.to_string()) || l.contains("ev\\"))
            .unwrap_or("");
        assert!(
            !text.contains('\x1b') && !text.contains('\t'),
            "{args:?}: raw control characters"
        );
        if args == ["ns"] {
            assert!(line.contains("ev\\x0ail\\x1b[2J"), "{line}");
            assert!(line.contains("ns\\x09file"), "{line}");
        }
    }
}
