//! `nsmap bridges`: each bridge as a tree of its ports and what each port's
//! wire leads to — the "what is plugged into cni0" picture.

use std::io::{self, Write};

use super::{Cell, Color, Style, Table, paint};
use crate::query::{BridgeRow, PortRow};

pub fn write_tree(rows: &[BridgeRow], style: &Style, out: &mut impl Write) -> io::Result<()> {
    for (n, bridge) in rows.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let mut line = String::new();
        paint(
            &mut line,
            &Cell::colored(bridge.bridge.name_or_index(), Some(Color::Bold)),
            style,
        );
        line.push_str(" @ ");
        paint(&mut line, &Cell::new(&bridge.netns_name), style);
        line.push_str("  ");
        paint(
            &mut line,
            &Cell::colored(&bridge.operstate, Color::for_state(&bridge.operstate)),
            style,
        );
        line.push_str(&format!("  mtu {}", bridge.mtu));
        let addresses = routable(&bridge.addresses);
        if !addresses.is_empty() {
            line.push_str("  ");
            paint(&mut line, &Cell::new(addresses.join(",")), style);
        }
        writeln!(out, "{line}")?;
        if bridge.ports.is_empty() {
            writeln!(out, "└── (no ports)")?;
            continue;
        }
        let mut table = Table::headless(6);
        for (i, port) in bridge.ports.iter().enumerate() {
            let branch = if i + 1 == bridge.ports.len() {
                "└── "
            } else {
                "├── "
            };
            table.push(port_row(branch, port));
        }
        table.write(style, out)?;
    }
    Ok(())
}

fn port_row(branch: &str, port: &PortRow) -> Vec<Cell> {
    let state = port.port_state.as_deref().unwrap_or("-");
    let state_color = match state {
        "forwarding" => Some(Color::Green),
        "blocking" | "disabled" => Some(Color::Red),
        _ => Some(Color::Yellow),
    };
    let mut row = vec![
        Cell::new(format!("{branch}{}", port.port.name_or_index())),
        Cell::colored(state, state_color),
        Cell::colored(&port.operstate, Color::for_state(&port.operstate)),
    ];
    match &port.peer {
        Some(peer) => {
            let ns = port.peer_netns_name.as_deref().unwrap_or("? (not visible)");
            row.push(Cell::colored(
                format!("── {} @ {ns}", peer.name_or_index()),
                Some(Color::Bold),
            ));
            // The process only when the label does not already say it.
            let process = port
                .peer_process
                .as_ref()
                .map(|p| format!("{}({})", p.comm.as_str(), p.pid))
                .filter(|p| p != ns);
            row.push(Cell::colored(process.unwrap_or_default(), Some(Color::Dim)));
            row.push(Cell::new(routable(&port.peer_addresses).join(",")));
        }
        None => row.push(Cell::colored(
            port.kind
                .as_deref()
                .map(|k| format!("({k})"))
                .unwrap_or_default(),
            Some(Color::Dim),
        )),
    }
    row
}

/// Addresses worth showing in a tree: IPv6 link-local ones (fe80::/10) are
/// on every interface and say nothing about what is plugged in.
fn routable(addresses: &[String]) -> Vec<&str> {
    addresses
        .iter()
        .map(String::as_str)
        .filter(|a| !a.to_ascii_lowercase().starts_with("fe80:"))
        .collect()
}
