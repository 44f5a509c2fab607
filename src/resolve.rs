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

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;
use std::net::IpAddr;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

pub mod l3;
pub mod tc;

use crate::attribution::{LabelSources, display_name};
use crate::name::Name;
use crate::raw::{RawAddr, RawLink, RawNamespace, RawScan};
use crate::snapshot::{
    AddrInfo, Interface, LinkRef, Namespace, SCHEMA_VERSION, Snapshot, Warning, WarningCode,
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

/// Lookups over a raw scan, built once: every join below is a hash lookup,
/// so resolving a host with thousands of namespaces stays linear.
struct RawIndex<'a> {
    namespaces: HashMap<u64, &'a RawNamespace>,
    links: HashMap<(u64, u32), &'a RawLink>,
    /// Pair devices whose other end is in another namespace, as (namespace,
    /// nsid, link) in scan order: what mirroring walks, without touching
    /// every other link again.
    pairs: Vec<(&'a RawNamespace, i32, &'a RawLink)>,
}

impl<'a> RawIndex<'a> {
    fn new(raw: &'a RawScan) -> RawIndex<'a> {
        let link_count = raw.namespaces.iter().map(|n| n.links.len()).sum();
        let mut index = RawIndex {
            namespaces: HashMap::with_capacity(raw.namespaces.len()),
            links: HashMap::with_capacity(link_count),
            pairs: Vec::new(),
        };
        // Later entries win, as with `collect`: a duplicate is the newer one.
        for ns in &raw.namespaces {
            index.namespaces.insert(ns.inode, ns);
            for link in &ns.links {
                index.links.insert((ns.inode, link.ifindex), link);
                if let Some(nsid) = link.link_netnsid
                    && is_pair(link)
                {
                    index.pairs.push((ns, nsid, link));
                }
            }
        }
        index
    }

    fn link(&self, netns: u64, ifindex: u32) -> Option<&'a RawLink> {
        self.links.get(&(netns, ifindex)).copied()
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
        NsidMap::build_with(raw, &RawIndex::new(raw))
    }

    fn build_with(raw: &RawScan, index: &RawIndex<'_>) -> NsidMap {
        let answers = raw.namespaces.iter().map(|n| n.nsids.len()).sum::<usize>();
        // Mirroring adds about one entry per answer (the other end's).
        let mut map = HashMap::with_capacity(2 * answers);
        for ns in &raw.namespaces {
            for answer in &ns.nsids {
                if let Some(nsid) = answer.nsid {
                    map.insert((ns.inode, nsid), answer.netns);
                }
            }
        }
        let mut nsids = NsidMap { map };
        nsids.mirror(index);
        nsids
    }

    pub fn get(&self, asker: u64, nsid: i32) -> Option<u64> {
        self.map.get(&(asker, nsid)).copied()
    }

    /// If A's veth with nsid n points at B's veth whose peer (ifindex) is it
    /// again, B's nsid for A is that veth's `link_netnsid`. Repeated until
    /// nothing new is learnt (each round only adds entries, so it ends).
    ///
    /// After the first round only links whose own nsid was learnt in the
    /// round before are looked at again: any other link already taught
    /// what it could (its entry is in the map) or can teach nothing.
    fn mirror(&mut self, index: &RawIndex<'_>) {
        let mut learnt_before: Option<HashSet<(u64, i32)>> = None;
        let mut learnt = Vec::new();
        loop {
            for &(ns, nsid, link) in &index.pairs {
                let netns = ns.inode;
                if learnt_before
                    .as_ref()
                    .is_some_and(|keys| !keys.contains(&(netns, nsid)))
                {
                    continue;
                }
                let Some(other) = self.get(netns, nsid) else {
                    continue;
                };
                let Some(peer_ifindex) = target_ifindex(link) else {
                    continue;
                };
                let Some(peer) = index.link(other, peer_ifindex) else {
                    continue;
                };
                if !is_pair(peer) || target_ifindex(peer) != Some(link.ifindex) {
                    continue;
                }
                if let Some(back) = peer.link_netnsid
                    && !self.map.contains_key(&(other, back))
                {
                    learnt.push(((other, back), netns));
                }
            }
            if learnt.is_empty() {
                break;
            }
            let mut keys = HashSet::with_capacity(learnt.len());
            // The first answer of a round wins, as one round's answers
            // may disagree when the kernel's state changed mid-scan.
            for (key, value) in learnt.drain(..) {
                if let Entry::Vacant(e) = self.map.entry(key) {
                    e.insert(value);
                    keys.insert(key);
                }
            }
            learnt_before = Some(keys);
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
/// For each unresolved nsid the candidates are, in order: namespaces with a
/// veth that points back (asked from the side with the smaller nsid table,
/// once per pair of namespaces); for a lower device the host and own
/// namespace, then any namespace holding that ifindex; last, namespaces
/// nsmap could open but not dump. Candidates are tried nearest first (by
/// namespace id, i.e. creation order: pairs are usually made together),
/// at most `limit` per nsid per round, so many look-alike pairs — every
/// namespace with eth0 at ifindex 2 — cost about one question each instead
/// of one per pair of namespaces. `None` asks every remaining candidate.
pub fn plan_nsid_queries(raw: &RawScan, limit: Option<usize>) -> Vec<NsidQuery> {
    let index = RawIndex::new(raw);
    let known = NsidMap::build_with(raw, &index);
    let settled = |ns: &RawNamespace| {
        ns.links.iter().all(|l| {
            l.link_netnsid
                .is_none_or(|nsid| known.get(ns.inode, nsid).is_some())
        })
    };
    // The usual last round: every nsid is known, nothing to plan.
    if raw.namespaces.iter().filter(|n| n.scanned).all(settled) {
        return Vec::new();
    }
    let mut asked: HashSet<(u64, u64)> =
        HashSet::with_capacity(raw.namespaces.iter().map(|n| n.nsids.len()).sum());
    for ns in &raw.namespaces {
        asked.extend(ns.nsids.iter().map(|a| (ns.inode, a.netns)));
    }
    let mut table_size: HashMap<u64, usize> = HashMap::with_capacity(raw.namespaces.len());
    let mut scratch: Vec<i32> = Vec::new();
    for ns in &raw.namespaces {
        scratch.clear();
        scratch.extend(ns.links.iter().filter_map(|l| l.link_netnsid));
        scratch.sort_unstable();
        scratch.dedup();
        table_size.insert(ns.inode, scratch.len());
    }
    // Pair devices that point into another namespace, by (ifindex, peer
    // ifindex): a veth's candidates are one lookup away.
    // Sorted by key, stably (scan order within a key), and searched: no
    // allocation per key, and nearly every key has one namespace.
    let mut pairs: Vec<((u32, u32), &RawNamespace)> = index
        .pairs
        .iter()
        .filter(|&&(ns, nsid, _)| ns.scanned && known.get(ns.inode, nsid).is_none())
        .filter_map(|&(ns, _, link)| Some(((link.ifindex, target_ifindex(link)?), ns)))
        .collect();
    pairs.sort_by_key(|&(key, _)| key);
    let pairs_at = |key: (u32, u32)| {
        let from = pairs.partition_point(|&(k, _)| k < key);
        let len = pairs[from..].partition_point(|&(k, _)| k == key);
        pairs[from..from + len].iter().map(|&(_, ns)| ns)
    };
    // Every ifindex → scanned namespaces holding it, for lower devices:
    // built on first use, as most hosts have none to resolve.
    let holders: OnceCell<HashMap<u32, Vec<&RawNamespace>>> = OnceCell::new();
    let holders_of = |ifindex: u32| {
        holders
            .get_or_init(|| {
                let mut holders: HashMap<u32, Vec<&RawNamespace>> = HashMap::new();
                for ns in raw.namespaces.iter().filter(|n| n.scanned) {
                    for link in &ns.links {
                        holders.entry(link.ifindex).or_default().push(ns);
                    }
                }
                holders
            })
            .get(&ifindex)
    };
    let unscanned: Vec<&RawNamespace> = raw.namespaces.iter().filter(|n| !n.scanned).collect();
    // Asked already? For a pair, asking either side settles both (mirroring).
    let fresh = |q: &NsidQuery, planned: &HashSet<NsidQuery>, pair: bool| {
        let reverse = NsidQuery {
            asker: q.target,
            target: q.asker,
        };
        !asked.contains(&(q.asker, q.target))
            && !planned.contains(q)
            && !(pair && (asked.contains(&(q.target, q.asker)) || planned.contains(&reverse)))
    };
    let hosts: Vec<&RawNamespace> = raw
        .namespaces
        .iter()
        .filter(|o| (o.host || o.current) && o.scanned)
        .collect();

    let mut queries: HashSet<NsidQuery> = HashSet::new();
    // Buffers reused for every namespace and nsid.
    let mut open: Vec<(i32, &RawLink)> = Vec::new();
    let mut candidates: Vec<(u8, u64, NsidQuery, bool)> = Vec::new();
    for ns in raw.namespaces.iter().filter(|n| n.scanned) {
        // Unresolved nsids of this namespace, each with the links using it
        // in dump order (a stable sort).
        open.clear();
        for link in &ns.links {
            if let Some(nsid) = link.link_netnsid
                && nsid >= 0
                && known.get(ns.inode, nsid).is_none()
            {
                open.push((nsid, link));
            }
        }
        open.sort_by_key(|&(nsid, _)| nsid);
        let budget = limit.unwrap_or(usize::MAX);
        // Questions left over for namespaces nsmap could not dump.
        let mut fallback = 0usize;
        for links in open.chunk_by(|a, b| a.0 == b.0) {
            // (rank, distance, query, pair): lower rank first, then nearest.
            candidates.clear();
            for &(_, link) in links {
                let Some(target) = target_ifindex(link) else {
                    continue;
                };
                if is_pair(link) {
                    // A pair device there that points back at this one,
                    // asked from the side with the smaller nsid table.
                    for other in pairs_at((target, link.ifindex)) {
                        if other.inode == ns.inode {
                            continue;
                        }
                        let small_side = table_size.get(&ns.inode) <= table_size.get(&other.inode);
                        let (asker, target) = if small_side {
                            (ns.inode, other.inode)
                        } else {
                            (other.inode, ns.inode)
                        };
                        candidates.push((
                            0,
                            distance(ns, other),
                            NsidQuery { asker, target },
                            true,
                        ));
                    }
                } else {
                    // A lower device: the host and our own namespace first,
                    // then any namespace holding that ifindex.
                    for other in &hosts {
                        if other.inode != ns.inode && index.link(other.inode, target).is_some() {
                            candidates.push((
                                0,
                                0,
                                NsidQuery {
                                    asker: ns.inode,
                                    target: other.inode,
                                },
                                false,
                            ));
                        }
                    }
                    for other in holders_of(target).into_iter().flatten() {
                        if other.inode != ns.inode {
                            let q = NsidQuery {
                                asker: ns.inode,
                                target: other.inode,
                            };
                            candidates.push((1, distance(ns, other), q, false));
                        }
                    }
                }
            }
            // Equal entries are identical, so an unstable sort is exact.
            candidates.sort_unstable();
            let mut picked = 0;
            for &(_, _, q, pair) in &candidates {
                if picked >= budget {
                    break;
                }
                if fresh(&q, &queries, pair) {
                    queries.insert(q);
                    picked += 1;
                }
            }
            fallback = fallback.saturating_add(budget - picked);
        }
        // Last, namespaces nsmap could open but not dump (unprivileged). One
        // answer may settle any of this namespace's nsids, so they are asked
        // once per namespace, nearest first, not once per nsid.
        if fallback > 0 && !unscanned.is_empty() {
            let mut near: Vec<(u64, u64)> = unscanned
                .iter()
                .filter(|o| o.inode != ns.inode)
                .map(|o| (distance(ns, o), o.inode))
                .collect();
            near.sort_unstable();
            let mut asked_here = 0;
            for (_, target) in near {
                if asked_here >= fallback {
                    break;
                }
                let q = NsidQuery {
                    asker: ns.inode,
                    target,
                };
                if fresh(&q, &queries, false) {
                    queries.insert(q);
                    asked_here += 1;
                }
            }
        }
    }
    let mut queries: Vec<NsidQuery> = queries.into_iter().collect();
    queries.sort_unstable();
    queries
}

/// How far apart two namespaces were created: namespace ids count up, so
/// namespaces made together (like the two ends of a pair) are close.
fn distance(a: &RawNamespace, b: &RawNamespace) -> u64 {
    match (a.id, b.id) {
        (Some(x), Some(y)) => x.abs_diff(y),
        _ => a.inode.abs_diff(b.inode),
    }
}

/// Joins a raw scan into the snapshot every consumer reads.
pub fn resolve(raw: &RawScan) -> Snapshot {
    let index = RawIndex::new(raw);
    let known = NsidMap::build_with(raw, &index);
    let mut warnings: Vec<Warning> = raw.warnings.clone();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
        .min(raw.namespaces.len() / MIN_PER_THREAD)
        .max(1);
    let per_thread = raw.namespaces.len().div_ceil(threads).max(1);
    let resolve_chunk = |chunk: &[RawNamespace]| -> Vec<(Namespace, Vec<Warning>)> {
        chunk
            .iter()
            .map(|ns| resolve_namespace(ns, &index, &known))
            .collect()
    };
    let mut chunks = raw.namespaces.chunks(per_thread);
    let own = chunks.next().unwrap_or_default();
    let parts: Vec<Vec<(Namespace, Vec<Warning>)>> = std::thread::scope(|s| {
        // Should a thread not start, its chunk is resolved here.
        let others: Vec<_> = chunks
            .map(|chunk| {
                std::thread::Builder::new()
                    .name("nsmap-resolve".into())
                    .spawn_scoped(s, move || resolve_chunk(chunk))
                    .map_err(|_| chunk)
            })
            .collect();
        let mut parts = vec![resolve_chunk(own)];
        for other in others {
            parts.push(match other {
                Ok(handle) => match handle.join() {
                    Ok(part) => part,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(chunk) => resolve_chunk(chunk),
            });
        }
        parts
    });
    let mut namespaces: Vec<Namespace> = Vec::with_capacity(raw.namespaces.len());
    for (namespace, found) in parts.into_iter().flatten() {
        namespaces.push(namespace);
        warnings.extend(found);
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

/// One namespace of the snapshot, with the warnings its links raise: reads
/// only the shared indexes, so namespaces resolve on several threads.
fn resolve_namespace(
    ns: &RawNamespace,
    index: &RawIndex<'_>,
    known: &NsidMap,
) -> (Namespace, Vec<Warning>) {
    let by_inode = &index.namespaces;
    let name_of = |netns: u64, ifindex: u32| -> Option<&Name> {
        index.link(netns, ifindex).map(|l| &l.ifname)
    };
    let mut warnings = Vec::new();
    let label = label_raw(ns);
    let mut unresolved: BTreeSet<i32> = BTreeSet::new();
    let mut interfaces: Vec<Interface> = Vec::with_capacity(ns.links.len());
    let mut qdiscs = tc::by_ifindex(ns.qdiscs.as_deref());
    let mut addresses = AddressesByIfindex::new(&ns.addrs);
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
                        label,
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
        let (texts, infos) = addresses.take(link.ifindex);
        interfaces.push(Interface {
            ifindex: link.ifindex,
            ifname: link.ifname.clone(),
            kind: link.kind.clone(),
            slave_kind: link.slave_kind.clone(),
            operstate: Cow::Borrowed(operstate_name(link.operstate)),
            flags: flag_names(link.flags),
            mtu: link.mtu,
            address: link
                .address
                .as_deref()
                .filter(|a| !a.is_empty())
                .map(format_mac),
            addresses: texts,
            master,
            peer,
            link: lower,
            port_state: link.port_state.map(|s| Cow::Borrowed(port_state_name(s))),
            port_isolated: link.port_isolated,
            port_locked: link.port_locked,
            vlan_filtering: link.vlan_filtering,
            nf_call_iptables: link.nf_call.map(|c| c[0]),
            nf_call_ip6tables: link.nf_call.map(|c| c[1]),
            nf_call_arptables: link.nf_call.map(|c| c[2]),
            macvlan_mode: link.macvlan_mode.map(l3::macvlan_mode_name),
            addr_info: Some(infos),
            netconf: l3::interface_netconf(link),
            stats: link.stats.clone(),
            qdiscs: qdiscs.take(link.ifindex),
        });
    }
    for nsid in unresolved {
        // The kernel reports -1 when it has no nsid to give: the peer's
        // namespace is being destroyed (peernet2id_alloc on a dying net).
        let message = if nsid < 0 {
            format!(
                "a peer of {label} is in a namespace that is being destroyed (nsid {nsid}), so it shows netns null; rescan in a moment",
            )
        } else {
            format!(
                "nsid {nsid} in {label} is a namespace nsmap could not open, so peers there show netns null; run as root, or the namespace is held only by a socket",
            )
        };
        let code = if nsid < 0 {
            WarningCode::Vanished
        } else {
            WarningCode::UnresolvedNsid
        };
        warnings.push(Warning::new(Some(ns.inode), code, message));
    }
    interfaces.sort_by_key(|i| i.ifindex);
    let l3 = ns.l3.as_ref().map_or_else(l3::NamespaceL3::absent, |raw| {
        l3::namespace(raw, &|ifindex| {
            l3::local_ref(ns.inode, ifindex, name_of(ns.inode, ifindex))
        })
    });
    let namespace = Namespace {
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
        processes: ns.processes.clone(),
        containers: ns.containers.clone(),
        hostname: ns.hostname.clone(),
        cni: ns.cni.clone(),
        display_name: label,
        routes: l3.routes,
        rules: l3.rules,
        neighbours: l3.neighbours,
        fdb: l3.fdb,
        nexthops: l3.nexthops,
        netconf: l3.netconf,
        firewall: l3.firewall,
        stats_at_ns: ns.stats_at_ns,
        stats_boottime_ns: ns.stats_boottime_ns,
    };
    (namespace, warnings)
}

/// At most this many threads resolve a scan; beyond it, the joining of
/// their results dominates.
const MAX_THREADS: usize = 4;

/// Below this many namespaces per thread, one thread is faster than
/// starting another.
const MIN_PER_THREAD: usize = 32;

/// A namespace's addresses as text (`10.0.0.2/24`), grouped by ifindex in
/// dump order: sorted once, so each interface finds its own by binary
/// search instead of scanning every address.
struct AddressesByIfindex {
    groups: Vec<(u32, Vec<String>, Vec<AddrInfo>)>,
}

impl AddressesByIfindex {
    fn new(addrs: &[RawAddr]) -> AddressesByIfindex {
        let mut sorted: Vec<&RawAddr> = addrs.iter().collect();
        // Stable: an interface's addresses keep the kernel's order.
        sorted.sort_by_key(|a| a.ifindex);
        let mut groups: Vec<(u32, Vec<String>, Vec<AddrInfo>)> = Vec::new();
        for a in sorted {
            let text = format_addr(a);
            let info = l3::addr_info(a);
            match groups.last_mut() {
                Some((ifindex, texts, infos)) if *ifindex == a.ifindex => {
                    texts.push(text);
                    infos.push(info);
                }
                _ => groups.push((a.ifindex, vec![text], vec![info])),
            }
        }
        AddressesByIfindex { groups }
    }

    /// The addresses of `ifindex` (short and detailed), handed out once: a
    /// second link with the same ifindex (a dump that changed under us)
    /// gets none.
    fn take(&mut self, ifindex: u32) -> (Vec<String>, Vec<AddrInfo>) {
        match self.groups.binary_search_by_key(&ifindex, |(i, _, _)| *i) {
            Ok(i) => (
                std::mem::take(&mut self.groups[i].1),
                std::mem::take(&mut self.groups[i].2),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        }
    }
}

/// `address/prefix_len`, as iproute2 prints it. IPv4 is written digit by
/// digit (much cheaper than the formatting machinery); IPv6 takes std's
/// RFC 5952 form.
fn format_addr(a: &RawAddr) -> String {
    fn push_decimal(s: &mut String, n: u8) {
        if n >= 100 {
            s.push(char::from(b'0' + n / 100));
        }
        if n >= 10 {
            s.push(char::from(b'0' + n / 10 % 10));
        }
        s.push(char::from(b'0' + n % 10));
    }
    let mut s = String::with_capacity(match a.address {
        IpAddr::V4(_) => "255.255.255.255/32".len(),
        IpAddr::V6(_) => "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128".len(),
    });
    match a.address {
        IpAddr::V4(v4) => {
            for (i, &octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_decimal(&mut s, octet);
            }
        }
        IpAddr::V6(v6) => {
            // Writing into a String cannot fail.
            let _ = write!(s, "{v6}");
        }
    }
    s.push('/');
    push_decimal(&mut s, a.prefix_len);
    s
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

/// The namespace's display name (pod, container, ip-netns name, …).
fn label_raw(ns: &RawNamespace) -> String {
    display_name(LabelSources {
        containers: &ns.containers,
        cni: &ns.cni,
        names: &ns.names,
        mounts: &ns.mounts,
        host: ns.host,
        current: ns.current,
        process: ns.process.as_ref(),
        inode: ns.inode,
    })
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
pub fn flag_names(flags: u32) -> Vec<Cow<'static, str>> {
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
    let mut out = Vec::with_capacity(flags.count_ones() as usize + 1);
    if flags & libc::IFF_UP as u32 != 0 && flags & libc::IFF_RUNNING as u32 == 0 {
        out.push(Cow::Borrowed("NO-CARRIER"));
    }
    out.extend(
        ORDER
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|&(_, n)| Cow::Borrowed(n)),
    );
    out
}

/// Colon-separated lowercase hex, as iproute2 prints link-layer addresses.
pub fn format_mac(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawNsid;

    /// Many namespaces resolve on several threads: the result is the one a
    /// single thread gives, namespace by namespace, warning by warning.
    #[test]
    fn threads_resolve_as_one_does() {
        let base: RawScan =
            serde_json::from_str(include_str!("../tests/fixtures/raw/hostile.json"))
                .expect("fixture");
        let mut raw = base.clone();
        let mut round = 1u64;
        while raw.namespaces.len() < 5 * MIN_PER_THREAD {
            for ns in &base.namespaces {
                let mut copy = ns.clone();
                copy.inode += round << 32;
                raw.namespaces.push(copy);
            }
            round += 1;
        }
        // The last namespaces' peers point at an nsid nobody answered for:
        // warnings from a thread other than the first.
        for ns in raw.namespaces.iter_mut().rev().take(3) {
            for link in &mut ns.links {
                link.link_netnsid = Some(9999);
                link.link = Some(2);
            }
        }
        let snapshot = resolve(&raw);
        let index = RawIndex::new(&raw);
        let known = NsidMap::build_with(&raw, &index);
        let mut serial: Vec<Namespace> = Vec::new();
        let mut warnings = raw.warnings.clone();
        for ns in &raw.namespaces {
            let (namespace, found) = resolve_namespace(ns, &index, &known);
            serial.push(namespace);
            warnings.extend(found);
        }
        serial.sort_by_key(|n| n.inode);
        assert_eq!(snapshot.namespaces, serial);
        for w in &warnings {
            assert!(snapshot.warnings.contains(w), "missing {w:?}");
        }
        assert!(!warnings.is_empty());
    }

    /// Recorded by scripts/record-raw-fixtures.sh on Linux 6.18: fx-a↔fx-b
    /// and fx-c↔fx-d are veth pairs with eth0 at ifindex 2 on both ends;
    /// fx-e's eth0 pairs with the host's fx-h0.
    fn same_ifindex() -> RawScan {
        serde_json::from_str(include_str!("../tests/fixtures/raw/same-ifindex.json"))
            .expect("fixture")
    }

    /// Recorded likewise: host bridge fx-br with port fx-p0 ↔ fx-a eth0;
    /// fx-a to-b ↔ fx-b to-a; left↔right inside fx-b; bridge br-in in fx-b;
    /// macvlan mv0 and vxlan vx0 in fx-c on br-in of fx-b.
    fn mixed() -> RawScan {
        serde_json::from_str(include_str!("../tests/fixtures/raw/mixed.json")).expect("fixture")
    }

    fn inode(raw: &RawScan, name: &str) -> u64 {
        raw.namespaces
            .iter()
            .find(|n| n.names.iter().any(|x| x.as_str() == name) || (name == "host" && n.current))
            .map(|n| n.inode)
            .expect("namespace in fixture")
    }

    fn iface<'a>(s: &'a Snapshot, netns: u64, name: &str) -> &'a Interface {
        s.namespaces
            .iter()
            .find(|n| n.inode == netns)
            .and_then(|n| n.interfaces.iter().find(|i| i.ifname.as_str() == name))
            .expect("interface in snapshot")
    }

    fn to(netns: u64, ifindex: u32, name: &str) -> Option<LinkRef> {
        Some(LinkRef {
            netns: Some(netns),
            ifindex,
            ifname: Some(Name::from(name)),
        })
    }

    #[test]
    fn equal_ifindex_pairs_resolve_to_their_true_peers() {
        let raw = same_ifindex();
        let s = resolve(&raw);
        let [a, b, c, d, e, host] =
            ["fx-a", "fx-b", "fx-c", "fx-d", "fx-e", "host"].map(|n| inode(&raw, n));
        assert_eq!(iface(&s, a, "eth0").peer, to(b, 2, "eth0"));
        assert_eq!(iface(&s, b, "eth0").peer, to(a, 2, "eth0"));
        assert_eq!(iface(&s, c, "eth0").peer, to(d, 2, "eth0"));
        assert_eq!(iface(&s, d, "eth0").peer, to(c, 2, "eth0"));
        let h0 = iface(&s, host, "fx-h0");
        assert_eq!(h0.peer, to(e, 2, "eth0"));
        assert_eq!(iface(&s, e, "eth0").peer, to(host, h0.ifindex, "fx-h0"));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn kernels_that_omit_iflink_when_equal_resolve_the_same() {
        // Older kernels (nla_put_iflink without put_iflink) leave IFLA_LINK
        // out when the peer's ifindex equals the device's own.
        let mut raw = same_ifindex();
        for ns in &mut raw.namespaces {
            for l in &mut ns.links {
                if l.link == Some(l.ifindex) {
                    l.link = None;
                }
            }
        }
        assert_eq!(resolve(&raw), resolve(&same_ifindex()));
    }

    #[test]
    fn same_namespace_pairs_bridges_and_lower_devices() {
        let raw = mixed();
        let s = resolve(&raw);
        let [a, b, c, host] = ["fx-a", "fx-b", "fx-c", "host"].map(|n| inode(&raw, n));
        let p0 = iface(&s, host, "fx-p0");
        let br = iface(&s, host, "fx-br");
        assert_eq!(p0.master, to(host, br.ifindex, "fx-br"));
        assert_eq!(p0.peer, to(a, 2, "eth0"));
        assert_eq!(iface(&s, a, "eth0").peer, to(host, p0.ifindex, "fx-p0"));
        assert_eq!(iface(&s, a, "eth0").addresses[0], "10.1.0.2/24");
        assert_eq!(iface(&s, a, "to-b").peer, to(b, 2, "to-a"));
        assert_eq!(iface(&s, b, "to-a").peer, to(a, 3, "to-b"));
        assert_eq!(iface(&s, b, "left").peer, to(b, 3, "right"));
        assert_eq!(iface(&s, b, "right").peer, to(b, 4, "left"));
        assert_eq!(iface(&s, b, "left").master, to(b, 5, "br-in"));
        assert_eq!(iface(&s, c, "mv0").link, to(b, 5, "br-in"));
        assert_eq!(iface(&s, c, "mv0").peer, None);
        assert_eq!(iface(&s, c, "vx0").link, to(b, 5, "br-in"));
        assert_eq!(
            iface(&s, host, "fx-br").link,
            None,
            "a bridge has no lower device"
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn a_namespace_nsmap_could_not_open_gives_null_not_a_wrong_peer() {
        // fx-b vanished (or was not visible): fx-a's eth0 must not be
        // paired with c or d, whose eth0 look exactly alike.
        let mut raw = same_ifindex();
        let b = inode(&raw, "fx-b");
        let a = inode(&raw, "fx-a");
        raw.namespaces.retain(|n| n.inode != b);
        for n in &mut raw.namespaces {
            n.nsids.retain(|x| x.netns != b);
        }
        let s = resolve(&raw);
        let peer = iface(&s, a, "eth0").peer.clone();
        assert_eq!(
            peer,
            Some(LinkRef {
                netns: None,
                ifindex: 2,
                ifname: None
            })
        );
        assert!(
            s.warnings
                .iter()
                .any(|w| w.code == WarningCode::UnresolvedNsid && w.netns == Some(a))
        );
    }

    #[test]
    fn peers_that_do_not_point_back_are_warned_about() {
        let mut raw = mixed();
        let (a, b) = (inode(&raw, "fx-a"), inode(&raw, "fx-b"));
        // As if fx-b was dumped after its to-a was recreated to pair with
        // fx-a's eth0 (ifindex 2) instead of to-b (3); both sides answered.
        for ns in &mut raw.namespaces {
            if ns.inode == b {
                ns.links
                    .iter_mut()
                    .find(|l| l.ifname.as_str() == "to-a")
                    .expect("to-a")
                    .link = Some(2);
            }
            if ns.inode == a {
                ns.nsids.push(RawNsid {
                    netns: b,
                    nsid: Some(1),
                });
            }
        }
        let s = resolve(&raw);
        assert_eq!(
            iface(&s, a, "to-b").peer,
            to(b, 2, "to-a"),
            "each side still says what it saw"
        );
        assert_eq!(iface(&s, b, "to-a").peer, to(a, 2, "eth0"));
        let asym: Vec<_> = s
            .warnings
            .iter()
            .filter(|w| w.code == WarningCode::AsymmetricPeer)
            .collect();
        assert_eq!(asym.len(), 2, "{asym:?}");
        assert!(
            asym[0].message.contains("to-b@fx-a's peer is to-a@fx-b"),
            "{}",
            asym[0].message
        );
    }

    #[test]
    fn a_peer_ifindex_that_is_not_there_is_a_dangling_reference() {
        let mut raw = mixed();
        let b = inode(&raw, "fx-b");
        let ns = raw
            .namespaces
            .iter_mut()
            .find(|n| n.inode == b)
            .expect("fx-b");
        ns.links
            .iter_mut()
            .find(|l| l.ifname.as_str() == "left")
            .expect("left")
            .link = Some(99);
        let s = resolve(&raw);
        assert_eq!(
            iface(&s, b, "left").peer,
            Some(LinkRef {
                netns: Some(b),
                ifindex: 99,
                ifname: None
            })
        );
        assert!(
            s.warnings
                .iter()
                .any(|w| w.code == WarningCode::DanglingReference && w.netns == Some(b))
        );
    }

    #[test]
    fn mirroring_needs_one_answer_per_pair() {
        // Only the host's answer survives; fx-e's side is mirrored.
        let mut raw = same_ifindex();
        let e = inode(&raw, "fx-e");
        for n in &mut raw.namespaces {
            if n.inode == e {
                n.nsids.clear();
            }
        }
        let map = NsidMap::build(&raw);
        assert_eq!(map.get(e, 0), Some(inode(&raw, "host")));
    }

    #[test]
    fn the_planner_asks_the_same_questions_the_recording_answered() {
        let mut raw = same_ifindex();
        let recorded: BTreeSet<(u64, u64)> = raw
            .namespaces
            .iter()
            .flat_map(|n| n.nsids.iter().map(move |a| (n.inode, a.netns)))
            .collect();
        for n in &mut raw.namespaces {
            n.nsids.clear();
        }
        let first = plan_nsid_queries(&raw, Some(1));
        assert!(
            first
                .iter()
                .all(|q| recorded.contains(&(q.asker, q.target))),
            "{first:?}"
        );
        // With every recorded answer in, nothing is left to ask.
        assert!(plan_nsid_queries(&same_ifindex(), None).is_empty());
        assert!(plan_nsid_queries(&mixed(), None).is_empty());
    }

    /// A host with `n` containers, each eth0 (ifindex 2) paired with a host
    /// veth; nsids as the kernel would number them.
    fn container_host(n: u32) -> RawScan {
        let host = RawNamespace {
            inode: 1,
            current: true,
            host: true,
            scanned: true,
            links: (0..n)
                .map(|i| RawLink {
                    ifindex: 10 + i,
                    ifname: Name::from(format!("veth{i}").as_str()),
                    kind: Some("veth".into()),
                    link: Some(2),
                    link_netnsid: Some(i as i32),
                    ..RawLink::default()
                })
                .collect(),
            ..RawNamespace::default()
        };
        let containers = (0..n).map(|i| RawNamespace {
            inode: 100 + u64::from(i),
            id: Some(100 + u64::from(i)),
            scanned: true,
            links: vec![RawLink {
                ifindex: 2,
                ifname: Name::from("eth0"),
                kind: Some("veth".into()),
                link: Some(10 + i),
                link_netnsid: Some(0),
                ..RawLink::default()
            }],
            ..RawNamespace::default()
        });
        RawScan {
            raw_schema_version: 1,
            scan: Default::default(),
            namespaces: std::iter::once(host).chain(containers).collect(),
            warnings: Vec::new(),
        }
    }

    /// Answers queries as the kernel of [`container_host`] would.
    fn answer(raw: &mut RawScan, queries: &[NsidQuery]) {
        for q in queries {
            let nsid = match (q.asker, q.target) {
                (1, t) if t >= 100 => Some((t - 100) as i32),
                (a, 1) if a >= 100 => Some(0),
                _ => None,
            };
            let ns = raw
                .namespaces
                .iter_mut()
                .find(|n| n.inode == q.asker)
                .expect("asker");
            ns.nsids.push(RawNsid {
                netns: q.target,
                nsid,
            });
        }
    }

    #[test]
    fn a_thousand_containers_cost_a_thousand_small_side_questions() {
        let mut raw = container_host(1000);
        let queries = plan_nsid_queries(&raw, Some(1));
        assert_eq!(queries.len(), 1000);
        assert!(
            queries.iter().all(|q| q.target == 1 && q.asker >= 100),
            "containers ask, about the host"
        );
        answer(&mut raw, &queries);
        assert!(plan_nsid_queries(&raw, None).is_empty());
        let s = resolve(&raw);
        assert!(s.warnings.is_empty());
        let host = &s.namespaces[0];
        assert!(host.interfaces.iter().enumerate().all(|(i, v)| v.peer
            == Some(LinkRef {
                netns: Some(100 + i as u64),
                ifindex: 2,
                ifname: Some(Name::from("eth0"))
            })));
    }

    #[test]
    fn look_alike_pairs_cost_about_one_question_each() {
        // 200 namespaces in pairs (2k ↔ 2k+1), every eth0 at ifindex 2.
        let n = 200u64;
        let mut raw = RawScan {
            raw_schema_version: 1,
            scan: Default::default(),
            namespaces: (0..n)
                .map(|i| RawNamespace {
                    inode: 1000 + i,
                    id: Some(i),
                    scanned: true,
                    links: vec![RawLink {
                        ifindex: 2,
                        ifname: Name::from("eth0"),
                        kind: Some("veth".into()),
                        link: Some(2),
                        link_netnsid: Some(0),
                        ..RawLink::default()
                    }],
                    ..RawNamespace::default()
                })
                .collect(),
            warnings: Vec::new(),
        };
        let mut total = 0;
        for limit in [Some(1), Some(4), Some(16), Some(64), None] {
            let queries = plan_nsid_queries(&raw, limit);
            total += queries.len();
            for q in queries {
                let partner = |x: u64| 1000 + ((x - 1000) ^ 1);
                let nsid = (partner(q.asker) == q.target).then_some(0);
                let ns = raw
                    .namespaces
                    .iter_mut()
                    .find(|x| x.inode == q.asker)
                    .expect("asker");
                ns.nsids.push(RawNsid {
                    netns: q.target,
                    nsid,
                });
            }
        }
        assert!(total <= n as usize, "{total} questions for {n} namespaces");
        let s = resolve(&raw);
        assert!(
            s.warnings.is_empty(),
            "{:?}",
            &s.warnings[..s.warnings.len().min(3)]
        );
        for ns in &s.namespaces {
            let partner = 1000 + ((ns.inode - 1000) ^ 1);
            assert_eq!(
                ns.interfaces[0].peer.as_ref().and_then(|p| p.netns),
                Some(partner)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn addresses_print_as_std_prints_them(
            v4 in proptest::num::u32::ANY,
            v6 in proptest::num::u128::ANY,
            prefix_len in proptest::num::u8::ANY,
        ) {
            for address in [
                IpAddr::from(std::net::Ipv4Addr::from(v4)),
                IpAddr::from(std::net::Ipv6Addr::from(v6)),
                IpAddr::from(std::net::Ipv6Addr::from(v6 & 0xffff_ffff | 0xffff_0000_0000)),
            ] {
                let a = RawAddr { ifindex: 1, address, prefix_len, scope: 0, flags: 0, peer: None };
                proptest::prop_assert_eq!(format_addr(&a), format!("{address}/{prefix_len}"));
            }
        }
    }

    #[test]
    fn flags_follow_iproute2() {
        let up_no_carrier = (libc::IFF_UP | libc::IFF_BROADCAST | libc::IFF_MULTICAST) as u32;
        assert_eq!(
            flag_names(up_no_carrier),
            ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
        );
        let running = up_no_carrier | (libc::IFF_RUNNING | libc::IFF_LOWER_UP) as u32;
        assert_eq!(
            flag_names(running),
            ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
        );
        assert_eq!(format_mac(&[0xaa, 0, 0x0f]), "aa:00:0f");
        let every_byte: Vec<u8> = (0..=255).collect();
        let printed: Vec<String> = every_byte.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(format_mac(&every_byte), printed.join(":"));
        assert_eq!(operstate_name(6), "UP");
        assert_eq!(port_state_name(3), "forwarding");
    }
}
