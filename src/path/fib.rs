//! Policy rules and routing tables → the route the kernel would choose.
//!
//! The model follows net/core/fib_rules.c (`fib_rules_lookup`,
//! `fib_rule_match`), net/ipv4/fib_rules.c and fib_trie.c
//! (`fib_table_lookup`), net/ipv6/fib6_rules.c and route.c:
//! - rules are tried by priority (equal priorities in dump order); a rule
//!   naming a device that does not exist never matches (its ifindex is -1);
//!   `goto` jumps to the first rule of the target priority (none: go on);
//!   `nop` goes on; `blackhole`/`unreachable`/`prohibit` rules end the
//!   lookup with that error; a `lookup` whose table misses, or hits a
//!   `throw` route, goes on; a hit with a prefix not longer than
//!   `suppress_prefixlength` goes on (suppression never applies to errors);
//! - a table is searched longest prefix first, then by metric; error routes
//!   (blackhole, unreachable, prohibit) end the lookup at once, before any
//!   next hop is looked at; a route whose next hops are all unusable (dead,
//!   linkdown with `ignore_routes_with_linkdown`, or not the bound `oif`)
//!   is skipped and the search goes on to the next candidate;
//! - IPv6 only (route.c `rt6_score_route`, `fib6_table_lookup`): bound to
//!   a device, routes on other devices are skipped, error routes (on lo)
//!   too; a host (`all.forwarding` 0) skips gateways whose neighbour is
//!   FAILED, down to shorter prefixes, and searches again without that
//!   only when nothing is left.
//!
//! What the snapshot cannot tell (interface groups, VRF membership, the
//! ports an ICMP flow carries) makes the answer [`Uncertain`], never a
//! guess. Every loop is bounded, so any table terminates (a property test
//! feeds generated tables).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::net::Prefix;
use super::view::{NsView, PreparedRule, TableRoute};
use crate::snapshot::Route;
use crate::snapshot::l3::Family;

/// The loopback ifindex: the `iif` of locally generated traffic
/// (ip_route_output_key_hash_rcu sets `flowi4_iif = LOOPBACK_IFINDEX`).
pub const LOOPBACK_IFINDEX: u32 = 1;

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;

/// What a lookup knows about a packet (`struct flowi4` / `flowi6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub family: Family,
    pub dst: IpAddr,
    /// None: not bound yet (0.0.0.0 / ::), so `from X` rules do not match.
    pub src: Option<IpAddr>,
    /// The input device; [`LOOPBACK_IFINDEX`] for locally generated traffic.
    pub iif: u32,
    /// A bound output device (SO_BINDTODEVICE), if any.
    pub oif: Option<u32>,
    pub mark: u32,
    pub tos: u8,
    pub proto: u8,
    /// Transport ports; None for ICMP (which carries type and code there)
    /// and where they cannot be known offline (an ephemeral port).
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub uid: u32,
}

impl Flow {
    fn src_or_unspecified(&self) -> IpAddr {
        self.src.unwrap_or(match self.family {
            Family::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        })
    }

    fn is_icmp(&self) -> bool {
        self.proto == IPPROTO_ICMP || self.proto == IPPROTO_ICMPV6
    }
}

/// The transport fields of a packet a lookup may match on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    pub proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

/// One usable next hop of the chosen route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextHop {
    pub gateway: Option<IpAddr>,
    /// Output device (ifindex in the same namespace).
    pub dev: u32,
    pub onlink: bool,
    pub weight: u32,
}

/// A successful lookup.
#[derive(Clone, Debug)]
pub struct Match<'a> {
    pub route: &'a Route,
    pub table: u32,
    /// Priority of the rule whose lookup found it.
    pub rule: Option<u32>,
    pub prefix_len: u8,
    /// The usable next hops: one, or every candidate of a multipath route
    /// (the kernel picks by a hash with a random seed, so offline all of
    /// them are possible).
    pub paths: Vec<NextHop>,
}

/// Why a lookup refused the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    Blackhole,
    Unreachable,
    Prohibit,
}

/// The outcome of a lookup.
#[derive(Clone, Debug)]
pub enum Fib<'a> {
    Route(Match<'a>),
    /// An error route (with its table) or an error rule.
    Reject {
        kind: Reject,
        rule: Option<u32>,
        route: Option<&'a Route>,
        table: Option<u32>,
    },
    /// No rule produced a route (ENETUNREACH).
    NoRoute,
}

/// What nsmap cannot decide from the snapshot, in words for the user.
pub type Uncertain = String;

/// How many rules one lookup may visit (goto chains included) before it
/// is called a loop; the kernel forbids backward gotos, hand-made files
/// may not.
const MAX_RULE_STEPS: usize = 10_000;

/// Options the kernel passes for special lookups.
#[derive(Clone, Copy, Debug, Default)]
pub struct Opts {
    /// `FIB_LOOKUP_IGNORE_LINKSTATE` (rp_filter's second lookup).
    pub ignore_linkstate: bool,
}

/// The kernel's `fib_lookup` / `fib6_rule_lookup` for `flow` in `view`.
pub fn lookup<'a>(view: &NsView<'a>, flow: &Flow, opts: Opts) -> Result<Fib<'a>, Uncertain> {
    let rules = view.rules(flow.family);
    let mut i = 0;
    let mut steps = 0;
    while i < rules.len() {
        steps += 1;
        if steps > MAX_RULE_STEPS {
            return Err(format!("the policy rules of {} loop (goto)", view.label()));
        }
        let prepared = &rules[i];
        let rule = prepared.rule;
        if !rule_matches(view, prepared, flow)? {
            i += 1;
            continue;
        }
        match rule.action.as_str() {
            "goto" => {
                let target = rule
                    .goto
                    .and_then(|priority| rules.iter().position(|r| r.rule.priority == priority));
                match target {
                    // A forward jump, as the kernel allows; a backward one
                    // (a hand-made file) would loop, so it goes on instead.
                    Some(t) if t > i => i = t,
                    _ => i += 1,
                }
                continue;
            }
            "nop" => {
                i += 1;
                continue;
            }
            "blackhole" | "unreachable" | "prohibit" => {
                let kind = match rule.action.as_str() {
                    "blackhole" => Reject::Blackhole,
                    "unreachable" => Reject::Unreachable,
                    _ => Reject::Prohibit,
                };
                return Ok(Fib::Reject {
                    kind,
                    rule: Some(rule.priority),
                    route: None,
                    table: None,
                });
            }
            "lookup" => {}
            other => {
                return Err(format!(
                    "rule {} of {} has action {other}, which nsmap does not model",
                    rule.priority,
                    view.label()
                ));
            }
        }
        let Some(table) = rule.table else {
            i += 1;
            continue;
        };
        match table_lookup(view, table, flow, opts)? {
            TableHit::Found(mut m) => {
                if rule
                    .suppress_prefixlength
                    .is_some_and(|n| u32::from(m.prefix_len) <= n)
                {
                    i += 1;
                    continue;
                }
                if rule.suppress_ifgroup.is_some() {
                    return Err(format!(
                        "rule {} of {} suppresses by interface group, which the snapshot does not record",
                        rule.priority,
                        view.label()
                    ));
                }
                m.rule = Some(rule.priority);
                return Ok(Fib::Route(m));
            }
            TableHit::Reject(kind, route) => {
                return Ok(Fib::Reject {
                    kind,
                    rule: Some(rule.priority),
                    route: Some(route),
                    table: Some(table),
                });
            }
            TableHit::Miss => i += 1,
        }
    }
    Ok(Fib::NoRoute)
}

/// `fib_rule_match` with the family's `match` (fib4_rule_match,
/// fib6_rule_match), then `not`.
fn rule_matches(
    view: &NsView<'_>,
    prepared: &PreparedRule<'_>,
    flow: &Flow,
) -> Result<bool, Uncertain> {
    let rule = prepared.rule;
    let matched = (|| -> Result<bool, Uncertain> {
        // A named device that is absent has ifindex -1: never equal.
        if let Some(name) = &rule.iif {
            let found = (!rule.iif_detached)
                .then(|| view.iface_named(name))
                .flatten();
            if found.is_none_or(|i| i.ifindex != flow.iif) {
                return Ok(false);
            }
        }
        if let Some(name) = &rule.oif {
            let found = (!rule.oif_detached)
                .then(|| view.iface_named(name))
                .flatten();
            if found.is_none_or(|i| Some(i.ifindex) != flow.oif) {
                return Ok(false);
            }
        }
        let mark = rule.fwmark.unwrap_or(0);
        let mask = rule
            .fwmask
            .unwrap_or(if rule.fwmark.is_some() { u32::MAX } else { 0 });
        if (mark ^ flow.mark) & mask != 0 {
            return Ok(false);
        }
        if rule.tun_id.is_some_and(|t| t != 0) {
            return Ok(false);
        }
        if rule.l3mdev {
            let vrf = view.ns.interfaces.iter().any(|i| i.kind_is("vrf"));
            if vrf {
                return Err(format!(
                    "rule {} of {} matches VRF (l3mdev) traffic, which nsmap does not model",
                    rule.priority,
                    view.label()
                ));
            }
            return Ok(false);
        }
        if let Some([start, end]) = rule.uidrange
            && !(start..=end).contains(&flow.uid)
        {
            return Ok(false);
        }
        if let Some(dst) = &prepared.dst
            && !dst.contains(flow.dst)
        {
            return Ok(false);
        }
        if let Some(src) = &prepared.src {
            match (flow.family, flow.src) {
                // IPv6 without a source never matches a source selector.
                (Family::Inet6, None) => return Ok(false),
                _ => {
                    if !src.contains(flow.src_or_unspecified()) {
                        return Ok(false);
                    }
                }
            }
        } else if rule.src.is_some() {
            return Err(format!(
                "rule {} of {} has a source selector nsmap cannot read",
                rule.priority,
                view.label()
            ));
        }
        if rule.tos != 0 && rule.tos != flow.tos {
            return Ok(false);
        }
        if let Some(d) = rule.dscp {
            // Without FRA_DSCP_MASK the kernel compares all six bits.
            let mask = rule.dscp_mask.unwrap_or(0x3f);
            if (flow.tos >> 2) & mask != d & mask {
                return Ok(false);
            }
        }
        if !rule.unknown_selectors.is_empty() {
            return Err(format!(
                "rule {} of {} has selectors nsmap does not know (netlink attributes {:?}, from a newer kernel)",
                rule.priority,
                view.label(),
                rule.unknown_selectors
            ));
        }
        if rule.flowlabel.is_some_and(|[_, mask]| mask != 0) {
            return Err(format!(
                "rule {} of {} matches the IPv6 flow label, which each socket chooses (auto_flowlabels) and no snapshot records",
                rule.priority,
                view.label()
            ));
        }
        if rule.ipproto.is_some_and(|p| p != flow.proto) {
            return Ok(false);
        }
        // With a mask (Linux 6.16+) the range is one value and the rule
        // matches `port & mask == value` (fib_rule_port_match).
        let outside = |range: Option<[u16; 2]>,
                       mask: Option<u16>,
                       port: Option<u16>,
                       which: &str|
         -> Result<bool, Uncertain> {
            match (range, mask, port) {
                (None, _, _) => Ok(false),
                (Some([start, _]), Some(mask), Some(port)) => Ok(port & mask != start & mask),
                (Some([start, end]), None, Some(port)) => Ok(!(start..=end).contains(&port)),
                (Some(_), _, None) => {
                    let why = if flow.is_icmp() {
                        "where a locally sent ICMP packet carries its type and code".to_string()
                    } else if which == "source" && flow.iif == LOOPBACK_IFINDEX {
                        "and the source port is the ephemeral one the socket is given".to_string()
                    } else {
                        "which this packet does not fix (an ephemeral port, or no --dport given)"
                            .to_string()
                    };
                    Err(format!(
                        "rule {} of {} matches {which} ports, {why}",
                        rule.priority,
                        view.label()
                    ))
                }
            }
        };
        if outside(rule.sport, rule.sport_mask, flow.sport, "source")?
            || outside(rule.dport, rule.dport_mask, flow.dport, "destination")?
        {
            return Ok(false);
        }
        Ok(true)
    })()?;
    Ok(matched != rule.not)
}

enum TableHit<'a> {
    Found(Match<'a>),
    Reject(Reject, &'a Route),
    /// Nothing usable, or a `throw` route: the rules go on.
    Miss,
}

/// One table: longest prefix first (for IPv6 then the longest source
/// prefix of a source-specific route), then by metric.
fn table_lookup<'a>(
    view: &NsView<'a>,
    table: u32,
    flow: &Flow,
    opts: Opts,
) -> Result<TableHit<'a>, Uncertain> {
    let Some(routes) = view.table(flow.family, table) else {
        return Ok(TableHit::Miss);
    };
    // An IPv6 host (all.forwarding 0) looks up with RT6_LOOKUP_F_REACHABLE
    // first: a gateway whose neighbour entry is FAILED is passed over, down
    // to shorter prefixes (fib6_backtrack), and only when nothing else
    // matches is the lookup redone without it (fib6_table_lookup).
    let prefer_reachable = match (flow.family, view.forwarding6()) {
        (Family::Inet, _) => false,
        (Family::Inet6, Some(forwarding)) => !forwarding,
        (Family::Inet6, None) => {
            let (strict, passed_over) = table_pass(view, table, routes, flow, opts, true)?;
            if passed_over && !matches!(strict, TableHit::Miss) {
                let (plain, _) = table_pass(view, table, routes, flow, opts, false)?;
                if !same_hit(&strict, &plain) {
                    return Err(format!(
                        "a gateway of {} failed and nsmap does not know whether IPv6 forwarding is on there (a host passes over a failed router, a router does not)",
                        view.label()
                    ));
                }
            }
            false
        }
    };
    match table_pass(view, table, routes, flow, opts, prefer_reachable)? {
        (TableHit::Miss, true) => Ok(table_pass(view, table, routes, flow, opts, false)?.0),
        (hit, _) => Ok(hit),
    }
}

/// Whether two searches chose the same route and next hops.
fn same_hit(a: &TableHit<'_>, b: &TableHit<'_>) -> bool {
    match (a, b) {
        (TableHit::Found(x), TableHit::Found(y)) => {
            std::ptr::eq(x.route, y.route) && x.paths == y.paths
        }
        (TableHit::Reject(k, x), TableHit::Reject(l, y)) => k == l && std::ptr::eq(*x, *y),
        (TableHit::Miss, TableHit::Miss) => true,
        _ => false,
    }
}

/// Whether the neighbour entry of `path`'s gateway is FAILED
/// (rt6_check_neigh's RT6_NUD_FAIL_PROBE).
pub fn gateway_failed(view: &NsView<'_>, path: &NextHop) -> bool {
    path.gateway
        .and_then(|gw| view.neighbour(path.dev, gw))
        .is_some_and(|n| n.state.iter().any(|s| s == "FAILED"))
}

/// One search of a table; also says whether a route was passed over for
/// a FAILED gateway (so the caller may search again without that).
fn table_pass<'a>(
    view: &NsView<'a>,
    table: u32,
    routes: &[TableRoute<'a>],
    flow: &Flow,
    opts: Opts,
    prefer_reachable: bool,
) -> Result<(TableHit<'a>, bool), Uncertain> {
    let mut passed_over = false;
    let src = flow.src_or_unspecified();
    let mut candidates: Vec<(usize, &TableRoute<'a>)> = routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.dst.contains(flow.dst))
        .filter(|(_, r)| r.src.is_none_or(|s| s.contains(src)))
        .filter(|(_, r)| r.route.tos == 0 || r.route.tos == flow.tos)
        .collect();
    candidates.sort_by_key(|&(pos, r)| {
        (
            std::cmp::Reverse(r.dst.len),
            std::cmp::Reverse(r.src.map_or(0, |s| s.len)),
            std::cmp::Reverse(r.route.tos),
            r.route.metric.unwrap_or(0),
            pos,
        )
    });
    for (_, candidate) in candidates {
        let route = candidate.route;
        // A socket bound to a device makes IPv6 lookups strict
        // (RT6_LOOKUP_F_IFACE): rt6_score_route fails every route on
        // another device, error routes (on lo) included, where IPv4
        // returns an error route before looking at any next hop.
        let error = matches!(
            route.kind.as_str(),
            "blackhole" | "unreachable" | "prohibit" | "throw"
        );
        if error
            && flow.family == Family::Inet6
            && let Some(oif) = flow.oif
            && route.dev.as_ref().is_none_or(|d| d.ifindex != oif)
        {
            continue;
        }
        match route.kind.as_str() {
            "blackhole" => return Ok((TableHit::Reject(Reject::Blackhole, route), passed_over)),
            "unreachable" => {
                return Ok((TableHit::Reject(Reject::Unreachable, route), passed_over));
            }
            "prohibit" => return Ok((TableHit::Reject(Reject::Prohibit, route), passed_over)),
            "throw" => return Ok((TableHit::Miss, passed_over)),
            "unicast" | "local" | "broadcast" | "anycast" | "multicast" => {}
            other => {
                return Err(format!(
                    "route {} in table {table} of {} has type {other}, which nsmap does not model",
                    route.dst,
                    view.label()
                ));
            }
        }
        if let Some(id) = route.nhid
            && view
                .ns
                .nexthops
                .iter()
                .flatten()
                .any(|n| n.id == id && n.blackhole)
        {
            return Ok((TableHit::Reject(Reject::Blackhole, route), passed_over));
        }
        let mut paths = usable_paths(view, route, flow, opts)?;
        if prefer_reachable {
            let before = paths.len();
            paths.retain(|p| !gateway_failed(view, p));
            passed_over |= paths.len() < before;
        }
        if paths.is_empty() {
            continue;
        }
        return Ok((
            TableHit::Found(Match {
                route,
                table,
                rule: None,
                prefix_len: candidate.dst.len,
                paths,
            }),
            passed_over,
        ));
    }
    Ok((TableHit::Miss, passed_over))
}

/// The next hops of a route the kernel would use (fib_lookup_good_nhc).
pub fn usable_paths(
    view: &NsView<'_>,
    route: &Route,
    flow: &Flow,
    opts: Opts,
) -> Result<Vec<NextHop>, Uncertain> {
    type Candidate<'r> = (Option<IpAddr>, Option<u32>, &'r [String], u32);
    let all: Vec<Candidate<'_>> = if route.nexthops.is_empty() {
        vec![(
            route.gateway,
            route.dev.as_ref().map(|d| d.ifindex),
            &route.flags[..],
            1,
        )]
    } else {
        route
            .nexthops
            .iter()
            .map(|p| {
                (
                    p.gateway,
                    p.dev.as_ref().map(|d| d.ifindex),
                    &p.flags[..],
                    p.weight,
                )
            })
            .collect()
    };
    let mut out = Vec::new();
    for (gateway, dev, flags, weight) in all {
        let Some(dev) = dev else { continue };
        let flag = |f: &str| flags.iter().any(|x| x == f) || route.flags.iter().any(|x| x == f);
        if flag("dead") {
            continue;
        }
        if flag("linkdown") && !opts.ignore_linkstate {
            match view.ignore_linkdown(dev, flow.family) {
                Some(true) => continue,
                Some(false) => {}
                None => {
                    return Err(format!(
                        "route {} of {} is linkdown and nsmap does not know ignore_routes_with_linkdown there",
                        route.dst,
                        view.label()
                    ));
                }
            }
        }
        if flow.oif.is_some_and(|oif| oif != dev) {
            continue;
        }
        out.push(NextHop {
            gateway,
            dev,
            onlink: flag("onlink"),
            weight,
        });
    }
    Ok(out)
}

/// A flow for locally generated traffic.
pub fn output_flow(
    family: Family,
    dst: IpAddr,
    src: Option<IpAddr>,
    oif: Option<u32>,
    proto: u8,
    sport: Option<u16>,
    dport: Option<u16>,
) -> Flow {
    Flow {
        family,
        dst,
        src,
        iif: LOOPBACK_IFINDEX,
        oif,
        mark: 0,
        tos: 0,
        proto,
        sport,
        dport,
        uid: 0,
    }
}

/// A flow for a packet that came in by `iif`. Its ports are what the
/// kernel's flow dissector finds: none but for TCP, UDP and the like, so 0
/// for ICMP and for ARP's lookups (`proto` 0).
pub fn input_flow(
    family: Family,
    dst: IpAddr,
    src: IpAddr,
    iif: u32,
    proto: u8,
    sport: Option<u16>,
    dport: Option<u16>,
) -> Flow {
    let portless = matches!(proto, 0 | IPPROTO_ICMP | IPPROTO_ICMPV6);
    let (sport, dport) = if portless {
        (Some(0), Some(0))
    } else {
        (sport, dport)
    };
    Flow {
        family,
        dst,
        src: Some(src),
        iif,
        oif: None,
        mark: 0,
        tos: 0,
        proto,
        sport,
        dport,
        uid: 0,
    }
}

/// `prefix` for humans: `default` for /0, as iproute2 prints it.
pub fn describe_dst(prefix: &Prefix) -> String {
    if prefix.len == 0 {
        "default".into()
    } else {
        prefix.to_string()
    }
}
