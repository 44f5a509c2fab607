//! Reading the snapshot's `address/prefix` strings for the address checks:
//! IPv4 networks, and which addresses count as "configured".
//!
//! IPv6 link-local addresses (`fe80::/10`) do not count as an address: the
//! kernel gives one to every interface that comes up, so counting them
//! would make "no addresses" never fire. IPv4 link-local (`169.254/16`)
//! does count: someone (or avahi/zeroconf) chose it.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::snapshot::Interface;

/// An IPv4 address with its prefix length, as `ip addr` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Net {
    /// Parses `10.0.0.2/24`; None for IPv6 or anything unexpected.
    pub fn parse(text: &str) -> Option<Ipv4Net> {
        let (addr, prefix) = text.split_once('/')?;
        let prefix: u8 = prefix.parse().ok()?;
        (prefix <= 32).then_some(Ipv4Net {
            addr: addr.parse().ok()?,
            prefix,
        })
    }

    fn mask(self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    /// The network address (`10.0.0.0` for `10.0.0.2/24`).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// Whether `other` lies in this address's subnet.
    pub fn contains(self, other: Ipv4Addr) -> bool {
        u32::from(other) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// `10.0.0.0/24`.
    pub fn subnet(self) -> String {
        format!("{}/{}", self.network(), self.prefix)
    }
}

/// The interface's IPv4 addresses.
pub fn ipv4(iface: &Interface) -> Vec<Ipv4Net> {
    iface
        .addresses
        .iter()
        .filter_map(|a| Ipv4Net::parse(a))
        .collect()
}

/// Whether an `address/prefix` string is an IPv6 link-local address.
pub fn is_ipv6_link_local(text: &str) -> bool {
    let addr = text.split_once('/').map_or(text, |(a, _)| a);
    addr.parse::<Ipv6Addr>()
        .is_ok_and(|a| a.segments()[0] & 0xffc0 == 0xfe80)
}

/// Whether the interface has an address someone configured (anything but
/// IPv6 link-local; an unparsable string counts, to stay quiet when unsure).
pub fn has_configured_address(iface: &Interface) -> bool {
    iface.addresses.iter().any(|a| !is_ipv6_link_local(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_computes_subnets() {
        let a = Ipv4Net::parse("10.88.0.2/16").expect("v4");
        assert_eq!(a.subnet(), "10.88.0.0/16");
        assert!(a.contains("10.88.255.1".parse().expect("addr")));
        assert!(!a.contains("10.89.0.1".parse().expect("addr")));
        assert_eq!(Ipv4Net::parse("fe80::1/64"), None);
        assert_eq!(Ipv4Net::parse("10.0.0.1/33"), None);
        assert_eq!(Ipv4Net::parse("10.0.0.1"), None);
        let host = Ipv4Net::parse("192.0.2.7/32").expect("v4");
        assert_eq!(host.subnet(), "192.0.2.7/32");
        let any = Ipv4Net::parse("192.0.2.7/0").expect("v4");
        assert!(any.contains("8.8.8.8".parse().expect("addr")));
    }

    #[test]
    fn link_local_ipv6_is_not_a_configured_address() {
        assert!(is_ipv6_link_local("fe80::c020:24ff:fe32:27ca/64"));
        assert!(is_ipv6_link_local("febf::1/64"));
        assert!(!is_ipv6_link_local("fec0::1/64"));
        assert!(!is_ipv6_link_local("fd00::2/64"));
        assert!(!is_ipv6_link_local("169.254.1.1/16"));
        let mut i = Interface {
            addresses: vec!["fe80::1/64".into()],
            ..Interface::default()
        };
        assert!(!has_configured_address(&i));
        i.addresses.push("169.254.3.4/16".into());
        assert!(has_configured_address(&i));
    }
}
