//! The widget boundary for text: every string a view draws is built here,
//! passing through [`terminal_safe`] first (ratatui writes cell contents
//! raw, so a name holding an escape sequence would otherwise reach the
//! terminal), and the colours nsmap uses are named once.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::name::{needs_terminal_escape, terminal_safe};
use crate::render;
use crate::tui::filter::Filter;

/// Filter matches inside text.
pub const MATCH: Style = Style::new().fg(Color::Black).bg(Color::Yellow);
/// Rows a refresh just changed.
pub const CHANGED: Style = Style::new()
    .fg(Color::LightMagenta)
    .add_modifier(Modifier::BOLD);
/// Column headers and field names.
pub const HEADER: Style = Style::new().add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const WARN: Style = Style::new().fg(Color::Yellow);
/// The selected row of the focused list / of a list without focus.
pub const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
pub const SELECTED_IDLE: Style = Style::new().bg(Color::DarkGray);

/// Terminal-safe owned text.
pub fn safe(s: &str) -> String {
    terminal_safe(s).into_owned()
}

/// A terminal-safe span.
pub fn span(s: &str, style: Style) -> Span<'static> {
    Span::styled(safe(s), style)
}

/// Terminal-safe text with every filter match styled [`MATCH`].
pub fn highlight(text: &str, filter: Option<&Filter>, style: Style) -> Line<'static> {
    let text = safe(text);
    let Some(f) = filter else {
        return Line::from(Span::styled(text, style));
    };
    let mut spans = Vec::new();
    let mut at = 0;
    for r in f.ranges(&text) {
        if r.start > at {
            spans.push(Span::styled(text[at..r.start].to_string(), style));
        }
        spans.push(Span::styled(text[r.clone()].to_string(), MATCH));
        at = r.end;
    }
    if at < text.len() {
        spans.push(Span::styled(text[at..].to_string(), style));
    }
    Line::from(spans)
}

/// The filter being typed, as the hint line shows it (the TUI's and top's).
pub fn typing_line(q: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled("/", KEY),
        Span::raw(safe(q)),
        Span::styled("▏", KEY),
        Span::styled("   Enter: keep filter · Esc: drop it", DIM),
    ])
}

/// Traffic-light colour of an operstate, as in the CLI tables.
pub fn state_style(operstate: &str) -> Style {
    match render::Color::for_state(operstate) {
        Some(render::Color::Green) => Style::new().fg(Color::Green),
        Some(render::Color::Red) => Style::new().fg(Color::Red),
        Some(render::Color::Yellow) => Style::new().fg(Color::Yellow),
        _ => Style::new(),
    }
}

/// Last line of defence: any cell that still holds a character a terminal
/// would interpret is replaced by `?`. Everything drawn went through
/// [`safe`], so this finds nothing unless a view forgot to.
pub fn scrub(buf: &mut Buffer, area: Rect) {
    let area = area.intersection(buf.area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let Some(cell) = buf.cell_mut((x, y))
                && cell.symbol().chars().any(needs_terminal_escape)
            {
                cell.set_symbol("?");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighting_escapes_before_matching() {
        let f = Filter::new("x1b").expect("query");
        let line = highlight("\u{1b}[31mevil", Some(&f), Style::new());
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "\\x1b[31mevil");
        assert_eq!(line.spans[1].content, "x1b");
        assert_eq!(line.spans[1].style, MATCH);
    }

    #[test]
    fn scrub_replaces_raw_controls() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 3, 1));
        buf[(1, 0)].set_symbol("\u{1b}");
        scrub(&mut buf, Rect::new(0, 0, 3, 1));
        assert_eq!(buf[(1, 0)].symbol(), "?");
    }
}
