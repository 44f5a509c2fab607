//! RTM_NEWNEIGH payloads: `struct ndmsg` (12 bytes) then NDA_* attributes
//! (neighbour.h numbers). Three dumps answer with this message:
//!
//! - the AF_UNSPEC dump (`neigh_dump_info` over the ARP and NDP tables) →
//!   [`RawNeighbour`];
//! - the same dump asked with `ndm_flags == NTF_PROXY` (exactly that value:
//!   neigh_dump_info compares with `==`) → the proxy entries
//!   (`pneigh_fill_info`: NDA_DST only, state NUD_NONE);
//! - the AF_BRIDGE dump (`rtnl_fdb_dump`) → [`RawFdb`]. For every device it
//!   lists the bridge's entries for that port (with NDA_MASTER), then the
//!   device's own entries: a vxlan's remotes, or for any other device its
//!   unicast/multicast address lists (`ndo_dflt_fdb_dump`, flagged
//!   NTF_SELF without NDA_MASTER) — addresses the device listens to, not
//!   forwarding decisions, so [`is_forwarding_entry`] drops them.

use super::addr::{AF_INET, AF_INET6, ip, ip_by_len};
use super::link::{attrs, read_u32};
use crate::raw::l3::{RawFdb, RawNeighbour};

/// `struct ndmsg`: family, pad1, pad2 (u16), ifindex (s32), state (u16),
/// flags, type.
pub const NDMSG_LEN: usize = 12;
pub const NTF_PROXY: u8 = 0x08;
pub const AF_BRIDGE: u8 = libc::AF_BRIDGE as u8;

const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const NDA_VLAN: u16 = 5;
const NDA_PORT: u16 = 6;
const NDA_VNI: u16 = 7;
const NDA_IFINDEX: u16 = 8;
const NDA_MASTER: u16 = 9;
const NDA_FLAGS_EXT: u16 = 15;

/// The fields of `struct ndmsg`.
struct Header {
    family: u8,
    ifindex: u32,
    state: u16,
    flags: u8,
}

fn header(payload: &[u8]) -> Option<Header> {
    let h = payload.get(..NDMSG_LEN)?;
    Some(Header {
        family: h[0],
        ifindex: read_u32(&h[4..8])?,
        state: u16::from_ne_bytes([h[8], h[9]]),
        flags: h[10],
    })
}

/// Parses one RTM_NEWNEIGH payload of an ARP/NDP dump (normal or proxy);
/// None for a cut header or another family.
pub fn parse(payload: &[u8]) -> Option<RawNeighbour> {
    let h = header(payload)?;
    if !(h.family == AF_INET || h.family == AF_INET6) {
        return None;
    }
    let mut n = RawNeighbour {
        family: h.family,
        ifindex: h.ifindex,
        state: h.state,
        flags: h.flags,
        proxy: h.flags & NTF_PROXY != 0,
        ..RawNeighbour::default()
    };
    for (kind, v) in attrs(&payload[NDMSG_LEN..]) {
        match kind {
            NDA_DST => n.dst = ip(h.family, v),
            NDA_LLADDR => n.lladdr = Some(v.to_vec()),
            NDA_FLAGS_EXT => n.flags_ext = read_u32(v).unwrap_or(0),
            _ => {}
        }
    }
    Some(n)
}

/// Parses one RTM_NEWNEIGH payload of the AF_BRIDGE dump; None for a cut
/// header or another family.
pub fn parse_fdb(payload: &[u8]) -> Option<RawFdb> {
    let h = header(payload)?;
    if h.family != AF_BRIDGE {
        return None;
    }
    let mut f = RawFdb {
        ifindex: h.ifindex,
        state: h.state,
        flags: h.flags,
        ..RawFdb::default()
    };
    for (kind, v) in attrs(&payload[NDMSG_LEN..]) {
        match kind {
            NDA_LLADDR => f.lladdr = Some(v.to_vec()),
            NDA_MASTER => f.master = read_u32(v),
            NDA_VLAN => f.vlan = v.get(..2).map(|b| u16::from_ne_bytes([b[0], b[1]])),
            NDA_DST => f.dst = ip_by_len(v),
            NDA_VNI => f.vni = read_u32(v),
            // A UDP port: network byte order (vxlan_fdb_info).
            NDA_PORT => f.port = v.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])),
            NDA_IFINDEX => f.via_ifindex = read_u32(v),
            NDA_FLAGS_EXT => f.flags_ext = read_u32(v).unwrap_or(0),
            _ => {}
        }
    }
    Some(f)
}

/// Whether an FDB entry decides where frames go: a bridge's entry (it
/// names its bridge in NDA_MASTER) or one of a vxlan device's own, as
/// opposed to a plain device's address lists. `vxlan` holds the ifindexes
/// of the namespace's vxlan devices.
pub fn is_forwarding_entry(entry: &RawFdb, vxlan: &[u32]) -> bool {
    entry.master.is_some_and(|m| m != 0) || vxlan.contains(&entry.ifindex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netlink::link::unhex;

    // RTM_NEWNEIGH payloads from Linux 6.18 in a namespace where veth0 is
    // ifindex 3, vx0 (vxlan) 7 and p0 (a port of br0, ifindex 10) 12.

    /// ip neigh add 10.9.0.7 lladdr 02:00:00:00:00:07 dev veth0 nud permanent
    /// ndmsg: AF_INET, ifindex 3, state 0x80 (PERMANENT), flags 0, type 1;
    /// NDA_DST, NDA_LLADDR, NDA_PROBES, NDA_CACHEINFO.
    const PERMANENT: &[&str] = &[
        "020000000300000080000001080001000a0900070a00020002000000000700000800040000000000140003006d1c0000",
        "6d1c00006d1c000000000000",
    ];

    /// ip -6 neigh add fd01::5 lladdr 02:00:00:00:00:05 dev veth0 router nud permanent
    /// flags 0x80 (NTF_ROUTER).
    const ROUTER6: &[&str] = &[
        "0a000000030000008000800114000100fd0100000000000000000000000000050a000200020000000005000008000400",
        "00000000140003006d1c00006d1c00006d1c000000000000",
    ];

    /// A failed resolution (the kernel's own): state 0x20 (FAILED), no
    /// NDA_LLADDR.
    const FAILED: &[&str] = &[
        "020000000300000020000001080001000a09000908000400060000001400030017190000c90000007600000000000000",
    ];

    /// ip neigh add proxy 10.9.0.77 dev veth0, from the dump asked with
    /// ndm_flags NTF_PROXY: flags 0x08, state 0, NDA_DST only.
    const PROXY: &[&str] = &["020000000300000000000801080001000a09004d"];

    /// bridge fdb add 02:00:00:00:00:aa dev p0 master static
    /// ndmsg: AF_BRIDGE, ifindex 12, state 0x40 (NOARP: static), flags 0;
    /// NDA_LLADDR, NDA_MASTER 10, NDA_FLAGS_EXT 0, NDA_CACHEINFO.
    const FDB_STATIC: &[&str] = &[
        "070000000c000000400000000a0002000200000000aa0000080009000a00000008000f00000000001400030000000000",
        "9c0100009c01000000000000",
    ];

    /// bridge fdb append 00:00:00:00:00:00 dev vx0 dst 10.9.0.9 port 4790 vni 42
    /// (42 is the device's own VNI, so no NDA_VNI): ifindex 7, state 0xc0,
    /// flags 0x02 (self); NDA_LLADDR zero, NDA_DST 10.9.0.9, NDA_PORT 4790
    /// (big-endian), NDA_CACHEINFO.
    const FDB_VXLAN: &[&str] = &[
        "0700000007000000c00002010a0002000000000000000000080001000a0900090600060012b600001400030000000000",
        "b40000009c01000000000000",
    ];

    /// veth0's own multicast list entry 33:33:00:00:00:01 (ndo_dflt_fdb_dump):
    /// flags 0x02 (self), no NDA_MASTER.
    const FDB_OWN_LIST: &[&str] = &["0700000003000000800002000a0002003333000000010000"];

    #[test]
    fn neighbours_keep_state_flags_and_addresses() {
        let n = parse(&unhex(PERMANENT)).expect("parses");
        assert_eq!(
            (n.family, n.ifindex, n.state, n.flags, n.proxy),
            (AF_INET, 3, 0x80, 0, false)
        );
        assert_eq!(n.dst.map(|a| a.to_string()), Some("10.9.0.7".into()));
        assert_eq!(n.lladdr, Some(vec![2, 0, 0, 0, 0, 7]));
        let r = parse(&unhex(ROUTER6)).expect("parses");
        assert_eq!(
            (r.family, r.flags, r.dst.map(|a| a.to_string())),
            (AF_INET6, 0x80, Some("fd01::5".into()))
        );
        let f = parse(&unhex(FAILED)).expect("parses");
        assert_eq!((f.state, f.lladdr), (0x20, None));
        let p = parse(&unhex(PROXY)).expect("parses");
        assert_eq!(
            (p.proxy, p.state, p.dst.map(|a| a.to_string())),
            (true, 0, Some("10.9.0.77".into()))
        );
        assert_eq!(parse_fdb(&unhex(PERMANENT)), None, "not a bridge entry");
    }

    #[test]
    fn fdb_entries_and_which_decide_forwarding() {
        let s = parse_fdb(&unhex(FDB_STATIC)).expect("parses");
        assert_eq!(
            (s.ifindex, s.state, s.flags, s.master),
            (12, 0x40, 0, Some(10))
        );
        assert_eq!(s.lladdr, Some(vec![2, 0, 0, 0, 0, 0xaa]));
        let v = parse_fdb(&unhex(FDB_VXLAN)).expect("parses");
        assert_eq!(
            (v.ifindex, v.state, v.flags, v.master),
            (7, 0xc0, 0x02, None)
        );
        assert_eq!(
            (v.dst.map(|a| a.to_string()), v.port, v.vni),
            (Some("10.9.0.9".into()), Some(4790), None)
        );
        let own = parse_fdb(&unhex(FDB_OWN_LIST)).expect("parses");
        let vxlan = [7];
        assert!(is_forwarding_entry(&s, &vxlan), "the bridge's");
        assert!(is_forwarding_entry(&v, &vxlan), "the vxlan's");
        assert!(!is_forwarding_entry(&own, &vxlan), "a device's own list");
        assert_eq!(parse(&unhex(FDB_STATIC)), None, "not a neighbour");
    }

    #[test]
    fn truncations_never_panic() {
        for capture in [PERMANENT, ROUTER6, PROXY, FDB_STATIC, FDB_VXLAN] {
            let bytes = unhex(capture);
            for cut in 0..bytes.len() {
                let _ = parse(&bytes[..cut]);
                let _ = parse_fdb(&bytes[..cut]);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_payload_parses_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
            let _ = parse_fdb(&bytes);
        }
    }
}
