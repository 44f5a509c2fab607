//! Decoding a rule's `NFTA_RULE_EXPRESSIONS` into [`Expr`], register by
//! register as the kernel sent it (the `*_dump` functions of
//! net/netfilter/nft_*.c). Attribute numbers and enums are those of
//! include/uapi/linux/netfilter/nf_tables.h (and nft_compat.h for
//! `match`/`target`). Decoding is total: a missing or cut attribute gives
//! a default, an expression nsmap does not know, or one without the
//! attributes its kind needs, is kept as [`Expr::Other`] with its
//! attributes as sent, so nothing is dropped or invented.

mod actions;
mod keys;

use super::attr::{attrs, be32, bytes};
use super::rule;
use crate::name::Name;
use crate::snapshot::nft::{Bytes, Expr, NftRule, Verdict};

/// enum nft_data_attributes.
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
/// enum nft_verdict_attributes.
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;

/// `NFTNL_UDATA_RULE_COMMENT`: libnftnl's TLV type of a rule's comment.
const NFTNL_UDATA_RULE_COMMENT: u8 = 0;

/// The attributes of one expression, by number (later duplicates win,
/// as in nla_parse).
pub(crate) struct Attrs<'a>(Vec<(u16, &'a [u8])>);

impl<'a> Attrs<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Attrs<'a> {
        Attrs(attrs(data).map(|(k, v)| (k & 0x3fff, v)).collect())
    }

    pub(crate) fn get(&self, kind: u16) -> Option<&'a [u8]> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
    }

    pub(crate) fn u32(&self, kind: u16) -> Option<u32> {
        self.get(kind).and_then(be32)
    }

    pub(crate) fn u64(&self, kind: u16) -> Option<u64> {
        self.get(kind).and_then(super::attr::be64)
    }

    /// An NFTA_DATA_VALUE nest's bytes.
    pub(crate) fn value(&self, kind: u16) -> Option<Bytes> {
        self.get(kind).and_then(data_value)
    }

    /// Everything, for [`Expr::Other`].
    fn all(&self) -> Vec<(u16, Bytes)> {
        self.0
            .iter()
            .map(|(k, v)| (*k, Bytes(v.to_vec())))
            .collect()
    }
}

/// A whole rule: its handle, expressions and comment.
pub fn rule(r: &rule::Rule<'_>) -> NftRule {
    NftRule {
        handle: r.handle,
        exprs: rule::expressions(r.expressions).map(decode).collect(),
        comment: comment(r.userdata),
    }
}

/// The comment among libnftnl's user-data TLVs (type, length, value with
/// its NUL); None when absent or cut.
pub fn comment(userdata: &[u8]) -> Option<Name> {
    let mut rest = userdata;
    while let [kind, len, tail @ ..] = rest {
        let value = tail.get(..usize::from(*len))?;
        if *kind == NFTNL_UDATA_RULE_COMMENT {
            return Some(Name::from_bytes(bytes(value)));
        }
        rest = &tail[value.len()..];
    }
    None
}

/// One expression.
pub fn decode(e: rule::Expr<'_>) -> Expr {
    let a = Attrs::new(e.data);
    let name = String::from_utf8_lossy(e.name).into_owned();
    let decoded = match e.name {
        b"immediate" => immediate(&a),
        b"cmp" => cmp(&a),
        b"payload" => payload(&a),
        b"bitwise" => bitwise(&a),
        b"byteorder" => byteorder(&a),
        b"range" => range(&a),
        b"lookup" => lookup(&a),
        b"meta" => keys::meta(&a),
        b"ct" => keys::ct(&a),
        other => actions::decode(other, &a),
    };
    decoded.unwrap_or_else(|| Expr::Other {
        name,
        attrs: a.all(),
    })
}

/// The bytes of an `NFTA_DATA_VALUE` inside a data nest.
pub(crate) fn data_value(nest: &[u8]) -> Option<Bytes> {
    attrs(nest)
        .find(|&(k, _)| k & 0x3fff == NFTA_DATA_VALUE)
        .map(|(_, v)| Bytes(v.to_vec()))
}

/// An `NFTA_DATA_VERDICT` inside a data nest.
pub(crate) fn data_verdict(nest: &[u8]) -> Option<Verdict> {
    let (_, v) = attrs(nest).find(|&(k, _)| k & 0x3fff == NFTA_DATA_VERDICT)?;
    verdict(v)
}

/// A verdict nest: NFTA_VERDICT_CODE (NF_* or NFT_*), NFTA_VERDICT_CHAIN.
pub(crate) fn verdict(nest: &[u8]) -> Option<Verdict> {
    let a = Attrs::new(nest);
    let code = a.u32(NFTA_VERDICT_CODE)? as i32;
    let kind = match code {
        0 => "drop".to_string(),
        1 => "accept".to_string(),
        2 => "stolen".to_string(),
        3 => "queue".to_string(),
        -1 => "continue".to_string(),
        -2 => "break".to_string(),
        -3 => "jump".to_string(),
        -4 => "goto".to_string(),
        -5 => "return".to_string(),
        n => format!("verdict {n}"),
    };
    let chain = a
        .get(NFTA_VERDICT_CHAIN)
        .map(|v| Name::from_bytes(bytes(v)));
    Some(Verdict { kind, chain })
}

// enum nft_immediate_attributes
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;

fn immediate(a: &Attrs<'_>) -> Option<Expr> {
    let data = a.get(NFTA_IMMEDIATE_DATA)?;
    Some(Expr::Immediate {
        dreg: a.u32(NFTA_IMMEDIATE_DREG)?,
        data: data_value(data),
        verdict: data_verdict(data),
    })
}

// enum nft_cmp_attributes
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;

/// enum nft_cmp_ops, as libnftnl prints them.
fn cmp_op(op: u32) -> String {
    match op {
        0 => "eq".into(),
        1 => "neq".into(),
        2 => "lt".into(),
        3 => "lte".into(),
        4 => "gt".into(),
        5 => "gte".into(),
        n => format!("op {n}"),
    }
}

fn cmp(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Cmp {
        sreg: a.u32(NFTA_CMP_SREG)?,
        op: cmp_op(a.u32(NFTA_CMP_OP)?),
        data: a.value(NFTA_CMP_DATA)?,
    })
}

// enum nft_payload_attributes
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_PAYLOAD_SREG: u16 = 5;

/// enum nft_payload_bases.
fn payload_base(base: u32) -> String {
    match base {
        0 => "ll".into(),
        1 => "network".into(),
        2 => "transport".into(),
        3 => "inner".into(),
        n => format!("base {n}"),
    }
}

/// A load (DREG) or, with SREG, a write; its checksum attributes are not
/// kept (the tracer does not mangle).
fn payload(a: &Attrs<'_>) -> Option<Expr> {
    let base = payload_base(a.u32(NFTA_PAYLOAD_BASE)?);
    let offset = a.u32(NFTA_PAYLOAD_OFFSET)?;
    let len = a.u32(NFTA_PAYLOAD_LEN)?;
    match (a.u32(NFTA_PAYLOAD_DREG), a.u32(NFTA_PAYLOAD_SREG)) {
        (Some(dreg), None) => Some(Expr::Payload {
            base,
            offset,
            len,
            dreg,
        }),
        (None, Some(sreg)) => Some(Expr::PayloadWrite {
            base,
            offset,
            len,
            sreg,
        }),
        _ => None,
    }
}

// enum nft_bitwise_attributes (NFTA_BITWISE_SREG2: Linux 6.13)
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_BITWISE_OP: u16 = 6;
const NFTA_BITWISE_DATA: u16 = 7;
const NFTA_BITWISE_SREG2: u16 = 8;

/// enum nft_bitwise_ops; NFT_BITWISE_MASK_XOR (alias NFT_BITWISE_BOOL) is
/// the default of kernels that sent no NFTA_BITWISE_OP.
fn bitwise_op(op: u32) -> String {
    match op {
        0 => "bool".into(),
        1 => "lshift".into(),
        2 => "rshift".into(),
        3 => "and".into(),
        4 => "or".into(),
        5 => "xor".into(),
        n => format!("op {n}"),
    }
}

fn bitwise(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Bitwise {
        sreg: a.u32(NFTA_BITWISE_SREG)?,
        dreg: a.u32(NFTA_BITWISE_DREG)?,
        len: a.u32(NFTA_BITWISE_LEN)?,
        op: bitwise_op(a.u32(NFTA_BITWISE_OP).unwrap_or(0)),
        mask: a.value(NFTA_BITWISE_MASK),
        xor: a.value(NFTA_BITWISE_XOR),
        data: a.value(NFTA_BITWISE_DATA),
        sreg2: a.u32(NFTA_BITWISE_SREG2),
    })
}

// enum nft_byteorder_attributes
const NFTA_BYTEORDER_SREG: u16 = 1;
const NFTA_BYTEORDER_DREG: u16 = 2;
const NFTA_BYTEORDER_OP: u16 = 3;
const NFTA_BYTEORDER_LEN: u16 = 4;
const NFTA_BYTEORDER_SIZE: u16 = 5;

fn byteorder(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Byteorder {
        sreg: a.u32(NFTA_BYTEORDER_SREG)?,
        dreg: a.u32(NFTA_BYTEORDER_DREG)?,
        op: match a.u32(NFTA_BYTEORDER_OP)? {
            0 => "ntoh".into(),
            1 => "hton".into(),
            n => format!("op {n}"),
        },
        len: a.u32(NFTA_BYTEORDER_LEN)?,
        size: a.u32(NFTA_BYTEORDER_SIZE)?,
    })
}

// enum nft_range_attributes
const NFTA_RANGE_SREG: u16 = 1;
const NFTA_RANGE_OP: u16 = 2;
const NFTA_RANGE_FROM_DATA: u16 = 3;
const NFTA_RANGE_TO_DATA: u16 = 4;

fn range(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Range {
        sreg: a.u32(NFTA_RANGE_SREG)?,
        op: match a.u32(NFTA_RANGE_OP)? {
            0 => "eq".into(),
            1 => "neq".into(),
            n => format!("op {n}"),
        },
        from: a.value(NFTA_RANGE_FROM_DATA)?,
        to: a.value(NFTA_RANGE_TO_DATA)?,
    })
}

// enum nft_lookup_attributes
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_LOOKUP_DREG: u16 = 3;
const NFTA_LOOKUP_SET_ID: u16 = 4;
const NFTA_LOOKUP_FLAGS: u16 = 5;
/// NFT_LOOKUP_F_INV.
const NFT_LOOKUP_F_INV: u32 = 1;

fn lookup(a: &Attrs<'_>) -> Option<Expr> {
    Some(Expr::Lookup {
        sreg: a.u32(NFTA_LOOKUP_SREG)?,
        dreg: a.u32(NFTA_LOOKUP_DREG),
        set: Name::from_bytes(bytes(a.get(NFTA_LOOKUP_SET)?)),
        set_id: a.u32(NFTA_LOOKUP_SET_ID),
        invert: a.u32(NFTA_LOOKUP_FLAGS).unwrap_or(0) & NFT_LOOKUP_F_INV != 0,
    })
}

#[cfg(test)]
mod tests;
