//! Checks of namespaces other namespaces route through: does the router
//! forward, and does its reverse-path filter let through what its
//! neighbours forward to it.
//!
//! "Routes through" is exact: a route of namespace N has gateway G on
//! device D, and the engine's neighbour resolution on D's wire says that
//! interface I of namespace R takes the frames for G ([`L3::transits`]).
//! Packets N sends that way arrive in R by I, and R must forward them —
//! IPv4 by I's own `forwarding` (`IN_DEV_FORWARD` of the input device in
//! `ip_route_input_slow`), IPv6 by R's `all.forwarding` (`ip6_forward`).

use std::collections::BTreeMap;

use super::fix::quote;
use super::ipv4::Ipv4Net;
use super::l3::{L3, Transit, describe_hop, dev_assignment, list, only_default_rules, sysctl};
use super::routes::family_word;
use super::{Code, End, Finding, is_loopback};
use crate::path::fib::{self, Fib, Opts};
use crate::path::rpf::{self, Check};
use crate::path::view::{iface_addrs, usable};
use crate::snapshot::l3::Family;
use crate::snapshot::{Interface, LinkRef, Namespace};

/// Pushes `r` unless it is there already (references keep their order:
/// most relevant first).
fn push_ref(refs: &mut Vec<LinkRef>, r: LinkRef) {
    if !refs.contains(&r) {
        refs.push(r);
    }
}

/// Labels of the namespaces routing through, with the verb that agrees
/// with them, and their routes, for a message: `a, b route`, `web routes`,
/// `default via 10.88.0.1`.
fn who(transits: &[&Transit<'_>]) -> (String, String) {
    let mut senders: Vec<String> = Vec::new();
    let mut routes: Vec<String> = Vec::new();
    for t in transits {
        let label = t.hop.ns.label();
        if !senders.contains(&label) {
            senders.push(label);
        }
        let route = describe_hop(&t.hop);
        if !routes.contains(&route) {
            routes.push(route);
        }
    }
    let verb = if senders.len() == 1 {
        "routes"
    } else {
        "route"
    };
    (format!("{} {verb}", list(&senders, 3)), list(&routes, 2))
}

/// NSM025: forwarding is off in a namespace that others route through,
/// so everything they send beyond it is dropped there ("host
/// unreachable"). One finding per router and family, listing who routes
/// through it — the host namespace of a container bridge included (a
/// container with `default via 10.88.0.1` while the host's cni0 has
/// forwarding off). Hint: `net.ipv4.ip_forward=1` when the namespace's
/// `all.forwarding` is off (it switches on every device), else each
/// arrival device's `forwarding`; IPv6 `net.ipv6.conf.all.forwarding=1`.
pub fn forwarding_off(l3: &L3<'_>) -> Vec<Finding> {
    let mut groups: BTreeMap<(u64, Family), Vec<&Transit<'_>>> = BTreeMap::new();
    for t in l3.transits() {
        let Some(view) = l3.view(t.router) else {
            continue;
        };
        let forwards = match t.family {
            Family::Inet => view.forwarding4(t.arrival.ifindex),
            Family::Inet6 => view.forwarding6_on(t.arrival.ifindex),
        };
        if forwards == Some(false) {
            groups
                .entry((t.router.inode, t.family))
                .or_default()
                .push(t);
        }
    }
    let mut out = Vec::new();
    for ((_, family), transits) in groups {
        let router = transits[0].router;
        let mut arrivals: Vec<&Interface> = Vec::new();
        for t in &transits {
            if !arrivals.iter().any(|a| a.ifindex == t.arrival.ifindex) {
                arrivals.push(t.arrival);
            }
        }
        arrivals.sort_by_key(|a| a.ifindex);
        let mut refs = Vec::new();
        for a in &arrivals {
            push_ref(
                &mut refs,
                End {
                    ns: router,
                    iface: a,
                }
                .link_ref(),
            );
        }
        for t in &transits {
            push_ref(
                &mut refs,
                End {
                    ns: t.hop.ns,
                    iface: t.hop.dev,
                }
                .link_ref(),
            );
        }
        let arrival_names: Vec<String> = arrivals
            .iter()
            .map(|a| {
                End {
                    ns: router,
                    iface: a,
                }
                .describe()
            })
            .collect();
        let (senders, routes) = who(&transits);
        let (off, hint) = match family {
            Family::Inet => {
                let all_off = router
                    .netconf
                    .as_ref()
                    .and_then(|c| c.ipv4.all.as_ref())
                    .and_then(|c| c.forwarding)
                    == Some(0);
                if all_off {
                    (
                        "net.ipv4.ip_forward=0".to_string(),
                        sysctl(router, b"net.ipv4.ip_forward=1"),
                    )
                } else {
                    let hints: Option<Vec<String>> = arrivals
                        .iter()
                        .map(|a| sysctl(router, &dev_assignment(family, a, "forwarding", 1)))
                        .collect();
                    (
                        format!("forwarding=0 on {}", list(&arrival_names, 3)),
                        hints.map(|h| h.join(" && ")),
                    )
                }
            }
            Family::Inet6 => (
                "net.ipv6.conf.all.forwarding=0".to_string(),
                sysctl(router, b"net.ipv6.conf.all.forwarding=1"),
            ),
        };
        out.push(Finding::new(
            Code::ForwardingOff,
            Some(router.inode),
            refs,
            format!(
                "{} does not forward {} ({off}), yet {senders} through it by {} ({routes}): what they send beyond {} is dropped there",
                router.label(),
                family_word(family),
                list(&arrival_names, 3),
                router.label(),
            ),
            hint,
        ));
    }
    out
}

/// Whether the namespace may rewrite the source of what it forwards: a
/// NAT chain (nftables `nat` type or an iptables-legacy `nat` table) at
/// postrouting with rules, or a firewall nsmap could not read.
fn may_masquerade(ns: &Namespace) -> bool {
    let Some(fw) = ns.firewall.as_ref() else {
        return true;
    };
    let (Some(nft), Some(legacy)) = (fw.nftables.as_ref(), fw.iptables_legacy.as_ref()) else {
        return true;
    };
    let nft_nat = nft.iter().flat_map(|t| &t.chains).any(|c| {
        c.kind.as_deref() == Some("nat")
            && c.hook.as_deref() == Some("postrouting")
            && c.rule_count > 0
    });
    let legacy_nat = legacy.iter().filter(|t| t.name == "nat").any(|t| {
        t.problem.is_some()
            || t.chains
                .iter()
                .any(|c| c.hook.as_deref() == Some("postrouting") && c.rule_count > 0)
    });
    nft_nat || legacy_nat
}

/// NSM026: strict rp_filter on the interface by which a router receives
/// what a neighbour forwards to it, while the router's route back to the
/// neighbour's other subnets leaves by another interface (or by none), so
/// the kernel drops those packets as spoofed (`fib_validate_source`,
/// -EXDEV). The neighbour N routes through the router R (a transit: its
/// gateway answered by R's interface I); N forwards IPv4 from one of its
/// other interfaces X (forwarding on there) with X's subnet as source;
/// the engine's [`rpf::validate`] is asked about N's own address on X as
/// the representative source, arriving on I. Skipped when N may rewrite
/// sources (a NAT chain with rules, or a firewall nsmap could not read)
/// and when R has policy rules of its own (the reverse lookup could then
/// depend on the destination). Hint: loose mode (`rp_filter=2`) on I when
/// R has some route back; else a route back through N.
pub fn rp_filter_drops_transit(l3: &L3<'_>) -> Vec<Finding> {
    let mut seen: Vec<(u64, u32, String)> = Vec::new();
    let mut out = Vec::new();
    for t in l3.transits().iter().filter(|t| t.family == Family::Inet) {
        let Some(rview) = l3.view(t.router) else {
            continue;
        };
        if rview.rp_filter(t.arrival.ifindex) != Some(1)
            || !only_default_rules(t.router, Family::Inet)
        {
            continue;
        }
        let n = t.hop.ns;
        let Some(nview) = l3.view(n) else { continue };
        if may_masquerade(n) {
            continue;
        }
        for x in n.interfaces.iter() {
            if x.ifindex == t.hop.dev.ifindex || is_loopback(x) || !x.is_up() {
                continue;
            }
            if nview.forwarding4(x.ifindex) != Some(true) {
                continue;
            }
            for a in iface_addrs(x) {
                if a.family != Family::Inet || !usable(&a) || a.local.is_loopback() {
                    continue;
                }
                let Some(subnet) = Ipv4Net::parse(&format!("{}/{}", a.local, a.prefixlen)) else {
                    continue;
                };
                let subnet = subnet.subnet();
                let key = (t.router.inode, t.arrival.ifindex, subnet.clone());
                if seen.contains(&key) {
                    continue;
                }
                let why = match rpf::validate(
                    rview,
                    a.local,
                    t.hop.gateway,
                    None,
                    t.arrival.ifindex,
                    Default::default(),
                ) {
                    Check::Rpf(why) => why,
                    _ => continue,
                };
                seen.push(key);
                let back = fib::output_flow(Family::Inet, a.local, None, None, 0, None, None);
                let has_route_back = matches!(
                    fib::lookup(rview, &back, Opts::default()),
                    Ok(Fib::Route(_))
                );
                let hint = if has_route_back {
                    sysctl(
                        t.router,
                        &dev_assignment(Family::Inet, t.arrival, "rp_filter", 2),
                    )
                } else {
                    crate::path::source::select_v4(
                        nview,
                        t.hop.dev.ifindex,
                        Some(t.hop.gateway),
                        253,
                    )
                    .and_then(|via| {
                        super::fix::ip(
                            t.router,
                            &format!(
                                "route add {subnet} via {via} dev {}",
                                quote(&t.arrival.ifname)
                            ),
                        )
                    })
                };
                let arrival = End {
                    ns: t.router,
                    iface: t.arrival,
                };
                let sender = End {
                    ns: n,
                    iface: t.hop.dev,
                };
                let from = End { ns: n, iface: x };
                out.push(Finding::new(
                    Code::RpFilterDropsTransit,
                    Some(t.router.inode),
                    vec![arrival.link_ref(), sender.link_ref(), from.link_ref()],
                    format!(
                        "{why}: {} drops what {} forwards from {subnet} ({}) to it by {} ({})",
                        t.router.label(),
                        n.label(),
                        from.describe(),
                        arrival.describe(),
                        describe_hop(&t.hop)
                    ),
                    hint,
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
    use crate::path::testing::{Host, Ns};

    /// Containers a and b on the host's cni0 (10.88.0.1/16), both with
    /// `default via 10.88.0.1`; the host's forwarding as given.
    fn containers(forwarding: bool) -> (Host, Ns, Ns, Ns) {
        let mut h = Host::new();
        let host = h.ns("host");
        let a = h.ns("a");
        let b = h.ns("b");
        let br = h.bridge(host, "cni0");
        h.addr(host, br, "10.88.0.1/16");
        for (ns, port, addr) in [(a, "veth1", "10.88.0.2/16"), (b, "veth2", "10.88.0.3/16")] {
            let (p, e) = h.veth(host, port, ns, "eth0");
            h.enslave(host, p, br);
            h.addr(ns, e, addr);
            h.route(ns, "0.0.0.0/0", Some("10.88.0.1"), e);
        }
        h.forwarding(host, forwarding);
        (h, host, a, b)
    }

    fn run(h: &Host, check: fn(&L3<'_>) -> Vec<Finding>) -> Vec<Finding> {
        let s = h.build();
        check(&L3::new(&s))
    }

    #[test]
    fn containers_behind_a_host_that_does_not_forward() {
        let (h, host, a, b) = containers(false);
        let found = run(&h, forwarding_off);
        assert_eq!(codes(&found), ["NSM025"]);
        let f = &found[0];
        assert_eq!(
            f.message,
            "host does not forward IPv4 (net.ipv4.ip_forward=0), yet a, b route through it by cni0@host (default via 10.88.0.1): what they send beyond host is dropped there"
        );
        assert_eq!(
            f.hint.as_deref(),
            Some("ip netns exec host sysctl -w net.ipv4.ip_forward=1")
        );
        assert_eq!(f.netns, Some(h.inode(host)));
        assert_eq!(
            refs(f),
            [
                format!("cni0@{}", h.inode(host)),
                format!("eth0@{}", h.inode(a)),
                format!("eth0@{}", h.inode(b)),
            ]
        );
    }

    #[test]
    fn only_the_arrival_device_counts_for_ipv4() {
        let (mut h, host, _, _) = containers(true);
        // all.forwarding on, but cni0's own forwarding off.
        let ns = &mut h.snapshot.namespaces[host.0];
        if let Some(c) = ns.interfaces[1]
            .netconf
            .as_mut()
            .and_then(|c| c.ipv4.as_mut())
        {
            c.forwarding = Some(0);
        }
        let found = run(&h, forwarding_off);
        assert_eq!(codes(&found), ["NSM025"]);
        assert!(found[0].message.contains("(forwarding=0 on cni0@host)"));
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip netns exec host sysctl -w net.ipv4.conf.cni0.forwarding=1")
        );
        // With it on, nothing to say.
        let (h, _, _, _) = containers(true);
        assert!(run(&h, forwarding_off).is_empty());
    }

    #[test]
    fn dots_in_a_device_name_become_slashes_in_the_sysctl_key() {
        let (mut h, host, _, _) = containers(true);
        let ns = &mut h.snapshot.namespaces[host.0];
        ns.interfaces[1].ifname = crate::name::Name::from("br.100");
        if let Some(c) = ns.interfaces[1]
            .netconf
            .as_mut()
            .and_then(|c| c.ipv4.as_mut())
        {
            c.forwarding = Some(0);
        }
        let found = run(&h, forwarding_off);
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip netns exec host sysctl -w net.ipv4.conf.br/100.forwarding=1")
        );
    }

    #[test]
    fn ipv6_forwarding_is_the_namespace_wide_switch() {
        let (mut h, host, a, _) = containers(true);
        h.addr(host, 2, "fd00::1/64");
        h.addr(a, 2, "fd00::2/64");
        h.route(a, "::/0", Some("fd00::1"), 2);
        if let Some(all) = h.snapshot.namespaces[host.0]
            .netconf
            .as_mut()
            .and_then(|c| c.ipv6.all.as_mut())
        {
            all.forwarding = Some(0);
        }
        let found = run(&h, forwarding_off);
        assert_eq!(codes(&found), ["NSM025"]);
        assert!(found[0].message.starts_with("host does not forward IPv6"));
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip netns exec host sysctl -w net.ipv6.conf.all.forwarding=1")
        );
    }

    #[test]
    fn silent_without_layer3_data_or_netconf() {
        let (mut h, host, _, _) = containers(false);
        h.snapshot.namespaces[host.0].netconf = None;
        for i in &mut h.snapshot.namespaces[host.0].interfaces {
            i.netconf = None;
        }
        assert!(run(&h, forwarding_off).is_empty());
        let demo = demo();
        let l3 = L3::new(&demo);
        assert!(forwarding_off(&l3).is_empty());
        assert!(rp_filter_drops_transit(&l3).is_empty());
    }

    /// a (10.3.0.0/24 behind it on lan0) routes via r's ra (10.1.0.1);
    /// r reaches 10.3.0.0/24 only through rb, towards b.
    fn asymmetric() -> (Host, Ns, Ns, Ns) {
        let mut h = Host::new();
        let a = h.ns("a");
        let r = h.ns("r");
        let b = h.ns("b");
        let (ea, ra) = h.veth(a, "eth0", r, "ra");
        let (rb, eb) = h.veth(r, "rb", b, "eth0");
        let lan = h.iface(a, "lan0", None);
        h.addr(a, ea, "10.1.0.2/24");
        h.addr(a, lan, "10.3.0.1/24");
        h.addr(r, ra, "10.1.0.1/24");
        h.addr(r, rb, "10.2.0.1/24");
        h.addr(b, eb, "10.2.0.2/24");
        h.route(a, "0.0.0.0/0", Some("10.1.0.1"), ea);
        h.route(r, "10.3.0.0/24", Some("10.2.0.2"), rb);
        h.forwarding(a, true);
        h.forwarding(r, true);
        h.rp_filter_all(r, 1);
        (h, a, r, b)
    }

    #[test]
    fn strict_rp_filter_on_an_asymmetric_path() {
        let (h, a, r, _) = asymmetric();
        let found = run(&h, rp_filter_drops_transit);
        assert_eq!(codes(&found), ["NSM026"], "{found:#?}");
        assert_eq!(
            found[0].message,
            "strict rp_filter on ra in r: the route back to 10.3.0.1 leaves by rb, not by ra: r drops what a forwards from 10.3.0.0/24 (lan0@a) to it by ra@r (default via 10.1.0.1)"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip netns exec r sysctl -w net.ipv4.conf.ra.rp_filter=2")
        );
        assert_eq!(
            refs(&found[0]),
            [
                format!("ra@{}", h.inode(r)),
                format!("eth0@{}", h.inode(a)),
                format!("lan0@{}", h.inode(a)),
            ]
        );
        // Loose mode lets it through.
        let (mut h, _, r, _) = asymmetric();
        h.rp_filter_all(r, 2);
        assert!(run(&h, rp_filter_drops_transit).is_empty());
    }

    #[test]
    fn no_route_back_at_all_gets_a_route_as_fix() {
        let (mut h, _, r, _) = asymmetric();
        if let Some(routes) = h.snapshot.namespaces[r.0].routes.as_mut() {
            routes.retain(|x| x.dst != "10.3.0.0/24");
        }
        let found = run(&h, rp_filter_drops_transit);
        assert_eq!(codes(&found), ["NSM026"]);
        assert!(
            found[0]
                .message
                .starts_with("r has no route back to 10.3.0.1")
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n r route add 10.3.0.0/24 via 10.1.0.2 dev ra")
        );
    }

    #[test]
    fn a_symmetric_path_a_masquerading_sender_or_no_forwarding_is_fine() {
        let (mut h, _, r, _) = asymmetric();
        if let Some(routes) = h.snapshot.namespaces[r.0].routes.as_mut() {
            routes.retain(|x| x.dst != "10.3.0.0/24");
        }
        let ra = 2;
        h.route(r, "10.3.0.0/24", Some("10.1.0.2"), ra);
        assert!(run(&h, rp_filter_drops_transit).is_empty());
        // a masquerades what it forwards.
        let (mut h, a2, _, _) = asymmetric();
        h.nft_chain(a2, "ip", "postrouting", "accept", 1);
        if let Some(t) = h.snapshot.namespaces[a2.0]
            .firewall
            .as_mut()
            .and_then(|f| f.nftables.as_mut())
        {
            t[0].chains[0].kind = Some("nat".into());
        }
        assert!(run(&h, rp_filter_drops_transit).is_empty());
        // a does not forward from lan0: nothing from 10.3.0.0/24 arrives.
        let (mut h, a3, _, _) = asymmetric();
        h.forwarding(a3, false);
        assert!(run(&h, rp_filter_drops_transit).is_empty());
    }
}
