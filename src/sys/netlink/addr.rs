//! RTM_NEWADDR payloads → [`RawAddr`] (if_addr.h numbers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::link::{attrs, read_u32};
use crate::raw::RawAddr;

/// `struct ifaddrmsg` is 8 bytes: family, prefixlen, flags, scope, index.
const IFADDRMSG_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;

/// Parses one RTM_NEWADDR payload. IFA_LOCAL is the interface's own address
/// on point-to-point links (where IFA_ADDRESS is the far end), so it wins.
pub fn parse(payload: &[u8]) -> Option<RawAddr> {
    let header = payload.get(..IFADDRMSG_LEN)?;
    let family = i32::from(header[0]);
    let prefix_len = header[1];
    let ifindex = read_u32(&header[4..8])?;
    let mut address = None;
    let mut local = None;
    for (kind, value) in attrs(&payload[IFADDRMSG_LEN..]) {
        let ip = match (family, value.len()) {
            (libc::AF_INET, 4) => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?)),
            (libc::AF_INET6, 16) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(value).ok()?)),
            _ => continue,
        };
        match kind {
            IFA_ADDRESS => address = Some(ip),
            IFA_LOCAL => local = Some(ip),
            _ => {}
        }
    }
    Some(RawAddr {
        ifindex,
        address: local.or(address)?,
        prefix_len,
        scope: 0,
        flags: 0,
        peer: None,
    })
}
