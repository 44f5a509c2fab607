//! RTM_NEWLINK payloads → [`RawLink`], reading only the attributes nsmap
//! uses (if_link.h numbers). Unknown or malformed attributes are skipped,
//! never fatal: a link with an odd attribute is still a link.

use netlink_packet_core::{NLA_ALIGNTO, NLA_HEADER_SIZE, NLA_TYPE_MASK};

use crate::name::Name;
use crate::raw::RawLink;

/// `struct ifinfomsg` is 16 bytes: family, pad, type, index, flags, change.
const IFINFOMSG_LEN: usize = 16;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_LINK_NETNSID: u16 = 37;

const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_INFO_SLAVE_KIND: u16 = 4;
const IFLA_INFO_SLAVE_DATA: u16 = 5;

const IFLA_VXLAN_LINK: u16 = 3;
const IFLA_BRPORT_STATE: u16 = 1;

/// Parses one RTM_NEWLINK payload; None when the fixed header is cut short.
pub fn parse(payload: &[u8]) -> Option<RawLink> {
    let header = payload.get(..IFINFOMSG_LEN)?;
    let mut link = RawLink {
        ifindex: read_u32(&header[4..8])?,
        flags: read_u32(&header[8..12])?,
        ..RawLink::default()
    };
    let mut info_data: Option<&[u8]> = None;
    let mut slave_data: Option<&[u8]> = None;
    for (kind, value) in attrs(&payload[IFINFOMSG_LEN..]) {
        match kind {
            IFLA_IFNAME => link.ifname = Name::from_bytes(trim_nul(value)),
            IFLA_ADDRESS => link.address = Some(value.to_vec()),
            IFLA_MTU => link.mtu = read_u32(value).unwrap_or(0),
            IFLA_LINK => link.link = read_u32(value),
            IFLA_MASTER => link.master = read_u32(value),
            IFLA_OPERSTATE => link.operstate = value.first().copied().unwrap_or(0),
            IFLA_LINK_NETNSID => link.link_netnsid = read_i32(value),
            IFLA_LINKINFO => {
                for (info, v) in attrs(value) {
                    match info {
                        IFLA_INFO_KIND => link.kind = Some(text(v)),
                        IFLA_INFO_SLAVE_KIND => link.slave_kind = Some(text(v)),
                        IFLA_INFO_DATA => info_data = Some(v),
                        IFLA_INFO_SLAVE_DATA => slave_data = Some(v),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // Kind-specific data is only meaningful once the kind is known.
    if link.kind.as_deref() == Some("vxlan") {
        link.vxlan_link = info_data
            .and_then(|d| attr(d, IFLA_VXLAN_LINK))
            .and_then(read_u32);
    }
    if link.slave_kind.as_deref() == Some("bridge") {
        link.port_state = slave_data
            .and_then(|d| attr(d, IFLA_BRPORT_STATE))
            .and_then(|v| v.first().copied());
    }
    Some(link)
}

/// Iterates (type, value) of attributes, flags masked off; stops at the
/// first malformed one (a length that overruns the buffer).
pub fn attrs(bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let header = rest.get(..NLA_HEADER_SIZE)?;
        let len = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        let kind = u16::from_ne_bytes([header[2], header[3]]) & NLA_TYPE_MASK;
        let value = rest.get(NLA_HEADER_SIZE..len)?;
        rest = rest
            .get(len.next_multiple_of(NLA_ALIGNTO)..)
            .unwrap_or_default();
        Some((kind, value))
    })
}

/// The value of the first attribute of type `kind`.
pub fn attr(bytes: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(bytes).find(|(k, _)| *k == kind).map(|(_, v)| v)
}

pub fn read_u32(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

pub fn read_i32(v: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

fn trim_nul(v: &[u8]) -> &[u8] {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    &v[..end]
}

/// Kind strings come from kernel drivers; lossy is fine for them.
fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(trim_nul(v)).into_owned()
}
