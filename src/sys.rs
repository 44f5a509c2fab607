//! The impure layer: the only code that touches /proc, nsfs, setns and
//! netlink. It returns a [`crate::raw::RawScan`] — plain data — and
//! everything after it is pure and testable without root.

pub mod attribution;
pub mod discover;
pub mod mountinfo;
pub mod netlink;
pub mod nsfs;
pub mod scan;
pub mod watch;

pub use scan::{OpenNamespace, ScanOptions, scan, scan_visiting, scan_with_hook};
