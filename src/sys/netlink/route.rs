//! RTM_NEWROUTE payloads → [`RawRoute`]: `struct rtmsg` (12 bytes), then
//! RTA_* attributes (rtnetlink.h numbers).
//!
//! Only IPv4 and IPv6 routes are routes here: an AF_UNSPEC dump
//! (`rtnl_dump_all`) also walks RTNL_FAMILY_IPMR/IP6MR (multicast
//! forwarding caches) and MPLS, and an IPv6 dump made without
//! NETLINK_GET_STRICT_CHK includes the route cache's exceptions (PMTU and
//! redirect entries flagged RTM_F_CLONED, inet6_dump_fib's
//! `dump_exceptions`), which `ip route show` hides as well. Both are
//! dropped, so a parse of None means "not a route", not only "garbage".

use std::net::IpAddr;

use super::addr::{AF_INET, AF_INET6, ip};
use super::link::{attr, attrs, read_u32};
use crate::raw::l3::{RawRoute, RawRoutePath};

/// `struct rtmsg`: family, dst_len, src_len, tos, table, protocol, scope,
/// type, flags (u32).
pub const RTMSG_LEN: usize = 12;
/// `struct rtnexthop`: len (u16), flags, hops, ifindex (s32).
const RTNEXTHOP_LEN: usize = 8;

const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
const RTA_PREF: u16 = 20;
const RTA_NH_ID: u16 = 30;
/// Inside RTA_METRICS.
const RTAX_MTU: u16 = 2;
const RTM_F_CLONED: u32 = 0x200;

/// Parses one RTM_NEWROUTE payload; None for a cut header, a family other
/// than IPv4/IPv6, or a cache entry.
pub fn parse(payload: &[u8]) -> Option<RawRoute> {
    let h = payload.get(..RTMSG_LEN)?;
    let family = h[0];
    let flags = read_u32(&h[8..12])?;
    if !(family == AF_INET || family == AF_INET6) || flags & RTM_F_CLONED != 0 {
        return None;
    }
    let mut route = RawRoute {
        family,
        dst_len: h[1],
        src_len: h[2],
        tos: h[3],
        table: u32::from(h[4]),
        protocol: h[5],
        scope: h[6],
        kind: h[7],
        flags,
        ..RawRoute::default()
    };
    for (kind, value) in attrs(&payload[RTMSG_LEN..]) {
        match kind {
            RTA_DST => route.dst = ip(family, value),
            RTA_SRC => route.src = ip(family, value),
            RTA_OIF => route.oif = read_u32(value),
            RTA_GATEWAY => route.gateway = ip(family, value),
            RTA_VIA => route.gateway = via(value),
            RTA_PRIORITY => route.priority = read_u32(value),
            RTA_PREFSRC => route.prefsrc = ip(family, value),
            RTA_METRICS => route.mtu = attr(value, RTAX_MTU).and_then(read_u32),
            RTA_MULTIPATH => route.multipath = multipath(family, value),
            // The header's table is 8 bits; RTA_TABLE has the real id.
            RTA_TABLE => route.table = read_u32(value).unwrap_or(route.table),
            RTA_PREF => route.pref = value.first().copied(),
            RTA_NH_ID => route.nhid = read_u32(value),
            _ => {}
        }
    }
    Some(route)
}

/// `struct rtvia`: an address family (u16) and an address of it — an IPv4
/// next hop of an IPv6 route, or the other way round.
fn via(value: &[u8]) -> Option<IpAddr> {
    let family = u16::from_ne_bytes(value.get(..2)?.try_into().ok()?);
    ip(u8::try_from(family).ok()?, value.get(2..)?)
}

/// The `struct rtnexthop`s of RTA_MULTIPATH, each followed by its own
/// attributes (RTA_GATEWAY or RTA_VIA); stops at the first malformed one.
fn multipath(family: u8, mut rest: &[u8]) -> Vec<RawRoutePath> {
    let mut paths = Vec::new();
    while let Some(h) = rest.get(..RTNEXTHOP_LEN) {
        let len = usize::from(u16::from_ne_bytes([h[0], h[1]]));
        let Some(body) = rest.get(RTNEXTHOP_LEN..len) else {
            break;
        };
        let mut path = RawRoutePath {
            ifindex: read_u32(&h[4..8]).unwrap_or(0),
            flags: h[2],
            hops: h[3],
            gateway: None,
        };
        for (kind, value) in attrs(body) {
            match kind {
                RTA_GATEWAY => path.gateway = ip(family, value),
                RTA_VIA => path.gateway = via(value),
                _ => {}
            }
        }
        paths.push(path);
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netlink::link::unhex;

    // RTM_NEWROUTE payloads (after the 16-byte nlmsghdr) from Linux 6.18,
    // answering RTM_GETROUTE dumps in a namespace where veth0 is ifindex 3
    // (10.9.0.1/24, fd01::1/64) and veth1 ifindex 5 (10.9.1.1/24).

    /// ip route add 10.20.0.0/24 nexthop via 10.9.0.2 dev veth0 weight 2 \
    ///     nexthop via 10.9.1.2 dev veth1 weight 3
    /// rtmsg: AF_INET, /24, table 254, protocol boot, scope universe,
    /// unicast; RTA_TABLE 254, RTA_DST 10.20.0.0, RTA_MULTIPATH {
    /// rtnexthop(len 16, hops 1, ifindex 3) RTA_GATEWAY 10.9.0.2,
    /// rtnexthop(len 16, hops 2, ifindex 5) RTA_GATEWAY 10.9.1.2 }.
    const MULTIPATH: &[&str] = &[
        "02180000fe0300010000000008000f00fe000000080001000a140000",
        "240009001000000103000000080005000a0900021000000205000000080005000a090102",
    ];

    /// ip route add 10.30.0.0/24 via inet6 fe80::1 dev veth0
    /// RTA_VIA { family AF_INET6, fe80::1 } (an IPv6 next hop of an IPv4
    /// route), RTA_OIF 3.
    const VIA: &[&str] = &[
        "02180000fe0300010000000008000f00fe000000080001000a1e0000",
        "160012000a00fe80000000000000000000000000000100000800040003000000",
    ];

    /// ip route add 10.41.0.0/16 via 10.9.0.2 dev veth0 mtu 1400 metric 7 table 100
    /// RTA_TABLE 100, RTA_DST, RTA_PRIORITY 7, RTA_METRICS { RTAX_MTU 1400 },
    /// RTA_GATEWAY 10.9.0.2, RTA_OIF 3.
    const METRICS: &[&str] = &[
        "02100000640300010000000008000f0064000000080001000a290000080006000700",
        "00000c0008000800020078050000080005000a0900020800040003000000",
    ];

    /// ip route add blackhole 10.40.0.0/16 table 100
    /// rtm_type 6 (blackhole), no device.
    const BLACKHOLE: &[&str] = &["02100000640300060000000008000f0064000000080001000a280000"];

    /// ip nexthop add id 7 via 10.9.0.3 dev veth0; ip nexthop add id 8 via
    /// 10.9.1.3 dev veth1; ip nexthop add id 9 group 7,2/8,3;
    /// ip route add 10.50.0.0/24 nhid 9
    /// RTA_NH_ID 9 and, with nexthop_compat_mode on (the default), the
    /// group's paths as RTA_MULTIPATH.
    const NHID: &[&str] = &[
        "02180000fe0300010000000008000f00fe000000080001000a32000008001e0009000000",
        "240009001000000103000000080005000a0900031000000205000000080005000a090103",
    ];

    /// ip -6 route add fd02::/64 from fd03::/64 dev veth0
    /// rtmsg: AF_INET6, dst /64, src /64; RTA_TABLE, RTA_DST fd02::,
    /// RTA_SRC fd03::, RTA_PRIORITY 1024, RTA_OIF 3, RTA_CACHEINFO,
    /// RTA_PREF 0 (medium).
    const SOURCE_SPECIFIC: &[&str] = &[
        "0a404000fe0300010000000008000f00fe00000014000100fd020000000000000000",
        "00000000000014000200fd03000000000000000000000000000008000600000400000800",
        "04000300000024000c0000000000000000000000000000000000000000000000000000",
        "000000000000000500140000000000",
    ];

    /// ip -6 route add fd05::/64 nexthop via fe80::2 dev veth0 weight 1 \
    ///     nexthop via fe80::3 dev veth1 weight 4
    /// One message for the whole IPv6 multipath route: RTA_MULTIPATH {
    /// rtnexthop(hops 0, ifindex 3) RTA_GATEWAY fe80::2, rtnexthop(hops 3,
    /// ifindex 5) RTA_GATEWAY fe80::3 }, no RTA_OIF.
    const MULTIPATH6: &[&str] = &[
        "0a400000fe0300010000000008000f00fe00000014000100fd0500000000000000000000",
        "0000000008000600000400003c0009001c0000000300000014000500fe80000000000000",
        "00000000000000021c0000030500000014000500fe800000000000000000000000000003",
        "24000c000000000000000000000000000000000000000000000000000000000000000000",
        "0500140000000000",
    ];

    fn route(lines: &[&str]) -> RawRoute {
        parse(&unhex(lines)).expect("parses")
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("address"))
    }

    #[test]
    fn multipath_paths_keep_their_weights_and_gateways() {
        let r = route(MULTIPATH);
        assert_eq!(
            (r.family, r.dst, r.dst_len, r.table),
            (AF_INET, ip("10.20.0.0"), 24, 254)
        );
        assert_eq!((r.kind, r.protocol, r.scope), (1, 3, 0));
        assert_eq!((r.oif, r.gateway), (None, None));
        let paths: Vec<_> = r
            .multipath
            .iter()
            .map(|p| (p.ifindex, p.hops, p.gateway))
            .collect();
        assert_eq!(paths, vec![(3, 1, ip("10.9.0.2")), (5, 2, ip("10.9.1.2"))]);
    }

    #[test]
    fn a_via_gateway_of_the_other_family() {
        let r = route(VIA);
        assert_eq!((r.gateway, r.oif), (ip("fe80::1"), Some(3)));
    }

    #[test]
    fn numbered_table_metric_and_mtu() {
        let r = route(METRICS);
        assert_eq!((r.table, r.priority, r.mtu), (100, Some(7), Some(1400)));
        assert_eq!((r.gateway, r.oif), (ip("10.9.0.2"), Some(3)));
        let b = route(BLACKHOLE);
        assert_eq!(
            (b.kind, b.table, b.dst, b.dst_len, b.oif),
            (6, 100, ip("10.40.0.0"), 16, None)
        );
    }

    #[test]
    fn a_nexthop_object_route_names_it() {
        let r = route(NHID);
        assert_eq!(r.nhid, Some(9));
        assert_eq!(r.multipath.len(), 2);
    }

    #[test]
    fn ipv6_source_specific_and_multipath() {
        let r = route(SOURCE_SPECIFIC);
        assert_eq!((r.family, r.dst, r.dst_len), (AF_INET6, ip("fd02::"), 64));
        assert_eq!((r.src, r.src_len), (ip("fd03::"), 64));
        assert_eq!((r.priority, r.oif, r.pref), (Some(1024), Some(3), Some(0)));
        let m = route(MULTIPATH6);
        let paths: Vec<_> = m
            .multipath
            .iter()
            .map(|p| (p.ifindex, p.hops, p.gateway))
            .collect();
        assert_eq!(paths, vec![(3, 0, ip("fe80::2")), (5, 3, ip("fe80::3"))]);
        assert_eq!(m.oif, None);
    }

    #[test]
    fn multicast_caches_and_cloned_routes_are_not_routes() {
        let mut bytes = unhex(MULTIPATH);
        bytes[0] = 128; // RTNL_FAMILY_IPMR
        assert_eq!(parse(&bytes), None);
        let mut bytes = unhex(SOURCE_SPECIFIC);
        bytes[9] |= 0x02; // rtm_flags |= RTM_F_CLONED (0x200)
        assert_eq!(parse(&bytes), None);
    }

    #[test]
    fn truncations_never_panic() {
        for capture in [MULTIPATH, VIA, METRICS, NHID, SOURCE_SPECIFIC, MULTIPATH6] {
            let bytes = unhex(capture);
            for cut in 0..bytes.len() {
                let _ = parse(&bytes[..cut]);
            }
        }
        assert_eq!(parse(&unhex(VIA)[..11]), None, "header cut short");
    }

    #[test]
    fn a_nexthop_with_a_bad_length_ends_the_list() {
        // rtnexthop claiming 4 bytes (less than itself), then 200.
        for len in [4u8, 200] {
            let mut bytes = unhex(MULTIPATH);
            bytes[32] = len;
            assert!(route_paths(&bytes).is_empty());
        }
    }

    fn route_paths(bytes: &[u8]) -> Vec<RawRoutePath> {
        parse(bytes).map(|r| r.multipath).unwrap_or_default()
    }

    proptest::proptest! {
        #[test]
        fn any_payload_parses_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
        }
    }
}
