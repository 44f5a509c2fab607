//! JSON output that is safe on a terminal.
//!
//! serde_json escapes C0 controls but writes DEL, C1 controls (U+009B is
//! CSI on some terminals) and bidi overrides raw. These are written as
//! `\uXXXX` too: the JSON value is identical, and `nsmap … --json` printed
//! to a terminal cannot carry a live escape sequence.
//!
//! The document is serialized into memory first and checked in one pass:
//! every such character is DEL or beyond ASCII, and outside strings JSON is
//! plain ASCII, so a document that is all ASCII below DEL (nearly always
//! the case) goes out in one write, and only one that is not is rewritten.
//! This is much faster than inspecting each string as it is serialized,
//! which costs a call per key and per value.

use std::io::{self, Write};

use serde::Serialize;

use crate::name::needs_terminal_escape;

/// Writes `value` as pretty JSON followed by a newline.
pub fn write(value: &impl Serialize, out: &mut impl Write) -> io::Result<()> {
    let mut json = Vec::new();
    serde_json::to_writer_pretty(&mut json, value).map_err(io::Error::from)?;
    json.push(b'\n');
    write_terminal_safe(&json, out)
}

/// Writes `value` as one line of JSON followed by a newline.
pub fn write_compact(value: &impl Serialize, out: &mut impl Write) -> io::Result<()> {
    let mut json = Vec::new();
    serde_json::to_writer(&mut json, value).map_err(io::Error::from)?;
    json.push(b'\n');
    write_terminal_safe(&json, out)
}

/// Writes serde_json's output with every character a terminal would obey
/// escaped as `\uXXXX` (all are in the BMP, so four digits suffice). C0
/// controls are left alone: serde_json has escaped those inside strings,
/// and outside them they are the pretty printer's newlines.
fn write_terminal_safe(json: &[u8], out: &mut impl Write) -> io::Result<()> {
    if json.is_ascii() && !json.contains(&0x7f) {
        return out.write_all(json);
    }
    for chunk in json.utf8_chunks() {
        let mut rest = chunk.valid();
        while let Some((i, c)) = rest
            .char_indices()
            .find(|&(_, c)| c >= '\u{7f}' && needs_terminal_escape(c))
        {
            out.write_all(&rest.as_bytes()[..i])?;
            write!(out, "\\u{:04x}", u32::from(c))?;
            rest = &rest[i + c.len_utf8()..];
        }
        out.write_all(rest.as_bytes())?;
        // serde_json writes only UTF-8; kept as they are if ever not.
        out.write_all(chunk.invalid())?;
    }
    Ok(())
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

    /// The escaping as it was first written, string by string inside
    /// serde_json: the oracle the one-pass rewrite must match byte for byte.
    struct PerStringFormatter<F>(F);

    impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for PerStringFormatter<F> {
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
        fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.0.begin_array(w)
        }
        fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            self.0.end_array(w)
        }
        fn begin_array_value<W: ?Sized + Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
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
        fn begin_object_key<W: ?Sized + Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
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

    fn per_string(value: &impl Serialize, pretty: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if pretty {
            let f = PerStringFormatter(serde_json::ser::PrettyFormatter::new());
            value
                .serialize(&mut serde_json::Serializer::with_formatter(&mut out, f))
                .expect("serialize");
        } else {
            let f = PerStringFormatter(serde_json::ser::CompactFormatter);
            value
                .serialize(&mut serde_json::Serializer::with_formatter(&mut out, f))
                .expect("serialize");
        }
        out.push(b'\n');
        out
    }

    /// Text that is mostly the characters that matter: controls, DEL, C1,
    /// bidi and zero-width marks, quotes, backslashes, other non-ASCII.
    fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let special = proptest::sample::select(vec![
            '\0', '\n', '\x1b', '"', '\\', '\x7f', '\u{80}', '\u{9b}', '\u{9f}', '\u{a0}', 'é',
            '\u{61c}', '\u{200b}', '\u{200f}', '\u{2028}', '\u{202e}', '\u{2060}', '\u{2069}',
            '\u{feff}', '🙂', 'a',
        ]);
        proptest::collection::vec(prop_oneof![special, any::<char>()], 0..12)
            .prop_map(String::from_iter)
    }

    proptest::proptest! {
        /// Any text, in keys and values, pretty or compact: exactly the
        /// bytes of the per-string escaping, valid JSON of the same value,
        /// and nothing a terminal would obey but the pretty printer's
        /// newlines.
        #[test]
        fn any_text_is_escaped_as_before(
            texts in proptest::collection::vec(hostile_text(), 0..6),
        ) {
            let value: std::collections::BTreeMap<&str, &[String]> =
                texts.iter().map(|t| (t.as_str(), texts.as_slice())).collect();
            for pretty in [false, true] {
                let mut out = Vec::new();
                if pretty {
                    write(&value, &mut out).expect("write");
                } else {
                    write_compact(&value, &mut out).expect("write");
                }
                proptest::prop_assert_eq!(&out, &per_string(&value, pretty));
                let text = String::from_utf8(out).expect("utf8");
                proptest::prop_assert!(
                    !text.chars().any(|c| c != '\n' && needs_terminal_escape(c)),
                    "{text:?}"
                );
                let back: std::collections::BTreeMap<String, Vec<String>> =
                    serde_json::from_str(&text).expect("valid JSON");
                proptest::prop_assert_eq!(back.len(), value.len());
                for (k, v) in &back {
                    proptest::prop_assert_eq!(v.as_slice(), value[k.as_str()]);
                }
            }
        }
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
