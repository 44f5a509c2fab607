//! Reading a saved snapshot (`--input FILE`): a `nsmap snapshot` document,
//! or a raw scan (`nsmap snapshot --raw`), which is resolved on load.
//! Pure: bytes in, snapshot or a positioned error out.

use std::path::Path;

use serde_json::Value;

use crate::error::Error;
use crate::raw::{RAW_SCHEMA_VERSION, RawScan};
use crate::resolve::resolve;
use crate::snapshot::{SCHEMA_VERSION, Snapshot};

/// Parses `bytes` (the contents of `path`, named in errors).
pub fn load(path: &Path, bytes: &[u8]) -> Result<Snapshot, Error> {
    let positioned = |e: serde_json::Error| Error::ParseInput {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    };
    let value: Value = serde_json::from_slice(bytes).map_err(positioned)?;
    let version = |key: &str| value.get(key).and_then(Value::as_u64);
    if let Some(found) = version("raw_schema_version") {
        if found != u64::from(RAW_SCHEMA_VERSION) {
            return Err(Error::SchemaVersion {
                path: path.to_path_buf(),
                found,
                supported: RAW_SCHEMA_VERSION,
            });
        }
        let raw: RawScan = serde_json::from_slice(bytes).map_err(positioned)?;
        return Ok(resolve(&raw));
    }
    match version("schema_version") {
        Some(found) if found == u64::from(SCHEMA_VERSION) => {
            serde_json::from_slice(bytes).map_err(positioned)
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
            let mut demo = include_bytes!("../assets/demo.json").to_vec();
            let at = at % demo.len();
            demo[at] = byte;
            if let Err(e) = load(Path::new("demo.json"), &demo) {
                proptest::prop_assert!(e.to_string().starts_with("demo.json"));
            }
        }
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
