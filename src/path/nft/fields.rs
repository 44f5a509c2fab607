//! Which header field a payload load reads, which meta key a name is,
//! and how a reject statement reads: the tables the printer translates
//! with.

use super::names::Ty;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum L3 {
    V4,
    V6,
}

/// The field at `offset`/`len` of a header (a shorter load of an address
/// is a prefix of it): its name, type and full width. `l3`/`l4` are the
/// protocols the rule's dependencies fixed.
pub(super) fn payload_field(
    family: &str,
    l3: Option<L3>,
    l4: Option<u8>,
    base: &str,
    offset: u32,
    len: u32,
) -> Option<(&'static str, Ty, usize)> {
    Some(match base {
        "network" => match (l3?, offset) {
            (L3::V4, 12) if len <= 4 => ("ip saddr", Ty::Ipv4, 4),
            (L3::V4, 16) if len <= 4 => ("ip daddr", Ty::Ipv4, 4),
            (L3::V4, 8) if len == 1 => ("ip ttl", Ty::Decimal, 1),
            (L3::V4, 9) if len == 1 => ("ip protocol", Ty::L4proto, 1),
            (L3::V6, 8) if len <= 16 => ("ip6 saddr", Ty::Ipv6, 16),
            (L3::V6, 24) if len <= 16 => ("ip6 daddr", Ty::Ipv6, 16),
            (L3::V6, 7) if len == 1 => ("ip6 hoplimit", Ty::Decimal, 1),
            (L3::V6, 6) if len == 1 => ("ip6 nexthdr", Ty::L4proto, 1),
            _ => return None,
        },
        "transport" => match (l4?, offset, len) {
            (6, 0, 2) => ("tcp sport", Ty::Port, 2),
            (6, 2, 2) => ("tcp dport", Ty::Port, 2),
            (6, 13, 1) => ("tcp flags", Ty::TcpFlags, 1),
            (17, 0, 2) => ("udp sport", Ty::Port, 2),
            (17, 2, 2) => ("udp dport", Ty::Port, 2),
            (1, 0, 1) => ("icmp type", Ty::IcmpType, 1),
            (1, 1, 1) => ("icmp code", Ty::Decimal, 1),
            (58, 0, 1) => ("icmpv6 type", Ty::Icmp6Type, 1),
            (58, 1, 1) => ("icmpv6 code", Ty::Decimal, 1),
            _ => return None,
        },
        "link" | "ll" if family == "bridge" || family == "netdev" => match (offset, len) {
            (0, 6) => ("ether daddr", Ty::Ether, 6),
            (6, 6) => ("ether saddr", Ty::Ether, 6),
            (12, 2) => ("ether type", Ty::EtherType, 2),
            _ => return None,
        },
        _ => return None,
    })
}

pub(super) fn meta_sel(key: &str) -> Option<(String, Ty, usize)> {
    let (text, ty, len) = match key {
        "iifname" | "oifname" => (key.to_string(), Ty::Ifname, 16),
        "iif" | "oif" => (key.to_string(), Ty::Ifindex, 4),
        "l4proto" => ("meta l4proto".into(), Ty::L4proto, 1),
        "nfproto" => ("meta nfproto".into(), Ty::Nfproto, 1),
        "mark" => ("meta mark".into(), Ty::Mark, 4),
        "len" => ("meta length".into(), Ty::Decimal, 4),
        "iiftype" | "oiftype" => (format!("meta {key}"), Ty::Iftype, 2),
        "skuid" | "skgid" => (format!("meta {key}"), Ty::Decimal, 4),
        "pkttype" => ("meta pkttype".into(), Ty::Pkttype, 1),
        _ => return None,
    };
    Some((text, ty, len))
}

pub(super) fn reject(kind: &str, code: u8, l3: Option<L3>, family: &str) -> Option<String> {
    let icmp: &[(u8, &'static str)] = &[
        (0, "net-unreachable"),
        (1, "host-unreachable"),
        (2, "prot-unreachable"),
        (3, "port-unreachable"),
        (9, "net-prohibited"),
        (10, "host-prohibited"),
        (13, "admin-prohibited"),
    ];
    let icmp6: &[(u8, &'static str)] = &[
        (0, "no-route"),
        (1, "admin-prohibited"),
        (3, "addr-unreachable"),
        (4, "port-unreachable"),
        (5, "policy-fail"),
        (6, "reject-route"),
    ];
    let icmpx: &[(u8, &'static str)] = &[
        (0, "no-route"),
        (1, "port-unreachable"),
        (2, "host-unreachable"),
        (3, "admin-prohibited"),
    ];
    let name = |t: &[(u8, &'static str)]| -> Option<&'static str> {
        t.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
    };
    Some(match kind {
        "tcp_rst" => "reject with tcp reset".into(),
        "icmpx_unreach" if code == 1 && family == "inet" => "reject".into(),
        "icmpx_unreach" => format!("reject with icmpx {}", name(icmpx)?),
        "icmp_unreach" => match (l3?, family) {
            (L3::V4, "ip") if code == 3 => "reject".into(),
            (L3::V6, "ip6") if code == 4 => "reject".into(),
            (L3::V4, _) => format!("reject with icmp {}", name(icmp)?),
            (L3::V6, _) => format!("reject with icmpv6 {}", name(icmp6)?),
        },
        _ => return None,
    })
}
