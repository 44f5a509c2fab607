//! nftables rules and sets as the kernel holds them: each rule a list of
//! register-level expressions, what `nft --debug=netlink` prints, so that
//! the path tracer can run them the way nf_tables_core.c does
//! (`nft_do_chain`) and a printer can show them the way `nft list ruleset`
//! would. Kept at the register level on purpose: that is the form the
//! kernel evaluates, so nothing is lost or guessed in translation; the
//! high-level syntax is only ever a rendering of it.
//!
//! Registers are the kernel's numbers (`NFTA_*_SREG`/`DREG`): 0 the
//! verdict, 1–4 the 16-byte registers, 8–23 the 4-byte ones
//! (`NFT_REG32_00`…`NFT_REG32_15`); both views share one 64-byte area
//! (nft_parse_register). Byte strings are hex in JSON.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::name::Name;

/// Bytes, written as lowercase hex (`"0a000001"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = String::with_capacity(self.0.len() * 2);
        for b in &self.0 {
            s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        }
        serializer.serialize_str(&s)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        let digits = s.as_bytes();
        if digits.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd number of hex digits"));
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(serde::de::Error::custom("not a hex digit")),
        };
        digits
            .chunks(2)
            .map(|p| Ok(nibble(p[0])? << 4 | nibble(p[1])?))
            .collect::<Result<Vec<u8>, D::Error>>()
            .map(Bytes)
    }
}

/// One rule of a chain, in the chain's order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftRule {
    pub handle: u64,
    pub exprs: Vec<Expr>,
    /// The `comment` nft stores in the rule's user data, if any.
    pub comment: Option<Name>,
}

/// A verdict: `accept`, `drop`, `continue`, `break`, `return`, `jump`,
/// `goto`, `queue`, `stolen`, or `verdict N` for one nsmap does not know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub kind: String,
    /// The target chain of `jump` and `goto`.
    pub chain: Option<Name>,
}

/// One expression, tagged by `expr` (its kernel name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "expr", rename_all = "snake_case")]
pub enum Expr {
    /// A constant into a register, or a verdict (dreg 0).
    Immediate {
        dreg: u32,
        data: Option<Bytes>,
        verdict: Option<Verdict>,
    },
    /// Compares `sreg` with `data`: `eq`, `neq`, `lt`, `lte`, `gt`, `gte`;
    /// a mismatch ends the rule (NFT_BREAK).
    Cmp {
        sreg: u32,
        op: String,
        data: Bytes,
    },
    /// Loads `len` bytes at `offset` of a header: `ll`, `network`,
    /// `transport`, `inner`.
    Payload {
        base: String,
        offset: u32,
        len: u32,
        dreg: u32,
    },
    /// Writes `sreg` into the packet (mangling).
    PayloadWrite {
        base: String,
        offset: u32,
        len: u32,
        sreg: u32,
    },
    /// Loads (`dreg`) or sets (`sreg`) packet metadata, by nft's key name
    /// (`iifname`, `oif`, `l4proto`, `nfproto`, `mark`, `skuid`, …;
    /// `key N` for one nsmap does not know).
    Meta {
        key: String,
        dreg: Option<u32>,
        sreg: Option<u32>,
    },
    /// `bool`: dreg = (sreg & mask) ^ xor; `lshift`/`rshift` by `data`;
    /// `and`/`or`/`xor` with a second register (`sreg2`, Linux 6.13+).
    Bitwise {
        sreg: u32,
        dreg: u32,
        len: u32,
        op: String,
        mask: Option<Bytes>,
        xor: Option<Bytes>,
        data: Option<Bytes>,
        sreg2: Option<u32>,
    },
    /// Byte order conversion: `ntoh` or `hton`, `len` bytes in `size`-byte
    /// words.
    Byteorder {
        sreg: u32,
        dreg: u32,
        op: String,
        len: u32,
        size: u32,
    },
    /// `eq` (within) or `neq` (outside) the range `[from, to]`.
    Range {
        sreg: u32,
        op: String,
        from: Bytes,
        to: Bytes,
    },
    /// Membership of `sreg` in a set; a map writes the element's data into
    /// `dreg` (a verdict map: dreg 0). `invert`: `!=` (no match wanted).
    Lookup {
        sreg: u32,
        dreg: Option<u32>,
        set: Name,
        set_id: Option<u32>,
        invert: bool,
    },
    /// Conntrack: loads (`dreg`) or sets (`sreg`) `key` (`state`,
    /// `status`, `mark`, `direction`, `saddr`, …), optionally of one
    /// direction (0 original, 1 reply).
    Ct {
        key: String,
        dreg: Option<u32>,
        sreg: Option<u32>,
        direction: Option<u8>,
    },
    Counter {
        packets: u64,
        bytes: u64,
    },
    Log {
        prefix: Option<Name>,
        group: Option<u16>,
        level: Option<u32>,
    },
    /// `rate` per `unit` seconds, `burst`; `kind` `pkts` or `bytes`.
    Limit {
        rate: u64,
        unit: u64,
        burst: u32,
        kind: String,
        invert: bool,
    },
    Quota {
        bytes: u64,
        consumed: u64,
        invert: bool,
    },
    /// `icmp_unreach`, `tcp_rst`, `icmpx_unreach`, with the ICMP code.
    Reject {
        kind: String,
        code: u8,
    },
    /// `snat` or `dnat` to the addresses and ports in the registers.
    Nat {
        kind: String,
        /// `ip` or `ip6`.
        family: String,
        addr_min: Option<u32>,
        addr_max: Option<u32>,
        proto_min: Option<u32>,
        proto_max: Option<u32>,
        flags: u32,
    },
    Masq {
        flags: u32,
        proto_min: Option<u32>,
        proto_max: Option<u32>,
    },
    Redir {
        flags: u32,
        proto_min: Option<u32>,
        proto_max: Option<u32>,
    },
    /// A route lookup: `oif`, `oifname` or `type` (addrtype) of the
    /// `flags`' addresses (saddr/daddr, mark, iif, oif, present).
    Fib {
        result: String,
        flags: u32,
        dreg: u32,
    },
    /// iptables-nft's compatibility match (xt_NAME) or target, with its
    /// revision and its info blob.
    Match {
        name: String,
        rev: u32,
        info: Bytes,
    },
    Target {
        name: String,
        rev: u32,
        info: Bytes,
    },
    /// Any other expression (`exthdr`, `socket`, `numgen`, `dynset`,
    /// `objref`, …): its name and its attributes as sent, so nothing is
    /// dropped; the evaluator calls a rule holding one undecidable.
    Other {
        name: String,
        attrs: Vec<(u16, Bytes)>,
    },
}

/// A set or map of a table (`anonymous` ones are a rule's `{ … }`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftSet {
    pub name: Name,
    pub handle: u64,
    /// NFTA_SET_ID, which a lookup may name instead of the set's name.
    pub id: Option<u32>,
    /// `anonymous`, `constant`, `interval`, `map`, `timeout`, `eval`,
    /// `object`, `concat`, `expr`.
    pub flags: Vec<String>,
    /// nft's datatype number of the key (a concatenation packs 6 bits per
    /// field) and its length in bytes.
    pub key_type: u32,
    pub key_len: u32,
    /// A map's data type (`0xffffff00` for verdicts) and length.
    pub data_type: Option<u32>,
    pub data_len: Option<u32>,
    /// The field lengths of a concatenated key (NFTA_SET_DESC_CONCAT).
    pub field_len: Vec<u32>,
    /// Null where the elements could not be read.
    pub elements: Option<Vec<NftElem>>,
}

/// One element: its key (and for a range of a concatenation, `key_end`);
/// a map's data or verdict. In an interval set without `key_end` the
/// kernel keeps each range as a start and an element flagged
/// `interval_end` one past its end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftElem {
    pub key: Bytes,
    pub key_end: Option<Bytes>,
    pub data: Option<Bytes>,
    pub verdict: Option<Verdict>,
    pub interval_end: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_hex_both_ways() {
        let b = Bytes(vec![0x0a, 0x00, 0xff, 0x1]);
        let json = serde_json::to_string(&b).expect("serialize");
        assert_eq!(json, "\"0a00ff01\"");
        assert_eq!(serde_json::from_str::<Bytes>(&json).expect("parse"), b);
        assert_eq!(
            serde_json::from_str::<Bytes>("\"0A\"").expect("upper case"),
            Bytes(vec![10])
        );
        assert!(serde_json::from_str::<Bytes>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Bytes>("\"zz\"").is_err());
    }

    #[test]
    fn expressions_are_tagged_by_their_kernel_name() {
        let e = Expr::Cmp {
            sreg: 1,
            op: "eq".into(),
            data: Bytes(vec![6]),
        };
        let json = serde_json::to_string(&e).expect("serialize");
        assert_eq!(json, r#"{"expr":"cmp","sreg":1,"op":"eq","data":"06"}"#);
        assert_eq!(serde_json::from_str::<Expr>(&json).expect("parse"), e);
    }
}

/// An nftables flowtable: the software fast path that `flow add @name`
/// moves established connections to, bypassing the hooks after ingress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftFlowtable {
    pub name: Name,
    pub handle: u64,
    /// `ingress` (the only flowtable hook); null if the kernel sent none.
    pub hook: Option<String>,
    pub priority: Option<i32>,
    pub devices: Vec<Name>,
    /// `offload`, `counter`.
    pub flags: Vec<String>,
}
