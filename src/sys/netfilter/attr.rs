//! Reading nf_tables attributes.
//!
//! nsmap walks NETLINK_NETFILTER replies with its own attribute walker
//! ([`crate::sys::netlink::link::attrs`]), on purpose: the Rust and C
//! libraries that model nf_tables messages (rustables, libnftnl/nftnl)
//! are GPL, which this MIT/Apache-2.0 crate cannot take in, and the
//! `nftables` crate only models `nft -j` output (it needs the binary, and
//! running tools is not read-only-by-construction). The walker stops at the
//! first malformed attribute, so every reader here is total: garbage gives
//! missing fields, never a panic.
//!
//! nf_tables integers are big-endian (`nla_put_be32`, `nla_put_be64`),
//! unlike rtnetlink's host-order ones; attribute headers stay host order.

pub use crate::sys::netlink::link::attrs;

/// A big-endian u32 attribute (NLA_U32 in nf_tables means `__be32`).
pub fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

/// A big-endian u64 attribute (handles).
pub fn be64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))
}

/// A string attribute without its NUL (NLA_STRING values carry one).
pub fn bytes(v: &[u8]) -> &[u8] {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    &v[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_and_strings_lose_their_nul() {
        assert_eq!(be32(&[0, 0, 1, 2]), Some(0x102));
        assert_eq!(be32(&[0, 0, 1]), None);
        assert_eq!(be64(&[0, 0, 0, 0, 0, 0, 0, 7, 9]), Some(7));
        assert_eq!(be64(&[0; 7]), None);
        assert_eq!(bytes(b"filter\0"), b"filter");
        assert_eq!(bytes(b"x\0y"), b"x");
        assert_eq!(bytes(b"raw"), b"raw");
    }
}
