//! `nsmap path`: the wire the packet follows on one line, each hop with the
//! route it used, then the verdict, its reason and a fix where one is
//! clear.

use std::io::{self, Write};

use super::{Cell, Color, Style, Table, paint};
use crate::name::terminal_safe;
use crate::path::{Action, Hop, RouteUsed, Trace, Verdict};
use crate::render::routes::table_name;
use crate::snapshot::LinkRef;

/// `eth0@web → veth3f2a@host → cni0 → veth9c1e → eth0@db`: every device
/// in order, each namespace's label on its first one.
pub fn wire_line(hops: &[Hop]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut last: Option<(Option<u64>, u32)> = None;
    for hop in hops {
        let mut devices: Vec<&LinkRef> = Vec::new();
        // `via` runs from the device it arrived by to the one it left by;
        // without it (it stopped before the wire), `in` and `out`.
        if hop.via.is_empty() {
            devices.extend(hop.in_.iter());
            devices.extend(hop.out.iter());
        } else {
            devices.extend(hop.via.iter());
        }
        let mut first_here = true;
        for d in devices {
            let key = (d.netns, d.ifindex);
            if last == Some(key) {
                continue;
            }
            last = Some(key);
            let name = d.name_or_index();
            if first_here {
                parts.push(format!("{name}@{}", hop.label));
                first_here = false;
            } else {
                parts.push(name);
            }
        }
        if first_here {
            parts.push(format!("@{}", hop.label));
        }
    }
    terminal_safe(&parts.join(" → ")).into_owned()
}

fn action_word(action: Action) -> &'static str {
    match action {
        Action::Originate => "originate",
        Action::Forward => "forward",
        Action::Bridge => "bridge",
        Action::Deliver => "deliver",
        Action::Drop => "drop",
        Action::Unknown => "unknown",
    }
}

/// `default via 10.88.0.1 dev eth0 (rule 32766)`, `local 10.0.0.2 dev
/// eth0 table local (rule 0)`: as `ip route` prints a route, with the rule
/// that chose it.
pub fn route_text(r: &RouteUsed) -> String {
    let dst = r
        .dst
        .split_once('/')
        .map_or(r.dst.clone(), |(a, l)| match l {
            "0" => "default".to_string(),
            "32" | "128" => a.to_string(),
            _ => r.dst.clone(),
        });
    let mut s = String::new();
    if r.kind != "unicast" {
        s.push_str(&r.kind);
        s.push(' ');
    }
    s.push_str(&dst);
    if let Some(gw) = r.gateway {
        s.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = &r.dev {
        s.push_str(&format!(" dev {}", dev.name_or_index()));
    }
    if r.table != crate::snapshot::l3::TABLE_MAIN {
        s.push_str(&format!(" table {}", table_name(r.table)));
    }
    if r.nexthops.len() > 1 {
        s.push_str(&format!(" (1 of {} next hops)", r.nexthops.len()));
    }
    if let Some(rule) = r.rule {
        s.push_str(&format!(" (rule {rule})"));
    }
    s
}

fn hop_table(hops: &[Hop], style: &Style, out: &mut impl Write) -> io::Result<()> {
    let mut table = Table::new(&["NETNS", "ACTION", "IN", "OUT", "ROUTE"]);
    for hop in hops {
        let color = match hop.action {
            Action::Drop => Some(Color::Red),
            Action::Unknown => Some(Color::Yellow),
            Action::Deliver => Some(Color::Green),
            _ => None,
        };
        let route = hop.route.as_ref().map(route_text).or_else(|| {
            (hop.action == Action::Bridge && !hop.via.is_empty()).then(|| {
                hop.via
                    .iter()
                    .map(LinkRef::name_or_index)
                    .collect::<Vec<_>>()
                    .join(" → ")
            })
        });
        table.push(vec![
            Cell::new(&hop.label),
            Cell::colored(action_word(hop.action), color),
            Cell::opt(hop.in_.as_ref().map(LinkRef::name_or_index)),
            Cell::opt(hop.out.as_ref().map(LinkRef::name_or_index)),
            Cell::opt(route),
        ]);
    }
    table.write(style, out)
}

/// The rules that decided at each hop (chains without rules, which only
/// pass by policy, are left to the JSON).
fn firewall_lines(hops: &[Hop], out: &mut impl Write) -> io::Result<()> {
    for hop in hops {
        for step in &hop.firewall {
            let Some(rule) = &step.rule else { continue };
            let within = step
                .rule_chain
                .as_ref()
                .filter(|c| **c != step.chain)
                .map(|c| format!(" in chain {}", c.as_str()))
                .unwrap_or_default();
            writeln!(
                out,
                "  {} {} {} {}/{}: {}, by {}{}{}",
                terminal_safe(&hop.label),
                step.hook,
                step.family,
                terminal_safe(step.table.as_str()),
                terminal_safe(step.chain.as_str()),
                step.verdict,
                terminal_safe(rule),
                within,
                step.handle
                    .map(|h| format!(" (handle {h})"))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

pub fn write(trace: &Trace, style: &Style, out: &mut impl Write) -> io::Result<()> {
    let src = trace
        .src
        .address
        .map_or_else(|| "no source address".to_string(), |a| a.to_string());
    writeln!(
        out,
        "{} → {} ({}{})",
        src,
        trace.dst.address,
        match trace.proto {
            crate::path::Proto::Icmp => "icmp".to_string(),
            crate::path::Proto::Tcp => "tcp".to_string(),
            crate::path::Proto::Udp => "udp".to_string(),
        },
        trace
            .dport
            .map(|p| format!(" port {p}"))
            .unwrap_or_default()
    )?;
    writeln!(out)?;
    writeln!(out, "forward: {}", wire_line(&trace.forward))?;
    hop_table(&trace.forward, style, out)?;
    firewall_lines(&trace.forward, out)?;
    if !trace.back.is_empty() {
        writeln!(out)?;
        writeln!(out, "return:  {}", wire_line(&trace.back))?;
        hop_table(&trace.back, style, out)?;
        firewall_lines(&trace.back, out)?;
    }
    writeln!(out)?;
    let color = match trace.verdict {
        Verdict::Reachable => Color::Green,
        Verdict::Unreachable => Color::Red,
        Verdict::Unknown => Color::Yellow,
    };
    let mut verdict = String::new();
    paint(
        &mut verdict,
        &Cell::colored(trace.verdict.as_str(), Some(color)),
        style,
    );
    if let Some(code) = trace.code {
        verdict.push_str(&format!(" ({})", code.as_str()));
    }
    if let Some(direction) = trace.direction {
        let hops = match direction {
            crate::path::Direction::Forward => &trace.forward,
            crate::path::Direction::Return => &trace.back,
        };
        if let Some(last) = hops.last() {
            verdict.push_str(&format!(" at {}", terminal_safe(&last.label)));
        }
        verdict.push_str(match direction {
            crate::path::Direction::Forward => ", on the way there",
            crate::path::Direction::Return => ", on the way back",
        });
    }
    writeln!(out, "{verdict}")?;
    if let Some(reason) = &trace.reason {
        writeln!(out, "  {}", terminal_safe(reason))?;
    }
    if let Some(hint) = &trace.hint {
        writeln!(out, "  fix: {}", terminal_safe(hint))?;
    }
    for note in &trace.notes {
        writeln!(out, "  note: {}", terminal_safe(note))?;
    }
    Ok(())
}
