//! JSON output that is safe on a terminal.
//!
//! serde_json escapes C0 controls but writes DEL, C1 controls (U+009B is
//! CSI on some terminals) and bidi overrides raw. This formatter writes
//! those as `\uXXXX` too: the JSON value is identical, and `nsmap … --json`
//! printed to a terminal cannot carry a live escape sequence.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, PrettyFormatter};

use crate::name::needs_terminal_escape;

/// Writes `value` as pretty JSON followed by a newline.
pub fn write(value: &impl Serialize, out: &mut impl Write) -> io::Result<()> {
    let mut ser =
        serde_json::Serializer::with_formatter(&mut *out, SafeFormatter(PrettyFormatter::new()));
    value.serialize(&mut ser).map_err(io::Error::from)?;
    writeln!(out)
}

/// Writes `value` as one line of JSON followed by a newline.
pub fn write_compact(value: &impl Serialize, out: &mut impl Write) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *out,
        SafeFormatter(serde_json::ser::CompactFormatter),
    );
    value.serialize(&mut ser).map_err(io::Error::from)?;
    writeln!(out)
}

struct SafeFormatter<F>(F);

impl<F: Formatter> Formatter for SafeFormatter<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|(_, c)| needs_terminal_escape(*c)) {
            writer.write_all(&rest.as_bytes()[..i])?;
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }

    // Everything else is the wrapped formatter's (indentation, separators).
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_a_terminal_would_obey() {
        let value = vec!["a\x1b[31m", "b\u{7f}", "c\u{9b}", "d\u{202e}", "é🙂"];
        let mut out = Vec::new();
        write_compact(&value, &mut out).expect("write");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(
            text,
            "[\"a\\u001b[31m\",\"b\\u007f\",\"c\\u009b\",\"d\\u202e\",\"é🙂\"]\n"
        );
        let back: Vec<String> = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, value);
    }

    #[test]
    fn pretty_output_is_indented() {
        let mut out = Vec::new();
        write(&serde_json::json!({"a": [1]}), &mut out).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\n  \"a\": [\n    1\n  ]\n}\n"
        );
    }
}
