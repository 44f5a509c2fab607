//! Values as `nft list ruleset` prints them, by datatype, and the
//! register-level form `nft --debug=netlink` prints for what the printer
//! does not translate.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::name::{Name, terminal_safe};
use crate::snapshot::nft::{Bytes, Expr, Verdict};

/// A selector's datatype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Ipv4,
    Ipv6,
    Port,
    L4proto,
    Nfproto,
    Ifname,
    Ifindex,
    Mark,
    Iftype,
    Pkttype,
    Decimal,
    /// A big-endian decimal after `byteorder hton`.
    BeDecimal,
    CtState,
    CtStatus,
    CtDir,
    TcpFlags,
    IcmpType,
    Icmp6Type,
    Ether,
    EtherType,
    FibType,
    FibPresent,
}

/// The bit width of an address type, for prefixes.
pub fn addr_bits(ty: Ty) -> Option<u32> {
    match ty {
        Ty::Ipv4 => Some(32),
        Ty::Ipv6 => Some(128),
        _ => None,
    }
}

fn pick(table: &[(u32, &'static str)], v: u32) -> Option<String> {
    table
        .iter()
        .find(|(n, _)| *n == v)
        .map(|(_, s)| (*s).to_string())
}

fn host_u32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    for (i, x) in b.iter().take(4).enumerate() {
        w[i] = *x;
    }
    u32::from_le_bytes(w)
}

/// A quoted string, escaped: a name from the snapshot never drives the
/// terminal and never breaks out of its quotes.
pub fn quoted(bytes: &[u8]) -> String {
    let name = Name::from_bytes(bytes);
    let s = terminal_safe(name.as_str()).replace('"', "\\\"");
    format!("\"{s}\"")
}

/// One value (the register's bytes, network order where the type is).
pub fn value(ty: Ty, b: &[u8]) -> Option<String> {
    let be16 = || {
        b.get(..2)
            .map(|x| u32::from(u16::from_be_bytes([x[0], x[1]])))
    };
    Some(match ty {
        Ty::Ipv4 => {
            let mut a = [0u8; 4];
            a[..b.len().min(4)].copy_from_slice(&b[..b.len().min(4)]);
            Ipv4Addr::from(a).to_string()
        }
        Ty::Ipv6 => {
            let mut a = [0u8; 16];
            a[..b.len().min(16)].copy_from_slice(&b[..b.len().min(16)]);
            Ipv6Addr::from(a).to_string()
        }
        Ty::Port => be16()?.to_string(),
        Ty::L4proto => pick(
            &[
                (6, "tcp"),
                (17, "udp"),
                (1, "icmp"),
                (58, "ipv6-icmp"),
                (132, "sctp"),
            ],
            u32::from(*b.first()?),
        )?,
        Ty::Nfproto => pick(&[(2, "ipv4"), (10, "ipv6")], u32::from(*b.first()?))?,
        Ty::Ifname => {
            let end = b.iter().position(|&c| c == 0);
            match end {
                Some(n) if b[n..].iter().all(|&c| c == 0) => quoted(&b[..n]),
                Some(_) => return None,
                None => {
                    let mut q = quoted(b);
                    q.insert(q.len() - 1, '*');
                    q
                }
            }
        }
        // Loopback is ifindex 1 in every namespace; other numbers stay
        // numbers (nft would print the name of the device it finds).
        Ty::Ifindex => match host_u32(b) {
            1 => "\"lo\"".into(),
            n => n.to_string(),
        },
        Ty::Mark => format!("0x{:08x}", host_u32(b)),
        Ty::Iftype => pick(&[(1, "ether"), (772, "loopback")], host_u32(b))?,
        Ty::Pkttype => pick(
            &[
                (0, "host"),
                (1, "broadcast"),
                (2, "multicast"),
                (3, "other"),
            ],
            u32::from(*b.first()?),
        )?,
        Ty::Decimal => host_u32(b).to_string(),
        Ty::BeDecimal => u32::from_be_bytes(b.get(..4)?.try_into().ok()?).to_string(),
        Ty::CtDir => pick(&[(0, "original"), (1, "reply")], u32::from(*b.first()?))?,
        Ty::IcmpType => pick(ICMP, u32::from(*b.first()?))?,
        Ty::Icmp6Type => pick(ICMP6, u32::from(*b.first()?))?,
        Ty::Ether => b
            .get(..6)?
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
        Ty::EtherType => pick(
            &[
                (0x0800, "ip"),
                (0x86dd, "ip6"),
                (0x0806, "arp"),
                (0x8100, "vlan"),
            ],
            be16()?,
        )?,
        Ty::FibType => pick(FIB, host_u32(b))?,
        Ty::CtState | Ty::CtStatus | Ty::TcpFlags | Ty::FibPresent => return None,
    })
}

const ICMP: &[(u32, &str)] = &[
    (0, "echo-reply"),
    (3, "destination-unreachable"),
    (4, "source-quench"),
    (5, "redirect"),
    (8, "echo-request"),
    (9, "router-advertisement"),
    (10, "router-solicitation"),
    (11, "time-exceeded"),
    (12, "parameter-problem"),
    (13, "timestamp-request"),
    (14, "timestamp-reply"),
    (15, "info-request"),
    (16, "info-reply"),
    (17, "address-mask-request"),
    (18, "address-mask-reply"),
];

const ICMP6: &[(u32, &str)] = &[
    (1, "destination-unreachable"),
    (2, "packet-too-big"),
    (3, "time-exceeded"),
    (4, "parameter-problem"),
    (128, "echo-request"),
    (129, "echo-reply"),
    (130, "mld-listener-query"),
    (131, "mld-listener-report"),
    (132, "mld-listener-done"),
    (133, "nd-router-solicit"),
    (134, "nd-router-advert"),
    (135, "nd-neighbor-solicit"),
    (136, "nd-neighbor-advert"),
    (137, "nd-redirect"),
];

const FIB: &[(u32, &str)] = &[
    (0, "unspec"),
    (1, "unicast"),
    (2, "local"),
    (3, "broadcast"),
    (4, "anycast"),
    (5, "multicast"),
    (6, "blackhole"),
    (7, "unreachable"),
    (8, "prohibit"),
];

/// The names of a bitmask type's bits in `mask`, nft's order (by bit).
pub fn bits(ty: Ty, mask: u32) -> Option<String> {
    let table: &[(u32, &str)] = match ty {
        Ty::CtState => &[
            (1, "invalid"),
            (2, "established"),
            (4, "related"),
            (8, "new"),
            (64, "untracked"),
        ],
        Ty::CtStatus => &[
            (1, "expected"),
            (2, "seen-reply"),
            (4, "assured"),
            (8, "confirmed"),
            (16, "snat"),
            (32, "dnat"),
            (512, "dying"),
        ],
        Ty::TcpFlags => &[
            (1, "fin"),
            (2, "syn"),
            (4, "rst"),
            (8, "psh"),
            (16, "ack"),
            (32, "urg"),
            (64, "ecn"),
            (128, "cwr"),
        ],
        _ => return None,
    };
    let mut names = Vec::new();
    let mut rest = mask;
    for (bit, name) in table {
        if mask & bit != 0 {
            names.push(*name);
            rest &= !bit;
        }
    }
    (rest == 0 && !names.is_empty()).then(|| names.join(","))
}

pub fn verdict(v: &Verdict) -> String {
    match &v.chain {
        Some(c) => format!("{} {}", v.kind, terminal_safe(c.as_str())),
        None => v.kind.clone(),
    }
}

fn words(b: &Bytes) -> String {
    b.0.chunks(4)
        .map(|c| format!("0x{:08x}", host_u32(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn opt_reg(name: &str, r: Option<u32>) -> String {
    r.map(|r| format!(" {name} reg {r}")).unwrap_or_default()
}

/// The `[ … ]` form of one expression, as libnftnl prints it.
pub fn netlink(e: &Expr) -> String {
    let mut s = String::from("[ ");
    let _ = match e {
        Expr::Immediate {
            dreg,
            data,
            verdict: v,
        } => match (v, data) {
            (Some(v), _) => write!(
                s,
                "immediate reg {dreg} {}",
                verdict(v).replace(' ', " -> ")
            ),
            (None, Some(d)) => write!(s, "immediate reg {dreg} {}", words(d)),
            _ => write!(s, "immediate reg {dreg}"),
        },
        Expr::Cmp { sreg, op, data } => write!(s, "cmp {op} reg {sreg} {}", words(data)),
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => write!(
            s,
            "payload load {len}b @ {base} header + {offset} => reg {dreg}"
        ),
        Expr::PayloadWrite {
            base,
            offset,
            len,
            sreg,
        } => write!(
            s,
            "payload write reg {sreg} => {len}b @ {base} header + {offset}"
        ),
        Expr::Meta {
            key, dreg: Some(d), ..
        } => write!(s, "meta load {key} => reg {d}"),
        Expr::Meta { key, sreg, .. } => write!(s, "meta set {key} with reg {}", sreg.unwrap_or(0)),
        Expr::Bitwise {
            sreg,
            dreg,
            op,
            mask: Some(m),
            xor: Some(x),
            ..
        } if op == "bool" => {
            write!(
                s,
                "bitwise reg {dreg} = ( reg {sreg} & {} ) ^ {}",
                words(m),
                words(x)
            )
        }
        Expr::Bitwise {
            sreg,
            dreg,
            op,
            data,
            sreg2,
            ..
        } => write!(
            s,
            "bitwise reg {dreg} = ( reg {sreg} {op} {} )",
            match (data, sreg2) {
                (Some(d), _) => words(d),
                (None, Some(r)) => format!("reg {r}"),
                _ => String::new(),
            }
        ),
        Expr::Byteorder {
            sreg,
            dreg,
            op,
            len,
            size,
        } => write!(s, "byteorder reg {dreg} = {op}(reg {sreg}, {size}, {len})"),
        Expr::Range { sreg, op, from, to } => {
            write!(s, "range {op} reg {sreg} {} {}", words(from), words(to))
        }
        Expr::Lookup {
            sreg,
            dreg,
            set,
            invert,
            ..
        } => write!(
            s,
            "lookup reg {sreg} set {}{} 0x{}",
            terminal_safe(set.as_str()),
            dreg.map(|d| format!(" dreg {d}")).unwrap_or_default(),
            u8::from(*invert)
        ),
        Expr::Ct {
            key, dreg: Some(d), ..
        } => write!(s, "ct load {key} => reg {d}"),
        Expr::Ct { key, sreg, .. } => write!(s, "ct set {key} with reg {}", sreg.unwrap_or(0)),
        Expr::Counter { packets, bytes } => write!(s, "counter pkts {packets} bytes {bytes}"),
        Expr::Log { prefix, .. } => write!(
            s,
            "log{}",
            prefix
                .as_ref()
                .map(|p| format!(" prefix {}", terminal_safe(p.as_str())))
                .unwrap_or_default()
        ),
        Expr::Limit {
            rate,
            unit,
            burst,
            kind,
            ..
        } => write!(
            s,
            "limit rate {rate}/{} burst {burst} type {kind}",
            super::exprs::unit_word(*unit)
        ),
        Expr::Quota {
            bytes, consumed, ..
        } => write!(s, "quota bytes {bytes} consumed {consumed}"),
        Expr::Reject { kind, code } => write!(
            s,
            "reject type {} code {code}",
            match kind.as_str() {
                "icmp_unreach" => 0,
                "tcp_rst" => 1,
                _ => 2,
            }
        ),
        Expr::Nat {
            kind,
            family,
            addr_min,
            addr_max,
            proto_min,
            proto_max,
            flags,
        } => write!(
            s,
            "nat {kind} {family}{}{}{}{} flags 0x{flags:x}",
            opt_reg("addr_min", *addr_min),
            opt_reg("addr_max", *addr_max),
            opt_reg("proto_min", *proto_min),
            opt_reg("proto_max", *proto_max)
        ),
        Expr::Masq {
            flags,
            proto_min,
            proto_max,
        } => write!(
            s,
            "masq{}{} flags 0x{flags:x}",
            opt_reg("proto_min", *proto_min),
            opt_reg("proto_max", *proto_max)
        ),
        Expr::Redir {
            flags,
            proto_min,
            proto_max,
        } => write!(
            s,
            "redir{}{} flags 0x{flags:x}",
            opt_reg("proto_min", *proto_min),
            opt_reg("proto_max", *proto_max)
        ),
        Expr::Fib {
            result,
            flags,
            dreg,
        } => write!(s, "fib flags 0x{flags:x} {result} => reg {dreg}"),
        Expr::Match { name, rev, .. } => write!(s, "match name {} rev {rev}", terminal_safe(name)),
        Expr::Target { name, rev, .. } => {
            write!(s, "target name {} rev {rev}", terminal_safe(name))
        }
        Expr::Other { name, .. } => write!(s, "{}", terminal_safe(name)),
    };
    s.push_str(" ]");
    s
}
