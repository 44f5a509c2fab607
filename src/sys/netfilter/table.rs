//! NFT_MSG_NEWTABLE replies → [`RawNftTable`] (its chains come later,
//! from the chain dump). Attribute numbers: enum nft_table_attributes.

use super::attr::{attrs, be32, be64, bytes};
use super::socket::Reply;
use crate::name::Name;
use crate::raw::l3::RawNftTable;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFTA_TABLE_HANDLE: u16 = 4;

/// A table and its name as the kernel's bytes (chains and rules name
/// their table by these bytes, so matching is done on them, not on the
/// escaped [`Name`]). None without a name.
pub fn parse(reply: &Reply<'_>) -> Option<(Vec<u8>, RawNftTable)> {
    let mut name = None;
    let mut table = RawNftTable {
        family: reply.family,
        ..RawNftTable::default()
    };
    for (kind, value) in attrs(reply.attrs) {
        match kind {
            NFTA_TABLE_NAME => name = Some(bytes(value)),
            NFTA_TABLE_FLAGS => table.flags = be32(value).unwrap_or(0),
            NFTA_TABLE_HANDLE => table.handle = be64(value).unwrap_or(0),
            _ => {}
        }
    }
    let name = name?;
    table.name = Name::from_bytes(name);
    Some((name.to_vec(), table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netfilter::captures::{TABLE_INET_FILTER, TABLE_NETDEV_ING, reply, unhex};
    use crate::sys::netfilter::socket::NFT_MSG_NEWTABLE;

    #[test]
    fn tables_of_two_families() {
        let payload = unhex(TABLE_INET_FILTER);
        let (name, table) = parse(&reply(NFT_MSG_NEWTABLE, &payload)).expect("parses");
        assert_eq!(name, b"filter");
        assert_eq!(
            (table.family, table.name.as_str(), table.handle, table.flags),
            (1, "filter", 1, 0)
        );
        assert!(table.chains.is_empty(), "chains come from their own dump");
        let payload = unhex(TABLE_NETDEV_ING);
        let (_, table) = parse(&reply(NFT_MSG_NEWTABLE, &payload)).expect("parses");
        assert_eq!(
            (table.family, table.name.as_str(), table.handle),
            (5, "ing", 2)
        );
    }

    #[test]
    fn a_table_without_a_name_is_none() {
        let payload = [1, 0, 0, 2, 8, 0, 2, 0, 0, 0, 0, 1];
        assert!(parse(&reply(NFT_MSG_NEWTABLE, &payload)).is_none());
    }
}
