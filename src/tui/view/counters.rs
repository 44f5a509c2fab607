//! The details pane's traffic section: the interface's rates over the
//! last refresh, sparklines of the last minute of rx, tx and drops, and
//! every counter the kernel keeps for it (the detailed error counters
//! only when not zero, so a healthy interface stays short).

use ratatui::text::{Line, Span};

use super::details::field;
use ratatui::style::Style;

use super::text::{self, DIM, HEADER, WARN};
use crate::render::{qdisc, units};
use crate::snapshot::{Interface, LinkStats, Namespace};
use crate::tui::app::App;
use crate::tui::traffic::{Point, sparkline};

/// Points a sparkline shows at most: one per refresh, the newest on the
/// right (the history keeps a minute).
const SPARK: usize = 40;

pub fn interface_lines(app: &App, ns: &Namespace, iface: &Interface, out: &mut Vec<Line<'static>>) {
    let Some(stats) = &iface.stats else {
        out.push(field(
            "counters",
            vec![Span::styled(
                "- (not read: a file recorded without them)",
                DIM,
            )],
        ));
        return;
    };
    out.push(Line::from(Span::styled("traffic", HEADER)));
    match app.traffic.rate(ns.inode, iface.ifindex) {
        Some(r) => {
            let rate = |bytes: f64, packets: f64| {
                vec![Span::raw(format!(
                    "{}  {}",
                    units::bytes_per_s(bytes),
                    units::count_per_s(packets).replace("/s", " pkt/s")
                ))]
            };
            out.push(field("rx", rate(r.rx_bytes_per_s, r.rx_packets_per_s)));
            out.push(field("tx", rate(r.tx_bytes_per_s, r.tx_packets_per_s)));
            let bad = r.dropped_per_s() > 0.0 || r.errors_per_s() > 0.0;
            out.push(field(
                "drops, errors",
                vec![Span::styled(
                    format!(
                        "{} drops  {} errors",
                        units::count_per_s(r.dropped_per_s()),
                        units::count_per_s(r.errors_per_s())
                    ),
                    if bad { WARN } else { DIM },
                )],
            ));
            let points: Vec<Point> = app
                .traffic
                .history(ns.inode, iface.ifindex)
                .copied()
                .collect();
            // What the bars cover: up to the last minute, at most SPARK
            // refreshes of it.
            let shown = &points[points.len().saturating_sub(SPARK)..];
            let secs: f64 = shown.iter().map(|p| p.seconds).sum();
            let rx = |p: &Point| p.rx_bytes_per_s;
            let tx = |p: &Point| p.tx_bytes_per_s;
            let drops = |p: &Point| p.dropped_per_s;
            spark(out, "rx history", shown, secs, rx, units::bytes_per_s);
            spark(out, "tx history", shown, secs, tx, units::bytes_per_s);
            spark(out, "drops history", shown, secs, drops, units::count_per_s);
        }
        None => out.push(field(
            "rates",
            vec![Span::styled(
                "- (from the next refresh: r, or run with --interval SECS)",
                DIM,
            )],
        )),
    }
    counter_lines(stats, out);
}

/// The interface's qdiscs, root first, each as the line a user acts on
/// and its counters; htb classes one per line under their qdisc.
pub fn qdisc_lines(iface: &Interface, out: &mut Vec<Line<'static>>) {
    let Some(qdiscs) = &iface.qdiscs else {
        return;
    };
    if qdiscs.is_empty() {
        out.push(field("qdisc", vec![Span::styled("none listed", DIM)]));
    }
    for (i, q) in qdiscs.iter().enumerate() {
        let impairs = q.netem.is_some();
        let spans = vec![
            Span::styled(qdisc::summary(q), if impairs { WARN } else { Style::new() }),
            Span::styled(
                format!(
                    "  {} parent {}",
                    text::safe(&q.handle),
                    text::safe(&q.parent)
                ),
                DIM,
            ),
        ];
        out.push(field(if i == 0 { "qdisc" } else { "" }, spans));
        if let Some(st) = &q.stats {
            let bad = st.drops > 0 || st.overlimits > 0;
            let counters = Span::styled(
                format!(
                    "  sent {} · dropped {} · overlimits {} · backlog {}b {}p",
                    units::bytes(st.bytes),
                    st.drops,
                    st.overlimits,
                    st.backlog,
                    st.qlen
                ),
                if bad { WARN } else { DIM },
            );
            out.push(field("", vec![counters]));
        }
        for c in q.classes.iter().flatten() {
            out.push(field(
                "",
                vec![Span::styled(
                    format!(
                        "  class {} rate {} ceil {}",
                        text::safe(&c.classid),
                        qdisc::rate(c.rate),
                        qdisc::rate(c.ceil)
                    ),
                    DIM,
                )],
            ));
        }
    }
}

/// A namespace's sums over its interfaces: rx + tx, and drops if any.
pub fn namespace_spans(app: &App, ns: &Namespace, total: f64) -> Vec<Span<'static>> {
    let (mut rx, mut tx, mut dropped) = (0.0, 0.0, 0.0);
    for r in ns
        .interfaces
        .iter()
        .filter_map(|i| app.traffic.rate(ns.inode, i.ifindex))
    {
        rx += r.rx_bytes_per_s;
        tx += r.tx_bytes_per_s;
        dropped += r.dropped_per_s();
    }
    let mut spans = vec![Span::raw(format!(
        "{}  (rx {}, tx {})",
        units::bytes_per_s(total),
        units::bytes_per_s(rx),
        units::bytes_per_s(tx)
    ))];
    if dropped > 0.0 {
        spans.push(Span::styled(
            format!("  {} drops", units::count_per_s(dropped)),
            WARN,
        ));
    }
    spans
}

/// One sparkline row with the peak it is scaled to.
fn spark(
    out: &mut Vec<Line<'static>>,
    name: &str,
    points: &[Point],
    secs: f64,
    value: fn(&Point) -> f64,
    unit: fn(f64) -> String,
) {
    let values: Vec<f64> = points.iter().map(value).collect();
    let peak = values.iter().copied().fold(0.0_f64, f64::max);
    out.push(field(
        name,
        vec![
            Span::raw(sparkline(&values, SPARK)),
            Span::styled(format!(" peak {} · last {secs:.0} s", unit(peak)), DIM),
        ],
    ));
}

/// Totals since the device was created.
fn counter_lines(s: &LinkStats, out: &mut Vec<Line<'static>>) {
    let pair = |bytes: u64, packets: u64| {
        vec![Span::raw(format!(
            "{}  {} packets",
            units::bytes(bytes),
            packets
        ))]
    };
    out.push(field("rx total", pair(s.rx_bytes, s.rx_packets)));
    out.push(field("tx total", pair(s.tx_bytes, s.tx_packets)));
    let warn = |n: u64| if n > 0 { WARN } else { DIM };
    out.push(field(
        "dropped",
        vec![Span::styled(
            format!("rx {}  tx {}", s.rx_dropped, s.tx_dropped),
            warn(s.rx_dropped.saturating_add(s.tx_dropped)),
        )],
    ));
    out.push(field(
        "errors",
        vec![Span::styled(
            format!("rx {}  tx {}", s.rx_errors, s.tx_errors),
            warn(s.rx_errors.saturating_add(s.tx_errors)),
        )],
    ));
    let mut other: Vec<(&str, u64)> = vec![
        ("multicast", s.multicast),
        ("collisions", s.collisions),
        ("rx_length_errors", s.rx_length_errors),
        ("rx_over_errors", s.rx_over_errors),
        ("rx_crc_errors", s.rx_crc_errors),
        ("rx_frame_errors", s.rx_frame_errors),
        ("rx_fifo_errors", s.rx_fifo_errors),
        ("rx_missed_errors", s.rx_missed_errors),
        ("tx_aborted_errors", s.tx_aborted_errors),
        ("tx_carrier_errors", s.tx_carrier_errors),
        ("tx_fifo_errors", s.tx_fifo_errors),
        ("tx_heartbeat_errors", s.tx_heartbeat_errors),
        ("tx_window_errors", s.tx_window_errors),
        ("rx_compressed", s.rx_compressed),
        ("tx_compressed", s.tx_compressed),
    ];
    other.extend(s.rx_nohandler.map(|n| ("rx_nohandler", n)));
    other.extend(s.rx_otherhost_dropped.map(|n| ("rx_otherhost_dropped", n)));
    other.extend(s.carrier_changes.map(|n| ("carrier_changes", n)));
    let shown: Vec<String> = other
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    if shown.is_empty() {
        out.push(field("other", vec![Span::styled("all 0", DIM)]));
    }
    // Three to a line: the pane does not wrap.
    for (i, chunk) in shown.chunks(3).enumerate() {
        out.push(field(
            if i == 0 { "other" } else { "" },
            vec![Span::raw(chunk.join("  "))],
        ));
    }
}
