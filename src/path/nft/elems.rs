//! The elements of an anonymous set or map as `nft list ruleset` prints
//! them: sorted, intervals as prefixes or ranges, concatenations field by
//! field, map data after ` : `.

use super::names::{self, Ty, addr_bits, value};
use crate::snapshot::nft::NftElem;

/// One field of an element as nft prints it: a value, a prefix or a range.
fn field(ty: Ty, lo: &[u8], hi: &[u8]) -> Option<String> {
    if lo == hi {
        return value(ty, lo);
    }
    if let Some(bits) = addr_bits(ty) {
        // A prefix: lo and hi differ only in trailing bits, lo all 0, hi all 1.
        let n = usize::try_from(bits / 8).ok()?;
        let (lo, hi) = (lo.get(..n)?, hi.get(..n)?);
        let mut common = 0;
        for (a, b) in lo.iter().zip(hi) {
            let x = a ^ b;
            if x == 0 {
                common += 8;
                continue;
            }
            common += x.leading_zeros();
            break;
        }
        let lo_bits = lo
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1));
        let hi_bits = hi
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| b >> i & 1));
        let rest = usize::try_from(common).ok()?;
        if lo_bits.skip(rest).all(|b| b == 0) && hi_bits.skip(rest).all(|b| b == 1) {
            return Some(format!("{}/{common}", value(ty, lo)?));
        }
    }
    Some(format!("{}-{}", value(ty, lo)?, value(ty, hi)?))
}

/// One past `b` as a big-endian number, minus one: the last key of a
/// range closed by an interval end at `b`.
fn minus_one(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    for x in v.iter_mut().rev() {
        if *x == 0 {
            *x = 0xff;
        } else {
            *x -= 1;
            break;
        }
    }
    v
}

pub(super) fn elements(
    elems: &[NftElem],
    sels: &[(Ty, usize)],
    data_ty: Option<Ty>,
) -> Option<Vec<String>> {
    let mut sorted: Vec<&NftElem> = elems.iter().collect();
    sorted.sort_by(|a, b| {
        a.key
            .0
            .cmp(&b.key.0)
            .then(b.interval_end.cmp(&a.interval_end))
    });
    let data = |e: &NftElem| -> Option<String> {
        match (&e.verdict, &e.data) {
            (Some(v), _) => Some(format!(" : {}", names::verdict(v))),
            (None, None) => Some(String::new()),
            (None, Some(d)) => Some(format!(" : {}", value(data_ty?, &d.0)?)),
        }
    };
    let mut out = Vec::new();
    let interval = elems.iter().any(|e| e.interval_end);
    for (i, e) in sorted.iter().enumerate() {
        if e.interval_end {
            continue;
        }
        let (lo, hi) = if interval {
            let end = sorted
                .get(i + 1)
                .filter(|n| n.interval_end)
                .map(|n| minus_one(&n.key.0));
            let hi = end.unwrap_or_else(|| vec![0xff; e.key.0.len()]);
            (e.key.0.clone(), hi)
        } else {
            (
                e.key.0.clone(),
                e.key_end.as_ref().unwrap_or(&e.key).0.clone(),
            )
        };
        let mut fields = Vec::new();
        let mut at = 0;
        for &(ty, len) in sels {
            let w = len.div_ceil(4) * 4;
            let (l, h) = (lo.get(at..at + len)?, hi.get(at..at + len)?);
            fields.push(field(ty, l, h)?);
            at += w;
        }
        out.push(format!("{}{}", fields.join(" . "), data(e)?));
    }
    Some(out)
}
