//! Drawing the top screen: a header line (interval, samples, sort key,
//! counts, pause), the table (each namespace's totals in bold above its
//! interfaces), and the hint line. Every string goes through the main
//! TUI's [`text`] helpers, and the finished frame through its scrub.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::app::{TopApp, TopRow};
use super::keymap::HINTS;
use crate::rates::SortKey;
use crate::render::units;
use crate::tui::view::text::{self, DIM, ERROR, HEADER, KEY, WARN};

/// Below this width the packet columns are left out.
const WIDE: u16 = 90;

/// The whole top screen.
pub struct TopView<'a> {
    app: &'a TopApp,
}

impl<'a> TopView<'a> {
    pub fn new(app: &'a TopApp) -> TopView<'a> {
        TopView { app }
    }
}

impl Widget for &TopView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height < 3 {
            return;
        }
        let app = self.app;
        let header = Rect { height: 1, ..area };
        let hints = Rect {
            y: area.bottom() - 1,
            height: 1,
            ..area
        };
        let body = Rect {
            y: area.y + 1,
            height: area.height - 2,
            ..area
        };
        header_line(app, area.width >= WIDE).render(header, buf);
        table(app, body.width).render(body, buf);
        if app.samples > 0 && app.measured_ms.is_none() && body.height > 1 {
            let at = Rect {
                y: body.y + 1,
                height: 1,
                ..body
            };
            Paragraph::new(Line::styled(
                format!(
                    " measuring: the first rates come after one interval ({}s)",
                    app.interval.as_secs_f64()
                ),
                DIM,
            ))
            .render(at, buf);
        }
        hint_line(app, area.width >= WIDE).render(hints, buf);
        text::scrub(buf, area);
    }
}

/// ` TOP  every 1s · sample 12 (1002 ms) · sort total · 3 namespaces ·
/// 7 interfaces`; the pause first, so a narrow screen still shows it.
fn header_line(app: &TopApp, wide: bool) -> Line<'static> {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    let (ns, ifs) = app.counts();
    let mut spans = vec![Span::styled(
        " TOP ",
        Style::new().fg(Color::Black).bg(Color::Green),
    )];
    if app.paused {
        spans.push(Span::styled(
            " PAUSED ",
            Style::new().fg(Color::Black).bg(Color::Yellow),
        ));
    }
    spans.push(Span::raw(format!(" every {}s", app.interval.as_secs_f64())));
    spans.push(Span::raw(format!(" · sample {}", app.samples)));
    if let (Some(ms), true) = (app.measured_ms, wide) {
        spans.push(Span::styled(format!(" ({ms} ms)"), DIM));
    }
    spans.push(Span::raw(" · sort "));
    spans.push(Span::styled(app.sort.name(), KEY));
    spans.push(Span::raw(if wide {
        format!(" · {ns} namespace{} · {ifs} interface{}", s(ns), s(ifs))
    } else {
        format!(" · {ns} ns · {ifs} if")
    }));
    if let Some(f) = app.filter() {
        let shown = app
            .rows()
            .iter()
            .filter(|r| matches!(r, TopRow::Interface(_)))
            .count();
        spans.push(Span::styled(
            format!(" · /{} {shown} shown", text::safe(f.query())),
            text::MATCH,
        ));
    }
    Line::from(spans)
}

/// The filter being typed, a sampling failure, or the key hints.
fn hint_line(app: &TopApp, wide: bool) -> Line<'static> {
    if let Some(q) = &app.typing {
        return text::typing_line(q);
    }
    if let Some(p) = &app.problem {
        return Line::styled(text::safe(p), ERROR);
    }
    let mut spans = Vec::new();
    // Narrow: the unit switch is the one hint left out.
    for (k, what) in HINTS.iter().filter(|(k, _)| wide || *k != "b") {
        spans.push(Span::styled(format!(" {k}"), KEY));
        spans.push(Span::styled(format!(" {what} "), DIM));
    }
    Line::from(spans)
}

/// One column: its title, the sort key it shows (if any), its width.
struct Column {
    title: &'static str,
    key: Option<SortKey>,
    width: u16,
}

fn columns(wide: bool, bits: bool) -> Vec<Column> {
    let rate = if bits { 13 } else { 12 };
    let mut c = vec![
        Column {
            title: "RX",
            key: Some(SortKey::Rx),
            width: rate,
        },
        Column {
            title: "TX",
            key: Some(SortKey::Tx),
            width: rate,
        },
    ];
    if wide {
        c.push(Column {
            title: "RX PKT",
            key: None,
            width: 9,
        });
        c.push(Column {
            title: "TX PKT",
            key: None,
            width: 9,
        });
    }
    c.push(Column {
        title: "DROPS",
        key: Some(SortKey::Drops),
        width: 8,
    });
    c.push(Column {
        title: "ERRORS",
        key: Some(SortKey::Errors),
        width: 8,
    });
    c
}

/// The numbers of one row, in [`columns`]' order.
struct Numbers {
    rx: f64,
    tx: f64,
    rx_packets: f64,
    tx_packets: f64,
    drops: f64,
    errors: f64,
}

fn table(app: &TopApp, width: u16) -> Table<'static> {
    let wide = width >= WIDE;
    let cols = columns(wide, app.bits);
    let title = match (wide, app.sort) {
        (true, SortKey::Total) => "NAMESPACE / INTERFACE  (by total)",
        (true, _) => "NAMESPACE / INTERFACE",
        (false, _) => "NS / IFACE",
    };
    let mut header = vec![Cell::from(Span::styled(title, HEADER))];
    // The sort key's column gets a ▼; sorting by total marks both RX and
    // TX (the sum of the two), without one.
    header.extend(cols.iter().map(|c| {
        let cell = match (c.key, app.sort) {
            (Some(k), sort) if k == sort => Line::styled(format!("{}▼", c.title), KEY),
            (Some(SortKey::Rx | SortKey::Tx), SortKey::Total) => Line::styled(c.title, KEY),
            _ => Line::styled(c.title, HEADER),
        };
        Cell::from(cell.right_aligned())
    }));
    let rates = app.rates();
    let filter = app.filter();
    let rows: Vec<Row<'static>> = app
        .rows()
        .iter()
        .skip(app.scroll())
        .take(app.visible_rows())
        .map(|row| match row {
            TopRow::Namespace { total, interfaces } => {
                let mut name = text::highlight(&total.label, filter, NAMESPACE);
                name.spans
                    .push(Span::styled(format!(" ({interfaces})"), DIM));
                let n = Numbers {
                    rx: total.rx_bytes_per_s,
                    tx: total.tx_bytes_per_s,
                    rx_packets: total.rx_packets_per_s,
                    tx_packets: total.tx_packets_per_s,
                    drops: total.dropped_per_s,
                    errors: total.errors_per_s,
                };
                number_row(name, &n, wide, app.bits, NAMESPACE)
            }
            TopRow::Interface(i) => {
                let r = &rates[*i];
                let mut name = text::highlight(r.ifname.as_str(), filter, Style::new());
                name.spans.insert(0, Span::raw("  "));
                if r.new {
                    name.spans.push(Span::styled(" new", DIM));
                }
                let n = Numbers {
                    rx: r.rx_bytes_per_s,
                    tx: r.tx_bytes_per_s,
                    rx_packets: r.rx_packets_per_s,
                    tx_packets: r.tx_packets_per_s,
                    drops: r.dropped_per_s(),
                    errors: r.errors_per_s(),
                };
                number_row(name, &n, wide, app.bits, Style::new())
            }
        })
        .collect();
    let mut widths = vec![Constraint::Min(10)];
    widths.extend(cols.iter().map(|c| Constraint::Length(c.width)));
    Table::new(rows, widths)
        .header(Row::new(header))
        .column_spacing(1)
}

/// A namespace's totals row.
const NAMESPACE: Style = Style::new().add_modifier(Modifier::BOLD);

fn number_row(
    name: Line<'static>,
    n: &Numbers,
    wide: bool,
    bits: bool,
    style: Style,
) -> Row<'static> {
    let rate = |v: f64| {
        let s = if bits {
            units::bits_per_s(v)
        } else {
            units::bytes_per_s(v)
        };
        Cell::from(Line::styled(s, style).right_aligned())
    };
    let count = |v: f64, bad: Style| {
        let style = if v > 0.0 { style.patch(bad) } else { style };
        Cell::from(Line::styled(units::count_per_s(v), style).right_aligned())
    };
    let mut cells = vec![Cell::from(name), rate(n.rx), rate(n.tx)];
    if wide {
        cells.push(count(n.rx_packets, Style::new()));
        cells.push(count(n.tx_packets, Style::new()));
    }
    cells.push(count(n.drops, WARN));
    cells.push(count(n.errors, ERROR));
    Row::new(cells)
}
