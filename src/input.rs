//! Reading a saved snapshot (`--input FILE`): a `nsmap snapshot` document,
//! or a raw scan (`nsmap snapshot --raw`), which is resolved on load.
//! Pure: bytes in, snapshot or a positioned error out.

use std::path::Path;

use crate::error::Error;
use crate::raw::{RAW_SCHEMA_VERSION, RawScan};
use crate::resolve::resolve;
use crate::snapshot::{SCHEMA_VERSION, Snapshot};

/// Parses `bytes` (the contents of `path`, named in errors).
///
/// One pass over the document: the version is read from its first key
/// (where `nsmap snapshot` writes it) before the typed parse, so an
/// incompatible file is named as such rather than failing on a field; only
/// a file that does not start with it is scanned once more for it. The
/// whole file is checked as UTF-8 once, which lets serde_json skip that
/// check for each of its strings (a quarter of the parse of a large host).
pub fn load(path: &Path, bytes: &[u8]) -> Result<Snapshot, Error> {
    let positioned = |e: serde_json::Error| Error::ParseInput {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = position(bytes, e.valid_up_to());
        Error::ParseInput {
            path: path.to_path_buf(),
            line,
            column,
            message: "the file is not UTF-8".into(),
        }
    })?;
    let versions = match first_key_version(text) {
        Some(v) => v,
        None => serde_json::from_str::<Versions>(text).map_err(positioned)?,
    };
    if let Some(found) = versions.raw_schema_version {
        if found != u64::from(RAW_SCHEMA_VERSION) {
            return Err(Error::SchemaVersion {
                path: path.to_path_buf(),
                found,
                supported: RAW_SCHEMA_VERSION,
            });
        }
        let raw: RawScan = serde_json::from_str(text).map_err(positioned)?;
        return Ok(resolve(&raw));
    }
    match versions.schema_version {
        Some(found) if found == u64::from(SCHEMA_VERSION) => {
            serde_json::from_str(text).map_err(positioned)
        }
        Some(found) => Err(Error::SchemaVersion {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        }),
        None => Err(Error::ParseInput {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "no schema_version field".into(),
        }),
    }
}

/// The version keys of a document; every other key is skipped unparsed.
#[derive(Debug, Default, serde::Deserialize)]
struct Versions {
    schema_version: Option<u64>,
    raw_schema_version: Option<u64>,
}

/// The version when it is the document's first key (`{"schema_version":
/// 1, …`, compact or pretty), without parsing the rest.
fn first_key_version(text: &str) -> Option<Versions> {
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    for (key, raw) in [
        ("\"schema_version\"", false),
        ("\"raw_schema_version\"", true),
    ] {
        if let Some(after) = rest.strip_prefix(key) {
            let value = after.trim_start().strip_prefix(':')?.trim_start();
            let digits = value
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(value.len());
            let number: u64 = value[..digits].parse().ok()?;
            let next = value[digits..].trim_start();
            if !(next.starts_with(',') || next.starts_with('}')) {
                return None;
            }
            return Some(if raw {
                Versions {
                    schema_version: None,
                    raw_schema_version: Some(number),
                }
            } else {
                Versions {
                    schema_version: Some(number),
                    raw_schema_version: None,
                }
            });
        }
    }
    None
}

/// 1-based line and column of byte `at`.
fn position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// serde_json appends " at line L column C"; nsmap puts the position first.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err =
            load(Path::new("x.json"), b"{\n  \"schema_version\": 1,\n  oops").expect_err("bad");
        assert_eq!(
            err.to_string(),
            "x.json:3:3: key must be a string; expected a snapshot written by `nsmap snapshot`"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_an_error_or_a_snapshot(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = load(Path::new("x"), &bytes);
        }

        #[test]
        fn a_mutated_demo_never_panics(at in 0usize..100_000, byte in proptest::num::u8::ANY) {
            let mut demo = include_bytes!("../tests/fixtures/demo-l2.json").to_vec();
            let at = at % demo.len();
            demo[at] = byte;
            if let Err(e) = load(Path::new("demo.json"), &demo) {
                proptest::prop_assert!(e.to_string().starts_with("demo.json"));
            }
        }
    }

    #[test]
    fn the_version_is_read_from_the_first_key_or_found_anywhere() {
        let v = first_key_version("{\n  \"schema_version\": 1,\n  \"scan\": {}").expect("pretty");
        assert_eq!((v.schema_version, v.raw_schema_version), (Some(1), None));
        let v = first_key_version(r#"{"raw_schema_version":1,"x":2}"#).expect("compact");
        assert_eq!((v.schema_version, v.raw_schema_version), (None, Some(1)));
        assert!(first_key_version(r#"{"scan": {}, "schema_version": 1}"#).is_none());
        assert!(first_key_version(r#"{"schema_version": 1.5}"#).is_none());
        // Not first: the slow path still finds it, and the document loads.
        let err = load(
            Path::new("x.json"),
            br#"{"warnings": [], "schema_version": 7}"#,
        )
        .expect_err("bad");
        assert!(err.to_string().contains("schema_version 7"), "{err}");
        let err = load(
            Path::new("x.json"),
            b"{\"schema_version\": 1, \"a\": \"\xff\"}",
        )
        .expect_err("bad");
        assert_eq!(
            err.to_string(),
            "x.json:1:29: the file is not UTF-8; expected a snapshot written by `nsmap snapshot`"
        );
    }

    #[test]
    fn wrong_versions_are_named() {
        let err = load(Path::new("x.json"), br#"{"schema_version": 9}"#).expect_err("bad");
        assert!(
            err.to_string()
                .contains("schema_version 9 is not supported"),
            "{err}"
        );
    }

    #[test]
    fn type_errors_carry_a_position() {
        let doc = br#"{"schema_version": 1, "scan": {"nsmap_version": "x", "duration_ms": null, "privileged": true}, "namespaces": 5, "warnings": []}"#;
        let err = load(Path::new("x.json"), doc).expect_err("bad");
        assert!(err.to_string().starts_with("x.json:1:"), "{err}");
    }
}
