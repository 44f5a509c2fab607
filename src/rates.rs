//! Two readings of the counters → rates per interface, pure.
//!
//! A reading is keyed by (namespace, ifindex), never by name alone (every
//! container has an eth0) and never by inode alone: an inode is reused by
//! a new namespace once the old one is gone, so a reading whose namespace
//! id differs from the one before is a different interface that happens to
//! sit at the same numbers. Rates are counter deltas over the time between
//! the two dumps of that interface's namespace (not the nominal interval:
//! a dump late by 100 ms would otherwise read 10% fast). Anything that
//! breaks the pair — a counter that went backwards (a device recreated),
//! a clock that did not advance, an interface first seen now — gives a
//! reading with no rates yet (`new`), never a huge or negative one.

use std::collections::HashMap;

use serde::Serialize;

use crate::name::Name;
use crate::snapshot::{LinkStats, Snapshot};

/// One interface's counters at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub netns: u64,
    /// `NS_GET_ID` of the namespace: what tells a reused inode apart.
    pub netns_id: Option<u64>,
    pub ifindex: u32,
    pub ifname: Name,
    /// The namespace label every view shows (pod, container, netns name…).
    pub label: String,
    /// When the counters were read (Unix ns, or any clock shared by the
    /// two readings being compared).
    pub at_ns: u64,
    pub stats: LinkStats,
}

/// Every interface's counters at one moment (each namespace read at its
/// own time).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    pub readings: Vec<Reading>,
}

impl Sample {
    /// The readings of a snapshot: every interface with counters in a
    /// namespace that says when they were read — on CLOCK_BOOTTIME, which
    /// every snapshot with counters has (the wall clock only as a fallback
    /// for a file that lacks it).
    pub fn from_snapshot(snapshot: &Snapshot) -> Sample {
        let mut readings = Vec::new();
        for ns in &snapshot.namespaces {
            let Some(at_ns) = ns.stats_boottime_ns.or(ns.stats_at_ns) else {
                continue;
            };
            let label = ns.label();
            for i in &ns.interfaces {
                if let Some(stats) = &i.stats {
                    readings.push(Reading {
                        netns: ns.inode,
                        netns_id: ns.id,
                        ifindex: i.ifindex,
                        ifname: i.ifname.clone(),
                        label: label.clone(),
                        at_ns,
                        stats: stats.clone(),
                    });
                }
            }
        }
        Sample { readings }
    }
}

/// One interface's rates between two readings (per second).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Rate {
    pub netns: u64,
    pub ifindex: u32,
    pub ifname: Name,
    pub label: String,
    pub rx_bytes_per_s: f64,
    pub tx_bytes_per_s: f64,
    pub rx_packets_per_s: f64,
    pub tx_packets_per_s: f64,
    pub rx_dropped_per_s: f64,
    pub tx_dropped_per_s: f64,
    pub rx_errors_per_s: f64,
    pub tx_errors_per_s: f64,
    /// No earlier reading pairs with this one (first seen, recreated, a
    /// reused inode): the rates are 0 until the next sample.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new: bool,
    /// The seconds the rates are measured over (0 when `new`).
    #[serde(skip)]
    pub seconds: f64,
    /// `rx_nohandler` per second (null where the kernel has no such counter).
    #[serde(skip)]
    pub rx_nohandler_per_s: Option<f64>,
}

impl Rate {
    pub fn total_bytes_per_s(&self) -> f64 {
        self.rx_bytes_per_s + self.tx_bytes_per_s
    }
    pub fn dropped_per_s(&self) -> f64 {
        self.rx_dropped_per_s + self.tx_dropped_per_s
    }
    pub fn errors_per_s(&self) -> f64 {
        self.rx_errors_per_s + self.tx_errors_per_s
    }
}

/// The rates of every interface in `cur`, paired with `prev` by
/// (namespace inode, namespace id, ifindex); in `cur`'s order.
pub fn rates(prev: &Sample, cur: &Sample) -> Vec<Rate> {
    let before: HashMap<(u64, u32), &Reading> = prev
        .readings
        .iter()
        .map(|r| ((r.netns, r.ifindex), r))
        .collect();
    cur.readings
        .iter()
        .map(|r| rate(before.get(&(r.netns, r.ifindex)).copied(), r))
        .collect()
}

/// One interface's rate, or a `new` reading when `prev` does not pair.
pub fn rate(prev: Option<&Reading>, cur: &Reading) -> Rate {
    let mut out = Rate {
        netns: cur.netns,
        ifindex: cur.ifindex,
        ifname: cur.ifname.clone(),
        label: cur.label.clone(),
        new: true,
        ..Rate::default()
    };
    let Some(prev) = prev.filter(|p| pairs(p, cur)) else {
        return out;
    };
    // Paired: a clock that advanced, the same namespace, counters that
    // only grew (checked by `pairs`).
    let secs = (cur.at_ns - prev.at_ns) as f64 / 1e9;
    let per_s = |a: u64, b: u64| (b - a) as f64 / secs;
    let (a, b) = (&prev.stats, &cur.stats);
    out.rx_bytes_per_s = per_s(a.rx_bytes, b.rx_bytes);
    out.tx_bytes_per_s = per_s(a.tx_bytes, b.tx_bytes);
    out.rx_packets_per_s = per_s(a.rx_packets, b.rx_packets);
    out.tx_packets_per_s = per_s(a.tx_packets, b.tx_packets);
    out.rx_dropped_per_s = per_s(a.rx_dropped, b.rx_dropped);
    out.tx_dropped_per_s = per_s(a.tx_dropped, b.tx_dropped);
    out.rx_errors_per_s = per_s(a.rx_errors, b.rx_errors);
    out.tx_errors_per_s = per_s(a.tx_errors, b.tx_errors);
    out.rx_nohandler_per_s = match (a.rx_nohandler, b.rx_nohandler) {
        (Some(x), Some(y)) if y >= x => Some(per_s(x, y)),
        _ => None,
    };
    out.seconds = secs;
    out.new = false;
    out
}

/// Whether two readings are of one device over a forward interval.
fn pairs(prev: &Reading, cur: &Reading) -> bool {
    let same_ns = match (prev.netns_id, cur.netns_id) {
        (Some(a), Some(b)) => a == b,
        // Without ids (an unprivileged scan), the inode is all there is;
        // a counter going backwards still catches most recreations.
        _ => true,
    };
    let (a, b) = (&prev.stats, &cur.stats);
    let grew = [
        (a.rx_bytes, b.rx_bytes),
        (a.tx_bytes, b.tx_bytes),
        (a.rx_packets, b.rx_packets),
        (a.tx_packets, b.tx_packets),
        (a.rx_dropped, b.rx_dropped),
        (a.tx_dropped, b.tx_dropped),
        (a.rx_errors, b.rx_errors),
        (a.tx_errors, b.tx_errors),
    ]
    .iter()
    .all(|(x, y)| y >= x);
    same_ns && grew && cur.at_ns > prev.at_ns
}

/// What `top` ranks by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    Rx,
    Tx,
    #[default]
    Total,
    Drops,
    Errors,
}

impl SortKey {
    pub fn value(self, r: &Rate) -> f64 {
        match self {
            SortKey::Rx => r.rx_bytes_per_s,
            SortKey::Tx => r.tx_bytes_per_s,
            SortKey::Total => r.total_bytes_per_s(),
            SortKey::Drops => r.dropped_per_s(),
            SortKey::Errors => r.errors_per_s(),
        }
    }

    /// The next key, for a key that cycles through them.
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Rx => SortKey::Tx,
            SortKey::Tx => SortKey::Total,
            SortKey::Total => SortKey::Drops,
            SortKey::Drops => SortKey::Errors,
            SortKey::Errors => SortKey::Rx,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Rx => "rx",
            SortKey::Tx => "tx",
            SortKey::Total => "total",
            SortKey::Drops => "drops",
            SortKey::Errors => "errors",
        }
    }
}

/// Busiest first by `key`; ties (most often: idle) by total bytes, then
/// by namespace and ifindex, so the order is stable from sample to sample.
pub fn sort(rates: &mut [Rate], key: SortKey) {
    rates.sort_by(|a, b| {
        key.value(b)
            .total_cmp(&key.value(a))
            .then_with(|| b.total_bytes_per_s().total_cmp(&a.total_bytes_per_s()))
            .then_with(|| (a.netns, a.ifindex).cmp(&(b.netns, b.ifindex)))
    });
}

/// One namespace's sums over its interfaces.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NamespaceTotal {
    pub netns: u64,
    pub label: String,
    pub rx_bytes_per_s: f64,
    pub tx_bytes_per_s: f64,
    pub rx_packets_per_s: f64,
    pub tx_packets_per_s: f64,
    pub dropped_per_s: f64,
    pub errors_per_s: f64,
}

/// Per-namespace totals, in order of first appearance in `rates`.
pub fn totals(rates: &[Rate]) -> Vec<NamespaceTotal> {
    let mut out: Vec<NamespaceTotal> = Vec::new();
    let mut at: HashMap<u64, usize> = HashMap::new();
    for r in rates {
        let i = *at.entry(r.netns).or_insert_with(|| {
            out.push(NamespaceTotal {
                netns: r.netns,
                label: r.label.clone(),
                ..NamespaceTotal::default()
            });
            out.len() - 1
        });
        let t = &mut out[i];
        t.rx_bytes_per_s += r.rx_bytes_per_s;
        t.tx_bytes_per_s += r.tx_bytes_per_s;
        t.rx_packets_per_s += r.rx_packets_per_s;
        t.tx_packets_per_s += r.tx_packets_per_s;
        t.dropped_per_s += r.dropped_per_s();
        t.errors_per_s += r.errors_per_s();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(netns: u64, id: Option<u64>, ifindex: u32, name: &str, at_s: f64) -> Reading {
        Reading {
            netns,
            netns_id: id,
            ifindex,
            ifname: Name::from(name),
            label: format!("ns{netns}"),
            at_ns: (at_s * 1e9) as u64,
            stats: LinkStats::default(),
        }
    }

    fn with(mut r: Reading, rx_bytes: u64, rx_packets: u64, tx_dropped: u64) -> Reading {
        r.stats.rx_bytes = rx_bytes;
        r.stats.rx_packets = rx_packets;
        r.stats.tx_dropped = tx_dropped;
        r
    }

    fn sample(readings: Vec<Reading>) -> Sample {
        Sample { readings }
    }

    #[test]
    fn rate_is_delta_over_measured_time() {
        let a = sample(vec![with(
            reading(1, Some(7), 2, "eth0", 10.0),
            1000,
            10,
            0,
        )]);
        // 1.25 s later, not the nominal second.
        let b = sample(vec![with(
            reading(1, Some(7), 2, "eth0", 11.25),
            3500,
            20,
            5,
        )]);
        let r = &rates(&a, &b)[0];
        assert!(!r.new);
        assert_eq!(r.rx_bytes_per_s, 2000.0);
        assert_eq!(r.rx_packets_per_s, 8.0);
        assert_eq!(r.tx_dropped_per_s, 4.0);
        assert_eq!(r.dropped_per_s(), 4.0);
        assert_eq!(r.seconds, 1.25);
    }

    #[test]
    fn counter_reset_is_new_not_negative() {
        // eth0 deleted and recreated with the same name and (rarely) the
        // same ifindex: its counters start again.
        let a = sample(vec![with(
            reading(1, Some(7), 2, "eth0", 10.0),
            1 << 40,
            10,
            0,
        )]);
        let b = sample(vec![with(reading(1, Some(7), 2, "eth0", 11.0), 100, 1, 0)]);
        let r = &rates(&a, &b)[0];
        assert!(r.new);
        assert_eq!(r.rx_bytes_per_s, 0.0);
        // Recreated with a new ifindex: nothing pairs with it.
        let b = sample(vec![with(
            reading(1, Some(7), 9, "eth0", 11.0),
            1 << 41,
            10,
            0,
        )]);
        assert!(rates(&a, &b)[0].new);
    }

    #[test]
    fn vanished_interface_is_dropped_and_renamed_one_keeps_its_rate() {
        let a = sample(vec![
            with(reading(1, Some(7), 2, "eth0", 10.0), 0, 0, 0),
            with(reading(1, Some(7), 3, "gone", 10.0), 0, 0, 0),
        ]);
        let b = sample(vec![with(
            reading(1, Some(7), 2, "renamed", 11.0),
            500,
            5,
            0,
        )]);
        let r = rates(&a, &b);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].ifname.as_str(), "renamed");
        assert!(!r[0].new);
        assert_eq!(r[0].rx_bytes_per_s, 500.0);
    }

    #[test]
    fn reused_inode_is_told_apart_by_namespace_id() {
        let a = sample(vec![with(reading(1, Some(7), 2, "eth0", 10.0), 0, 0, 0)]);
        // A new namespace got inode 1 again; its eth0 has more traffic
        // already than the old one had.
        let b = sample(vec![with(reading(1, Some(8), 2, "eth0", 11.0), 9000, 9, 0)]);
        assert!(rates(&a, &b)[0].new);
        // Without ids the inode decides.
        let a = sample(vec![with(reading(1, None, 2, "eth0", 10.0), 0, 0, 0)]);
        let b = sample(vec![with(reading(1, None, 2, "eth0", 11.0), 9000, 9, 0)]);
        assert!(!rates(&a, &b)[0].new);
    }

    #[test]
    fn clock_that_did_not_advance_gives_no_rate() {
        let a = sample(vec![with(reading(1, Some(7), 2, "eth0", 10.0), 0, 0, 0)]);
        let b = sample(vec![with(reading(1, Some(7), 2, "eth0", 10.0), 10, 1, 0)]);
        assert!(rates(&a, &b)[0].new);
        let b = sample(vec![with(reading(1, Some(7), 2, "eth0", 9.0), 10, 1, 0)]);
        assert!(rates(&a, &b)[0].new);
    }

    #[test]
    fn sort_and_totals() {
        let a = sample(vec![
            with(reading(1, Some(7), 1, "lo", 0.0), 0, 0, 0),
            with(reading(1, Some(7), 2, "eth0", 0.0), 0, 0, 0),
            with(reading(2, Some(8), 2, "eth0", 0.0), 0, 0, 0),
        ]);
        let b = sample(vec![
            with(reading(1, Some(7), 1, "lo", 1.0), 10, 1, 0),
            with(reading(1, Some(7), 2, "eth0", 1.0), 100, 1, 3),
            with(reading(2, Some(8), 2, "eth0", 1.0), 50, 1, 0),
        ]);
        let mut r = rates(&a, &b);
        sort(&mut r, SortKey::Rx);
        let order: Vec<_> = r.iter().map(|r| (r.netns, r.ifindex)).collect();
        assert_eq!(order, [(1, 2), (2, 2), (1, 1)]);
        sort(&mut r, SortKey::Drops);
        assert_eq!((r[0].netns, r[0].ifindex), (1, 2));
        // Ties on drops fall back to total bytes.
        assert_eq!((r[1].netns, r[1].ifindex), (2, 2));
        let t = totals(&r);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].netns, 1);
        assert_eq!(t[0].rx_bytes_per_s, 110.0);
        assert_eq!(t[0].dropped_per_s, 3.0);
        assert_eq!(SortKey::Errors.next(), SortKey::Rx);
    }
}
