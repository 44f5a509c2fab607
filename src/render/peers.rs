//! `nsmap peers IFACE`: each interface of that name and its other end.

use std::io::{self, Write};

use super::{Cell, Color, Style, Table};
use crate::query::PeerRow;
use crate::snapshot::LinkRef;

pub fn write_table(rows: &[PeerRow], style: &Style, out: &mut impl Write) -> io::Result<()> {
    let mut table = Table::new(&[
        "NETNS",
        "IFNAME",
        "KIND",
        "STATE",
        "PEER",
        "PEER NETNS",
        "PEER STATE",
        "PEER MASTER",
    ]);
    for row in rows {
        let (other, other_ns) = match (&row.peer, &row.link) {
            (Some(peer), _) => (Some(peer.name_or_index()), row.peer_netns_name.clone()),
            (None, Some(lower)) => (
                Some(format!("lower {}", lower.name_or_index())),
                row.link_netns_name.clone(),
            ),
            (None, None) => (None, None),
        };
        let other_ns =
            other_ns.or_else(|| row.peer.as_ref().map(|_| "? (not visible)".to_string()));
        let peer_state = row.peer_operstate.as_deref();
        table.push(vec![
            Cell::new(&row.netns_name),
            Cell::colored(
                row.interface.ifname.as_ref().map_or("", |n| n.as_str()),
                Some(Color::Bold),
            ),
            Cell::opt(row.kind.as_deref()),
            Cell::colored(&row.operstate, Color::for_state(&row.operstate)),
            Cell::opt(other),
            Cell::opt(other_ns),
            match peer_state {
                Some(s) => Cell::colored(s, Color::for_state(s)),
                None => Cell::opt(None::<&str>),
            },
            Cell::opt(row.peer_master.as_ref().map(LinkRef::name_or_index)),
        ]);
    }
    table.write(style, out)
}
