//! The hop-by-hop walk: originate, route, resolve the next hop on the
//! wire, arrive in the next namespace and check what its input path does
//! (net/ipv4/route.c `ip_route_input_slow`, `ip_route_output_key_hash_rcu`,
//! ip_forward.c; net/ipv6/route.c, ip6_input.c, ip6_output.c
//! `ip6_forward`), until the packet is delivered or dropped; then the same
//! for the reply, from the destination back to the source address.
//!
//! Where the kernel's choice is random (multipath, equal default routes)
//! every choice is walked: one verdict when they agree, `unknown` when they
//! do not. The walk is bounded (TTL 64, a seen set per leg, a budget of
//! legs), so a routing loop ends with `loop`, never a hang.

use std::cell::Cell;
use std::net::IpAddr;

use super::ctx::Ctx;
use super::fib::{self, Fib, Match, NextHop, Opts, Reject};
use super::firewall::{self, Hook, Layer};
use super::neigh;
use super::net::{self, Prefix};
use super::nft;
use super::rpf::{self, Check};
use super::source;
use super::view::{NsView, has_carrier, iface_addrs, is_up};
use super::wire::{self, Endpoint, Step};
use super::{
    Action, Code, Direction, DstInfo, Hop, NatRecord, NatStep, Proto, Query, RouteUsed, SrcInfo,
    Stop, Trace, Verdict,
};
use crate::doctor::fix;
use crate::snapshot::l3::{Family, RoutePath};
use crate::snapshot::{Interface, LinkRef, Snapshot};

/// The TTL (hop limit) a packet starts with: net.ipv4.ip_default_ttl.
const TTL: u8 = 64;
/// How many walks (forks included) one trace may take.
const LEG_BUDGET: usize = 64;

/// The packet being walked.
#[derive(Clone, Copy, Debug)]
struct Packet {
    family: Family,
    src: Option<IpAddr>,
    dst: IpAddr,
    proto: u8,
    /// Transport ports; None where nothing offline can know them (the
    /// ephemeral port a socket gets, or `--dport` not given).
    sport: Option<u16>,
    dport: Option<u16>,
    ttl: u8,
    /// The reply of the connection, not its first packet (conntrack).
    reply: bool,
    /// skb->mark, as firewall rules on the way set it (0 where it starts).
    mark: u32,
    /// Conntrack in the namespace it is in knows its connection: always
    /// for the first packet; for the reply only where the first packet
    /// passed (conntrack is per namespace).
    tracked: bool,
}

impl Packet {
    /// What a firewall hook sees of it, given its `in` and `out` devices.
    fn seen(&self, iif: Option<u32>, oif: Option<u32>) -> firewall::Seen {
        firewall::Seen {
            family: self.family,
            src: self.src,
            dst: self.dst,
            proto: self.proto,
            sport: self.sport,
            dport: self.dport,
            ttl: self.ttl,
            mark: self.mark,
            reply: self.reply,
            tracked: self.tracked,
            iif,
            oif,
            bridge: None,
            ndp: false,
            follows_nat: false,
            restore: None,
            ndp_src: None,
        }
    }

    fn transport(&self) -> fib::Transport {
        fib::Transport {
            proto: self.proto,
            sport: self.sport,
            dport: self.dport,
        }
    }
}

/// How a leg ended.
#[derive(Clone, Debug)]
enum End {
    Delivered {
        netns: u64,
        iface: LinkRef,
        src: Option<IpAddr>,
        /// Where it was delivered to (after any destination NAT): where
        /// the reply comes from.
        dst: IpAddr,
        dport: Option<u16>,
    },
    Stopped(Stop),
}

/// One walk, from its start to its end.
#[derive(Clone, Debug)]
struct Leg {
    hops: Vec<Hop>,
    end: End,
    notes: Vec<String>,
    /// The source address the packet got at its origin, once chosen.
    src: Option<IpAddr>,
}

struct Walker<'c, 'a> {
    ctx: &'c Ctx<'a>,
    budget: Cell<usize>,
    /// The translations of the forward leg whose reply is being walked.
    nat: std::cell::RefCell<Vec<NatRecord>>,
    /// The namespaces that forward leg crossed.
    crossed: std::cell::RefCell<Vec<u64>>,
}

/// What a namespace does with an arriving packet.
struct Arrival {
    netns: u64,
    iface: u32,
    via: Vec<LinkRef>,
}

/// Traces `query` through `snapshot`.
pub fn trace(snapshot: &Snapshot, query: &Query) -> Trace {
    let ctx = Ctx::new(snapshot);
    let walker = Walker {
        ctx: &ctx,
        budget: Cell::new(LEG_BUDGET),
        nat: std::cell::RefCell::new(Vec::new()),
        crossed: std::cell::RefCell::new(Vec::new()),
    };
    let family = Family::of(query.dst);
    let (proto, dport) = match query.proto {
        Proto::Icmp => (
            if family == Family::Inet {
                fib::IPPROTO_ICMP
            } else {
                fib::IPPROTO_ICMPV6
            },
            None,
        ),
        Proto::Tcp => (fib::IPPROTO_TCP, query.dport),
        Proto::Udp => (fib::IPPROTO_UDP, query.dport),
    };
    let packet = Packet {
        family,
        src: query.from,
        dst: query.dst,
        proto,
        sport: None,
        dport,
        ttl: TTL,
        reply: false,
        mark: 0,
        tracked: true,
    };
    let forward = walker.originate(query.netns, query.oif, packet, query.proto, false);
    // Every forward leg, with its return legs.
    let mut combos: Vec<(Leg, Option<Leg>)> = Vec::new();
    for leg in forward {
        match &leg.end {
            End::Delivered {
                netns,
                src,
                iface,
                dst: delivered_to,
                dport: delivered_port,
            } => {
                let Some(reply_to) = src.or(query.from) else {
                    combos.push((leg, None));
                    continue;
                };
                // A reply to a link-local address leaves by the interface
                // the packet came in by (its scope; icmpv6_echo_reply sets
                // flowi6_oif to the arrival device).
                let reply_oif = (family == Family::Inet6 && net::is_ipv6_link_local(reply_to))
                    .then_some(iface.ifindex);
                let reply = Packet {
                    family,
                    src: Some(*delivered_to),
                    dst: reply_to,
                    proto,
                    // The reply comes from the port the request went to,
                    // back to the sender's ephemeral one.
                    sport: *delivered_port,
                    dport: None,
                    ttl: TTL,
                    reply: true,
                    mark: 0,
                    tracked: true,
                };
                // Conntrack undoes on the reply what nat rules did to the
                // request, where they did it, and knows the connection only
                // in the namespaces the request crossed.
                *walker.nat.borrow_mut() = leg
                    .hops
                    .iter()
                    .flat_map(|h| h.nat.iter().filter_map(|n| n.record))
                    .collect();
                *walker.crossed.borrow_mut() = leg.hops.iter().filter_map(|h| h.netns).collect();
                for back in walker.originate(*netns, reply_oif, reply, query.proto, true) {
                    combos.push((leg.clone(), Some(back)));
                }
            }
            End::Stopped(_) => combos.push((leg, None)),
        }
    }
    summarize(&ctx, query, combos)
}

/// The verdict of one (forward, return) pair.
fn outcome(
    query: &Query,
    ctx: &Ctx<'_>,
    fwd: &Leg,
    back: Option<&Leg>,
) -> (Verdict, Option<Stop>, Option<Direction>) {
    match (&fwd.end, back) {
        (End::Stopped(s), _) => (s.code.verdict(), Some(s.clone()), Some(Direction::Forward)),
        (End::Delivered { .. }, None) => (
            Verdict::Unreachable,
            Some(Stop::new(
                Code::NoSourceAddress,
                Some(query.netns),
                "the packet has no source address to reply to",
            )),
            Some(Direction::Forward),
        ),
        (End::Delivered { .. }, Some(back)) => match &back.end {
            // The reply must come from the address the packet went to: a
            // translation of the destination not undone on the way back
            // (its reply skipped the namespace that made it) reaches the
            // sender from another address, which no socket takes.
            End::Delivered { netns, src, .. }
                if *netns == query.netns && src.is_some_and(|s| s != query.dst) =>
            {
                (
                    Verdict::Unreachable,
                    Some(Stop::new(
                        Code::ReplyMisdelivered,
                        Some(*netns),
                        format!(
                            "the reply comes back from {}, not from {}, the address the packet was sent to: a translation of its destination was not undone on the way back",
                            src.map_or_else(String::new, |s| s.to_string()),
                            query.dst
                        ),
                    )),
                    Some(Direction::Return),
                )
            }
            End::Delivered { netns, .. } if *netns == query.netns => {
                (Verdict::Reachable, None, None)
            }
            End::Delivered { netns, .. } => (
                Verdict::Unreachable,
                Some(Stop::new(
                    Code::ReplyMisdelivered,
                    Some(*netns),
                    format!(
                        "the reply is delivered to {}, not to {}: the source address is not unique on the way back",
                        ctx.label(*netns),
                        ctx.label(query.netns)
                    ),
                )),
                Some(Direction::Return),
            ),
            End::Stopped(s) => {
                let mut s = s.clone();
                if s.code == Code::NoRoute {
                    s.code = Code::NoReturnRoute;
                    s.reason = format!("the reply cannot get back: {}", s.reason);
                }
                (s.code.verdict(), Some(s), Some(Direction::Return))
            }
        },
    }
}

fn summarize(ctx: &Ctx<'_>, query: &Query, combos: Vec<(Leg, Option<Leg>)>) -> Trace {
    let outcomes: Vec<(Verdict, Option<Stop>, Option<Direction>)> = combos
        .iter()
        .map(|(f, b)| outcome(query, ctx, f, b.as_ref()))
        .collect();
    let first = combos.first();
    let mut notes: Vec<String> = Vec::new();
    if let Some((f, b)) = first {
        notes.extend(f.notes.iter().cloned());
        if let Some(b) = b {
            notes.extend(b.notes.iter().map(|n| format!("reply: {n}")));
        }
    }
    let agree = outcomes.windows(2).all(|w| {
        w[0].0 == w[1].0 && w[0].1.as_ref().map(|s| s.code) == w[1].1.as_ref().map(|s| s.code)
    });
    let (mut verdict, mut stop, direction) =
        outcomes
            .first()
            .cloned()
            .unwrap_or((Verdict::Unknown, None, None));
    if !agree {
        let described: Vec<String> = outcomes
            .iter()
            .map(|(v, s, _)| match s {
                Some(s) => format!("{} ({})", v.as_str(), s.code.as_str()),
                None => v.as_str().to_string(),
            })
            .collect();
        verdict = Verdict::Unknown;
        stop = Some(Stop::new(
            Code::Multipath,
            None,
            format!(
                "the outcome depends on which of several equal routes the kernel picks: {}; the first is shown",
                described.join(", ")
            ),
        ));
    } else if combos.len() > 1 {
        notes.push(format!(
            "{} equal-cost choices on the way, all with the same outcome; the first is shown",
            combos.len()
        ));
    }
    let (forward, back, src, delivered) = match first {
        Some((f, b)) => {
            let (src, delivered) = match &f.end {
                End::Delivered {
                    netns, iface, src, ..
                } => (*src, Some((*netns, iface.clone()))),
                End::Stopped(_) => (query.from, None),
            };
            (
                f.hops.clone(),
                b.as_ref().map(|b| b.hops.clone()).unwrap_or_default(),
                src,
                delivered,
            )
        }
        None => (Vec::new(), Vec::new(), query.from, None),
    };
    // The source the sender chose (a masquerade on the way changes what
    // arrives, not what was sent).
    let src_address = first.and_then(|(f, _)| f.src).or(src);
    // Knobs the snapshot lacks, taken as the device's, where the shown
    // walk went.
    let mut crossed: Vec<u64> = forward
        .iter()
        .chain(&back)
        .filter_map(|h| h.netns)
        .collect();
    crossed.dedup();
    let mut assumed: Vec<(&'static str, Vec<String>)> = Vec::new();
    for netns in crossed {
        for knob in ctx.view(netns).map(|v| v.assumptions()).unwrap_or_default() {
            let label = ctx.label(netns);
            match assumed.iter_mut().find(|(k, _)| *k == knob) {
                Some((_, labels)) if !labels.contains(&label) => labels.push(label),
                Some(_) => {}
                None => assumed.push((knob, vec![label])),
            }
        }
    }
    for (knob, labels) in assumed {
        notes.push(format!(
            "took each device's own {knob} for net.ipv4.conf.all.{knob}, not read in {} (nsmap reads it only where several devices are addressed)",
            labels.join(", ")
        ));
    }
    Trace {
        verdict,
        code: stop.as_ref().map(|s| s.code),
        reason: stop.as_ref().map(|s| s.reason.clone()),
        hint: stop.as_ref().and_then(|s| s.hint.clone()),
        direction: if verdict == Verdict::Reachable {
            None
        } else {
            direction
        },
        src: SrcInfo {
            netns: Some(query.netns),
            interface: query.oif.map(|i| ctx.link_ref(query.netns, i)),
            address: src_address,
        },
        dst: DstInfo {
            address: query.dst,
            netns: delivered.as_ref().map(|(n, _)| *n),
            interface: delivered.map(|(_, i)| i),
        },
        proto: query.proto,
        dport: query.dport,
        forward,
        back,
        notes,
    }
}

/// Legs that left their origin with `src` as their source address.
fn with_source(mut legs: Vec<Leg>, src: Option<IpAddr>) -> Vec<Leg> {
    for leg in &mut legs {
        leg.src = leg.src.or(src);
    }
    legs
}

impl<'c, 'a> Walker<'c, 'a> {
    fn leg(&self, hops: Vec<Hop>, end: End, notes: Vec<String>) -> Vec<Leg> {
        vec![Leg {
            hops,
            end,
            notes,
            src: None,
        }]
    }

    fn stop(&self, mut hops: Vec<Hop>, stop: Stop, notes: Vec<String>) -> Vec<Leg> {
        // The chain that stopped it is one the last hop crossed.
        if let (Some(step), Some(last)) = (&stop.firewall, hops.last_mut()) {
            last.firewall.push((**step).clone());
        }
        self.leg(hops, End::Stopped(stop), notes)
    }

    fn hop(&self, netns: u64, action: Action) -> Hop {
        Hop {
            netns: Some(netns),
            label: self.ctx.label(netns),
            in_: None,
            out: None,
            route: None,
            action,
            via: Vec::new(),
            notes: Vec::new(),
            firewall: Vec::new(),
            nat: Vec::new(),
            mark: None,
        }
    }

    /// Applies what a nat chain asked for at `hook` (the destination at
    /// prerouting, the source at postrouting) or, on a reply, undoes the
    /// forward leg's translation made here, as conntrack does. `own` is the
    /// address a masquerade or redirect takes. Returns the step made.
    fn translate(
        &self,
        netns: u64,
        hook: Hook,
        pkt: &mut Packet,
        asked: Option<&firewall::Translation>,
        own: impl Fn() -> Option<IpAddr>,
    ) -> Result<Option<NatStep>, Stop> {
        let word = match hook {
            Hook::Prerouting => "prerouting",
            _ => "postrouting",
        };
        let destination = hook == Hook::Prerouting;
        if pkt.reply {
            // The reply of a source-translated connection comes back to
            // the new source (undone at prerouting); the reply of a
            // destination-translated one leaves from the new destination
            // (undone at postrouting).
            let records = self.nat.borrow();
            let Some(r) = records.iter().find(|r| {
                r.netns == netns
                    && r.destination != destination
                    && if destination {
                        pkt.dst == r.to.0
                    } else {
                        pkt.src == Some(r.to.0)
                    }
            }) else {
                return Ok(None);
            };
            let before = if destination {
                endpoint(pkt.dst, pkt.dport)
            } else {
                endpoint(pkt.src.unwrap_or(r.to.0), pkt.sport)
            };
            if destination {
                pkt.dst = r.from.0;
                pkt.dport = r.from.1.or(pkt.dport);
            } else {
                pkt.src = Some(r.from.0);
                pkt.sport = r.from.1.or(pkt.sport);
            }
            let after = if destination {
                endpoint(pkt.dst, pkt.dport)
            } else {
                endpoint(r.from.0, pkt.sport)
            };
            return Ok(Some(NatStep {
                kind: if r.destination {
                    "undo-dnat"
                } else {
                    "undo-snat"
                }
                .into(),
                hook: word.into(),
                from: before,
                to: after,
                rule: None,
                record: None,
            }));
        }
        let Some(t) = asked else { return Ok(None) };
        let for_destination = matches!(t.kind, nft::NatKind::Dnat | nft::NatKind::Redirect);
        if for_destination != destination {
            return Ok(None);
        }
        let Some(addr) = t.addr.or_else(&own) else {
            return Err(Stop::new(
                Code::FirewallRules,
                Some(netns),
                format!(
                    "{} {} it, and nsmap finds no address of the device for it",
                    self.ctx.label(netns),
                    firewall::nat_word(t.kind)
                ),
            ));
        };
        let (old_addr, old_port) = if destination {
            (pkt.dst, pkt.dport)
        } else {
            (pkt.src.unwrap_or(addr), pkt.sport)
        };
        let new_port = t.port.or(old_port);
        if destination {
            pkt.dst = addr;
            pkt.dport = new_port;
        } else {
            pkt.src = Some(addr);
            pkt.sport = new_port;
        }
        Ok(Some(NatStep {
            kind: firewall::nat_word(t.kind).into(),
            hook: word.into(),
            from: endpoint(old_addr, old_port),
            to: endpoint(addr, new_port),
            rule: Some(t.rule.clone()),
            record: Some(NatRecord {
                netns,
                destination,
                from: (old_addr, old_port),
                to: (addr, new_port),
            }),
        }))
    }

    /// The packet as it enters `netns` from `from`: a veth into another
    /// namespace scrubs its mark (skb_scrub_packet), and a reply is known
    /// to conntrack there only if the request crossed it.
    fn enter(&self, mut pkt: Packet, netns: u64, from: u64) -> Packet {
        if netns != from {
            pkt.mark = 0;
        }
        pkt.tracked = !pkt.reply || self.crossed.borrow().contains(&netns);
        pkt
    }

    /// On a reply at prerouting or postrouting: the packet as conntrack
    /// restores it there, with the step, if the forward leg translated it
    /// in this namespace.
    fn undo_on_reply(
        &self,
        netns: u64,
        hook: Hook,
        pkt: &Packet,
    ) -> Result<Option<(Packet, NatStep)>, Stop> {
        if !pkt.reply || !matches!(hook, Hook::Prerouting | Hook::Postrouting) {
            return Ok(None);
        }
        let mut undone = *pkt;
        Ok(self
            .translate(netns, hook, &mut undone, None, || None)?
            .map(|step| (undone, step)))
    }

    /// The view of a namespace the packet is in, or why there is none.
    fn view_of(&self, netns: u64) -> Result<&'c NsView<'a>, Stop> {
        let Some(view) = self.ctx.view(netns) else {
            return Err(Stop::new(
                Code::NotScanned,
                Some(netns),
                format!("net:[{netns}] is not in the snapshot"),
            ));
        };
        if !view.ns.scanned {
            return Err(Stop::new(
                Code::NotScanned,
                Some(netns),
                format!("nsmap could not dump {} (run as root)", view.label()),
            ));
        }
        if !view.has_layer3() {
            return Err(Stop::new(
                Code::NotScanned,
                Some(netns),
                format!(
                    "the snapshot has no routes for {} (recorded without layer 3?)",
                    view.label()
                ),
            ));
        }
        Ok(view)
    }

    /// A packet sent from `netns` (bound to `oif` if given). A `reply`
    /// takes the request's destination as its source from the kernel
    /// (icmp_reply, a socket's accept), not from a bind(): no check that
    /// the namespace has that address on an interface.
    fn originate(
        &self,
        netns: u64,
        oif: Option<u32>,
        pkt: Packet,
        proto: Proto,
        reply: bool,
    ) -> Vec<Leg> {
        let mut hops = Vec::new();
        let mut hop = self.hop(netns, Action::Originate);
        let view = match self.view_of(netns) {
            Ok(v) => v,
            Err(s) => {
                hop.action = Action::Unknown;
                hops.push(hop);
                return self.stop(hops, s, Vec::new());
            }
        };
        let label = view.label();
        if let Some(src) = pkt.src
            && !reply
            && !source::is_own(view, src)
        {
            hop.action = Action::Drop;
            hops.push(hop);
            return self.stop(
                hops,
                Stop::new(
                    Code::SourceNotLocal,
                    Some(netns),
                    format!("{src} is not an address of {label}: a socket cannot bind to it"),
                ),
                Vec::new(),
            );
        }
        if let Some(oif) = oif {
            let Some(dev) = view.iface(oif) else {
                hops.push(hop);
                return self.stop(
                    hops,
                    Stop::unknown(Some(netns), format!("{label} has no interface {oif}")),
                    Vec::new(),
                );
            };
            if !is_up(dev) {
                hop.action = Action::Drop;
                hop.out = Some(self.ctx.link_ref(netns, oif));
                hops.push(hop);
                return self.stop(
                    hops,
                    Stop::new(
                        Code::LinkDown,
                        Some(netns),
                        format!("{} is down", self.ctx.describe(netns, oif)),
                    )
                    .with_hint(fix::ip(
                        view.ns,
                        &format!("link set dev {} up", fix::quote(&dev.ifname)),
                    )),
                    Vec::new(),
                );
            }
        }
        if pkt.family == Family::Inet6 && net::is_ipv6_link_local(pkt.dst) && oif.is_none() {
            hops.push(hop);
            return self.stop(
                hops,
                Stop::unknown(
                    Some(netns),
                    format!(
                        "{} is link-local: say which interface to send it from (IFNAME@{label})",
                        pkt.dst
                    ),
                ),
                Vec::new(),
            );
        }
        let flow = fib::output_flow(
            pkt.family, pkt.dst, pkt.src, oif, pkt.proto, pkt.sport, pkt.dport,
        );
        let mut notes = Vec::new();
        let mut result = match fib::lookup(view, &flow, Opts::default()) {
            Ok(r) => r,
            Err(why) => {
                hop.action = Action::Unknown;
                hops.push(hop);
                return self.stop(hops, Stop::unknown(Some(netns), why), notes);
            }
        };
        // IPv6 picks a source for an unbound socket from the first lookup's
        // route; when that failed, from all addresses, and looks up again
        // with it (ip6_dst_lookup_tail), so `from` rules may then match.
        if pkt.family == Family::Inet6
            && pkt.src.is_none()
            && matches!(result, Fib::NoRoute | Fib::Reject { .. })
            && let Some(src) = source::select_v6(view, oif.unwrap_or(0), pkt.dst)
        {
            let second = fib::output_flow(
                pkt.family,
                pkt.dst,
                Some(src),
                oif,
                pkt.proto,
                pkt.sport,
                pkt.dport,
            );
            if let Ok(r) = fib::lookup(view, &second, Opts::default()) {
                result = r;
            }
        }
        match result {
            Fib::Route(m) => self.route_out(view, hop, m, pkt, oif, proto, hops, notes),
            Fib::NoRoute | Fib::Reject { .. } if oif.is_some() && pkt.family == Family::Inet => {
                // "Apparently, routing tables are wrong. Assume, that the
                // destination is on link." (ip_route_output_key_hash_rcu)
                let oif = oif.unwrap_or_default();
                notes.push(format!(
                    "no route to {} through {}: the kernel assumes it is on that link",
                    pkt.dst,
                    self.ctx.describe(netns, oif)
                ));
                let mut pkt = pkt;
                if pkt.src.is_none() {
                    pkt.src = source::select_v4(view, oif, None, 253);
                }
                let next = NextHop {
                    gateway: None,
                    dev: oif,
                    onlink: true,
                    weight: 1,
                };
                with_source(
                    self.egress(
                        view,
                        hop,
                        None,
                        &next,
                        pkt,
                        Direction::Forward,
                        hops,
                        notes,
                        &mut Vec::new(),
                    ),
                    pkt.src,
                )
            }
            other => {
                hop.action = Action::Drop;
                hops.push(hop);
                let stop = self.refusal(view, other, &pkt, None);
                self.stop(hops, stop, notes)
            }
        }
    }

    /// Why a lookup that found no usable route stops the packet.
    fn refusal(&self, view: &NsView<'a>, result: Fib<'a>, pkt: &Packet, iif: Option<u32>) -> Stop {
        let netns = view.inode();
        let label = view.label();
        let dst = pkt.dst;
        match result {
            Fib::Reject {
                kind,
                rule,
                route,
                table,
            } => {
                let by = match (route, rule) {
                    (Some(r), _) => format!(
                        "the {} route {} in table {}",
                        r.kind,
                        fib::describe_dst(
                            &Prefix::parse(&r.dst).unwrap_or(Prefix { addr: dst, len: 0 })
                        ),
                        table.map_or_else(|| "?".into(), table_name)
                    ),
                    (None, Some(p)) => format!("rule {p} ({})", reject_word(kind)),
                    (None, None) => reject_word(kind).to_string(),
                };
                let code = match kind {
                    Reject::Blackhole => Code::Blackhole,
                    Reject::Unreachable => Code::UnreachableRoute,
                    Reject::Prohibit => Code::Prohibit,
                };
                let matched = match rule {
                    Some(p) if route.is_some() => format!(" (looked up by rule {p})"),
                    _ => String::new(),
                };
                Stop::new(
                    code,
                    Some(netns),
                    format!("{label} drops packets to {dst}: {by}{matched}"),
                )
            }
            Fib::NoRoute | Fib::Route(_) => {
                if net::is_loopback(dst)
                    && view.loopback().is_some_and(|lo| !is_up(lo))
                    && iif.is_none()
                {
                    let hint = view.loopback().and_then(|lo| {
                        fix::ip(
                            view.ns,
                            &format!("link set dev {} up", fix::quote(&lo.ifname)),
                        )
                    });
                    return Stop::new(
                        Code::LoDown,
                        Some(netns),
                        format!("lo is down in {label}, so {dst} is unreachable there"),
                    )
                    .with_hint(hint);
                }
                // A device that is down takes its routes with it.
                if iif.is_none()
                    && let Some(down) = view.ns.interfaces.iter().find(|i| {
                        !is_up(i)
                            && iface_addrs(i).iter().any(|a| {
                                Prefix {
                                    addr: a.local,
                                    len: a.prefixlen,
                                }
                                .contains(dst)
                            })
                    })
                {
                    return Stop::new(
                        Code::LinkDown,
                        Some(netns),
                        format!(
                            "{label} has no route to {dst}: {} is down (its connected route is gone with it)",
                            self.ctx.describe(netns, down.ifindex)
                        ),
                    )
                    .with_hint(fix::ip(view.ns, &format!("link set dev {} up", fix::quote(&down.ifname))));
                }
                let hint = fix::ip(
                    view.ns,
                    if dst.is_ipv4() {
                        "route add default via <GATEWAY>"
                    } else {
                        "-6 route add default via <GATEWAY>"
                    },
                );
                Stop::new(
                    Code::NoRoute,
                    Some(netns),
                    format!("{label} has no route to {dst}"),
                )
                .with_hint(hint)
            }
        }
    }

    /// A route was found for a packet leaving `view`'s namespace as its
    /// sender: local delivery, or out of a device (every path of a
    /// multipath route, each walked).
    #[allow(clippy::too_many_arguments)]
    fn route_out(
        &self,
        view: &'c NsView<'a>,
        mut hop: Hop,
        m: Match<'a>,
        pkt: Packet,
        oif: Option<u32>,
        proto: Proto,
        mut hops: Vec<Hop>,
        mut notes: Vec<String>,
    ) -> Vec<Leg> {
        let netns = view.inode();
        match m.route.kind.as_str() {
            "local" => {
                hop.route = Some(route_used(&m, None));
                let mut pkt = pkt;
                if pkt.src.is_none() {
                    pkt.src = Some(m.route.prefsrc.unwrap_or(pkt.dst));
                }
                return with_source(self.deliver_local(view, hop, pkt, hops, notes), pkt.src);
            }
            "unicast" => {}
            other => {
                hop.action = Action::Unknown;
                hop.route = Some(route_used(&m, None));
                hops.push(hop);
                return self.stop(
                    hops,
                    Stop::unknown(
                        Some(netns),
                        format!(
                            "the route to {} is {other}; nsmap follows unicast only",
                            pkt.dst
                        ),
                    ),
                    notes,
                );
            }
        }
        let mut choices: Vec<(Match<'a>, NextHop)> =
            m.paths.iter().map(|p| (m.clone(), p.clone())).collect();
        if oif.is_none() {
            choices.extend(equal_routes(view, &m, &pkt, false));
        } else {
            choices.truncate(1);
        }
        let mut legs = Vec::new();
        for (m, path) in choices {
            if !self.spend() {
                legs.extend(self.stop(
                    hops.clone(),
                    Stop::new(
                        Code::Multipath,
                        Some(netns),
                        "too many equal-cost paths to follow",
                    ),
                    notes.clone(),
                ));
                break;
            }
            let mut pkt = pkt;
            let mut m = m;
            let mut path = path;
            if pkt.src.is_none() {
                pkt.src = source::select(view, Some(m.route), path.dev, path.gateway, pkt.dst);
                // A connecting socket (TCP) looks up again with the source
                // it was given (ip_route_connect), so `from` rules count.
                if proto == Proto::Tcp
                    && let Some(src) = pkt.src
                {
                    let again = fib::output_flow(
                        pkt.family,
                        pkt.dst,
                        Some(src),
                        oif,
                        pkt.proto,
                        pkt.sport,
                        pkt.dport,
                    );
                    match fib::lookup(view, &again, Opts::default()) {
                        Ok(Fib::Route(m2)) => {
                            if !std::ptr::eq(m2.route, m.route)
                                && let Some(p2) = m2.paths.first().cloned()
                            {
                                m = m2;
                                path = p2;
                            }
                        }
                        Ok(other) => {
                            let mut hop = hop.clone();
                            hop.action = Action::Drop;
                            let mut hops = hops.clone();
                            hops.push(hop);
                            let stop = self.refusal(view, other, &pkt, None);
                            legs.extend(self.stop(hops, stop, notes.clone()));
                            continue;
                        }
                        Err(why) => {
                            legs.extend(self.stop(
                                hops.clone(),
                                Stop::unknown(Some(netns), why),
                                notes.clone(),
                            ));
                            continue;
                        }
                    }
                }
            }
            let Some(src) = pkt.src else {
                let mut hop = hop.clone();
                hop.action = Action::Drop;
                hop.route = Some(route_used(&m, Some(&path)));
                let mut hops = hops.clone();
                hops.push(hop);
                legs.extend(self.stop(
                    hops,
                    Stop::new(
                        Code::NoSourceAddress,
                        Some(netns),
                        format!(
                            "{} has no address to send from on {}",
                            view.label(),
                            self.ctx.describe(netns, path.dev)
                        ),
                    ),
                    notes.clone(),
                ));
                continue;
            };
            legs.extend(with_source(
                self.egress(
                    view,
                    hop.clone(),
                    Some(&m),
                    &path,
                    pkt,
                    Direction::Forward,
                    hops.clone(),
                    notes.clone(),
                    &mut Vec::new(),
                ),
                Some(src),
            ));
        }
        if legs.is_empty() {
            notes.push("no usable next hop".into());
            hops.push(hop);
            return self.stop(
                hops,
                Stop::unknown(Some(netns), "no usable next hop"),
                notes,
            );
        }
        legs
    }

    fn spend(&self) -> bool {
        let left = self.budget.get();
        if left == 0 {
            return false;
        }
        self.budget.set(left - 1);
        true
    }

    /// Delivery to the namespace's own stack when it sends to itself: over
    /// lo, which must be up.
    fn deliver_local(
        &self,
        view: &NsView<'a>,
        mut hop: Hop,
        pkt: Packet,
        mut hops: Vec<Hop>,
        notes: Vec<String>,
    ) -> Vec<Leg> {
        let netns = view.inode();
        let Some(lo) = view.loopback() else {
            hop.action = Action::Unknown;
            hops.push(hop);
            return self.stop(
                hops,
                Stop::unknown(Some(netns), "the namespace has no loopback device"),
                notes,
            );
        };
        let lo_ref = self.ctx.link_ref(netns, lo.ifindex);
        hop.out = Some(lo_ref.clone());
        if !is_up(lo) {
            hop.action = Action::Drop;
            hops.push(hop);
            return self.stop(
                hops,
                Stop::new(
                    Code::LoDown,
                    Some(netns),
                    format!(
                        "{} is {}'s own address, and local delivery goes over lo, which is down",
                        pkt.dst,
                        view.label()
                    ),
                )
                .with_hint(fix::ip(
                    view.ns,
                    &format!("link set dev {} up", fix::quote(&lo.ifname)),
                )),
                notes,
            );
        }
        let ip = Layer::Ip(pkt.family);
        // Over lo: its own egress and ingress hooks between the two halves.
        let lo_dev = Layer::Device {
            dev: &lo.ifname,
            ip: true,
        };
        let (out, inn) = (
            pkt.seen(None, Some(lo.ifindex)),
            pkt.seen(Some(lo.ifindex), None),
        );
        for (layer, hook, seen) in [
            (ip, Hook::Output, out),
            (ip, Hook::Postrouting, out),
            (lo_dev, Hook::Egress, out),
            (lo_dev, Hook::Ingress, inn),
            (ip, Hook::Prerouting, inn),
            (ip, Hook::Input, inn),
        ] {
            match firewall::check(view, layer, hook, &seen)
                .and_then(|p| firewall::mark_not_carried(view, &p, pkt.mark).map(|()| p))
            {
                Ok(p) => hop.absorb(p),
                Err(s) => {
                    hop.action = if s.code == Code::FirewallDrop {
                        Action::Drop
                    } else {
                        Action::Unknown
                    };
                    hops.push(hop);
                    return self.stop(hops, s, notes);
                }
            }
        }
        hop.action = Action::Deliver;
        hop.in_ = Some(lo_ref.clone());
        hops.push(hop);
        self.leg(
            hops,
            End::Delivered {
                netns,
                iface: lo_ref,
                src: pkt.src,
                dst: pkt.dst,
                dport: pkt.dport,
            },
            notes,
        )
    }

    /// The packet leaves `view`'s namespace by `next.dev`: find who takes
    /// it on the wire, cross the namespaces in between at layer 2, and
    /// arrive.
    #[allow(clippy::too_many_arguments)]
    fn egress(
        &self,
        view: &'c NsView<'a>,
        mut hop: Hop,
        m: Option<&Match<'a>>,
        next: &NextHop,
        pkt: Packet,
        dir: Direction,
        mut hops: Vec<Hop>,
        mut notes: Vec<String>,
        seen: &mut Vec<(u64, u32, Option<IpAddr>, IpAddr)>,
    ) -> Vec<Leg> {
        let netns = view.inode();
        let _ = dir;
        hop.out = Some(self.ctx.link_ref(netns, next.dev));
        if let Some(m) = m {
            hop.route = Some(route_used(m, Some(next)));
        }
        let Some(dev) = view.iface(next.dev) else {
            hop.action = Action::Unknown;
            hops.push(hop);
            return self.stop(
                hops,
                Stop::unknown(
                    Some(netns),
                    format!("no interface {} in {}", next.dev, view.label()),
                ),
                notes,
            );
        };
        let drop = |mut hop: Hop, hops: &mut Vec<Hop>, s: &Stop| {
            hop.action = if s.code.verdict() == Verdict::Unknown {
                Action::Unknown
            } else {
                Action::Drop
            };
            hops.push(hop);
        };
        if !is_up(dev) {
            let s = Stop::new(
                Code::LinkDown,
                Some(netns),
                format!("{} is down", self.ctx.describe(netns, dev.ifindex)),
            )
            .with_hint(fix::ip(
                view.ns,
                &format!("link set dev {} up", fix::quote(&dev.ifname)),
            ));
            drop(hop, &mut hops, &s);
            return self.stop(hops, s, notes);
        }
        // Hooks on the way out of this namespace.
        let hooks: &[Hook] = if hop.action == Action::Forward {
            &[Hook::Forward, Hook::Postrouting]
        } else {
            &[Hook::Output, Hook::Postrouting]
        };
        // A forwarded packet keeps its input device at postrouting too
        // (ip_output passes skb->dev as `in`).
        let came_by = (hop.action == Action::Forward)
            .then(|| hop.in_.as_ref().map(|r| r.ifindex))
            .flatten();
        let mut pkt = pkt;
        for &h in hooks {
            // A reply's translation is undone at postrouting's nat
            // position: chains after it see the restored source.
            let undo = match self.undo_on_reply(netns, h, &pkt) {
                Ok(undo) => undo,
                Err(s) => {
                    drop(hop, &mut hops, &s);
                    return self.stop(hops, s, notes);
                }
            };
            let seen = firewall::Seen {
                follows_nat: true,
                restore: undo.as_ref().and_then(|(p, _)| restored(h, p)),
                ..pkt.seen(came_by, Some(next.dev))
            };
            let (asked, marked) = match firewall::check(view, Layer::Ip(pkt.family), h, &seen) {
                Ok(mut p) => {
                    let nat = p.nat.take();
                    let mark = p.mark;
                    hop.absorb(p);
                    (nat, mark)
                }
                Err(s) => {
                    drop(hop, &mut hops, &s);
                    return self.stop(hops, s, notes);
                }
            };
            if let Some(m) = marked {
                // A mark set at output re-routes a locally sent packet
                // (ip_route_me_harder) where rules route by mark.
                let by_mark = view
                    .rules(pkt.family)
                    .iter()
                    .any(|r| r.rule.fwmark.is_some());
                if h == Hook::Output && m != pkt.mark && by_mark {
                    let s = Stop::new(
                        Code::FirewallRules,
                        Some(netns),
                        format!(
                            "{} marks what it sends itself ({m:#x}) and routes by mark: the kernel routes it again, which nsmap does not follow yet",
                            view.label()
                        ),
                    );
                    drop(hop, &mut hops, &s);
                    return self.stop(hops, s, notes);
                }
                pkt.mark = m;
            }
            if h == Hook::Output
                && asked
                    .as_ref()
                    .is_some_and(|t| matches!(t.kind, nft::NatKind::Dnat | nft::NatKind::Redirect))
            {
                // The kernel routes a locally sent packet again after
                // output DNAT (ip_route_me_harder); not followed yet.
                let s = Stop::new(
                    Code::FirewallRules,
                    Some(netns),
                    format!(
                        "{} translates the destination of what it sends itself (output {}), which nsmap does not follow yet",
                        view.label(),
                        asked
                            .as_ref()
                            .map_or("dnat", |t| firewall::nat_word(t.kind))
                    ),
                );
                drop(hop, &mut hops, &s);
                return self.stop(hops, s, notes);
            }
            if let Some((undone, step)) = undo {
                let mark = pkt.mark;
                pkt = undone;
                pkt.mark = mark;
                hop.nat.push(step);
            } else if h == Hook::Postrouting {
                // A masquerade takes the address the output device would
                // give the next hop (nf_nat_masquerade_ipv4: rt_nexthop,
                // then inet_select_addr at universe scope).
                let (dst, family) = (pkt.dst, pkt.family);
                let hop_addr = next.gateway.unwrap_or(dst);
                let own = || match family {
                    Family::Inet => source::select_v4(view, next.dev, Some(hop_addr), 0),
                    Family::Inet6 => source::select(view, None, next.dev, next.gateway, dst),
                };
                match self.translate(netns, Hook::Postrouting, &mut pkt, asked.as_ref(), own) {
                    Ok(Some(step)) => hop.nat.push(step),
                    Ok(None) => {}
                    Err(s) => {
                        drop(hop, &mut hops, &s);
                        return self.stop(hops, s, notes);
                    }
                }
            }
        }
        if dev.flags.iter().any(|f| f == "LOOPBACK") {
            hop.action = Action::Unknown;
            hops.push(hop);
            return self.stop(
                hops,
                Stop::unknown(Some(netns), format!("the route sends {} out of lo, which loops it back; nsmap does not follow that", pkt.dst)),
                notes,
            );
        }
        let target = next.gateway.unwrap_or(pkt.dst);
        let (endpoint, resolve_notes) = match neigh::resolve(self.ctx, view, dev, target, pkt.src) {
            Ok(found) => found,
            Err(mut s) => {
                if s.netns.is_none() {
                    s.netns = Some(netns);
                }
                if s.code == Code::NeighbourUnresolvable && !has_carrier(dev) {
                    s = Stop::new(
                        Code::NoCarrier,
                        Some(netns),
                        format!(
                            "{} has no carrier (its far end is down or missing)",
                            self.ctx.describe(netns, dev.ifindex)
                        ),
                    );
                }
                drop(hop, &mut hops, &s);
                return self.stop(hops, s, notes);
            }
        };
        notes.extend(resolve_notes);
        let asks = neigh::asks(view, dev, target).then_some(target);
        self.cross(view, hop, endpoint, pkt, asks, hops, notes, seen)
    }

    /// From the sender's hop, over the wire (namespaces crossed at layer
    /// 2 become hops of their own), into the receiving namespace.
    #[allow(clippy::too_many_arguments)]
    fn cross(
        &self,
        sender: &'c NsView<'a>,
        mut hop: Hop,
        endpoint: Endpoint<'a>,
        pkt: Packet,
        asks: Option<IpAddr>,
        mut hops: Vec<Hop>,
        notes: Vec<String>,
        seen: &mut Vec<(u64, u32, Option<IpAddr>, IpAddr)>,
    ) -> Vec<Leg> {
        let groups = group_steps(&endpoint.path);
        let last = groups.len().saturating_sub(1);
        // The source a neighbour solicitation for the packet goes from:
        // the packet's own where the sending device has it, else the
        // device's link-local address (ndisc_solicit).
        let ndp_src = if pkt.family == Family::Inet6 {
            hop.out
                .as_ref()
                .and_then(|r| sender.iface(r.ifindex))
                .and_then(|dev| {
                    let addrs = iface_addrs(dev);
                    if let Some(src) = pkt.src.filter(|s| addrs.iter().any(|a| a.local == *s)) {
                        return Some(src);
                    }
                    addrs
                        .iter()
                        .find(|a| net::is_ipv6_link_local(a.local) && super::view::usable(a))
                        .map(|a| a.local)
                })
        } else {
            None
        };
        // Each group's share of the devices' ways (groups split the path
        // in order).
        let passes = wire::passes(self.ctx, &endpoint.path);
        let mut shares = Vec::with_capacity(groups.len());
        let mut at = 0;
        for (_, steps) in &groups {
            shares.push(&passes[at..at + steps.len()]);
            at += steps.len();
        }
        let role = |i: usize| firewall::Role {
            sends: i == 0,
            answers: i == last,
        };
        for (i, (netns, steps)) in groups.iter().enumerate() {
            let refs: Vec<LinkRef> = steps
                .iter()
                .map(|s| self.ctx.link_ref(s.netns, s.ifindex))
                .collect();
            if i == 0 {
                // After the devices it arrived by (a forwarding hop), the
                // ones it leaves by.
                for r in refs {
                    if hop.via.last() != Some(&r) {
                        hop.via.push(r);
                    }
                }
                // A bridge in the sender's own namespace (it sends from the
                // bridge device): the bridge's output hooks.
                let wired = firewall::wire(
                    sender,
                    steps,
                    shares[i],
                    asks,
                    role(i),
                    &firewall::Seen {
                        ndp_src,
                        ..pkt.seen(None, None)
                    },
                )
                .map(|p| hop.absorb(p));
                let bridged = wired.and_then(|()| {
                    self.bridge_hooks(
                        sender,
                        steps,
                        &[Hook::Output, Hook::Postrouting],
                        &pkt,
                        false,
                    )
                });
                if let Err(s) = bridged.map(|p| hop.absorb(p)) {
                    hop.action = if s.code == Code::FirewallDrop {
                        Action::Drop
                    } else {
                        Action::Unknown
                    };
                    hops.push(hop);
                    return self.stop(hops, s, notes);
                }
                hops.push(hop.clone());
                continue;
            }
            if i == last {
                break;
            }
            let pkt = self.enter(pkt, *netns, sender.inode());
            let mut l2 = self.hop(*netns, Action::Bridge);
            l2.in_ = refs.first().cloned();
            l2.out = refs.last().cloned();
            l2.via = refs;
            let view = match self.ctx.view(*netns) {
                Some(v) => v,
                None => {
                    l2.action = Action::Unknown;
                    hops.push(l2);
                    return self.stop(
                        hops,
                        Stop::new(
                            Code::NotScanned,
                            Some(*netns),
                            "a namespace on the wire is not in the snapshot",
                        ),
                        notes,
                    );
                }
            };
            let wired = firewall::wire(
                view,
                steps,
                shares[i],
                asks,
                role(i),
                &firewall::Seen {
                    ndp_src,
                    ..pkt.seen(None, None)
                },
            )
            .map(|p| l2.absorb(p));
            let bridged = wired.and_then(|()| {
                self.bridge_hooks(
                    view,
                    steps,
                    &[Hook::Prerouting, Hook::Forward, Hook::Postrouting],
                    &pkt,
                    true,
                )
            });
            if let Err(s) = bridged.map(|p| l2.absorb(p)) {
                l2.action = if s.code == Code::FirewallDrop {
                    Action::Drop
                } else {
                    Action::Unknown
                };
                hops.push(l2);
                return self.stop(hops, s, notes);
            }
            hops.push(l2);
        }
        let (netns, steps) = groups.last().cloned().unwrap_or((
            endpoint.netns,
            vec![Step {
                netns: endpoint.netns,
                ifindex: endpoint.iface.ifindex,
            }],
        ));
        let arrival = Arrival {
            netns,
            iface: endpoint.iface.ifindex,
            via: steps
                .iter()
                .map(|s| self.ctx.link_ref(s.netns, s.ifindex))
                .collect(),
        };
        let _ = sender;
        // The receiver's share of the wire (checked above when the wire
        // stays in the sender's namespace).
        if last > 0
            && let Some(view) = self.ctx.view(netns)
            && let Err(s) = firewall::wire(
                view,
                &steps,
                shares[last],
                asks,
                role(last),
                &firewall::Seen {
                    ndp_src,
                    ..pkt.seen(None, None)
                },
            )
        {
            let mut hop = self.hop(netns, Action::Unknown);
            if s.code == Code::FirewallDrop {
                hop.action = Action::Drop;
            }
            hop.in_ = Some(self.ctx.link_ref(netns, arrival.iface));
            hop.via = arrival.via;
            hops.push(hop);
            return self.stop(hops, s, notes);
        }
        let pkt = self.enter(pkt, arrival.netns, sender.inode());
        self.arrive(arrival, steps, pkt, hops, notes, seen)
    }

    /// The firewall hooks of bridges among `steps` (bridge family, and the
    /// IP family's when br_netfilter sends bridged traffic through them).
    fn bridge_hooks(
        &self,
        view: &NsView<'a>,
        steps: &[Step],
        hooks: &[Hook],
        pkt: &Packet,
        forwarded: bool,
    ) -> Result<firewall::Passed, Stop> {
        let mut notes = firewall::Passed::default();
        for (at, step) in steps.iter().enumerate() {
            let Some(bridge) = view.iface(step.ifindex) else {
                continue;
            };
            if !bridge.kind_is("bridge") {
                continue;
            }
            // The bridge family sees the ports a frame enters and leaves
            // by (the steps around the bridge); br_netfilter hands the IP
            // hooks the bridge itself as both (brnf_get_logical_dev).
            let port = |i: Option<usize>| {
                i.and_then(|i| steps.get(i))
                    .filter(|s| s.netns == step.netns && s.ifindex != step.ifindex)
                    .map(|s| s.ifindex)
            };
            let (in_port, out_port) = (port(at.checked_sub(1)), port(Some(at + 1)));
            for &h in hooks {
                let (iif, oif) = match h {
                    Hook::Prerouting | Hook::Input => (in_port, None),
                    Hook::Output | Hook::Postrouting => (None, out_port),
                    _ => (in_port, out_port),
                };
                let seen = firewall::Seen {
                    bridge: Some(bridge.ifindex),
                    ..pkt.seen(iif, oif)
                };
                notes.extend(firewall::check(view, Layer::Bridge, h, &seen)?);
            }
            if forwarded && br_netfilter(view, bridge, pkt.family)? {
                let logical = pkt.seen(Some(bridge.ifindex), Some(bridge.ifindex));
                for &h in hooks {
                    let seen = match h {
                        Hook::Prerouting => logical.on(Some(bridge.ifindex), None),
                        Hook::Postrouting => logical.on(None, Some(bridge.ifindex)),
                        _ => logical,
                    };
                    notes.extend(firewall::check(view, Layer::Ip(pkt.family), h, &seen)?);
                }
            }
        }
        firewall::mark_not_carried(view, &notes, pkt.mark)?;
        Ok(notes)
    }

    /// A packet arrives in a namespace by an interface: the input path.
    fn arrive(
        &self,
        arrival: Arrival,
        steps: Vec<Step>,
        pkt: Packet,
        mut hops: Vec<Hop>,
        notes: Vec<String>,
        seen: &mut Vec<(u64, u32, Option<IpAddr>, IpAddr)>,
    ) -> Vec<Leg> {
        let netns = arrival.netns;
        let mut hop = self.hop(netns, Action::Deliver);
        hop.in_ = Some(self.ctx.link_ref(netns, arrival.iface));
        hop.via = arrival.via;
        let view = match self.view_of(netns) {
            Ok(v) => v,
            Err(s) => {
                hop.action = Action::Unknown;
                hops.push(hop);
                return self.stop(hops, s, notes);
            }
        };
        let label = view.label();
        let key = (netns, arrival.iface, pkt.src, pkt.dst);
        if seen.contains(&key) {
            hop.action = Action::Drop;
            hops.push(hop);
            return self.stop(
                hops,
                Stop::new(
                    Code::Loop,
                    Some(netns),
                    format!(
                        "routing loop: the packet to {} comes back to {} by the same interface",
                        pkt.dst, label
                    ),
                ),
                notes,
            );
        }
        seen.push(key);
        let Some(iface) = view.iface(arrival.iface) else {
            hops.push(hop);
            return self.stop(
                hops,
                Stop::unknown(
                    Some(netns),
                    "arrived on an interface that is not in the snapshot",
                ),
                notes,
            );
        };
        let dev_name = self.ctx.describe(netns, iface.ifindex);
        let Some(src) = pkt.src else {
            hop.action = Action::Drop;
            hops.push(hop);
            return self.stop(
                hops,
                Stop::new(
                    Code::NoSourceAddress,
                    Some(netns),
                    "the packet has no source address",
                ),
                notes,
            );
        };
        let dst = pkt.dst;
        let drop_with = |mut hop: Hop, mut hops: Vec<Hop>, s: Stop| -> Vec<Leg> {
            hop.action = if s.code.verdict() == Verdict::Unknown {
                Action::Unknown
            } else {
                Action::Drop
            };
            hops.push(hop);
            self.stop(hops, s, notes.clone())
        };
        // Martians (ip_route_input_slow; ip6_rcv_core).
        match pkt.family {
            Family::Inet => {
                if net::is_multicast(src) || net::is_limited_broadcast(src) || net::is_zeronet(src)
                {
                    return drop_with(
                        hop,
                        hops,
                        Stop::new(
                            Code::MartianSource,
                            Some(netns),
                            format!("{label} drops a packet from {src} (a martian source)"),
                        ),
                    );
                }
                if net::is_zeronet(dst) {
                    return drop_with(
                        hop,
                        hops,
                        Stop::new(
                            Code::MartianDestination,
                            Some(netns),
                            format!("{label} drops a packet to {dst} (a martian destination)"),
                        ),
                    );
                }
                if net::is_loopback(dst) || net::is_loopback(src) {
                    match view.route_localnet(iface.ifindex) {
                        Some(true) => {}
                        Some(false) => {
                            let code = if net::is_loopback(dst) {
                                Code::MartianDestination
                            } else {
                                Code::MartianSource
                            };
                            return drop_with(
                                hop,
                                hops,
                                Stop::new(
                                    code,
                                    Some(netns),
                                    format!(
                                        "{label} drops 127.0.0.0/8 traffic arriving on {dev_name} (route_localnet is off)"
                                    ),
                                ),
                            );
                        }
                        None => {
                            return drop_with(
                                hop,
                                hops,
                                Stop::unknown(
                                    Some(netns),
                                    format!("nsmap does not know route_localnet for {dev_name}"),
                                ),
                            );
                        }
                    }
                }
            }
            Family::Inet6 => {
                match view.ipv6_disabled(iface.ifindex) {
                    Some(true) => {
                        return drop_with(
                            hop,
                            hops,
                            Stop::new(
                                Code::Ipv6Disabled,
                                Some(netns),
                                format!("IPv6 is disabled on {dev_name}"),
                            ),
                        );
                    }
                    Some(false) => {}
                    None if iface.netconf.is_some() => {}
                    None => {
                        return drop_with(
                            hop,
                            hops,
                            Stop::unknown(
                                Some(netns),
                                format!(
                                    "nsmap does not know whether IPv6 is enabled on {dev_name}"
                                ),
                            ),
                        );
                    }
                }
                if net::is_multicast(src) || net::is_loopback(dst) || net::is_loopback(src) {
                    return drop_with(
                        hop,
                        hops,
                        Stop::new(
                            Code::MartianSource,
                            Some(netns),
                            format!(
                                "{label} drops a packet from {src} to {dst} arriving on {dev_name}"
                            ),
                        ),
                    );
                }
            }
        }
        // The bridge (if it came through one here) and prerouting hooks.
        match self.bridge_hooks(view, &steps, &[Hook::Prerouting, Hook::Input], &pkt, false) {
            Ok(p) => hop.absorb(p),
            Err(s) => return drop_with(hop, hops, s),
        }
        // A reply's translation is undone at prerouting's nat position:
        // chains after it see the restored destination.
        let undo = match self.undo_on_reply(netns, Hook::Prerouting, &pkt) {
            Ok(undo) => undo,
            Err(s) => return drop_with(hop, hops, s),
        };
        let arriving = firewall::Seen {
            follows_nat: true,
            restore: undo
                .as_ref()
                .and_then(|(p, _)| restored(Hook::Prerouting, p)),
            ..pkt.seen(Some(iface.ifindex), None)
        };
        let (asked, marked) =
            match firewall::check(view, Layer::Ip(pkt.family), Hook::Prerouting, &arriving) {
                Ok(mut p) => {
                    let nat = p.nat.take();
                    let mark = p.mark;
                    hop.absorb(p);
                    (nat, mark)
                }
                Err(s) => return drop_with(hop, hops, s),
            };
        let mut pkt = match undo {
            Some((undone, step)) => {
                hop.nat.push(step);
                undone
            }
            None => pkt,
        };
        // The input route lookup sees a mark prerouting set.
        if let Some(m) = marked {
            pkt.mark = m;
        }
        // A redirect takes the arrival device's first address
        // (nf_nat_redirect_ipv4).
        let family = pkt.family;
        let own = || {
            iface_addrs(iface)
                .into_iter()
                .find(|a| a.family == family && super::view::usable(a))
                .map(|a| a.local)
        };
        match self.translate(netns, Hook::Prerouting, &mut pkt, asked.as_ref(), own) {
            Ok(Some(step)) => hop.nat.push(step),
            Ok(None) => {}
            Err(s) => return drop_with(hop, hops, s),
        }
        let dst = pkt.dst;
        let arriving = pkt.seen(Some(iface.ifindex), None);
        let mut flow = fib::input_flow(
            pkt.family,
            dst,
            src,
            iface.ifindex,
            pkt.proto,
            pkt.sport,
            pkt.dport,
        );
        flow.mark = pkt.mark;
        hop.mark = (pkt.mark != 0).then_some(pkt.mark);
        let result = match fib::lookup(view, &flow, Opts::default()) {
            Ok(r) => r,
            Err(why) => return drop_with(hop, hops, Stop::unknown(Some(netns), why)),
        };
        let forwarding = match pkt.family {
            Family::Inet => view.forwarding4(iface.ifindex),
            Family::Inet6 => view.forwarding6_on(iface.ifindex),
        };
        let forwarding_hint = || {
            let key = match pkt.family {
                Family::Inet => format!("net.ipv4.conf.{}.forwarding=1", iface.ifname.as_str()),
                Family::Inet6 => "net.ipv6.conf.all.forwarding=1".to_string(),
            };
            sysctl_hint(view, &key)
        };
        let m = match result {
            Fib::Route(m) => m,
            other => {
                // With forwarding off a miss is "host unreachable"
                // (ip_route_input_slow: !IN_DEV_FORWARD → EHOSTUNREACH).
                if pkt.family == Family::Inet && forwarding == Some(false) {
                    return drop_with(
                        hop,
                        hops,
                        Stop::new(
                            Code::ForwardingDisabled,
                            Some(netns),
                            format!("{dst} is not {label}'s, and {label} does not forward IPv4 arriving on {dev_name}"),
                        )
                        .with_hint(forwarding_hint()),
                    );
                }
                let stop = self.refusal(view, other, &pkt, Some(iface.ifindex));
                return drop_with(hop, hops, stop);
            }
        };
        match m.route.kind.as_str() {
            "local" | "anycast" if pkt.family == Family::Inet6 || m.route.kind == "local" => {
                if pkt.family == Family::Inet {
                    match rpf::validate(view, src, dst, None, iface.ifindex, pkt.transport()) {
                        Check::Pass => {}
                        Check::Martian(why) => {
                            let stop = martian(&hops, netns, &label, why);
                            return drop_with(hop, hops, stop);
                        }
                        Check::Rpf(why) => {
                            return drop_with(
                                hop,
                                hops,
                                Stop::new(Code::RpFilter, Some(netns), why).with_hint(sysctl_hint(
                                    view,
                                    &format!("net.ipv4.conf.{}.rp_filter=2", iface.ifname.as_str()),
                                )),
                            );
                        }
                        Check::Unknown(why) => {
                            return drop_with(hop, hops, Stop::unknown(Some(netns), why));
                        }
                    }
                }
                match firewall::check(view, Layer::Ip(pkt.family), Hook::Input, &arriving) {
                    Ok(p) => hop.absorb(p),
                    Err(s) => return drop_with(hop, hops, s),
                }
                hop.route = Some(route_used(&m, None));
                hop.action = Action::Deliver;
                let iface_ref = self.ctx.link_ref(netns, iface.ifindex);
                hops.push(hop);
                self.leg(
                    hops,
                    End::Delivered {
                        netns,
                        iface: iface_ref,
                        src: Some(src),
                        dst,
                        dport: pkt.dport,
                    },
                    notes,
                )
            }
            "unicast" => {
                match forwarding {
                    Some(true) => {}
                    Some(false) => {
                        hop.route = Some(route_used(&m, m.paths.first()));
                        return drop_with(
                            hop,
                            hops,
                            Stop::new(
                                Code::ForwardingDisabled,
                                Some(netns),
                                format!(
                                    "{dst} is not {label}'s and {label} does not forward {} (forwarding is off{})",
                                    if pkt.family == Family::Inet { "IPv4" } else { "IPv6" },
                                    if pkt.family == Family::Inet { format!(" on {dev_name}") } else { String::new() }
                                ),
                            )
                            .with_hint(forwarding_hint()),
                        );
                    }
                    None => {
                        return drop_with(
                            hop,
                            hops,
                            Stop::unknown(
                                Some(netns),
                                format!("nsmap does not know whether {label} forwards"),
                            ),
                        );
                    }
                }
                if pkt.family == Family::Inet6
                    && (net::is_ipv6_link_local(src) || net::is_ipv6_link_local(dst))
                {
                    return drop_with(
                        hop,
                        hops,
                        Stop::new(
                            Code::MartianSource,
                            Some(netns),
                            format!("{label} does not forward link-local IPv6 ({src} → {dst})"),
                        ),
                    );
                }
                if pkt.ttl <= 1 {
                    return drop_with(
                        hop,
                        hops,
                        Stop::new(
                            Code::TtlExhausted,
                            Some(netns),
                            format!("the TTL runs out in {label}"),
                        ),
                    );
                }
                hop.action = Action::Forward;
                let mut pkt = pkt;
                pkt.ttl -= 1;
                let mut choices: Vec<(Match<'a>, NextHop)> =
                    m.paths.iter().map(|p| (m.clone(), p.clone())).collect();
                choices.extend(equal_routes(view, &m, &pkt, true));
                let mut legs = Vec::new();
                for (m, path) in choices {
                    if !self.spend() {
                        legs.extend(self.stop(
                            hops.clone(),
                            Stop::new(
                                Code::Multipath,
                                Some(netns),
                                "too many equal-cost paths to follow",
                            ),
                            notes.clone(),
                        ));
                        break;
                    }
                    if pkt.family == Family::Inet {
                        match rpf::validate(
                            view,
                            src,
                            dst,
                            Some(path.dev),
                            iface.ifindex,
                            pkt.transport(),
                        ) {
                            Check::Pass => {}
                            Check::Martian(why) => {
                                let stop = martian(&hops, netns, &label, why);
                                legs.extend(drop_with(hop.clone(), hops.clone(), stop));
                                continue;
                            }
                            Check::Rpf(why) => {
                                legs.extend(drop_with(
                                    hop.clone(),
                                    hops.clone(),
                                    Stop::new(Code::RpFilter, Some(netns), why).with_hint(
                                        sysctl_hint(
                                            view,
                                            &format!(
                                                "net.ipv4.conf.{}.rp_filter=2",
                                                iface.ifname.as_str()
                                            ),
                                        ),
                                    ),
                                ));
                                continue;
                            }
                            Check::Unknown(why) => {
                                legs.extend(drop_with(
                                    hop.clone(),
                                    hops.clone(),
                                    Stop::unknown(Some(netns), why),
                                ));
                                continue;
                            }
                        }
                    }
                    let mut seen_here = seen.clone();
                    legs.extend(self.egress(
                        view,
                        hop.clone(),
                        Some(&m),
                        &path,
                        pkt,
                        Direction::Forward,
                        hops.clone(),
                        notes.clone(),
                        &mut seen_here,
                    ));
                }
                legs
            }
            "broadcast" | "multicast" | "anycast" => drop_with(
                hop,
                hops,
                Stop::unknown(
                    Some(netns),
                    format!(
                        "{dst} is a {} address in {label}; nsmap follows unicast only",
                        m.route.kind
                    ),
                ),
            ),
            other => drop_with(
                hop,
                hops,
                Stop::unknown(
                    Some(netns),
                    format!("the route to {dst} in {label} is {other}"),
                ),
            ),
        }
    }
}

/// A martian source: where the packet is back at the namespace that sent
/// it, a routing loop (the sender drops its own packet as a martian).
fn martian(hops: &[Hop], netns: u64, label: &str, why: String) -> Stop {
    if hops.first().and_then(|h| h.netns) == Some(netns) {
        return Stop::new(
            Code::Loop,
            Some(netns),
            format!(
                "routing loop: the packet comes back to {label}, its sender, which drops it as a martian ({why})"
            ),
        );
    }
    Stop::new(Code::MartianSource, Some(netns), why)
}

/// Other routes the kernel may pick instead of `m`'s: equal IPv4 default
/// routes (fib_select_default) and IPv6 routes of the same prefix and
/// metric (rt6_select round-robin). Each with its first usable path.
///
/// Only locally generated IPv4 packets choose among default routes:
/// fib_select_default is called from fib_select_path (output, no bound
/// device); a forwarded packet (ip_mkroute_input) takes the first one the
/// table holds. IPv6 round-robins in rt6_select for both.
fn equal_routes<'a>(
    view: &NsView<'a>,
    m: &Match<'a>,
    pkt: &Packet,
    forwarded: bool,
) -> Vec<(Match<'a>, NextHop)> {
    let v4_default = pkt.family == Family::Inet && m.prefix_len == 0 && !forwarded;
    if !(v4_default || pkt.family == Family::Inet6) {
        return Vec::new();
    }
    let Some(routes) = view.table(pkt.family, m.table) else {
        return Vec::new();
    };
    let flow = fib::output_flow(
        pkt.family, pkt.dst, pkt.src, None, pkt.proto, pkt.sport, pkt.dport,
    );
    let pass_over_failed = pkt.family == Family::Inet6
        && view.forwarding6() == Some(false)
        && m.paths.iter().all(|p| !fib::gateway_failed(view, p));
    routes
        .iter()
        .filter(|r| {
            !std::ptr::eq(r.route, m.route)
                && r.dst.len == m.prefix_len
                && r.dst.contains(pkt.dst)
                && r.route.kind == "unicast"
                && r.route.metric == m.route.metric
                && r.route.tos == m.route.tos
                && r.src == m.route.src.as_deref().and_then(Prefix::parse)
        })
        .filter_map(|r| {
            let mut paths = fib::usable_paths(view, r.route, &flow, Opts::default()).ok()?;
            // A host that passed over failed gateways for `m` passes over
            // them among its equals too (rt6_score_route).
            if pass_over_failed {
                paths.retain(|p| !fib::gateway_failed(view, p));
            }
            let first = paths.first()?.clone();
            Some((
                Match {
                    route: r.route,
                    table: m.table,
                    rule: m.rule,
                    prefix_len: r.dst.len,
                    paths,
                },
                first,
            ))
        })
        .collect()
}

/// Consecutive steps grouped by namespace.
fn group_steps(steps: &[Step]) -> Vec<(u64, Vec<Step>)> {
    let mut groups: Vec<(u64, Vec<Step>)> = Vec::new();
    for &s in steps {
        match groups.last_mut() {
            Some((netns, list)) if *netns == s.netns => list.push(s),
            _ => groups.push((s.netns, vec![s])),
        }
    }
    groups
}

/// Whether br_netfilter passes this bridge's traffic of `family` through
/// the IP hooks: the namespace's bridge-nf-call-* sysctl or the bridge's
/// own nf_call_* option (br_netfilter_hooks.c `br_nf_pre_routing`).
fn br_netfilter(view: &NsView<'_>, bridge: &Interface, family: Family) -> Result<bool, Stop> {
    let (own, sysctl) = match family {
        Family::Inet => (
            bridge.nf_call_iptables,
            view.ns.firewall.as_ref().map(|f| f.bridge_nf_call_iptables),
        ),
        Family::Inet6 => (
            bridge.nf_call_ip6tables,
            view.ns
                .firewall
                .as_ref()
                .map(|f| f.bridge_nf_call_ip6tables),
        ),
    };
    if own == Some(true) {
        return Ok(true);
    }
    match sysctl {
        // The firewall was read; None there means br_netfilter is absent.
        Some(value) => Ok(value.is_some_and(|v| v != 0)),
        None => Err(Stop::new(
            Code::NotScanned,
            Some(view.inode()),
            format!(
                "nsmap could not read whether bridged traffic in {} crosses its IP firewall (bridge-nf-call-*)",
                view.label()
            ),
        )),
    }
}

fn route_used(m: &Match<'_>, path: Option<&NextHop>) -> RouteUsed {
    let dev = path
        .map(|p| LinkRef {
            netns: m.route.dev.as_ref().and_then(|d| d.netns).or_else(|| {
                m.route
                    .nexthops
                    .iter()
                    .find_map(|n| n.dev.as_ref().and_then(|d| d.netns))
            }),
            ifindex: p.dev,
            ifname: dev_name(m, p.dev),
        })
        .or_else(|| m.route.dev.clone());
    RouteUsed {
        family: m.route.family,
        table: m.table,
        kind: m.route.kind.clone(),
        dst: m.route.dst.clone(),
        gateway: path.map_or(m.route.gateway, |p| p.gateway),
        dev,
        prefsrc: m.route.prefsrc,
        metric: m.route.metric,
        rule: m.rule,
        nexthops: m.route.nexthops.clone(),
    }
}

fn dev_name(m: &Match<'_>, ifindex: u32) -> Option<crate::name::Name> {
    if let Some(d) = &m.route.dev
        && d.ifindex == ifindex
    {
        return d.ifname.clone();
    }
    m.route
        .nexthops
        .iter()
        .filter_map(|p: &RoutePath| p.dev.as_ref())
        .find(|d| d.ifindex == ifindex)
        .and_then(|d| d.ifname.clone())
}

fn table_name(table: u32) -> String {
    match table {
        254 => "main".into(),
        255 => "local".into(),
        253 => "default".into(),
        other => other.to_string(),
    }
}

fn reject_word(kind: Reject) -> &'static str {
    match kind {
        Reject::Blackhole => "blackhole",
        Reject::Unreachable => "unreachable",
        Reject::Prohibit => "prohibit",
    }
}

/// `sysctl -w KEY=VALUE` run in the namespace.
fn sysctl_hint(view: &NsView<'_>, assignment: &str) -> Option<String> {
    fix::exec_in(view.ns, &format!("sysctl -w {assignment}"))
}

/// What the chains after `hook`'s nat position see of a packet conntrack
/// restored there: the destination at prerouting, the source at
/// postrouting.
fn restored(hook: Hook, pkt: &Packet) -> Option<(bool, IpAddr, Option<u16>)> {
    match hook {
        Hook::Prerouting => Some((true, pkt.dst, pkt.dport)),
        _ => Some((false, pkt.src?, pkt.sport)),
    }
}

/// `ADDR` or `ADDR port PORT`.
fn endpoint(addr: IpAddr, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{addr} port {p}"),
        None => addr.to_string(),
    }
}
