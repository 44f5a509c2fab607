//! iptables-nft's compatibility matches and targets the model can decide:
//! `addrtype` (`-m addrtype --dst-type LOCAL`, which Docker and podman's
//! netavark put in front of their port forwards), read from the
//! xt_addrtype info blob as net/netfilter/xt_addrtype.c does, and the NAT
//! targets (`-j DNAT --to-destination`, SNAT, MASQUERADE, REDIRECT), read
//! from their nf_nat ranges as xt_nat.c does.

use std::net::IpAddr;

use super::{Env, NatKind, Packet};

/// XT_ADDRTYPE_* flags of `struct xt_addrtype_info_v1`.
const INVERT_SOURCE: u32 = 0x1;
const INVERT_DEST: u32 = 0x2;
const LIMIT_IFACE_IN: u32 = 0x4;
const LIMIT_IFACE_OUT: u32 = 0x8;

/// Whether the `addrtype` match of revision `rev` with `info` matches;
/// None where the blob is not one nsmap reads or an address's type is
/// not known. The type masks are `1 << RTN_*` (XT_ADDRTYPE_UNSPEC is
/// bit 0, UNICAST bit 1, LOCAL bit 2, …).
pub(super) fn addrtype(pkt: &Packet, env: &dyn Env, rev: u32, info: &[u8]) -> Option<bool> {
    let u16_at = |at: usize| Some(u16::from_ne_bytes(info.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_ne_bytes(info.get(at..at + 4)?.try_into().ok()?));
    let (source, dest) = (u16_at(0)?, u16_at(2)?);
    let (invert_source, invert_dest, dev) = match rev {
        // struct xt_addrtype_info: u16 source, dest; u32 invert_source,
        // invert_dest.
        0 => (u32_at(4)? != 0, u32_at(8)? != 0, None),
        // struct xt_addrtype_info_v1: u16 source, dest; u32 flags.
        1 => {
            let flags = u32_at(4)?;
            let dev = if flags & LIMIT_IFACE_IN != 0 {
                Some(pkt.iif.as_ref()?.ifindex)
            } else if flags & LIMIT_IFACE_OUT != 0 {
                Some(pkt.oif.as_ref()?.ifindex)
            } else {
                None
            };
            (flags & INVERT_SOURCE != 0, flags & INVERT_DEST != 0, dev)
        }
        _ => return None,
    };
    let is = |addr, mask: u16| -> Option<bool> {
        let t = env.addrtype(addr, dev)? as u32;
        Some(t < 16 && mask & (1 << t) != 0)
    };
    if source != 0 && is(pkt.src, source)? == invert_source {
        return Some(false);
    }
    if dest != 0 && is(pkt.dst, dest)? == invert_dest {
        return Some(false);
    }
    Some(true)
}

/// What a NAT target asks for: the kind, the address (None: the device's)
/// and the port range.
pub(super) type NatAsked = (NatKind, Option<IpAddr>, Option<(u16, u16)>);

/// NF_NAT_RANGE_MAP_IPS, NF_NAT_RANGE_PROTO_SPECIFIED.
const MAP_IPS: u32 = 0x1;
const PROTO_SPECIFIED: u32 = 0x2;

/// The translation an iptables-nft NAT target asks for: `DNAT`/`SNAT`
/// (revision 0: `nf_nat_ipv4_multi_range_compat`; 1: `nf_nat_range`; 2:
/// `nf_nat_range2`), `MASQUERADE` and `REDIRECT` (ports only). None for a
/// blob nsmap does not read. Addresses and ports are network order in
/// the blob, the flags host order.
pub(super) fn nat_target(name: &str, rev: u32, info: &[u8], v6: bool) -> Option<NatAsked> {
    let kind = match name {
        "DNAT" => NatKind::Dnat,
        "SNAT" => NatKind::Snat,
        "MASQUERADE" => NatKind::Masquerade,
        "REDIRECT" => NatKind::Redirect,
        _ => return None,
    };
    let u32_at = |at: usize| Some(u32::from_ne_bytes(info.get(at..at + 4)?.try_into().ok()?));
    let port_at = |at: usize| Some(u16::from_be_bytes(info.get(at..at + 2)?.try_into().ok()?));
    // (flags, min address, max address, min port, max port)
    let (flags, min, max, pmin, pmax) = match (kind, rev) {
        // IPv4 compat layout: rangesize, then one range {flags, min_ip,
        // max_ip, min, max}; the only one MASQUERADE and REDIRECT use for
        // IPv4.
        (_, 0) if !v6 => {
            let ip = |at: usize| -> Option<IpAddr> {
                Some(IpAddr::from(
                    <[u8; 4]>::try_from(info.get(at..at + 4)?).ok()?,
                ))
            };
            (u32_at(4)?, ip(8)?, ip(12)?, port_at(16)?, port_at(18)?)
        }
        // nf_nat_range(2): flags, min_addr, max_addr (16 bytes each),
        // min_proto, max_proto (, base_proto).
        (NatKind::Dnat | NatKind::Snat, 1 | 2) | (_, 0) => {
            let addr = |at: usize| -> Option<IpAddr> {
                let b = info.get(at..at + 16)?;
                Some(if v6 {
                    IpAddr::from(<[u8; 16]>::try_from(b).ok()?)
                } else {
                    IpAddr::from(<[u8; 4]>::try_from(b.get(..4)?).ok()?)
                })
            };
            (u32_at(0)?, addr(4)?, addr(20)?, port_at(36)?, port_at(38)?)
        }
        _ => return None,
    };
    let addr = match kind {
        NatKind::Dnat | NatKind::Snat if flags & MAP_IPS != 0 => {
            // A range of addresses is the kernel's choice per connection.
            if min != max {
                return None;
            }
            Some(min)
        }
        _ => None,
    };
    let port = (flags & PROTO_SPECIFIED != 0).then_some((pmin, pmax));
    Some((kind, addr, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::nft::{AddrType, NoEnv};

    struct LocalIs(IpAddr);

    impl Env for LocalIs {
        fn addrtype(&self, addr: IpAddr, _: Option<u32>) -> Option<AddrType> {
            Some(if addr == self.0 {
                AddrType::Local
            } else {
                AddrType::Unicast
            })
        }
    }

    fn v1(source: u16, dest: u16, flags: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(source.to_ne_bytes());
        b.extend(dest.to_ne_bytes());
        b.extend(flags.to_ne_bytes());
        b
    }

    #[test]
    fn addrtype_dst_local_as_xt_addrtype_matches_it() {
        let pkt = crate::path::nft::tests::tcp("10.0.0.2", "10.0.0.1", 80);
        let local = LocalIs("10.0.0.1".parse().expect("addr"));
        const LOCAL: u16 = 1 << 2;
        assert_eq!(addrtype(&pkt, &local, 1, &v1(0, LOCAL, 0)), Some(true));
        assert_eq!(
            addrtype(&pkt, &local, 1, &v1(0, LOCAL, INVERT_DEST)),
            Some(false)
        );
        // The source is unicast, not local.
        assert_eq!(addrtype(&pkt, &local, 1, &v1(LOCAL, 0, 0)), Some(false));
        // Without an answer, nothing is guessed.
        assert_eq!(addrtype(&pkt, &NoEnv, 1, &v1(0, LOCAL, 0)), None);
        assert_eq!(addrtype(&pkt, &local, 1, &[0, 1]), None);
        assert_eq!(addrtype(&pkt, &local, 7, &v1(0, LOCAL, 0)), None);
    }

    #[test]
    fn nat_ranges_give_the_address_and_port() {
        // nf_nat_range2 for `-j DNAT --to-destination 10.88.0.6:80`.
        let mut r = Vec::new();
        r.extend((MAP_IPS | PROTO_SPECIFIED).to_ne_bytes());
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&[10, 88, 0, 6]);
        r.extend(addr);
        r.extend(addr);
        r.extend(80u16.to_be_bytes());
        r.extend(80u16.to_be_bytes());
        r.extend(0u16.to_be_bytes());
        let want = "10.88.0.6".parse::<IpAddr>().ok();
        assert_eq!(
            nat_target("DNAT", 2, &r, false),
            Some((NatKind::Dnat, want, Some((80, 80))))
        );
        // A range of addresses is not one answer.
        let mut wide = r.clone();
        wide[20 + 3] = 9;
        assert_eq!(nat_target("DNAT", 2, &wide, false), None);
        // MASQUERADE (IPv4 compat range, no ports): the device's address.
        let mut m = Vec::new();
        m.extend(1u32.to_ne_bytes());
        m.extend([0u8; 16]);
        assert_eq!(
            nat_target("MASQUERADE", 0, &m, false),
            Some((NatKind::Masquerade, None, None))
        );
        assert_eq!(nat_target("MARK", 0, &m, false), None);
        assert_eq!(nat_target("DNAT", 2, &r[..10], false), None);
    }
}
