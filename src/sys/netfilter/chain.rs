//! NFT_MSG_NEWCHAIN replies → [`RawNftChain`]. A base chain carries
//! `NFTA_CHAIN_HOOK { HOOKNUM, PRIORITY, DEV | DEVS }`, its policy and its
//! type; a regular chain only its name and handle. Attribute numbers: enum
//! nft_chain_attributes, nft_hook_attributes, nft_devices_attributes.

use super::attr::{attrs, be32, be64, bytes};
use super::socket::Reply;
use crate::name::Name;
use crate::raw::l3::RawNftChain;

const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_HANDLE: u16 = 2;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_CHAIN_FLAGS: u16 = 10;

const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_HOOK_DEV: u16 = 3;
const NFTA_HOOK_DEVS: u16 = 4;

const NFTA_DEVICE_NAME: u16 = 1;
/// `NFTA_DEVICE_PREFIX` (newer kernels): a wildcard hook on every device
/// whose name starts with the value, which `nft` writes `name*`.
const NFTA_DEVICE_PREFIX: u16 = 2;

/// `NFT_CHAIN_BINDING` (enum nft_chain_flags): an anonymous chain bound to
/// one rule (`jump { … }`); `nft` prints it inline in that rule, never as
/// a chain of its own.
pub const NFT_CHAIN_BINDING: u32 = 1 << 2;

/// A chain and the bytes of its table's name. None without a table or name.
pub fn parse(reply: &Reply<'_>) -> Option<(Vec<u8>, Vec<u8>, RawNftChain)> {
    let mut table = None;
    let mut name = None;
    let mut chain = RawNftChain::default();
    for (kind, value) in attrs(reply.attrs) {
        match kind {
            NFTA_CHAIN_TABLE => table = Some(bytes(value)),
            NFTA_CHAIN_NAME => name = Some(bytes(value)),
            NFTA_CHAIN_HANDLE => chain.handle = be64(value).unwrap_or(0),
            NFTA_CHAIN_HOOK => hook(value, &mut chain),
            NFTA_CHAIN_POLICY => chain.policy = be32(value),
            NFTA_CHAIN_TYPE => chain.kind = Some(String::from_utf8_lossy(bytes(value)).into()),
            NFTA_CHAIN_FLAGS => chain.flags = be32(value).unwrap_or(0),
            _ => {}
        }
    }
    let (table, name) = (table?, name?);
    chain.name = Name::from_bytes(name);
    Some((table.to_vec(), name.to_vec(), chain))
}

/// The hook nest. nft_dump_basechain_hook sends a netdev-style hook's
/// devices as `NFTA_HOOK_DEVS` and, when there is exactly one, the same
/// name again as the older `NFTA_HOOK_DEV`: the list wins, the single
/// name is only used by kernels that send nothing else.
fn hook(nest: &[u8], chain: &mut RawNftChain) {
    let mut single = None;
    let mut listed = false;
    for (kind, value) in attrs(nest) {
        match kind {
            NFTA_HOOK_HOOKNUM => chain.hook = be32(value),
            NFTA_HOOK_PRIORITY => chain.priority = be32(value).map(|p| p as i32),
            NFTA_HOOK_DEV => single = Some(Name::from_bytes(bytes(value))),
            NFTA_HOOK_DEVS => {
                listed = true;
                for (k, v) in attrs(value) {
                    match k {
                        NFTA_DEVICE_NAME => chain.devices.push(Name::from_bytes(bytes(v))),
                        NFTA_DEVICE_PREFIX => {
                            let mut wild = bytes(v).to_vec();
                            wild.push(b'*');
                            chain.devices.push(Name::from_bytes(&wild));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !listed {
        chain.devices.extend(single);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netfilter::captures::*;
    use crate::sys::netfilter::socket::NFT_MSG_NEWCHAIN;

    fn chain(hex: &str) -> (Vec<u8>, Vec<u8>, RawNftChain) {
        let payload = unhex(hex);
        parse(&reply(NFT_MSG_NEWCHAIN, &payload)).expect("parses")
    }

    #[test]
    fn a_base_chain_has_hook_priority_policy_and_type() {
        let (table, name, c) = chain(CHAIN_INPUT);
        assert_eq!(
            (table.as_slice(), name.as_slice()),
            (&b"filter"[..], &b"input"[..])
        );
        assert_eq!(c.name.as_str(), "input");
        assert_eq!(c.handle, 1);
        assert_eq!((c.hook, c.priority, c.policy), (Some(1), Some(0), Some(0)));
        assert_eq!(c.kind.as_deref(), Some("filter"));
        assert_eq!(c.flags, 1, "NFT_CHAIN_BASE");
        assert!(c.devices.is_empty());
    }

    #[test]
    fn a_regular_chain_has_none_of_them() {
        let (_, _, c) = chain(CHAIN_COMMON);
        assert_eq!((c.name.as_str(), c.handle), ("common", 2));
        assert_eq!(
            (c.hook, c.priority, c.policy, c.kind),
            (None, None, None, None)
        );
        let (_, _, c) = chain(CHAIN_BINDING);
        assert_eq!(c.name.as_str(), "__chain2");
        assert_eq!(c.flags & NFT_CHAIN_BINDING, NFT_CHAIN_BINDING);
    }

    #[test]
    fn a_netdev_device_is_listed_once() {
        // DEVS { "v0" } and DEV "v0" name the same single device.
        let (table, _, c) = chain(CHAIN_NETDEV_INGRESS);
        assert_eq!(table, b"ing");
        assert_eq!(
            (c.hook, c.priority, c.policy),
            (Some(0), Some(-500), Some(1))
        );
        assert_eq!(c.devices, vec![Name::from("v0")]);
    }

    #[test]
    fn device_prefixes_get_their_asterisk_and_dev_alone_counts() {
        let nla = |kind: u16, value: &[u8]| {
            let mut out = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
            out.extend(kind.to_ne_bytes());
            out.extend(value);
            out.resize(out.len().next_multiple_of(4), 0);
            out
        };
        let mut devs = nla(NFTA_DEVICE_NAME, b"v0\0");
        devs.extend(nla(NFTA_DEVICE_PREFIX, b"eth\0"));
        let mut c = RawNftChain::default();
        hook(&nla(NFTA_HOOK_DEVS, &devs), &mut c);
        assert_eq!(c.devices, vec![Name::from("v0"), Name::from("eth*")]);
        let mut c = RawNftChain::default();
        hook(&nla(NFTA_HOOK_DEV, b"v1\0"), &mut c);
        assert_eq!(c.devices, vec![Name::from("v1")]);
    }
}
