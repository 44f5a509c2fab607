//! The impure layer: the only code that touches /proc, nsfs, setns and
//! netlink. It returns a [`crate::raw::RawScan`] — plain data — and
//! everything after it is pure and testable without root.

pub mod attribution;
pub mod capture;
pub mod discover;
pub mod keep;
pub mod mountinfo;
pub mod netfilter;
pub mod netlink;
pub mod nsfs;
pub mod sample;
pub mod scan;
pub mod sysctl;
pub mod watch;

pub use scan::{OpenNamespace, ScanOptions, scan, scan_visiting, scan_with_hook};

/// Cores left for the /proc readers while a scan's dump worker runs (at
/// least one).
pub(crate) fn spare_cores() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

/// The errno behind an I/O error (EIO when there is none), so failures
/// from std and from nix are told apart the same way everywhere in `sys`.
pub(crate) fn errno_of(e: &std::io::Error) -> nix::errno::Errno {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code),
        None if e.kind() == std::io::ErrorKind::NotFound => nix::errno::Errno::ENOENT,
        None => nix::errno::Errno::EIO,
    }
}
