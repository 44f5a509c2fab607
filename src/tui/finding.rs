//! What the `d` overlay lists: findings of a doctor (a set of checks over a
//! snapshot), in the overlay's own small shape, so [`super::App`] takes any
//! [`Doctor`] function; [`from_doctor`] adapts `nsmap doctor`'s checks.

use crate::snapshot::{LinkRef, Snapshot};

/// How bad a finding is; the overlay sorts and colours by it.
pub use crate::doctor::Severity;

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

/// `nsmap doctor`'s findings as the overlay shows them: Enter jumps to the
/// first (most relevant) interface of each.
pub fn from_doctor(snapshot: &Snapshot) -> Vec<Finding> {
    crate::doctor::findings(snapshot)
        .into_iter()
        .map(|f| Finding {
            code: f.code.to_string(),
            severity: f.severity,
            message: f.message,
            link: f.interfaces.into_iter().next(),
        })
        .collect()
}
