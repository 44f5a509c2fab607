//! nsmap: an exact map of Linux network namespaces, veth pairs, bridges and
//! lower links.
//!
//! Data flows one way: [`sys`] (the only impure module) discovers namespaces
//! and dumps each one into a [`raw::RawScan`]; [`resolve`] joins it into a
//! [`snapshot::Snapshot`]; the CLI, JSON and other views read the snapshot.
//! See ARCHITECTURE.md.

pub mod attribution;
pub mod capture;
pub mod cli;
pub mod diff;
pub mod doctor;
pub mod error;
pub mod graph;
pub mod input;
pub mod name;
pub mod path;
pub mod query;
pub mod rates;
pub mod raw;
pub mod render;
pub mod resolve;
pub mod runtime;
pub mod select;
pub mod snapshot;
pub mod sys;
pub mod tui;

pub use error::Error;
pub use snapshot::Snapshot;
