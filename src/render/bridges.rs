//! `nsmap bridges`: each bridge as a tree of its ports and what each port's
//! wire leads to — the "what is plugged into cni0" picture.

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::peers::ifname;
use super::{Cell, Color, Style, paint};
use crate::query::BridgeRow;

pub fn write_tree(rows: &[BridgeRow], style: &Style, out: &mut impl Write) -> io::Result<()> {
    for (n, bridge) in rows.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let mut line = String::new();
        paint(
            &mut line,
            &Cell::colored(ifname(&bridge.bridge), Some(Color::Bold)),
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
        if !bridge.addresses.is_empty() {
            line.push_str("  ");
            paint(&mut line, &Cell::new(bridge.addresses.join(",")), style);
        }
        writeln!(out, "{line}")?;
        if bridge.ports.is_empty() {
            writeln!(out, "└── (no ports)")?;
            continue;
        }
        let names: Vec<Cell> = bridge
            .ports
            .iter()
            .map(|p| Cell::new(ifname(&p.port)))
            .collect();
        let width = names.iter().map(cell_width).max().unwrap_or(0);
        for (i, (port, name)) in bridge.ports.iter().zip(&names).enumerate() {
            let mut line = String::from(if i + 1 == bridge.ports.len() {
                "└── "
            } else {
                "├── "
            });
            paint(&mut line, name, style);
            line.extend(std::iter::repeat_n(' ', width - cell_width(name) + 2));
            let state = port.port_state.as_deref().unwrap_or("-");
            let state_color = match state {
                "forwarding" => Some(Color::Green),
                "blocking" | "disabled" => Some(Color::Red),
                _ => Some(Color::Yellow),
            };
            paint(
                &mut line,
                &Cell::colored(format!("{state:<10}"), state_color),
                style,
            );
            line.push_str("  ");
            paint(
                &mut line,
                &Cell::colored(
                    format!("{:<4}", port.operstate),
                    Color::for_state(&port.operstate),
                ),
                style,
            );
            match &port.peer {
                Some(peer) => {
                    line.push_str("  ── ");
                    paint(
                        &mut line,
                        &Cell::colored(ifname(peer), Some(Color::Bold)),
                        style,
                    );
                    line.push_str(" @ ");
                    let ns = port.peer_netns_name.as_deref().unwrap_or("? (not visible)");
                    paint(&mut line, &Cell::new(ns), style);
                    if let Some(p) = &port.peer_process {
                        line.push_str("  ");
                        paint(
                            &mut line,
                            &Cell::colored(
                                format!("{}({})", p.comm.as_str(), p.pid),
                                Some(Color::Dim),
                            ),
                            style,
                        );
                    }
                    if !port.peer_addresses.is_empty() {
                        line.push_str("  ");
                        paint(&mut line, &Cell::new(port.peer_addresses.join(",")), style);
                    }
                }
                None => {
                    if let Some(kind) = &port.kind {
                        line.push_str("  ");
                        paint(
                            &mut line,
                            &Cell::colored(format!("({kind})"), Some(Color::Dim)),
                            style,
                        );
                    }
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    Ok(())
}

fn cell_width(cell: &Cell) -> usize {
    cell.text.width()
}
