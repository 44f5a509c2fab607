//! Namespace-wide sysctls that no netlink message carries, read from
//! /proc/sys/net on a thread inside the namespace.
//!
//! /proc/sys/net answers for the network namespace of the thread that
//! *opens* the file (the sysctl root looks the table set up in
//! `current->nsproxy->net_ns`, net_ctl_header_lookup), not the process's
//! or the mount's: verified on Linux 6.18 with a thread that setns'd into
//! a namespace reading its `arp_ignore` while the main thread read the
//! host's. So these reads run on the dump worker, after its setns.
//!
//! A value that cannot be read is None: for `net.bridge.*` that means
//! br_netfilter is not loaded (no /proc/sys/net/bridge), which is "off".
//!
//! Reading is not free at scale, and not linear: every namespace's
//! /proc/sys/net/ipv4 directory is a dentry named `ipv4` under the one
//! shared /proc/sys/net dentry, so they all sit in one dcache hash chain,
//! and a lookup compares against each of them (proc_sys_compare, under the
//! global sysctl_lock, once in RCU walk and again in ref walk since
//! proc_sys_revalidate refuses RCU). Measured on Linux 6.18: 48 µs per
//! namespace at 1,000 namespaces on one thread, twice that with two
//! threads contending. So the IPv4 knobs are read only where they can
//! change a prediction ([`worth_reading`]), the bridge ones only where
//! there is a bridge.

use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::Mode;

use crate::raw::l3::RawSysctl;
use crate::raw::{RawAddr, RawLink};

/// IFF_LOOPBACK (if.h).
const IFF_LOOPBACK: u32 = 0x8;

const IPV4_ALL: &str = "/proc/sys/net/ipv4/conf/all";
const BRIDGE: &str = "/proc/sys/net/bridge";

/// Whether the `net.ipv4.conf.all` knobs nsmap reads (arp_ignore,
/// arp_filter, accept_local, route_localnet) are worth their lookup in a
/// namespace: nsmap's own, a multi-homed one (IPv4 addresses on two or
/// more non-loopback devices: which device answers ARP, and for which
/// address; every router is one), or one with an IPv4 address on lo
/// outside 127.0.0.0/8 (a service address that arp_ignore hides). What
/// that leaves out — one addressed device besides lo — is the common
/// container, where they matter only in corner cases (arp_ignore 2 or 8,
/// a packet with a local source, 127.0.0.0/8 on the wire); there they stay
/// None, "not read". IPv4 forwarding is no sign of a router: a new
/// namespace inherits it from the initial one (devconf_inherit_init_net
/// 0), so on a host with ip_forward=1 every container has it on.
pub fn worth_reading(current: bool, links: &[RawLink], addrs: &[RawAddr]) -> bool {
    let loopback = |ifindex: u32| {
        links
            .iter()
            .any(|l| l.ifindex == ifindex && l.flags & IFF_LOOPBACK != 0)
    };
    let mut addressed: Vec<u32> = addrs
        .iter()
        .filter(|a| a.address.is_ipv4() && !loopback(a.ifindex))
        .map(|a| a.ifindex)
        .collect();
    addressed.sort_unstable();
    addressed.dedup();
    let service_on_lo = addrs.iter().any(|a| match a.address {
        std::net::IpAddr::V4(v4) => loopback(a.ifindex) && !v4.is_loopback(),
        std::net::IpAddr::V6(_) => false,
    });
    current || service_on_lo || addressed.len() > 1
}

/// Reads the calling thread's namespace's sysctls: the IPv4 ones when
/// `ipv4`, the `bridge-nf-call-*` ones when `bridge` (the namespace has a
/// bridge they could apply to).
pub fn read(ipv4: bool, bridge: bool) -> RawSysctl {
    let mut out = RawSysctl::default();
    // One path walk per directory, then one lookup per file.
    if ipv4 && let Some(dir) = open_dir(IPV4_ALL) {
        out.arp_ignore = value(&dir, "arp_ignore");
        out.arp_filter = value(&dir, "arp_filter");
        out.accept_local = value(&dir, "accept_local");
        out.route_localnet = value(&dir, "route_localnet");
    }
    if bridge && let Some(dir) = open_dir(BRIDGE) {
        out.bridge_nf_call_iptables = value(&dir, "bridge-nf-call-iptables");
        out.bridge_nf_call_ip6tables = value(&dir, "bridge-nf-call-ip6tables");
        out.bridge_nf_call_arptables = value(&dir, "bridge-nf-call-arptables");
    }
    out
}

const NETFILTER: &str = "/proc/sys/net/netfilter";

/// The calling thread's namespace's conntrack table use and size (count,
/// max); None each where conntrack is not loaded or the key absent.
pub fn conntrack() -> (Option<i32>, Option<i32>) {
    match open_dir(NETFILTER) {
        Some(dir) => (
            value(&dir, "nf_conntrack_count"),
            value(&dir, "nf_conntrack_max"),
        ),
        None => (None, None),
    }
}

fn open_dir(path: &str) -> Option<OwnedFd> {
    open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

/// One integer sysctl in `dir`.
fn value(dir: &impl AsFd, name: &str) -> Option<i32> {
    let fd = openat(dir, name, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 32];
    let n = nix::unistd::read(&fd, &mut buf).ok()?;
    parse(buf.get(..n)?)
}

/// A sysctl's text ("1\n") as an integer.
fn parse(text: &[u8]) -> Option<i32> {
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_integers_with_a_newline() {
        assert_eq!(parse(b"1\n"), Some(1));
        assert_eq!(parse(b"-1\n"), Some(-1));
        assert_eq!(parse(b"\n"), None);
        assert_eq!(parse(b"1\t2\n"), None);
    }

    fn link(ifindex: u32, flags: u32, forwarding: u32) -> RawLink {
        RawLink {
            ifindex,
            flags,
            inet_conf: Some(vec![forwarding, 0, 0]),
            ..RawLink::default()
        }
    }

    fn addr(ifindex: u32, a: &str) -> RawAddr {
        RawAddr {
            ifindex,
            address: a.parse().expect("address"),
            prefix_len: 24,
            scope: 0,
            flags: 0,
            peer: None,
        }
    }

    #[test]
    fn only_routers_multihomed_and_service_addresses_are_read() {
        let lo = link(1, IFF_LOOPBACK, 0);
        let eth0 = link(2, 0, 0);
        let eth1 = link(3, 0, 0);
        let container = [lo.clone(), eth0.clone()];
        let addrs = [
            addr(1, "127.0.0.1"),
            addr(2, "10.0.0.2"),
            addr(2, "fd00::2"),
        ];
        assert!(!worth_reading(false, &container, &addrs));
        assert!(worth_reading(true, &container, &addrs), "our own");
        let two = [lo.clone(), eth0.clone(), eth1];
        assert!(!worth_reading(false, &two, &addrs), "one addressed");
        let both = [addrs[1].clone(), addr(3, "10.1.0.2")];
        assert!(worth_reading(false, &two, &both), "multi-homed");
        assert!(
            worth_reading(false, &container, &[addr(1, "10.9.9.9")]),
            "a VIP on lo"
        );
        let forwarding = [lo, link(2, 0, 1)];
        assert!(
            !worth_reading(false, &forwarding, &addrs),
            "inherited forwarding"
        );
    }

    #[test]
    fn reads_this_namespace() {
        // Any Linux with /proc has these; without it, None (never a panic).
        let s = read(true, false);
        if std::path::Path::new(IPV4_ALL).exists() {
            assert!(s.arp_ignore.is_some() && s.route_localnet.is_some());
        }
        assert_eq!(s.bridge_nf_call_iptables, None, "not asked");
    }
}
