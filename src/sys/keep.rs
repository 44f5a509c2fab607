//! Sockets kept between scans, one per namespace (`watch`'s subscriptions,
//! `top`'s sampling sockets): made where they must live, since a socket
//! stays in the namespace it was made in.

use nix::sched::{CloneFlags, setns};

use crate::sys::scan::OpenNamespace;

/// `make()` run in each of `namespaces`: nsmap's own on this thread, the
/// others on a worker thread that enters each in turn (setns moves only
/// the calling thread, and this one must stay in nsmap's namespace; the
/// worker ends at once, so no thread stays inside a namespace). One that
/// cannot be entered, or where `make` fails, is left out; without a worker
/// thread, only nsmap's own namespace is served.
pub fn in_each<T: Send>(
    namespaces: &[&OpenNamespace<'_>],
    make: impl Fn() -> Option<T> + Sync,
) -> Vec<(u64, T)> {
    let mut out: Vec<(u64, T)> = namespaces
        .iter()
        .filter(|ns| ns.current)
        .filter_map(|ns| Some((ns.inode, make()?)))
        .collect();
    let others: Vec<&&OpenNamespace<'_>> = namespaces.iter().filter(|ns| !ns.current).collect();
    if others.is_empty() {
        return out;
    }
    let entered = std::thread::scope(|s| {
        let spawned = std::thread::Builder::new()
            .name("nsmap-keep".into())
            .spawn_scoped(s, || {
                others
                    .iter()
                    .filter(|ns| setns(ns.file, CloneFlags::CLONE_NEWNET).is_ok())
                    .filter_map(|ns| Some((ns.inode, make()?)))
                    .collect::<Vec<_>>()
            });
        spawned.ok().and_then(|h| h.join().ok()).unwrap_or_default()
    });
    out.extend(entered);
    out
}
