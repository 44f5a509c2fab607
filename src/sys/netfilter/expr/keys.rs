//! `meta` and `ct`: a key read into a register or set from one. Key names
//! are what `nft` prints: for meta the register-level names of
//! `nft --debug=netlink` (libnftnl's: `len`, `bri_iifname`, …), for ct the
//! high-level ones of `nft list ruleset` (`saddr`, `proto-dst`, `ip saddr`,
//! …); an unknown key is `key N`.

use super::Attrs;
use crate::snapshot::nft::Expr;

// enum nft_meta_attributes
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_META_SREG: u16 = 3;

/// enum nft_meta_keys, in order from NFT_META_LEN (0) to
/// NFT_META_BRI_BROUTE (35).
const META_KEYS: [&str; 36] = [
    "len",
    "protocol",
    "priority",
    "mark",
    "iif",
    "oif",
    "iifname",
    "oifname",
    "iiftype",
    "oiftype",
    "skuid",
    "skgid",
    "nftrace",
    "rtclassid",
    "secmark",
    "nfproto",
    "l4proto",
    "bri_iifname",
    "bri_oifname",
    "pkttype",
    "cpu",
    "iifgroup",
    "oifgroup",
    "cgroup",
    "prandom",
    "secpath",
    "iifkind",
    "oifkind",
    "bri_iifpvid",
    "bri_iifvproto",
    "time",
    "day",
    "hour",
    "sdif",
    "sdifname",
    "broute",
];

/// enum nft_ct_keys, from NFT_CT_STATE (0) to NFT_CT_ID (23).
const CT_KEYS: [&str; 24] = [
    "state",
    "direction",
    "status",
    "mark",
    "secmark",
    "expiration",
    "helper",
    "l3protocol",
    "saddr",
    "daddr",
    "protocol",
    "proto-src",
    "proto-dst",
    "label",
    "packets",
    "bytes",
    "avgpkt",
    "zone",
    "event",
    "ip saddr",
    "ip daddr",
    "ip6 saddr",
    "ip6 daddr",
    "id",
];

fn name(table: &[&str], key: u32) -> String {
    usize::try_from(key)
        .ok()
        .and_then(|k| table.get(k))
        .map_or_else(|| format!("key {key}"), |n| (*n).to_string())
}

/// The meta key name of NFT_META_*.
pub fn meta_key(key: u32) -> String {
    name(&META_KEYS, key)
}

/// The ct key name of NFT_CT_*.
pub fn ct_key(key: u32) -> String {
    name(&CT_KEYS, key)
}

pub(super) fn meta(a: &Attrs<'_>) -> Option<Expr> {
    let (dreg, sreg) = (a.u32(NFTA_META_DREG), a.u32(NFTA_META_SREG));
    if dreg.is_none() == sreg.is_none() {
        return None;
    }
    Some(Expr::Meta {
        key: meta_key(a.u32(NFTA_META_KEY)?),
        dreg,
        sreg,
    })
}

// enum nft_ct_attributes
const NFTA_CT_DREG: u16 = 1;
const NFTA_CT_KEY: u16 = 2;
const NFTA_CT_DIRECTION: u16 = 3;
const NFTA_CT_SREG: u16 = 4;

pub(super) fn ct(a: &Attrs<'_>) -> Option<Expr> {
    let (dreg, sreg) = (a.u32(NFTA_CT_DREG), a.u32(NFTA_CT_SREG));
    if dreg.is_none() == sreg.is_none() {
        return None;
    }
    Some(Expr::Ct {
        key: ct_key(a.u32(NFTA_CT_KEY)?),
        dreg,
        sreg,
        direction: a.get(NFTA_CT_DIRECTION).and_then(|v| v.first().copied()),
    })
}
