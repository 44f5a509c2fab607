//! The library's one error type. Only fatal conditions live here; partial
//! failures (a namespace that vanished, a permission denied) are
//! [`crate::snapshot::Warning`]s inside the result. Messages say what failed,
//! on what, and what to do.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// /proc is missing or unreadable: nothing can be discovered.
    #[error("cannot {what}: {reason}; nsmap needs a mounted /proc")]
    Proc { what: String, reason: String },

    /// Own namespace's rtnetlink failed: not even the local map is possible.
    #[error("cannot dump interfaces of nsmap's own network namespace: {0}")]
    OwnNamespace(String),

    /// A `--input` file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadInput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A `--input` file is not a snapshot nsmap understands.
    #[error("{path}:{line}:{column}: {message}; expected a snapshot written by `nsmap snapshot`")]
    ParseInput {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A `--input` file from an incompatible schema.
    #[error(
        "{path}: schema_version {found} is not supported (this nsmap reads {supported}); re-record it with this nsmap version"
    )]
    SchemaVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },

    /// Arguments that do not go together.
    #[error("{0}")]
    Usage(String),

    /// A namespace selector matched nothing.
    #[error("no namespace matches '{0}'; list them with `nsmap ns`")]
    NoSuchNamespace(String),

    /// An interface name matched nothing.
    #[error(
        "no interface, container or pod named '{name}' {scope}; list them with `nsmap links` and `nsmap ns`"
    )]
    NoSuchInterface { name: String, scope: String },

    /// The TUI was asked for without a terminal to draw on.
    #[error(
        "the interactive view needs a terminal on stdin and stdout; for output to a pipe or file use `nsmap ns`, `nsmap links` or `nsmap bridges`"
    )]
    NotATerminal,

    /// A live capture could not run (no privilege, no interface opened).
    #[error("{0}")]
    Capture(String),

    /// A bridge name matched nothing.
    #[error("no bridge named '{name}' {scope}; list them with `nsmap bridges`")]
    NoSuchBridge { name: String, scope: String },
}
