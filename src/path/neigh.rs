//! Neighbour resolution on a segment: which interface takes the frames for
//! a next hop.
//!
//! A permanent (or noarp) entry fixes the MAC: the interface on the segment
//! with that address gets the frame, whatever it does with it. Otherwise
//! the next hop must answer ARP (net/ipv4/arp.c `arp_process`) or NDP
//! (net/ipv6/ndisc.c `ndisc_recv_ns`):
//! - ARP: the receiving namespace must route the target as local for the
//!   request's source on that interface — the full input route, source
//!   validation (rp_filter) included — and its `arp_ignore` / `arp_filter`
//!   must allow the reply; a forwarding interface with `proxy_arp` (or a
//!   proxy entry) answers for targets it routes out of another device.
//!   Linux answers for any of the namespace's addresses on any interface
//!   (the weak host model) unless `arp_ignore` says otherwise.
//! - NDP: the target must be a usable address of the receiving interface
//!   itself (or a proxy entry with proxy_ndp and forwarding, or an anycast
//!   route).
//!
//! The request's source address (what rp_filter and `arp_ignore=2` judge)
//! is the packet's source when it is the sender's own, else the sending
//! device's address (arp_solicit with the default `arp_announce`).
//!
//! A learned entry's MAC breaks a tie; nothing answering is
//! `neighbour_unresolvable` unless the segment has openings (a tap, a
//! tunnel, the host's NIC) where someone unseen might answer.

use std::net::IpAddr;

use super::ctx::Ctx;
use super::fib::{self, Fib, Opts};
use super::rpf::{self, Check};
use super::source;
use super::view::{NsView, has_flag, iface_addrs, usable};
use super::wire::{Endpoint, Segment, Want, candidates};
use super::{Code, Stop};
use crate::resolve::format_mac;
use crate::snapshot::Interface;
use crate::snapshot::l3::Family;

/// What an endpoint says when asked for the next hop.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    Yes,
    No(String),
    Unknown(String),
}

/// The endpoint that takes frames for `target`, sent by `dev` of `sender`.
pub fn resolve<'a>(
    ctx: &Ctx<'a>,
    sender: &NsView<'a>,
    dev: &'a Interface,
    target: IpAddr,
    pkt_src: Option<IpAddr>,
) -> Result<(Endpoint<'a>, Vec<String>), Stop> {
    let family = Family::of(target);
    let dev_name = ctx.describe(sender.inode(), dev.ifindex);
    let mut notes = Vec::new();
    let entry = sender.neighbour(dev.ifindex, target);
    let seg = candidates(
        ctx,
        sender.inode(),
        dev.ifindex,
        Want {
            addr: target,
            mac: entry.and_then(|n| n.lladdr.as_deref()),
        },
    );
    let fixed = entry
        .filter(|n| n.state.iter().any(|s| s == "PERMANENT" || s == "NOARP") && n.lladdr.is_some());
    if let Some(entry) = fixed {
        let mac = entry.lladdr.as_deref().unwrap_or_default();
        let owners: Vec<&Endpoint<'a>> = seg
            .endpoints
            .iter()
            .filter(|e| e.iface.address.as_deref() == Some(mac))
            .collect();
        notes.push(format!(
            "{dev_name} sends to {target} at {mac} (a {} neighbour entry)",
            entry.state.join(",").to_lowercase()
        ));
        return pick(&seg, owners, &dev_name, target, notes, || {
            format!(
                "the {} neighbour entry for {target} on {dev_name} points at {mac}, which no interface on its segment has",
                entry.state.join(",").to_lowercase()
            )
        });
    }
    if has_flag(dev, "NOARP") || has_flag(dev, "POINTOPOINT") {
        return Err(Stop::unknown(
            Some(sender.inode()),
            format!(
                "{dev_name} does not resolve neighbours (NOARP / point-to-point), which nsmap does not model"
            ),
        ));
    }
    // The source the ARP request carries.
    let sips: Vec<IpAddr> = match family {
        Family::Inet => {
            let mut v = Vec::new();
            match pkt_src {
                Some(s) if source::is_own(sender, s) => v.push(s),
                _ => {
                    if let Some(s) = source::select_v4(sender, dev.ifindex, Some(target), 253) {
                        v.push(s);
                    }
                }
            }
            if v.is_empty() {
                v.push(IpAddr::from([0u8; 4]));
            }
            v
        }
        Family::Inet6 => Vec::new(),
    };
    let mut yes: Vec<&Endpoint<'a>> = Vec::new();
    let mut unknown: Vec<(&Endpoint<'a>, Code, String)> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for e in &seg.endpoints {
        // Most endpoints of a big bridge cannot answer: skip them before
        // building their namespace's routing view.
        if !ctx
            .namespace(e.netns)
            .is_some_and(|ns| could_answer(ns, e.iface, target))
        {
            continue;
        }
        let Some(view) = ctx.view(e.netns) else {
            continue;
        };
        if !view.has_layer3() {
            unknown.push((
                e,
                Code::NotScanned,
                format!(
                    "the snapshot has no layer-3 data for {}, where {} leads",
                    view.label(),
                    dev_name
                ),
            ));
            continue;
        }
        let answer = match family {
            Family::Inet => {
                let answers: Vec<Answer> = sips
                    .iter()
                    .map(|&sip| answers_arp(view, e.iface, target, sip))
                    .collect();
                combine(answers)
            }
            Family::Inet6 => answers_ndp(view, e.iface, target),
        };
        match answer {
            Answer::Yes => yes.push(e),

            Answer::No(why) if !why.is_empty() => refused.push(why),
            Answer::No(_) => {}
            Answer::Unknown(why) => unknown.push((e, Code::Unsupported, why)),
        }
    }
    // Only endpoints the frames reach can answer; one that is cut off
    // (down, behind a blocked port) only says why nobody does.
    let yes_open: Vec<&Endpoint<'a>> = yes
        .iter()
        .copied()
        .filter(|e| e.blocked.is_none())
        .collect();
    // A learned entry says who answered last.
    if yes_open.len() > 1
        && let Some(entry) = entry
        && let Some(mac) = &entry.lladdr
        && let Some(e) = yes_open
            .iter()
            .find(|e| e.iface.address.as_ref() == Some(mac))
    {
        notes.push(format!(
            "{dev_name} has {target} at {mac} ({})",
            entry.state.join(",").to_lowercase()
        ));
        return finish(e, notes);
    }
    if let Some((e, code, why)) = unknown.iter().find(|(e, _, _)| e.blocked.is_none()) {
        return Err(Stop::new(*code, Some(e.netns), why.clone()));
    }
    match yes_open.len() {
        1 => return finish(yes_open[0], notes),
        0 => {}
        _ => {
            return Err(Stop::new(
                Code::AmbiguousNeighbour,
                None,
                format!(
                    "{} interfaces on the segment of {dev_name} answer for {target} ({}): whichever answers first gets the traffic",
                    yes_open.len(),
                    yes_open
                        .iter()
                        .map(|e| e.iface.ifname.as_str().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    if let Some(b) = yes
        .iter()
        .copied()
        .chain(unknown.iter().map(|(e, _, _)| *e))
        .find_map(|e| e.blocked.clone())
    {
        return Err(Stop::new(b.code, Some(b.netns), b.reason).with_hint(b.hint));
    }
    if let Some(open) = seg.openings.first() {
        return Err(Stop::new(
            open.code,
            open.netns,
            format!(
                "nothing nsmap can see on the segment of {dev_name} answers for {target}; {}",
                open.reason
            ),
        ));
    }
    let mut why = format!("nobody on the segment of {dev_name} answers for {target}");
    if !refused.is_empty() {
        why.push_str(": ");
        why.push_str(&refused.join("; "));
    }
    Err(Stop::new(Code::NeighbourUnresolvable, None, why))
}

/// Whether sending to `target` out of `dev` asks the segment (ARP, NDP)
/// rather than following a permanent or noarp entry: then the request and
/// its reply cross the wire and the firewall hooks on it too.
pub fn asks(sender: &NsView<'_>, dev: &Interface, target: IpAddr) -> bool {
    let fixed = sender.neighbour(dev.ifindex, target).is_some_and(|n| {
        n.state.iter().any(|s| s == "PERMANENT" || s == "NOARP") && n.lladdr.is_some()
    });
    !fixed && !has_flag(dev, "NOARP") && !has_flag(dev, "POINTOPOINT")
}

/// Whether an endpoint might answer for `target` at all: its namespace has
/// the address, or it might answer for others' ([`may_answer_for_others`]).
/// Cheap: no routing view, no allocation.
fn could_answer(ns: &crate::snapshot::Namespace, iface: &Interface, target: IpAddr) -> bool {
    owns_address(ns, target) || may_answer_for_others(ns, iface, Family::of(target))
}

/// Whether any interface of the namespace holds `target`.
pub fn owns_address(ns: &crate::snapshot::Namespace, target: IpAddr) -> bool {
    ns.interfaces.iter().any(|i| match &i.addr_info {
        Some(info) => info.iter().any(|a| a.local == target),
        None => i
            .addresses
            .iter()
            .any(|a| a.split('/').next().and_then(|x| x.parse::<IpAddr>().ok()) == Some(target)),
    })
}

/// Whether `iface` might answer ARP/NDP for addresses its namespace does
/// not hold: as a proxy (forwarding not known off, and proxy_arp /
/// proxy_ndp not known off or a proxy entry), or through a local route
/// someone added (AnyIP), or because the snapshot has no layer 3 for it.
pub fn may_answer_for_others(
    ns: &crate::snapshot::Namespace,
    iface: &Interface,
    family: Family,
) -> bool {
    let dev = iface.netconf.as_ref().and_then(|c| match family {
        Family::Inet => c.ipv4.as_ref(),
        Family::Inet6 => c.ipv6.as_ref(),
    });
    let all = ns.netconf.as_ref().and_then(|c| match family {
        Family::Inet => c.ipv4.all.as_ref(),
        Family::Inet6 => c.ipv6.all.as_ref(),
    });
    // Proxies answer only where the device forwards (arp_process checks
    // IN_DEV_FORWARD; ndisc_recv_ns the device's forwarding).
    let forwards = dev.and_then(|c| c.forwarding) != Some(0);
    if forwards {
        let proxy_on = dev.and_then(|c| c.proxy_neigh) != Some(0)
            || all.and_then(|c| c.proxy_neigh) != Some(0);
        if proxy_on
            || ns
                .neighbours
                .as_ref()
                .is_none_or(|n| n.iter().any(|n| n.proxy))
        {
            return true;
        }
    }
    ns.routes.as_ref().is_none_or(|routes| {
        routes
            .iter()
            .any(|r| r.kind == "local" && r.protocol != "kernel")
    })
}

fn combine(answers: Vec<Answer>) -> Answer {
    if answers.iter().all(|a| *a == Answer::Yes) {
        return Answer::Yes;
    }
    if let Some(Answer::No(why)) = answers.iter().find(|a| matches!(a, Answer::No(_)))
        && answers.iter().all(|a| matches!(a, Answer::No(_)))
    {
        return Answer::No(why.clone());
    }
    answers
        .into_iter()
        .find(|a| matches!(a, Answer::Unknown(_)))
        .unwrap_or_else(|| Answer::Unknown("the ARP request's source address decides".to_string()))
}

/// Picks the one endpoint among `found`; a blocked one gives its block.
fn pick<'a>(
    seg: &Segment<'a>,
    found: Vec<&Endpoint<'a>>,
    dev_name: &str,
    target: IpAddr,
    notes: Vec<String>,
    nobody: impl FnOnce() -> String,
) -> Result<(Endpoint<'a>, Vec<String>), Stop> {
    let open: Vec<&Endpoint<'a>> = found
        .iter()
        .copied()
        .filter(|e| e.blocked.is_none())
        .collect();
    match (open.len(), found.len()) {
        (1, _) => finish(open[0], notes),
        (0, 0) => {
            if let Some(o) = seg.openings.first() {
                return Err(Stop::new(
                    o.code,
                    o.netns,
                    format!("{}; {}", nobody(), o.reason),
                ));
            }
            Err(Stop::new(Code::NeighbourUnresolvable, None, nobody()))
        }
        (0, _) => {
            let b = found[0].blocked.clone().unwrap_or_else(unreachable_block);
            Err(Stop::new(b.code, Some(b.netns), b.reason).with_hint(b.hint))
        }
        _ => Err(Stop::new(
            Code::AmbiguousNeighbour,
            None,
            format!(
                "{} interfaces on the segment of {dev_name} answer for {target} ({}): whichever answers first gets the traffic",
                open.len(),
                open.iter()
                    .map(|e| e.iface.ifname.as_str().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn unreachable_block() -> super::wire::Block {
    super::wire::Block {
        code: Code::NeighbourUnresolvable,
        netns: 0,
        reason: String::new(),
        hint: None,
    }
}

fn finish<'a>(e: &Endpoint<'a>, notes: Vec<String>) -> Result<(Endpoint<'a>, Vec<String>), Stop> {
    Ok((e.clone(), notes))
}

/// Whether `iface` of `view` answers an ARP request for `tip` from `sip`.
fn answers_arp(view: &NsView<'_>, iface: &Interface, tip: IpAddr, sip: IpAddr) -> Answer {
    if has_flag(iface, "NOARP") {
        return Answer::No(String::new());
    }
    // Only a local route makes it answer for itself, and only a forwarding
    // interface answers for others (proxy ARP): without either it refuses,
    // whatever its rules would do. Cheap, so a segment of a thousand
    // ports costs a thousand table scans, not a thousand lookups.
    if !view.has_local_route(tip) && view.forwarding4(iface.ifindex) != Some(true) {
        return Answer::No(String::new());
    }
    let label = view.label();
    let name = iface.ifname.as_str();
    let flow = fib::input_flow(Family::Inet, tip, sip, iface.ifindex, 0, None, None);
    let route = match fib::lookup(view, &flow, Opts::default()) {
        Err(e) => return Answer::Unknown(e),
        Ok(Fib::Route(m)) => m,
        Ok(_) => return Answer::No(String::new()),
    };
    match route.route.kind.as_str() {
        "local" => {
            match rpf::validate(view, sip, tip, None, iface.ifindex, Default::default()) {
                Check::Pass => {}
                Check::Martian(why) | Check::Rpf(why) => {
                    return Answer::No(format!(
                        "{name}@{label} would, but drops the request: {why}"
                    ));
                }
                Check::Unknown(why) => return Answer::Unknown(why),
            }
            let configured_here = || {
                iface_addrs(iface)
                    .iter()
                    .any(|a| a.local == tip && a.family == Family::Inet)
            };
            // IN_DEV_ARP_IGNORE is max(all, device). `all` is read only
            // where it can matter (several addressed devices, a service
            // address on lo); elsewhere the device's value is taken, and
            // the trace says so.
            let mut assumed = false;
            let ignore = match view.arp_ignore_parts(iface.ifindex) {
                (Some(d), Some(a)) => d.max(a),
                (Some(d), None) => {
                    assumed = true;
                    d
                }
                _ => {
                    return Answer::Unknown(format!(
                        "nsmap does not know arp_ignore for {name} in {label}"
                    ));
                }
            };
            match ignore {
                0 | 4..=7 => {}
                1 => {
                    if !configured_here() {
                        return Answer::No(format!(
                            "{name}@{label} has {tip} on another interface and arp_ignore=1"
                        ));
                    }
                }
                2 => {
                    let same_subnet = iface_addrs(iface).iter().any(|a| {
                        a.local == tip
                            && super::net::Prefix {
                                addr: a.local,
                                len: a.prefixlen,
                            }
                            .contains(sip)
                    });
                    if !same_subnet {
                        return Answer::No(format!(
                            "{name}@{label} has arp_ignore=2 and {sip} is not in the subnet of {tip} there"
                        ));
                    }
                }
                8 => {
                    return Answer::No(format!("{name}@{label} has arp_ignore=8 (never answers)"));
                }
                other => {
                    return Answer::Unknown(format!(
                        "{name}@{label} has arp_ignore={other}, which nsmap does not model"
                    ));
                }
            }
            // IN_DEV_ARPFILTER is all || device: when it might be on, the
            // reply must leave by this interface (arp_filter()); if it
            // would, the knob cannot change the answer.
            let filter_on = match view.arp_filter_parts(iface.ifindex) {
                (Some(d), Some(a)) => Some(d != 0 || a != 0),
                (Some(d), None) if d != 0 => Some(true),
                (Some(_), None) => None,
                _ => {
                    return Answer::Unknown(format!(
                        "nsmap does not know arp_filter for {name} in {label}"
                    ));
                }
            };
            // The note goes with the namespace's view: a trace shows it
            // where its walk went.
            let yes = || {
                if assumed {
                    view.assume("arp_ignore");
                }
                Answer::Yes
            };
            if filter_on == Some(false) {
                return yes();
            }
            let back = fib::output_flow(Family::Inet, sip, Some(tip), None, 0, None, None);
            let passes = match fib::lookup(view, &back, Opts::default()) {
                Ok(Fib::Route(m)) => m.paths.iter().any(|p| p.dev == iface.ifindex),
                Ok(_) => false,
                Err(e) => return Answer::Unknown(e),
            };
            match (passes, filter_on) {
                (true, _) => yes(),
                (false, Some(true)) => Answer::No(format!(
                    "{name}@{label} has arp_filter on and would not reply through {name}"
                )),
                (false, _) => Answer::Unknown(format!(
                    "{name}@{label} answers only if net.ipv4.conf.all.arp_filter is off, and it was not read"
                )),
            }
        }
        "unicast" => {
            // Proxy ARP: a forwarding interface answers for targets it
            // routes out of another device.
            if view.forwarding4(iface.ifindex) != Some(true) {
                return Answer::No(String::new());
            }
            let other_dev = route.paths.iter().all(|p| p.dev != iface.ifindex);
            if !other_dev {
                return Answer::No(String::new());
            }
            if view.proxy_entry(iface.ifindex, tip) {
                return Answer::Yes;
            }
            match view.proxy_arp(iface.ifindex) {
                Some(true) => Answer::Yes,
                Some(false) => Answer::No(String::new()),
                None => Answer::Unknown(format!(
                    "nsmap does not know proxy_arp for {name} in {label}"
                )),
            }
        }
        _ => Answer::No(String::new()),
    }
}

/// Whether `iface` of `view` answers a neighbour solicitation for `tip`.
fn answers_ndp(view: &NsView<'_>, iface: &Interface, tip: IpAddr) -> Answer {
    let label = view.label();
    let name = iface.ifname.as_str();
    match view.ipv6_disabled(iface.ifindex) {
        Some(true) => return Answer::No(format!("{name}@{label} has IPv6 disabled")),
        Some(false) => {}
        None if iface.netconf.is_some() => {}
        None => {
            return Answer::Unknown(format!(
                "nsmap does not know whether IPv6 is enabled on {name} in {label}"
            ));
        }
    }
    let addrs = iface_addrs(iface);
    if let Some(a) = addrs.iter().find(|a| a.local == tip) {
        if usable(a) {
            return Answer::Yes;
        }
        return Answer::No(format!(
            "{tip} on {name}@{label} is {} (duplicate address detection)",
            a.flags.join(",")
        ));
    }
    if view.forwarding6() == Some(true)
        && view.proxy_ndp(iface.ifindex) == Some(true)
        && view.proxy_entry(iface.ifindex, tip)
    {
        return Answer::Yes;
    }
    Answer::No(String::new())
}

/// `aa:bb:…` of an interface, for notes.
pub fn mac_of(iface: &Interface) -> String {
    iface.address.clone().unwrap_or_else(|| format_mac(&[]))
}
