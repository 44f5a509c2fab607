//! Checks of each route's gateway: is it on the link of the route's
//! device, does anybody there answer for it, is it the namespace's own.
//!
//! "Who answers" is the path engine's [`neigh::resolve`] on the wire of
//! the route's device ([`wire::segment`]): veth peers, bridge ports,
//! macvlan siblings, each endpoint judged by the kernel's ARP/NDP rules
//! (its addresses, `arp_ignore`, `arp_filter`, rp_filter on the request,
//! proxy ARP). A segment with openings — a tap, a tunnel, a physical NIC,
//! a namespace nsmap could not read — may hold the gateway out of sight,
//! so "nobody answers" is only said where nsmap saw the whole link.
//!
//! [`neigh::resolve`]: crate::path::neigh::resolve
//! [`wire::segment`]: crate::path::wire::segment

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::fix::{self, quote};
use super::l3::{GatewayHop, L3, describe_hop, route_cmd, route_key, unanswered};
use super::routes::family_word;
use super::{Code, End, Finding};
use crate::path::net::{Prefix, is_ipv6_link_local};
use crate::path::source::scope_number;
use crate::path::view::has_carrier;
use crate::path::wire::segment;
use crate::snapshot::l3::{Family, TABLE_LOCAL, TABLE_MAIN};
use crate::snapshot::{Interface, Namespace, Route};

fn family_of(addr: IpAddr) -> Family {
    Family::of(addr)
}

/// Whether `gw` is on the link of `dev` as the kernel judges a gateway
/// when a route is added (net/ipv4/fib_semantics.c `fib_check_nh_v4_gw`:
/// a lookup of the gateway restricted to `dev` must find a route of link
/// or host scope; net/ipv6/route.c `ip6_route_check_nh`: one without a
/// gateway). IPv6 link-local gateways are always on the link.
fn on_link(ns: &Namespace, route: &Route, gw: IpAddr, dev: u32) -> bool {
    if is_ipv6_link_local(gw) {
        return true;
    }
    ns.routes.iter().flatten().any(|r| {
        let table_fits = r.table == route.table || r.table == TABLE_MAIN || r.table == TABLE_LOCAL;
        let covers = Prefix::parse(&r.dst).is_some_and(|p| p.contains(gw));
        let through = r.dev.as_ref().is_some_and(|d| d.ifindex == dev)
            || r.nexthops
                .iter()
                .any(|p| p.dev.as_ref().is_some_and(|d| d.ifindex == dev));
        let direct = match family_of(gw) {
            Family::Inet => scope_number(&r.scope) != 0,
            Family::Inet6 => r.gateway.is_none() && r.nexthops.is_empty() && r.nhid.is_none(),
        };
        table_fits
            && covers
            && through
            && direct
            && matches!(r.kind.as_str(), "unicast" | "local")
            && r.family == family_of(gw)
    })
}

/// `ip route replace KEY via GW dev DEV [onlink]` for a single-path
/// route; None for a path of a multipath route (replacing it would drop
/// the other paths).
fn replace(hop: &GatewayHop<'_>, gw: &str, dev: &Interface, onlink: bool) -> Option<String> {
    if hop.path.is_some() {
        return None;
    }
    let onlink = if onlink { " onlink" } else { "" };
    route_cmd(
        hop.ns,
        hop.route.family,
        &format!(
            "replace {} via {gw} dev {}{onlink}",
            route_key(hop.route),
            quote(&dev.ifname)
        ),
    )
}

/// The hint that points a broken route at a better gateway: the one the
/// engine finds answering on the link, else a placeholder.
fn better_gateway<'a>(l3: &L3<'a>, hops: &[&GatewayHop<'a>]) -> Option<String> {
    let first = hops.first()?;
    let gw = l3
        .likely_gateway(first.ns, first.dev, family_of(first.gateway))
        .map(|(_, addr)| addr)
        .filter(|addr| *addr != first.gateway)
        .map_or_else(|| "<GATEWAY>".to_string(), |a| a.to_string());
    let commands: Option<Vec<String>> =
        hops.iter().map(|h| replace(h, &gw, h.dev, false)).collect();
    commands.map(|c| c.join(" && "))
}

/// NSM021: a route whose gateway is in none of its device's subnets
/// (no route of link scope through the device covers it) and which is
/// not `onlink`. The kernel refuses to add such a route ("Nexthop has
/// invalid gateway"), so this one outlived the address or route that put
/// the gateway on the link; the kernel still sends ARP for it, from an
/// address of another subnet, which the gateway may well ignore. Hint:
/// when someone on the link answers for it, say `onlink` (what works
/// today, made explicit); when another device has it on its link, route
/// through that one; else add an address in the gateway's subnet.
pub fn gateway_off_link(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for hop in l3.hops.iter().filter(|h| !h.dead && !h.onlink) {
        let Some(view) = l3.view(hop.ns) else {
            continue;
        };
        if !view.owners(hop.gateway).is_empty()
            || on_link(hop.ns, hop.route, hop.gateway, hop.dev.ifindex)
        {
            continue;
        }
        let end = End {
            ns: hop.ns,
            iface: hop.dev,
        };
        let gw = hop.gateway.to_string();
        let other = hop.ns.interfaces.iter().find(|i| {
            i.ifindex != hop.dev.ifindex && on_link(hop.ns, hop.route, hop.gateway, i.ifindex)
        });
        let hint = if l3.owner(hop).is_ok() {
            replace(hop, &gw, hop.dev, true)
        } else if let Some(other) = other {
            replace(hop, &gw, other, false)
        } else {
            fix::ip(
                hop.ns,
                &format!("addr add <ADDR>/<PREFIX> dev {}", quote(&hop.dev.ifname)),
            )
        };
        out.push(Finding::new(
            Code::GatewayOffLink,
            Some(hop.ns.inode),
            vec![end.link_ref()],
            format!(
                "the gateway {gw} of {} on {} is in none of {}'s subnets and the route is not onlink: the kernel refuses such a route, so this one outlived the address that put {gw} on the link, and ARP for it goes out from another subnet",
                describe_hop(hop),
                end.describe(),
                hop.dev.ifname.as_str()
            ),
            hint,
        ));
    }
    out
}

/// The hops that share one (namespace, device, gateway), in route order.
fn by_gateway<'h, 'a>(
    hops: impl Iterator<Item = &'h GatewayHop<'a>>,
) -> BTreeMap<(u64, u32, IpAddr), Vec<&'h GatewayHop<'a>>>
where
    'a: 'h,
{
    let mut map: BTreeMap<(u64, u32, IpAddr), Vec<&GatewayHop<'a>>> = BTreeMap::new();
    for hop in hops {
        map.entry((hop.ns.inode, hop.dev.ifindex, hop.gateway))
            .or_default()
            .push(hop);
    }
    map
}

/// NSM022: a route's gateway that nobody on its device's wire answers
/// ARP/NDP for, as the engine resolves it — no address there, or every
/// holder refusing the request (arp_ignore, rp_filter on the request).
/// The kernel accepts such a route (a gateway inside a connected subnet
/// is enough); its packets then die on an INCOMPLETE/FAILED neighbour.
/// Also covers `onlink` gateways nobody owns. Skipped where nsmap did not
/// see the whole link (openings), where the device has no carrier or the
/// path is dead (NSM024's), and for the namespace's own address
/// (NSM023's). The hint points the routes at the address on the link that
/// looks like the gateway, if any.
pub fn gateway_unanswered(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let live = l3.hops.iter().filter(|h| !h.dead && has_carrier(h.dev));
    for ((_, _, gw), hops) in by_gateway(live) {
        let first = hops[0];
        let Some(view) = l3.view(first.ns) else {
            continue;
        };
        if !view.owners(gw).is_empty() {
            continue;
        }
        let stop = match l3.owner(first) {
            Err(stop) if unanswered(&stop) => stop,
            _ => continue,
        };
        let end = End {
            ns: first.ns,
            iface: first.dev,
        };
        let routes: Vec<String> = hops.iter().map(|h| describe_hop(h)).collect();
        out.push(Finding::new(
            Code::GatewayUnanswered,
            Some(first.ns.inode),
            vec![end.link_ref()],
            format!(
                "{}, yet {} routes {} through it: those packets die unresolved",
                stop.reason,
                first.ns.label(),
                super::l3::list(&routes, 3)
            ),
            better_gateway(l3, &hops),
        ));
    }
    out
}

/// NSM023: a route through one of the namespace's own addresses. The
/// kernel accepts it (the gateway's lookup finds a local route) but then
/// treats the route as on-link (`fib_check_nh_v4_gw` gives the next hop
/// host scope, so `rt_uses_gateway` is off): it asks ARP/NDP for every
/// destination itself, and only addresses on the link answer. Typically
/// an address manager handed out the gateway's address. Skipped when
/// someone on the link may answer for everything (proxy ARP/NDP on, or
/// not known) or nsmap did not see the whole link.
pub fn gateway_is_own_address(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ((_, _, gw), hops) in by_gateway(l3.hops.iter().filter(|h| !h.dead)) {
        let first = hops[0];
        let Some(view) = l3.view(first.ns) else {
            continue;
        };
        let owners = view.owners(gw);
        let Some(owner) = owners.first() else {
            continue;
        };
        let family = family_of(gw);
        let seg = segment(&l3.ctx, first.ns.inode, first.dev.ifindex);
        if !seg.openings.is_empty() {
            continue;
        }
        let may_proxy = seg.endpoints.iter().any(|e| {
            let Some(v) = l3.ctx.namespace(e.netns).and_then(|n| l3.view(n)) else {
                return true;
            };
            match family {
                Family::Inet => v.proxy_arp(e.iface.ifindex) != Some(false),
                Family::Inet6 => v.proxy_ndp(e.iface.ifindex) != Some(false),
            }
        });
        if may_proxy {
            continue;
        }
        let end = End {
            ns: first.ns,
            iface: first.dev,
        };
        let routes: Vec<String> = hops.iter().map(|h| describe_hop(h)).collect();
        let asks = if family == Family::Inet { "ARP" } else { "NDP" };
        out.push(Finding::new(
            Code::GatewayIsOwnAddress,
            Some(first.ns.inode),
            vec![end.link_ref()],
            format!(
                "{} routes {} out of {}, but {gw} is its own {} address (on {}): the kernel then asks {asks} for every destination on that link, so nothing beyond it is reached",
                first.ns.label(),
                super::l3::list(&routes, 3),
                end.describe(),
                family_word(family),
                owner.ifname.as_str()
            ),
            better_gateway(l3, &hops),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::path::testing::{Host, Ns, route};
    use crate::snapshot::l3::RoutePath;

    /// a and the router r on bridge br0 of "host": a 10.0.0.2/24, r
    /// 10.0.0.1/24 (forwarding on, an uplink 192.0.2.2/24); a's default
    /// route via `gw`.
    fn lan(gw: &str) -> (Host, Ns, Ns) {
        let mut h = Host::new();
        let host = h.ns("host");
        let a = h.ns("a");
        let r = h.ns("r");
        let br = h.bridge(host, "br0");
        let (pa, ea) = h.veth(host, "va", a, "eth0");
        let (pr, er) = h.veth(host, "vr", r, "eth0");
        h.enslave(host, pa, br);
        h.enslave(host, pr, br);
        h.addr(a, ea, "10.0.0.2/24");
        h.addr(r, er, "10.0.0.1/24");
        let uplink = h.iface(r, "up0", None);
        h.addr(r, uplink, "192.0.2.2/24");
        h.forwarding(r, true);
        h.route(a, "0.0.0.0/0", Some(gw), ea);
        (h, a, r)
    }

    fn run(h: &Host, check: fn(&L3<'_>) -> Vec<Finding>) -> Vec<Finding> {
        let s = h.build();
        check(&L3::new(&s))
    }

    fn every(l3: &L3<'_>) -> Vec<Finding> {
        let mut v = gateway_off_link(l3);
        v.extend(gateway_unanswered(l3));
        v.extend(gateway_is_own_address(l3));
        v
    }

    #[test]
    fn a_working_gateway_is_fine() {
        let (h, _, _) = lan("10.0.0.1");
        assert!(run(&h, every).is_empty());
    }

    #[test]
    fn a_gateway_nobody_owns_is_an_error_with_the_real_gateway_as_fix() {
        let (h, a, _) = lan("10.0.0.254");
        let found = run(&h, every);
        assert_eq!(codes(&found), ["NSM022"]);
        assert_eq!(
            found[0].message,
            "nobody on the segment of eth0@a answers for 10.0.0.254, yet a routes default via 10.0.0.254 through it: those packets die unresolved"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n a route replace default via 10.0.0.1 dev eth0")
        );
        assert_eq!(found[0].netns, Some(h.inode(a)));
        assert_eq!(found[0].severity, crate::doctor::Severity::Error);
    }

    #[test]
    fn refusals_are_named() {
        // r holds 10.0.0.254 but on lo with arp_ignore=1: it will not answer.
        let (mut h, _, r) = lan("10.0.0.254");
        h.addr(r, 1, "10.0.0.254/32");
        for i in &mut h.snapshot.namespaces[2].interfaces {
            if let Some(c) = i.netconf.as_mut().and_then(|c| c.ipv4.as_mut()) {
                c.arp_ignore = Some(1);
            }
        }
        let found = run(&h, gateway_unanswered);
        assert_eq!(codes(&found), ["NSM022"]);
        assert!(
            found[0]
                .message
                .contains("eth0@r has 10.0.0.254 on another interface and arp_ignore=1"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn openings_on_the_link_keep_it_quiet() {
        // A physical NIC on the bridge: the gateway may be out there.
        let (mut h, _, _) = lan("10.0.0.254");
        let host = Ns(0);
        let nic = h.iface(host, "eth9", None);
        h.enslave(host, nic, 2);
        assert!(run(&h, every).is_empty());
    }

    #[test]
    fn no_carrier_and_dead_paths_are_left_to_nsm024() {
        let (mut h, a, _) = lan("10.0.0.254");
        h.no_carrier(a, 2);
        assert!(run(&h, gateway_unanswered).is_empty());
    }

    #[test]
    fn a_gateway_off_the_link_outlived_its_address() {
        // a's 10.0.0.2/24 was removed while 10.1.0.2/24 stayed: the
        // default via 10.0.0.1 is no longer on the link; r still answers.
        let mut h = Host::new();
        let host = h.ns("host");
        let a = h.ns("a");
        let r = h.ns("r");
        let br = h.bridge(host, "br0");
        let (pa, ea) = h.veth(host, "va", a, "eth0");
        let (pr, er) = h.veth(host, "vr", r, "eth0");
        h.enslave(host, pa, br);
        h.enslave(host, pr, br);
        h.addr(a, ea, "10.1.0.2/24");
        h.addr(r, er, "10.0.0.1/24");
        h.route(a, "0.0.0.0/0", Some("10.0.0.1"), ea);
        let found = run(&h, gateway_off_link);
        assert_eq!(codes(&found), ["NSM021"]);
        assert_eq!(
            found[0].message,
            "the gateway 10.0.0.1 of default via 10.0.0.1 on eth0@a is in none of eth0's subnets and the route is not onlink: the kernel refuses such a route, so this one outlived the address that put 10.0.0.1 on the link, and ARP for it goes out from another subnet"
        );
        // r still answers (rp_filter off, arp_ignore 0): onlink keeps it.
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n a route replace default via 10.0.0.1 dev eth0 onlink")
        );
        // Marked onlink, it is fine.
        for r in h.snapshot.namespaces[a.0].routes.iter_mut().flatten() {
            if r.gateway.is_some() {
                r.flags.push("onlink".into());
            }
        }
        assert!(run(&h, gateway_off_link).is_empty());
    }

    #[test]
    fn a_link_scope_route_puts_a_gateway_on_the_link() {
        let (mut h, a, _) = lan("10.0.0.1");
        let mut link = route(
            Family::Inet,
            TABLE_MAIN,
            "unicast",
            "10.7.0.0/16",
            Some(h.at(a, 2)),
        );
        link.scope = "link".into();
        h.push_route(a, link);
        h.route(a, "10.8.0.0/16", Some("10.7.0.1"), 2);
        assert!(run(&h, gateway_off_link).is_empty());
    }

    #[test]
    fn an_onlink_gateway_nobody_owns_is_unanswered() {
        let (mut h, a, _) = lan("10.0.0.1");
        h.route(a, "10.8.0.0/16", Some("169.254.1.1"), 2);
        for r in h.snapshot.namespaces[a.0].routes.iter_mut().flatten() {
            if r.gateway == Some("169.254.1.1".parse().expect("ip")) {
                r.flags.push("onlink".into());
            }
        }
        let found = run(&h, every);
        assert_eq!(codes(&found), ["NSM022"]);
        assert!(found[0].message.contains("answers for 169.254.1.1"));
    }

    #[test]
    fn a_route_via_its_own_address() {
        let (h, a, _) = lan("10.0.0.2");
        let found = run(&h, every);
        assert_eq!(codes(&found), ["NSM023"]);
        assert_eq!(
            found[0].message,
            "a routes default via 10.0.0.2 out of eth0@a, but 10.0.0.2 is its own IPv4 address (on eth0): the kernel then asks ARP for every destination on that link, so nothing beyond it is reached"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n a route replace default via 10.0.0.1 dev eth0")
        );
        assert_eq!(found[0].netns, Some(h.inode(a)));
        // Proxy ARP on the router answers for everything: not reported.
        let (mut h, _, r) = lan("10.0.0.2");
        for i in &mut h.snapshot.namespaces[r.0].interfaces {
            if let Some(c) = i.netconf.as_mut().and_then(|c| c.ipv4.as_mut()) {
                c.proxy_neigh = Some(1);
            }
        }
        assert!(run(&h, gateway_is_own_address).is_empty());
    }

    #[test]
    fn a_multipath_path_gets_no_replace_hint() {
        let (mut h, a, _) = lan("10.0.0.1");
        let mut mp = route(Family::Inet, TABLE_MAIN, "unicast", "10.6.0.0/16", None);
        mp.nexthops = vec![
            RoutePath {
                gateway: Some("10.0.0.1".parse().expect("ip")),
                dev: Some(h.at(a, 2)),
                weight: 1,
                flags: Vec::new(),
            },
            RoutePath {
                gateway: Some("10.0.0.77".parse().expect("ip")),
                dev: Some(h.at(a, 2)),
                weight: 1,
                flags: Vec::new(),
            },
        ];
        h.push_route(a, mp);
        let found = run(&h, gateway_unanswered);
        assert_eq!(codes(&found), ["NSM022"]);
        assert_eq!(found[0].hint, None);
    }

    #[test]
    fn silent_without_layer3_data() {
        let (mut h, _, _) = lan("10.0.0.254");
        for ns in &mut h.snapshot.namespaces {
            ns.rules = None;
        }
        assert!(run(&h, every).is_empty());
        let demo = demo();
        assert!(every(&L3::new(&demo)).is_empty());
    }
}
