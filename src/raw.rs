//! What the kernel told us, per namespace, before any joining.
//!
//! A [`RawScan`] is the output of the impure layer (`sys`) and the input of
//! the pure one ([`crate::resolve`]). Numbers are kept exactly as the kernel
//! reported them: `link` is an ifindex in *another* (or this) namespace and
//! `link_netnsid` is relative to the namespace that dumped the link. The
//! `nsids` table holds answers to RTM_GETNSID queries: facts, never
//! inferences. Recording a raw scan (`nsmap snapshot --raw`) gives a fixture
//! for resolve tests.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::attribution::{CniAttachment, Container, Process};
use crate::name::Name;
use crate::snapshot::{Holder, LinkStats, ProcessSummary, ScanInfo, ThreadRef, Warning};

pub mod l3;
pub mod tc;

pub use l3::RawL3;

/// Version of the raw format; fixtures carry it so stale ones are caught.
pub const RAW_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RawScan {
    pub raw_schema_version: u32,
    pub scan: ScanInfo,
    pub namespaces: Vec<RawNamespace>,
    pub warnings: Vec<Warning>,
}

/// One namespace: what discovery found plus what its netlink dump said.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RawNamespace {
    pub inode: u64,
    pub id: Option<u64>,
    pub current: bool,
    pub host: bool,
    pub names: Vec<Name>,
    pub mounts: Vec<Name>,
    pub pids: Vec<u32>,
    pub threads: Vec<ThreadRef>,
    pub holders: Vec<Holder>,
    pub process: Option<ProcessSummary>,
    /// True when `links` and `addrs` are a complete dump.
    pub scanned: bool,
    pub links: Vec<RawLink>,
    pub addrs: Vec<RawAddr>,
    /// RTM_GETNSID answers asked on this namespace's socket.
    pub nsids: Vec<RawNsid>,
    // What lives in it, from `sys::attribution`; carried unchanged into the
    // snapshot. Defaults keep older recordings loadable.
    #[serde(default)]
    pub processes: Vec<Process>,
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub hostname: Option<Name>,
    #[serde(default)]
    pub cni: Vec<CniAttachment>,
    /// Layer 3 (routes, rules, neighbours, netconf, firewall), when the
    /// scan was asked for it and the namespace was dumped.
    #[serde(default)]
    pub l3: Option<RawL3>,
    /// When the link dump (and so its counters) was taken: Unix time in
    /// nanoseconds; null when the scan skipped statistics.
    #[serde(default)]
    pub stats_at_ns: Option<u64>,
    /// The same moment on CLOCK_BOOTTIME (monotonic, one per boot).
    #[serde(default)]
    pub stats_boottime_ns: Option<u64>,
    /// Every qdisc (RTM_GETQDISC), when the scan was asked for them and
    /// the dump worked; null otherwise.
    #[serde(default)]
    pub qdiscs: Option<Vec<tc::RawQdisc>>,
}

/// One RTM_NEWLINK message, reduced to the attributes nsmap uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RawLink {
    pub ifindex: u32,
    pub ifname: Name,
    /// `IFLA_INFO_KIND`.
    pub kind: Option<String>,
    /// `IFLA_INFO_SLAVE_KIND`.
    pub slave_kind: Option<String>,
    /// `IFLA_OPERSTATE` (IF_OPER_*).
    pub operstate: u8,
    /// `ifi_flags` (IFF_*).
    pub flags: u32,
    pub mtu: u32,
    /// `IFLA_ADDRESS`.
    pub address: Option<Vec<u8>>,
    /// `IFLA_LINK`, when present. The kernel omits it when it equals
    /// `ifindex` (nla_put_iflink), which for a veth means "peer has the same
    /// ifindex in the other namespace".
    pub link: Option<u32>,
    /// `IFLA_LINK_NETNSID`: present only when `link` is in another namespace.
    pub link_netnsid: Option<i32>,
    /// `IFLA_MASTER` (same namespace).
    pub master: Option<u32>,
    /// `IFLA_VXLAN_LINK`: a vxlan's lower device, in the `link_netnsid` namespace.
    pub vxlan_link: Option<u32>,
    /// `IFLA_BRPORT_STATE` when this is a bridge port.
    pub port_state: Option<u8>,
    /// `IFLA_BRPORT_ISOLATED` of a bridge port: isolated ports never
    /// forward to each other.
    #[serde(default)]
    pub port_isolated: Option<bool>,
    /// `IFLA_BRPORT_LOCKED` of a bridge port: frames from unknown sources
    /// are dropped.
    #[serde(default)]
    pub port_locked: Option<bool>,
    /// `IFLA_BR_VLAN_FILTERING` of a bridge.
    #[serde(default)]
    pub vlan_filtering: Option<bool>,
    /// `IFLA_BR_NF_CALL_IPTABLES`/`IP6TABLES`/`ARPTABLES` of a bridge (ORed
    /// with the namespace's `bridge-nf-call-*` sysctls by br_netfilter).
    #[serde(default)]
    pub nf_call: Option<[bool; 3]>,
    /// `IFLA_MACVLAN_MODE` of a macvlan/macvtap (MACVLAN_MODE_*).
    #[serde(default)]
    pub macvlan_mode: Option<u32>,
    /// `IFLA_INET_CONF` of `IFLA_AF_SPEC`: the device's IPv4 devconf,
    /// indexed by IPV4_DEVCONF_* − 1. Read only by layer-3 scans.
    #[serde(default)]
    pub inet_conf: Option<Vec<u32>>,
    /// `IFLA_INET6_CONF` of `IFLA_AF_SPEC`: the device's IPv6 devconf,
    /// indexed by DEVCONF_*. Read only by layer-3 scans.
    #[serde(default)]
    pub inet6_conf: Option<Vec<i32>>,
    /// `IFLA_STATS64` (plus `IFLA_CARRIER_CHANGES`), when the dump asked
    /// for statistics.
    #[serde(default)]
    pub stats: Option<LinkStats>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RawAddr {
    pub ifindex: u32,
    pub address: IpAddr,
    pub prefix_len: u8,
    /// `ifa_scope` (RT_SCOPE_*).
    #[serde(default)]
    pub scope: u8,
    /// `IFA_FLAGS` (or `ifa_flags`): IFA_F_SECONDARY, TENTATIVE, DADFAILED, …
    #[serde(default)]
    pub flags: u32,
    /// `IFA_ADDRESS` when it differs from `IFA_LOCAL`: the far end of a
    /// point-to-point link.
    #[serde(default)]
    pub peer: Option<IpAddr>,
}

/// "In this namespace, nsid `nsid` is namespace `netns`" — or, with
/// `nsid: None`, "this namespace has no nsid for `netns`".
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RawNsid {
    pub netns: u64,
    pub nsid: Option<i32>,
}
