//! JSON output that is safe on a terminal.
//!
//! serde_json escapes C0 controls but writes DEL, C1 controls (U+009B is
//! CSI on some terminals) and bidi overrides raw. These are written as
//! `\uXXXX` too: the JSON value is identical, and `nsmap … --json` printed
//! to a terminal cannot carry a live escape sequence.
//!
//! serde_json's output passes through [`TerminalSafe`], which collects it
//! in blocks and looks at each block in one fast pass for bytes that are
//! DEL or beyond ASCII: every character to escape is one of those, and
//! outside strings JSON is plain ASCII. Only such a byte's character is
//! decoded; everything else goes out as it came. This is much faster than
//! inspecting each string as it is serialized (a call per key and value),
//! and it allocates nothing, however large the document.

use std::io::{self, Write};

use serde::Serialize;

use crate::name::needs_terminal_escape;
use crate::snapshot::{Namespace, Snapshot};

/// Writes `value` as pretty JSON followed by a newline.
pub fn write(value: &impl Serialize, out: &mut impl Write) -> io::Result<()> {
    let mut safe = TerminalSafe::new(out);
    serde_json::to_writer_pretty(&mut safe, value).map_err(io::Error::from)?;
    safe.write_all(b"\n")?;
    safe.finish()
}

/// Writes `value` as one line of JSON followed by a newline.
pub fn write_compact(value: &impl Serialize, out: &mut impl Write) -> io::Result<()> {
    let mut safe = TerminalSafe::new(out);
    serde_json::to_writer(&mut safe, value).map_err(io::Error::from)?;
    safe.write_all(b"\n")?;
    safe.finish()
}

/// Writes a snapshot exactly as [`write`] (pretty) or [`write_compact`]
/// would, byte for byte, but with its namespaces serialized on several
/// threads: a map of a thousand namespaces is tens of megabytes of JSON,
/// and one core would spend longer on it than the scan itself.
///
/// serde_json has no parallel mode, so the document's frame (the
/// snapshot's four keys, in their declared order) is written here, and
/// each namespace is serialized on its own and, when pretty, indented to
/// its depth (serde_json escapes newlines inside strings, so every raw
/// newline is the pretty printer's). `writes_a_snapshot_as_serde_does`
/// pins the equality.
pub fn write_snapshot(snapshot: &Snapshot, pretty: bool, out: &mut impl Write) -> io::Result<()> {
    // Destructured so that a field added to Snapshot fails to compile here
    // instead of going missing from the output.
    let Snapshot {
        schema_version,
        scan,
        namespaces,
        warnings,
    } = snapshot;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
        .min(namespaces.len() / MIN_PER_THREAD)
        .max(1);
    let per_thread = namespaces.len().div_ceil(threads).max(1);
    let mut chunks = namespaces.chunks(per_thread);
    let own = chunks.next().unwrap_or_default();
    std::thread::scope(|s| {
        // The first chunk goes straight out from this thread while the
        // others render into buffers (here too, should a thread not start).
        let others: Vec<_> = chunks
            .map(|c| {
                std::thread::Builder::new()
                    .name("nsmap-json".into())
                    .spawn_scoped(s, move || {
                        let mut buf = Vec::new();
                        namespaces_part(&mut buf, c, true, pretty).map(|()| buf)
                    })
                    .map_err(|_| c)
            })
            .collect();
        let mut safe = TerminalSafe::new(out);
        if pretty {
            write!(
                safe,
                "{{\n  \"schema_version\": {schema_version},\n  \"scan\": "
            )?;
            indented(&mut safe, scan, 1)?;
            safe.write_all(b",\n  \"namespaces\": [")?;
        } else {
            write!(safe, "{{\"schema_version\":{schema_version},\"scan\":")?;
            serde_json::to_writer(&mut safe, scan).map_err(io::Error::from)?;
            safe.write_all(b",\"namespaces\":[")?;
        }
        safe.finish()?;
        namespaces_part(out, own, false, pretty)?;
        for other in others {
            match other {
                Ok(handle) => {
                    let buf = handle
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("a JSON thread panicked")))?;
                    out.write_all(&buf)?;
                }
                Err(c) => namespaces_part(out, c, true, pretty)?,
            }
        }
        Ok::<(), io::Error>(())
    })?;
    let mut safe = TerminalSafe::new(out);
    if pretty {
        if !namespaces.is_empty() {
            safe.write_all(b"\n  ")?;
        }
        safe.write_all(b"],\n  \"warnings\": ")?;
        indented(&mut safe, warnings, 1)?;
        safe.write_all(b"\n}\n")?;
    } else {
        safe.write_all(b"],\"warnings\":")?;
        serde_json::to_writer(&mut safe, warnings).map_err(io::Error::from)?;
        safe.write_all(b"}\n")?;
    }
    safe.finish()
}

/// At most this many threads render a snapshot: beyond it, the copy into
/// the output dominates.
const MAX_THREADS: usize = 4;

/// Below this many namespaces per thread, one thread is faster than
/// starting another.
const MIN_PER_THREAD: usize = 32;

/// Namespaces as the items of the snapshot's `namespaces` array, terminal
/// safe; `later` for every chunk after the first, whose first item then
/// needs its separator.
fn namespaces_part(
    out: &mut impl Write,
    namespaces: &[Namespace],
    later: bool,
    pretty: bool,
) -> io::Result<()> {
    let mut safe = TerminalSafe::new(out);
    for (i, ns) in namespaces.iter().enumerate() {
        let first = i == 0 && !later;
        if pretty {
            safe.write_all(if first { b"\n    " } else { b",\n    " })?;
            indented(&mut safe, ns, 2)?;
        } else {
            if !first {
                safe.write_all(b",")?;
            }
            serde_json::to_writer(&mut safe, ns).map_err(io::Error::from)?;
        }
    }
    safe.finish()
}

/// `value` as pretty JSON nested `depth` levels deep, as serde_json's
/// pretty printer writes it at that depth.
fn indented(out: &mut impl Write, value: &impl Serialize, depth: usize) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, Nested::new(depth));
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// serde_json's `PrettyFormatter` (two spaces a level) starting at a given
/// depth, which serde_json's own cannot: its level is private.
struct Nested {
    level: usize,
    has_value: bool,
}

impl Nested {
    fn new(level: usize) -> Nested {
        Nested {
            level,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        const SPACES: &[u8] = &[b' '; 64];
        let mut n = 2 * self.level;
        while n > 0 {
            let now = n.min(SPACES.len());
            w.write_all(&SPACES[..now])?;
            n -= now;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Bytes collected before they are checked and passed on.
const BLOCK: usize = 16 * 1024;

/// A writer for serde_json's output that passes it on with every character
/// a terminal would obey escaped as `\uXXXX` (all are in the BMP, so four
/// digits suffice). C0 controls are left alone: serde_json has escaped
/// those inside strings, and outside them they are the pretty printer's
/// newlines. [`TerminalSafe::finish`] passes on the last block.
struct TerminalSafe<'a, W: Write> {
    out: &'a mut W,
    block: [u8; BLOCK],
    len: usize,
}

impl<'a, W: Write> TerminalSafe<'a, W> {
    fn new(out: &'a mut W) -> TerminalSafe<'a, W> {
        TerminalSafe {
            out,
            block: [0; BLOCK],
            len: 0,
        }
    }

    /// Passes on the block, escaping as it goes. A character cut by the
    /// block's end stays for the next block (unless this is the `last`),
    /// so it is never judged in two halves.
    fn pass_on(&mut self, last: bool) -> io::Result<()> {
        let data = &self.block[..self.len];
        // data[..done] is passed on; no suspect byte before data[at].
        let (mut done, mut at) = (0, 0);
        let mut cut = data.len();
        while let Some(i) = next_suspect(data, at) {
            let window = &data[i..data.len().min(i + 4)];
            let (valid, error) = match std::str::from_utf8(window) {
                Ok(text) => (text, None),
                Err(e) => (
                    std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or_default(),
                    Some(e),
                ),
            };
            if let Some(c) = valid.chars().next() {
                if needs_terminal_escape(c) {
                    self.out.write_all(&data[done..i])?;
                    write!(self.out, "\\u{:04x}", u32::from(c))?;
                    done = i + c.len_utf8();
                }
                at = i + c.len_utf8();
            } else if error.is_some_and(|e| e.error_len().is_none()) && !last {
                // The block ends inside a character: it goes with the next.
                cut = i;
                break;
            } else {
                // serde_json writes only UTF-8; other bytes pass as they are.
                at = i + 1;
            }
        }
        self.out.write_all(&data[done..cut])?;
        self.block.copy_within(cut..self.len, 0);
        self.len -= cut;
        Ok(())
    }

    /// Passes on what is left (the caller flushes `out`).
    fn finish(mut self) -> io::Result<()> {
        self.pass_on(true)
    }
}

/// The first byte at or after `from` that is DEL or not ASCII. Looks at
/// 32 bytes at a time, which the compiler turns into a few wide compares.
fn next_suspect(data: &[u8], from: usize) -> Option<usize> {
    let suspect = |b: &u8| *b >= 0x7f;
    let rest = data.get(from..)?;
    let mut offset = from;
    for chunk in rest.chunks(32) {
        if chunk.iter().fold(false, |any, b| any | suspect(b)) {
            return chunk.iter().position(suspect).map(|i| offset + i);
        }
        offset += chunk.len();
    }
    None
}

impl<W: Write> Write for TerminalSafe<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        loop {
            let room = BLOCK - self.len;
            if bytes.len() <= room {
                self.block[self.len..self.len + bytes.len()].copy_from_slice(bytes);
                self.len += bytes.len();
                return Ok(());
            }
            let (now, later) = bytes.split_at(room);
            self.block[self.len..].copy_from_slice(now);
            self.len = BLOCK;
            self.pass_on(false)?;
            bytes = later;
        }
    }

    /// Passes on what is complete; `out` is flushed by its owner.
    fn flush(&mut self) -> io::Result<()> {
        self.pass_on(false)
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

    /// The parallel writer against serde_json's own output, both ways, on
    /// the recorded snapshots (hostile names included), on one so large it
    /// is split across threads, and on an empty one.
    #[test]
    fn writes_a_snapshot_as_serde_does() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut snapshots = Vec::new();
        for file in [
            "assets/demo.json",
            "tests/fixtures/hostile.json",
            "tests/fixtures/demo-l2.json",
        ] {
            let path = root.join(file);
            let bytes = std::fs::read(&path).expect("fixture");
            snapshots.push(crate::input::load(&path, &bytes).expect("loads"));
        }
        let mut large = snapshots[0].clone();
        let mut hostile = snapshots[1].namespaces.clone();
        while large.namespaces.len() < 300 {
            large.namespaces.append(&mut hostile.clone());
            hostile.rotate_left(1);
        }
        let mut empty = large.clone();
        empty.namespaces.clear();
        empty.warnings.clear();
        snapshots.extend([large, empty]);
        for snapshot in &snapshots {
            let (mut serial, mut parallel) = (Vec::new(), Vec::new());
            write(snapshot, &mut serial).expect("write");
            write_snapshot(snapshot, true, &mut parallel).expect("write");
            assert!(serial == parallel, "pretty output differs");
            let (mut serial, mut parallel) = (Vec::new(), Vec::new());
            write_compact(snapshot, &mut serial).expect("write");
            write_snapshot(snapshot, false, &mut parallel).expect("write");
            assert!(serial == parallel, "compact output differs");
        }
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

    /// A document of two-, three- and four-byte characters, some to
    /// escape, shifted so that blocks end at every offset inside them and
    /// handed over in pieces that cut them too: the same bytes as the
    /// oracle.
    #[test]
    fn characters_cut_between_writes_or_blocks_are_escaped_whole() {
        let unit = "é\u{202e}🙂\u{9b}x\u{7f}";
        for shift in 0..unit.len() {
            let value = ["a".repeat(shift) + &unit.repeat(2 * BLOCK / unit.len())];
            let raw = serde_json::to_vec(&value).expect("serialize");
            let mut expected = per_string(&value, false);
            expected.pop(); // the newline
            for piece in [1, 7, raw.len()] {
                let mut out = Vec::new();
                let mut safe = TerminalSafe::new(&mut out);
                for bytes in raw.chunks(piece) {
                    safe.write_all(bytes).expect("write");
                }
                safe.finish().expect("finish");
                assert!(out == expected, "shifted by {shift}, pieces of {piece}");
            }
        }
    }

    /// Bytes that are not UTF-8 (serde_json never writes them) pass as
    /// they are, also when the document ends inside a character.
    #[test]
    fn bytes_that_are_not_utf8_pass_unchanged() {
        for raw in [&b"a\xffb\xc2"[..], b"\xe2\x80", b"\x80\xe2\x80\xaex"] {
            let mut out = Vec::new();
            let mut safe = TerminalSafe::new(&mut out);
            safe.write_all(raw).expect("write");
            safe.finish().expect("finish");
            let expected: &[u8] = if raw.ends_with(b"\xaex") {
                b"\x80\\u202ex"
            } else {
                raw
            };
            assert_eq!(out, expected);
        }
    }

    /// Deeper than one piece of indentation, empty and one-element
    /// containers: exactly serde_json's pretty printer.
    #[test]
    fn deep_nesting_is_indented_as_serde_json_does() {
        let mut value = serde_json::json!({"a": [], "b": {}, "c": [1], "d": {"e": null}});
        for depth in 0..80 {
            value = if depth % 2 == 0 {
                serde_json::json!([value, depth])
            } else {
                serde_json::json!({"k": value, "empty": []})
            };
        }
        let mut out = Vec::new();
        write(&value, &mut out).expect("write");
        let mut expected = serde_json::to_vec_pretty(&value).expect("serialize");
        expected.push(b'\n');
        assert!(out == expected);
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
