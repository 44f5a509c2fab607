//! NFT_MSG_NEWSET and NFT_MSG_NEWSETELEM replies → [`NftSet`] and
//! [`NftElem`]. Attribute numbers: enum nft_set_attributes,
//! nft_set_desc_attributes, nft_set_field_attributes,
//! nft_set_elem_list_attributes, nft_set_elem_attributes.

use super::attr::{attrs, be32, be64, bytes};
use super::expr::{Attrs, data_value, data_verdict};
use super::socket::Reply;
use crate::name::Name;
use crate::snapshot::nft::{Bytes, NftElem, NftSet};

const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_DATA_TYPE: u16 = 6;
const NFTA_SET_DATA_LEN: u16 = 7;
const NFTA_SET_DESC: u16 = 9;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_HANDLE: u16 = 16;

const NFTA_SET_DESC_CONCAT: u16 = 2;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_FIELD_LEN: u16 = 1;

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;

const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFTA_SET_ELEM_KEY_END: u16 = 10;
/// NFT_SET_ELEM_INTERVAL_END.
const NFT_SET_ELEM_INTERVAL_END: u32 = 1;

/// enum nft_set_flags, bit by bit.
const SET_FLAGS: [(u32, &str); 9] = [
    (0x1, "anonymous"),
    (0x2, "constant"),
    (0x4, "interval"),
    (0x8, "map"),
    (0x10, "timeout"),
    (0x20, "eval"),
    (0x40, "object"),
    (0x80, "concat"),
    (0x100, "expr"),
];

/// A set as the dump sent it, with the kernel bytes of its table's and its
/// own name (to match, and to ask for its elements).
pub struct Set {
    pub family: u8,
    pub table: Vec<u8>,
    pub name: Vec<u8>,
    pub set: NftSet,
}

/// A set; None without a table or name. Its elements are None until read.
pub fn parse(reply: &Reply<'_>) -> Option<Set> {
    let a = Attrs::new(reply.attrs);
    let table = bytes(a.get(NFTA_SET_TABLE)?).to_vec();
    let name = bytes(a.get(NFTA_SET_NAME)?).to_vec();
    let flags = a.u32(NFTA_SET_FLAGS).unwrap_or(0);
    let set = NftSet {
        name: Name::from_bytes(&name),
        handle: a.get(NFTA_SET_HANDLE).and_then(be64).unwrap_or(0),
        id: a.u32(NFTA_SET_ID),
        flags: SET_FLAGS
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| (*n).to_string())
            .collect(),
        key_type: a.u32(NFTA_SET_KEY_TYPE).unwrap_or(0),
        key_len: a.u32(NFTA_SET_KEY_LEN).unwrap_or(0),
        data_type: a.u32(NFTA_SET_DATA_TYPE),
        data_len: a.u32(NFTA_SET_DATA_LEN),
        field_len: a.get(NFTA_SET_DESC).map(field_len).unwrap_or_default(),
        elements: None,
    };
    Some(Set {
        family: reply.family,
        table,
        name,
        set,
    })
}

/// NFTA_SET_DESC { NFTA_SET_DESC_CONCAT { NFTA_LIST_ELEM { FIELD_LEN } } }.
fn field_len(desc: &[u8]) -> Vec<u32> {
    attrs(desc)
        .filter(|&(k, _)| k & 0x3fff == NFTA_SET_DESC_CONCAT)
        .flat_map(|(_, concat)| attrs(concat))
        .filter(|&(k, _)| k & 0x3fff == NFTA_LIST_ELEM)
        .filter_map(|(_, field)| Attrs::new(field).u32(NFTA_SET_FIELD_LEN))
        .collect()
}

/// The NFTA_SET_ELEM_LIST_* attributes of a GETSETELEM request for one
/// set: its table's and its own name, NUL-terminated.
pub fn request_attrs(table: &[u8], set: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, name) in [
        (NFTA_SET_ELEM_LIST_TABLE, table),
        (NFTA_SET_ELEM_LIST_SET, set),
    ] {
        let len = 4 + name.len() + 1;
        out.extend((len as u16).to_ne_bytes());
        out.extend(kind.to_ne_bytes());
        out.extend(name);
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    out
}

/// The elements of one NEWSETELEM message, with the table and set it
/// names (bytes); None without them.
pub fn elements(reply: &Reply<'_>) -> Option<(Vec<u8>, Vec<u8>, Vec<NftElem>)> {
    let a = Attrs::new(reply.attrs);
    let table = bytes(a.get(NFTA_SET_ELEM_LIST_TABLE)?).to_vec();
    let set = bytes(a.get(NFTA_SET_ELEM_LIST_SET)?).to_vec();
    let list = a.get(NFTA_SET_ELEM_LIST_ELEMENTS).unwrap_or(&[]);
    let elems = attrs(list)
        .filter(|&(k, _)| k & 0x3fff == NFTA_LIST_ELEM)
        .map(|(_, e)| element(e))
        .collect();
    Some((table, set, elems))
}

fn element(nest: &[u8]) -> NftElem {
    let a = Attrs::new(nest);
    let data = a.get(NFTA_SET_ELEM_DATA);
    NftElem {
        key: a.value(NFTA_SET_ELEM_KEY).unwrap_or(Bytes(Vec::new())),
        key_end: a.value(NFTA_SET_ELEM_KEY_END),
        data: data.and_then(data_value),
        verdict: data.and_then(data_verdict),
        interval_end: a
            .get(NFTA_SET_ELEM_FLAGS)
            .and_then(be32)
            .is_some_and(|f| f & NFT_SET_ELEM_INTERVAL_END != 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::nft::Verdict;
    use crate::sys::netfilter::captures::{reply, unhex};
    use crate::sys::netfilter::captures_rules::*;
    use crate::sys::netfilter::socket::{NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM};

    fn set(hex: &str) -> Set {
        let payload = unhex(hex);
        parse(&reply(NFT_MSG_NEWSET, &payload)).expect("a set")
    }

    fn elems(hex: &str) -> Vec<NftElem> {
        let payload = unhex(hex);
        let (table, _, elems) = elements(&reply(NFT_MSG_NEWSETELEM, &payload)).expect("elements");
        assert_eq!(table, b"t");
        elems
    }

    fn elem(key: &[u8]) -> NftElem {
        NftElem {
            key: Bytes(key.to_vec()),
            key_end: None,
            data: None,
            verdict: None,
            interval_end: false,
        }
    }

    #[test]
    fn an_interval_set_keeps_starts_and_ends() {
        let s = set(SET_S2);
        assert_eq!(
            (s.family, s.table.as_slice(), s.name.as_slice()),
            (2, &b"t"[..], &b"s2"[..])
        );
        assert_eq!(s.set.flags, ["interval"]);
        // ipv4_addr is nft's datatype 7.
        assert_eq!((s.set.key_type, s.set.key_len), (7, 4));
        assert_eq!((s.set.data_type, s.set.data_len), (None, None));
        let end = |key: &[u8]| NftElem {
            interval_end: true,
            ..elem(key)
        };
        assert_eq!(
            elems(ELEMS_S2),
            [
                end(&[11, 0, 0, 0]),
                elem(&[10, 0, 0, 0]),
                end(&[0, 0, 0, 0])
            ]
        );
    }

    #[test]
    fn a_concatenation_with_ranges_has_field_lengths_and_key_ends() {
        let s = set(SET_S3);
        assert_eq!(s.set.flags, ["interval", "concat"]);
        assert_eq!(s.set.field_len, [4, 2]);
        assert_eq!(s.set.key_len, 8);
        assert_eq!(
            elems(ELEMS_S3),
            [NftElem {
                key_end: Some(Bytes(vec![10, 255, 255, 255, 0, 30, 0, 0])),
                ..elem(&[10, 0, 0, 0, 0, 20, 0, 0])
            }]
        );
    }

    #[test]
    fn a_map_has_data_and_a_verdict_map_verdicts() {
        let s = set(SET_M1);
        assert_eq!(s.set.flags, ["map"]);
        assert_eq!((s.set.data_type, s.set.data_len), (Some(7), Some(4)));
        assert_eq!(
            elems(ELEMS_M1),
            [NftElem {
                data: Some(Bytes(vec![2, 2, 2, 2])),
                ..elem(&[1, 1, 1, 1])
            }]
        );
        let s = set(SET_MAP0);
        assert_eq!(s.set.name.as_str(), "__map0");
        assert_eq!(s.set.flags, ["anonymous", "constant", "map"]);
        assert_eq!(s.set.data_type, Some(0xffff_ff00), "NFT_DATA_VERDICT");
        let v = |kind: &str, chain: Option<&str>| {
            Some(Verdict {
                kind: kind.into(),
                chain: chain.map(Name::from),
            })
        };
        assert_eq!(
            elems(ELEMS_MAP0),
            [
                NftElem {
                    verdict: v("jump", Some("x")),
                    ..elem(&[10, 0, 0, 1])
                },
                NftElem {
                    verdict: v("drop", None),
                    ..elem(&[192, 168, 1, 1])
                },
            ]
        );
        assert!(elems(ELEMS_EMPTY).is_empty());
    }

    #[test]
    fn cut_sets_and_elements_never_panic() {
        for hex in [
            SET_S2, SET_S3, SET_M1, SET_MAP0, ELEMS_S2, ELEMS_S3, ELEMS_M1, ELEMS_MAP0,
        ] {
            let payload = unhex(hex);
            for cut in 4..payload.len() {
                let _ = parse(&reply(NFT_MSG_NEWSET, &payload[..cut]));
                let _ = elements(&reply(NFT_MSG_NEWSETELEM, &payload[..cut]));
            }
        }
    }

    #[test]
    fn element_requests_name_table_and_set() {
        let a = request_attrs(b"t", b"__set0");
        let got: Vec<(u16, &[u8])> = attrs(&a).collect();
        assert_eq!(got, [(1, &b"t\0"[..]), (2, &b"__set0\0"[..])]);
    }
}
