//! RTM_GETNETCONF requests and RTM_NEWNETCONF answers → [`RawNetconf`]
//! (netconf.h numbers).
//!
//! netlink-packet-route 0.34 has no netconf types (its RTM_*NETCONF
//! constants are commented out), so requests are built by hand and answers
//! walked with nsmap's own attribute helpers. `struct netconfmsg` is one
//! byte, but attributes start at its NLMSG_ALIGN'ed size (4), on the way in
//! (nlmsg_parse in inet_netconf_get_devconf) and out.

use super::link::{attrs, read_i32};
use crate::raw::l3::RawNetconf;

/// `struct netconfmsg` (the family), padded to NLMSG_ALIGNTO.
const NETCONFMSG_LEN: usize = 4;
const NETCONFA_IFINDEX: u16 = 1;
const NETCONFA_FORWARDING: u16 = 2;
const NETCONFA_RP_FILTER: u16 = 3;
const NETCONFA_MC_FORWARDING: u16 = 4;
const NETCONFA_PROXY_NEIGH: u16 = 5;
const NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN: u16 = 6;

/// NETCONFA_IFINDEX of the namespace-wide entries.
pub const IFINDEX_ALL: i32 = -1;
pub const IFINDEX_DEFAULT: i32 = -2;

/// The payload of an RTM_GETNETCONF request (a GET, not a dump) for one
/// entry of one family.
pub fn request(family: u8, ifindex: i32) -> Vec<u8> {
    let mut p = vec![family, 0, 0, 0];
    p.extend(8u16.to_ne_bytes());
    p.extend(NETCONFA_IFINDEX.to_ne_bytes());
    p.extend(ifindex.to_ne_bytes());
    p
}

/// Parses one RTM_NEWNETCONF payload; None when it is cut short or names
/// no ifindex.
pub fn parse(payload: &[u8]) -> Option<RawNetconf> {
    let family = *payload.first()?;
    let mut conf = RawNetconf {
        family,
        ..RawNetconf::default()
    };
    let mut ifindex = None;
    for (kind, v) in attrs(payload.get(NETCONFMSG_LEN..)?) {
        let value = read_i32(v);
        match kind {
            NETCONFA_IFINDEX => ifindex = value,
            NETCONFA_FORWARDING => conf.forwarding = value,
            NETCONFA_RP_FILTER => conf.rp_filter = value,
            NETCONFA_MC_FORWARDING => conf.mc_forwarding = value,
            NETCONFA_PROXY_NEIGH => conf.proxy_neigh = value,
            NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN => conf.ignore_routes_with_linkdown = value,
            _ => {}
        }
    }
    conf.ifindex = ifindex?;
    Some(conf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netlink::link::unhex;

    /// RTM_NEWNETCONF answering RTM_GETNETCONF { AF_INET, ifindex -1 } on
    /// Linux 6.18 after
    ///   sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.all.proxy_arp=1
    /// (forwarding 1 inherited from the initial namespace):
    /// NETCONFA_IFINDEX -1, FORWARDING 1, RP_FILTER 2, MC_FORWARDING 0,
    /// BC_FORWARDING 0 (not read), PROXY_NEIGH 1,
    /// IGNORE_ROUTES_WITH_LINKDOWN 0.
    const ALL4: &[&str] = &[
        "0200000008000100ffffffff080002000100000008000300020000000800040000000000080008000000000008000500",
        "010000000800060000000000",
    ];

    /// The same for { AF_INET6, ifindex -2 } after
    ///   sysctl -w net.ipv6.conf.all.forwarding=1
    /// (which sets `default` too): FORWARDING 1, PROXY_NEIGH 0,
    /// IGNORE_ROUTES_WITH_LINKDOWN 0; no RP_FILTER for IPv6.
    const DEFAULT6: &[&str] =
        &["0a00000008000100feffffff080002000100000008000500000000000800060000000000"];

    #[test]
    fn all_and_default_entries() {
        let a = parse(&unhex(ALL4)).expect("parses");
        assert_eq!((a.family, a.ifindex), (2, IFINDEX_ALL));
        assert_eq!(
            (a.forwarding, a.rp_filter, a.mc_forwarding, a.proxy_neigh),
            (Some(1), Some(2), Some(0), Some(1))
        );
        assert_eq!(a.ignore_routes_with_linkdown, Some(0));
        let d = parse(&unhex(DEFAULT6)).expect("parses");
        assert_eq!(
            (d.family, d.ifindex, d.forwarding, d.rp_filter),
            (10, IFINDEX_DEFAULT, Some(1), None)
        );
    }

    #[test]
    fn the_request_is_a_padded_netconfmsg_and_an_ifindex() {
        // What iproute2 sends for `ip -6 netconf show dev default`, minus the header.
        assert_eq!(
            request(10, IFINDEX_DEFAULT),
            unhex(&["0a00000008000100feffffff"])
        );
    }

    #[test]
    fn cut_answers_never_panic_and_need_an_ifindex() {
        let bytes = unhex(ALL4);
        for cut in 0..bytes.len() {
            let _ = parse(&bytes[..cut]);
        }
        assert_eq!(parse(&bytes[..4]), None);
    }

    proptest::proptest! {
        #[test]
        fn any_payload_parses_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse(&bytes);
        }
    }
}
