//! Output renderers: functions from data to a writer, one file per listing.
//!
//! Every string that reaches a terminal passes through [`Cell::new`] or
//! [`crate::name::terminal_safe`], and JSON goes through [`json`], which
//! also escapes DEL, C1 and bidi characters: a hostile interface name can
//! never drive the terminal, whichever output is chosen.

pub mod bridges;
pub mod events;
pub mod json;
pub mod links;
pub mod ns;
pub mod path;
pub mod peers;
pub mod qdisc;
pub mod routes;
pub mod units;

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use crate::name::terminal_safe;

/// How to draw human output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// ANSI colours (only on a terminal, never with NO_COLOR).
    pub color: bool,
}

/// ANSI colours nsmap uses; few, so output stays readable on any theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Green,
    Red,
    Yellow,
    Dim,
    Bold,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Green => "32",
            Color::Red => "31",
            Color::Yellow => "33",
            Color::Dim => "2",
            Color::Bold => "1",
        }
    }

    /// The colour of an operstate, as users read traffic lights.
    pub fn for_state(operstate: &str) -> Option<Color> {
        match operstate {
            "UP" => Some(Color::Green),
            "DOWN" | "LOWERLAYERDOWN" | "NOTPRESENT" => Some(Color::Red),
            "UNKNOWN" | "DORMANT" | "TESTING" => Some(Color::Yellow),
            _ => None,
        }
    }
}

/// One table cell: terminal-safe text and an optional colour.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    text: String,
    color: Option<Color>,
}

impl Cell {
    pub fn new(text: impl AsRef<str>) -> Cell {
        Cell {
            text: terminal_safe(text.as_ref()).into_owned(),
            color: None,
        }
    }

    pub fn colored(text: impl AsRef<str>, color: Option<Color>) -> Cell {
        Cell {
            color,
            ..Cell::new(text)
        }
    }

    /// `-` for an absent value, so columns never look shifted.
    pub fn opt(text: Option<impl AsRef<str>>) -> Cell {
        match text {
            Some(t) => Cell::new(t),
            None => Cell::colored("-", Some(Color::Dim)),
        }
    }
}

/// A left-aligned table with a header row; the last column is not padded.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
    /// Print the header row (off for tree bodies that only want alignment).
    show_header: bool,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
            show_header: true,
        }
    }

    /// A table that aligns `columns` columns but prints no header.
    pub fn headless(columns: usize) -> Table {
        Table {
            headers: vec![""; columns],
            rows: Vec::new(),
            show_header: false,
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    pub fn write(&self, style: &Style, out: &mut impl Write) -> io::Result<()> {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = if self.show_header {
            self.headers.iter().map(|h| h.width()).collect()
        } else {
            vec![0; columns]
        };
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.text.width());
            }
        }
        let header: Vec<Cell> = self
            .headers
            .iter()
            .map(|h| Cell::colored(h, Some(Color::Bold)))
            .collect();
        let header = self.show_header.then_some(&header);
        for row in header.into_iter().chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                let last = i + 1 == columns.min(row.len());
                paint(&mut line, cell, style);
                if !last {
                    let pad = widths[i].saturating_sub(cell.text.width()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Appends `cell` to `line`, in colour when the style allows.
pub fn paint(line: &mut String, cell: &Cell, style: &Style) {
    match cell.color {
        Some(color) if style.color => {
            line.push_str(&format!("\x1b[{}m{}\x1b[0m", color.code(), cell.text));
        }
        _ => line.push_str(&cell.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_by_display_width_and_escapes() {
        let mut t = Table::new(&["A", "B"]);
        t.push(vec![Cell::new("é\x1b"), Cell::new("x")]);
        t.push(vec![Cell::new("long-name"), Cell::opt(None::<&str>)]);
        let mut out = Vec::new();
        t.write(&Style::default(), &mut out).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "A          B\né\\x1b      x\nlong-name  -\n"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let mut t = Table::new(&["S"]);
        t.push(vec![Cell::colored("UP", Color::for_state("UP"))]);
        let mut out = Vec::new();
        t.write(&Style { color: true }, &mut out).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\x1b[1mS\x1b[0m\n\x1b[32mUP\x1b[0m\n"
        );
    }
}
