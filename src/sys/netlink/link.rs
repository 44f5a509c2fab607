//! RTM_NEWLINK payloads → [`RawLink`], reading only the attributes nsmap
//! uses (if_link.h numbers). Unknown or malformed attributes are skipped,
//! never fatal: a link with an odd attribute is still a link.

use netlink_packet_core::{NLA_ALIGNTO, NLA_HEADER_SIZE, NLA_TYPE_MASK};

use crate::name::Name;
use crate::raw::RawLink;

/// `struct ifinfomsg` is 16 bytes: family, pad, type, index, flags, change.
const IFINFOMSG_LEN: usize = 16;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_LINK_NETNSID: u16 = 37;

const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_INFO_SLAVE_KIND: u16 = 4;
const IFLA_INFO_SLAVE_DATA: u16 = 5;

const IFLA_VXLAN_LINK: u16 = 3;
const IFLA_BRPORT_STATE: u16 = 1;

/// Parses one RTM_NEWLINK payload; None when the fixed header is cut short.
pub fn parse(payload: &[u8]) -> Option<RawLink> {
    let header = payload.get(..IFINFOMSG_LEN)?;
    let mut link = RawLink {
        ifindex: read_u32(&header[4..8])?,
        flags: read_u32(&header[8..12])?,
        ..RawLink::default()
    };
    let mut info_data: Option<&[u8]> = None;
    let mut slave_data: Option<&[u8]> = None;
    for (kind, value) in attrs(&payload[IFINFOMSG_LEN..]) {
        match kind {
            IFLA_IFNAME => link.ifname = Name::from_bytes(trim_nul(value)),
            IFLA_ADDRESS => link.address = Some(value.to_vec()),
            IFLA_MTU => link.mtu = read_u32(value).unwrap_or(0),
            IFLA_LINK => link.link = read_u32(value),
            IFLA_MASTER => link.master = read_u32(value),
            IFLA_OPERSTATE => link.operstate = value.first().copied().unwrap_or(0),
            IFLA_LINK_NETNSID => link.link_netnsid = read_i32(value),
            IFLA_LINKINFO => {
                for (info, v) in attrs(value) {
                    match info {
                        IFLA_INFO_KIND => link.kind = Some(text(v)),
                        IFLA_INFO_SLAVE_KIND => link.slave_kind = Some(text(v)),
                        IFLA_INFO_DATA => info_data = Some(v),
                        IFLA_INFO_SLAVE_DATA => slave_data = Some(v),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // Kind-specific data is only meaningful once the kind is known.
    if link.kind.as_deref() == Some("vxlan") {
        link.vxlan_link = info_data
            .and_then(|d| attr(d, IFLA_VXLAN_LINK))
            .and_then(read_u32);
    }
    if link.slave_kind.as_deref() == Some("bridge") {
        link.port_state = slave_data
            .and_then(|d| attr(d, IFLA_BRPORT_STATE))
            .and_then(|v| v.first().copied());
    }
    Some(link)
}

/// Iterates (type, value) of attributes, flags masked off; stops at the
/// first malformed one (a length that overruns the buffer).
pub fn attrs(bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let header = rest.get(..NLA_HEADER_SIZE)?;
        let len = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        let kind = u16::from_ne_bytes([header[2], header[3]]) & NLA_TYPE_MASK;
        let value = rest.get(NLA_HEADER_SIZE..len)?;
        rest = rest
            .get(len.next_multiple_of(NLA_ALIGNTO)..)
            .unwrap_or_default();
        Some((kind, value))
    })
}

/// The value of the first attribute of type `kind`.
pub fn attr(bytes: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(bytes).find(|(k, _)| *k == kind).map(|(_, v)| v)
}

pub fn read_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

pub fn read_i32(v: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

fn trim_nul(v: &[u8]) -> &[u8] {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    &v[..end]
}

/// Kind strings come from kernel drivers; lossy is fine for them.
fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(trim_nul(v)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(lines: &[&str]) -> Vec<u8> {
        let hex: String = lines.concat();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// RTM_NEWLINK payload (after the 16-byte nlmsghdr) from Linux 6.18,
    /// answering RTM_GETLINK for ifindex 2 in namespace `a` after:
    ///   ip -n a link add $'bad\xff' type veth peer name eth9 netns b
    ///   ip -n a link add br9 type bridge
    ///   ip -n a link set $'bad\xff' master br9
    /// Attributes nsmap reads: IFLA_IFNAME "bad\xff" (not UTF-8, which a
    /// full LinkMessage parse rejects), IFLA_LINK 2 — equal to its own
    /// ifindex, sent because the peer is in another namespace
    /// (nla_put_iflink's put_iflink) — IFLA_LINK_NETNSID 0, IFLA_MASTER 3,
    /// IFLA_LINKINFO { KIND "veth", SLAVE_KIND "bridge",
    /// SLAVE_DATA { IFLA_BRPORT_STATE 0 (disabled) } }.
    const VETH_PORT: &[&str] = &[
        "0000010002000000021000000000000009000300626164ff0000000008000d00e8030000050010000200000005001100",
        "00000000050043000000000008000400dc050000080032004400000008003300ffff000008001b000000000008001e00",
        "0100000008003d000100000008001f000200000008002800ffff0000080029000000010008003a000000010008003f00",
        "00000100080040000000010008003b00f8ff070008003c00ffff00000800420000000000080020000200000008000a00",
        "030000000500210000000000080023000100000008002f00000000000800300001000000060044000000000006004500",
        "0000000005002700000000000a00010042806e25bbfc00000a000200ffffffffffff0000cc0017000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "640007000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000c002b0005000200000000006c0112000900010076657468000000000b000400627269646765000050010500",
        "050001000000000006000200200000000800030002000000050004000000000005000500000000000500060000000000",
        "050007000000000005001c00000000000500080001000000050009000100000005001b000100000005001e0001000000",
        "05000a000000000005000c00000000000c000d00800042806e25bbfc0c000e00800042806e25bbfc06000f0001800000",
        "0600100000000000060011000180000006001200010000000500130000000000050014000000000005001d0000000000",
        "06001f000000000005002000000000000500230000000000050024000000000005002100000000000500270000000000",
        "050028000000000005002b00000000000c00150000000000000000000c00160000000000000000000c00170000000000",
        "00000000050019000100000008002500000200000800260000000000080029000000000008002a000000000008002500",
        "000000000800050002000000090006006e6f6f7000000000c0011a008c00020088000100000000000000000000000000",
        "010000000100000001000000010000000000000001000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010270000",
        "e8030000000000000000000000000000000000000100000030010a00080001000000000014000500ffff000040890200",
        "54560000e8030000f40002000000000040000000dc05000001000000010000000100000001000000ffffffffa00f0000",
        "e803000000000000803a0900805101000300000058020000100000000000000001000000010000000100000060ea0000",
        "00000000000000000000000000000000000000000000000001000000000000000000000010270000e803000001000000",
        "0000000000000000010000000000000000000000010000000000000000000000000000000000000080ee360000000000",
        "000000000100000000000000000000000000000000000000000000000004000000000000ffff0000ffffffff01000000",
        "0000000000000000000000001400070000000000000000000000000000000000050008000000000024000e0000000000",
        "0000000000000000000000000000000000000000000000000000000004003e8004004180",
    ];

    /// The same for ifindex 4 after
    ///   ip -n a link add vx9 type vxlan id 9 dstport 4789 dev br9
    /// IFLA_LINK is absent (it would equal the ifindex); the lower device is
    /// IFLA_INFO_DATA { IFLA_VXLAN_LINK 3 }.
    const VXLAN: &[&str] = &[
        "00000100040000000210000000000000080003007678390008000d00e803000005001000020000000500110000000000",
        "050043000000000008000400aa050000080032004400000008003300ffff000008001b000000000008001e0000000000",
        "08003d000000000008001f000100000008002800ffff0000080029000000010008003a000000010008003f0000000100",
        "080040000000010008003b00f8ff070008003c00ffff0000080042000000000008002000010000000500210001000000",
        "080023000000000008002f00000000000800300000000000060044004000000006004500000000000500270000000000",
        "0a0001003251857d848000000a000200ffffffffffff0000cc0017000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000640007000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000c002b0005000200",
        "00000000e00012000a00010076786c616e000000d0000200080001000900000008000300030000000500050000000000",
        "05001c0000000000050006000000000005001d000000000008001a000000000008002000000000000500070001000000",
        "05000b000000000005000c000000000005000d000000000005000e00000000000500190000000000080008002c010000",
        "080009000000000006000f0012b500000500120001000000050013000000000005001400000000000500150000000000",
        "050016000000000005001f000100000008000a00000000000c002100f7ffffff000000ff090006006e6f6f7000000000",
        "c0011a008c00020088000100000000000000000000000000010000000100000001000000010000000000000001000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000010270000e80300000000000000000000000000000000000001000000",
        "30010a00080001000000000014000500ffff0000438902000c8b0000e8030000f40002000000000040000000aa050000",
        "01000000010000000100000001000000ffffffffa00f0000e803000000000000803a0900805101000300000058020000",
        "100000000000000001000000010000000100000060ea0000000000000000000000000000000000000000000000000000",
        "01000000000000000000000010270000e803000001000000000000000000000001000000000000000000000001000000",
        "0000000000000000000000000000000080ee360000000000000000000100000000000000000000000000000000000000",
        "000000000004000000000000ffff0000ffffffff01000000000000000000000000000000140007000000000000000000",
        "0000000000000000050008000000000024000e0000000000000000000000000000000000000000000000000000000000",
        "0000000004003e8004004180",
    ];

    #[test]
    fn veth_bridge_port_with_a_non_utf8_name() {
        let link = parse(&unhex(VETH_PORT)).expect("parses");
        assert_eq!(link.ifindex, 2);
        assert_eq!(link.ifname.to_bytes(), b"bad\xff");
        assert_eq!(link.kind.as_deref(), Some("veth"));
        assert_eq!(link.slave_kind.as_deref(), Some("bridge"));
        assert_eq!(
            (link.link, link.link_netnsid, link.master),
            (Some(2), Some(0), Some(3))
        );
        assert_eq!(link.port_state, Some(0));
        assert_eq!(link.mtu, 1500);
        assert_eq!(link.operstate, 2, "IF_OPER_DOWN");
        assert_eq!(link.address.as_ref().map(Vec::len), Some(6));
    }

    #[test]
    fn vxlan_lower_device_comes_from_info_data() {
        let link = parse(&unhex(VXLAN)).expect("parses");
        assert_eq!(link.ifname.as_str(), "vx9");
        assert_eq!(link.kind.as_deref(), Some("vxlan"));
        assert_eq!((link.link, link.link_netnsid), (None, None));
        assert_eq!(link.vxlan_link, Some(3));
        assert_eq!(link.mtu, 1450);
    }

    proptest::proptest! {
        #[test]
        fn any_payload_parses_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
            let _ = crate::sys::netlink::addr::parse(&bytes);
            let _ = crate::sys::netlink::messages(&bytes);
        }
    }

    #[test]
    fn truncated_messages_never_panic() {
        let bytes = unhex(VETH_PORT);
        for cut in 0..bytes.len() {
            let _ = parse(&bytes[..cut]);
        }
        assert!(parse(&bytes[..8]).is_none(), "header cut short");
    }

    #[test]
    fn attribute_walk_stops_at_a_bad_length() {
        // One good u32 attribute, then one claiming 200 bytes.
        let mut bytes = vec![8, 0, 4, 0, 0xdc, 5, 0, 0];
        bytes.extend([200, 0, 3, 0, b'x', 0, 0, 0]);
        let found: Vec<(u16, &[u8])> = attrs(&bytes).collect();
        assert_eq!(found, vec![(4, &[0xdc, 5, 0, 0][..])]);
        assert_eq!(
            attrs(&[4, 0, 1, 0]).count(),
            1,
            "an empty attribute is fine"
        );
        assert_eq!(
            attrs(&[2, 0, 1, 0]).count(),
            0,
            "a length below the header is not"
        );
    }
}
