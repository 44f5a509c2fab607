//! RTM_NEWADDR payloads → [`RawAddr`] (if_addr.h numbers), and the
//! address decoding every layer-3 parser shares: an attribute holds an
//! address of the message's family, so a value of the wrong length is not
//! an address at all (skipped, never guessed at).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::link::{attrs, read_u32};
use crate::raw::RawAddr;

/// `struct ifaddrmsg` is 8 bytes: family, prefixlen, flags, scope, index.
const IFADDRMSG_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// u32 flags; the header's `ifa_flags` holds only their low 8 bits.
const IFA_FLAGS: u16 = 8;

pub const AF_INET: u8 = libc::AF_INET as u8;
pub const AF_INET6: u8 = libc::AF_INET6 as u8;

/// An address of `family` (AF_INET, AF_INET6); None for any other family or
/// a value of the wrong length.
pub fn ip(family: u8, value: &[u8]) -> Option<IpAddr> {
    match family {
        AF_INET => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?))),
        AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(value).ok()?,
        ))),
        _ => None,
    }
}

/// An address told apart by its length alone, for messages whose family
/// says nothing about it (AF_BRIDGE FDB entries carry a vxlan remote of
/// either family).
pub fn ip_by_len(value: &[u8]) -> Option<IpAddr> {
    match value.len() {
        4 => ip(AF_INET, value),
        16 => ip(AF_INET6, value),
        _ => None,
    }
}

/// Parses one RTM_NEWADDR payload. IFA_LOCAL is the interface's own address
/// on point-to-point links (where IFA_ADDRESS is the far end), so it wins,
/// and a differing IFA_ADDRESS is the peer.
pub fn parse(payload: &[u8]) -> Option<RawAddr> {
    let header = payload.get(..IFADDRMSG_LEN)?;
    let family = header[0];
    let prefix_len = header[1];
    let mut flags = u32::from(header[2]);
    let scope = header[3];
    let ifindex = read_u32(&header[4..8])?;
    let mut address = None;
    let mut local = None;
    for (kind, value) in attrs(&payload[IFADDRMSG_LEN..]) {
        match kind {
            IFA_ADDRESS => address = ip(family, value),
            IFA_LOCAL => local = ip(family, value),
            IFA_FLAGS => flags = read_u32(value).unwrap_or(flags),
            _ => {}
        }
    }
    let own = local.or(address)?;
    Some(RawAddr {
        ifindex,
        address: own,
        prefix_len,
        scope,
        flags,
        peer: address.filter(|&a| a != own),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::netlink::link::unhex;

    /// RTM_NEWADDR payload from Linux 6.18 after
    ///   ip -n a addr add 10.9.1.1 peer 10.9.1.2/32 dev veth1
    /// ifaddrmsg: AF_INET, /32, ifa_flags 0x80 (permanent), scope 0
    /// (global), ifindex 2; IFA_ADDRESS 10.9.1.2 (the peer), IFA_LOCAL
    /// 10.9.1.1, IFA_LABEL "veth1", IFA_FLAGS 0x80, IFA_CACHEINFO.
    const PEER: &[&str] = &[
        "0220800002000000080001000a090102080002000a0901010a0003007665746831000000080008008000000014000600",
        "ffffffffffffffff3ab809003ab80900",
    ];

    #[test]
    fn a_point_to_point_address_has_a_peer() {
        let a = parse(&unhex(PEER)).expect("parses");
        assert_eq!(a.address.to_string(), "10.9.1.1");
        assert_eq!(a.peer.map(|p| p.to_string()), Some("10.9.1.2".into()));
        assert_eq!(
            (a.ifindex, a.prefix_len, a.scope, a.flags),
            (2, 32, 0, 0x80)
        );
    }

    #[test]
    fn addresses_of_the_wrong_length_are_not_addresses() {
        assert_eq!(ip(AF_INET, &[1, 2, 3]), None);
        assert_eq!(ip(AF_INET6, &[0; 4]), None);
        assert_eq!(ip(7, &[0; 4]), None);
        assert_eq!(
            ip_by_len(&[10, 0, 0, 1]).map(|a| a.to_string()),
            Some("10.0.0.1".into())
        );
    }

    #[test]
    fn truncations_never_panic() {
        let bytes = unhex(PEER);
        for cut in 0..bytes.len() {
            let _ = parse(&bytes[..cut]);
        }
    }
}
