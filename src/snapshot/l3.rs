//! Layer 3 in the map (schema 1, additive): each namespace's routes, policy
//! rules, neighbours, bridge FDB, nexthop objects, netconf and firewall
//! presence, and each interface's addresses in detail and its netconf.
//!
//! Words are iproute2's (`dst`, `dev`, `prefsrc`, `lladdr`, `nhid`), with
//! one type per key: prefixes are always CIDR (`0.0.0.0/0`, never
//! `default`), devices are always [`LinkRef`]s, tables are integers (254 is
//! `main`), sysctl values are the integers `sysctl` prints. A list is null
//! when nsmap did not read it (a command that needs no layer 3, a failed
//! dump — then a warning says why, or a file recorded before it existed).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::name::Name;
use crate::snapshot::LinkRef;

/// `main`, `local`, `default`: the tables every namespace has.
pub const TABLE_MAIN: u32 = 254;
pub const TABLE_LOCAL: u32 = 255;
pub const TABLE_DEFAULT: u32 = 253;

/// An address family as iproute2's JSON names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    #[serde(rename = "inet")]
    Inet,
    #[serde(rename = "inet6")]
    Inet6,
}

impl Family {
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }

    /// Bits in an address of this family.
    pub fn bits(self) -> u8 {
        match self {
            Family::Inet => 32,
            Family::Inet6 => 128,
        }
    }
}

/// One address of an interface, as `ip -j addr` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrInfo {
    pub family: Family,
    /// The interface's own address (`IFA_LOCAL`).
    pub local: IpAddr,
    pub prefixlen: u8,
    /// The far end of a point-to-point link, when it differs from `local`.
    pub peer: Option<IpAddr>,
    /// `global`, `link`, `host`, `site`, `nowhere`, or the number.
    pub scope: String,
    /// `IFA_F_*` names: `secondary` (IPv4) / `temporary` (IPv6), `nodad`,
    /// `optimistic`, `dadfailed`, `deprecated`, `tentative`, `permanent`,
    /// `noprefixroute`, …
    pub flags: Vec<String>,
}

/// Per-family netconf of an interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceNetconf {
    pub ipv4: Option<Netconf>,
    pub ipv6: Option<Netconf>,
}

/// Namespace-wide netconf: the `all` and `default` entries per family.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceNetconf {
    pub ipv4: NetconfPair,
    pub ipv6: NetconfPair,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetconfPair {
    pub all: Option<Netconf>,
    pub default: Option<Netconf>,
}

/// The knobs that decide where a packet goes, as `sysctl` prints them
/// (`net.ipv4.conf.DEV.KEY`); null when the kernel did not say (a key of
/// the other family, or one only /proc/sys has and nsmap could not read).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Netconf {
    pub forwarding: Option<i32>,
    /// 0 off, 1 strict, 2 loose (IPv4 only).
    pub rp_filter: Option<i32>,
    pub mc_forwarding: Option<i32>,
    /// `proxy_arp` (IPv4) / `proxy_ndp` (IPv6).
    pub proxy_neigh: Option<i32>,
    pub ignore_routes_with_linkdown: Option<i32>,
    pub accept_local: Option<i32>,
    pub route_localnet: Option<i32>,
    pub arp_ignore: Option<i32>,
    pub arp_filter: Option<i32>,
    /// IPv6 only.
    pub disable_ipv6: Option<i32>,
    /// IPv6 only, per device (Linux 6.17+): forward what arrives on this
    /// device even with `all.forwarding` 0. Null where the kernel has no
    /// such knob, and in files from before it was recorded.
    #[serde(default)]
    pub force_forwarding: Option<i32>,
}

/// One route, as `ip -j route show table all` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub family: Family,
    /// Table id: 254 main, 255 local, 253 default, others as numbered.
    pub table: u32,
    /// `unicast`, `local`, `broadcast`, `anycast`, `multicast`,
    /// `blackhole`, `unreachable`, `prohibit`, `throw`, `nat`, `xresolve`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Destination prefix, always CIDR (`0.0.0.0/0` for a default route).
    pub dst: String,
    /// Source prefix of an IPv6 source-specific route.
    pub src: Option<String>,
    /// `kernel`, `boot`, `static`, `dhcp`, `ra`, `bird`, …, or the number.
    pub protocol: String,
    /// `global`, `link`, `host`, `site`, `nowhere`, or the number.
    pub scope: String,
    /// `RTA_PRIORITY`; null when the kernel sent none (IPv4 metric 0).
    pub metric: Option<u32>,
    pub tos: u8,
    pub prefsrc: Option<IpAddr>,
    /// The gateway of a single-path route (null for multipath).
    pub gateway: Option<IpAddr>,
    /// The output device of a single-path route (null for multipath).
    pub dev: Option<LinkRef>,
    /// `onlink`, `linkdown`, `dead`, `pervasive`, `offload`, `trap`, …
    pub flags: Vec<String>,
    /// The next hops of a multipath route (or of a nexthop group), in
    /// kernel order; empty for a single-path route.
    pub nexthops: Vec<RoutePath>,
    /// The nexthop object the route uses, if any (its gateway, device or
    /// group are copied into the fields above, as iproute2 shows them).
    pub nhid: Option<u32>,
    /// `mtu` metric.
    pub mtu: Option<u32>,
    /// IPv6 router preference: `low`, `medium`, `high`.
    pub pref: Option<String>,
}

/// One next hop of a multipath route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePath {
    pub gateway: Option<IpAddr>,
    pub dev: Option<LinkRef>,
    /// The kernel's weight (`rtnh_hops + 1`).
    pub weight: u32,
    pub flags: Vec<String>,
}

/// One policy routing rule, as `ip -j rule` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub family: Family,
    pub priority: u32,
    /// `not`: the selectors are inverted.
    pub not: bool,
    /// Source prefix (CIDR), null for `from all`.
    pub src: Option<String>,
    /// Destination prefix (CIDR), null for any.
    pub dst: Option<String>,
    pub iif: Option<Name>,
    pub oif: Option<Name>,
    /// The kernel found no device named `iif` / `oif`: the rule cannot
    /// match until one appears.
    pub iif_detached: bool,
    pub oif_detached: bool,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub tos: u8,
    pub dscp: Option<u8>,
    pub ipproto: Option<u8>,
    /// Port ranges `[start, end]`.
    pub sport: Option<[u16; 2]>,
    pub dport: Option<[u16; 2]>,
    /// uid range `[start, end]`; null for every uid.
    pub uidrange: Option<[u32; 2]>,
    pub l3mdev: bool,
    pub tun_id: Option<u64>,
    /// `lookup`, `goto`, `nop`, `blackhole`, `unreachable`, `prohibit`.
    pub action: String,
    /// The table of a `lookup` rule.
    pub table: Option<u32>,
    /// The target priority of a `goto` rule.
    pub goto: Option<u32>,
    pub suppress_prefixlength: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub protocol: String,
    /// Linux 6.16+: masks of `dscp`, `sport` and `dport` (the rule
    /// matches `value & mask == start`), and the IPv6 flow label
    /// `[value, mask]`. Null when unset (and in older files).
    #[serde(default)]
    pub dscp_mask: Option<u8>,
    #[serde(default)]
    pub sport_mask: Option<u16>,
    #[serde(default)]
    pub dport_mask: Option<u16>,
    #[serde(default)]
    pub flowlabel: Option<[u32; 2]>,
    /// FRA_* attribute numbers nsmap does not know (a newer kernel's
    /// selectors): `nsmap path` does not guess what the rule matches.
    #[serde(default)]
    pub unknown_selectors: Vec<u16>,
}

/// One ARP/NDP entry, as `ip -j neigh` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbour {
    pub family: Family,
    pub dst: IpAddr,
    pub dev: LinkRef,
    pub lladdr: Option<String>,
    /// NUD state names: `REACHABLE`, `STALE`, `DELAY`, `PROBE`, `FAILED`,
    /// `INCOMPLETE`, `NOARP`, `PERMANENT`, `NONE`.
    pub state: Vec<String>,
    pub router: bool,
    /// A proxy entry (`ip neigh add proxy`).
    pub proxy: bool,
    /// Other NTF_* flags: `extern_learn`, `offload`, `managed`, …
    pub flags: Vec<String>,
}

/// One bridge (or vxlan) forwarding database entry, as `bridge -j fdb`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdbEntry {
    pub mac: String,
    /// The port (or vxlan device) it is on.
    pub dev: LinkRef,
    /// The bridge, for a port's entry.
    pub master: Option<LinkRef>,
    pub vlan: Option<u16>,
    /// NUD state names, as for neighbours (`PERMANENT`, `NOARP` for static).
    pub state: Vec<String>,
    /// `self`, `master`, `extern_learn`, `offload`, `sticky`, …
    pub flags: Vec<String>,
    /// A vxlan entry's remote address.
    pub dst: Option<IpAddr>,
    pub vni: Option<u32>,
    pub port: Option<u16>,
    /// A vxlan entry's outgoing device.
    pub via: Option<LinkRef>,
}

/// One nexthop object, as `ip -j nexthop` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nexthop {
    pub id: u32,
    pub family: Option<Family>,
    pub gateway: Option<IpAddr>,
    pub dev: Option<LinkRef>,
    pub blackhole: bool,
    pub fdb: bool,
    /// Members of a group, with their weights.
    pub group: Vec<NexthopMember>,
    pub flags: Vec<String>,
    pub protocol: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NexthopMember {
    pub id: u32,
    pub weight: u32,
}

/// Which firewalls a namespace has and what hooks they sit on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firewall {
    /// nftables tables (iptables-nft's included); null: not readable.
    pub nftables: Option<Vec<NftTable>>,
    pub nftables_generation: Option<u32>,
    /// iptables-legacy tables; null: not readable.
    pub iptables_legacy: Option<Vec<XtTable>>,
    /// `net.bridge.bridge-nf-call-iptables` (null: br_netfilter not
    /// loaded, which means bridged traffic skips the ip hooks).
    pub bridge_nf_call_iptables: Option<i32>,
    pub bridge_nf_call_ip6tables: Option<i32>,
    pub bridge_nf_call_arptables: Option<i32>,
    /// Conntrack entries in use and the table's size
    /// (`net.netfilter.nf_conntrack_count`, `nf_conntrack_max`); read only
    /// where the namespace has firewall tables, null elsewhere.
    #[serde(default)]
    pub conntrack_count: Option<i32>,
    #[serde(default)]
    pub conntrack_max: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftTable {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge`, `netdev`.
    pub family: String,
    pub name: Name,
    pub handle: u64,
    /// `dormant`, `owner`, `persist`.
    pub flags: Vec<String>,
    pub chains: Vec<NftChain>,
    /// Its sets and maps; null where they were not read.
    #[serde(default)]
    pub sets: Option<Vec<super::nft::NftSet>>,
    /// Anonymous chains bound to one rule (`jump { … }`,
    /// NFT_CHAIN_BINDING): part of that rule, as `nft list ruleset` shows
    /// it, so not in `chains`; here for the rule's `jump` to find.
    #[serde(default)]
    pub bound_chains: Vec<NftChain>,
    /// Its flowtables; null where they were not read.
    #[serde(default)]
    pub flowtables: Option<Vec<super::nft::NftFlowtable>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftChain {
    pub name: Name,
    pub handle: u64,
    /// A base chain's hook (`prerouting`, `input`, `forward`, `output`,
    /// `postrouting`, `ingress`, `egress`); null for a regular chain.
    pub hook: Option<String>,
    /// `filter`, `nat`, `route`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub priority: Option<i32>,
    /// `accept` or `drop`, for a base chain.
    pub policy: Option<String>,
    pub devices: Vec<Name>,
    pub rule_count: u32,
    /// The rules, in order; null where they were not read.
    #[serde(default)]
    pub rules: Option<Vec<super::nft::NftRule>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XtTable {
    /// `ip` or `ip6`.
    pub family: String,
    pub name: String,
    pub chains: Vec<XtChain>,
    /// Why the table's entries could not be read (present but unread).
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XtChain {
    pub name: Name,
    /// A built-in chain's hook; null for a user chain.
    pub hook: Option<String>,
    pub policy: Option<String>,
    pub rule_count: u32,
}
