//! How the binary chooses between the TUI and tables when it has no
//! terminal: a bare `nsmap` in a pipe keeps printing the namespace table,
//! an explicit `nsmap tui` fails as a usage error instead of drawing into
//! a pipe.

use std::process::{Command, Output, Stdio};

fn nsmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nsmap"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("nsmap runs")
}

#[test]
fn bare_nsmap_in_a_pipe_prints_the_namespace_table() {
    let out = nsmap(&["--input", "tests/fixtures/demo-l2.json"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("cache") && table.contains("web"), "{table}");
    assert!(!table.contains('\u{1b}'), "no escape sequences in a pipe");
}

#[test]
fn tui_without_a_terminal_is_a_usage_error() {
    let out = nsmap(&["tui", "--input", "tests/fixtures/demo-l2.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn interval_must_be_a_sane_number_of_seconds() {
    for bad in ["0", "-1", "soon", "NaN"] {
        let out = nsmap(&["tui", &format!("--interval={bad}")]);
        assert_eq!(out.status.code(), Some(2), "--interval {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--interval"), "{err}");
    }
}
