//! Boxes drawn over the views: the key help (from the keymap's own table),
//! the scan's warnings and the doctor's findings, and the path of path mode
//! (drawn by [`super::path`]). Esc closes them; Enter on a warning, finding
//! or hop goes to the namespace or interface it names.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::row_style;
use super::text::{self, DIM, ERROR, HEADER, KEY, WARN};
use crate::tui::app::{App, Overlay};
use crate::tui::finding::Severity;
use crate::tui::keymap::HELP;

pub struct OverlayBox<'a> {
    pub app: &'a App,
    pub which: Overlay,
}

impl Widget for &OverlayBox<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        if self.which == Overlay::Path {
            (&super::path::PathBox { app }).render(area, buf);
            return;
        }
        let title = match self.which {
            Overlay::Help => " Keys · j/k scroll · Esc closes ".to_string(),
            Overlay::Warnings => format!(
                " Warnings {} · Enter: go to namespace · Esc closes ",
                app.snapshot().warnings.len()
            ),
            Overlay::Doctor => " Doctor · Enter: go to interface · Esc closes ".to_string(),
            Overlay::Path => String::new(),
        };
        let lines = lines(app, self.which);
        let shown: Vec<Line> = match self.which {
            Overlay::Help => lines.into_iter().skip(app.overlay_cursor).collect(),
            Overlay::Warnings | Overlay::Doctor | Overlay::Path => {
                // Items wrap to several rows: keep the selected one near
                // the top, with two items of context above it.
                let first = app.overlay_cursor.saturating_sub(2);
                lines
                    .into_iter()
                    .enumerate()
                    .skip(first)
                    .map(|(i, l)| l.style(row_style(Style::new(), i == app.overlay_cursor, true)))
                    .collect()
            }
        };
        Clear.render(area, buf);
        Paragraph::new(shown)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title).border_style(KEY))
            .render(area, buf);
    }
}

/// Rows of an overlay (warnings and findings: one per item).
pub fn line_count(app: &App, which: Overlay) -> usize {
    lines(app, which).len()
}

fn lines(app: &App, which: Overlay) -> Vec<Line<'static>> {
    match which {
        Overlay::Help => help_lines(),
        Overlay::Warnings => warning_lines(app),
        Overlay::Doctor => doctor_lines(app),
        // Drawn by its own widget, which maps its lines to hops.
        Overlay::Path => Vec::new(),
    }
}

fn help_lines() -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (section, keys) in HELP {
        out.push(Line::styled(section.to_string(), HEADER));
        for (k, what) in *keys {
            out.push(Line::from(vec![
                Span::styled(format!("  {k:<22}"), KEY),
                Span::raw(what.to_string()),
            ]));
        }
        out.push(Line::default());
    }
    out.push(Line::styled("Marks", HEADER));
    for (k, what) in [
        ("H  *", "the host's namespace (PID 1's), nsmap's own"),
        ("?", "interfaces unknown: nsmap could not enter it"),
        ("S  •", "the path source, namespaces on the last path"),
        (
            "green red yellow",
            "path: delivered, dropped, unknown there",
        ),
        ("magenta", "rows changed by the last refresh"),
        ("yellow", "filter matches"),
    ] {
        out.push(Line::from(vec![
            Span::styled(format!("  {k:<22}"), KEY),
            Span::raw(what),
        ]));
    }
    out
}

fn warning_lines(app: &App) -> Vec<Line<'static>> {
    let warnings = &app.snapshot().warnings;
    if warnings.is_empty() {
        return vec![Line::styled("no warnings: the scan saw everything", DIM)];
    }
    warnings
        .iter()
        .map(|w| {
            let code = serde_json::to_value(w.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let place = w
                .netns
                .map_or_else(String::new, |inode| app.model.label_of_inode(inode));
            Line::from(vec![
                Span::styled(format!("{code:<20} "), WARN),
                Span::styled(format!("{place:<12} "), HEADER),
                text::span(&w.message, Style::new()),
            ])
        })
        .collect()
}

fn doctor_lines(app: &App) -> Vec<Line<'static>> {
    if !app.has_doctor() {
        return vec![
            Line::styled("doctor findings are not available yet", HEADER),
            Line::styled(
                "this build has no doctor checks; the scan's own warnings are under w",
                DIM,
            ),
        ];
    }
    if app.findings.is_empty() {
        return vec![Line::styled("no findings: nothing looks wrong", DIM)];
    }
    let code_width = app
        .findings
        .iter()
        .map(|f| f.code.chars().count())
        .max()
        .unwrap_or(0);
    app.findings
        .iter()
        .map(|f| {
            let style = match f.severity {
                Severity::Error => ERROR,
                Severity::Warning => WARN,
                Severity::Info => DIM,
            };
            let mut spans = vec![
                Span::styled(format!("{:<8}", f.severity.as_str()), style),
                text::span(&format!("{:<code_width$}  ", f.code), HEADER),
                text::span(&f.message, Style::new()),
            ];
            if let Some(r) = &f.link {
                spans.push(Span::styled(format!("  ({})", app.model.describe(r)), DIM));
            }
            Line::from(spans)
        })
        .collect()
}
