//! RTM_NEWLINK payloads → [`RawLink`], reading only the attributes nsmap
//! uses (if_link.h numbers). Unknown or malformed attributes are skipped,
//! never fatal: a link with an odd attribute is still a link.
//!
//! Every link message carries `IFLA_AF_SPEC` with the device's IPv4 and
//! IPv6 devconf arrays (~400 bytes); only a layer-3 scan copies them out
//! ([`parse_l3`]), so the wiring-only commands pay nothing for them.

use netlink_packet_core::{NLA_ALIGNTO, NLA_HEADER_SIZE, NLA_TYPE_MASK};

use crate::name::Name;
use crate::raw::RawLink;
use crate::snapshot::LinkStats;

/// `struct ifinfomsg` is 16 bytes: family, pad, type, index, flags, change.
const IFINFOMSG_LEN: usize = 16;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_STATS64: u16 = 23;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_CARRIER_CHANGES: u16 = 35;
const IFLA_LINK_NETNSID: u16 = 37;

/// Inside IFLA_AF_SPEC, one nest per address family (AF_INET, AF_INET6).
const IFLA_INET_CONF: u16 = 1;
const IFLA_INET6_CONF: u16 = 2;

const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_INFO_SLAVE_KIND: u16 = 4;
const IFLA_INFO_SLAVE_DATA: u16 = 5;

const IFLA_VXLAN_LINK: u16 = 3;
const IFLA_BR_VLAN_FILTERING: u16 = 7;
const IFLA_BR_NF_CALL_IPTABLES: u16 = 36;
const IFLA_BR_NF_CALL_IP6TABLES: u16 = 37;
const IFLA_BR_NF_CALL_ARPTABLES: u16 = 38;
const IFLA_BRPORT_STATE: u16 = 1;
const IFLA_BRPORT_ISOLATED: u16 = 33;
const IFLA_BRPORT_LOCKED: u16 = 39;
const IFLA_MACVLAN_MODE: u16 = 1;

const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;

/// Parses one RTM_NEWLINK payload; None when the fixed header is cut short.
pub fn parse(payload: &[u8]) -> Option<RawLink> {
    parse_with(payload, false, false)
}

/// [`parse`], plus the device's IPv4 and IPv6 devconf (`inet_conf`,
/// `inet6_conf`) for a layer-3 scan.
pub fn parse_l3(payload: &[u8]) -> Option<RawLink> {
    parse_with(payload, true, false)
}

/// [`parse`] with the devconf arrays when `devconf` and the counters when
/// `stats`. The kernel sends `IFLA_STATS64` in every link message
/// (`RTEXT_FILTER_SKIP_STATS` skips only SR-IOV VF counters), so the
/// choice is only whether to copy them out.
pub fn parse_with(payload: &[u8], devconf: bool, stats: bool) -> Option<RawLink> {
    let header = payload.get(..IFINFOMSG_LEN)?;
    let mut link = RawLink {
        ifindex: read_u32(&header[4..8])?,
        flags: read_u32(&header[8..12])?,
        ..RawLink::default()
    };
    let mut info_data: Option<&[u8]> = None;
    let mut slave_data: Option<&[u8]> = None;
    let mut af_spec: Option<&[u8]> = None;
    let mut carrier_changes = None;
    for (kind, value) in attrs(&payload[IFINFOMSG_LEN..]) {
        match kind {
            IFLA_STATS64 if stats => link.stats = stats64(value),
            IFLA_CARRIER_CHANGES => carrier_changes = read_u32(value).map(u64::from),
            IFLA_IFNAME => link.ifname = Name::from_bytes(trim_nul(value)),
            IFLA_ADDRESS => link.address = Some(value.to_vec()),
            IFLA_MTU => link.mtu = read_u32(value).unwrap_or(0),
            IFLA_LINK => link.link = read_u32(value),
            IFLA_MASTER => link.master = read_u32(value),
            IFLA_OPERSTATE => link.operstate = value.first().copied().unwrap_or(0),
            IFLA_LINK_NETNSID => link.link_netnsid = read_i32(value),
            IFLA_AF_SPEC if devconf => af_spec = Some(value),
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
    match (link.kind.as_deref(), info_data) {
        (Some("vxlan"), Some(data)) => {
            link.vxlan_link = attr(data, IFLA_VXLAN_LINK).and_then(read_u32)
        }
        (Some("bridge"), Some(data)) => {
            let mut nf_call = [false; 3];
            for (kind, v) in attrs(data) {
                match kind {
                    IFLA_BR_VLAN_FILTERING => link.vlan_filtering = flag(v),
                    IFLA_BR_NF_CALL_IPTABLES => nf_call[0] = flag(v).unwrap_or(false),
                    IFLA_BR_NF_CALL_IP6TABLES => nf_call[1] = flag(v).unwrap_or(false),
                    IFLA_BR_NF_CALL_ARPTABLES => nf_call[2] = flag(v).unwrap_or(false),
                    _ => {}
                }
            }
            link.nf_call = Some(nf_call);
        }
        (Some("macvlan" | "macvtap"), Some(data)) => {
            link.macvlan_mode = attr(data, IFLA_MACVLAN_MODE).and_then(read_u32);
        }
        _ => {}
    }
    if link.slave_kind.as_deref() == Some("bridge")
        && let Some(data) = slave_data
    {
        for (kind, v) in attrs(data) {
            match kind {
                IFLA_BRPORT_STATE => link.port_state = v.first().copied(),
                IFLA_BRPORT_ISOLATED => link.port_isolated = flag(v),
                IFLA_BRPORT_LOCKED => link.port_locked = flag(v),
                _ => {}
            }
        }
    }
    if let Some(stats) = &mut link.stats {
        stats.carrier_changes = carrier_changes;
    }
    for (family, nest) in af_spec.map(attrs).into_iter().flatten() {
        match family {
            // u32s indexed by IPV4_DEVCONF_* − 1 (inet_fill_link_af).
            AF_INET => {
                link.inet_conf = attr(nest, IFLA_INET_CONF)
                    .map(|v| v.chunks_exact(4).filter_map(read_u32).collect());
            }
            // s32s indexed by DEVCONF_* (ipv6_store_devconf).
            AF_INET6 => {
                link.inet6_conf = attr(nest, IFLA_INET6_CONF)
                    .map(|v| v.chunks_exact(4).filter_map(read_i32).collect());
            }
            _ => {}
        }
    }
    Some(link)
}

/// `struct rtnl_link_stats64`: u64s in if_link.h's order. The struct grew
/// at its end (rx_nohandler in 4.6, rx_otherhost_dropped in 5.19), so a
/// field past what the kernel sent is absent, not zero; shorter than the
/// 23 counters every kernel since 2.6 sends is malformed.
pub(super) fn stats64(v: &[u8]) -> Option<LinkStats> {
    let c: Vec<u64> = v
        .chunks_exact(8)
        .map(|b| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect();
    if c.len() < 23 {
        return None;
    }
    Some(LinkStats {
        rx_packets: c[0],
        tx_packets: c[1],
        rx_bytes: c[2],
        tx_bytes: c[3],
        rx_errors: c[4],
        tx_errors: c[5],
        rx_dropped: c[6],
        tx_dropped: c[7],
        multicast: c[8],
        collisions: c[9],
        rx_length_errors: c[10],
        rx_over_errors: c[11],
        rx_crc_errors: c[12],
        rx_frame_errors: c[13],
        rx_fifo_errors: c[14],
        rx_missed_errors: c[15],
        tx_aborted_errors: c[16],
        tx_carrier_errors: c[17],
        tx_fifo_errors: c[18],
        tx_heartbeat_errors: c[19],
        tx_window_errors: c[20],
        rx_compressed: c[21],
        tx_compressed: c[22],
        rx_nohandler: c.get(23).copied(),
        rx_otherhost_dropped: c.get(24).copied(),
        carrier_changes: None,
    })
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

/// A u8 attribute as a boolean.
fn flag(v: &[u8]) -> Option<bool> {
    v.first().map(|&b| b != 0)
}

/// The bytes of a NUL-terminated string attribute, without the NUL.
pub fn trim_nul(v: &[u8]) -> &[u8] {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    &v[..end]
}

/// Kind strings come from kernel drivers; lossy is fine for them.
fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(trim_nul(v)).into_owned()
}

/// Bytes from hex lines (the annotated captures of the parsers' tests).
#[cfg(test)]
pub fn unhex(lines: &[&str]) -> Vec<u8> {
    let hex: String = lines.concat();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn stats64_by_length() {
        let counters = |n: u64| -> Vec<u8> { (1..=n).flat_map(|v| v.to_ne_bytes()).collect() };
        assert_eq!(super::stats64(&counters(22)), None);
        let old = super::stats64(&counters(23)).expect("2.6's 23 counters");
        assert_eq!(
            (old.rx_packets, old.rx_bytes, old.tx_compressed),
            (1, 3, 23)
        );
        assert_eq!(old.rx_nohandler, None);
        let new = super::stats64(&counters(25)).expect("5.19's 25");
        assert_eq!(
            (new.rx_nohandler, new.rx_otherhost_dropped),
            (Some(24), Some(25))
        );
        // A partial trailing counter is ignored, a longer future struct read.
        let mut odd = counters(24);
        odd.extend([1, 2, 3]);
        assert_eq!(super::stats64(&odd).and_then(|s| s.rx_nohandler), Some(24));
        assert!(super::stats64(&counters(30)).is_some());
    }

    use super::*;

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

    // Three more RTM_NEWLINK payloads of one Linux 6.18 dump, after
    //   ip -n c link add br0 type bridge
    //   ip -n c link set br0 type bridge nf_call_iptables 1
    //   ip -n c link add p0 type veth peer name p1
    //   ip -n c link set p0 master br0
    //   ip -n c link set p0 type bridge_slave isolated on locked on
    //   ip -n c link add mv0 link veth1 type macvlan mode private
    //   sysctl -w net.ipv4.conf.p0.rp_filter=1 net.ipv6.conf.p0.proxy_ndp=1
    //   sysctl -w net.ipv6.conf.all.forwarding=1
    // (IPv4 forwarding 1 is inherited from the initial namespace). This
    // kernel has no bridge VLAN filtering, so it cannot be turned on.

    /// br0, ifindex 10: IFLA_INFO_DATA { IFLA_BR_VLAN_FILTERING 0, …,
    /// IFLA_BR_NF_CALL_IPTABLES 1, IFLA_BR_NF_CALL_IP6TABLES 0,
    /// IFLA_BR_NF_CALL_ARPTABLES 0, … }.
    const BRIDGE: &[&str] = &[
        "000001000a0000004310010000000000080003006272300008000d00e803000005001000060000000500110000000000",
        "050043000100000008000400dc050000080032004400000008003300ffff000008001b000000000008001e0000000000",
        "08003d000000000008001f000100000008002800ffff0000080029000000010008003a000000010008003f0000000100",
        "080040000000010008003b00f8ff070008003c00ffff0000080042000000000008002000010000000500210001000000",
        "080023000200000008002f00010000000800300001000000060044000000000006004500000000000500270000000000",
        "0a000100cebd3a72e62600000a000200ffffffffffff0000cc00170000000000000000000b0000000000000000000000",
        "000000001a04000000000000000000000000000000000000000000000000000000000000010000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "00000000000000000000000000000000000000000000000000000000000000000000000064000700000000000b000000",
        "000000001a04000000000000000000000000000001000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000c002b0005000200",
        "000000009c0112000b00010062726964676500008c0102000c00100000000000000000000c0011000000000000000000",
        "0c00120000000000000000000c001300706800000000000008000100dc05000008000200c800000008000300d0070000",
        "080004003075000008000500000000000600060000800000050007000000000006000900000000000c000b008000cebd",
        "3a72e6260c000a008000cebd3a72e62606000c000000000008000d000000000005000e000000000005000f0000000000",
        "0a0014000180c200000000000c002e00000000001f000000080030000000000008003100000000000500160001000000",
        "05001700010000000500180000000000050019000000000005002a000000000008001a001000000008001b0000100000",
        "08001c000200000008001d000200000005002b000200000005002c00010000000c001e0064000000000000000c001f00",
        "90650000000000000c0020009c630000000000000c002100d4300000000000000c002200e8030000000000000c002300",
        "340c0000000000000500240001000000050025000000000005002600000000000c0006006e6f717565756500c0011a00",
        "8c0002008800010001000000000000000000000001000000010000000100000001000000000000000100000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000010270000e8030000000000000000000000000000000000000100000030010a00",
        "080001001000008014000500ffff0000be660c00f8910000e8030000f40002000100000040000000dc05000001000000",
        "010000000100000001000000ffffffffa00f0000e803000000000000803a090080510100030000005802000010000000",
        "0000000001000000010000000100000060ea000000000000000000000000000000000000000000000000000001000000",
        "000000000000000010270000e80300000100000000000000000000000100000000000000000000000100000000000000",
        "00000000000000000000000080ee36000000000000000000010000000000000000000000000000000000000000000000",
        "0004000000000000ffff0000ffffffff0100000000000000000000000000000014000700000000000000000000000000",
        "00000000050008000000000024000e000000000000000000000000000000000000000000000000000000000000000000",
        "04003e8004004180",
    ];

    /// p0, ifindex 12, a port of br0: IFLA_INFO_SLAVE_DATA {
    /// IFLA_BRPORT_STATE 3 (forwarding), …, IFLA_BRPORT_ISOLATED 1, …,
    /// IFLA_BRPORT_LOCKED 1 }; IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF: 33
    /// u32s, [0] forwarding 1, [7] rp_filter 1 }, AF_INET6 { …,
    /// IFLA_INET6_CONF: 60 s32s, [0] forwarding 1, [22] proxy_ndp 1 } }.
    const PORT: &[&str] = &[
        "000001000c0000004310010000000000070003007030000008000d00e803000005001000060000000500110000000000",
        "050043000000000008000400dc050000080032004400000008003300ffff000008001b000000000008001e0001000000",
        "08003d000100000008001f000200000008002800ffff0000080029000000010008003a000000010008003f0000000100",
        "080040000000010008003b00f8ff070008003c00ffff00000800420000000000080020000200000008000a000a000000",
        "0500210001000000080023000200000008002f0001000000080030000100000006004400000000000600450000000000",
        "05002700000000000a000100cebd3a72e62600000a000200ffffffffffff0000cc0017000a0000000000000015000000",
        "000000009403000000000000ae0700000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000064000700",
        "0a0000001500000094030000ae0700000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "0c002b0005000200000000006c0112000900010076657468000000000b00040062726964676500005001050005000100",
        "030000000600020020000000080003000200000005000400000000000500050000000000050006000000000005000700",
        "0000000005001c00000000000500080001000000050009000100000005001b000100000005001e000100000005000a00",
        "0000000005000c00000000000c000d008000cebd3a72e6260c000e008000cebd3a72e62606000f000180000006001000",
        "00000000060011000180000006001200010000000500130000000000050014000000000005001d000000000006001f00",
        "000000000500200000000000050023000000000005002400000000000500210001000000050027000100000005002800",
        "0000000005002b00000000000c00150000000000000000000c00160000000000000000000c0017000000000000000000",
        "050019000100000008002500000200000800260000000000080029000000000008002a0000000000080005000b000000",
        "0c0006006e6f717565756500c0011a008c00020088000100010000000000000000000000010000000100000001000000",
        "010000000100000001000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000010270000e80300000000000000000000",
        "00000000000000000100000030010a00080001001000008014000500ffff0000be660c0060a90000e8030000f4000200",
        "0100000040000000dc05000001000000010000000100000001000000ffffffffa00f0000e803000000000000803a0900",
        "805101000300000058020000100000000000000001000000010000000100000060ea0000000000000100000000000000",
        "00000000000000000000000001000000000000000000000010270000e803000001000000000000000000000001000000",
        "0000000000000000010000000000000000000000000000000000000080ee360000000000000000000100000000000000",
        "000000000000000000000000000000000004000000000000ffff0000ffffffff01000000000000000000000000000000",
        "1400070000000000000000000000000000000000050008000000000024000e0000000000000000000000000000000000",
        "0000000000000000000000000000000004003e8004004180",
    ];

    /// mv0, ifindex 13: IFLA_INFO_DATA { IFLA_MACVLAN_MODE 1 (private) }.
    const MACVLAN: &[&str] = &[
        "000001000d0000000210000000000000080003006d76300008000d00e803000005001000020000000500110000000000",
        "050043000000000008000400dc050000080032004400000008003300ffff000008001b000000000008001e0000000000",
        "08003d000000000008001f000100000008002800ffff0000080029000000010008003a000000010008003f0000000100",
        "080040000000010008003b00f8ff070008003c00ffff0000080042000000000008002000010000000500210001000000",
        "080023000000000008002f00000000000800300000000000060044000000000006004500000000000500270000000000",
        "0a0001003238b6c68f2000000a000200ffffffffffff0000cc0017000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000640007000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000c002b0005000200",
        "000000003c0012000c0001006d6163766c616e002c000200080001000100000006000200000000000800060000000000",
        "08000700e803000008000800e80300000800050005000000090006006e6f6f7000000000c0011a008c00020088000100",
        "010000000000000000000000010000000100000001000000010000000000000001000000000000000000000000000000",
        "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "000000000000000010270000e8030000000000000000000000000000000000000100000030010a000800010000000000",
        "14000500ffff0000bf660c00348c0000e8030000f40002000100000040000000dc050000010000000100000001000000",
        "01000000ffffffffa00f0000e803000000000000803a0900805101000300000058020000100000000000000001000000",
        "010000000100000060ea0000000000000000000000000000000000000000000000000000010000000000000000000000",
        "10270000e803000001000000000000000000000001000000000000000000000001000000000000000000000000000000",
        "0000000080ee360000000000000000000100000000000000000000000000000000000000000000000004000000000000",
        "ffff0000ffffffff01000000000000000000000000000000140007000000000000000000000000000000000005000800",
        "0000000024000e00000000000000000000000000000000000000000000000000000000000000000004003e8004004180",
    ];

    #[test]
    fn bridge_port_and_macvlan_details() {
        let br = parse(&unhex(BRIDGE)).expect("parses");
        assert_eq!((br.ifindex, br.kind.as_deref()), (10, Some("bridge")));
        assert_eq!(
            (br.vlan_filtering, br.nf_call),
            (Some(false), Some([true, false, false]))
        );
        let port = parse(&unhex(PORT)).expect("parses");
        assert_eq!(
            (port.ifindex, port.master, port.port_state),
            (12, Some(10), Some(3))
        );
        assert_eq!(
            (port.port_isolated, port.port_locked),
            (Some(true), Some(true))
        );
        assert_eq!(
            (port.vlan_filtering, port.nf_call, port.macvlan_mode),
            (None, None, None)
        );
        let mv = parse(&unhex(MACVLAN)).expect("parses");
        assert_eq!(
            (mv.kind.as_deref(), mv.macvlan_mode),
            (Some("macvlan"), Some(1))
        );
    }

    #[test]
    fn devconf_arrays_only_for_layer3() {
        let l2 = parse(&unhex(PORT)).expect("parses");
        assert_eq!((l2.inet_conf, l2.inet6_conf), (None, None));
        let l3 = parse_l3(&unhex(PORT)).expect("parses");
        let v4 = l3.inet_conf.expect("IFLA_INET_CONF");
        let v6 = l3.inet6_conf.expect("IFLA_INET6_CONF");
        assert_eq!(
            (v4.len(), v4[0], v4[7]),
            (33, 1, 1),
            "forwarding, rp_filter"
        );
        assert_eq!(
            (v6.len(), v6[0], v6[22]),
            (60, 1, 1),
            "forwarding, proxy_ndp"
        );
        assert_eq!(l3.port_isolated, Some(true), "the rest as without");
    }

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
            let _ = parse_l3(&bytes);
            let _ = crate::sys::netlink::addr::parse(&bytes);
            let _ = crate::sys::netlink::messages(&bytes);
        }
    }

    #[test]
    fn truncated_messages_never_panic() {
        for capture in [VETH_PORT, BRIDGE, PORT, MACVLAN] {
            let bytes = unhex(capture);
            for cut in 0..bytes.len() {
                let _ = parse(&bytes[..cut]);
                let _ = parse_l3(&bytes[..cut]);
            }
        }
        let bytes = unhex(VETH_PORT);
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
