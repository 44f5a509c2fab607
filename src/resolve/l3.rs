//! Raw layer-3 dumps → the snapshot's layer-3 keys: kernel numbers named as
//! iproute2 names them, every ifindex turned into a reference in the
//! namespace that reported it (routes, neighbours and nexthops only ever
//! name devices of their own namespace), nexthop objects expanded into the
//! routes that use them.

use std::net::IpAddr;

use crate::name::Name;
use crate::raw::l3::{
    RawFdb, RawFirewall, RawL3, RawNeighbour, RawNetconf, RawNexthop, RawNftFlowtable, RawRoute,
    RawRule, RawSysctl,
};
use crate::raw::{RawAddr, RawLink};
use crate::resolve::format_mac;
use crate::snapshot::LinkRef;
use crate::snapshot::l3::{
    AddrInfo, Family, FdbEntry, Firewall, InterfaceNetconf, NamespaceNetconf, Neighbour, Netconf,
    NetconfPair, Nexthop, NexthopMember, NftChain, NftTable, Route, RoutePath, Rule, XtChain,
    XtTable,
};
use crate::snapshot::nft::NftFlowtable;

const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;
/// An arptables-legacy table's family (`NFPROTO_ARP`).
const NFPROTO_ARP: u8 = 3;

/// The layer-3 keys of one namespace.
pub struct NamespaceL3 {
    pub routes: Option<Vec<Route>>,
    pub rules: Option<Vec<Rule>>,
    pub neighbours: Option<Vec<Neighbour>>,
    pub fdb: Option<Vec<FdbEntry>>,
    pub nexthops: Option<Vec<Nexthop>>,
    pub netconf: Option<NamespaceNetconf>,
    pub firewall: Option<Firewall>,
}

impl NamespaceL3 {
    /// What a namespace without layer-3 dumps gets: null everywhere.
    pub fn absent() -> NamespaceL3 {
        NamespaceL3 {
            routes: None,
            rules: None,
            neighbours: None,
            fdb: None,
            nexthops: None,
            netconf: None,
            firewall: None,
        }
    }
}

/// Resolves one namespace's layer 3. `dev` makes the reference for an
/// ifindex of this namespace.
pub fn namespace(l3: &RawL3, dev: &dyn Fn(u32) -> LinkRef) -> NamespaceL3 {
    let nexthops = l3
        .nexthops
        .as_ref()
        .map(|n| n.iter().map(|nh| nexthop(nh, dev)).collect::<Vec<_>>());
    let routes = l3.routes.as_ref().map(|routes| {
        routes
            .iter()
            .filter_map(|r| route(r, dev, nexthops.as_deref().unwrap_or_default()))
            .collect()
    });
    NamespaceL3 {
        routes,
        rules: l3
            .rules
            .as_ref()
            .map(|rules| rules.iter().filter_map(rule).collect()),
        neighbours: l3
            .neighbours
            .as_ref()
            .map(|n| n.iter().filter_map(|n| neighbour(n, dev)).collect()),
        fdb: l3
            .fdb
            .as_ref()
            .map(|f| f.iter().filter_map(|f| fdb(f, dev)).collect()),
        nexthops,
        netconf: Some(namespace_netconf(&l3.netconf, &l3.sysctl)),
        firewall: l3.firewall.as_ref().map(|f| firewall(f, &l3.sysctl)),
    }
}

fn family(raw: u8) -> Option<Family> {
    match raw {
        AF_INET => Some(Family::Inet),
        AF_INET6 => Some(Family::Inet6),
        _ => None,
    }
}

/// `addr/len`; the unspecified address of the family for a missing one.
fn prefix(family: Family, addr: Option<IpAddr>, len: u8) -> String {
    let addr = addr.unwrap_or(match family {
        Family::Inet => IpAddr::from([0u8; 4]),
        Family::Inet6 => IpAddr::from([0u16; 8]),
    });
    format!("{addr}/{len}")
}

/// RTN_* as iproute2 names them.
pub fn route_type_name(kind: u8) -> String {
    match kind {
        0 => "unspec",
        1 => "unicast",
        2 => "local",
        3 => "broadcast",
        4 => "anycast",
        5 => "multicast",
        6 => "blackhole",
        7 => "unreachable",
        8 => "prohibit",
        9 => "throw",
        10 => "nat",
        11 => "xresolve",
        other => return other.to_string(),
    }
    .to_string()
}

/// RTPROT_* as /etc/iproute2/rt_protos names them.
pub fn protocol_name(protocol: u8) -> String {
    match protocol {
        0 => "unspec",
        1 => "redirect",
        2 => "kernel",
        3 => "boot",
        4 => "static",
        8 => "gated",
        9 => "ra",
        10 => "mrt",
        11 => "zebra",
        12 => "bird",
        13 => "dnrouted",
        14 => "xorp",
        15 => "ntk",
        16 => "dhcp",
        17 => "mrouted",
        18 => "keepalived",
        42 => "babel",
        99 => "openr",
        186 => "bgp",
        187 => "isis",
        188 => "ospf",
        189 => "rip",
        192 => "eigrp",
        other => return other.to_string(),
    }
    .to_string()
}

/// RT_SCOPE_* as iproute2 names them.
pub fn scope_name(scope: u8) -> String {
    match scope {
        0 => "global",
        200 => "site",
        253 => "link",
        254 => "host",
        255 => "nowhere",
        other => return other.to_string(),
    }
    .to_string()
}

/// RTNH_F_* (low byte) and the RTM_F_* flags a dump can carry.
fn route_flags(flags: u32) -> Vec<String> {
    const NAMES: &[(u32, &str)] = &[
        (1, "dead"),
        (2, "pervasive"),
        (4, "onlink"),
        (8, "offload"),
        (16, "linkdown"),
        (32, "unresolved"),
        (64, "trap"),
        (0x200, "cloned"),
        (0x4000, "rt_offload"),
        (0x8000, "rt_trap"),
        (0x2000_0000, "rt_offload_failed"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect()
}

fn route(r: &RawRoute, dev: &dyn Fn(u32) -> LinkRef, nexthops: &[Nexthop]) -> Option<Route> {
    let fam = family(r.family)?;
    let mut out = Route {
        family: fam,
        table: r.table,
        kind: route_type_name(r.kind),
        dst: prefix(fam, r.dst, r.dst_len),
        src: (r.src_len > 0 || r.src.is_some()).then(|| prefix(fam, r.src, r.src_len)),
        protocol: protocol_name(r.protocol),
        scope: scope_name(r.scope),
        metric: r.priority,
        tos: r.tos,
        prefsrc: r.prefsrc,
        gateway: r.gateway,
        dev: r.oif.filter(|&i| i != 0).map(dev),
        flags: route_flags(r.flags),
        nexthops: r
            .multipath
            .iter()
            .map(|p| RoutePath {
                gateway: p.gateway,
                dev: (p.ifindex != 0).then(|| dev(p.ifindex)),
                weight: u32::from(p.hops) + 1,
                flags: route_flags(u32::from(p.flags)),
            })
            .collect(),
        nhid: r.nhid,
        mtu: r.mtu,
        pref: r.pref.map(|p| {
            match p {
                0 => "medium",
                1 => "high",
                3 => "low",
                _ => "invalid",
            }
            .to_string()
        }),
    };
    // With net.ipv4.nexthop_compat_mode=0 the kernel sends only RTA_NH_ID:
    // the nexthop object says where the route leads.
    if let Some(id) = r.nhid
        && out.gateway.is_none()
        && out.dev.is_none()
        && out.nexthops.is_empty()
        && let Some(nh) = nexthops.iter().find(|n| n.id == id)
    {
        if nh.group.is_empty() {
            out.gateway = nh.gateway;
            out.dev = nh.dev.clone();
            out.flags.extend(nh.flags.iter().cloned());
        } else {
            out.nexthops = nh
                .group
                .iter()
                .filter_map(|m| {
                    let member = nexthops.iter().find(|n| n.id == m.id)?;
                    Some(RoutePath {
                        gateway: member.gateway,
                        dev: member.dev.clone(),
                        weight: m.weight,
                        flags: member.flags.clone(),
                    })
                })
                .collect();
        }
    }
    Some(out)
}

/// FR_ACT_* as `ip rule` names them.
fn rule_action(action: u8) -> String {
    match action {
        1 => "lookup",
        2 => "goto",
        3 => "nop",
        6 => "blackhole",
        7 => "unreachable",
        8 => "prohibit",
        0 => "unspec",
        other => return other.to_string(),
    }
    .to_string()
}

/// FIB_RULE_* flags of `struct fib_rule_hdr`.
const FIB_RULE_INVERT: u32 = 0x2;
const FIB_RULE_IIF_DETACHED: u32 = 0x8;
const FIB_RULE_OIF_DETACHED: u32 = 0x10;

fn rule(r: &RawRule) -> Option<Rule> {
    let fam = family(r.family)?;
    let lookup = r.action == 1;
    Some(Rule {
        family: fam,
        priority: r.priority,
        not: r.flags & FIB_RULE_INVERT != 0,
        src: (r.src_len > 0).then(|| prefix(fam, r.src, r.src_len)),
        dst: (r.dst_len > 0).then(|| prefix(fam, r.dst, r.dst_len)),
        iif: r.iifname.clone(),
        oif: r.oifname.clone(),
        iif_detached: r.iifname.is_some() && r.flags & FIB_RULE_IIF_DETACHED != 0,
        oif_detached: r.oifname.is_some() && r.flags & FIB_RULE_OIF_DETACHED != 0,
        fwmark: r.fwmark,
        fwmask: r.fwmask,
        tos: r.tos,
        dscp: r.dscp,
        ipproto: r.ip_proto,
        sport: r.sport.map(|(a, b)| [a, b]),
        dport: r.dport.map(|(a, b)| [a, b]),
        uidrange: r.uid_range.map(|(a, b)| [a, b]),
        l3mdev: r.l3mdev,
        tun_id: r.tun_id,
        action: rule_action(r.action),
        table: lookup.then_some(r.table),
        goto: r.goto,
        suppress_prefixlength: r.suppress_prefixlen,
        suppress_ifgroup: r.suppress_ifgroup,
        protocol: protocol_name(r.protocol),
        dscp_mask: r.dscp_mask,
        sport_mask: r.sport_mask,
        dport_mask: r.dport_mask,
        flowlabel: r
            .flowlabel
            .map(|v| [v, r.flowlabel_mask.unwrap_or(u32::MAX)]),
        unknown_selectors: r.unknown.clone(),
    })
}

/// NUD_* bits as iproute2 prints them; `NONE` for 0.
pub fn nud_names(state: u16) -> Vec<String> {
    const NAMES: &[(u16, &str)] = &[
        (0x01, "INCOMPLETE"),
        (0x02, "REACHABLE"),
        (0x04, "STALE"),
        (0x08, "DELAY"),
        (0x10, "PROBE"),
        (0x20, "FAILED"),
        (0x40, "NOARP"),
        (0x80, "PERMANENT"),
    ];
    if state == 0 {
        return vec!["NONE".to_string()];
    }
    NAMES
        .iter()
        .filter(|(bit, _)| state & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .collect()
}

/// NTF_* (and NTF_EXT_*) flags other than `router` and `proxy`.
fn ntf_names(flags: u8, ext: u32) -> Vec<String> {
    const NAMES: &[(u8, &str)] = &[
        (0x01, "use"),
        (0x02, "self"),
        (0x04, "master"),
        (0x10, "extern_learn"),
        (0x20, "offload"),
        (0x40, "sticky"),
    ];
    const EXT: &[(u32, &str)] = &[(0x1, "managed"), (0x2, "locked")];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| (*n).to_string())
        .chain(
            EXT.iter()
                .filter(|(bit, _)| ext & bit != 0)
                .map(|(_, n)| (*n).to_string()),
        )
        .collect()
}

const NTF_PROXY: u8 = 0x08;
const NTF_ROUTER: u8 = 0x80;

fn neighbour(n: &RawNeighbour, dev: &dyn Fn(u32) -> LinkRef) -> Option<Neighbour> {
    let fam = family(n.family)?;
    Some(Neighbour {
        family: fam,
        dst: n.dst?,
        dev: dev(n.ifindex),
        lladdr: n.lladdr.as_deref().map(format_mac),
        state: nud_names(n.state),
        router: n.flags & NTF_ROUTER != 0,
        proxy: n.proxy || n.flags & NTF_PROXY != 0,
        flags: ntf_names(n.flags & !(NTF_ROUTER | NTF_PROXY), n.flags_ext),
    })
}

fn fdb(f: &RawFdb, dev: &dyn Fn(u32) -> LinkRef) -> Option<FdbEntry> {
    Some(FdbEntry {
        mac: format_mac(f.lladdr.as_deref()?),
        dev: dev(f.ifindex),
        master: f.master.filter(|&m| m != 0).map(dev),
        vlan: f.vlan,
        state: nud_names(f.state),
        flags: ntf_names(f.flags, f.flags_ext),
        dst: f.dst,
        vni: f.vni,
        port: f.port,
        via: f.via_ifindex.filter(|&i| i != 0).map(dev),
    })
}

fn nexthop(n: &RawNexthop, dev: &dyn Fn(u32) -> LinkRef) -> Nexthop {
    Nexthop {
        id: n.id,
        family: family(n.family),
        gateway: n.gateway,
        dev: n.ifindex.filter(|&i| i != 0).map(dev),
        blackhole: n.blackhole,
        fdb: n.fdb,
        group: n
            .group
            .iter()
            .map(|&(id, w)| NexthopMember {
                id,
                weight: u32::from(w) + 1,
            })
            .collect(),
        flags: route_flags(n.flags),
        protocol: protocol_name(n.protocol),
    }
}

fn netconf_of(raw: &RawNetconf) -> Netconf {
    Netconf {
        forwarding: raw.forwarding,
        rp_filter: raw.rp_filter.filter(|_| raw.family == AF_INET),
        mc_forwarding: raw.mc_forwarding,
        proxy_neigh: raw.proxy_neigh,
        ignore_routes_with_linkdown: raw.ignore_routes_with_linkdown,
        ..Netconf::default()
    }
}

fn namespace_netconf(entries: &[RawNetconf], sysctl: &RawSysctl) -> NamespaceNetconf {
    let find = |family: u8, ifindex: i32| {
        entries
            .iter()
            .find(|e| e.family == family && e.ifindex == ifindex)
            .map(netconf_of)
    };
    let mut all4 = find(AF_INET, -1);
    if let Some(all) = &mut all4 {
        all.accept_local = sysctl.accept_local;
        all.route_localnet = sysctl.route_localnet;
        all.arp_ignore = sysctl.arp_ignore;
        all.arp_filter = sysctl.arp_filter;
    }
    NamespaceNetconf {
        ipv4: NetconfPair {
            all: all4,
            default: find(AF_INET, -2),
        },
        ipv6: NetconfPair {
            all: find(AF_INET6, -1),
            default: find(AF_INET6, -2),
        },
    }
}

/// A device's netconf from the devconf arrays of its link message.
pub fn interface_netconf(link: &RawLink) -> Option<InterfaceNetconf> {
    if link.inet_conf.is_none() && link.inet6_conf.is_none() {
        return None;
    }
    // IFLA_INET_CONF is indexed by IPV4_DEVCONF_* − 1 (include/uapi/linux/ip.h).
    let v4 = link.inet_conf.as_ref().map(|c| {
        let at = |devconf: usize| c.get(devconf - 1).map(|&v| v as i32);
        Netconf {
            forwarding: at(1),
            mc_forwarding: at(2),
            proxy_neigh: at(3),
            rp_filter: at(8),
            arp_filter: at(13),
            arp_ignore: at(19),
            accept_local: at(23),
            route_localnet: at(26),
            ignore_routes_with_linkdown: at(29),
            disable_ipv6: None,
            force_forwarding: None,
        }
    });
    // IFLA_INET6_CONF is indexed by DEVCONF_* (include/uapi/linux/ipv6.h).
    let v6 = link.inet6_conf.as_ref().map(|c| {
        let at = |devconf: usize| c.get(devconf).copied();
        Netconf {
            forwarding: at(0),
            proxy_neigh: at(22),
            mc_forwarding: at(25),
            disable_ipv6: at(26),
            ignore_routes_with_linkdown: at(39),
            // DEVCONF_FORCE_FORWARDING: index 59 on Linux 6.18 (found by
            // setting it and diffing the array); shorter arrays lack it.
            force_forwarding: at(59),
            ..Netconf::default()
        }
    });
    Some(InterfaceNetconf { ipv4: v4, ipv6: v6 })
}

/// IFA_F_* names; bit 0 is `secondary` for IPv4 and `temporary` for IPv6.
fn ifa_flags(family: Family, flags: u32) -> Vec<String> {
    const NAMES: &[(u32, &str)] = &[
        (0x02, "nodad"),
        (0x04, "optimistic"),
        (0x08, "dadfailed"),
        (0x10, "homeaddress"),
        (0x20, "deprecated"),
        (0x40, "tentative"),
        (0x80, "permanent"),
        (0x100, "mngtmpaddr"),
        (0x200, "noprefixroute"),
        (0x400, "autojoin"),
        (0x800, "stable-privacy"),
    ];
    let mut out = Vec::new();
    if flags & 0x01 != 0 {
        out.push(
            match family {
                Family::Inet => "secondary",
                Family::Inet6 => "temporary",
            }
            .to_string(),
        );
    }
    out.extend(
        NAMES
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| (*n).to_string()),
    );
    out
}

/// One address in detail.
pub fn addr_info(a: &RawAddr) -> AddrInfo {
    let fam = Family::of(a.address);
    AddrInfo {
        family: fam,
        local: a.address,
        prefixlen: a.prefix_len,
        peer: a.peer.filter(|&p| p != a.address),
        scope: scope_name(a.scope),
        flags: ifa_flags(fam, a.flags),
    }
}

/// NFPROTO_* as nft names the families.
fn nft_family(family: u8) -> String {
    match family {
        1 => "inet",
        2 => "ip",
        3 => "arp",
        5 => "netdev",
        7 => "bridge",
        10 => "ip6",
        other => return other.to_string(),
    }
    .to_string()
}

/// A hook number in a family's own numbering.
fn nft_hook(family: u8, hook: u32) -> String {
    let name = match (family, hook) {
        (3, 0) => "input",
        (3, 1) => "output",
        (3, 2) => "forward",
        (5, 0) => "ingress",
        (5, 1) => "egress",
        (_, 0) => "prerouting",
        (_, 1) => "input",
        (_, 2) => "forward",
        (_, 3) => "output",
        (_, 4) => "postrouting",
        (_, 5) => "ingress",
        (_, other) => return other.to_string(),
    };
    name.to_string()
}

fn verdict(policy: u32) -> String {
    match policy {
        0 => "drop",
        1 => "accept",
        other => return other.to_string(),
    }
    .to_string()
}

/// `NFT_CHAIN_BINDING` of `NFTA_CHAIN_FLAGS` (nf_tables.h).
const NFT_CHAIN_BINDING: u32 = 0x4;

/// A flowtable hooks NF_NETDEV_INGRESS whatever its table's family, so
/// its hook is named in netdev numbering.
fn nft_flowtable(f: &RawNftFlowtable) -> NftFlowtable {
    NftFlowtable {
        name: f.name.clone(),
        handle: f.handle,
        hook: f.hook.map(|h| nft_hook(5, h)),
        priority: f.priority,
        devices: f.devices.clone(),
        flags: [(1, "offload"), (2, "counter")]
            .iter()
            .filter(|(bit, _)| f.flags & bit != 0)
            .map(|(_, n)| (*n).to_string())
            .collect(),
    }
}

fn firewall(f: &RawFirewall, sysctl: &RawSysctl) -> Firewall {
    Firewall {
        nftables: f.nftables.as_ref().map(|tables| {
            tables
                .iter()
                .map(|t| NftTable {
                    family: nft_family(t.family),
                    name: t.name.clone(),
                    handle: t.handle,
                    flags: [(1, "dormant"), (2, "owner"), (4, "persist")]
                        .iter()
                        .filter(|(bit, _)| t.flags & bit != 0)
                        .map(|(_, n)| (*n).to_string())
                        .collect(),
                    // An inline `jump { … }` makes an anonymous chain
                    // bound to its rule (NFT_CHAIN_BINDING): part of that
                    // rule, as `nft list ruleset` shows it, not a chain;
                    // kept apart for the rule's `jump` to find.
                    chains: t
                        .chains
                        .iter()
                        .filter(|c| c.flags & NFT_CHAIN_BINDING == 0)
                        .map(|c| nft_chain(t.family, c))
                        .collect(),
                    sets: t.sets.clone(),
                    bound_chains: t
                        .chains
                        .iter()
                        .filter(|c| c.flags & NFT_CHAIN_BINDING != 0)
                        .map(|c| nft_chain(t.family, c))
                        .collect(),
                    flowtables: t
                        .flowtables
                        .as_ref()
                        .map(|fts| fts.iter().map(nft_flowtable).collect()),
                })
                .collect()
        }),
        nftables_generation: f.nft_generation,
        iptables_legacy: f.iptables_legacy.as_ref().map(|tables| {
            tables
                .iter()
                .map(|t| XtTable {
                    family: match t.family {
                        AF_INET6 => "ip6",
                        NFPROTO_ARP => "arp",
                        _ => "ip",
                    }
                    .to_string(),
                    name: t.name.clone(),
                    chains: t
                        .chains
                        .iter()
                        .map(|c| XtChain {
                            name: c.name.clone(),
                            // The family's own hook numbers (NF_ARP_* for arp).
                            hook: c.hook.map(|h| {
                                nft_hook(if t.family == NFPROTO_ARP { 3 } else { 2 }, u32::from(h))
                            }),
                            policy: c.policy.map(verdict),
                            rule_count: c.rules,
                        })
                        .collect(),
                    problem: t.problem.clone(),
                })
                .collect()
        }),
        bridge_nf_call_iptables: sysctl.bridge_nf_call_iptables,
        bridge_nf_call_ip6tables: sysctl.bridge_nf_call_ip6tables,
        bridge_nf_call_arptables: sysctl.bridge_nf_call_arptables,
        conntrack_count: sysctl.conntrack_count,
        conntrack_max: sysctl.conntrack_max,
    }
}

/// One nftables chain; its rules were decoded by the reader.
fn nft_chain(family: u8, c: &crate::raw::l3::RawNftChain) -> NftChain {
    NftChain {
        name: c.name.clone(),
        handle: c.handle,
        hook: c.hook.map(|h| nft_hook(family, h)),
        kind: c.kind.clone(),
        priority: c.priority,
        policy: c.policy.map(verdict),
        devices: c.devices.clone(),
        rule_count: c.rules,
        rules: c.rule_list.clone(),
    }
}

/// MACVLAN_MODE_* names.
pub fn macvlan_mode_name(mode: u32) -> String {
    match mode {
        1 => "private",
        2 => "vepa",
        4 => "bridge",
        8 => "passthru",
        16 => "source",
        other => return other.to_string(),
    }
    .to_string()
}

/// A reference to `ifindex` in namespace `netns`, named from its links.
pub fn local_ref(netns: u64, ifindex: u32, name: Option<&Name>) -> LinkRef {
    LinkRef {
        netns: Some(netns),
        ifindex,
        ifname: name.cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_iproute2() {
        assert_eq!(route_type_name(1), "unicast");
        assert_eq!(route_type_name(99), "99");
        assert_eq!(protocol_name(2), "kernel");
        assert_eq!(protocol_name(77), "77");
        assert_eq!(scope_name(253), "link");
        assert_eq!(nud_names(0), vec!["NONE"]);
        assert_eq!(nud_names(0x22), vec!["REACHABLE", "FAILED"]);
        assert_eq!(route_flags(4 | 16), vec!["onlink", "linkdown"]);
        assert_eq!(nft_hook(3, 2), "forward");
        assert_eq!(nft_hook(1, 2), "forward");
        assert_eq!(nft_hook(5, 0), "ingress");
    }

    #[test]
    fn default_route_prefix_is_cidr() {
        assert_eq!(prefix(Family::Inet, None, 0), "0.0.0.0/0");
        assert_eq!(prefix(Family::Inet6, None, 0), "::/0");
    }

    #[test]
    fn flowtables_hook_ingress_in_any_family_and_unread_stays_null() {
        let ft = RawNftFlowtable {
            name: Name::from_bytes(b"f\xff"),
            handle: 3,
            hook: Some(0),
            priority: Some(-10),
            devices: vec![Name::from_bytes(b"v0")],
            flags: 3,
            uses: Some(1),
        };
        let table = |flowtables| crate::raw::l3::RawNftTable {
            family: 1,
            flowtables,
            ..Default::default()
        };
        let raw = RawFirewall {
            nftables: Some(vec![table(Some(vec![ft])), table(None)]),
            ..Default::default()
        };
        let fw = firewall(&raw, &RawSysctl::default());
        let tables = fw.nftables.expect("tables");
        let got = tables[0].flowtables.as_ref().expect("read");
        assert_eq!(got.len(), 1);
        // inet hook 0 would be prerouting: a flowtable's is netdev ingress.
        assert_eq!(got[0].hook.as_deref(), Some("ingress"));
        assert_eq!(got[0].flags, ["offload", "counter"]);
        assert_eq!(got[0].name, Name::from_bytes(b"f\xff"));
        assert_eq!((got[0].handle, got[0].priority), (3, Some(-10)));
        assert_eq!(tables[1].flowtables, None);
    }
}
