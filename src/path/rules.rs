//! The glue between the hooks a packet crosses ([`super::firewall`]) and
//! the nftables evaluator ([`super::nft`]): what a hook sees of the packet
//! ([`Seen`]) becomes the evaluator's [`Packet`], and the namespace's
//! routes answer `fib … type` ([`ViewEnv`]).

use std::net::IpAddr;

use super::firewall::{Hook, Seen};
use super::nft::{AddrType, Ct, CtDir, CtState, Dev, Env, Packet, PktType};
use super::view::NsView;
use crate::snapshot::Interface;
use crate::snapshot::l3::Family;

const IPPROTO_ICMP: u8 = 1;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_ICMPV6: u8 = 58;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;
/// ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE (a tun device).
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;

/// A device as meta expressions see it.
fn dev(iface: &Interface) -> Dev {
    let ll_type = if iface.flags.iter().any(|f| f == "LOOPBACK") {
        ARPHRD_LOOPBACK
    } else if iface.kind_is("tun") && iface.address.is_none() {
        ARPHRD_NONE
    } else {
        ARPHRD_ETHER
    };
    Dev {
        ifindex: iface.ifindex,
        name: iface.ifname.clone(),
        kind: iface.kind.clone(),
        ll_type,
    }
}

/// The evaluator's packet for what `hook` sees in `view`'s namespace;
/// `bridged` for the bridge family (ports as `iif`/`oif`, the bridge
/// above them). None where the packet has no source address yet.
pub fn packet(
    view: &NsView<'_>,
    seen: &Seen,
    hook: Hook,
    bridged: bool,
    priority: i32,
) -> Option<Packet> {
    let src = seen.src?;
    let device = |i: Option<u32>| i.and_then(|i| view.iface(i)).map(dev);
    let (iif, oif) = (device(seen.iif), device(seen.oif));
    let bridge = if bridged { device(seen.bridge) } else { None };
    let (bri_iif, bri_oif) = (
        bridge.clone().filter(|_| iif.is_some()),
        bridge.filter(|_| oif.is_some()),
    );
    let icmp = matches!(seen.proto, IPPROTO_ICMP | IPPROTO_ICMPV6);
    let icmp_type = match (seen.proto, seen.ndp, seen.reply) {
        (IPPROTO_ICMPV6, true, false) => Some(135),
        (IPPROTO_ICMPV6, true, true) => Some(136),
        (IPPROTO_ICMPV6, false, false) => Some(128),
        (IPPROTO_ICMPV6, false, true) => Some(129),
        (IPPROTO_ICMP, _, false) => Some(8),
        (IPPROTO_ICMP, _, true) => Some(0),
        _ => None,
    };
    // A connection's first packet is a SYN, its reply a SYN-ACK.
    let tcp_flags = (seen.proto == IPPROTO_TCP).then_some(if seen.reply {
        TCP_SYN | TCP_ACK
    } else {
        TCP_SYN
    });
    let ct = |state, direction| Ct {
        state,
        direction,
        status: None,
    };
    // Conntrack has not looked at the packet yet at a device's ingress, or
    // at prerouting/output before its hook (NF_IP_PRI_CONNTRACK, -200):
    // `ct state` reads invalid there (nft_ct_get_eval without an entry).
    let before_conntrack = matches!(hook, Hook::Ingress)
        || (matches!(hook, Hook::Prerouting | Hook::Output) && priority < -200 && !bridged);
    let ct = if before_conntrack {
        ct(CtState::Invalid, CtDir::Original)
    } else if seen.ndp {
        // nf_conntrack_icmpv6: neighbour discovery is never tracked.
        ct(CtState::Untracked, CtDir::Original)
    } else if !seen.reply {
        ct(CtState::New, CtDir::Original)
    } else if seen.tracked {
        ct(CtState::Established, CtDir::Reply)
    } else if seen.proto == IPPROTO_TCP || icmp {
        // A reply where the request never passed: a SYN-ACK without an
        // entry (tcp_new: sNO + SYNACK is invalid), an echo reply
        // (icmp_new takes only requests).
        ct(CtState::Invalid, CtDir::Original)
    } else {
        // UDP and the like start an entry with whatever comes first.
        ct(CtState::New, CtDir::Original)
    };
    // What the namespace sends itself has no MAC header before it leaves
    // (output, and postrouting of local traffic); what it received, and
    // every bridged frame, has one.
    let local_out = matches!(hook, Hook::Output | Hook::Postrouting | Hook::Egress)
        && seen.iif.is_none()
        && !bridged;
    let pkttype = if super::net::is_multicast(seen.dst) {
        PktType::Multicast
    } else if bridged && !is_local(view, seen.dst) {
        PktType::OtherHost
    } else {
        PktType::Host
    };
    Some(Packet {
        family: seen.family,
        src,
        dst: seen.dst,
        l4proto: seen.proto,
        sport: if icmp { None } else { seen.sport },
        dport: if icmp { None } else { seen.dport },
        icmp_type,
        icmp_code: icmp.then_some(0),
        tcp_flags,
        ttl: seen.ttl,
        iif,
        oif,
        bri_iif,
        bri_oif,
        mark: seen.mark,
        ct,
        // Only a socket of the namespace's own has an owner nsmap assumes
        // (root, as the routing lookups do); a reply's is not known.
        skuid: (local_out && !seen.reply).then_some(0),
        skgid: (local_out && !seen.reply).then_some(0),
        pkttype,
        has_ll: !local_out,
        ll: None,
        len: None,
    })
}

fn is_local(view: &NsView<'_>, addr: IpAddr) -> bool {
    view.is_local(addr) || view.has_local_route(addr)
}

/// `fib … type` from the namespace's local routes and addresses
/// (inet_dev_addr_type: the local table decides local and broadcast).
pub struct ViewEnv<'v, 'a> {
    pub view: &'v NsView<'a>,
}

impl Env for ViewEnv<'_, '_> {
    fn addrtype(&self, addr: IpAddr, dev: Option<u32>) -> Option<AddrType> {
        let ns = self.view.ns;
        if super::net::is_multicast(addr) {
            return Some(AddrType::Multicast);
        }
        // inet_addr_type: the zero network and the limited broadcast are
        // broadcast before any lookup.
        if let IpAddr::V4(v4) = addr
            && (v4.is_broadcast() || v4.octets()[0] == 0)
        {
            return Some(AddrType::Broadcast);
        }
        let routes = ns.routes.as_ref()?;
        let family = Family::of(addr);
        // __inet_dev_addr_type: the longest match in the local table, its
        // type only where its device is the one asked about.
        let hit = routes
            .iter()
            .filter(|r| r.family == family && r.table == crate::snapshot::l3::TABLE_LOCAL)
            .filter_map(|r| Some((super::net::Prefix::parse(&r.dst)?, r)))
            .filter(|(p, _)| p.contains(addr))
            .max_by_key(|(p, _)| p.len)
            .map(|(_, r)| r);
        let Some(r) = hit else {
            return Some(AddrType::Unicast);
        };
        if dev.is_some_and(|d| r.dev.as_ref().is_none_or(|rd| rd.ifindex != d)) {
            return Some(AddrType::Unicast);
        }
        Some(match r.kind.as_str() {
            "local" => AddrType::Local,
            "broadcast" => AddrType::Broadcast,
            "anycast" => AddrType::Anycast,
            "multicast" => AddrType::Multicast,
            "blackhole" => AddrType::Blackhole,
            "unreachable" => AddrType::Unreachable,
            "prohibit" => AddrType::Prohibit,
            "throw" => AddrType::Throw,
            _ => AddrType::Unicast,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::testing::Host;

    #[test]
    fn addrtype_is_the_local_table_s_longest_match_on_the_device_asked() {
        let mut h = Host::new();
        let a = h.ns("a");
        let eth0 = h.iface(a, "eth0", Some("veth"));
        h.addr(a, eth0, "10.0.0.1/24");
        let snapshot = h.build();
        let view = NsView::new(&snapshot.namespaces[a.0]);
        let env = ViewEnv { view: &view };
        let ip = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(env.addrtype(ip("10.0.0.1"), None), Some(AddrType::Local));
        assert_eq!(env.addrtype(ip("10.0.0.2"), None), Some(AddrType::Unicast));
        assert_eq!(env.addrtype(ip("0.1.2.3"), None), Some(AddrType::Broadcast));
        assert_eq!(
            env.addrtype(ip("224.0.0.1"), None),
            Some(AddrType::Multicast)
        );
        // Asked about another device: not local there.
        assert_eq!(
            env.addrtype(ip("10.0.0.1"), Some(eth0)),
            Some(AddrType::Local)
        );
        assert_eq!(
            env.addrtype(ip("10.0.0.1"), Some(eth0 + 7)),
            Some(AddrType::Unicast)
        );
    }
}
