//! The interactive terminal UI (`nsmap`, `nsmap tui`): namespaces,
//! interfaces and details side by side (layer 3 included: routes, rules,
//! neighbours, netconf, firewalls), follow-the-wire with Enter, the bridges
//! tree, a `/` filter, path mode (`m` marks a source, `p`/`P` traces to a
//! destination with [`crate::path::trace`]), refresh in the background.
//!
//! Shaped as a pure core and one impure shell. [`App`] holds all state and
//! changes only in [`App::update`], from [`Action`]s; [`keymap`] turns key
//! and mouse events into actions; [`View`] draws an app into any ratatui
//! buffer. Only [`event_loop`] touches the terminal, the clock, signals and
//! the scan thread, so everything else is tested with `TestBackend`,
//! without threads or sleeps.

pub mod action;
pub mod app;
mod capture;
mod diff;
pub mod event_loop;
pub mod filter;
pub mod finding;
pub mod keymap;
pub mod layout;
pub mod model;
pub mod top;
pub mod traffic;
mod tree;
pub mod view;

use std::time::Duration;

pub use action::{Action, Effect, Mode};
pub use app::App;
pub use event_loop::run;
pub use finding::{Doctor, Finding, Severity};
pub use view::View;

use crate::cli::Source;

/// How the TUI runs, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Live scans of this host, or a saved snapshot (reloaded by `r`).
    pub source: Source,
    /// Rescan by itself this often; None: only on `r`.
    pub interval: Option<Duration>,
}
