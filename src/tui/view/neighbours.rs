//! ARP/NDP entries in the details pane, as `ip neigh` lists them: address,
//! link-layer address, NUD state (coloured: a `FAILED` entry is often why a
//! path dies), and the device when the list is the namespace's.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::details::{field, not_read};
use super::text::{self, DIM};
use crate::snapshot::{Namespace, Neighbour};

/// Entries listed before "… and N more".
const MAX_NEIGHBOURS: usize = 100;

fn state_style(state: &[String]) -> Style {
    let has = |s: &str| state.iter().any(|x| x == s);
    if has("FAILED") || has("INCOMPLETE") {
        Style::new().fg(Color::Red)
    } else if has("REACHABLE") || has("PERMANENT") || has("NOARP") {
        Style::new().fg(Color::Green)
    } else {
        Style::new().fg(Color::Yellow)
    }
}

/// The namespace's neighbours, or only those on `ifindex`.
pub fn lines(ns: &Namespace, ifindex: Option<u32>, out: &mut Vec<Line<'static>>) {
    let Some(all) = &ns.neighbours else {
        out.push(field("neighbours", not_read()));
        return;
    };
    let shown: Vec<&Neighbour> = all
        .iter()
        .filter(|n| ifindex.is_none_or(|i| n.dev.ifindex == i))
        .collect();
    if shown.is_empty() {
        out.push(field("neighbours", vec![Span::styled("none", DIM)]));
        return;
    }
    let dst_width = shown
        .iter()
        .take(MAX_NEIGHBOURS)
        .map(|n| n.dst.to_string().len())
        .max()
        .unwrap_or(0);
    let ll_width = shown
        .iter()
        .take(MAX_NEIGHBOURS)
        .map(|n| n.lladdr.as_deref().map_or(1, |l| text::safe(l).width()))
        .max()
        .unwrap_or(0);
    let state_width = shown
        .iter()
        .take(MAX_NEIGHBOURS)
        .map(|n| text::safe(&n.state.join(",")).width())
        .max()
        .unwrap_or(0);
    for (i, n) in shown.iter().take(MAX_NEIGHBOURS).enumerate() {
        let lladdr = n
            .lladdr
            .as_deref()
            .map_or_else(|| "-".to_string(), text::safe);
        let pad = ll_width.saturating_sub(lladdr.width());
        let state = text::safe(&n.state.join(","));
        let state_pad = state_width.saturating_sub(state.width());
        let mut spans = vec![
            Span::raw(format!("{:<dst_width$}  ", n.dst)),
            Span::raw(format!("{lladdr}{}  ", " ".repeat(pad))),
            Span::styled(state, state_style(&n.state)),
            Span::raw(" ".repeat(state_pad)),
        ];
        if ifindex.is_none() {
            spans.push(Span::styled(
                format!("  dev {}", text::safe(&n.dev.name_or_index())),
                DIM,
            ));
        }
        let mut flags: Vec<&str> = Vec::new();
        if n.router {
            flags.push("router");
        }
        if n.proxy {
            flags.push("proxy");
        }
        flags.extend(n.flags.iter().map(String::as_str));
        if !flags.is_empty() {
            spans.push(text::span(&format!("  {}", flags.join(" ")), DIM));
        }
        out.push(field(if i == 0 { "neighbours" } else { "" }, spans));
    }
    if shown.len() > MAX_NEIGHBOURS {
        out.push(field(
            "",
            vec![Span::styled(
                format!("… and {} more", shown.len() - MAX_NEIGHBOURS),
                DIM,
            )],
        ));
    }
}
