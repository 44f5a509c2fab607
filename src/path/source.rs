//! Which source address the kernel puts on a packet it sends without a
//! bound one.
//!
//! IPv4 (net/ipv4/fib_semantics.c `fib_result_prefsrc`, devinet.c
//! `inet_select_addr`): the route's `prefsrc`; else the first primary
//! address of the output device whose scope fits the route's scope,
//! preferring one whose subnet holds the gateway (or destination); else the
//! first fitting primary address of any device, in device order.
//!
//! IPv6 (net/ipv6/addrconf.c `ipv6_dev_get_saddr`, RFC 6724): the route's
//! `prefsrc`; else among every usable address of the namespace (of the
//! output device only for link-local and multicast destinations): the
//! destination itself, then the smallest sufficient scope, then not
//! deprecated, then on the output device, then the same default policy
//! label, then the longest common prefix.

use std::net::IpAddr;

use super::net::{Prefix, common_prefix_len, ipv6_scope, is_ipv6_link_local};
use super::view::{NsView, iface_addrs, usable};
use crate::snapshot::Route;
use crate::snapshot::l3::{AddrInfo, Family};

/// RT_SCOPE_* of a scope name (`global` 0 … `host` 254).
pub fn scope_number(name: &str) -> u8 {
    match name {
        "global" | "universe" => 0,
        "site" => 200,
        "link" => 253,
        "host" => 254,
        "nowhere" => 255,
        other => other.parse().unwrap_or(0),
    }
}

fn is_secondary(a: &AddrInfo) -> bool {
    a.family == Family::Inet && a.flags.iter().any(|f| f == "secondary")
}

/// The source for a packet to `dst` sent by `route` through the next hop
/// (`gateway`, null for a direct route) out of `dev`; without a route (a
/// bound device with no route: the kernel assumes the destination is on
/// link) link scope.
pub fn select(
    view: &NsView<'_>,
    route: Option<&Route>,
    dev: u32,
    gateway: Option<IpAddr>,
    dst: IpAddr,
) -> Option<IpAddr> {
    if let Some(prefsrc) = route.and_then(|r| r.prefsrc) {
        return Some(prefsrc);
    }
    match Family::of(dst) {
        // nh_saddr = inet_select_addr(nh dev, nh gateway, fib_scope): a
        // direct route passes no address, so the first fitting primary
        // address wins whatever the destination.
        Family::Inet => {
            let scope = route.map_or(253, |r| scope_number(&r.scope));
            select_v4(view, dev, gateway, scope)
        }
        Family::Inet6 => select_v6(view, dev, dst),
    }
}

/// `inet_select_addr(dev, dst, scope)`.
pub fn select_v4(view: &NsView<'_>, dev: u32, dst: Option<IpAddr>, scope: u8) -> Option<IpAddr> {
    // route_localnet lets host-scope (127/8) addresses serve link scope;
    // asked only where the device has one.
    let host_scoped = view.iface(dev).is_some_and(|i| {
        iface_addrs(i)
            .iter()
            .any(|a| a.family == Family::Inet && scope_number(&a.scope) == 254)
    });
    let localnet_scope = if host_scoped && view.route_localnet(dev) == Some(true) {
        253
    } else {
        254
    };
    let mut first = None;
    if let Some(iface) = view.iface(dev) {
        for a in iface_addrs(iface) {
            if a.family != Family::Inet || is_secondary(&a) {
                continue;
            }
            if scope_number(&a.scope).min(localnet_scope) > scope {
                continue;
            }
            let net = Prefix {
                addr: a.local,
                len: a.prefixlen,
            };
            if dst.is_none_or(|d| net.contains(d)) {
                return Some(a.local);
            }
            first = first.or(Some(a.local));
        }
    }
    if first.is_some() {
        return first;
    }
    // in_dev_select_addr over every device, in device order.
    for iface in &view.ns.interfaces {
        for a in iface_addrs(iface) {
            if a.family != Family::Inet || is_secondary(&a) {
                continue;
            }
            let s = scope_number(&a.scope);
            if s != 253 && s <= scope {
                return Some(a.local);
            }
        }
    }
    None
}

/// RFC 6724's default policy table labels (as Linux's ip6addrlbl.c).
fn label(addr: IpAddr) -> u8 {
    const TABLE: &[(&str, u8)] = &[
        ("::1/128", 0),
        ("::ffff:0:0/96", 4),
        ("2001::/32", 6),
        ("2001:10::/28", 7),
        ("2002::/16", 2),
        ("3ffe::/16", 12),
        ("fc00::/7", 5),
        ("fec0::/10", 11),
        ("::/96", 3),
        ("::/0", 1),
    ];
    TABLE
        .iter()
        .filter_map(|(p, l)| Some((Prefix::parse(p)?, *l)))
        .filter(|(p, _)| p.contains(addr))
        .max_by_key(|(p, _)| p.len)
        .map_or(1, |(_, l)| l)
}

/// `ipv6_dev_get_saddr` (the rules nsmap can evaluate from a snapshot).
pub fn select_v6(view: &NsView<'_>, dev: u32, dst: IpAddr) -> Option<IpAddr> {
    let IpAddr::V6(dst6) = dst else { return None };
    let dst_scope = ipv6_scope(dst6);
    let only_oif = dst6.is_multicast() || dst_scope <= 2;
    // (same address, scope, not deprecated, on the output device, same
    // label, common prefix): compared in that order.
    type Score = (bool, i32, bool, bool, bool, u8);
    let mut best: Option<(Score, IpAddr)> = None;
    for iface in &view.ns.interfaces {
        if only_oif && iface.ifindex != dev {
            continue;
        }
        if view.ipv6_disabled(iface.ifindex) == Some(true) {
            continue;
        }
        for a in iface_addrs(iface) {
            let IpAddr::V6(local) = a.local else { continue };
            if !usable(&a) {
                continue;
            }
            let scope = ipv6_scope(local);
            // Rule 2: the smallest scope that reaches the destination, else
            // the largest below it.
            let scope_score = if scope >= dst_scope {
                -i32::from(scope)
            } else {
                i32::from(scope) - 128
            };
            let key = (
                a.local == dst,
                scope_score,
                !a.flags.iter().any(|f| f == "deprecated"),
                iface.ifindex == dev,
                label(a.local) == label(dst),
                common_prefix_len(a.local, dst).min(a.prefixlen),
            );
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, a.local));
            }
        }
    }
    best.map(|(_, a)| a)
}

/// Whether `addr` is a usable address of some interface of the namespace
/// (`ip_dev_find` / `ipv6_chk_addr`: what binding to it needs).
pub fn is_own(view: &NsView<'_>, addr: IpAddr) -> bool {
    !view.owners(addr).is_empty() || (is_ipv6_link_local(addr) && view.is_local(addr))
}
