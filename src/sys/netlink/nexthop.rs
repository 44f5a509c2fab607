//! RTM_NEWNEXTHOP payloads → [`RawNexthop`]: `struct nhmsg` (8 bytes),
//! then NHA_* attributes (nexthop.h numbers).
//!
//! netlink-packet-route 0.34 has no nexthop objects: the dump request is
//! built by hand (an all-zero `nhmsg`; rtm_dump_nexthop validates the
//! header and its attributes strictly whatever the socket's options) and
//! answers are walked with nsmap's own attribute helpers.

use super::addr::ip;
use super::link::{attrs, read_u32};
use crate::raw::l3::RawNexthop;

/// `struct nhmsg`: family, scope, protocol, resvd, flags (u32).
pub const NHMSG_LEN: usize = 8;
/// `struct nexthop_grp`: id (u32), weight, weight_high, resvd2 (u16).
const NEXTHOP_GRP_LEN: usize = 8;

const NHA_ID: u16 = 1;
const NHA_GROUP: u16 = 2;
const NHA_BLACKHOLE: u16 = 4;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;
const NHA_FDB: u16 = 11;

/// Parses one RTM_NEWNEXTHOP payload; None when the header is cut short or
/// the message has no id.
pub fn parse(payload: &[u8]) -> Option<RawNexthop> {
    let h = payload.get(..NHMSG_LEN)?;
    let family = h[0];
    let mut nh = RawNexthop {
        family,
        protocol: h[2],
        flags: read_u32(&h[4..8])?,
        ..RawNexthop::default()
    };
    let mut id = None;
    for (kind, v) in attrs(&payload[NHMSG_LEN..]) {
        match kind {
            NHA_ID => id = read_u32(v),
            NHA_GROUP => nh.group = group(v),
            NHA_BLACKHOLE => nh.blackhole = true,
            NHA_OIF => nh.ifindex = read_u32(v),
            NHA_GATEWAY => nh.gateway = ip(family, v),
            NHA_FDB => nh.fdb = true,
            _ => {}
        }
    }
    nh.id = id?;
    Some(nh)
}

/// NHA_GROUP's members as (id, weight − 1). The weight is 16 bits since
/// Linux 6.12: its low byte minus one in `weight`, the high byte in
/// `weight_high` (nexthop_grp_weight).
fn group(v: &[u8]) -> Vec<(u32, u16)> {
    v.chunks_exact(NEXTHOP_GRP_LEN)
        .filter_map(|m| {
            let id = read_u32(&m[..4])?;
            Some((id, u16::from_le_bytes([m[4], m[5]])))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netlink::link::unhex;

    // RTM_NEWNEXTHOP payloads from Linux 6.18 (veth0 ifindex 3, veth1 5).

    /// ip nexthop add id 7 via 10.9.0.3 dev veth0
    /// nhmsg: AF_INET, scope 253 (link), protocol 0; NHA_ID 7, NHA_OIF 3,
    /// NHA_GATEWAY 10.9.0.3.
    const GATEWAY: &[&str] = &["02fd00000000000008000100070000000800050003000000080006000a090003"];

    /// ip nexthop add id 9 group 7,2/8,3
    /// nhmsg: AF_UNSPEC; NHA_ID 9, NHA_GROUP_TYPE 0, NHA_GROUP { (7, weight
    /// 1 = 2 − 1), (8, 2) }, attribute 14 (NHA_OP_FLAGS; not read).
    const GROUP: &[&str] = &[
        "000000000000000008000100090000000600030000000000140002000700000001000000080000000200000008000e00",
        "00000080",
    ];

    /// ip nexthop add id 10 blackhole — NHA_ID 10, NHA_BLACKHOLE (a flag).
    const BLACKHOLE: &[&str] = &["0200000000000000080001000a00000004000400"];

    #[test]
    fn gateway_group_and_blackhole() {
        let g = parse(&unhex(GATEWAY)).expect("parses");
        assert_eq!((g.id, g.family, g.ifindex), (7, 2, Some(3)));
        assert_eq!(g.gateway.map(|a| a.to_string()), Some("10.9.0.3".into()));
        let grp = parse(&unhex(GROUP)).expect("parses");
        assert_eq!(
            (grp.id, grp.family, grp.group),
            (9, 0, vec![(7, 1), (8, 2)])
        );
        let b = parse(&unhex(BLACKHOLE)).expect("parses");
        assert_eq!((b.id, b.blackhole, b.ifindex), (10, true, None));
    }

    #[test]
    fn weights_above_256_use_the_high_byte() {
        // id 7, weight 1000: 999 = 0x03e7 → weight 0xe7, weight_high 0x03.
        assert_eq!(group(&[7, 0, 0, 0, 0xe7, 0x03, 0, 0]), vec![(7, 999)]);
    }

    #[test]
    fn truncations_never_panic() {
        for capture in [GATEWAY, GROUP, BLACKHOLE] {
            let bytes = unhex(capture);
            for cut in 0..bytes.len() {
                let _ = parse(&bytes[..cut]);
            }
        }
        assert_eq!(parse(&unhex(GATEWAY)[..8]), None, "no id");
    }

    proptest::proptest! {
        #[test]
        fn any_payload_parses_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
        }
    }
}
