//! The path overlay: the last trace of path mode. The answer comes first
//! (verdict, code, reason, the fix), then the forward and return legs,
//! each as its wire line and one row per hop — namespace, action (drop
//! red, unknown yellow, deliver green), in, out, and the route used or the
//! devices crossed at layer 2. The selected hop's notes are shown under
//! it; Enter goes to the hop in the main view.
//!
//! Text is wrapped here rather than by the paragraph, so each line maps to
//! one hop row or none: the same mapping scrolls the selected hop into view
//! and turns a click into a hop ([`hop_at`]).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::row_style;
use super::text::{self, DIM, HEADER, KEY, WARN};
use crate::path::{Action, Direction, Hop, Verdict};
use crate::render::path::{route_text, wire_line};
use crate::snapshot::LinkRef;
use crate::tui::app::{App, LastTrace};

const TITLE: &str = " Path · j/k: hop · Enter: go there · Esc closes ";
/// Width of the left column of names (`forward`, `verdict`, …).
const HEAD: usize = 8;
/// Column caps of the hop rows; the route takes what is left.
const LABEL_MAX: usize = 24;
const DEV_MAX: usize = 16;

pub struct PathBox<'a> {
    pub app: &'a App,
}

impl Widget for &PathBox<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = Block::bordered().title(TITLE).border_style(KEY);
        let inner = block.inner(area);
        Clear.render(area, buf);
        block.render(area, buf);
        let (lines, rows) = lines(self.app, usize::from(inner.width));
        let first = first_line(self.app, &rows, usize::from(inner.height));
        Paragraph::new(lines.into_iter().skip(first).collect::<Vec<_>>()).render(inner, buf);
    }
}

/// The hop drawn at screen row `row` of an overlay box at `area`.
pub fn hop_at(app: &App, area: Rect, row: u16) -> Option<usize> {
    let inner = Block::bordered().inner(area);
    if row < inner.y || row >= inner.bottom() {
        return None;
    }
    let (_, rows) = lines(app, usize::from(inner.width));
    let first = first_line(app, &rows, usize::from(inner.height));
    rows.get(first + usize::from(row - inner.y))
        .copied()
        .flatten()
}

/// The first line shown: 0 unless the selected hop (with its notes) would
/// fall below the box.
fn first_line(app: &App, rows: &[Option<usize>], height: usize) -> usize {
    let selected = app.overlay_cursor;
    let start = rows.iter().position(|r| *r == Some(selected));
    let end = rows.iter().rposition(|r| *r == Some(selected));
    match (start, end) {
        (Some(start), Some(end)) if end + 1 > height => (end + 1 - height).min(start),
        _ => 0,
    }
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

/// The colour of what happens at a hop (also used by the namespaces pane).
pub fn action_style(action: Action) -> Style {
    match action {
        Action::Drop => Style::new().fg(Color::Red),
        Action::Unknown => Style::new().fg(Color::Yellow),
        Action::Deliver => Style::new().fg(Color::Green),
        Action::Originate | Action::Forward | Action::Bridge => Style::new().fg(Color::Cyan),
    }
}

/// The colour of a verdict: reachable green, unreachable red, unknown yellow.
pub fn verdict_style(verdict: Verdict) -> Style {
    let colour = match verdict {
        Verdict::Reachable => Color::Green,
        Verdict::Unreachable => Color::Red,
        Verdict::Unknown => Color::Yellow,
    };
    Style::new()
        .fg(colour)
        .add_modifier(ratatui::style::Modifier::BOLD)
}

/// Words of `text` in lines of at most `width` columns (a longer word is
/// cut), for text the overlay wraps itself.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let need = word.width() + usize::from(!line.is_empty());
        if !line.is_empty() && line.width() + need > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        for c in word.chars() {
            if line.width() + c.width().unwrap_or(0) > width {
                out.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// `s` cut to `width` columns, with `…` when cut, padded to `width`.
fn cell(s: &str, width: usize) -> String {
    let mut out = String::new();
    if s.width() <= width {
        out.push_str(s);
    } else {
        for c in s.chars() {
            if out.width() + c.width().unwrap_or(0) + 1 > width {
                break;
            }
            out.push(c);
        }
        out.push('…');
    }
    let pad = width.saturating_sub(out.width());
    out.push_str(&" ".repeat(pad));
    out
}

/// The overlay's text and, per line, the hop it belongs to.
struct Text {
    lines: Vec<Line<'static>>,
    rows: Vec<Option<usize>>,
    width: usize,
}

impl Text {
    fn push(&mut self, line: Line<'static>, hop: Option<usize>) {
        self.lines.push(line);
        self.rows.push(hop);
    }

    /// `name    text`, the text wrapped under itself.
    fn headed(&mut self, name: &str, value: &str, style: Style) {
        let room = self.width.saturating_sub(HEAD);
        for (i, part) in wrap(value, room).into_iter().enumerate() {
            let head = if i == 0 { name } else { "" };
            self.push(
                Line::from(vec![
                    Span::styled(format!("{head:<HEAD$}"), HEADER),
                    Span::styled(part, style),
                ]),
                None,
            );
        }
    }
}

fn dev(r: Option<&LinkRef>) -> String {
    r.map_or_else(|| "-".to_string(), |r| text::safe(&r.name_or_index()))
}

/// The route column: the route used, or the devices of a layer-2 hop.
fn route_column(hop: &Hop) -> String {
    if let Some(r) = &hop.route {
        return text::safe(&route_text(r));
    }
    if hop.action == Action::Bridge && !hop.via.is_empty() {
        let via: Vec<String> = hop.via.iter().map(LinkRef::name_or_index).collect();
        return text::safe(&via.join(" → "));
    }
    "-".to_string()
}

/// Hop rows of one leg; `base` is the index of its first hop.
fn leg(t: &mut Text, app: &App, name: &str, hops: &[Hop], base: usize, widths: [usize; 3]) {
    t.headed(name, &wire_line(hops), Style::new());
    let [label_w, in_w, out_w] = widths;
    t.push(
        Line::styled(
            format!(
                "   {:>2}  {}  {:<9}  {}  {}  ROUTE",
                "#",
                cell("NAMESPACE", label_w),
                "ACTION",
                cell("IN", in_w),
                cell("OUT", out_w)
            ),
            HEADER,
        ),
        None,
    );
    for (k, hop) in hops.iter().enumerate() {
        let index = base + k;
        let selected = index == app.overlay_cursor;
        let style = action_style(hop.action);
        let line = Line::from(vec![
            Span::styled(if selected { " ▸ " } else { "   " }, KEY),
            Span::raw(format!("{:>2}  ", k + 1)),
            Span::raw(format!("{}  ", cell(&text::safe(&hop.label), label_w))),
            Span::styled(format!("{:<9}", action_word(hop.action)), style),
            Span::raw(format!(
                "  {}  {}  ",
                cell(&dev(hop.in_.as_ref()), in_w),
                cell(&dev(hop.out.as_ref()), out_w)
            )),
            Span::raw(route_column(hop)),
        ]);
        t.push(
            line.style(row_style(Style::new(), selected, true)),
            Some(index),
        );
        if selected {
            let room = t.width.saturating_sub(9);
            for note in &hop.notes {
                for part in wrap(&text::safe(note), room) {
                    t.push(Line::styled(format!("         {part}"), DIM), Some(index));
                }
            }
        }
    }
}

fn trace_text(app: &App, last: &LastTrace, width: usize) -> Text {
    let mut t = Text {
        lines: Vec::new(),
        rows: Vec::new(),
        width,
    };
    let tr = &last.trace;
    let bound = if app.path_source().is_some_and(|s| s.ifindex.is_some()) {
        "  (bound to this interface)"
    } else {
        ""
    };
    t.headed("from", &format!("{}{bound}", last.from), Style::new());
    t.headed(
        "to",
        &format!("{} ({})", tr.dst.address, last.target.how),
        Style::new(),
    );
    let src = tr
        .src
        .address
        .map_or_else(|| "no source address".to_string(), |a| a.to_string());
    t.headed("packet", &format!("{src} → {} icmp", tr.dst.address), DIM);
    let mut verdict = tr.verdict.as_str().to_string();
    if let Some(code) = tr.code {
        verdict.push_str(&format!(" ({})", code.as_str()));
    }
    if let Some(d) = tr.direction {
        verdict.push_str(match d {
            Direction::Forward => " on the way there",
            Direction::Return => " on the way back",
        });
    }
    t.headed("verdict", &verdict, verdict_style(tr.verdict));
    if let Some(reason) = &tr.reason {
        t.headed("", &text::safe(reason), Style::new());
    }
    if let Some(hint) = &tr.hint {
        t.headed("fix", &text::safe(hint), KEY);
    }
    for note in &tr.notes {
        t.headed("note", &text::safe(note), DIM);
    }
    let all: Vec<&Hop> = last.hops().collect();
    let widest = |f: &dyn Fn(&Hop) -> String, min: usize, max: usize| {
        all.iter()
            .map(|h| f(h).width())
            .max()
            .unwrap_or(0)
            .clamp(min, max)
    };
    let widths = [
        widest(&|h| text::safe(&h.label), 9, LABEL_MAX),
        widest(&|h| dev(h.in_.as_ref()), 2, DEV_MAX),
        widest(&|h| dev(h.out.as_ref()), 3, DEV_MAX),
    ];
    t.push(Line::default(), None);
    leg(&mut t, app, "forward", &tr.forward, 0, widths);
    if !tr.back.is_empty() {
        t.push(Line::default(), None);
        leg(&mut t, app, "return", &tr.back, tr.forward.len(), widths);
    }
    t
}

fn lines(app: &App, width: usize) -> (Vec<Line<'static>>, Vec<Option<usize>>) {
    match app.last_trace() {
        Some(last) => {
            let t = trace_text(app, last, width);
            (t.lines, t.rows)
        }
        None => (
            vec![Line::styled(
                "no trace: m marks a source, then p (or P) picks the destination",
                WARN,
            )],
            vec![None],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_and_cuts_only_what_cannot_fit() {
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis_and_padded() {
        assert_eq!(cell("veth1234567", 6), "veth1…");
        assert_eq!(cell("lo", 4), "lo  ");
    }
}
