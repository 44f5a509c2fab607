//! Expressions that act or count rather than load: counter, log, limit,
//! quota, reject, nat, masq, redir, fib, and iptables-nft's compat
//! `match`/`target`. None when an attribute the kind always sends is
//! missing (the caller keeps it as `Other`).

use super::Attrs;
use crate::name::Name;
use crate::snapshot::nft::{Bytes, Expr};
use crate::sys::netfilter::attr::bytes;

pub(super) fn decode(name: &[u8], a: &Attrs<'_>) -> Option<Expr> {
    match name {
        b"counter" => counter(a),
        b"log" => Some(log(a)),
        b"limit" => limit(a),
        b"quota" => quota(a),
        b"reject" => reject(a),
        b"nat" => nat(a),
        b"masq" => Some(masq(a)),
        b"redir" => Some(redir(a)),
        b"fib" => fib(a),
        b"match" => compat(a).map(|(name, rev, info)| Expr::Match { name, rev, info }),
        b"target" => compat(a).map(|(name, rev, info)| Expr::Target { name, rev, info }),
        _ => None,
    }
}

// enum nft_counter_attributes
const NFTA_COUNTER_BYTES: u16 = 1;
const NFTA_COUNTER_PACKETS: u16 = 2;

fn counter(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Counter {
        packets: a.u64(NFTA_COUNTER_PACKETS)?,
        bytes: a.u64(NFTA_COUNTER_BYTES)?,
    })
}

// enum nft_log_attributes
const NFTA_LOG_GROUP: u16 = 1;
const NFTA_LOG_PREFIX: u16 = 2;
const NFTA_LOG_LEVEL: u16 = 5;

fn log(a: &Attrs<'_>) -> Expr {
    Expr::Log {
        prefix: a.get(NFTA_LOG_PREFIX).map(|v| Name::from_bytes(bytes(v))),
        group: a
            .get(NFTA_LOG_GROUP)
            .and_then(|v| Some(u16::from_be_bytes(v.get(..2)?.try_into().ok()?))),
        level: a.u32(NFTA_LOG_LEVEL),
    }
}

// enum nft_limit_attributes
const NFTA_LIMIT_RATE: u16 = 1;
const NFTA_LIMIT_UNIT: u16 = 2;
const NFTA_LIMIT_BURST: u16 = 3;
const NFTA_LIMIT_TYPE: u16 = 4;
const NFTA_LIMIT_FLAGS: u16 = 5;
/// NFT_LIMIT_F_INV.
const NFT_LIMIT_F_INV: u32 = 1;

fn limit(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Limit {
        rate: a.u64(NFTA_LIMIT_RATE)?,
        unit: a.u64(NFTA_LIMIT_UNIT)?,
        burst: a.u32(NFTA_LIMIT_BURST).unwrap_or(0),
        kind: match a.u32(NFTA_LIMIT_TYPE).unwrap_or(0) {
            0 => "pkts".into(),
            1 => "bytes".into(),
            n => format!("type {n}"),
        },
        invert: a.u32(NFTA_LIMIT_FLAGS).unwrap_or(0) & NFT_LIMIT_F_INV != 0,
    })
}

// enum nft_quota_attributes
const NFTA_QUOTA_BYTES: u16 = 1;
const NFTA_QUOTA_FLAGS: u16 = 2;
const NFTA_QUOTA_CONSUMED: u16 = 4;
/// NFT_QUOTA_F_INV.
const NFT_QUOTA_F_INV: u32 = 1;

fn quota(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Quota {
        bytes: a.u64(NFTA_QUOTA_BYTES)?,
        consumed: a.u64(NFTA_QUOTA_CONSUMED).unwrap_or(0),
        invert: a.u32(NFTA_QUOTA_FLAGS).unwrap_or(0) & NFT_QUOTA_F_INV != 0,
    })
}

// enum nft_reject_attributes
const NFTA_REJECT_TYPE: u16 = 1;
const NFTA_REJECT_ICMP_CODE: u16 = 2;

fn reject(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Reject {
        kind: match a.u32(NFTA_REJECT_TYPE)? {
            0 => "icmp_unreach".into(),
            1 => "tcp_rst".into(),
            2 => "icmpx_unreach".into(),
            n => format!("type {n}"),
        },
        code: a
            .get(NFTA_REJECT_ICMP_CODE)
            .and_then(|v| v.first().copied())
            .unwrap_or(0),
    })
}

// enum nft_nat_attributes
const NFTA_NAT_TYPE: u16 = 1;
const NFTA_NAT_FAMILY: u16 = 2;
const NFTA_NAT_REG_ADDR_MIN: u16 = 3;
const NFTA_NAT_REG_ADDR_MAX: u16 = 4;
const NFTA_NAT_REG_PROTO_MIN: u16 = 5;
const NFTA_NAT_REG_PROTO_MAX: u16 = 6;
const NFTA_NAT_FLAGS: u16 = 7;

fn nat(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Nat {
        kind: match a.u32(NFTA_NAT_TYPE)? {
            0 => "snat".into(),
            1 => "dnat".into(),
            n => format!("type {n}"),
        },
        family: match a.u32(NFTA_NAT_FAMILY)? {
            2 => "ip".into(),
            10 => "ip6".into(),
            n => format!("family {n}"),
        },
        addr_min: a.u32(NFTA_NAT_REG_ADDR_MIN),
        addr_max: a.u32(NFTA_NAT_REG_ADDR_MAX),
        proto_min: a.u32(NFTA_NAT_REG_PROTO_MIN),
        proto_max: a.u32(NFTA_NAT_REG_PROTO_MAX),
        flags: a.u32(NFTA_NAT_FLAGS).unwrap_or(0),
    })
}

// enum nft_masq_attributes
const NFTA_MASQ_FLAGS: u16 = 1;
const NFTA_MASQ_REG_PROTO_MIN: u16 = 2;
const NFTA_MASQ_REG_PROTO_MAX: u16 = 3;

fn masq(a: &Attrs<'_>) -> Expr {
    Expr::Masq {
        flags: a.u32(NFTA_MASQ_FLAGS).unwrap_or(0),
        proto_min: a.u32(NFTA_MASQ_REG_PROTO_MIN),
        proto_max: a.u32(NFTA_MASQ_REG_PROTO_MAX),
    }
}

// enum nft_redir_attributes
const NFTA_REDIR_REG_PROTO_MIN: u16 = 1;
const NFTA_REDIR_REG_PROTO_MAX: u16 = 2;
const NFTA_REDIR_FLAGS: u16 = 3;

fn redir(a: &Attrs<'_>) -> Expr {
    Expr::Redir {
        flags: a.u32(NFTA_REDIR_FLAGS).unwrap_or(0),
        proto_min: a.u32(NFTA_REDIR_REG_PROTO_MIN),
        proto_max: a.u32(NFTA_REDIR_REG_PROTO_MAX),
    }
}

// enum nft_fib_attributes
const NFTA_FIB_DREG: u16 = 1;
const NFTA_FIB_RESULT: u16 = 2;
const NFTA_FIB_FLAGS: u16 = 3;

fn fib(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Fib {
        result: match a.u32(NFTA_FIB_RESULT)? {
            1 => "oif".into(),
            2 => "oifname".into(),
            3 => "type".into(),
            n => format!("result {n}"),
        },
        flags: a.u32(NFTA_FIB_FLAGS).unwrap_or(0),
        dreg: a.u32(NFTA_FIB_DREG)?,
    })
}

// enum nft_match_attributes / nft_target_attributes (nft_compat.h)
const NFTA_COMPAT_NAME: u16 = 1;
const NFTA_COMPAT_REV: u16 = 2;
const NFTA_COMPAT_INFO: u16 = 3;

fn compat(a: &Attrs<'_>) -> Option<(String, u32, Bytes)> {
    Some((
        String::from_utf8_lossy(bytes(a.get(NFTA_COMPAT_NAME)?)).into_owned(),
        a.u32(NFTA_COMPAT_REV).unwrap_or(0),
        Bytes(a.get(NFTA_COMPAT_INFO).unwrap_or(&[]).to_vec()),
    ))
}
