//! Checks of a namespace's own routing state: a default route missing
//! where a gateway is plainly on the link, routes through a device that
//! cannot carry them, equal default routes the kernel picks among, and
//! policy rules that name a device which is gone.
//!
//! Each reads only namespaces whose routes and rules nsmap read (see
//! [`has_layer3`]); the questions of where frames go and who answers for
//! an address are the path engine's.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::fix::{self, quote};
use super::l3::{L3, describe_dst, has_layer3, list, only_default_rules, route_cmd, route_key};
use super::{Code, End, Finding, describe, is_loopback};
use crate::path::net::Prefix;
use crate::path::view::has_carrier;
use crate::snapshot::l3::{Family, TABLE_LOCAL};
use crate::snapshot::{Interface, Namespace, Route, Rule};

/// `IPv4` / `IPv6`, for messages.
pub fn family_word(family: Family) -> &'static str {
    match family {
        Family::Inet => "IPv4",
        Family::Inet6 => "IPv6",
    }
}

fn prefix_len(route: &Route) -> Option<u8> {
    Prefix::parse(&route.dst).map(|p| p.len)
}

/// Whether a route sends through a gateway (a single path's, a next
/// hop's, or a nexthop object's).
fn has_gateway(route: &Route) -> bool {
    route.gateway.is_some()
        || route.nhid.is_some()
        || route.nexthops.iter().any(|p| p.gateway.is_some())
}

/// NSM020 and NSM032: a namespace without a default route of a family,
/// although on the link of one of its interfaces another namespace holds
/// an address of that interface's subnet and forwards (or is the bridge,
/// the usual container gateway) — and the engine confirms that this
/// address answers ARP/NDP from here. NSM020 (warning) when some other
/// namespace routes its default through that very gateway: this one is
/// the odd one out, the classic "the container reaches its neighbours but
/// not the world". NSM032 (info) when nobody does: an internal network
/// (`docker network create --internal`, an isolated backend) looks the
/// same, and the snapshot cannot tell intent. Left alone: a namespace
/// with any /0 route (an `unreachable default` is a choice), with any
/// route through a gateway (it routes some prefixes on purpose), or with
/// policy rules of its own; and a candidate whose own default route goes
/// through this namespace (it is downstream: the hint would loop).
pub fn default_route_missing(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in l3.ctx.snapshot.namespaces.iter().filter(|n| has_layer3(n)) {
        for family in [Family::Inet, Family::Inet6] {
            let routes: Vec<&Route> = ns
                .routes
                .iter()
                .flatten()
                .filter(|r| r.family == family)
                .collect();
            if routes
                .iter()
                .any(|r| prefix_len(r) == Some(0) || has_gateway(r))
                || !only_default_rules(ns, family)
            {
                continue;
            }
            let found = ns
                .interfaces
                .iter()
                .filter(|i| !is_loopback(i) && i.master.is_none() && has_carrier(i))
                .find_map(|dev| Some((dev, l3.likely_gateway(ns, dev, family)?)));
            let Some((dev, (gw_end, gw))) = found else {
                continue;
            };
            let Some(gw_ns) = l3.ctx.namespace(gw_end.netns) else {
                continue;
            };
            let here = End { ns, iface: dev };
            let there = End {
                ns: gw_ns,
                iface: gw_end.iface,
            };
            let mut users: Vec<u64> = l3
                .default_clients(gw_ns.inode, gw_end.iface.ifindex, family)
                .iter()
                .copied()
                .filter(|&c| c != ns.inode)
                .collect();
            // By inode, whatever the snapshot's order; only the first few
            // are named (a bridge may have a thousand).
            users.sort_unstable();
            let named: Vec<String> = users
                .iter()
                .take(3)
                .filter_map(|&c| l3.ctx.namespace(c))
                .map(|n| n.label())
                .collect();
            let users_words = match users.len().saturating_sub(named.len()) {
                0 => list(&named, 3),
                more => format!("{} and {more} more", named.join(", ")),
            };
            let (code, message) = if users.is_empty() {
                (
                    Code::DefaultRouteMissingIsolated,
                    format!(
                        "{} has no {} default route, though {} on the link of {} has {gw} and could be its gateway; nobody on the link routes through it, so this may be an internal network: it reaches its link, nothing beyond",
                        ns.label(),
                        family_word(family),
                        there.describe(),
                        here.describe(),
                    ),
                )
            } else {
                (
                    Code::DefaultRouteMissing,
                    format!(
                        "{} has no {} default route, though {} on the link of {} has {gw} and is the gateway of {}: it reaches its link, nothing beyond",
                        ns.label(),
                        family_word(family),
                        there.describe(),
                        here.describe(),
                        users_words,
                    ),
                )
            };
            out.push(Finding::new(
                code,
                Some(ns.inode),
                vec![here.link_ref(), there.link_ref()],
                message,
                route_cmd(
                    ns,
                    family,
                    &format!("add default via {gw} dev {}", quote(&dev.ifname)),
                ),
            ));
        }
    }
    out
}

/// Every (device, next-hop flags) a route sends through.
fn paths(route: &Route) -> Vec<(u32, Option<IpAddr>, bool, bool)> {
    let flag = |flags: &[String], f: &str| {
        flags.iter().any(|x| x == f) || route.flags.iter().any(|x| x == f)
    };
    if route.nexthops.is_empty() {
        return route
            .dev
            .iter()
            .map(|d| {
                (
                    d.ifindex,
                    route.gateway,
                    flag(&[], "linkdown"),
                    flag(&[], "dead"),
                )
            })
            .collect();
    }
    route
        .nexthops
        .iter()
        .filter_map(|p| {
            let d = p.dev.as_ref()?;
            Some((
                d.ifindex,
                p.gateway,
                flag(&p.flags, "linkdown"),
                flag(&p.flags, "dead"),
            ))
        })
        .collect()
}

/// `default via 10.0.0.1`, `10.0.0.0/24`: a route (or one of its paths)
/// as a message lists it.
fn route_words(route: &Route, gateway: Option<IpAddr>) -> String {
    match gateway {
        Some(gw) => format!("{} via {gw}", describe_dst(route)),
        None => describe_dst(route),
    }
}

/// Why a device without carrier has none, where the snapshot says, and
/// the command that brings it back.
fn no_carrier_cause(l3: &L3<'_>, ns: &Namespace, dev: &Interface) -> (String, Option<String>) {
    if dev.kind_is("tun") {
        return (" (no process has it open)".to_string(), None);
    }
    if let Some(lower) = &dev.link
        && let Some((lns, liface)) = l3.ctx.iface(lower)
        && !liface.is_up()
        && (lns.inode, liface.ifindex) != (ns.inode, dev.ifindex)
    {
        return (
            format!(" (its lower device {} is down)", describe(lns, liface)),
            fix::ip(lns, &format!("link set dev {} up", quote(&liface.ifname))),
        );
    }
    (String::new(), None)
}

/// Whether a device's missing carrier is another check's to report: a
/// bridge's carrier follows its ports (NSM007, NSM008, NSM011), and a veth
/// with exactly one end down is NSM004.
fn carrier_reported_elsewhere(l3: &L3<'_>, dev: &Interface) -> bool {
    if dev.kind_is("bridge") || is_loopback(dev) {
        return true;
    }
    dev.peer
        .as_ref()
        .and_then(|p| l3.ctx.iface(p))
        .is_some_and(|(_, peer)| peer.is_up() != dev.is_up())
}

/// NSM024: routes through a device that cannot carry them — up without
/// carrier (the kernel flags them `linkdown` and, unless
/// `ignore_routes_with_linkdown`, still uses them: what they carry is
/// lost), or down (next hops `dead`). One finding per device, listing its
/// routes (not the local table's, nor IPv6 link-local ones, which every
/// device has). Devices whose missing carrier another check explains are
/// left to it (see [`carrier_reported_elsewhere`]).
pub fn route_link_down(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in l3.ctx.snapshot.namespaces.iter().filter(|n| has_layer3(n)) {
        let Some(view) = l3.view(ns) else { continue };
        let mut by_dev: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for route in ns.routes.iter().flatten() {
            if route.kind != "unicast" || route.table == TABLE_LOCAL {
                continue;
            }
            if Prefix::parse(&route.dst)
                .is_some_and(|p| crate::path::net::is_ipv6_link_local(p.addr))
            {
                continue;
            }
            for (ifindex, gateway, linkdown, dead) in paths(route) {
                let Some(dev) = ns.interface(ifindex) else {
                    continue;
                };
                let broken = linkdown || dead || !has_carrier(dev);
                if broken && !carrier_reported_elsewhere(l3, dev) {
                    by_dev
                        .entry(ifindex)
                        .or_default()
                        .push(route_words(route, gateway));
                }
            }
        }
        for (ifindex, mut words) in by_dev {
            let Some(dev) = ns.interface(ifindex) else {
                continue;
            };
            words.dedup();
            let end = End { ns, iface: dev };
            let (message, hint) = if !dev.is_up() {
                (
                    format!(
                        "{} is down: the routes {} through it are dead",
                        end.describe(),
                        list(&words, 3)
                    ),
                    fix::ip(ns, &format!("link set dev {} up", quote(&dev.ifname))),
                )
            } else {
                let (why, hint) = no_carrier_cause(l3, ns, dev);
                let families = [Family::Inet, Family::Inet6];
                let ignore: Vec<Option<bool>> = families
                    .iter()
                    .map(|&f| view.ignore_linkdown(ifindex, f))
                    .collect();
                let consequence = if ignore.iter().all(|i| *i == Some(false)) {
                    ", and the kernel still uses them: what they carry is lost"
                } else if ignore.iter().all(|i| *i == Some(true)) {
                    ", so the kernel skips them"
                } else {
                    ""
                };
                (
                    format!(
                        "{} has no carrier{why}: the routes {} through it are linkdown{consequence}",
                        end.describe(),
                        list(&words, 3)
                    ),
                    hint,
                )
            };
            out.push(Finding::new(
                Code::RouteLinkDown,
                Some(ns.inode),
                vec![end.link_ref()],
                message,
                hint,
            ));
        }
    }
    out
}

/// ` via G dev D` (or ` nhid N`): what picks one route among equal keys
/// in `ip route del`; None for a multipath route.
fn route_target(ns: &Namespace, route: &Route) -> Option<String> {
    if !route.nexthops.is_empty() {
        return None;
    }
    if let Some(id) = route.nhid {
        return Some(format!(" nhid {id}"));
    }
    let mut target = String::new();
    if let Some(gw) = route.gateway {
        target.push_str(&format!(" via {gw}"));
    }
    if let Some(dev) = route.dev.as_ref().and_then(|d| ns.interface(d.ifindex)) {
        target.push_str(&format!(" dev {}", quote(&dev.ifname)));
    }
    (!target.is_empty()).then_some(target)
}

/// NSM028: two or more default routes of one family in one table with the
/// same metric (and tos). The kernel keeps one order and uses the first
/// whose gateway answers (IPv4 `fib_select_default`; IPv6 round-robins
/// over reachable routers), so which way traffic leaves changes with
/// neighbour state. IPv6 routes learnt from router advertisements are left
/// out: two routers on a link are redundancy, as intended. A multipath
/// route is one route (its paths are chosen by hash on purpose). The hint
/// keeps the first (the kernel's preferred) and moves each other to the
/// next free metric.
pub fn duplicate_default(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in l3.ctx.snapshot.namespaces.iter().filter(|n| has_layer3(n)) {
        type Key<'r> = (Family, u32, u32, u8, Option<&'r str>);
        let mut groups: BTreeMap<Key<'_>, Vec<&Route>> = BTreeMap::new();
        for route in ns.routes.iter().flatten() {
            if route.kind != "unicast" || prefix_len(route) != Some(0) {
                continue;
            }
            if route.family == Family::Inet6 && route.protocol == "ra" {
                continue;
            }
            groups
                .entry((
                    route.family,
                    route.table,
                    route.metric.unwrap_or(0),
                    route.tos,
                    route.src.as_deref(),
                ))
                .or_default()
                .push(route);
        }
        for ((family, table, metric, _, _), routes) in groups {
            if routes.len() < 2 {
                continue;
            }
            let words: Vec<String> = routes
                .iter()
                .map(|r| {
                    let dev = r
                        .dev
                        .as_ref()
                        .and_then(|d| ns.interface(d.ifindex))
                        .map(|i| format!(" dev {}", i.ifname.as_str()))
                        .unwrap_or_default();
                    let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
                    format!("default{via}{dev}")
                })
                .collect();
            let mut interfaces = Vec::new();
            for r in &routes {
                if let Some(dev) = r.dev.as_ref().and_then(|d| ns.interface(d.ifindex)) {
                    let link = End { ns, iface: dev }.link_ref();
                    if !interfaces.contains(&link) {
                        interfaces.push(link);
                    }
                }
            }
            let taken: Vec<u32> = ns
                .routes
                .iter()
                .flatten()
                .filter(|r| r.family == family && r.table == table && prefix_len(r) == Some(0))
                .map(|r| r.metric.unwrap_or(0))
                .collect();
            let mut next = metric;
            let hint: Option<Vec<String>> = routes[1..]
                .iter()
                .map(|r| {
                    let target = route_target(ns, r)?;
                    next += 1;
                    while taken.contains(&next) {
                        next += 1;
                    }
                    let del = route_cmd(ns, family, &format!("del {}{target}", route_key(r)))?;
                    let add = route_cmd(
                        ns,
                        family,
                        &format!(
                            "add default{target}{} metric {next}",
                            super::l3::table_arg(table)
                        ),
                    )?;
                    Some(format!("{del} && {add}"))
                })
                .collect();
            out.push(Finding::new(
                Code::DuplicateDefaultRoute,
                Some(ns.inode),
                interfaces,
                format!(
                    "{} has {} {} default routes in table {} with metric {metric} ({}): the kernel uses the first whose gateway answers, so the way out changes with neighbour state",
                    ns.label(),
                    routes.len(),
                    family_word(family),
                    table_name(table),
                    words.join(", ")
                ),
                hint.map(|h| h.join(" && ")),
            ));
        }
    }
    out
}

fn table_name(table: u32) -> String {
    match table {
        254 => "main".into(),
        255 => "local".into(),
        253 => "default".into(),
        other => other.to_string(),
    }
}

/// A rule as `ip rule` prints it, short: `from 10.0.0.0/24 iif eth0
/// lookup 100`.
fn rule_words(rule: &Rule) -> String {
    let mut words = Vec::new();
    if rule.not {
        words.push("not".to_string());
    }
    words.push(format!("from {}", rule.src.as_deref().unwrap_or("all")));
    if let Some(dst) = &rule.dst {
        words.push(format!("to {dst}"));
    }
    if let Some(iif) = &rule.iif {
        words.push(format!("iif {}", iif.as_str()));
    }
    if let Some(oif) = &rule.oif {
        words.push(format!("oif {}", oif.as_str()));
    }
    if let Some(mark) = rule.fwmark {
        words.push(format!("fwmark {mark:#x}"));
    }
    match (rule.action.as_str(), rule.table, rule.goto) {
        ("lookup", Some(t), _) => words.push(format!("lookup {}", table_name(t))),
        ("goto", _, Some(g)) => words.push(format!("goto {g}")),
        (action, _, _) => words.push(action.to_string()),
    }
    words.join(" ")
}

/// NSM031: a policy rule whose `iif` or `oif` names a device the kernel
/// does not find (it reports the rule `detached`, and its ifindex is -1:
/// it never matches). Usually left behind by a container or VPN that is
/// gone; when a device of that name appears later, the rule suddenly
/// matches again. Info: rules set up before their device exists are
/// sometimes intended. Hint: delete it, by priority and the device.
pub fn rule_device_missing(l3: &L3<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for ns in l3.ctx.snapshot.namespaces.iter().filter(|n| has_layer3(n)) {
        for rule in ns.rules.iter().flatten() {
            let mut missing = Vec::new();
            let mut selector = String::new();
            if rule.iif_detached
                && let Some(iif) = &rule.iif
            {
                missing.push(format!("iif {}", iif.as_str()));
                selector.push_str(&format!(" iif {}", quote(iif)));
            }
            if rule.oif_detached
                && let Some(oif) = &rule.oif
            {
                missing.push(format!("oif {}", oif.as_str()));
                selector.push_str(&format!(" oif {}", quote(oif)));
            }
            if missing.is_empty() {
                continue;
            }
            let six = if rule.family == Family::Inet6 {
                "-6 "
            } else {
                ""
            };
            out.push(Finding::new(
                Code::RuleDeviceMissing,
                Some(ns.inode),
                Vec::new(),
                format!(
                    "rule {} of {} ({}) names {}, which does not exist: it matches nothing until a device of that name appears",
                    rule.priority,
                    ns.label(),
                    rule_words(rule),
                    missing.join(" and ")
                ),
                fix::ip(
                    ns,
                    &format!("{six}rule del priority {}{selector}", rule.priority),
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::path::testing::{Host, Ns, route};
    use crate::snapshot::l3::TABLE_MAIN;

    /// cni0 and its port in the host, eth0 in the container (ifindexes).
    const BR: u32 = 2;
    const PORT: u32 = 3;
    const ETH: u32 = 2;

    /// A container `c` whose eth0 (10.88.0.2/16) is a port of the host's
    /// cni0 (10.88.0.1/16, forwarding on), with or without a default
    /// route.
    fn container(default: bool) -> (Host, Ns, Ns) {
        let mut h = Host::new();
        let host = h.ns("host");
        let c = h.ns("c");
        let br = h.bridge(host, "cni0");
        let (port, eth) = h.veth(host, "veth1", c, "eth0");
        h.enslave(host, port, br);
        h.addr(host, br, "10.88.0.1/16");
        h.addr(c, eth, "10.88.0.2/16");
        h.forwarding(host, true);
        if default {
            h.route(c, "0.0.0.0/0", Some("10.88.0.1"), eth);
        }
        (h, host, c)
    }

    fn run(h: &Host, check: fn(&L3<'_>) -> Vec<Finding>) -> Vec<Finding> {
        let s = h.build();
        check(&L3::new(&s))
    }

    /// Another container on the host's cni0, with or without a default
    /// route via 10.88.0.1 (and fd00::1 when `v6`).
    fn neighbour(h: &mut Host, host: Ns, name: &str, addr: &str, default: bool) -> Ns {
        let n = h.ns(name);
        let (port, eth) = h.veth(host, &format!("v{name}"), n, "eth0");
        h.enslave(host, port, BR);
        h.addr(n, eth, addr);
        if default {
            h.route(n, "0.0.0.0/0", Some("10.88.0.1"), eth);
        }
        n
    }

    #[test]
    fn missing_default_route_names_the_gateway_its_neighbours_use() {
        let (mut h, host, c) = container(false);
        neighbour(&mut h, host, "d", "10.88.0.3/16", true);
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM020"]);
        assert_eq!(
            found[0].message,
            "c has no IPv4 default route, though cni0@host on the link of eth0@c has 10.88.0.1 and is the gateway of d: it reaches its link, nothing beyond"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n c route add default via 10.88.0.1 dev eth0")
        );
        assert_eq!(found[0].netns, Some(h.inode(c)));
        assert_eq!(
            refs(&found[0]),
            [
                format!("eth0@{}", h.inode(c)),
                format!("cni0@{}", h.inode(host))
            ]
        );
    }

    #[test]
    fn many_neighbours_are_counted_not_listed() {
        let (mut h, host, _) = container(false);
        for i in 0..5 {
            neighbour(
                &mut h,
                host,
                &format!("d{i}"),
                &format!("10.88.1.{i}/16"),
                true,
            );
        }
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM020"]);
        assert!(
            found[0]
                .message
                .contains("is the gateway of d0, d1, d2 and 2 more:"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn an_internal_network_is_only_info() {
        // Nobody on cni0 routes through it: `--internal`, or a lone
        // namespace someone may have meant to keep to its link.
        let (mut h, host, c) = container(false);
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM032"]);
        assert_eq!(
            found[0].message,
            "c has no IPv4 default route, though cni0@host on the link of eth0@c has 10.88.0.1 and could be its gateway; nobody on the link routes through it, so this may be an internal network: it reaches its link, nothing beyond"
        );
        assert_eq!(found[0].severity, crate::doctor::Severity::Info);
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n c route add default via 10.88.0.1 dev eth0")
        );
        let d = neighbour(&mut h, host, "d", "10.88.0.3/16", false);
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM032", "NSM032"]);
        let mut about: Vec<_> = found.iter().map(|f| f.netns).collect();
        about.sort();
        let mut expected = vec![Some(h.inode(c)), Some(h.inode(d))];
        expected.sort();
        assert_eq!(about, expected);
    }

    #[test]
    fn a_namespace_routing_its_default_through_this_one_is_not_its_gateway() {
        // r has no default route; l, on r's link, forwards, has a second
        // link and routes its default via r. Pointing r's default at l
        // would loop (the kernel sends r's packets to l and l's back).
        let mut h = Host::new();
        let r = h.ns("r");
        let l = h.ns("l");
        let (rl, el) = h.veth(r, "tl", l, "eth0");
        h.addr(r, rl, "10.61.1.1/24");
        h.addr(l, el, "10.61.1.2/24");
        let lan = h.iface(l, "lan0", None);
        h.addr(l, lan, "192.0.2.1/24");
        h.route(l, "0.0.0.0/0", Some("10.61.1.1"), el);
        h.forwarding(r, true);
        h.forwarding(l, true);
        assert!(run(&h, default_route_missing).is_empty());
        // Without that default route, l looks like r's gateway.
        h.snapshot.namespaces[l.0]
            .routes
            .iter_mut()
            .for_each(|rs| rs.retain(|x| x.dst != "0.0.0.0/0"));
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM032"], "{found:#?}");
        assert_eq!(found[0].netns, Some(h.inode(r)));
    }

    #[test]
    fn a_bridge_comes_before_a_router_on_the_same_link() {
        // d forwards, leads elsewhere and holds 10.88.0.0 (lower than the
        // bridge's 10.88.0.1): the bridge is still the one suggested.
        let (mut h, host, _) = container(false);
        let d = neighbour(&mut h, host, "d", "10.88.0.0/16", true);
        let up = h.iface(d, "eth1", None);
        h.addr(d, up, "192.0.2.2/24");
        h.forwarding(d, true);
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM020"]);
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n c route add default via 10.88.0.1 dev eth0")
        );
    }

    #[test]
    fn a_default_route_or_any_gateway_route_silences_it() {
        let (h, _, _) = container(true);
        assert!(run(&h, default_route_missing).is_empty());
        // Routing only some prefixes through the gateway is a choice.
        let (mut h, _, c) = container(false);
        h.route(c, "10.0.0.0/8", Some("10.88.0.1"), ETH);
        assert!(run(&h, default_route_missing).is_empty());
        // So is an unreachable default.
        let (mut h, _, c) = container(false);
        h.push_route(
            c,
            route(Family::Inet, TABLE_MAIN, "unreachable", "0.0.0.0/0", None),
        );
        assert!(run(&h, default_route_missing).is_empty());
    }

    #[test]
    fn no_gateway_looking_neighbour_no_finding() {
        // Two containers on one bridge without an address: neither forwards.
        let mut h = Host::new();
        let host = h.ns("host");
        let a = h.ns("a");
        let b = h.ns("b");
        let br = h.bridge(host, "br0");
        let (pa, ea) = h.veth(host, "va", a, "eth0");
        let (pb, eb) = h.veth(host, "vb", b, "eth0");
        h.enslave(host, pa, br);
        h.enslave(host, pb, br);
        h.addr(a, ea, "10.0.0.1/24");
        h.addr(b, eb, "10.0.0.2/24");
        assert!(run(&h, default_route_missing).is_empty());
        // b forwarding alone is no gateway (it leads nowhere else)...
        h.forwarding(b, true);
        assert!(run(&h, default_route_missing).is_empty());
        // ...but with a second link it looks like a's gateway.
        let up = h.iface(b, "eth1", None);
        h.addr(b, up, "192.0.2.2/24");
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM032"]);
        assert!(
            found[0]
                .message
                .starts_with("a has no IPv4 default route, though eth0@b")
        );
    }

    #[test]
    fn a_gateway_that_would_not_answer_is_not_suggested() {
        // The bridge has the address, but arp_ignore=8 there: nobody answers.
        let (mut h, _, _) = container(false);
        let s = &mut h.snapshot.namespaces[0];
        for i in &mut s.interfaces {
            if let Some(c) = i.netconf.as_mut().and_then(|c| c.ipv4.as_mut()) {
                c.arp_ignore = Some(8);
            }
        }
        assert!(run(&h, default_route_missing).is_empty());
    }

    #[test]
    fn ipv6_too() {
        let (mut h, host, c) = container(true);
        h.addr(host, BR, "fd00::1/64");
        h.addr(c, ETH, "fd00::2/64");
        let d = neighbour(&mut h, host, "d", "10.88.0.3/16", true);
        h.addr(d, ETH, "fd00::3/64");
        h.route(d, "::/0", Some("fd00::1"), ETH);
        let found = run(&h, default_route_missing);
        assert_eq!(codes(&found), ["NSM020"]);
        assert!(found[0].message.contains("no IPv6 default route"));
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n c -6 route add default via fd00::1 dev eth0")
        );
    }

    #[test]
    fn silent_without_layer3_data() {
        let (mut h, _, _) = container(false);
        for ns in &mut h.snapshot.namespaces {
            ns.routes = None;
        }
        assert!(run(&h, default_route_missing).is_empty());
        let demo = demo();
        let l3 = L3::new(&demo);
        for check in [
            default_route_missing,
            route_link_down,
            duplicate_default,
            rule_device_missing,
        ] {
            assert!(check(&l3).is_empty());
        }
    }

    #[test]
    fn routes_through_a_device_without_carrier() {
        // A tap nobody opened, with an address and a route through it.
        let mut h = Host::new();
        let vm = h.ns("vmhost");
        let tap = h.iface(vm, "tap0", Some("tun"));
        h.addr(vm, tap, "192.168.50.1/24");
        h.route(vm, "10.50.0.0/16", Some("192.168.50.2"), tap);
        h.no_carrier(vm, tap);
        for r in h.snapshot.namespaces[0].routes.iter_mut().flatten() {
            if r.dev.as_ref().is_some_and(|d| d.ifindex == tap) && r.table != TABLE_LOCAL {
                r.flags.push("linkdown".into());
            }
        }
        let found = run(&h, route_link_down);
        assert_eq!(codes(&found), ["NSM024"]);
        assert_eq!(
            found[0].message,
            "tap0@vmhost has no carrier (no process has it open): the routes 192.168.50.0/24, 10.50.0.0/16 via 192.168.50.2 through it are linkdown, and the kernel still uses them: what they carry is lost"
        );
        assert_eq!(found[0].hint, None);
    }

    #[test]
    fn veth_and_bridge_carrier_is_left_to_the_wiring_checks() {
        // c's eth0 without carrier because the host end is down: NSM004's.
        let (mut h, host, c) = container(true);
        h.down(host, PORT);
        h.no_carrier(c, ETH);
        assert!(run(&h, route_link_down).is_empty());
        // A bridge whose only port is down: NSM008's.
        let (mut h, host, c) = container(true);
        h.down(c, ETH);
        h.down(host, PORT);
        h.no_carrier(host, BR);
        assert!(run(&h, route_link_down).is_empty());
    }

    #[test]
    fn dead_next_hop_of_a_multipath_route() {
        let mut h = Host::new();
        let r = h.ns("r");
        let a = h.iface(r, "ra", None);
        let b = h.iface(r, "rb", None);
        h.addr(r, a, "10.1.0.1/24");
        h.addr(r, b, "10.2.0.1/24");
        let mut mp = route(Family::Inet, TABLE_MAIN, "unicast", "0.0.0.0/0", None);
        mp.nexthops = vec![
            crate::snapshot::l3::RoutePath {
                gateway: Some("10.1.0.254".parse().expect("ip")),
                dev: Some(h.at(r, a)),
                weight: 1,
                flags: Vec::new(),
            },
            crate::snapshot::l3::RoutePath {
                gateway: Some("10.2.0.254".parse().expect("ip")),
                dev: Some(h.at(r, b)),
                weight: 1,
                flags: vec!["dead".into(), "linkdown".into()],
            },
        ];
        h.push_route(r, mp);
        h.down(r, b);
        let found = run(&h, route_link_down);
        assert_eq!(codes(&found), ["NSM024"]);
        assert_eq!(
            found[0].message,
            "rb@r is down: the routes default via 10.2.0.254 through it are dead"
        );
        assert_eq!(found[0].hint.as_deref(), Some("ip -n r link set dev rb up"));
    }

    #[test]
    fn equal_default_routes_are_reported_with_a_metric_fix() {
        let mut h = Host::new();
        let r = h.ns("r");
        let a = h.iface(r, "eth0", None);
        let b = h.iface(r, "eth1", None);
        h.addr(r, a, "10.1.0.2/24");
        h.addr(r, b, "10.2.0.2/24");
        h.route(r, "0.0.0.0/0", Some("10.1.0.1"), a);
        h.route(r, "0.0.0.0/0", Some("10.2.0.1"), b);
        let found = run(&h, duplicate_default);
        assert_eq!(codes(&found), ["NSM028"]);
        assert_eq!(
            found[0].message,
            "r has 2 IPv4 default routes in table main with metric 0 (default via 10.1.0.1 dev eth0, default via 10.2.0.1 dev eth1): the kernel uses the first whose gateway answers, so the way out changes with neighbour state"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some(
                "ip -n r route del default via 10.2.0.1 dev eth1 && ip -n r route add default via 10.2.0.1 dev eth1 metric 1"
            )
        );
        // Different metrics are a deliberate preference.
        if let Some(last) = h.snapshot.namespaces[0]
            .routes
            .as_mut()
            .and_then(|r| r.last_mut())
        {
            last.metric = Some(100);
        }
        assert!(run(&h, duplicate_default).is_empty());
    }

    #[test]
    fn two_ipv6_routers_from_advertisements_are_redundancy() {
        let mut h = Host::new();
        let n = h.ns("n");
        let e = h.iface(n, "eth0", None);
        h.addr(n, e, "2001:db8::2/64");
        for gw in ["fe80::1", "fe80::2"] {
            let mut r = route(
                Family::Inet6,
                TABLE_MAIN,
                "unicast",
                "::/0",
                Some(h.at(n, e)),
            );
            r.gateway = Some(gw.parse().expect("ip"));
            r.metric = Some(1024);
            r.protocol = "ra".into();
            h.push_route(n, r);
        }
        assert!(run(&h, duplicate_default).is_empty());
    }

    #[test]
    fn a_rule_naming_a_gone_device() {
        let mut h = Host::new();
        let n = h.ns("n");
        let mut rule = crate::path::testing::rule(Family::Inet, 100, 100);
        rule.iif = Some(crate::name::Name::from("vethgone"));
        rule.iif_detached = true;
        h.push_rule(n, rule);
        let found = run(&h, rule_device_missing);
        assert_eq!(codes(&found), ["NSM031"]);
        assert_eq!(
            found[0].message,
            "rule 100 of n (from all iif vethgone lookup 100) names iif vethgone, which does not exist: it matches nothing until a device of that name appears"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n n rule del priority 100 iif vethgone")
        );
    }
}
