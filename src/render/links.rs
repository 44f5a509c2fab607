//! `nsmap links`: one row per interface, with where its wire leads.

use std::io::{self, Write};

use serde::Serialize;

use super::{Cell, Color, Style, Table};
use crate::query::Scope;
use crate::snapshot::{Interface, LinkRef, Snapshot};

/// A `links --json` row: the interface's fields plus its namespace.
#[derive(Debug, Serialize)]
pub struct LinkRow<'a> {
    pub netns: u64,
    pub netns_name: String,
    #[serde(flatten)]
    pub interface: &'a Interface,
}

pub fn rows<'a>(snapshot: &'a Snapshot, scope: &Scope) -> Vec<LinkRow<'a>> {
    snapshot
        .namespaces
        .iter()
        .filter(|ns| scope.contains(ns.inode))
        .flat_map(|ns| {
            ns.interfaces.iter().map(move |i| LinkRow {
                netns: ns.inode,
                netns_name: ns.label(),
                interface: i,
            })
        })
        .collect()
}

pub fn write_table(
    snapshot: &Snapshot,
    rows: &[LinkRow<'_>],
    style: &Style,
    out: &mut impl Write,
) -> io::Result<()> {
    let index = snapshot.index();
    let mut table = Table::new(&[
        "NETNS",
        "IFINDEX",
        "IFNAME",
        "KIND",
        "STATE",
        "MTU",
        "MASTER",
        "PEER/LOWER",
        "ADDRESSES",
    ]);
    for row in rows {
        let i = row.interface;
        let wire = match (&i.peer, &i.link) {
            (Some(peer), _) => Some(index.describe(peer)),
            (None, Some(lower)) => Some(format!("lower {}", index.describe(lower))),
            (None, None) => None,
        };
        let master = i.master.as_ref().map(LinkRef::name_or_index);
        table.push(vec![
            Cell::new(&row.netns_name),
            Cell::new(i.ifindex.to_string()),
            Cell::colored(i.ifname.as_str(), Some(Color::Bold)),
            Cell::opt(i.kind.as_deref()),
            Cell::colored(&i.operstate, Color::for_state(&i.operstate)),
            Cell::new(i.mtu.to_string()),
            Cell::opt(master),
            Cell::opt(wire),
            Cell::opt((!i.addresses.is_empty()).then(|| i.addresses.join(","))),
        ]);
    }
    table.write(style, out)
}

/// `links --stats`: each interface's counters since it was created, like
/// `ip -s link` in every namespace at once; `-` where the kernel sent none.
pub fn write_stats_table(
    rows: &[LinkRow<'_>],
    style: &Style,
    out: &mut impl Write,
) -> io::Result<()> {
    use super::units;
    let mut table = Table::new(&[
        "NETNS", "IFNAME", "STATE", "RX", "RX PKTS", "TX", "TX PKTS", "DROPS", "ERRORS", "QDISC",
    ]);
    for row in rows {
        let i = row.interface;
        let s = i.stats.as_ref();
        let total = |f: fn(&crate::snapshot::LinkStats) -> u64| s.map(|s| units::count(f(s)));
        let dropped = s.map(|s| s.rx_dropped.saturating_add(s.tx_dropped));
        let errors = s.map(|s| s.rx_errors.saturating_add(s.tx_errors));
        table.push(vec![
            Cell::new(&row.netns_name),
            Cell::colored(i.ifname.as_str(), Some(Color::Bold)),
            Cell::colored(&i.operstate, Color::for_state(&i.operstate)),
            Cell::opt(s.map(|s| units::bytes(s.rx_bytes))),
            Cell::opt(total(|s| s.rx_packets)),
            Cell::opt(s.map(|s| units::bytes(s.tx_bytes))),
            Cell::opt(total(|s| s.tx_packets)),
            warn_cell(dropped),
            warn_cell(errors),
            Cell::opt(super::qdisc::root_summary(i)),
        ]);
    }
    table.write(style, out)
}

/// A drop or error total: highlighted when not zero.
fn warn_cell(n: Option<u64>) -> Cell {
    match n {
        Some(0) => Cell::new("0"),
        Some(n) => Cell::colored(super::units::count(n), Some(Color::Yellow)),
        None => Cell::opt(None::<String>),
    }
}
