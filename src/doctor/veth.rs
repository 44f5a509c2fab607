//! Checks of veth pairs (and the other pair devices, vxcan and netkit):
//! does each end have a peer that points back, are both ends up, do they
//! agree on MTU and IPv4 subnet.
//!
//! Pair checks run once per pair ([`veth_pairs`]), never once per end, and
//! only on pairs whose both ends nsmap saw: an end in a namespace nsmap
//! could not dump is not evidence of anything.

use super::fix::{self, quote};
use super::ipv4::{Ipv4Net, ipv4};
use super::{Code, End, Finding, veth_pairs};
use crate::snapshot::{Index, Interface};

/// Kinds whose `peer` is the other end of a pair.
const PAIR_KINDS: &[&str] = &["veth", "vxcan", "netkit"];

fn is_pair(iface: &Interface) -> bool {
    iface
        .kind
        .as_deref()
        .is_some_and(|k| PAIR_KINDS.contains(&k))
}

/// NSM001: a veth the kernel reports without a peer (`IFLA_LINK` 0): the
/// pair is being torn down, or the device is broken. Nothing passes it.
pub fn peer_missing(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in &index.snapshot.namespaces {
        for iface in ns.interfaces.iter().filter(|i| is_pair(i)) {
            if iface.peer.is_some() {
                continue;
            }
            let end = End { ns, iface };
            out.push(Finding::new(
                Code::VethPeerMissing,
                Some(ns.inode),
                vec![end.link_ref()],
                format!(
                    "{} is a {} without a peer: the pair is being deleted or broken, nothing passes it",
                    end.describe(),
                    iface.kind.as_deref().unwrap_or("veth")
                ),
                fix::ip(ns, &format!("link del dev {}", quote(&iface.ifname))),
            ));
        }
    }
    out
}

/// NSM002: a veth whose peer nsmap cannot find: in a namespace it could not
/// open although it ran as root (held only by a socket, or gone during the
/// scan), or at an ifindex the peer's namespace does not have. Skipped for
/// unprivileged scans and unscanned namespaces: there nsmap simply could
/// not look, which `nsmap` already says on stderr.
pub fn peer_unresolved(index: &Index<'_>) -> Vec<Finding> {
    let privileged = index.snapshot.scan.privileged;
    let mut out = Vec::new();
    for ns in &index.snapshot.namespaces {
        for iface in ns.interfaces.iter().filter(|i| is_pair(i)) {
            let Some(peer) = &iface.peer else { continue };
            let end = End { ns, iface };
            let why = match peer.netns.map(|n| (n, index.namespace(n))) {
                None if privileged => format!(
                    "its peer (ifindex {}) is in a namespace nsmap could not open even as root: one held only by a socket, or one that vanished during the scan",
                    peer.ifindex
                ),
                Some((inode, None)) if privileged => format!(
                    "its peer (ifindex {} in net:[{inode}]) is in a namespace nsmap did not find",
                    peer.ifindex
                ),
                Some((_, Some(pns))) if pns.scanned && pns.interface(peer.ifindex).is_none() => {
                    format!(
                        "its peer is ifindex {} in {}, which has no such interface (it changed during the scan?)",
                        peer.ifindex,
                        pns.label()
                    )
                }
                _ => continue,
            };
            out.push(Finding::new(
                Code::VethPeerUnresolved,
                Some(ns.inode),
                vec![end.link_ref(), peer.clone()],
                format!("{}: {why}; rerun nsmap doctor", end.describe()),
                None,
            ));
        }
    }
    out
}

/// NSM003: A's peer is B but B's peer is not A. The kernel keeps pairs
/// symmetric, so this means the pair changed between the two dumps.
pub fn peer_asymmetric(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in &index.snapshot.namespaces {
        for iface in ns.interfaces.iter().filter(|i| is_pair(i)) {
            let Some(peer) = &iface.peer else { continue };
            let Some((pns, piface)) = index.resolve(peer) else {
                continue;
            };
            let back = piface.peer.as_ref();
            if back.is_some_and(|b| b.netns == Some(ns.inode) && b.ifindex == iface.ifindex) {
                continue;
            }
            let end = End { ns, iface };
            let other = End {
                ns: pns,
                iface: piface,
            };
            out.push(Finding::new(
                Code::VethPeerAsymmetric,
                Some(ns.inode),
                vec![end.link_ref(), other.link_ref()],
                format!(
                    "{}'s peer is {}, but that one's peer is {}: the pair changed during the scan? rerun nsmap doctor",
                    end.describe(),
                    other.describe(),
                    back.map_or_else(|| "none".to_string(), |b| index.describe(b))
                ),
                None,
            ));
        }
    }
    out
}

/// NSM004: one end administratively up, the other down — the classic
/// "container has no network". Both ends down is a pair someone switched
/// off on purpose and is not reported.
pub fn one_end_down(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (a, b) in veth_pairs(index) {
        let (down, up) = match (a.iface.is_up(), b.iface.is_up()) {
            (true, false) => (b, a),
            (false, true) => (a, b),
            _ => continue,
        };
        out.push(Finding::new(
            Code::VethOneEndDown,
            Some(down.ns.inode),
            vec![down.link_ref(), up.link_ref()],
            format!(
                "{} is down while its veth peer {} is up: no traffic passes this pair",
                down.describe(),
                up.describe()
            ),
            fix::ip(
                down.ns,
                &format!("link set dev {} up", quote(&down.iface.ifname)),
            ),
        ));
    }
    out
}

/// NSM005: the ends of a pair disagree on MTU. A veth drops what exceeds
/// the receiving end's MTU (`is_skb_forwardable` in net/core/dev.c), so
/// large packets from the bigger side vanish: pings work, transfers hang.
/// The hint lowers the bigger side, which is always safe — unless that is
/// a bridge port and the other end is not: then the bridge's segment sets
/// the MTU, and the hint raises the other end (the container side) to it,
/// instead of making the port disagree with its bridge (NSM006).
pub fn mtu_mismatch(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (a, b) in veth_pairs(index) {
        if a.iface.mtu == b.iface.mtu {
            continue;
        }
        let (big, small) = if a.iface.mtu > b.iface.mtu {
            (a, b)
        } else {
            (b, a)
        };
        let raise = big.iface.master.is_some() && small.iface.master.is_none();
        let (change, other, mtu) = if raise {
            (small, big, big.iface.mtu)
        } else {
            (big, small, small.iface.mtu)
        };
        out.push(Finding::new(
            Code::VethMtuMismatch,
            Some(change.ns.inode),
            vec![change.link_ref(), other.link_ref()],
            format!(
                "veth pair {} (mtu {}) and {} (mtu {}) disagree: packets over {} bytes sent from {} are dropped",
                big.describe(),
                big.iface.mtu,
                small.describe(),
                small.iface.mtu,
                small.iface.mtu,
                big.iface.ifname.as_str()
            ),
            fix::ip(
                change.ns,
                &format!("link set dev {} mtu {mtu}", quote(&change.iface.ifname)),
            ),
        ));
    }
    out
}

/// NSM014: both ends have IPv4 addresses but share no subnet, so neither
/// reaches the other without extra routes. `/32` addresses are left out:
/// they are routed setups (Calico-style host routes, `peer` addresses)
/// where subnets mean nothing. The hint readdresses the end that is not in
/// nsmap's own namespace (usually the container side).
pub fn subnet_mismatch(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (a, b) in veth_pairs(index) {
        let nets = |e: &End<'_>| -> Vec<Ipv4Net> {
            ipv4(e.iface)
                .into_iter()
                .filter(|n| n.prefix < 32)
                .collect()
        };
        let (na, nb) = (nets(&a), nets(&b));
        if na.is_empty() || nb.is_empty() {
            continue;
        }
        let shared = na
            .iter()
            .any(|x| nb.iter().any(|y| x.contains(y.addr) || y.contains(x.addr)));
        if shared {
            continue;
        }
        let (change, keep, keep_nets) = if b.ns.current && !a.ns.current {
            (a, b, &nb)
        } else {
            (b, a, &na)
        };
        let list = |e: &End<'_>| -> String {
            nets(e)
                .iter()
                .map(|n| format!("{}/{}", n.addr, n.prefix))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let target = keep_nets[0];
        out.push(Finding::new(
            Code::VethSubnetMismatch,
            Some(change.ns.inode),
            vec![change.link_ref(), keep.link_ref()],
            format!(
                "veth pair {} ({}) and {} ({}) share no IPv4 subnet: give {} an address in {}",
                change.describe(),
                list(&change),
                keep.describe(),
                list(&keep),
                change.iface.ifname.as_str(),
                target.subnet()
            ),
            fix::ip(
                change.ns,
                &format!(
                    "addr add <ADDR>/{} dev {}",
                    target.prefix,
                    quote(&change.iface.ifname)
                ),
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const A: u64 = 4026532001;
    const B: u64 = 4026532002;

    /// a/eth0 ↔ b/eth0, both up, with the given tweaks.
    fn pair(
        ta: impl Fn(Interface) -> Interface,
        tb: impl Fn(Interface) -> Interface,
    ) -> crate::Snapshot {
        snapshot(vec![
            named(A, "a", vec![lo(), ta(veth(2, "eth0", (B, 2, "eth0")))]),
            named(B, "b", vec![lo(), tb(veth(2, "eth0", (A, 2, "eth0")))]),
        ])
    }

    fn same(i: Interface) -> Interface {
        i
    }

    #[test]
    fn healthy_pair_has_no_findings() {
        let s = pair(|i| i.addr("10.0.0.1/24"), |i| i.addr("10.0.0.2/24"));
        let ix = s.index();
        assert!(peer_missing(&ix).is_empty());
        assert!(peer_unresolved(&ix).is_empty());
        assert!(peer_asymmetric(&ix).is_empty());
        assert!(one_end_down(&ix).is_empty());
        assert!(mtu_mismatch(&ix).is_empty());
        assert!(subnet_mismatch(&ix).is_empty());
    }

    #[test]
    fn veth_without_peer_is_an_error() {
        let mut orphan = veth(3, "dead0", (B, 9, "x"));
        orphan.peer = None;
        let mut not_veth = iface(4, "tap0", Some("tun"));
        not_veth.peer = None;
        let s = snapshot(vec![named(A, "a", vec![lo(), orphan, not_veth])]);
        let found = peer_missing(&s.index());
        assert_eq!(codes(&found), ["NSM001"]);
        assert_eq!(refs(&found[0]), [format!("dead0@{A}")]);
        assert_eq!(found[0].hint.as_deref(), Some("ip -n a link del dev dead0"));
    }

    #[test]
    fn unresolved_peer_only_where_nsmap_could_have_seen_it() {
        let mut hidden = veth(2, "eth0", (B, 7, "x"));
        hidden.peer = Some(crate::snapshot::LinkRef {
            netns: None,
            ifindex: 7,
            ifname: None,
        });
        let dangling = veth(3, "eth1", (B, 42, "gone"));
        let unscanned_peer = veth(4, "eth2", (4026532003, 2, "eth0"));
        let mut s = snapshot(vec![
            named(A, "a", vec![lo(), hidden, dangling, unscanned_peer]),
            named(B, "b", vec![lo()]),
            crate::snapshot::Namespace {
                scanned: false,
                interfaces: Vec::new(),
                ..named(4026532003, "c", Vec::new())
            },
        ]);
        let found = peer_unresolved(&s.index());
        let names: Vec<String> = found.iter().map(|f| refs(f)[0].clone()).collect();
        assert_eq!(names, [format!("eth0@{A}"), format!("eth1@{A}")]);
        assert!(found[0].message.contains("could not open even as root"));
        assert!(found[1].message.contains("has no such interface"));
        // Unprivileged: an unknown namespace is expected, not a finding.
        s.scan.privileged = false;
        let found = peer_unresolved(&s.index());
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("eth1@a"));
    }

    #[test]
    fn asymmetric_peer_is_reported_on_the_end_that_is_not_pointed_back_at() {
        let s = snapshot(vec![
            named(A, "a", vec![lo(), veth(2, "x", (B, 2, "y"))]),
            named(
                B,
                "b",
                vec![lo(), veth(2, "y", (B, 3, "z")), veth(3, "z", (B, 2, "y"))],
            ),
        ]);
        let found = peer_asymmetric(&s.index());
        assert_eq!(codes(&found), ["NSM003"]);
        assert_eq!(refs(&found[0]), [format!("x@{A}"), format!("y@{B}")]);
        assert!(found[0].message.contains("but that one's peer is z@b"));
    }

    #[test]
    fn one_end_down_names_the_down_end_and_fixes_it() {
        let s = pair(same, |i| i.down());
        let found = one_end_down(&s.index());
        assert_eq!(codes(&found), ["NSM004"]);
        assert_eq!(found[0].netns, Some(B));
        assert_eq!(refs(&found[0]), [format!("eth0@{B}"), format!("eth0@{A}")]);
        assert_eq!(
            found[0].message,
            "eth0@b is down while its veth peer eth0@a is up: no traffic passes this pair"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n b link set dev eth0 up")
        );
    }

    #[test]
    fn both_ends_down_is_not_one_end_down() {
        let s = pair(|i| i.down(), |i| i.down());
        assert!(one_end_down(&s.index()).is_empty());
    }

    #[test]
    fn up_without_carrier_counts_as_up() {
        // The host end of a pair whose container end is down: UP, NO-CARRIER.
        let s = pair(|i| i.no_carrier(), |i| i.down());
        let found = one_end_down(&s.index());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].netns, Some(B));
    }

    #[test]
    fn demo_reports_the_down_cache_wires() {
        let s = demo();
        let found = one_end_down(&s.index());
        let msgs: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "eth0@cache is down while its veth peer veth8d4c6f1a@host is up: no traffic passes this pair",
                "backend0@cache is down while its veth peer backend0@db is up: no traffic passes this pair",
            ]
        );
    }

    #[test]
    fn mtu_mismatch_lowers_the_bigger_end() {
        let s = pair(|i| i.mtu(9000), same);
        let found = mtu_mismatch(&s.index());
        assert_eq!(codes(&found), ["NSM005"]);
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n a link set dev eth0 mtu 1500")
        );
        assert!(
            found[0]
                .message
                .contains("over 1500 bytes sent from eth0 are dropped"),
            "{}",
            found[0].message
        );
        // The bigger end is a bridge port: the container end follows the bridge.
        let s = pair(|i| i.mtu(9000).port_of(A, 9, "br0", "forwarding"), same);
        let found = mtu_mismatch(&s.index());
        assert_eq!(found[0].netns, Some(B));
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n b link set dev eth0 mtu 9000")
        );
        // Down pairs still have the latent mismatch.
        let s = pair(|i| i.down(), |i| i.down().mtu(1400));
        assert_eq!(codes(&mtu_mismatch(&s.index())), ["NSM005"]);
    }

    #[test]
    fn subnet_mismatch_only_when_both_ends_have_ipv4() {
        let s = pair(|i| i.addr("10.1.0.1/24"), |i| i.addr("10.2.0.1/24"));
        let found = subnet_mismatch(&s.index());
        assert_eq!(codes(&found), ["NSM014"]);
        assert_eq!(
            found[0].message,
            "veth pair eth0@b (10.2.0.1/24) and eth0@a (10.1.0.1/24) share no IPv4 subnet: give eth0 an address in 10.1.0.0/24"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n b addr add <ADDR>/24 dev eth0")
        );
        // One side without IPv4 (IPv6 link-local only): nothing to compare.
        let s = pair(|i| i.addr("10.1.0.1/24"), |i| i.addr("fe80::1/64"));
        assert!(subnet_mismatch(&s.index()).is_empty());
        // Different prefix lengths, one subnet inside the other: reachable.
        let s = pair(|i| i.addr("10.1.0.1/16"), |i| i.addr("10.1.7.1/24"));
        assert!(subnet_mismatch(&s.index()).is_empty());
        // Any shared subnet among several addresses is enough.
        let s = pair(
            |i| i.addr("10.1.0.1/24").addr("192.168.5.1/24"),
            |i| i.addr("192.168.5.2/24"),
        );
        assert!(subnet_mismatch(&s.index()).is_empty());
        // /32 host routes are routed setups, not subnets.
        let s = pair(|i| i.addr("10.1.0.1/32"), |i| i.addr("169.254.1.1/32"));
        assert!(subnet_mismatch(&s.index()).is_empty());
    }

    #[test]
    fn subnet_hint_readdresses_the_container_side() {
        let s = snapshot(vec![
            host(
                A,
                vec![lo(), veth(9, "vh", (B, 2, "eth0")).addr("10.1.0.1/24")],
            ),
            named(
                B,
                "b",
                vec![lo(), veth(2, "eth0", (A, 9, "vh")).addr("10.2.0.1/24")],
            ),
        ]);
        let found = subnet_mismatch(&s.index());
        assert_eq!(found[0].netns, Some(B));
        let s = snapshot(vec![
            host(
                B,
                vec![lo(), veth(9, "vh", (A, 2, "eth0")).addr("10.1.0.1/24")],
            ),
            named(
                A,
                "a",
                vec![lo(), veth(2, "eth0", (B, 9, "vh")).addr("10.2.0.1/24")],
            ),
        ]);
        let found = subnet_mismatch(&s.index());
        assert_eq!(found[0].netns, Some(A));
    }
}
