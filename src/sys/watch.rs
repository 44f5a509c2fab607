//! Waiting for changes: one rtnetlink socket per namespace subscribed to
//! link and address notifications, plus inotify on /run/netns, so `nsmap
//! watch` rescans when something happened instead of polling blindly.
//!
//! A subscription socket pins its namespace (a socket holds a reference to
//! the namespace it was made in), so subscriptions follow discovery: every
//! scan subscribes to namespaces it found for the first time and drops the
//! subscriptions of those it no longer finds — `ip netns del` then really
//! frees the namespace and its veths. Namespaces held only by processes
//! appear and vanish without a notification; the periodic rescan finds them.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use netlink_sys::{Socket, protocols::NETLINK_ROUTE};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::socket::{MsgFlags, recv};

use crate::error::Error;
use crate::raw::RawScan;
use crate::sys::scan::{OpenNamespace, ScanOptions, scan_visiting};

/// rtnetlink multicast groups (rtnetlink.h): links, IPv4 and IPv6 addresses.
const GROUPS: [u32; 3] = [
    libc::RTNLGRP_LINK,
    libc::RTNLGRP_IPV4_IFADDR,
    libc::RTNLGRP_IPV6_IFADDR,
];
/// After the first notification, wait this long for the rest of a burst
/// (`ip link add` of a veth pair sends several) before rescanning.
const SETTLE: Duration = Duration::from_millis(40);

/// Subscriptions to every namespace nsmap found in its last scan.
pub struct Watcher {
    options: ScanOptions,
    subscriptions: HashMap<u64, Socket>,
    inotify: Option<Inotify>,
}

impl Watcher {
    pub fn new(options: ScanOptions) -> Watcher {
        Watcher {
            options,
            subscriptions: HashMap::new(),
            inotify: watch_netns_dirs(),
        }
    }

    /// A full scan; subscribes to new namespaces, drops vanished ones (before
    /// the dumps, so a subscription never keeps a deleted namespace and its
    /// veths around for another round).
    pub fn scan(&mut self) -> Result<RawScan, Error> {
        let subscriptions = &mut self.subscriptions;
        let raw = scan_visiting(&self.options, &mut |open| {
            let present: HashSet<u64> = open.iter().map(|ns| ns.inode).collect();
            subscriptions.retain(|inode, _| present.contains(inode));
            let new: Vec<&OpenNamespace<'_>> = open
                .iter()
                .filter(|ns| !subscriptions.contains_key(&ns.inode))
                .collect();
            subscriptions.extend(subscribe_all(&new));
        })?;
        if self.inotify.is_none() {
            // /run/netns appears with the first `ip netns add`.
            self.inotify = watch_netns_dirs();
        }
        Ok(raw)
    }

    /// Blocks until a namespace reports a change, /run/netns changes, or
    /// `timeout` passes. Returns whether something happened.
    pub fn wait(&mut self, timeout: Duration) -> bool {
        if !self.poll_once(timeout) {
            return false;
        }
        // Collect the rest of the burst before reporting.
        let settle_end = Instant::now() + SETTLE;
        while Instant::now() < settle_end
            && self.poll_once(settle_end.saturating_duration_since(Instant::now()))
        {}
        true
    }

    /// One poll over every subscription; drains what is readable.
    fn poll_once(&mut self, timeout: Duration) -> bool {
        let sockets: Vec<BorrowedFd<'_>> = self.subscriptions.values().map(|s| s.as_fd()).collect();
        let mut fds: Vec<PollFd<'_>> = sockets
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        if let Some(inotify) = &self.inotify {
            fds.push(PollFd::new(inotify.as_fd(), PollFlags::POLLIN));
        }
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        let mut buf = vec![0u8; 16 * 1024];
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, p)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        for i in ready {
            match sockets.get(i) {
                Some(fd) => drain(*fd, &mut buf),
                None => {
                    if let Some(inotify) = &self.inotify {
                        while inotify.read_events().is_ok_and(|e| !e.is_empty()) {}
                    }
                }
            }
        }
        true
    }
}

/// inotify on /run/netns (and /var/run/netns): `ip netns add` and `del`
/// wake the watcher at once. None while neither directory exists.
pub(crate) fn watch_netns_dirs() -> Option<Inotify> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
    let flags = AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO;
    let watched = ["/run/netns", "/var/run/netns"]
        .iter()
        .filter(|d| Path::new(d).is_dir())
        .filter(|d| inotify.add_watch(**d, flags).is_ok())
        .count();
    (watched > 0).then_some(inotify)
}

/// Reads everything queued on a non-blocking socket. The content does not
/// matter: any notification means "rescan"; an overflow (ENOBUFS) too.
fn drain(fd: BorrowedFd<'_>, buf: &mut [u8]) {
    loop {
        match recv(fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT) {
            Ok(0) | Err(Errno::EAGAIN) => return,
            Ok(_) | Err(Errno::ENOBUFS) | Err(Errno::EINTR) => continue,
            Err(_) => return,
        }
    }
}

/// Subscription sockets for `namespaces`: the own one on this thread, the
/// others from a worker thread that enters each (setns moves only it).
fn subscribe_all(namespaces: &[&OpenNamespace<'_>]) -> Vec<(u64, Socket)> {
    // Without a worker thread there are no subscriptions, and the periodic
    // rescan still runs.
    crate::sys::keep::in_each(namespaces, subscribe_here)
}

/// A non-blocking rtnetlink socket in this thread's namespace, joined to
/// the link and address groups.
fn subscribe_here() -> Option<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE).ok()?;
    socket.bind_auto().ok()?;
    socket.set_non_blocking(true).ok()?;
    for group in GROUPS {
        socket.add_membership(group).ok()?;
    }
    Some(socket)
}
