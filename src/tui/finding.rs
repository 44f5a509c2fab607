//! What the `d` overlay lists: findings of a doctor (a set of checks over a
//! snapshot), in a shape independent of any one check so the doctor module
//! can be plugged in by handing [`super::App`] a [`Doctor`] function.
//! Until then the overlay says that no doctor is available.

use crate::snapshot::{LinkRef, Snapshot};

/// How bad a finding is; the overlay sorts and colours by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One problem the doctor found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Stable machine-readable name of the check (`veth_peer_down`, …).
    pub code: String,
    pub severity: Severity,
    /// One line for humans; made terminal-safe when drawn.
    pub message: String,
    /// The interface it is about; Enter in the overlay jumps there.
    pub link: Option<LinkRef>,
}

/// Runs the checks over a snapshot; called again after every rescan.
pub type Doctor = fn(&Snapshot) -> Vec<Finding>;
