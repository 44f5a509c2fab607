//! Subnets that clash inside one namespace: the container bridge whose
//! range a VPN (or a second bridge) also claims.
//!
//! A connected subnet (the route the kernel adds for an interface's
//! address: `proto kernel`, no gateway) says "these hosts are on this
//! link". When another route of the main table, through another device,
//! covers part or all of it, the longest prefix (or, for the same
//! prefix, the first route) wins, and hosts of one side in the shared
//! range become unreachable. Which side loses is the engine's answer:
//! [`fib::lookup`] of a representative address of the shared range.

use std::net::IpAddr;

use super::l3::{L3, has_layer3};
use super::{Code, End, Finding, is_loopback};
use crate::path::fib::{self, Fib, Opts};
use crate::path::net::{Prefix, is_ipv6_link_local};
use crate::path::view::NsView;
use crate::snapshot::l3::TABLE_MAIN;
use crate::snapshot::{Interface, Namespace, Route};

/// A main-table unicast route through one device, with its prefix.
struct Claim<'a> {
    route: &'a Route,
    prefix: Prefix,
    dev: &'a Interface,
    /// The kernel's prefix route of an address on `dev`.
    connected: bool,
}

fn claims(ns: &Namespace) -> Vec<Claim<'_>> {
    let mut out = Vec::new();
    for route in ns.routes.iter().flatten() {
        if route.table != TABLE_MAIN || route.kind != "unicast" || !route.nexthops.is_empty() {
            continue;
        }
        let Some(prefix) = Prefix::parse(&route.dst) else {
            continue;
        };
        // Host routes and the default route claim no subnet; link-local
        // IPv6 is on every device by design.
        if prefix.len == 0
            || prefix.len == prefix.family().bits()
            || is_ipv6_link_local(prefix.addr)
        {
            continue;
        }
        let Some(dev) = route.dev.as_ref().and_then(|d| ns.interface(d.ifindex)) else {
            continue;
        };
        if is_loopback(dev) || !dev.is_up() {
            continue;
        }
        let connected =
            route.protocol == "kernel" && route.gateway.is_none() && route.nhid.is_none();
        out.push(Claim {
            route,
            prefix,
            dev,
            connected,
        });
    }
    out
}

/// An address of `p` a neighbour could have, to ask the routing table
/// about: the first of its first few host addresses that is not the
/// namespace's own (its own would be answered by the local table).
fn representative(view: &NsView<'_>, p: Prefix) -> Option<IpAddr> {
    let net = network(p);
    let room = u32::from(p.family().bits() - p.len).min(4);
    (1..(1u32 << room)).find_map(|i| {
        let addr = match net.addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) + i).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) + u128::from(i)).into()),
        };
        (!view.is_local(addr)).then_some(addr)
    })
}

fn network(p: Prefix) -> Prefix {
    let addr = match p.addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    Prefix { addr, len: p.len }
}

/// Which of the two to renumber: the bridge, when one is (container
/// networks are the ones a runtime's config moves), else either.
fn advice(a: &Interface, b: &Interface) -> String {
    match (a.kind_is("bridge"), b.kind_is("bridge")) {
        (true, false) => format!("renumber the bridge {}", a.ifname.as_str()),
        (false, true) => format!("renumber the bridge {}", b.ifname.as_str()),
        _ => "renumber one of them".to_string(),
    }
}

/// NSM027: a connected subnet of one interface and a route through
/// another interface of the same namespace that covers part or all of it
/// — another interface's subnet, or a route pushed by a VPN — where the
/// engine's lookup of the shared range really leaves by the other one
/// (for equal prefixes: whichever the kernel picks). Hosts of the losing
/// side in the shared range are unreachable. Routes more specific than
/// the connected subnet only count when they are not host routes (a /32
/// per container is how routed setups work). No hint: the fix is a
/// renumbering; the message says which side to move.
pub fn subnet_overlap(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in l3.ctx.snapshot.namespaces.iter().filter(|n| has_layer3(n)) {
        let Some(view) = l3.view(ns) else { continue };
        let claims = claims(ns);
        let mut reported: Vec<((u32, Prefix), (u32, Prefix))> = Vec::new();
        for outer in claims.iter().filter(|c| c.connected) {
            for inner in &claims {
                if inner.dev.ifindex == outer.dev.ifindex
                    || inner.prefix.family() != outer.prefix.family()
                    || inner.prefix.len < outer.prefix.len
                    || !outer.prefix.contains(inner.prefix.addr)
                {
                    continue;
                }
                let equal = inner.prefix.len == outer.prefix.len;
                let a = (outer.dev.ifindex, network(outer.prefix));
                let b = (inner.dev.ifindex, network(inner.prefix));
                let pair = if a <= b { (a, b) } else { (b, a) };
                if reported.contains(&pair) {
                    continue;
                }
                let Some(probe) = representative(view, inner.prefix) else {
                    continue;
                };
                let flow =
                    fib::output_flow(outer.prefix.family(), probe, None, None, 0, None, None);
                let Ok(Fib::Route(m)) = fib::lookup(view, &flow, Opts::default()) else {
                    continue;
                };
                let winner = m.paths.first().map(|p| p.dev);
                let (loser, taker) =
                    if winner == Some(inner.dev.ifindex) && std::ptr::eq(m.route, inner.route) {
                        (outer, inner)
                    } else if equal
                        && winner == Some(outer.dev.ifindex)
                        && std::ptr::eq(m.route, outer.route)
                    {
                        (inner, outer)
                    } else {
                        continue;
                    };
                reported.push(pair);
                let lose = End {
                    ns,
                    iface: loser.dev,
                };
                let take = End {
                    ns,
                    iface: taker.dev,
                };
                let shared = network(inner.prefix);
                let taker_words = match taker.route.gateway {
                    Some(gw) => {
                        format!("{} via {gw} on {}", network(taker.prefix), take.describe())
                    }
                    None => format!("{} on {}", network(taker.prefix), take.describe()),
                };
                let message = if equal {
                    format!(
                        "{shared} is on both {} and {}: {} sends it out of {}, so hosts in it on {}'s link are unreachable; {}",
                        take.describe(),
                        lose.describe(),
                        ns.label(),
                        taker.dev.ifname.as_str(),
                        loser.dev.ifname.as_str(),
                        advice(taker.dev, loser.dev)
                    )
                } else {
                    format!(
                        "{} on {} overlaps {taker_words}: {shared} goes out of {}, so hosts in it on {}'s link are unreachable; {}",
                        network(loser.prefix),
                        lose.describe(),
                        taker.dev.ifname.as_str(),
                        loser.dev.ifname.as_str(),
                        advice(loser.dev, taker.dev)
                    )
                };
                let mut interfaces = vec![lose.link_ref(), take.link_ref()];
                if taker.dev.kind_is("bridge") && !loser.dev.kind_is("bridge") {
                    interfaces.reverse();
                }
                out.push(Finding::new(
                    Code::SubnetOverlap,
                    Some(ns.inode),
                    interfaces,
                    message,
                    None,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::path::testing::Host;

    fn run(h: &Host) -> Vec<Finding> {
        let s = h.build();
        subnet_overlap(&L3::new(&s))
    }

    #[test]
    fn a_vpn_address_inside_the_container_bridge() {
        let mut h = Host::new();
        let host = h.ns("host");
        let docker = h.bridge(host, "docker0");
        let tun = h.iface(host, "tun0", Some("tun"));
        h.addr(host, docker, "172.17.0.1/16");
        h.addr(host, tun, "172.17.5.2/24");
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM027"]);
        assert_eq!(
            found[0].message,
            "172.17.0.0/16 on docker0@host overlaps 172.17.5.0/24 on tun0@host: 172.17.5.0/24 goes out of tun0, so hosts in it on docker0's link are unreachable; renumber the bridge docker0"
        );
        assert_eq!(found[0].hint, None);
        assert_eq!(
            refs(&found[0]),
            [
                format!("docker0@{}", h.inode(host)),
                format!("tun0@{}", h.inode(host))
            ]
        );
    }

    #[test]
    fn a_vpn_route_carving_the_bridge() {
        let mut h = Host::new();
        let host = h.ns("host");
        let docker = h.bridge(host, "docker0");
        let tun = h.iface(host, "tun0", Some("tun"));
        h.addr(host, docker, "172.17.0.1/16");
        h.addr(host, tun, "10.8.0.2/24");
        h.route(host, "172.17.5.0/24", Some("10.8.0.1"), tun);
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM027"]);
        assert!(
            found[0]
                .message
                .contains("overlaps 172.17.5.0/24 via 10.8.0.1 on tun0@host")
        );
    }

    #[test]
    fn the_same_subnet_on_two_bridges() {
        let mut h = Host::new();
        let host = h.ns("host");
        let b1 = h.bridge(host, "br1");
        let b2 = h.bridge(host, "br2");
        h.addr(host, b1, "10.0.0.1/24");
        h.addr(host, b2, "10.0.0.2/24");
        let found = run(&h);
        assert_eq!(codes(&found), ["NSM027"]);
        assert_eq!(
            found[0].message,
            "10.0.0.0/24 is on both br1@host and br2@host: host sends it out of br1, so hosts in it on br2's link are unreachable; renumber one of them"
        );
    }

    #[test]
    fn disjoint_subnets_host_routes_and_the_default_are_fine() {
        let mut h = Host::new();
        let host = h.ns("host");
        let b1 = h.bridge(host, "br1");
        let eth = h.iface(host, "eth0", None);
        let v = h.iface(host, "cali1", Some("veth"));
        h.addr(host, b1, "10.0.0.1/24");
        h.addr(host, eth, "192.0.2.2/24");
        h.route(host, "0.0.0.0/0", Some("192.0.2.1"), eth);
        h.route(host, "10.0.0.9/32", None, v);
        h.route(host, "10.0.0.0/8", Some("192.0.2.1"), eth);
        assert!(run(&h).is_empty());
    }

    #[test]
    fn a_down_interface_claims_nothing_and_no_layer3_is_silent() {
        let mut h = Host::new();
        let host = h.ns("host");
        let docker = h.bridge(host, "docker0");
        let tun = h.iface(host, "tun0", Some("tun"));
        h.addr(host, docker, "172.17.0.1/16");
        h.addr(host, tun, "172.17.5.2/24");
        h.down(host, tun);
        assert!(run(&h).is_empty());
        let demo = demo();
        assert!(subnet_overlap(&L3::new(&demo)).is_empty());
    }
}
