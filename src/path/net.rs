//! Addresses and prefixes as the routing code compares them: a [`Prefix`]
//! parsed once from the snapshot's CIDR text, and the address classes the
//! kernel treats specially (martians, loopback, link-local).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::snapshot::l3::Family;

/// An address with a prefix length (`10.0.0.0/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// Parses `addr/len` (or a bare address, as a host prefix).
    pub fn parse(text: &str) -> Option<Prefix> {
        let (addr, len) = match text.split_once('/') {
            Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u8>().ok()?),
            None => {
                let a = text.parse::<IpAddr>().ok()?;
                (a, Family::of(a).bits())
            }
        };
        (len <= Family::of(addr).bits()).then_some(Prefix { addr, len })
    }

    pub fn family(&self) -> Family {
        Family::of(self.addr)
    }

    /// Whether `addr` lies in this prefix (never across families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(p), IpAddr::V4(a)) => {
                let mask = mask32(self.len);
                u32::from(p) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(p), IpAddr::V6(a)) => {
                let mask = mask128(self.len);
                u128::from(p) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn mask32(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// How many leading bits two addresses share (RFC 6724 rule 8).
pub fn common_prefix_len(a: IpAddr, b: IpAddr) -> u8 {
    match (a, b) {
        (IpAddr::V4(x), IpAddr::V4(y)) => (u32::from(x) ^ u32::from(y)).leading_zeros() as u8,
        (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x) ^ u128::from(y)).leading_zeros() as u8,
        _ => 0,
    }
}

pub fn is_loopback(addr: IpAddr) -> bool {
    addr.is_loopback()
}

/// 0.0.0.0/8 (and `::`).
pub fn is_zeronet(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.octets()[0] == 0,
        IpAddr::V6(a) => a.is_unspecified(),
    }
}

pub fn is_multicast(addr: IpAddr) -> bool {
    addr.is_multicast()
}

pub fn is_limited_broadcast(addr: IpAddr) -> bool {
    addr == IpAddr::V4(Ipv4Addr::BROADCAST)
}

/// fe80::/10: needs an interface to mean anything.
/// The solicited-node multicast group NDP asks `target` on
/// (ff02::1:ffXX:XXXX, RFC 4291 2.7.1); an IPv4 target is its own (ARP
/// carries no IP header).
pub fn solicited_node(target: IpAddr) -> IpAddr {
    match target {
        IpAddr::V4(_) => target,
        IpAddr::V6(v6) => {
            let o = v6.octets();
            IpAddr::V6(std::net::Ipv6Addr::new(
                0xff02,
                0,
                0,
                0,
                0,
                1,
                0xff00 | u16::from(o[13]),
                u16::from_be_bytes([o[14], o[15]]),
            ))
        }
    }
}

pub fn is_ipv6_link_local(addr: IpAddr) -> bool {
    matches!(addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
}

/// RFC 6724 scope of an IPv6 address, in the kernel's ordering (smaller is
/// narrower: interface-local 1, link-local 2, site 5, global 14).
pub fn ipv6_scope(addr: Ipv6Addr) -> u8 {
    if addr.is_multicast() {
        return addr.segments()[0] as u8 & 0x0f;
    }
    if addr.is_loopback() {
        return 1;
    }
    let seg = addr.segments()[0];
    if seg & 0xffc0 == 0xfe80 {
        2
    } else if seg & 0xffc0 == 0xfec0 {
        5
    } else {
        14
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        Prefix::parse(s).expect("prefix")
    }

    fn a(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn prefixes_contain_what_they_cover() {
        assert!(p("10.0.0.0/24").contains(a("10.0.0.255")));
        assert!(!p("10.0.0.0/24").contains(a("10.0.1.0")));
        assert!(p("0.0.0.0/0").contains(a("192.0.2.1")));
        assert!(!p("0.0.0.0/0").contains(a("::1")));
        assert!(p("fd00::/8").contains(a("fd12::1")));
        assert!(p("::/0").contains(a("2001:db8::1")));
        assert!(p("10.0.0.1").contains(a("10.0.0.1")));
        assert_eq!(p("10.0.0.1").len, 32);
        assert_eq!(Prefix::parse("10.0.0.0/33"), None);
        assert_eq!(Prefix::parse("nonsense"), None);
    }

    #[test]
    fn classes() {
        assert!(is_zeronet(a("0.1.2.3")));
        assert!(is_ipv6_link_local(a("fe80::1")));
        assert!(!is_ipv6_link_local(a("fd00::1")));
        assert_eq!(common_prefix_len(a("10.0.0.1"), a("10.0.0.3")), 30);
        assert_eq!(ipv6_scope("fe80::1".parse().expect("v6")), 2);
        assert_eq!(ipv6_scope("2001:db8::1".parse().expect("v6")), 14);
    }
}

#[cfg(test)]
mod solicited_tests {
    use super::*;

    #[test]
    fn solicited_node_groups_keep_the_low_24_bits() {
        let t: IpAddr = "fd00:1::abcd:1234:5678".parse().expect("addr");
        assert_eq!(
            solicited_node(t),
            "ff02::1:ff34:5678".parse::<IpAddr>().expect("group")
        );
        let v4: IpAddr = "10.0.0.1".parse().expect("addr");
        assert_eq!(solicited_node(v4), v4);
    }
}
