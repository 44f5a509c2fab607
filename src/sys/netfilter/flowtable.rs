//! NFT_MSG_NEWFLOWTABLE replies → [`RawNftFlowtable`]: a flowtable's
//! name, handle, flags and its hook nest `NFTA_FLOWTABLE_HOOK { NUM,
//! PRIORITY, DEVS { NFTA_DEVICE_NAME… } }`, as nf_tables_fill_flowtable_info
//! sends them. Attribute numbers: enum nft_flowtable_attributes,
//! nft_flowtable_hook_attributes, nft_devices_attributes.

use super::attr::{attrs, be32, be64, bytes};
use super::socket::Reply;
use crate::name::Name;
use crate::raw::l3::RawNftFlowtable;

const NFTA_FLOWTABLE_TABLE: u16 = 1;
const NFTA_FLOWTABLE_NAME: u16 = 2;
const NFTA_FLOWTABLE_HOOK: u16 = 3;
const NFTA_FLOWTABLE_USE: u16 = 4;
const NFTA_FLOWTABLE_HANDLE: u16 = 5;
const NFTA_FLOWTABLE_FLAGS: u16 = 7;

const NFTA_FLOWTABLE_HOOK_NUM: u16 = 1;
const NFTA_FLOWTABLE_HOOK_PRIORITY: u16 = 2;
const NFTA_FLOWTABLE_HOOK_DEVS: u16 = 3;

const NFTA_DEVICE_NAME: u16 = 1;
/// `NFTA_DEVICE_PREFIX` (newer kernels): the hook device dump is shared
/// with base chains (nft_nla_put_hook_dev), so a wildcard shows up here
/// too; written `name*` as `nft` does.
const NFTA_DEVICE_PREFIX: u16 = 2;

/// A flowtable and the bytes of its table's name (matched on bytes, like
/// chains). None without a table or a name.
pub fn parse(reply: &Reply<'_>) -> Option<(Vec<u8>, RawNftFlowtable)> {
    let mut table = None;
    let mut name = None;
    let mut flowtable = RawNftFlowtable::default();
    for (kind, value) in attrs(reply.attrs) {
        match kind {
            NFTA_FLOWTABLE_TABLE => table = Some(bytes(value)),
            NFTA_FLOWTABLE_NAME => name = Some(bytes(value)),
            NFTA_FLOWTABLE_HOOK => hook(value, &mut flowtable),
            NFTA_FLOWTABLE_USE => flowtable.uses = be32(value),
            NFTA_FLOWTABLE_HANDLE => flowtable.handle = be64(value).unwrap_or(0),
            NFTA_FLOWTABLE_FLAGS => flowtable.flags = be32(value).unwrap_or(0),
            _ => {}
        }
    }
    let (table, name) = (table?, name?);
    flowtable.name = Name::from_bytes(name);
    Some((table.to_vec(), flowtable))
}

fn hook(nest: &[u8], flowtable: &mut RawNftFlowtable) {
    for (kind, value) in attrs(nest) {
        match kind {
            NFTA_FLOWTABLE_HOOK_NUM => flowtable.hook = be32(value),
            NFTA_FLOWTABLE_HOOK_PRIORITY => flowtable.priority = be32(value).map(|p| p as i32),
            NFTA_FLOWTABLE_HOOK_DEVS => {
                for (k, v) in attrs(value) {
                    match k {
                        NFTA_DEVICE_NAME => flowtable.devices.push(Name::from_bytes(bytes(v))),
                        NFTA_DEVICE_PREFIX => {
                            let mut wild = bytes(v).to_vec();
                            wild.push(b'*');
                            flowtable.devices.push(Name::from_bytes(&wild));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::sys::netfilter::captures::{reply, unhex};
    use crate::sys::netfilter::socket::NFT_MSG_NEWFLOWTABLE;

    /// An NFT_MSG_NEWFLOWTABLE payload (after nlmsghdr) for
    /// `nft add flowtable inet t ft '{ hook ingress priority -10; devices =
    /// { v0, v1 }; counter; }'`. Not recorded: the Linux 6.18 these tests
    /// were written on is built without CONFIG_NF_FLOW_TABLE, so it refuses
    /// every flowtable (ENOENT, no flowtable type). Laid out byte for byte
    /// as nf_tables_fill_flowtable_info writes it on x86-64: nfgenmsg
    /// { inet, 0, res_id 3 }, TABLE "t", NAME "ft", HANDLE be64 1 (no pad
    /// attribute where unaligned access is cheap), USE 0, FLAGS 2
    /// (counter), HOOK { NUM 0, PRIORITY -10, DEVS { NAME "v0", NAME "v1" } }.
    pub const FLOWTABLE_FT: &str = "01000003060001007400000007000200667400000c000500000000000000\
        00010800040000000000080007000000000228000300080001000000000008000200fffffff6140003000700\
        0100763000000700010076310000";

    #[test]
    fn a_flowtable_with_two_devices() {
        let payload = unhex(FLOWTABLE_FT);
        let (table, ft) = parse(&reply(NFT_MSG_NEWFLOWTABLE, &payload)).expect("parses");
        assert_eq!(table, b"t");
        assert_eq!(
            (ft.name.as_str(), ft.handle, ft.hook, ft.priority),
            ("ft", 1, Some(0), Some(-10))
        );
        let devices: Vec<&str> = ft.devices.iter().map(Name::as_str).collect();
        assert_eq!(devices, ["v0", "v1"]);
        assert_eq!((ft.flags, ft.uses), (2, Some(0)));
    }

    #[test]
    fn names_are_bytes_not_utf8() {
        // NAME "f\xff", HOOK { DEVS { NAME "v\xfe", PREFIX "px" } } of table "t".
        let attrs = [
            6, 0, 1, 0, b't', 0, 0, 0, 7, 0, 2, 0, b'f', 0xff, 0, 0, 24, 0, 3, 0, 20, 0, 3, 0, 7,
            0, 1, 0, b'v', 0xfe, 0, 0, 7, 0, 2, 0, b'p', b'x', 0, 0,
        ];
        let r = Reply {
            msg: NFT_MSG_NEWFLOWTABLE,
            family: 5,
            res_id: 0,
            attrs: &attrs,
        };
        let (_, ft) = parse(&r).expect("parses");
        assert_eq!(ft.name, Name::from_bytes(b"f\xff"));
        assert_eq!(
            ft.devices,
            [Name::from_bytes(b"v\xfe"), Name::from_bytes(b"px*")]
        );
    }

    #[test]
    fn cut_messages_never_panic() {
        let payload = unhex(FLOWTABLE_FT);
        for cut in 4..payload.len() {
            let parsed = parse(&reply(NFT_MSG_NEWFLOWTABLE, &payload[..cut]));
            if let Some((_, ft)) = parsed {
                assert!(ft.devices.len() <= 2);
            }
        }
        assert!(parse(&reply(NFT_MSG_NEWFLOWTABLE, &payload[..12])).is_none());
    }
}
