//! Set membership as the kernel's backends decide it: exact keys (hash,
//! bitmap), intervals closed by `interval_end` elements (rbtree, memcmp
//! order on the network-order key) and field-by-field ranges of
//! concatenations (pipapo, `key`..=`key_end`).

use std::cmp::Ordering;

use crate::snapshot::l3::NftTable;
use crate::snapshot::nft::{NftElem, NftSet};

/// The set a lookup names, by name or by NFTA_SET_ID.
pub fn find<'a>(table: &'a NftTable, name: &str, id: Option<u32>) -> Option<&'a NftSet> {
    let sets = table.sets.as_ref()?;
    sets.iter()
        .find(|s| s.name.as_str() == name)
        .or_else(|| id.and_then(|id| sets.iter().find(|s| s.id == Some(id))))
}

/// Why the snapshot's description of a set cannot decide a lookup: no key
/// length (every key would look equal), or a concatenation of ranges
/// without its field lengths (one memcmp over all fields would match keys
/// that pipapo, field by field, does not).
pub fn undecidable(set: &NftSet) -> Option<String> {
    if set.key_len == 0 {
        return Some(format!("set @{} has no key length", set.name));
    }
    let ranges = set.elements.iter().flatten().any(|e| e.key_end.is_some());
    let concat = set.flags.iter().any(|f| f == "concat") || set.key_type >= 64;
    (ranges && concat && set.field_len.is_empty())
        .then(|| format!("set @{} is a concatenation without field lengths", set.name))
}

/// The element a key hits, None for no match.
pub fn lookup<'a>(set: &'a NftSet, elems: &'a [NftElem], key: &[u8]) -> Option<&'a NftElem> {
    if elems.iter().any(|e| e.key_end.is_some()) {
        let fields = field_lens(set, key.len());
        return elems.iter().find(|e| in_ranges(e, key, &fields));
    }
    let interval =
        set.flags.iter().any(|f| f == "interval") || elems.iter().any(|e| e.interval_end);
    if interval {
        // rbtree: the greatest element not above the key decides; an
        // interval end there means the key is in a gap.
        let best = elems
            .iter()
            .filter(|e| prefix_cmp(&e.key.0, key) != Ordering::Greater)
            .max_by(|a, b| {
                prefix_cmp(&a.key.0, &b.key.0).then(a.interval_end.cmp(&b.interval_end).reverse())
            });
        return best.filter(|e| !e.interval_end);
    }
    elems.iter().find(|e| e.key.0.get(..key.len()) == Some(key))
}

fn prefix_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n])
}

/// The register-sized field lengths (each a multiple of 4) of the key.
fn field_lens(set: &NftSet, key_len: usize) -> Vec<usize> {
    if set.field_len.is_empty() {
        return vec![key_len];
    }
    set.field_len
        .iter()
        .map(|&l| usize::try_from(l.div_ceil(4) * 4).unwrap_or(usize::MAX))
        .collect()
}

fn in_ranges(e: &NftElem, key: &[u8], fields: &[usize]) -> bool {
    let end = e.key_end.as_ref().unwrap_or(&e.key);
    let mut at = 0;
    for &len in fields {
        let Some(k) = key.get(at..at + len) else {
            return false;
        };
        let (Some(lo), Some(hi)) = (e.key.0.get(at..at + len), end.0.get(at..at + len)) else {
            return false;
        };
        if k < lo || k > hi {
            return false;
        }
        at += len;
    }
    true
}
