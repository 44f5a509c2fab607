//! Layer-3 state of one namespace as the kernel reported it: routes, policy
//! rules, neighbours, the bridge FDB, nexthop objects, netconf and the
//! firewall's presence. Kernel numbers are kept as they came (`rtm_type`,
//! `rtm_scope`, NUD_* states, AF_* families); [`crate::resolve`] names them
//! and turns every ifindex into a reference. Each list is `None` when its
//! dump failed (a warning says why), empty when the kernel had nothing.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::name::Name;

/// Everything the layer-3 dumps of one namespace returned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RawL3 {
    /// RTM_GETROUTE, every table, IPv4 and IPv6.
    pub routes: Option<Vec<RawRoute>>,
    /// RTM_GETRULE, IPv4 and IPv6.
    pub rules: Option<Vec<RawRule>>,
    /// RTM_GETNEIGH (ARP, NDP; proxy entries with `proxy` set).
    pub neighbours: Option<Vec<RawNeighbour>>,
    /// RTM_GETNEIGH on AF_BRIDGE: bridge and vxlan FDB entries, without
    /// the plain devices' own unicast/multicast address lists the dump
    /// also sends. Only asked when the namespace has a bridge or vxlan
    /// device; empty without one (there is nothing else to list).
    pub fdb: Option<Vec<RawFdb>>,
    /// RTM_GETNEXTHOP, only asked when a route names a nexthop object:
    /// None otherwise (not read), and then no route needs one.
    pub nexthops: Option<Vec<RawNexthop>>,
    /// RTM_GETNETCONF answers for `all` (ifindex -1) and `default` (-2),
    /// both families. Per-device values come with the link dump
    /// ([`crate::raw::RawLink::inet_conf`]).
    pub netconf: Vec<RawNetconf>,
    /// Namespace-wide sysctls netconf does not carry, read from
    /// /proc/sys/net on a thread inside the namespace.
    pub sysctl: RawSysctl,
    /// Firewall presence (nftables, iptables-legacy); None when not read.
    pub firewall: Option<RawFirewall>,
}

/// One RTM_NEWROUTE message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRoute {
    /// `rtm_family`: AF_INET (2) or AF_INET6 (10).
    pub family: u8,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    /// `RTA_TABLE` (or `rtm_table` when absent).
    pub table: u32,
    /// `rtm_protocol` (RTPROT_*).
    pub protocol: u8,
    /// `rtm_scope` (RT_SCOPE_*).
    pub scope: u8,
    /// `rtm_type` (RTN_*).
    pub kind: u8,
    /// `rtm_flags` (RTNH_F_* in the low byte, RTM_F_* above).
    pub flags: u32,
    /// `RTA_DST`; None for a /0.
    pub dst: Option<IpAddr>,
    /// `RTA_SRC` (IPv6 source-specific routes).
    pub src: Option<IpAddr>,
    /// `RTA_GATEWAY`, or `RTA_VIA` (an IPv4 gateway of an IPv6 route, or
    /// the other way round).
    pub gateway: Option<IpAddr>,
    /// `RTA_OIF`.
    pub oif: Option<u32>,
    /// `RTA_PRIORITY` (the metric).
    pub priority: Option<u32>,
    /// `RTA_PREFSRC`.
    pub prefsrc: Option<IpAddr>,
    /// `RTA_MULTIPATH` next hops, in kernel order; empty when single-path.
    pub multipath: Vec<RawRoutePath>,
    /// `RTA_NH_ID`: the route uses a nexthop object.
    pub nhid: Option<u32>,
    /// `RTAX_MTU` of `RTA_METRICS`.
    pub mtu: Option<u32>,
    /// `RTA_PREF` (IPv6 router preference).
    pub pref: Option<u8>,
}

/// One `struct rtnexthop` of `RTA_MULTIPATH`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRoutePath {
    pub ifindex: u32,
    /// `rtnh_flags` (RTNH_F_*).
    pub flags: u8,
    /// `rtnh_hops`: the weight minus one.
    pub hops: u8,
    pub gateway: Option<IpAddr>,
}

/// One RTM_NEWRULE message (`struct fib_rule_hdr` + FRA_*).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRule {
    pub family: u8,
    pub dst_len: u8,
    pub src_len: u8,
    pub tos: u8,
    /// `FRA_TABLE` (or the header's table).
    pub table: u32,
    /// `action` (FR_ACT_*).
    pub action: u8,
    /// `flags` (FIB_RULE_INVERT, FIB_RULE_IIF_DETACHED, …).
    pub flags: u32,
    /// `FRA_PRIORITY`; 0 when absent.
    pub priority: u32,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// `FRA_IIFNAME`, as kernel bytes (a hostile name must not fail the rule).
    pub iifname: Option<Name>,
    pub oifname: Option<Name>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    /// `FRA_GOTO` target priority.
    pub goto: Option<u32>,
    /// `FRA_SUPPRESS_PREFIXLEN`; None when unset (the kernel's -1).
    pub suppress_prefixlen: Option<u32>,
    /// `FRA_SUPPRESS_IFGROUP`; None when unset (-1).
    pub suppress_ifgroup: Option<u32>,
    pub l3mdev: bool,
    /// `FRA_UID_RANGE` (start, end); None when it is the full range.
    pub uid_range: Option<(u32, u32)>,
    pub ip_proto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    /// `FRA_PROTOCOL` (who added it: RTPROT_*).
    pub protocol: u8,
    /// `FRA_TUN_ID`.
    pub tun_id: Option<u64>,
    /// `FRA_DSCP` (Linux 6.15+), when sent.
    pub dscp: Option<u8>,
    /// `FRA_DSCP_MASK`, `FRA_SPORT_MASK`, `FRA_DPORT_MASK` (Linux 6.16+).
    pub dscp_mask: Option<u8>,
    pub sport_mask: Option<u16>,
    pub dport_mask: Option<u16>,
    /// `FRA_FLOWLABEL` and `FRA_FLOWLABEL_MASK` (Linux 6.16+, IPv6).
    pub flowlabel: Option<u32>,
    pub flowlabel_mask: Option<u32>,
    /// Attribute numbers past the ones nsmap knows: selectors of a newer
    /// kernel, which make the rule's match unknown rather than ignored.
    #[serde(default)]
    pub unknown: Vec<u16>,
}

/// One RTM_NEWNEIGH message of an AF_INET/AF_INET6 dump.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawNeighbour {
    pub family: u8,
    pub ifindex: u32,
    /// `ndm_state` (NUD_*).
    pub state: u16,
    /// `ndm_flags` (NTF_*).
    pub flags: u8,
    /// `NDA_FLAGS_EXT`, when sent.
    pub flags_ext: u32,
    /// `NDA_DST`.
    pub dst: Option<IpAddr>,
    /// `NDA_LLADDR`.
    pub lladdr: Option<Vec<u8>>,
    /// From the proxy dump (`ip neigh show proxy`).
    pub proxy: bool,
}

/// One RTM_NEWNEIGH message of the AF_BRIDGE dump.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawFdb {
    pub ifindex: u32,
    pub state: u16,
    pub flags: u8,
    pub flags_ext: u32,
    /// `NDA_LLADDR`.
    pub lladdr: Option<Vec<u8>>,
    /// `NDA_MASTER`: the bridge of a port's entry.
    pub master: Option<u32>,
    /// `NDA_VLAN`.
    pub vlan: Option<u16>,
    /// `NDA_DST`: a vxlan entry's remote.
    pub dst: Option<IpAddr>,
    /// `NDA_VNI`.
    pub vni: Option<u32>,
    /// `NDA_PORT`.
    pub port: Option<u16>,
    /// `NDA_IFINDEX`: a vxlan entry's outgoing device.
    pub via_ifindex: Option<u32>,
}

/// One RTM_NEWNEXTHOP message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawNexthop {
    pub id: u32,
    pub family: u8,
    /// `nh_flags` (RTNH_F_*).
    pub flags: u32,
    pub protocol: u8,
    pub ifindex: Option<u32>,
    pub gateway: Option<IpAddr>,
    pub blackhole: bool,
    pub fdb: bool,
    /// `NHA_GROUP`: (id, the kernel's weight minus one). 16 bits since
    /// Linux 6.12 (`weight_high` carries the high byte).
    pub group: Vec<(u32, u16)>,
}

/// One RTM_NEWNETCONF answer. Values absent from the message are None.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawNetconf {
    pub family: u8,
    /// `NETCONFA_IFINDEX`: -1 all, -2 default, else a device.
    pub ifindex: i32,
    pub forwarding: Option<i32>,
    pub rp_filter: Option<i32>,
    pub mc_forwarding: Option<i32>,
    pub proxy_neigh: Option<i32>,
    pub ignore_routes_with_linkdown: Option<i32>,
}

/// Namespace-wide knobs that no netlink message carries, read from
/// /proc/sys/net by a thread inside the namespace. None: not read or not
/// readable. The `bridge_nf_*` ones are read where there is a bridge (None
/// there: br_netfilter not loaded, which means off). The four IPv4 ones
/// are read only in nsmap's own namespace, in one with IPv4 addresses on
/// two or more non-loopback devices, and in one with an IPv4 address on lo
/// outside 127.0.0.0/8: each /proc/sys/net lookup walks past every other
/// namespace's directory (see `sys::sysctl`), and in a namespace with one
/// addressed device they matter only in corner cases (arp_ignore 2 or 8,
/// a packet with a local source, 127.0.0.0/8 on the wire).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawSysctl {
    /// `net.ipv4.conf.all.arp_ignore`.
    pub arp_ignore: Option<i32>,
    /// `net.ipv4.conf.all.arp_filter`.
    pub arp_filter: Option<i32>,
    /// `net.ipv4.conf.all.accept_local`.
    pub accept_local: Option<i32>,
    /// `net.ipv4.conf.all.route_localnet`.
    pub route_localnet: Option<i32>,
    /// `net.bridge.bridge-nf-call-iptables`.
    pub bridge_nf_call_iptables: Option<i32>,
    /// `net.bridge.bridge-nf-call-ip6tables`.
    pub bridge_nf_call_ip6tables: Option<i32>,
    /// `net.bridge.bridge-nf-call-arptables`.
    pub bridge_nf_call_arptables: Option<i32>,
    /// `net.netfilter.nf_conntrack_count` and `nf_conntrack_max`, read
    /// where the namespace has a firewall (None: not read, or conntrack
    /// not loaded).
    #[serde(default)]
    pub conntrack_count: Option<i32>,
    #[serde(default)]
    pub conntrack_max: Option<i32>,
}

/// What the firewall readers found in one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawFirewall {
    /// nftables tables with their chains; None when they could not be read.
    pub nftables: Option<Vec<RawNftTable>>,
    /// The ruleset generation the dumps saw (`NFT_MSG_GETGEN`).
    pub nft_generation: Option<u32>,
    /// iptables-legacy (x_tables) tables listed in
    /// /proc/net/{ip,ip6}_tables_names; None when they could not be read.
    pub iptables_legacy: Option<Vec<RawXtTable>>,
    /// Why a reader failed, for the warning (None when both worked).
    pub problems: Vec<String>,
}

/// One nftables table (NFT_MSG_NEWTABLE) and its chains.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawNftTable {
    /// `nfgen_family` (NFPROTO_*: inet 1, ip 2, arp 3, netdev 5, bridge 7, ip6 10).
    pub family: u8,
    pub name: Name,
    pub handle: u64,
    /// `NFTA_TABLE_FLAGS` (dormant, owner, persist).
    pub flags: u32,
    pub chains: Vec<RawNftChain>,
    /// Its sets and maps with their elements (anonymous ones included);
    /// None when the set dump failed.
    #[serde(default)]
    pub sets: Option<Vec<crate::snapshot::nft::NftSet>>,
    /// Its flowtables (NFT_MSG_GETFLOWTABLE); None when they were not read
    /// (and in scans recorded before nsmap read them).
    #[serde(default)]
    pub flowtables: Option<Vec<RawNftFlowtable>>,
}

/// One nftables flowtable (NFT_MSG_NEWFLOWTABLE): the fast path that a
/// rule's `flow add @name` offloads established connections to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawNftFlowtable {
    pub name: Name,
    pub handle: u64,
    /// `NFTA_FLOWTABLE_HOOK_NUM` (NF_NETDEV_INGRESS 0 in every family).
    pub hook: Option<u32>,
    /// `NFTA_FLOWTABLE_HOOK_PRIORITY`.
    pub priority: Option<i32>,
    /// `NFTA_FLOWTABLE_HOOK_DEVS`.
    pub devices: Vec<Name>,
    /// `NFTA_FLOWTABLE_FLAGS` (NFT_FLOWTABLE_HW_OFFLOAD 1, COUNTER 2).
    pub flags: u32,
    /// `NFTA_FLOWTABLE_USE`: rules that refer to it.
    pub uses: Option<u32>,
}

/// One nftables chain (NFT_MSG_NEWCHAIN) and how many rules it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawNftChain {
    pub name: Name,
    pub handle: u64,
    /// `NFTA_HOOK_HOOKNUM` of a base chain; None for a regular chain.
    pub hook: Option<u32>,
    /// `NFTA_HOOK_PRIORITY`.
    pub priority: Option<i32>,
    /// `NFTA_HOOK_DEV` / `NFTA_HOOK_DEVS` (netdev, inet ingress).
    pub devices: Vec<Name>,
    /// `NFTA_CHAIN_POLICY` (NF_DROP 0, NF_ACCEPT 1).
    pub policy: Option<u32>,
    /// `NFTA_CHAIN_TYPE`: filter, nat, route.
    pub kind: Option<String>,
    /// `NFTA_CHAIN_FLAGS`.
    pub flags: u32,
    /// Rules in it (NFT_MSG_GETRULE dump, counted per chain).
    pub rules: u32,
    /// The rules decoded, in order; None when the rules were not read.
    /// Decoded by the sys layer straight into the snapshot's type: the
    /// resolver only moves them.
    #[serde(default)]
    pub rule_list: Option<Vec<crate::snapshot::nft::NftRule>>,
}

/// One iptables-legacy table, read with IPT_SO_GET_INFO/ENTRIES (or the
/// ip6 equivalents) from a socket inside the namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawXtTable {
    /// AF_INET or AF_INET6.
    pub family: u8,
    pub name: String,
    /// Built-in chains (one per hook the table has) and user chains.
    pub chains: Vec<RawXtChain>,
    /// Why its entries could not be read, if so (present but unread).
    pub problem: Option<String>,
}

/// One chain of an iptables-legacy table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawXtChain {
    pub name: Name,
    /// NF_INET_* hook of a built-in chain; None for a user chain.
    pub hook: Option<u8>,
    /// The built-in chain's policy verdict (NF_DROP 0, NF_ACCEPT 1).
    pub policy: Option<u32>,
    /// Rules in it, the policy not counted.
    pub rules: u32,
}
