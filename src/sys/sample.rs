//! Sampling every interface's counters, cheaply, again and again (`nsmap
//! top`): one rtnetlink socket kept per namespace between samples, and per
//! sample only a counters dump on each (RTM_GETSTATS, see
//! [`crate::sys::netlink::stats`]) — no discovery, no setns, no /proc, no
//! attribution per tick. Names come from the last scan's link dumps; an
//! ifindex the scan did not see gets its namespace's links dumped once
//! more, and a rename shows at the next rediscovery.
//!
//! A socket stays in the namespace it was made in, so sockets are made on
//! a short-lived worker thread that enters each new namespace (the main
//! thread never leaves nsmap's; a thread that stayed in one would itself
//! hold it, and discovery would find it through the thread's ns link).
//!
//! A kept socket pins its namespace, so sockets follow discovery, as
//! `watch`'s subscriptions do: a full scan (for the labels) at start, when
//! /run/netns changes (inotify: `ip netns del` is seen at the next sample),
//! and otherwise every [`SamplerOptions::rediscover_every`]; sockets of
//! namespaces no longer found are dropped before that scan's dumps. A
//! namespace that ends without a /run/netns event (its last process
//! exits) is therefore kept alive by nsmap for at most that period.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use nix::sys::inotify::Inotify;

use crate::error::Error;
use crate::name::Name;
use crate::rates::{Reading, Sample};
use crate::raw::RawLink;
use crate::resolve::resolve;
use crate::select::Selector;
use crate::snapshot::{LinkStats, Namespace};
use crate::sys::netlink::{RECV_BUF, RtSocket};
use crate::sys::scan::{OpenNamespace, ScanOptions, scan_visiting};

/// How the sampler follows the host.
#[derive(Debug, Clone)]
pub struct SamplerOptions {
    /// Rediscover at least this often (and at once when /run/netns changes).
    pub rediscover_every: Duration,
    /// Only namespaces this selector picks (`--ns`).
    pub select: Option<Selector>,
}

/// A namespace being sampled: its socket and what the last scan said of it.
struct Kept {
    socket: RtSocket,
    /// `NS_GET_ID`, which tells a reused inode apart in [`crate::rates`].
    id: Option<u64>,
    label: String,
    /// Interface names by ifindex, from the last link dump.
    names: HashMap<u32, Name>,
}

/// One sample and what it cost.
#[derive(Debug, Clone, Default)]
pub struct Tick {
    pub sample: Sample,
    /// When the dumps began, on the sampler's monotonic clock (ns).
    pub at_ns: u64,
    /// How long the dumps of every namespace took.
    pub dump_ms: f64,
    /// Namespaces sampled.
    pub namespaces: usize,
    /// A rediscovery ran after the dumps: how long it took.
    pub rediscovered_ms: Option<f64>,
    /// A rediscovery failed (the sockets kept so far are sampled on).
    pub problem: Option<String>,
}

/// Keeps a socket per namespace and dumps their counters on demand.
pub struct Sampler {
    options: SamplerOptions,
    /// By inode; a BTreeMap so readings come out in inode order.
    kept: BTreeMap<u64, Kept>,
    /// Namespaces the selector did not pick, by inode, with their id (a
    /// new namespace on a reused inode gets another look).
    excluded: HashMap<u64, Option<u64>>,
    inotify: Option<Inotify>,
    last_discovery: Instant,
    epoch: Instant,
    buf: Vec<u8>,
    /// Whether the last scan could enter every namespace (root).
    privileged: bool,
}

impl Sampler {
    /// Discovers the host and opens a socket in every namespace found.
    /// Fails as a scan fails (no /proc, own namespace unreadable).
    pub fn new(options: SamplerOptions) -> Result<Sampler, Error> {
        let mut sampler = Sampler {
            options,
            kept: BTreeMap::new(),
            excluded: HashMap::new(),
            inotify: crate::sys::watch::watch_netns_dirs(),
            last_discovery: Instant::now(),
            epoch: Instant::now(),
            buf: vec![0u8; RECV_BUF],
            privileged: true,
        };
        sampler.rediscover()?;
        Ok(sampler)
    }

    /// Namespaces currently sampled.
    pub fn namespaces(&self) -> usize {
        self.kept.len()
    }

    /// False when the last scan could not enter other namespaces (not
    /// root): only nsmap's own is sampled then.
    pub fn privileged(&self) -> bool {
        self.privileged
    }

    /// Dumps every kept namespace's counters; then, when due,
    /// rediscovers (after the dumps, so a sample's timing does not wait
    /// for a scan). A socket whose dump fails is dropped: its namespace is
    /// gone or broken, and the next rediscovery opens it again if not.
    pub fn sample(&mut self) -> Tick {
        let started = Instant::now();
        let at_ns = mono_ns(self.epoch, started);
        let mut out = Vec::new();
        let mut failed = Vec::new();
        for (&inode, kept) in &mut self.kept {
            let at = mono_ns(self.epoch, Instant::now());
            let counters = match kept.socket.dump_stats(&mut self.buf) {
                Ok(c) => c.items,
                Err(_) => {
                    failed.push(inode);
                    continue;
                }
            };
            if counters.iter().any(|(i, _)| !kept.names.contains_key(i)) {
                // A device created since the last scan: its name, once.
                if let Ok(links) = kept.socket.dump_links(&mut self.buf, false) {
                    kept.names = names_of(&links.items);
                }
            }
            out.extend(readings(
                inode,
                kept.id,
                &kept.label,
                at,
                &counters,
                &kept.names,
            ));
        }
        for inode in failed {
            self.kept.remove(&inode);
        }
        let mut tick = Tick {
            sample: Sample { readings: out },
            at_ns,
            dump_ms: started.elapsed().as_secs_f64() * 1000.0,
            namespaces: self.kept.len(),
            rediscovered_ms: None,
            problem: None,
        };
        if self.due() {
            let t = Instant::now();
            if let Err(e) = self.rediscover() {
                tick.problem = Some(e.to_string());
            }
            tick.rediscovered_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
        }
        tick
    }

    /// Whether to rediscover now: the period passed, or /run/netns changed
    /// (its events are drained here).
    fn due(&mut self) -> bool {
        let mut changed = false;
        if let Some(inotify) = &self.inotify {
            while inotify.read_events().is_ok_and(|e| !e.is_empty()) {
                changed = true;
            }
        } else {
            // /run/netns appears with the first `ip netns add`.
            self.inotify = crate::sys::watch::watch_netns_dirs();
            changed = self.inotify.is_some();
        }
        changed || self.last_discovery.elapsed() >= self.options.rediscover_every
    }

    /// A full scan: drops the sockets of namespaces no longer found (before
    /// the scan's dumps), opens sockets in new ones, and takes every
    /// namespace's id and label from the resolved snapshot.
    fn rediscover(&mut self) -> Result<(), Error> {
        // Also on failure: a host where scans fail is retried once a
        // period, not on every tick.
        self.last_discovery = Instant::now();
        let mut opened: Vec<(u64, RtSocket)> = Vec::new();
        let kept = &mut self.kept;
        let excluded = &mut self.excluded;
        let raw = scan_visiting(&ScanOptions::default(), &mut |open| {
            let present: Vec<u64> = open.iter().map(|ns| ns.inode).collect();
            let plan = plan(
                &kept.keys().copied().collect(),
                &excluded.keys().copied().collect(),
                &present,
            );
            for inode in &plan.drop {
                kept.remove(inode);
                excluded.remove(inode);
            }
            let new: Vec<&OpenNamespace<'_>> = open
                .iter()
                .filter(|ns| plan.open.contains(&ns.inode))
                .collect();
            opened = open_sockets(&new);
        })?;
        self.privileged = raw.scan.privileged;
        let snapshot = resolve(&raw);
        let links: HashMap<u64, &[RawLink]> = raw
            .namespaces
            .iter()
            .filter(|n| n.scanned)
            .map(|n| (n.inode, n.links.as_slice()))
            .collect();
        self.adopt(&snapshot.namespaces, &links, opened);
        Ok(())
    }

    /// Takes the new sockets the selector wants, forgets the others, and
    /// refreshes ids, labels and interface names.
    fn adopt(
        &mut self,
        namespaces: &[Namespace],
        links: &HashMap<u64, &[RawLink]>,
        opened: Vec<(u64, RtSocket)>,
    ) {
        let by_inode: HashMap<u64, &Namespace> = namespaces.iter().map(|n| (n.inode, n)).collect();
        for (inode, socket) in opened {
            let Some(ns) = by_inode.get(&inode) else {
                continue;
            };
            if self.options.select.as_ref().is_some_and(|s| !s.matches(ns)) {
                self.excluded.insert(inode, ns.id);
                continue;
            }
            self.kept.insert(
                inode,
                Kept {
                    socket,
                    id: ns.id,
                    label: ns.label(),
                    names: HashMap::new(),
                },
            );
        }
        for (inode, kept) in &mut self.kept {
            if let Some(ns) = by_inode.get(inode) {
                kept.label = ns.label();
                kept.id = ns.id.or(kept.id);
            }
            if let Some(links) = links.get(inode) {
                kept.names = names_of(links);
            }
        }
        // A namespace on an excluded inode that is not the one excluded
        // (the inode was reused) is looked at again by the next scan.
        self.excluded
            .retain(|inode, id| by_inode.get(inode).is_none_or(|ns| ns.id == *id));
    }
}

/// Nanoseconds since `epoch`: a monotonic clock for the readings (a wall
/// clock stepped by NTP would make a rate jump).
fn mono_ns(epoch: Instant, at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX)
}

/// What a rediscovery changes, given the kept and excluded namespaces and
/// those discovery found now.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// Kept or excluded, no longer found: their sockets are closed.
    drop: Vec<u64>,
    /// Found and neither kept nor excluded: sockets to open.
    open: HashSet<u64>,
}

fn plan(kept: &HashSet<u64>, excluded: &HashSet<u64>, present: &[u64]) -> Plan {
    let found: HashSet<u64> = present.iter().copied().collect();
    let mut drop: Vec<u64> = kept
        .iter()
        .chain(excluded)
        .filter(|inode| !found.contains(inode))
        .copied()
        .collect();
    drop.sort_unstable();
    drop.dedup();
    let open = present
        .iter()
        .filter(|inode| !kept.contains(inode) && !excluded.contains(inode))
        .copied()
        .collect();
    Plan { drop, open }
}

fn names_of(links: &[RawLink]) -> HashMap<u32, Name> {
    links
        .iter()
        .map(|l| (l.ifindex, l.ifname.clone()))
        .collect()
}

/// One reading per device counted; a device without a known name (gone
/// between the two dumps) is named by its ifindex, as `#7`.
fn readings(
    inode: u64,
    id: Option<u64>,
    label: &str,
    at_ns: u64,
    counters: &[(u32, LinkStats)],
    names: &HashMap<u32, Name>,
) -> Vec<Reading> {
    counters
        .iter()
        .map(|(ifindex, stats)| Reading {
            netns: inode,
            netns_id: id,
            ifindex: *ifindex,
            ifname: names
                .get(ifindex)
                .cloned()
                .unwrap_or_else(|| Name::from(format!("#{ifindex}").as_str())),
            label: label.to_string(),
            at_ns,
            stats: stats.clone(),
        })
        .collect()
}

/// Sockets in `namespaces`: nsmap's own on this thread, the others from a
/// worker thread that enters each in turn and then ends (so no thread of
/// nsmap stays in a namespace). One that cannot be entered or opened is
/// left out; the next rediscovery tries again.
fn open_sockets(namespaces: &[&OpenNamespace<'_>]) -> Vec<(u64, RtSocket)> {
    crate::sys::keep::in_each(namespaces, || RtSocket::open().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u64]) -> HashSet<u64> {
        v.iter().copied().collect()
    }

    #[test]
    fn plan_drops_the_vanished_and_opens_only_the_new() {
        let p = plan(&set(&[1, 2, 3]), &set(&[7, 8]), &[2, 3, 4, 8, 9]);
        assert_eq!(p.drop, vec![1, 7]);
        assert_eq!(p.open, set(&[4, 9]));
        // Nothing found: everything goes, nothing opens.
        let p = plan(&set(&[1]), &set(&[2]), &[]);
        assert_eq!(p.drop, vec![1, 2]);
        assert!(p.open.is_empty());
        // A steady host: no work at all.
        assert_eq!(plan(&set(&[1, 2]), &set(&[]), &[2, 1]), Plan::default());
    }

    fn link(ifindex: u32, name: &str) -> RawLink {
        RawLink {
            ifindex,
            ifname: Name::from(name),
            ..RawLink::default()
        }
    }

    fn counted(ifindex: u32, rx_bytes: u64) -> (u32, LinkStats) {
        (
            ifindex,
            LinkStats {
                rx_bytes,
                ..LinkStats::default()
            },
        )
    }

    #[test]
    fn readings_name_each_counted_device_from_the_last_link_dump() {
        let names = names_of(&[link(1, "lo"), link(2, "eth0"), link(3, "\x1b[31mx")]);
        let counters = [counted(1, 10), counted(3, 30), counted(9, 90)];
        let r = readings(42, Some(7), "web", 1_000, &counters, &names);
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].netns, r[0].netns_id, r[0].ifindex), (42, Some(7), 1));
        assert_eq!(r[1].ifname, Name::from("\x1b[31mx"));
        assert_eq!(r[1].stats.rx_bytes, 30);
        // eth0 was not counted (gone): no reading; ifindex 9 is unnamed.
        assert_eq!(r[2].ifname.as_str(), "#9");
        assert!(r.iter().all(|r| r.label == "web" && r.at_ns == 1_000));
    }

    fn sampler(select: Option<&str>) -> Sampler {
        Sampler {
            options: SamplerOptions {
                rediscover_every: Duration::from_secs(5),
                select: select.map(|s| Selector::parse(std::ffi::OsStr::new(s))),
            },
            kept: BTreeMap::new(),
            excluded: HashMap::new(),
            inotify: None,
            last_discovery: Instant::now(),
            epoch: Instant::now(),
            buf: Vec::new(),
            privileged: true,
        }
    }

    fn namespace(inode: u64, id: u64, name: &str) -> Namespace {
        Namespace {
            inode,
            id: Some(id),
            names: vec![Name::from(name)],
            ..Namespace::default()
        }
    }

    /// Sockets as a rediscovery opens them (any namespace will do: only
    /// which inode they are filed under matters here).
    fn opened(inodes: &[u64]) -> Vec<(u64, RtSocket)> {
        inodes
            .iter()
            .map(|&i| (i, RtSocket::open().expect("a netlink socket")))
            .collect()
    }

    #[test]
    fn adopt_keeps_what_the_selector_picks_and_refreshes_labels_and_names() {
        let mut s = sampler(Some("blue"));
        let dumped = [link(1, "lo"), link(5, "eth0")];
        let links = HashMap::from([(1, &dumped[..])]);
        let found = [namespace(1, 11, "blue"), namespace(2, 12, "red")];
        // 3 vanished between its discovery and the end of the scan.
        s.adopt(&found, &links, opened(&[1, 2, 3]));
        assert_eq!(s.kept.keys().copied().collect::<Vec<_>>(), [1]);
        assert_eq!(s.kept[&1].label, "blue");
        assert_eq!(s.kept[&1].id, Some(11));
        assert_eq!(s.kept[&1].names[&5], Name::from("eth0"));
        assert_eq!(s.excluded, HashMap::from([(2, Some(12))]));
        // The next scan: blue renamed, and inode 2 now another namespace
        // (a new id): it gets another look.
        let found = [namespace(1, 11, "azure"), namespace(2, 13, "blue")];
        s.adopt(&found, &HashMap::new(), Vec::new());
        assert_eq!(s.kept[&1].label, "azure");
        // The names stay as the last link dump said.
        assert_eq!(s.kept[&1].names.len(), 2);
        assert!(s.excluded.is_empty());
        // Without a selector everything found is kept.
        let mut all = sampler(None);
        all.adopt(&found, &HashMap::new(), opened(&[1, 2]));
        assert_eq!(all.namespaces(), 2);
    }

    #[test]
    fn monotonic_clock_never_goes_backwards() {
        let epoch = Instant::now();
        let later = epoch + Duration::from_millis(1500);
        assert_eq!(mono_ns(epoch, later), 1_500_000_000);
        assert_eq!(mono_ns(later, epoch), 0);
    }
}
