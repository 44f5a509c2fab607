//! Drawing: [`View`] is the whole screen as one widget over a borrowed
//! [`App`]; it places the panes with [`crate::tui::layout`] (the same
//! function the app uses for mouse hits) and draws the banner, status and
//! hint lines itself. Views only read the app. Every string goes through
//! [`text`] on its way in, and [`text::scrub`] checks the finished frame.

pub mod bridges;
pub mod counters;
pub mod details;
pub mod firewall;
pub mod interfaces;
pub mod namespaces;
pub mod neighbours;
pub mod netconf;
pub mod overlay;
pub mod path;
pub mod routes;
pub mod text;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use self::text::{DIM, ERROR, KEY, SELECTED, SELECTED_IDLE, WARN};
use super::app::{App, Screen};
use super::layout;
use crate::cli::Source;

/// The whole screen.
pub struct View<'a> {
    app: &'a App,
}

impl<'a> View<'a> {
    pub fn new(app: &'a App) -> View<'a> {
        View { app }
    }
}

impl Widget for &View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let banner = app.banner();
        let a = app.areas_in(area);
        if let (Some(r), Some(b)) = (a.banner, banner) {
            Paragraph::new(Line::styled(
                text::safe(&b),
                Style::new().fg(Color::Black).bg(Color::Yellow),
            ))
            .render(r, buf);
        }
        match app.screen() {
            Screen::Main => {
                (&namespaces::NamespacesPane { app }).render(a.namespaces, buf);
                (&interfaces::InterfacesPane { app }).render(a.interfaces, buf);
                (&details::DetailsPane { app }).render(a.details, buf);
            }
            Screen::Bridges => (&bridges::BridgesView { app }).render(a.main, buf),
        }
        status_line(app).render(a.status, buf);
        hint_line(app).render(a.hints, buf);
        if let Some(which) = app.overlay() {
            (&overlay::OverlayBox { app, which }).render(layout::overlay(area), buf);
        }
        text::scrub(buf, area);
    }
}

/// A pane's frame; the focused one is drawn in the key colour.
pub(crate) fn pane_block(title: String, focused: bool) -> Block<'static> {
    let style = if focused { KEY } else { DIM };
    Block::bordered()
        .title(Span::styled(text::safe(&title), style))
        .border_style(style)
}

/// Style of a list row: its own, plus the selection when it is the cursor.
pub(crate) fn row_style(base: Style, selected: bool, focused: bool) -> Style {
    match (selected, focused) {
        (true, true) => base.patch(SELECTED),
        (true, false) => base.patch(SELECTED_IDLE),
        (false, _) => base,
    }
}

/// Source, counts, scan time, warnings, filter.
fn status_line(app: &App) -> Line<'static> {
    let snap = app.snapshot();
    let mut spans = match &app.source {
        Source::Live => vec![Span::styled(
            " LIVE ",
            Style::new().fg(Color::Black).bg(Color::Green),
        )],
        Source::File(path) => vec![Span::styled(
            format!(" FILE {} ", text::safe(&path.display().to_string())),
            Style::new().fg(Color::Black).bg(Color::Cyan),
        )],
    };
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let (ns, ifs, br) = (
        snap.namespaces.len(),
        app.model.interface_count(),
        app.model.bridge_count(),
    );
    spans.push(Span::raw(format!(
        " {ns} namespace{} · {ifs} interface{} · {br} bridge{}",
        s(ns),
        s(ifs),
        s(br)
    )));
    let w = snap.warnings.len();
    if w > 0 {
        spans.push(Span::styled(format!(" · {w} warning{} (w)", s(w)), WARN));
    }
    if let Some(every) = app.interval {
        spans.push(Span::styled(
            format!(" · every {}s", every.as_secs_f64()),
            DIM,
        ));
    }
    if app.scanning {
        spans.push(Span::styled(" · scanning…", KEY));
    }
    if let Some(capture) = &app.capture {
        spans.push(Span::styled(format!(" · {}", text::safe(capture)), WARN));
    }
    if let Some(from) = app.path_source_text() {
        spans.push(Span::styled(format!(" · path from {from}"), KEY));
        if let Some(last) = app.last_trace() {
            spans.push(Span::styled(
                format!(" to {} ", last.trace.dst.address),
                KEY,
            ));
            spans.push(Span::styled(
                last.trace.verdict.as_str(),
                path::verdict_style(last.trace.verdict),
            ));
        }
    }
    if let Some(f) = app.filter() {
        spans.push(Span::styled(
            format!(
                " · /{} {} match{}",
                text::safe(f.query()),
                app.match_count(),
                if app.match_count() == 1 { "" } else { "es" }
            ),
            text::MATCH,
        ));
    }
    if let Some(ms) = snap.scan.duration_ms {
        spans.push(Span::styled(format!(" · scan {ms:.1} ms"), DIM));
    }
    Line::from(spans)
}

/// The message of the last action, the filter being typed, or key hints.
fn hint_line(app: &App) -> Line<'static> {
    if let Some(q) = &app.typing {
        return text::typing_line(q);
    }
    if let Some((q, error)) = app.address_typing() {
        let mut spans = vec![
            Span::styled("path to: ", KEY),
            Span::raw(text::safe(q)),
            Span::styled("▏", KEY),
        ];
        match error {
            Some(e) => spans.push(Span::styled(format!("   {}", text::safe(e)), ERROR)),
            None => spans.push(Span::styled(
                "   an IPv4 or IPv6 address · Enter: trace · Esc: cancel",
                DIM,
            )),
        }
        return Line::from(spans);
    }
    if let Some(m) = app.message() {
        let style = if m.error { ERROR } else { Style::new() };
        return Line::styled(text::safe(&m.text), style);
    }
    let keys: &[(&str, &str)] = match app.screen() {
        Screen::Main if app.path_source().is_some() => &[
            ("p", "trace to the selected interface"),
            ("P", "trace to an address"),
            ("m", "move the source here / clear it"),
            ("Esc", "clear the path"),
            ("?", "help"),
        ],
        Screen::Main => &[
            ("Enter", "follow"),
            ("Bksp", "back"),
            ("Tab", "pane"),
            ("/", "filter"),
            ("b", "bridges"),
            ("w", "warnings"),
            ("d", "doctor"),
            ("r", "rescan"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Screen::Bridges => &[
            ("Enter", "go to"),
            ("Space", "fold"),
            ("Bksp", "back"),
            ("/", "filter"),
            ("b", "main view"),
            ("?", "help"),
            ("q", "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (k, what) in keys {
        spans.push(Span::styled(format!(" {k}"), KEY));
        spans.push(Span::styled(format!(" {what} "), DIM));
    }
    Line::from(spans)
}
