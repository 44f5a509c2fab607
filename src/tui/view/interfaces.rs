//! The interfaces pane: the selected namespace's interfaces with kind,
//! coloured state, MTU, master, addresses and where each one's wire leads
//! (`ifname @ namespace`). Columns size to their content.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table, Widget, Wrap};
use unicode_width::UnicodeWidthStr;

use super::text::{self, CHANGED, DIM, HEADER};
use super::{pane_block, row_style};
use crate::name::terminal_safe;
use crate::render::units;
use crate::snapshot::Interface;
use crate::tui::app::{App, Pane};
use crate::tui::layout;

pub struct InterfacesPane<'a> {
    pub app: &'a App,
}

impl Widget for &InterfacesPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let focused = app.focus == Pane::Interfaces;
        let Some(n) = app.selected_ns() else {
            let why = match app.filter() {
                Some(f) => format!("no namespace matches /{}", f.query()),
                None => "no namespace".to_string(),
            };
            empty(area, buf, " Interfaces ".into(), focused, why);
            return;
        };
        let Some(ns) = app.model.ns(n) else { return };
        let title = format!(
            " Interfaces of {} ({}) ",
            app.model.label(n),
            ns.interfaces.len()
        );
        if ns.interfaces.is_empty() {
            let why = if ns.scanned {
                "no interfaces".to_string()
            } else {
                "interfaces unknown: nsmap could not enter this namespace (run as root to see them)"
                    .to_string()
            };
            empty(area, buf, title, focused, why);
            return;
        }
        let filter = app.filter.as_ref();
        let cells = |iface: &Interface| -> [String; 7] {
            let master = iface
                .master
                .as_ref()
                .map_or_else(String::new, |m| app.model.ifname(m));
            let addresses = match iface.addresses.as_slice() {
                [] => String::new(),
                [one] => one.clone(),
                [first, rest @ ..] => format!("{first} +{}", rest.len()),
            };
            let end = iface
                .peer
                .as_ref()
                .or(iface.link.as_ref())
                .map_or_else(String::new, |r| app.model.describe(r));
            [
                iface.ifname.as_str().to_string(),
                iface.kind.clone().unwrap_or_default(),
                iface.operstate.to_string(),
                iface.mtu.to_string(),
                master,
                addresses,
                end,
            ]
            .map(|s| terminal_safe(&s).into_owned())
        };
        // Widths come from every interface (so columns do not jump while
        // scrolling) but cheaply; full cells are built for visible rows only.
        let m = &app.model;
        let measure = |iface: &Interface| -> [usize; 7] {
            let safe_width = |s: &str| terminal_safe(s).width();
            [
                safe_width(iface.ifname.as_str()),
                iface.kind.as_deref().map_or(0, safe_width),
                iface.operstate.len(),
                iface.mtu.to_string().len(),
                iface
                    .master
                    .as_ref()
                    .and_then(|m| m.ifname.as_ref())
                    .map_or(0, |n| safe_width(n.as_str())),
                match iface.addresses.as_slice() {
                    [] => 0,
                    [one] => one.len(),
                    [first, rest @ ..] => first.len() + 2 + rest.len().to_string().len(),
                },
                iface.peer.as_ref().or(iface.link.as_ref()).map_or(0, |r| {
                    let ifname = r.ifname.as_ref().map_or(6, |n| safe_width(n.as_str()));
                    let ns = r
                        .netns
                        .and_then(|inode| m.position_of_inode(inode))
                        .map_or(16, |n| m.label(n).width());
                    ifname + 3 + ns
                }),
            ]
        };
        let mut widest = [0usize; 7];
        for iface in &ns.interfaces {
            for (w, m) in widest.iter_mut().zip(measure(iface)) {
                *w = (*w).max(m);
            }
        }
        let headers = [
            "IFNAME",
            "KIND",
            "STATE",
            "MTU",
            "MASTER",
            "ADDRESSES",
            "OTHER END",
        ];
        let caps = [20, 10, 14, 5, 16, 30, 40];
        let mut want = [0usize; 7];
        for c in 0..7 {
            want[c] = widest[c].max(headers[c].len()).min(caps[c]);
        }
        // RX/s and TX/s after STATE once two refreshes measured them.
        let rated = app.traffic.measured();
        let extra = if rated { 2 * (RATE_WIDTH + 1) } else { 0 };
        let room = usize::from(area.width.saturating_sub(2))
            .saturating_sub(6)
            .saturating_sub(extra);
        let mut widths: Vec<Constraint> = fit(want, room)
            .map(|w| Constraint::Length(u16::try_from(w).unwrap_or(u16::MAX)))
            .to_vec();
        let mut headers = headers.to_vec();
        if rated {
            let w = Constraint::Length(RATE_WIDTH as u16);
            widths.splice(3..3, [w, w]);
            headers.splice(3..3, ["RX/s", "TX/s"]);
        }
        let height = layout::table_rows(area);
        let rows = ns
            .interfaces
            .iter()
            .enumerate()
            .skip(app.if_offset)
            .take(height)
            .map(|(i, iface)| {
                let c = cells(iface);
                let base = if app.if_changed(ns.inode, iface.ifindex) {
                    CHANGED
                } else {
                    Style::new()
                };
                let hl = |s: &str| text::highlight(s, filter, base);
                let mut cells = vec![
                    hl(&c[0]),
                    hl(&c[1]),
                    Line::styled(c[2].clone(), text::state_style(&iface.operstate)),
                    Line::from(c[3].clone()).right_aligned(),
                    Line::styled(c[4].clone(), base),
                    hl(&c[5]),
                    Line::styled(c[6].clone(), base),
                ];
                if rated {
                    cells.splice(3..3, rate_cells(app, ns.inode, iface.ifindex));
                }
                Row::new(cells).style(row_style(base, i == app.if_cursor, focused))
            });
        Table::new(rows, widths)
            .header(Row::new(headers).style(HEADER))
            .column_spacing(1)
            .block(pane_block(title, focused))
            .render(area, buf);
    }
}

/// Width of a rate column: `1023.9 KiB/s`.
const RATE_WIDTH: usize = 12;

/// The interface's rx and tx bytes/s, right-aligned; `-` while it has no
/// rate (first seen in the last refresh).
fn rate_cells(app: &App, netns: u64, ifindex: u32) -> [Line<'static>; 2] {
    match app.traffic.rate(netns, ifindex) {
        Some(r) => [r.rx_bytes_per_s, r.tx_bytes_per_s].map(|v| {
            let style = if v > 0.0 { Style::new() } else { DIM };
            Line::styled(units::bytes_per_s(v), style).right_aligned()
        }),
        None => [(), ()].map(|()| Line::styled("-", DIM).right_aligned()),
    }
}

/// Column widths for `room` cells: what each column wants, shrunk when it
/// does not fit in the order that loses least (an IPv6 suffix before where
/// the wire leads, before names), the last column taking any slack.
fn fit(mut want: [usize; 7], room: usize) -> [usize; 7] {
    const SHRINK: [(usize, usize); 7] = [(5, 12), (6, 14), (4, 6), (1, 4), (0, 8), (5, 0), (6, 0)];
    for (col, min) in SHRINK {
        let total: usize = want.iter().sum();
        let Some(over) = total.checked_sub(room).filter(|&o| o > 0) else {
            break;
        };
        let cut = over.min(want[col].saturating_sub(min));
        want[col] -= cut;
    }
    let total: usize = want.iter().sum();
    want[6] += room.saturating_sub(total);
    want
}

fn empty(area: Rect, buf: &mut Buffer, title: String, focused: bool, why: String) {
    Paragraph::new(Line::styled(text::safe(&why), DIM))
        .wrap(Wrap { trim: true })
        .block(pane_block(title, focused))
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn columns_shrink_addresses_first_and_fill_the_row() {
        let want = [12, 6, 7, 5, 6, 30, 19];
        assert_eq!(fit(want, 100).iter().sum::<usize>(), 100);
        assert_eq!(fit(want, 100)[6], 19 + 15);
        let tight = fit(want, 70);
        assert_eq!(tight.iter().sum::<usize>(), 70);
        assert_eq!(&tight[..5], &want[..5], "names and states stay whole");
        assert_eq!(tight[5], 15);
        assert_eq!(
            fit(want, 0),
            [8, 4, 7, 5, 6, 0, 0],
            "never below the minimums"
        );
    }
}
