//! Kernel names (interface names, process names, mount paths) as text.
//!
//! The kernel hands us bytes: an ifname may hold any byte but `/`, `:`,
//! whitespace and NUL, a `comm` or a mount path anything but NUL. nsmap must
//! put them into JSON (which wants Unicode) and onto terminals (which obey
//! escape sequences) without ever merging two different names or letting a
//! name drive the terminal. Two layers do that:
//!
//! 1. [`Name`] holds the *escaped form*, used in JSON and for matching: valid
//!    UTF-8 is kept as it is, each byte that is not part of valid UTF-8 is
//!    written `\xNN` (two lowercase hex digits) and a literal backslash is
//!    written `\\`. The mapping is injective, so two different kernel names
//!    never become the same string, and [`Name::to_bytes`] reverses it.
//!    Control characters stay (JSON escapes them as `\u001b`, so `jq -r`
//!    gives back exactly the kernel's name).
//! 2. [`terminal_safe`] is applied to every string before it reaches a
//!    terminal: C0/C1 controls, DEL and the Unicode bidi/invisible
//!    formatting characters become visible `\xNN` / `\u{NNNN}` text.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A kernel name in nsmap's escaped form (see the module docs).
///
/// The text is shared (`Arc<str>`): a name is copied from the raw scan into
/// the snapshot, into every reference to its interface and into the TUI's
/// model, and each copy is a reference count instead of an allocation. In
/// JSON it is a plain string.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(Arc<str>);

impl Name {
    /// Escapes raw kernel bytes (trailing NULs already stripped by the caller).
    pub fn from_bytes(bytes: &[u8]) -> Name {
        // Nearly every name: UTF-8 with no backslash, the escaped form as is.
        if let Ok(text) = std::str::from_utf8(bytes)
            && !text.contains('\\')
        {
            return Name(Arc::from(text));
        }
        let mut out = String::with_capacity(bytes.len());
        for chunk in bytes.utf8_chunks() {
            let valid = chunk.valid();
            if valid.contains('\\') {
                out.push_str(&valid.replace('\\', "\\\\"));
            } else {
                out.push_str(valid);
            }
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        Name(Arc::from(out))
    }

    /// Wraps text that is already in the escaped form (a recorded snapshot).
    pub fn from_escaped(s: impl AsRef<str>) -> Name {
        Name(Arc::from(s.as_ref()))
    }

    /// The escaped form: what JSON carries and what users match against.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kernel's bytes again; unknown escapes are kept literally.
    pub fn to_bytes(&self) -> Vec<u8> {
        let s = self.0.as_bytes();
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            if s[i] == b'\\' {
                if s.get(i + 1) == Some(&b'\\') {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                if s.get(i + 1) == Some(&b'x')
                    && let Some(hex) = s.get(i + 2..i + 4)
                    && let Ok(hex) = std::str::from_utf8(hex)
                    && let Ok(b) = u8::from_str_radix(hex, 16)
                {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
            out.push(s[i]);
            i += 1;
        }
        out
    }

    /// Whether a name the user typed means this one: either the same
    /// kernel bytes, or the escaped form as nsmap prints it (so `bad\xff`
    /// copied from a table finds the interface whose name has byte 0xff).
    pub fn matches_typed(&self, typed: &Name) -> bool {
        self == typed || std::str::from_utf8(&typed.to_bytes()).is_ok_and(|t| t == &*self.0)
    }

    /// A wrapper whose `Display` is safe for a terminal.
    pub fn display(&self) -> impl fmt::Display + '_ {
        TerminalSafe(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the name holds characters that a terminal would interpret
    /// (controls, bidi overrides): such names can spoof terminal output.
    pub fn has_control(&self) -> bool {
        self.0.chars().any(needs_terminal_escape)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    /// A JSON string, taken as already escaped (what [`Serialize`] wrote).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name, D::Error> {
        struct Text;
        impl de::Visitor<'_> for Text {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Name, E> {
                Ok(Name::from_escaped(s))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

impl From<&str> for Name {
    /// Treats `s` as raw kernel bytes (so a backslash gets escaped).
    fn from(s: &str) -> Name {
        Name::from_bytes(s.as_bytes())
    }
}

impl fmt::Display for Name {
    /// Terminal-safe, like [`Name::display`]: a `Name` never prints raw.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&TerminalSafe(&self.0), f)
    }
}

struct TerminalSafe<'a>(&'a str);

impl fmt::Display for TerminalSafe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = terminal_safe(self.0);
        f.pad(&s)
    }
}

/// Quotes kernel bytes (a name, a path) for a POSIX shell, so a pasted
/// command does exactly what it says: plain names stay bare, printable
/// ones get single quotes, anything else becomes a `$'…'` string with
/// `\xNN` escapes (bash, zsh, ksh, busybox sh and POSIX.1-2024 sh
/// understand it). The result never holds a control character, so it is
/// also safe to print.
pub fn shell_quote(bytes: &[u8]) -> String {
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        // All ASCII, so this is the identity.
        return bytes.iter().map(|&b| char::from(b)).collect();
    }
    if let Ok(text) = std::str::from_utf8(bytes)
        && !text.chars().any(needs_terminal_escape)
    {
        return format!("'{}'", text.replace('\'', r"'\''"));
    }
    let mut out = String::from("$'");
    for &b in bytes {
        match b {
            b'\'' => out.push_str(r"\'"),
            b'\\' => out.push_str(r"\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

/// Characters a terminal must not receive raw: C0 controls, DEL, C1
/// controls (U+009B is CSI on some terminals) and the invisible formatting
/// characters that reorder or hide text (bidi overrides, zero-width marks).
pub fn needs_terminal_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}' | '\u{061c}' | '\u{feff}')
}

/// Makes any text safe to print on a terminal (see [`needs_terminal_escape`]).
/// ASCII controls become `\xNN`, the others `\u{NNNN}`; all other text,
/// including non-ASCII letters, is kept.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_terminal_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_terminal_escape(c) {
            let n = u32::from(c);
            if n < 0x80 {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{{{n:04x}}}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_unchanged() {
        assert_eq!(Name::from_bytes(b"eth0").as_str(), "eth0");
        assert_eq!(Name::from_bytes("vethé".as_bytes()).as_str(), "vethé");
    }

    #[test]
    fn invalid_utf8_and_backslash_are_escaped_injectively() {
        let invalid = Name::from_bytes(b"a\xff");
        let literal = Name::from_bytes(b"a\\xff");
        assert_eq!(invalid.as_str(), "a\\xff");
        assert_eq!(literal.as_str(), "a\\\\xff");
        assert_ne!(invalid, literal);
        assert_eq!(invalid.to_bytes(), b"a\xff");
        assert_eq!(literal.to_bytes(), b"a\\xff");
    }

    #[test]
    fn typed_names_match_raw_or_printed_form() {
        let kernel = Name::from_bytes(b"bad\xff");
        assert!(kernel.matches_typed(&Name::from_bytes(b"bad\xff")));
        assert!(kernel.matches_typed(&Name::from_bytes(b"bad\\xff")));
        assert!(!kernel.matches_typed(&Name::from_bytes(b"bad")));
        assert!(Name::from("eth0").matches_typed(&Name::from("eth0")));
    }

    proptest::proptest! {
        #[test]
        fn escaping_is_injective_and_reversible(
            a in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..24),
        ) {
            let (na, nb) = (Name::from_bytes(&a), Name::from_bytes(&b));
            proptest::prop_assert_eq!(na.to_bytes(), a.clone());
            proptest::prop_assert_eq!(na == nb, a == b);
            proptest::prop_assert!(!na.to_string().chars().any(needs_terminal_escape));
        }
    }

    #[test]
    fn round_trip_of_every_byte() {
        let all: Vec<u8> = (1..=255).collect();
        assert_eq!(Name::from_bytes(&all).to_bytes(), all);
    }

    #[test]
    fn escape_sequences_never_reach_the_terminal() {
        let evil = Name::from_bytes(b"\x1b[31mevil\x07");
        let shown = evil.to_string();
        assert_eq!(shown, "\\x1b[31mevil\\x07");
        assert!(!shown.chars().any(needs_terminal_escape));
        assert_eq!(terminal_safe("a\u{202e}b\u{9b}"), "a\\u{202e}b\\u{009b}");
    }

    #[test]
    fn json_keeps_controls_as_escapes() {
        let evil = Name::from_bytes(b"\x1bx");
        let json = serde_json::to_string(&evil).expect("serialize");
        assert_eq!(json, "\"\\u001bx\"");
        let back: Name = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, evil);
    }

    #[test]
    fn padding_applies_to_the_escaped_text() {
        assert_eq!(format!("{:<6}|", Name::from("lo")), "lo    |");
    }
}
