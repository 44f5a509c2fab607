//! The TUI's traffic memory: the rates between each refresh and the one
//! before, and a minute of them per interface for the details pane's
//! sparklines. Pure: it is fed snapshots and computes with
//! [`crate::rates`], which pairs readings by namespace id and ifindex (so
//! a recreated interface or a reused inode starts a new history instead
//! of showing a spike).

use std::collections::{HashMap, VecDeque};

use crate::rates::{self, Rate, Sample};
use crate::snapshot::Snapshot;

/// How much history a sparkline shows, in seconds of measured time.
pub const WINDOW_S: f64 = 60.0;
/// At most this many points per interface (a 0.1 s interval over a minute).
const MAX_POINTS: usize = 600;

/// One measured interval of one interface.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub rx_bytes_per_s: f64,
    pub tx_bytes_per_s: f64,
    pub dropped_per_s: f64,
    /// The length of the interval it is measured over.
    pub seconds: f64,
}

/// Rates of the last refresh and a minute of history, by (inode, ifindex).
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    last: Option<Sample>,
    rates: HashMap<(u64, u32), Rate>,
    history: HashMap<(u64, u32), VecDeque<Point>>,
    /// Per-namespace sums of the last rates (rx + tx bytes/s).
    totals: HashMap<u64, f64>,
}

impl Traffic {
    /// Takes in a new snapshot: rates against the one before (none for
    /// the first, nor for a snapshot without counters, e.g. a file).
    pub fn update(&mut self, snapshot: &Snapshot) {
        let sample = Sample::from_snapshot(snapshot);
        if sample.readings.is_empty() {
            return;
        }
        let Some(prev) = self.last.replace(sample) else {
            return;
        };
        let Some(cur) = self.last.as_ref() else {
            return;
        };
        let fresh = rates::rates(&prev, cur);
        let mut history = std::mem::take(&mut self.history);
        self.rates.clear();
        self.totals.clear();
        for rate in fresh {
            let key = (rate.netns, rate.ifindex);
            // A new (unpaired) reading starts its history over.
            let mut points = history
                .remove(&key)
                .filter(|_| !rate.new)
                .unwrap_or_default();
            if !rate.new {
                points.push_back(Point {
                    rx_bytes_per_s: rate.rx_bytes_per_s,
                    tx_bytes_per_s: rate.tx_bytes_per_s,
                    dropped_per_s: rate.dropped_per_s(),
                    seconds: rate.seconds,
                });
                *self.totals.entry(rate.netns).or_default() += rate.total_bytes_per_s();
            }
            trim(&mut points);
            self.history.insert(key, points);
            self.rates.insert(key, rate);
        }
        // Interfaces that vanished take their history with them.
    }

    /// The interface's rates over the last refresh interval; None before
    /// a second snapshot, or for an interface first seen in the last one.
    pub fn rate(&self, netns: u64, ifindex: u32) -> Option<&Rate> {
        self.rates.get(&(netns, ifindex)).filter(|r| !r.new)
    }

    /// The namespace's rx + tx bytes/s; None before rates exist.
    pub fn total(&self, netns: u64) -> Option<f64> {
        self.totals.get(&netns).copied()
    }

    /// Whether any rate is known (the panes show rate columns from then on).
    pub fn measured(&self) -> bool {
        !self.totals.is_empty()
    }

    /// Up to a minute of points, oldest first.
    pub fn history(&self, netns: u64, ifindex: u32) -> impl Iterator<Item = &Point> {
        self.history.get(&(netns, ifindex)).into_iter().flatten()
    }
}

/// Keeps the points covering the last [`WINDOW_S`] seconds.
fn trim(points: &mut VecDeque<Point>) {
    let mut covered: f64 = points.iter().map(|p| p.seconds).sum();
    while points.len() > MAX_POINTS
        || (covered > WINDOW_S
            && points
                .front()
                .is_some_and(|p| covered - p.seconds >= WINDOW_S))
    {
        if let Some(p) = points.pop_front() {
            covered -= p.seconds;
        }
    }
}

/// `values` as a line of block characters, scaled to their maximum, the
/// last `width` of them (the newest on the right); spaces for none.
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let shown = &values[values.len().saturating_sub(width)..];
    let max = shown.iter().copied().fold(0.0_f64, f64::max);
    let mut out: String = " ".repeat(width.saturating_sub(shown.len()));
    for &v in shown {
        out.push(if max <= 0.0 || !v.is_finite() || v <= 0.0 {
            ' '
        } else {
            let level = (v / max * 7.0).round().clamp(0.0, 7.0) as usize;
            BARS[level]
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::testing::{host, iface, snapshot};
    use crate::snapshot::LinkStats;

    fn at(t_s: u64, rx_bytes: u64, ns_id: u64) -> Snapshot {
        let mut eth = iface(2, "eth0", None);
        eth.stats = Some(LinkStats {
            rx_bytes,
            ..LinkStats::default()
        });
        let mut h = host(1, vec![eth]);
        h.id = Some(ns_id);
        h.stats_at_ns = Some(t_s * 1_000_000_000);
        snapshot(vec![h])
    }

    #[test]
    fn rates_from_the_second_refresh_on_and_history_restarts_on_reset() {
        let mut t = Traffic::default();
        t.update(&at(10, 0, 7));
        assert!(!t.measured());
        assert_eq!(t.rate(1, 2), None);
        t.update(&at(12, 4000, 7));
        assert_eq!(t.rate(1, 2).map(|r| r.rx_bytes_per_s), Some(2000.0));
        assert_eq!(t.total(1), Some(2000.0));
        t.update(&at(13, 5000, 7));
        assert_eq!(t.history(1, 2).count(), 2);
        // The namespace was replaced (same inode, new id): no rate, no
        // history.
        t.update(&at(14, 9_999_999, 8));
        assert_eq!(t.rate(1, 2), None);
        assert_eq!(t.history(1, 2).count(), 0);
        // A file without counters changes nothing.
        let mut plain = at(15, 0, 8);
        plain.namespaces[0].stats_at_ns = None;
        t.update(&plain);
        assert_eq!(t.history(1, 2).count(), 0);
    }

    #[test]
    fn history_keeps_a_minute() {
        let mut t = Traffic::default();
        for s in 0..100 {
            t.update(&at(s, s * 100, 7));
        }
        assert_eq!(t.history(1, 2).count(), 60);
    }

    #[test]
    fn sparkline_scales_to_the_maximum() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 4.0], 6), "   ▃▅█");
        assert_eq!(sparkline(&[], 3), "   ");
        assert_eq!(sparkline(&[5.0, 0.0, 10.0], 2), " █");
        assert_eq!(sparkline(&[f64::NAN, 1.0], 2), " █");
    }
}
