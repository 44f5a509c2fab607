//! The bridges view: the tree of [`crate::tui::tree`] drawn with box
//! characters: bridge → ports → the interface (and namespace) at the other
//! end of each port's wire: "what is plugged into cni0".

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::text::{self, DIM, HEADER, WARN};
use super::{pane_block, row_style};
use crate::tui::app::App;
use crate::tui::layout;
use crate::tui::model::IfPos;
use crate::tui::tree::TreeRow;

/// Port names are padded to this width so states line up.
const PORT_WIDTH: usize = 16;

pub struct BridgesView<'a> {
    pub app: &'a App,
}

impl Widget for &BridgesView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let masters = app.tree.iter().filter(|r| r.is_master()).count();
        let title =
            format!(" Bridges {masters} · Enter: go to interface · Space: fold · b/Esc: back ");
        let height = layout::text_rows(area);
        let lines: Vec<Line> = if app.tree.is_empty() {
            vec![Line::styled(
                "no bridges in any namespace nsmap could see",
                DIM,
            )]
        } else {
            app.tree
                .iter()
                .skip(app.tree_offset)
                .take(height)
                .map(|row| {
                    let changed = row_changed(app, row);
                    let base = if changed { text::CHANGED } else { Style::new() };
                    tree_line(app, row, base)
                })
                .collect()
        };
        let block = pane_block(title, true);
        let inner = block.inner(area);
        Paragraph::new(lines).block(block).render(area, buf);
        // The cursor bar spans the whole row, not just the text.
        if let Some(dy) = app.tree_cursor.checked_sub(app.tree_offset)
            && dy < usize::from(inner.height)
            && !app.tree.is_empty()
        {
            let y = inner.y + u16::try_from(dy).unwrap_or(0);
            buf.set_style(
                Rect::new(inner.x, y, inner.width, 1),
                row_style(Style::new(), true, true),
            );
        }
    }
}

fn row_changed(app: &App, row: &TreeRow) -> bool {
    row.target()
        .and_then(|p| Some((app.model.ns(p.ns)?.inode, app.model.iface(p)?.ifindex)))
        .is_some_and(|(inode, ifindex)| app.if_changed(inode, ifindex))
}

fn tree_line(app: &App, row: &TreeRow, base: Style) -> Line<'static> {
    let m = &app.model;
    let filter = app.filter.as_ref();
    let name = |pos: IfPos| {
        m.iface(pos)
            .map_or_else(String::new, |i| i.ifname.as_str().to_string())
    };
    match row {
        TreeRow::Master {
            pos,
            ports,
            collapsed,
        } => {
            let Some(iface) = m.iface(*pos) else {
                return Line::default();
            };
            let mut spans = vec![Span::raw(if *collapsed { "▸ " } else { "▾ " })];
            spans.extend(text::highlight(&name(*pos), filter, base.patch(HEADER)).spans);
            spans.push(Span::raw(" @ "));
            spans.extend(text::highlight(m.label(pos.ns), filter, base).spans);
            spans.push(Span::styled(
                format!(
                    "  {}",
                    text::safe(iface.kind.as_deref().unwrap_or("master"))
                ),
                DIM,
            ));
            spans.push(Span::raw("  "));
            spans.push(text::span(
                &iface.operstate,
                text::state_style(&iface.operstate),
            ));
            spans.push(Span::styled(format!("  mtu {}", iface.mtu), DIM));
            if !iface.addresses.is_empty() {
                spans.push(Span::raw("  "));
                spans.extend(text::highlight(&iface.addresses.join(" "), filter, base).spans);
            }
            let s = if *ports == 1 { "" } else { "s" };
            spans.push(Span::styled(format!("  {ports} port{s}"), DIM));
            Line::from(spans)
        }
        TreeRow::Port { pos, last } => {
            let Some(port) = m.iface(*pos) else {
                return Line::default();
            };
            let branch = if *last { "  └─ " } else { "  ├─ " };
            let ifname = text::safe(&name(*pos));
            let pad = " ".repeat(PORT_WIDTH.saturating_sub(ifname.chars().count()));
            let mut spans = vec![Span::styled(branch, DIM)];
            spans.extend(text::highlight(&ifname, filter, base).spans);
            spans.push(Span::raw(pad));
            spans.push(Span::styled(
                format!(" {:<8}", text::safe(port.kind.as_deref().unwrap_or("-"))),
                DIM,
            ));
            spans.push(text::span(
                &format!("{:<8}", port.operstate),
                text::state_style(&port.operstate),
            ));
            if let Some(ps) = &port.port_state {
                spans.push(Span::styled(text::safe(ps), DIM));
            }
            Line::from(spans)
        }
        TreeRow::End {
            port,
            end,
            peer,
            last_port,
        } => {
            let stem = if *last_port {
                "       └─ "
            } else {
                "  │    └─ "
            };
            let what = if *peer { "" } else { "lower: " };
            let mut spans = vec![Span::styled(stem, DIM), Span::styled(what, DIM)];
            match end.and_then(|e| Some((e, m.iface(e)?))) {
                Some((e, iface)) => {
                    spans.extend(text::highlight(&name(e), filter, base).spans);
                    spans.push(Span::raw(" @ "));
                    spans.extend(text::highlight(m.label(e.ns), filter, base.patch(HEADER)).spans);
                    spans.push(Span::raw("  "));
                    spans.push(text::span(
                        &iface.operstate,
                        text::state_style(&iface.operstate),
                    ));
                    if !iface.addresses.is_empty() {
                        spans.push(Span::raw("  "));
                        spans.extend(
                            text::highlight(&iface.addresses.join(" "), filter, base).spans,
                        );
                    }
                    // What runs there, unless the label already says it.
                    if let Some(p) = m.ns(e.ns).and_then(|ns| ns.process.as_ref()) {
                        let process = format!("{}({})", text::safe(p.comm.as_str()), p.pid);
                        if process != m.label(e.ns) {
                            spans.push(Span::styled(format!("  {process}"), DIM));
                        }
                    }
                }
                None => {
                    let r = m.wire(*port);
                    let text = r.map_or_else(|| "?".to_string(), |r| m.describe(r));
                    spans.push(Span::raw(text));
                    spans.push(Span::styled("  (namespace not visible)", WARN));
                }
            }
            Line::from(spans)
        }
        TreeRow::Upper { pos, last } => {
            let Some(upper) = m.iface(*pos) else {
                return Line::default();
            };
            let branch = if *last { "  └┄ " } else { "  ├┄ " };
            let mut spans = vec![Span::styled(branch, DIM)];
            spans.extend(text::highlight(&name(*pos), filter, base).spans);
            spans.push(Span::raw(" @ "));
            spans.extend(text::highlight(m.label(pos.ns), filter, base.patch(HEADER)).spans);
            spans.push(Span::styled(
                format!(
                    "  {} on it",
                    text::safe(upper.kind.as_deref().unwrap_or("device"))
                ),
                DIM,
            ));
            spans.push(Span::raw("  "));
            spans.push(text::span(
                &upper.operstate,
                text::state_style(&upper.operstate),
            ));
            Line::from(spans)
        }
        TreeRow::NoPorts => Line::styled("  (no ports)", DIM),
    }
}
