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
