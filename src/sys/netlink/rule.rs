//! RTM_NEWRULE payloads → [`RawRule`]: `struct fib_rule_hdr` (12 bytes),
//! then FRA_* attributes (fib_rules.h numbers).
//!
//! Walked here rather than with netlink-packet-route, whose rule parser
//! reads FRA_IIFNAME/FRA_OIFNAME as UTF-8 and fails the whole message over
//! one hostile interface name; names stay kernel bytes ([`Name::from_bytes`]).
//! Rules of other families in an AF_UNSPEC dump (RTNL_FAMILY_IPMR/IP6MR
//! multicast rules) are not routing rules: dropped.

use super::addr::{AF_INET, AF_INET6, ip};
use super::link::{attrs, read_u32, trim_nul};
use crate::name::Name;
use crate::raw::l3::RawRule;

/// `struct fib_rule_hdr`: family, dst_len, src_len, tos, table, res1,
/// res2, action, flags (u32).
pub const FIB_RULE_HDR_LEN: usize = 12;

const FRA_DST: u16 = 1;
const FRA_SRC: u16 = 2;
const FRA_IIFNAME: u16 = 3;
const FRA_GOTO: u16 = 4;
const FRA_PRIORITY: u16 = 6;
const FRA_FWMARK: u16 = 10;
const FRA_TUN_ID: u16 = 12;
const FRA_SUPPRESS_IFGROUP: u16 = 13;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_FWMASK: u16 = 16;
const FRA_OIFNAME: u16 = 17;
const FRA_L3MDEV: u16 = 19;
const FRA_UID_RANGE: u16 = 20;
const FRA_PROTOCOL: u16 = 21;
const FRA_IP_PROTO: u16 = 22;
const FRA_SPORT_RANGE: u16 = 23;
const FRA_DPORT_RANGE: u16 = 24;
/// Linux 6.15 (after FRA_DPORT_RANGE; newer than some installed headers).
const FRA_DSCP: u16 = 25;
/// Linux 6.16.
const FRA_FLOWLABEL: u16 = 26;
const FRA_FLOWLABEL_MASK: u16 = 27;
const FRA_SPORT_MASK: u16 = 28;
const FRA_DPORT_MASK: u16 = 29;
const FRA_DSCP_MASK: u16 = 30;

/// What fib_nl_fill_rule sends for "unset" (the kernel's -1).
const UNSET: u32 = u32::MAX;

/// Parses one RTM_NEWRULE payload; None for a cut header or a family other
/// than IPv4/IPv6.
pub fn parse(payload: &[u8]) -> Option<RawRule> {
    let h = payload.get(..FIB_RULE_HDR_LEN)?;
    let family = h[0];
    if !(family == AF_INET || family == AF_INET6) {
        return None;
    }
    let mut rule = RawRule {
        family,
        dst_len: h[1],
        src_len: h[2],
        tos: h[3],
        table: u32::from(h[4]),
        action: h[7],
        flags: read_u32(&h[8..12])?,
        ..RawRule::default()
    };
    for (kind, v) in attrs(&payload[FIB_RULE_HDR_LEN..]) {
        match kind {
            FRA_DST => rule.dst = ip(family, v),
            FRA_SRC => rule.src = ip(family, v),
            FRA_IIFNAME => rule.iifname = Some(Name::from_bytes(trim_nul(v))),
            FRA_OIFNAME => rule.oifname = Some(Name::from_bytes(trim_nul(v))),
            FRA_GOTO => rule.goto = read_u32(v),
            FRA_PRIORITY => rule.priority = read_u32(v).unwrap_or(0),
            FRA_FWMARK => rule.fwmark = read_u32(v),
            FRA_FWMASK => rule.fwmask = read_u32(v),
            // Big-endian on the wire (nla_put_be64).
            FRA_TUN_ID => {
                rule.tun_id = v
                    .get(..8)
                    .and_then(|b| Some(u64::from_be_bytes(b.try_into().ok()?)));
            }
            FRA_SUPPRESS_IFGROUP => rule.suppress_ifgroup = read_u32(v).filter(|&g| g != UNSET),
            FRA_SUPPRESS_PREFIXLEN => {
                rule.suppress_prefixlen = read_u32(v).filter(|&p| p != UNSET);
            }
            FRA_TABLE => rule.table = read_u32(v).unwrap_or(rule.table),
            FRA_L3MDEV => rule.l3mdev = v.first().is_some_and(|&b| b != 0),
            FRA_UID_RANGE => {
                rule.uid_range = pair_u32(v).filter(|&range| range != (0, u32::MAX));
            }
            FRA_PROTOCOL => rule.protocol = v.first().copied().unwrap_or(0),
            FRA_IP_PROTO => rule.ip_proto = v.first().copied(),
            FRA_SPORT_RANGE => rule.sport = pair_u16(v),
            FRA_DPORT_RANGE => rule.dport = pair_u16(v),
            FRA_DSCP => rule.dscp = v.first().copied(),
            FRA_DSCP_MASK => rule.dscp_mask = v.first().copied(),
            FRA_SPORT_MASK => rule.sport_mask = read_u16(v),
            FRA_DPORT_MASK => rule.dport_mask = read_u16(v),
            // Big-endian on the wire (nla_put_be32).
            FRA_FLOWLABEL => rule.flowlabel = read_be32(v),
            FRA_FLOWLABEL_MASK => rule.flowlabel_mask = read_be32(v),
            // Every attribute up to FRA_DSCP_MASK is known (the unused
            // numbers, FRA_FLOW realms and FRA_PAD select nothing).
            k if k > FRA_DSCP_MASK => rule.unknown.push(k),
            _ => {}
        }
    }
    Some(rule)
}

fn read_u16(v: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(v.get(..2)?.try_into().ok()?))
}

fn read_be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

/// `struct fib_rule_uid_range` (host order).
fn pair_u32(v: &[u8]) -> Option<(u32, u32)> {
    Some((read_u32(v.get(..4)?)?, read_u32(v.get(4..8)?)?))
}

/// `struct fib_rule_port_range` (host order).
fn pair_u16(v: &[u8]) -> Option<(u16, u16)> {
    let b = v.get(..4)?;
    Some((
        u16::from_ne_bytes([b[0], b[1]]),
        u16::from_ne_bytes([b[2], b[3]]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netlink::link::unhex;

    // RTM_NEWRULE payloads from Linux 6.18, answering an AF_UNSPEC
    // RTM_GETRULE dump.

    /// ip rule add not from 10.0.0.0/8 to 192.168.0.0/16 iif $'bad\xff' \
    ///     oif veth0 fwmark 0x10/0xff tos 0x10 ipproto tcp sport 1000-2000 \
    ///     dport 80 uidrange 100-200 lookup 100 pref 50
    /// fib_rule_hdr: AF_INET, dst_len 16, src_len 8, tos 0x10, table 100,
    /// action 1 (lookup), flags 0xa (FIB_RULE_INVERT | FIB_RULE_IIF_DETACHED:
    /// no device has that name); FRA_TABLE 100, FRA_SUPPRESS_PREFIXLEN -1,
    /// FRA_PROTOCOL 0, FRA_IIFNAME "bad\xff" (not UTF-8), FRA_OIFNAME
    /// "veth0", FRA_PRIORITY 50, FRA_FWMARK 0x10, FRA_FWMASK 0xff,
    /// FRA_UID_RANGE 100-200, FRA_SPORT_RANGE 1000-2000, FRA_DPORT_RANGE
    /// 80-80, attribute 29 (FRA_DPORT_MASK 0xffff, Linux 6.16; not read),
    /// FRA_IP_PROTO 6, FRA_DST 192.168.0.0, FRA_SRC 10.0.0.0.
    const SELECTORS: &[&str] = &[
        "02100810640000010a00000008000f006400000008000e00ffffffff050015000000000009000300626164ff00000000",
        "0a0011007665746830000000080006003200000008000a001000000008001000ff0000000c00140064000000c8000000",
        "08001700e803d007080018005000500006001d00ffff0000050016000600000008000100c0a80000080002000a000000",
    ];

    /// ip rule add pref 60 goto 70
    /// action 2 (goto), FRA_GOTO 70.
    const GOTO: &[&str] = &[
        "02000000000000020000000008000f000000000008000e00ffffffff0500150000000000080006003c00000008000400",
        "46000000",
    ];

    /// ip rule add pref 70 nop — action 3.
    const NOP: &[&str] = &[
        "02000000000000030000000008000f000000000008000e00ffffffff05001500000000000800060046000000",
    ];

    /// ip rule add pref 80 lookup main suppress_prefixlength 0 suppress_ifgroup 5
    /// FRA_SUPPRESS_PREFIXLEN 0, FRA_SUPPRESS_IFGROUP 5.
    const SUPPRESS: &[&str] = &[
        "02000000fe0000010000000008000f00fe00000008000e00000000000500150000000000080006005000000008000d00",
        "05000000",
    ];

    /// ip rule add l3mdev pref 90 — FRA_L3MDEV 1, table 0.
    const L3MDEV: &[&str] = &[
        "02000000000000010000000008000f000000000008000e00ffffffff0500150000000000080006005a00000005001300",
        "01000000",
    ];

    /// The IPv6 main rule the kernel installs: AF_INET6, table 254,
    /// FRA_PROTOCOL 2 (kernel), FRA_PRIORITY 32766.
    const MAIN6: &[&str] = &[
        "0a000000fe0000010000000008000f00fe00000008000e00ffffffff050015000200000008000600fe7f0000",
    ];

    /// Made with RTM_NEWRULE by hand (iproute2 6.1 cannot, and lists them
    /// as `from all lookup 100` and `from all ipproto udp sport 4096`):
    /// AF_INET6 pref 40 FRA_FLOWLABEL 0x12345 FRA_FLOWLABEL_MASK 0xfffff
    /// lookup 100; AF_INET pref 41 ipproto udp sport 0x1000/0xff00 (range
    /// 0x1000-0x1000 and FRA_SPORT_MASK) dscp 8 FRA_DSCP_MASK 0x38 lookup
    /// 100. As Linux 6.18 dumps them.
    const FLOWLABEL: &[&str] = &[
        "0a000000640000010000000008000f006400000008000e00ffffffff0500150000000000080006002800000008001a00",
        "0001234508001b00000fffff",
    ];
    const MASKS: &[&str] = &[
        "02000000640000010000000008000f006400000008000e00ffffffff050015000000000008000600290000000800170000",
        "10001006001c0000ff00000500160011000000050019000800000005001e0038000000",
    ];

    #[test]
    fn linux_6_16_masks_and_flow_label() {
        let f = rule(FLOWLABEL);
        assert_eq!(
            (f.family, f.priority, f.flowlabel, f.flowlabel_mask),
            (AF_INET6, 40, Some(0x12345), Some(0xfffff))
        );
        assert!(f.unknown.is_empty());
        let m = rule(MASKS);
        assert_eq!(
            (m.priority, m.ip_proto, m.sport, m.sport_mask),
            (41, Some(17), Some((0x1000, 0x1000)), Some(0xff00))
        );
        assert_eq!((m.dscp, m.dscp_mask), (Some(8), Some(0x38)));
        // A newer kernel's attribute 31 is kept as unknown, not dropped.
        let mut bytes = unhex(MASKS);
        bytes.extend_from_slice(&[8, 0, 31, 0, 1, 0, 0, 0]);
        assert_eq!(parse(&bytes).expect("parses").unknown, vec![31]);
    }

    fn rule(lines: &[&str]) -> RawRule {
        parse(&unhex(lines)).expect("parses")
    }

    #[test]
    fn every_selector_of_one_rule() {
        let r = rule(SELECTORS);
        assert_eq!(
            (r.family, r.priority, r.action, r.table),
            (AF_INET, 50, 1, 100)
        );
        assert_eq!(r.flags, 0x2 | 0x8, "inverted, iif detached");
        assert_eq!(
            (r.src.map(|a| a.to_string()), r.src_len),
            (Some("10.0.0.0".into()), 8)
        );
        assert_eq!(
            (r.dst.map(|a| a.to_string()), r.dst_len),
            (Some("192.168.0.0".into()), 16)
        );
        assert_eq!(
            r.iifname.as_ref().map(Name::to_bytes),
            Some(b"bad\xff".to_vec())
        );
        assert_eq!(r.oifname.as_ref().map(Name::as_str), Some("veth0"));
        assert_eq!((r.fwmark, r.fwmask, r.tos), (Some(0x10), Some(0xff), 0x10));
        assert_eq!(
            (r.ip_proto, r.sport, r.dport),
            (Some(6), Some((1000, 2000)), Some((80, 80)))
        );
        assert_eq!(r.uid_range, Some((100, 200)));
        assert_eq!(
            (r.suppress_prefixlen, r.suppress_ifgroup, r.goto),
            (None, None, None)
        );
        assert_eq!(
            (r.protocol, r.l3mdev, r.tun_id, r.dscp),
            (0, false, None, None)
        );
    }

    #[test]
    fn goto_nop_suppress_and_l3mdev() {
        let g = rule(GOTO);
        assert_eq!((g.priority, g.action, g.goto), (60, 2, Some(70)));
        let n = rule(NOP);
        assert_eq!((n.priority, n.action), (70, 3));
        let s = rule(SUPPRESS);
        assert_eq!(
            (s.table, s.suppress_prefixlen, s.suppress_ifgroup),
            (254, Some(0), Some(5))
        );
        let l = rule(L3MDEV);
        assert_eq!((l.l3mdev, l.table, l.priority), (true, 0, 90));
        let m = rule(MAIN6);
        assert_eq!(
            (m.family, m.table, m.priority, m.protocol),
            (AF_INET6, 254, 32766, 2)
        );
    }

    #[test]
    fn multicast_rules_are_not_routing_rules() {
        let mut bytes = unhex(MAIN6);
        bytes[0] = 129; // RTNL_FAMILY_IP6MR
        assert_eq!(parse(&bytes), None);
    }

    #[test]
    fn truncations_never_panic() {
        for capture in [SELECTORS, GOTO, SUPPRESS, L3MDEV] {
            let bytes = unhex(capture);
            for cut in 0..bytes.len() {
                let _ = parse(&bytes[..cut]);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_payload_parses_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
        }
    }
}
