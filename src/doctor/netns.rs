//! Checks of whole namespaces: loopback, addressing, what holds them, and
//! stale `/run/netns` entries.
//!
//! Namespaces nsmap could not dump (`scanned: false`) are skipped by every
//! check that looks at interfaces: their empty list means "not seen".

use super::fix::{self, quote};
use super::ipv4::has_configured_address;
use super::{Code, End, Finding, is_loopback};
use crate::name::Name;
use crate::snapshot::{Interface, Namespace, Snapshot, WarningCode};

/// At most this many interface names in a message, then "and N more".
const MAX_NAMED: usize = 3;

fn name_list(ifaces: &[&Interface]) -> String {
    let mut names: Vec<&str> = ifaces
        .iter()
        .take(MAX_NAMED)
        .map(|i| i.ifname.as_str())
        .collect();
    let more = ifaces.len().saturating_sub(MAX_NAMED);
    let more = format!("and {more} more");
    if ifaces.len() > MAX_NAMED {
        names.push(&more);
    }
    names.join(", ")
}

/// NSM012: `lo` is down while other interfaces are up, so 127.0.0.1 and
/// ::1 do not answer there and services bound to localhost are unreachable
/// (`ip netns add` creates namespaces this way).
pub fn loopback_down(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in snapshot.namespaces.iter().filter(|n| n.scanned) {
        let Some(lo) = ns.interfaces.iter().find(|i| is_loopback(i)) else {
            continue;
        };
        let up: Vec<&Interface> = ns
            .interfaces
            .iter()
            .filter(|i| !is_loopback(i) && i.is_up())
            .collect();
        if lo.is_up() || up.is_empty() {
            continue;
        }
        let end = End { ns, iface: lo };
        out.push(Finding::new(
            Code::LoopbackDown,
            Some(ns.inode),
            vec![end.link_ref()],
            format!(
                "{} is down while {} {} up: 127.0.0.1 and ::1 do not answer in {}",
                end.describe(),
                name_list(&up),
                if up.len() == 1 { "is" } else { "are" },
                ns.label()
            ),
            fix::ip(ns, &format!("link set dev {} up", quote(&lo.ifname))),
        ));
    }
    out
}

/// NSM013: interfaces up, but no address on any interface of the
/// namespace, so nothing can reach it by IP. Counted as "up": admin up,
/// not loopback, not a bridge port and not a bridge (an L2-only namespace
/// that only switches frames needs no address). IPv6 link-local addresses
/// do not count as an address: the kernel adds one to every interface.
pub fn no_addresses(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in snapshot.namespaces.iter().filter(|n| n.scanned) {
        let up: Vec<&Interface> = ns
            .interfaces
            .iter()
            .filter(|i| i.is_up() && !is_loopback(i) && i.master.is_none() && !i.kind_is("bridge"))
            .collect();
        let addressed = ns
            .interfaces
            .iter()
            .any(|i| !is_loopback(i) && has_configured_address(i));
        let Some(first) = up.first() else { continue };
        if addressed {
            continue;
        }
        out.push(Finding::new(
            Code::NoAddresses,
            Some(ns.inode),
            up.iter().map(|i| End { ns, iface: i }.link_ref()).collect(),
            format!(
                "{} has {} up but no IP address on any interface (IPv6 link-local aside): nothing reaches it by IP",
                ns.label(),
                name_list(&up)
            ),
            fix::ip(
                ns,
                &format!("addr add <ADDR>/<PREFIX> dev {}", quote(&first.ifname)),
            ),
        ));
    }
    out
}

/// What nsmap found at a stale entry, from the warning's wording
/// ("PATH is WHAT, not a network namespace mount …"); the path itself comes
/// from the warning's `path` field, never from the text.
fn stale_kind<'a>(message: &'a str, path: &str) -> Option<&'a str> {
    let what = message.strip_prefix(path)?.strip_prefix(" is ")?;
    Some(
        what.split_once(", not a network namespace mount")
            .map_or(what, |(w, _)| w),
    )
}

/// NSM016: an entry of /run/netns that is not a namespace mount (left by a
/// crashed `ip netns delete`, or made by hand): `ip netns` lists a name
/// that leads nowhere. Taken from the snapshot's warnings.
pub fn stale_entries(snapshot: &Snapshot) -> Vec<Finding> {
    snapshot
        .warnings
        .iter()
        .filter(|w| w.code == WarningCode::StaleNetnsEntry)
        .map(|w| {
            let Some((path, what)) = w
                .path
                .as_ref()
                .and_then(|p| Some((p, stale_kind(&w.message, p.as_str())?)))
            else {
                return Finding::new(Code::StaleNetnsEntry, w.netns, Vec::new(), &w.message, None);
            };
            let hint = fix::remove_stale(path, what);
            let path = path.as_str();
            Finding::new(
                Code::StaleNetnsEntry,
                w.netns,
                Vec::new(),
                format!("{path} is {what}, not a network namespace mount: `ip netns` lists a name that leads nowhere"),
                Some(hint),
            )
        })
        .collect()
}

/// NSM017: a namespace that only a bind mount keeps alive: no process,
/// thread or open file uses it. Normal right after `ip netns add`; a
/// forgotten one still pins its interfaces (and the veth peers outside).
pub fn only_mounted(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    // Without root, other users' processes are invisible: "no process uses
    // it" would be a guess, and its hint deletes the namespace.
    if !snapshot.scan.privileged {
        return out;
    }
    for ns in &snapshot.namespaces {
        let unused = ns.pids.is_empty() && ns.threads.is_empty() && ns.holders.is_empty();
        if !unused || ns.mounts.is_empty() || ns.host || ns.current {
            continue;
        }
        let mounts: Vec<&str> = ns.mounts.iter().map(Name::as_str).collect();
        let hint = match ns.names.first() {
            Some(name) => format!("ip netns del {}", quote(name)),
            None => ns
                .mounts
                .iter()
                .map(|m| format!("umount {}", quote(m)))
                .collect::<Vec<_>>()
                .join(" && "),
        };
        out.push(Finding::new(
            Code::NetnsOnlyMounted,
            Some(ns.inode),
            Vec::new(),
            format!(
                "{} is held only by a bind mount ({}): no process uses it; delete it if nothing will",
                ns.label(),
                mounts.join(", ")
            ),
            Some(hint),
        ));
    }
    out
}

/// NSM018: a namespace whose only interface is `lo`: it reaches nothing
/// outside itself. The hint wires a veth into it from nsmap's namespace.
pub fn only_loopback(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in snapshot.namespaces.iter().filter(|n| n.scanned) {
        if ns.interfaces.is_empty() || !ns.interfaces.iter().all(is_loopback) {
            continue;
        }
        out.push(Finding::new(
            Code::NetnsOnlyLoopback,
            Some(ns.inode),
            ns.interfaces
                .iter()
                .map(|i| End { ns, iface: i }.link_ref())
                .collect(),
            format!("{} has only lo: it is connected to nothing", ns.label()),
            veth_into(ns),
        ));
    }
    out
}

/// `ip link add <IFNAME> type veth peer name eth0 netns X`, where `ip`
/// can name X (an ip-netns name or a pid).
fn veth_into(ns: &Namespace) -> Option<String> {
    if ns.current {
        return None;
    }
    let target = match (ns.names.first(), ns.pids.first()) {
        (Some(name), _) => quote(name),
        (None, Some(pid)) => pid.to_string(),
        (None, None) => return None,
    };
    Some(format!(
        "ip link add <IFNAME> type veth peer name eth0 netns {target}"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::snapshot::{Holder, ProcessSummary, Warning};

    const H: u64 = 4026531833;
    const A: u64 = 4026532001;
    const B: u64 = 4026532002;

    #[test]
    fn lo_down_with_other_interfaces_up() {
        let s = snapshot(vec![named(
            A,
            "a",
            vec![
                lo_down(),
                veth(2, "eth0", (B, 2, "eth0")).addr("10.0.0.1/24"),
            ],
        )]);
        let found = loopback_down(&s);
        assert_eq!(codes(&found), ["NSM012"]);
        assert_eq!(
            found[0].message,
            "lo@a is down while eth0 is up: 127.0.0.1 and ::1 do not answer in a"
        );
        assert_eq!(found[0].hint.as_deref(), Some("ip -n a link set dev lo up"));
    }

    #[test]
    fn lo_down_in_an_idle_namespace_is_fine() {
        // A fresh `ip netns add`: lo down, nothing else up.
        let s = snapshot(vec![named(
            A,
            "a",
            vec![lo_down(), veth(2, "eth0", (B, 2, "eth0")).down()],
        )]);
        assert!(loopback_down(&s).is_empty());
    }

    #[test]
    fn many_up_interfaces_are_abbreviated() {
        let ifaces: Vec<Interface> = std::iter::once(lo_down())
            .chain((2..7).map(|i| iface(i, &format!("e{i}"), None)))
            .collect();
        let s = snapshot(vec![named(A, "a", ifaces)]);
        assert!(
            loopback_down(&s)[0]
                .message
                .contains("while e2, e3, e4, and 2 more are up")
        );
    }

    #[test]
    fn no_addresses_ignores_link_local_and_skips_l2_namespaces() {
        let s = snapshot(vec![named(
            A,
            "a",
            vec![lo(), veth(2, "eth0", (B, 2, "eth0")).addr("fe80::1/64")],
        )]);
        let found = no_addresses(&s);
        assert_eq!(codes(&found), ["NSM013"]);
        assert_eq!(
            found[0].message,
            "a has eth0 up but no IP address on any interface (IPv6 link-local aside): nothing reaches it by IP"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n a addr add <ADDR>/<PREFIX> dev eth0")
        );
        // A switch namespace: a bridge and its ports, no addresses needed.
        let s = snapshot(vec![named(
            A,
            "a",
            vec![
                lo(),
                bridge(2, "br0"),
                veth(3, "p1", (B, 2, "eth0")).port_of(A, 2, "br0", "forwarding"),
            ],
        )]);
        assert!(no_addresses(&s).is_empty());
        // An address anywhere (here on a bridge) is enough.
        let s = snapshot(vec![named(
            A,
            "a",
            vec![
                lo(),
                bridge(2, "br0").addr("10.0.0.1/24"),
                iface(3, "tap0", Some("tun")),
            ],
        )]);
        assert!(no_addresses(&s).is_empty());
    }

    #[test]
    fn unscanned_namespaces_never_lack_addresses() {
        let mut ns = named(A, "a", vec![lo(), iface(2, "eth0", None)]);
        ns.scanned = false;
        ns.interfaces.clear();
        let s = snapshot(vec![ns]);
        assert!(no_addresses(&s).is_empty());
        assert!(only_loopback(&s).is_empty());
        assert!(loopback_down(&s).is_empty());
    }

    #[test]
    fn stale_entries_come_from_the_scan_warnings() {
        let warn = |path: &str, what: &str| {
            Warning::new(
                None,
                WarningCode::StaleNetnsEntry,
                format!(
                    "{path} is {what}, not a network namespace mount (left by an unclean `ip netns delete`?); remove it with `…`"
                ),
            )
            .with_path(Name::from(path))
        };
        let mut s = snapshot(vec![host(H, vec![lo()])]);
        s.warnings = vec![
            warn("/run/netns/old", "an empty file"),
            warn("/run/netns/d is odd", "a directory"),
            warn("/run/netns/u", "a mount of a uts namespace"),
            warn("/run/netns/$(x)", "a symbolic link (not followed)"),
            Warning::new(None, WarningCode::Other, "unrelated"),
        ];
        let found = stale_entries(&s);
        let hints: Vec<&str> = found.iter().filter_map(|f| f.hint.as_deref()).collect();
        assert_eq!(
            hints,
            [
                "rm /run/netns/old",
                "rmdir '/run/netns/d is odd'",
                "umount /run/netns/u && rm /run/netns/u",
                "rm '/run/netns/$(x)'",
            ]
        );
        assert_eq!(
            found[0].message,
            "/run/netns/old is an empty file, not a network namespace mount: `ip netns` lists a name that leads nowhere"
        );
        assert!(
            found
                .iter()
                .all(|f| f.netns.is_none() && f.interfaces.is_empty())
        );
    }

    #[test]
    fn stale_warning_in_an_unknown_wording_is_kept_verbatim() {
        let mut s = snapshot(Vec::new());
        s.warnings = vec![Warning::new(
            None,
            WarningCode::StaleNetnsEntry,
            "odd entry",
        )];
        let found = stale_entries(&s);
        assert_eq!(found[0].message, "odd entry");
        assert_eq!(found[0].hint, None);
    }

    #[test]
    fn namespaces_held_only_by_a_mount() {
        let mut pinned = Namespace {
            inode: B,
            mounts: vec![Name::from("/tmp/pin")],
            scanned: true,
            interfaces: vec![lo()],
            ..Namespace::default()
        };
        let s = snapshot(vec![
            named(A, "a", vec![lo()]),
            pinned.clone(),
            host(H, vec![lo()]),
        ]);
        let found = only_mounted(&s);
        let hints: Vec<&str> = found.iter().filter_map(|f| f.hint.as_deref()).collect();
        assert_eq!(hints, ["ip netns del a", "umount /tmp/pin"]);
        assert_eq!(
            found[0].message,
            "a is held only by a bind mount (/run/netns/a): no process uses it; delete it if nothing will"
        );
        // A holder's fd or a process keeps it in use.
        pinned.holders = vec![Holder { pid: 4, fd: 5 }];
        let mut a = named(A, "a", vec![lo()]);
        a.pids = vec![77];
        let s = snapshot(vec![a, pinned]);
        assert!(only_mounted(&s).is_empty());
    }

    #[test]
    fn only_lo_namespaces() {
        let mut pod = Namespace {
            inode: B,
            pids: vec![42],
            process: Some(ProcessSummary {
                pid: 42,
                comm: Name::from("sleep"),
            }),
            scanned: true,
            interfaces: vec![lo_down()],
            ..Namespace::default()
        };
        let s = snapshot(vec![
            named(A, "a", vec![lo()]),
            pod.clone(),
            host(H, vec![lo(), iface(2, "eth0", None)]),
        ]);
        let found = only_loopback(&s);
        assert_eq!(codes(&found), ["NSM018", "NSM018"]);
        assert_eq!(
            found[0].message,
            "a has only lo: it is connected to nothing"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip link add <IFNAME> type veth peer name eth0 netns a")
        );
        assert_eq!(
            found[1].message,
            "sleep(42) has only lo: it is connected to nothing"
        );
        assert_eq!(
            found[1].hint.as_deref(),
            Some("ip link add <IFNAME> type veth peer name eth0 netns 42")
        );
        pod.pids.clear();
        pod.holders = vec![Holder { pid: 3, fd: 4 }];
        let s = snapshot(vec![pod]);
        assert_eq!(only_loopback(&s)[0].hint, None);
    }
}
