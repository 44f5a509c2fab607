//! A scan closes everything it opened: namespace files, netlink sockets and
//! threads. Held fds would pin namespaces — and their host-side veths —
//! after `ip netns del`. Its own binary, so no other test opens fds meanwhile.

mod common;

use std::fs;

use common::{Topology, ip, wait_for};
use nsmap::sys::{ScanOptions, scan};

fn count(dir: &str) -> usize {
    fs::read_dir(dir).expect("readable").count()
}

#[test]
#[ignore = "needs root: run as root with `cargo test -- --include-ignored`"]
fn a_scan_leaves_no_fd_thread_or_pinned_namespace() {
    let mut t = Topology::new("fd_leak");
    let ns = t.netns("pinned");
    let h = t.name("h");
    t.host_link(&h);
    ip(&[
        "link", "add", &h, "type", "veth", "peer", "name", "eth0", "netns", &ns,
    ]);

    let fds = count("/proc/self/fd");
    let threads = count("/proc/self/task");
    for _ in 0..3 {
        let raw = scan(&ScanOptions::default()).expect("scan");
        assert!(raw.namespaces.len() >= 2);
    }
    assert_eq!(count("/proc/self/fd"), fds, "open fds before and after");
    assert_eq!(
        count("/proc/self/task"),
        threads,
        "threads before and after"
    );

    // Nothing pins the namespace: deleting it takes the host veth with it.
    ip(&["netns", "del", &ns]);
    wait_for(|| fs::metadata(format!("/sys/class/net/{h}")).is_err());
}
