//! Pure joining of a [`RawScan`] into a [`Snapshot`]: peers, masters and
//! lower links resolved across namespaces.
//!
//! The one rule: an ifindex means nothing without its namespace. A veth's
//! peer is `(IFLA_LINK_NETNSID → namespace, IFLA_LINK → ifindex)`, and an
//! nsid is relative to the namespace that reported it, so it is mapped to a
//! namespace inode only by an RTM_GETNSID answer asked in that namespace
//! ([`RawNamespace::nsids`]) or by mirroring such an answer across a veth
//! pair (the kernel keeps veth pairs symmetric). What cannot be proven is
//! reported with `netns: null` and a warning — never guessed.
//!
//! [`plan_nsid_queries`] decides which RTM_GETNSID questions the scanner
//! should ask: only for nsids that appear, only structurally plausible
//! candidates, from the side with the smaller nsid table (the kernel's
//! lookup is linear in the asker's table). A host with N containers costs
//! about N queries, not N².

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::name::Name;
use crate::raw::{RawLink, RawNamespace, RawScan};
use crate::snapshot::{
    Interface, LinkRef, Namespace, SCHEMA_VERSION, Snapshot, Warning, WarningCode, netns_label,
};

/// Pair devices: `IFLA_LINK` is the other end.
const PAIR_KINDS: &[&str] = &["veth", "vxcan", "netkit"];

/// Drivers with `ndo_get_iflink`: `IFLA_LINK` is their lower device, and may
/// legitimately equal their own ifindex when the lower device sits in
/// another namespace (then the kernel omits it, see nla_put_iflink).
const IFLINK_KINDS: &[&str] = &[
    "macvlan",
    "macvtap",
    "ipvlan",
    "ipvtap",
    "vlan",
    "macsec",
    "ipip",
    "gre",
    "gretap",
    "ip6gre",
    "ip6gretap",
    "sit",
    "ip6tnl",
    "vti",
    "vti6",
    "erspan",
    "ip6erspan",
    "xfrm",
];

fn is_pair(link: &RawLink) -> bool {
    link.kind
        .as_deref()
        .is_some_and(|k| PAIR_KINDS.contains(&k))
}

/// The ifindex (in the `link_netnsid` namespace, or this one) that `link`
/// points at: a pair's peer or a stacked device's lower device.
pub fn target_ifindex(link: &RawLink) -> Option<u32> {
    let kind = link.kind.as_deref().unwrap_or("");
    if kind == "vxlan" {
        // vxlan's IFLA_LINK is its own ifindex; the lower is IFLA_VXLAN_LINK.
        return link.vxlan_link.filter(|&i| i != 0);
    }
    match link.link {
        Some(0) => None, // e.g. a veth whose peer is being destroyed
        Some(i) if i != link.ifindex => Some(i),
        // Absent (or, on kernels that always send it, equal to ifindex):
        // meaningful only across namespaces, for drivers that have a link.
        _ => {
            let has_link = PAIR_KINDS.contains(&kind) || IFLINK_KINDS.contains(&kind);
            (has_link && link.link_netnsid.is_some()).then_some(link.ifindex)
        }
    }
}

/// nsid → namespace inode, per asking namespace.
#[derive(Debug, Default)]
pub struct NsidMap {
    map: HashMap<(u64, i32), u64>,
}

impl NsidMap {
    /// Builds the map from RTM_GETNSID answers, then mirrors each answer
    /// across the veth pairs it resolves.
    pub fn build(raw: &RawScan) -> NsidMap {
        let mut map = HashMap::new();
        for ns in &raw.namespaces {
            for answer in &ns.nsids {
                if let Some(nsid) = answer.nsid {
                    map.insert((ns.inode, nsid), answer.netns);
                }
            }
        }
        let mut nsids = NsidMap { map };
        nsids.mirror(raw);
        nsids
    }

    pub fn get(&self, asker: u64, nsid: i32) -> Option<u64> {
        self.map.get(&(asker, nsid)).copied()
    }

    /// If A's veth with nsid n points at B's veth whose peer (ifindex) is it
    /// again, B's nsid for A is that veth's `link_netnsid`. Repeated until
    /// nothing new is learnt (each round only adds entries, so it ends).
    fn mirror(&mut self, raw: &RawScan) {
        let by_inode: HashMap<u64, &RawNamespace> =
            raw.namespaces.iter().map(|n| (n.inode, n)).collect();
        let indexes: HashMap<u64, HashMap<u32, &RawLink>> = raw
            .namespaces
            .iter()
            .map(|n| (n.inode, n.links.iter().map(|l| (l.ifindex, l)).collect()))
            .collect();
        loop {
            let mut learnt = Vec::new();
            for ns in &raw.namespaces {
                for link in ns.links.iter().filter(|l| is_pair(l)) {
                    let Some(nsid) = link.link_netnsid else {
                        continue;
                    };
                    let Some(other) = self.get(ns.inode, nsid) else {
                        continue;
                    };
                    let Some(peer_ifindex) = target_ifindex(link) else {
                        continue;
                    };
                    let Some(peer) = indexes.get(&other).and_then(|ix| ix.get(&peer_ifindex))
                    else {
                        continue;
                    };
                    if !is_pair(peer) || target_ifindex(peer) != Some(link.ifindex) {
                        continue;
                    }
                    if let Some(back) = peer.link_netnsid
                        && !self.map.contains_key(&(other, back))
                        && by_inode.contains_key(&other)
                    {
                        learnt.push(((other, back), ns.inode));
                    }
                }
            }
            if learnt.is_empty() {
                break;
            }
            for (key, value) in learnt {
                self.map.entry(key).or_insert(value);
            }
        }
    }
}

/// One RTM_GETNSID question: "which nsid does `asker` give `target`?".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NsidQuery {
    pub asker: u64,
    pub target: u64,
}

/// The questions worth asking next, given the dumps and the answers so far
/// (every asked pair is recorded in `nsids`, so nothing is asked twice).
/// Returns nothing when every nsid is resolved or no candidate is left.
///
/// Round by round: first structural candidates (a veth whose peer points
/// back, asked from the smaller side; for lower links the host and own
/// namespace), then any other namespace that could hold the device.
pub fn plan_nsid_queries(raw: &RawScan) -> Vec<NsidQuery> {
    let known = NsidMap::build(raw);
    let asked: HashSet<(u64, u64)> = raw
        .namespaces
        .iter()
        .flat_map(|ns| ns.nsids.iter().map(move |a| (ns.inode, a.netns)))
        .collect();
    let table_size: HashMap<u64, usize> = raw
        .namespaces
        .iter()
        .map(|ns| {
            let distinct: HashSet<i32> = ns.links.iter().filter_map(|l| l.link_netnsid).collect();
            (ns.inode, distinct.len())
        })
        .collect();
    // (ifindex → namespaces holding it) over scanned namespaces.
    let mut holders: HashMap<u32, Vec<&RawNamespace>> = HashMap::new();
    for ns in raw.namespaces.iter().filter(|n| n.scanned) {
        for link in &ns.links {
            holders.entry(link.ifindex).or_default().push(ns);
        }
    }
    let priority = |ns: &RawNamespace| (!ns.host, !ns.current, ns.inode);

    let mut queries = BTreeSet::new();
    for ns in raw.namespaces.iter().filter(|n| n.scanned) {
        // Unresolved nsids of this namespace and the links using each.
        let mut open: BTreeMap<i32, Vec<&RawLink>> = BTreeMap::new();
        for link in &ns.links {
            if let Some(nsid) = link.link_netnsid
                && known.get(ns.inode, nsid).is_none()
            {
                open.entry(nsid).or_default().push(link);
            }
        }
        for links in open.values() {
            let mut structural = Vec::new();
            let mut fallback = Vec::new();
            for link in links {
                let Some(target) = target_ifindex(link) else {
                    continue;
                };
                for other in holders.get(&target).into_iter().flatten() {
                    if other.inode == ns.inode {
                        continue;
                    }
                    let Some(candidate) = other.links.iter().find(|l| l.ifindex == target) else {
                        continue;
                    };
                    if is_pair(link) {
                        // The peer must be a pair device pointing back across namespaces.
                        let points_back = is_pair(candidate)
                            && target_ifindex(candidate) == Some(link.ifindex)
                            && candidate
                                .link_netnsid
                                .is_some_and(|m| known.get(other.inode, m).is_none());
                        if points_back {
                            let small_side =
                                table_size.get(&ns.inode) <= table_size.get(&other.inode);
                            structural.push(if small_side {
                                NsidQuery {
                                    asker: ns.inode,
                                    target: other.inode,
                                }
                            } else {
                                NsidQuery {
                                    asker: other.inode,
                                    target: ns.inode,
                                }
                            });
                        }
                    } else if other.host || other.current {
                        structural.push(NsidQuery {
                            asker: ns.inode,
                            target: other.inode,
                        });
                    } else {
                        fallback.push((priority(other), other.inode));
                    }
                }
            }
            let fresh = |q: &NsidQuery| !asked.contains(&(q.asker, q.target));
            let mut next: Vec<NsidQuery> = structural.into_iter().filter(fresh).collect();
            if next.is_empty() {
                // Structure did not settle it: namespaces we could open but not
                // dump (unprivileged), then every other plausible holder.
                fallback.sort();
                next = raw
                    .namespaces
                    .iter()
                    .filter(|o| !o.scanned && o.inode != ns.inode)
                    .map(|o| NsidQuery {
                        asker: ns.inode,
                        target: o.inode,
                    })
                    .chain(fallback.into_iter().map(|(_, t)| NsidQuery {
                        asker: ns.inode,
                        target: t,
                    }))
                    .filter(fresh)
                    .collect();
            }
            queries.extend(next);
        }
    }
    queries.into_iter().collect()
}

/// Joins a raw scan into the snapshot every consumer reads.
pub fn resolve(raw: &RawScan) -> Snapshot {
    let known = NsidMap::build(raw);
    let mut warnings: Vec<Warning> = raw.warnings.clone();
    let by_inode: HashMap<u64, &RawNamespace> =
        raw.namespaces.iter().map(|n| (n.inode, n)).collect();
    let name_of = |netns: u64, ifindex: u32| -> Option<&Name> {
        let ns = by_inode.get(&netns)?;
        ns.links
            .iter()
            .find(|l| l.ifindex == ifindex)
            .map(|l| &l.ifname)
    };

    let mut namespaces: Vec<Namespace> = Vec::with_capacity(raw.namespaces.len());
    for ns in &raw.namespaces {
        let mut unresolved: BTreeSet<i32> = BTreeSet::new();
        let mut interfaces: Vec<Interface> = Vec::with_capacity(ns.links.len());
        for link in &ns.links {
            let other_ref = target_ifindex(link).map(|ifindex| {
                let netns = match link.link_netnsid {
                    None => Some(ns.inode),
                    Some(nsid) => {
                        let found = known.get(ns.inode, nsid);
                        if found.is_none() {
                            unresolved.insert(nsid);
                        }
                        found
                    }
                };
                let ifname = netns.and_then(|n| name_of(n, ifindex)).cloned();
                if let Some(n) = netns
                    && ifname.is_none()
                    && by_inode.get(&n).is_some_and(|o| o.scanned)
                {
                    warnings.push(Warning::new(
                        Some(ns.inode),
                        WarningCode::DanglingReference,
                        format!(
                            "{} in {} points at ifindex {} in {}, which has no such interface (it changed during the scan?); rescan",
                            link.ifname.as_str(),
                            label_raw(ns),
                            ifindex,
                            by_inode.get(&n).map(|o| label_raw(o)).unwrap_or_default()
                        ),
                    ));
                }
                LinkRef { netns, ifindex, ifname }
            });
            let (peer, lower) = if is_pair(link) {
                (other_ref, None)
            } else {
                (None, other_ref)
            };
            let master = link.master.filter(|&m| m != 0).map(|m| LinkRef {
                netns: Some(ns.inode),
                ifindex: m,
                ifname: name_of(ns.inode, m).cloned(),
            });
            let mut addresses: Vec<String> = Vec::new();
            for a in ns.addrs.iter().filter(|a| a.ifindex == link.ifindex) {
                addresses.push(format!("{}/{}", a.address, a.prefix_len));
            }
            interfaces.push(Interface {
                ifindex: link.ifindex,
                ifname: link.ifname.clone(),
                kind: link.kind.clone(),
                slave_kind: link.slave_kind.clone(),
                operstate: operstate_name(link.operstate).to_string(),
                flags: flag_names(link.flags),
                mtu: link.mtu,
                address: link
                    .address
                    .as_deref()
                    .filter(|a| !a.is_empty())
                    .map(format_mac),
                addresses,
                master,
                peer,
                link: lower,
                port_state: link.port_state.map(|s| port_state_name(s).to_string()),
            });
        }
        for nsid in unresolved {
            warnings.push(Warning::new(
                Some(ns.inode),
                WarningCode::UnresolvedNsid,
                format!(
                    "nsid {nsid} in {} is a namespace nsmap could not open, so peers there show netns null; run as root, or the namespace is held only by a socket",
                    label_raw(ns)
                ),
            ));
        }
        interfaces.sort_by_key(|i| i.ifindex);
        namespaces.push(Namespace {
            inode: ns.inode,
            id: ns.id,
            current: ns.current,
            host: ns.host,
            names: ns.names.clone(),
            mounts: ns.mounts.clone(),
            pids: ns.pids.clone(),
            threads: ns.threads.clone(),
            holders: ns.holders.clone(),
            process: ns.process.clone(),
            scanned: ns.scanned,
            interfaces,
        });
    }
    namespaces.sort_by_key(|n| n.inode);
    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        scan: raw.scan.clone(),
        namespaces,
        warnings: Vec::new(),
    };
    warnings.extend(check_symmetry(&snapshot));
    warnings.sort();
    warnings.dedup();
    snapshot.warnings = warnings;
    snapshot
}

/// A's peer is B, so B's peer must be A; anything else means the kernel
/// state changed between the two dumps (or a bug), and is said, not hidden.
fn check_symmetry(snapshot: &Snapshot) -> Vec<Warning> {
    let index = snapshot.index();
    let mut out = Vec::new();
    for ns in &snapshot.namespaces {
        for iface in &ns.interfaces {
            let Some(peer) = &iface.peer else { continue };
            let Some((_, other)) = index.resolve(peer) else {
                continue;
            };
            let back = other.peer.as_ref();
            let points_back =
                back.is_some_and(|b| b.netns == Some(ns.inode) && b.ifindex == iface.ifindex);
            if !points_back {
                let me = LinkRef {
                    netns: Some(ns.inode),
                    ifindex: iface.ifindex,
                    ifname: Some(iface.ifname.clone()),
                };
                out.push(Warning::new(
                    Some(ns.inode),
                    WarningCode::AsymmetricPeer,
                    format!(
                        "{}'s peer is {}, but that interface's peer is {}; the pair changed during the scan? rescan",
                        index.describe(&me),
                        index.describe(peer),
                        back.map(|b| index.describe(b)).unwrap_or_else(|| "none".into()),
                    ),
                ));
            }
        }
    }
    out
}

fn label_raw(ns: &RawNamespace) -> String {
    netns_label(
        &ns.names,
        &ns.mounts,
        ns.host,
        ns.process.as_ref(),
        ns.inode,
    )
}

/// RFC 2863 operstate (IF_OPER_*), named as iproute2 names it.
pub fn operstate_name(state: u8) -> &'static str {
    match state {
        1 => "NOTPRESENT",
        2 => "DOWN",
        3 => "LOWERLAYERDOWN",
        4 => "TESTING",
        5 => "DORMANT",
        6 => "UP",
        _ => "UNKNOWN",
    }
}

/// `IFLA_BRPORT_STATE` (BR_STATE_*), lowercase as `bridge link` prints it.
pub fn port_state_name(state: u8) -> &'static str {
    match state {
        0 => "disabled",
        1 => "listening",
        2 => "learning",
        3 => "forwarding",
        4 => "blocking",
        _ => "unknown",
    }
}

/// `IFF_*` names in iproute2's order (print_link_flags), including its
/// synthetic `NO-CARRIER` (UP without RUNNING), so output matches `ip -j`.
pub fn flag_names(flags: u32) -> Vec<String> {
    const ORDER: &[(u32, &str)] = &[
        (libc::IFF_LOOPBACK as u32, "LOOPBACK"),
        (libc::IFF_BROADCAST as u32, "BROADCAST"),
        (libc::IFF_POINTOPOINT as u32, "POINTOPOINT"),
        (libc::IFF_MULTICAST as u32, "MULTICAST"),
        (libc::IFF_NOARP as u32, "NOARP"),
        (libc::IFF_ALLMULTI as u32, "ALLMULTI"),
        (libc::IFF_PROMISC as u32, "PROMISC"),
        (libc::IFF_MASTER as u32, "MASTER"),
        (libc::IFF_SLAVE as u32, "SLAVE"),
        (libc::IFF_DEBUG as u32, "DEBUG"),
        (libc::IFF_DYNAMIC as u32, "DYNAMIC"),
        (libc::IFF_AUTOMEDIA as u32, "AUTOMEDIA"),
        (libc::IFF_PORTSEL as u32, "PORTSEL"),
        (libc::IFF_NOTRAILERS as u32, "NOTRAILERS"),
        (libc::IFF_UP as u32, "UP"),
        (libc::IFF_LOWER_UP as u32, "LOWER_UP"),
        (libc::IFF_DORMANT as u32, "DORMANT"),
        (libc::IFF_ECHO as u32, "ECHO"),
    ];
    let mut out = Vec::new();
    if flags & libc::IFF_UP as u32 != 0 && flags & libc::IFF_RUNNING as u32 == 0 {
        out.push("NO-CARRIER".to_string());
    }
    out.extend(
        ORDER
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| n.to_string()),
    );
    out
}

/// Colon-separated lowercase hex, as iproute2 prints link-layer addresses.
pub fn format_mac(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}
