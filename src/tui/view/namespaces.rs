//! The namespaces pane: one row per shown namespace with its best label,
//! interface and process counts; `H` marks the host's, `*` nsmap's own.
//! In path mode a third mark column shows `S` on the marked source and `•`
//! on each namespace the last path crosses (while the path overlay is
//! closed), coloured by what happens to the packet there.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Row, Table, Widget};

use super::path::action_style;
use super::text::{self, CHANGED, DIM, HEADER, KEY};
use super::{pane_block, row_style};
use crate::render::units;
use crate::tui::app::{App, Overlay, Pane};
use crate::tui::layout;

pub struct NamespacesPane<'a> {
    pub app: &'a App,
}

impl Widget for &NamespacesPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let total = app.model.namespaces().len();
        let sort = format!("{}{}", app.sort.word(), if app.reverse { " ↓" } else { "" });
        let title = if app.filter.is_some() {
            format!(" Namespaces {}/{total} · sort {sort} ", app.ns_rows.len())
        } else {
            format!(" Namespaces {total} · sort {sort} ")
        };
        let focused = app.focus == Pane::Namespaces;
        let block = pane_block(title, focused);
        let height = layout::table_rows(area);
        let source = app.path_source_inode();
        let on_path = app
            .last_trace()
            .filter(|_| app.overlay() != Some(Overlay::Path))
            .map(|l| &l.on_path);
        let path_mode = source.is_some() || on_path.is_some();
        let rated = app.traffic.measured();
        let rows = app
            .ns_rows
            .iter()
            .enumerate()
            .skip(app.ns_offset)
            .take(height)
            .filter_map(|(row, &n)| {
                let ns = app.model.ns(n)?;
                let hop = on_path.and_then(|m| m.get(&ns.inode)).copied();
                let path_mark = if source == Some(ns.inode) {
                    "S"
                } else if hop.is_some() {
                    "•"
                } else {
                    " "
                };
                let mark = format!(
                    "{}{}{}",
                    if ns.host { "H" } else { " " },
                    if ns.current { "*" } else { " " },
                    if path_mode { path_mark } else { "" }
                );
                let mut style = if app.ns_changed(ns.inode) {
                    CHANGED
                } else {
                    ratatui::style::Style::new()
                };
                if let Some(action) = hop {
                    style = style.patch(action_style(action));
                } else if source == Some(ns.inode) {
                    style = style.patch(KEY);
                }
                if !ns.scanned {
                    style = style.patch(DIM);
                }
                let ifs = if ns.scanned {
                    ns.interfaces.len().to_string()
                } else {
                    "?".to_string()
                };
                let label = text::highlight(app.model.label(n), app.filter.as_ref(), style);
                let mut cells = vec![
                    Line::from(mark),
                    label,
                    Line::from(ifs).right_aligned(),
                    Line::from(ns.pids.len().to_string()).right_aligned(),
                ];
                if rated {
                    cells.push(
                        match app.traffic.total(ns.inode) {
                            Some(v) => Line::styled(
                                units::bytes_per_s(v),
                                if v > 0.0 { style } else { style.patch(DIM) },
                            ),
                            None => Line::styled("-", DIM),
                        }
                        .right_aligned(),
                    );
                }
                Some(Row::new(cells).style(row_style(style, row == app.ns_cursor, focused)))
            });
        let mut headers = vec!["", "NAME", "IF", "PROC"];
        let mut widths = vec![
            Constraint::Length(if path_mode { 3 } else { 2 }),
            Constraint::Fill(1),
            Constraint::Length(3),
            Constraint::Length(5),
        ];
        // The namespace's rx + tx once two refreshes measured it.
        if rated {
            headers.push("TRAFFIC");
            widths.push(Constraint::Length(12));
        }
        let header = Row::new(headers).style(HEADER);
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(block)
            .render(area, buf);
    }
}
