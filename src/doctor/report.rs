//! `nsmap doctor` for humans: one finding per line, most severe first, the
//! fix hint indented below, a count at the end. Only the severity word is
//! coloured (and only when the style says so); every message and hint
//! passes [`terminal_safe`], so a hostile name cannot drive the terminal.

use std::io::{self, Write};

use super::{Finding, Severity};
use crate::name::terminal_safe;
use crate::render::{Cell, Color, Style, paint};

/// Width of the severity column: "warning".
const SEVERITY_WIDTH: usize = 7;

fn color(severity: Severity) -> Color {
    match severity {
        Severity::Error => Color::Red,
        Severity::Warning => Color::Yellow,
        Severity::Info => Color::Dim,
    }
}

/// Writes `findings` (already sorted) and a summary line.
pub fn write(findings: &[Finding], style: &Style, out: &mut impl Write) -> io::Result<()> {
    let indent = " ".repeat(SEVERITY_WIDTH + 2 + "NSM000".len() + 2);
    for f in findings {
        let mut line = String::new();
        let word = format!("{:<SEVERITY_WIDTH$}", f.severity.as_str());
        paint(
            &mut line,
            &Cell::colored(word, Some(color(f.severity))),
            style,
        );
        line.push_str(&format!("  {}  {}", f.code, terminal_safe(&f.message)));
        writeln!(out, "{line}")?;
        if let Some(hint) = &f.hint {
            writeln!(out, "{indent}fix: {}", terminal_safe(hint))?;
        }
    }
    writeln!(out, "{}", summary(findings))
}

/// "2 errors, 1 warning, 4 info", or "no findings".
pub fn summary(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".to_string();
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let mut parts = Vec::new();
    for (severity, word) in [(Severity::Error, "error"), (Severity::Warning, "warning")] {
        let n = count(severity);
        if n > 0 {
            parts.push(plural(n, word));
        }
    }
    let info = count(Severity::Info);
    if info > 0 {
        parts.push(format!("{info} info"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Code, findings};
    use super::*;

    fn render(findings: &[Finding], color: bool) -> String {
        let mut out = Vec::new();
        write(findings, &Style { color }, &mut out).expect("write");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn one_line_per_finding_with_its_hint_below() {
        let f = vec![
            Finding::new(
                Code::VethOneEndDown,
                Some(1),
                Vec::new(),
                "eth0@b is down",
                Some("ip -n b link set dev eth0 up".into()),
            ),
            Finding::new(
                Code::NetnsOnlyLoopback,
                Some(2),
                Vec::new(),
                "c has only lo",
                None,
            ),
        ];
        assert_eq!(
            render(&f, false),
            "error    NSM004  eth0@b is down\n                 fix: ip -n b link set dev eth0 up\ninfo     NSM018  c has only lo\n1 error, 1 info\n"
        );
    }

    #[test]
    fn colour_only_on_the_severity_and_only_when_asked() {
        let f = vec![Finding::new(
            Code::LoopbackDown,
            None,
            Vec::new(),
            "m",
            None,
        )];
        assert_eq!(
            render(&f, true),
            "\x1b[33mwarning\x1b[0m  NSM012  m\n1 warning\n"
        );
        assert!(!render(&findings(&demo()), false).contains('\x1b'));
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let f = vec![Finding::new(
            Code::ControlCharsInName,
            None,
            Vec::new(),
            "name \x1b[2J\u{202e}",
            Some("x \u{9b}".into()),
        )];
        let text = render(&f, false);
        assert!(text.contains(r"name \x1b[2J\u{202e}"), "{text}");
        assert!(text.contains(r"x \u{009b}"), "{text}");
        assert!(
            text.lines()
                .all(|l| !l.chars().any(crate::name::needs_terminal_escape))
        );
    }

    #[test]
    fn summary_counts() {
        assert_eq!(summary(&[]), "no findings");
        assert_eq!(summary(&findings(&demo())), "2 errors, 1 warning, 4 info");
    }
}
