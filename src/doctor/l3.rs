//! What the layer-3 checks share: the path engine's context over the
//! snapshot, every route next hop that goes through a gateway, and who on
//! that next hop's wire answers for the gateway — asked of the engine
//! ([`neigh::resolve`]) once per (namespace, device, gateway) and kept,
//! since several checks need the same answer.
//!
//! Invariant: a namespace takes part only when the snapshot holds its
//! routing state (`routes` and `rules` not null, and it was dumped); a
//! null list means nsmap did not read it, and a check must then say
//! nothing rather than guess. Every question about where a frame goes or
//! who answers ARP/NDP is the engine's: the doctor never re-implements
//! routing, it words the engine's answers and adds the fix.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use foldhash::{HashMap, HashMapExt};

use super::fix;
use crate::path::ctx::Ctx;
use crate::path::fib;
use crate::path::neigh;
use crate::path::net::Prefix;
use crate::path::view::{NsView, iface_addrs, usable};
use crate::path::wire::Endpoint;
use crate::path::{Code as PathCode, Stop};
use crate::snapshot::l3::{Family, TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN};
use crate::snapshot::{Interface, Namespace, Route, Snapshot};

/// Whether the snapshot holds `ns`'s routing state (what
/// [`NsView::has_layer3`] asks, without building a view).
pub fn has_layer3(ns: &Namespace) -> bool {
    ns.scanned && ns.routes.is_some() && ns.rules.is_some()
}

/// One next hop through a gateway: a single-path route's, or one path of
/// a multipath route.
#[derive(Clone, Copy, Debug)]
pub struct GatewayHop<'a> {
    pub ns: &'a Namespace,
    pub route: &'a Route,
    /// The path's position in a multipath route; None for a single path.
    pub path: Option<usize>,
    pub gateway: IpAddr,
    pub dev: &'a Interface,
    pub onlink: bool,
    /// `dead`: the kernel skips it (its device is down).
    pub dead: bool,
}

impl GatewayHop<'_> {
    /// The key the owner cache uses: one answer per device and gateway.
    fn key(&self) -> (u64, u32, IpAddr) {
        (self.ns.inode, self.dev.ifindex, self.gateway)
    }
}

/// Who takes the frames for a gateway: the engine's endpoint, or why
/// nobody (or nobody nsmap can see) does.
pub type Owner<'a> = Result<Endpoint<'a>, Stop>;

/// The layer-3 view of one snapshot, built once per `findings` call.
pub struct L3<'a> {
    pub ctx: Ctx<'a>,
    pub hops: Vec<GatewayHop<'a>>,
    owners: RefCell<HashMap<(u64, u32, IpAddr), Owner<'a>>>,
    transits: OnceCell<Vec<Transit<'a>>>,
    gateways: OnceCell<GatewayIndex>,
    defaults: OnceCell<Defaults>,
}

/// Every address that could be a gateway, by family, rank and address, so
/// that finding the likely gateway of one device is a range lookup over
/// its subnets instead of a walk over everything on its segment (on a
/// bridge of N containers, N walks of N ports).
#[derive(Default)]
struct GatewayIndex {
    /// `[IPv4, IPv6][rank]`: address → (namespace, ifindex) holding it.
    /// Rank 0: a bridge whose namespace forwards; 1: any other bridge; 2:
    /// an interface of a namespace that forwards (whether it leads
    /// somewhere else depends on the asker's subnets: checked per query).
    ranks: [[Holders; 3]; 2],
}

/// Address → (namespace, ifindex) of each interface holding it.
type Holders = BTreeMap<IpAddr, Vec<(u64, u32)>>;

/// Who routes their default route through whom, from [`L3::transits`]:
/// the evidence that a gateway is one, and the test that a namespace is
/// downstream of another.
#[derive(Default)]
struct Defaults {
    /// (router, arrival ifindex, family) → namespaces whose default route
    /// of the family is answered there.
    clients: HashMap<(u64, u32, Family), Vec<u64>>,
    /// (client, router, family) for each such default route.
    through: foldhash::HashSet<(u64, u64, Family)>,
}

fn family_slot(family: Family) -> usize {
    match family {
        Family::Inet => 0,
        Family::Inet6 => 1,
    }
}

/// The first and last address of a prefix, for a range lookup.
fn bounds(p: &Prefix) -> (IpAddr, IpAddr) {
    match p.addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(p.len)).unwrap_or(0);
            let n = u32::from(a) & mask;
            (
                IpAddr::V4(Ipv4Addr::from(n)),
                IpAddr::V4(Ipv4Addr::from(n | !mask)),
            )
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(p.len)).unwrap_or(0);
            let n = u128::from(a) & mask;
            (
                IpAddr::V6(Ipv6Addr::from(n)),
                IpAddr::V6(Ipv6Addr::from(n | !mask)),
            )
        }
    }
}

impl<'a> L3<'a> {
    pub fn new(snapshot: &'a Snapshot) -> L3<'a> {
        let mut hops = Vec::new();
        for ns in snapshot.namespaces.iter().filter(|n| has_layer3(n)) {
            for route in ns.routes.iter().flatten() {
                if route.kind != "unicast" {
                    continue;
                }
                let flag = |flags: &[String], f: &str| flags.iter().any(|x| x == f);
                let mut push =
                    |path, gateway: Option<IpAddr>, dev: Option<u32>, flags: &[String]| {
                        let (Some(gateway), Some(dev)) = (gateway, dev) else {
                            return;
                        };
                        let Some(dev) = ns.interface(dev) else { return };
                        let both = |f: &str| flag(flags, f) || flag(&route.flags, f);
                        hops.push(GatewayHop {
                            ns,
                            route,
                            path,
                            gateway,
                            dev,
                            onlink: both("onlink"),
                            dead: both("dead"),
                        });
                    };
                if route.nexthops.is_empty() {
                    push(
                        None,
                        route.gateway,
                        route.dev.as_ref().map(|d| d.ifindex),
                        &[],
                    );
                } else {
                    for (i, p) in route.nexthops.iter().enumerate() {
                        push(
                            Some(i),
                            p.gateway,
                            p.dev.as_ref().map(|d| d.ifindex),
                            &p.flags,
                        );
                    }
                }
            }
        }
        L3 {
            ctx: Ctx::new(snapshot),
            hops,
            owners: RefCell::new(HashMap::new()),
            transits: OnceCell::new(),
            gateways: OnceCell::new(),
            defaults: OnceCell::new(),
        }
    }

    fn gateway_index(&self) -> &GatewayIndex {
        self.gateways.get_or_init(|| {
            let mut index = GatewayIndex::default();
            for ns in self.ctx.snapshot.namespaces.iter() {
                let Some(view) = self.view(ns) else { continue };
                for iface in &ns.interfaces {
                    for a in iface_addrs(iface) {
                        if !usable(&a) || crate::path::net::is_ipv6_link_local(a.local) {
                            continue;
                        }
                        let forwards = match a.family {
                            Family::Inet => view.forwarding4(iface.ifindex),
                            Family::Inet6 => view.forwarding6_on(iface.ifindex),
                        } == Some(true);
                        let rank = match (iface.kind_is("bridge"), forwards) {
                            (true, true) => 0,
                            (true, false) => 1,
                            (false, true) => 2,
                            (false, false) => continue,
                        };
                        index.ranks[family_slot(a.family)][rank]
                            .entry(a.local)
                            .or_default()
                            .push((ns.inode, iface.ifindex));
                    }
                }
            }
            index
        })
    }

    fn defaults(&self) -> &Defaults {
        self.defaults.get_or_init(|| {
            let mut d = Defaults::default();
            for t in self.transits() {
                if Prefix::parse(&t.hop.route.dst).is_none_or(|p| p.len != 0) {
                    continue;
                }
                let clients = d
                    .clients
                    .entry((t.router.inode, t.arrival.ifindex, t.family))
                    .or_default();
                if !clients.contains(&t.hop.ns.inode) {
                    clients.push(t.hop.ns.inode);
                }
                d.through.insert((t.hop.ns.inode, t.router.inode, t.family));
            }
            d
        })
    }

    /// The namespaces whose default route of `family` is answered by
    /// `arrival` of `router`: they use it as their gateway.
    pub fn default_clients(&self, router: u64, arrival: u32, family: Family) -> &[u64] {
        self.defaults()
            .clients
            .get(&(router, arrival, family))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether `client`'s default route of `family` goes through `router`
    /// (whose gateway there answers): `client` is downstream of `router`.
    pub fn default_through(&self, client: u64, router: u64, family: Family) -> bool {
        self.defaults().through.contains(&(client, router, family))
    }

    /// The engine's view of a namespace that has layer-3 data.
    pub fn view(&self, ns: &Namespace) -> Option<&NsView<'a>> {
        self.ctx.view(ns.inode).filter(|v| v.has_layer3())
    }

    /// Who answers ARP/NDP for the hop's gateway on its device's wire
    /// ([`neigh::resolve`], with the source the kernel would put on the
    /// request), asked once per (namespace, device, gateway).
    pub fn owner(&self, hop: &GatewayHop<'a>) -> Owner<'a> {
        if let Some(known) = self.owners.borrow().get(&hop.key()) {
            return known.clone();
        }
        let answer = match self.view(hop.ns) {
            Some(view) => {
                neigh::resolve(&self.ctx, view, hop.dev, hop.gateway, None).map(|(e, _)| e)
            }
            None => Err(Stop::new(
                PathCode::NotScanned,
                Some(hop.ns.inode),
                "no layer-3 data",
            )),
        };
        self.owners.borrow_mut().insert(hop.key(), answer.clone());
        answer
    }

    /// The address on `dev`'s wire that looks like `ns`'s gateway for
    /// `family`: an address in the subnet of one of `dev`'s own, held by a
    /// bridge device (the usual container gateway) or by an interface of
    /// a namespace that forwards and leads somewhere else (a default
    /// route, or another link), reached unblocked — and confirmed by
    /// asking the engine who answers ARP/NDP for it. Forwarding bridges
    /// come first, then other bridges, then routers, then by namespace,
    /// interface and address. A namespace whose own default route goes
    /// through `ns` is downstream of it, never its gateway: routing back
    /// to it would loop.
    pub fn likely_gateway(
        &self,
        ns: &'a Namespace,
        dev: &'a Interface,
        family: Family,
    ) -> Option<(Endpoint<'a>, IpAddr)> {
        let view = self.view(ns)?;
        let subnets: Vec<Prefix> = iface_addrs(dev)
            .iter()
            .filter(|a| a.family == family && usable(a) && a.peer.is_none())
            .filter(|a| a.prefixlen < family.bits() && !a.local.is_loopback())
            .filter(|a| !crate::path::net::is_ipv6_link_local(a.local))
            .map(|a| Prefix {
                addr: a.local,
                len: a.prefixlen,
            })
            .collect();
        if subnets.is_empty() {
            return None;
        }
        let index = &self.gateway_index().ranks[family_slot(family)];
        // One neighbour resolution per address, however many hold it.
        let mut asked: HashMap<IpAddr, Option<Endpoint<'a>>> = HashMap::new();
        for (rank, by_addr) in index.iter().enumerate() {
            let mut found: Vec<(u64, u32, IpAddr)> = Vec::new();
            for s in &subnets {
                let (first, last) = bounds(s);
                for (&addr, holders) in by_addr.range(first..=last) {
                    if !view.owners(addr).is_empty() {
                        continue;
                    }
                    found.extend(
                        holders
                            .iter()
                            .filter(|&&(netns, _)| netns != ns.inode)
                            .map(|&(netns, ifindex)| (netns, ifindex, addr)),
                    );
                }
            }
            found.sort_unstable();
            found.dedup();
            for (netns, ifindex, addr) in found {
                let Some(other) = self.ctx.namespace(netns) else {
                    continue;
                };
                let Some(iface) = other.interface(ifindex) else {
                    continue;
                };
                // A namespace that forwards but leads nowhere else is no
                // gateway (new namespaces may inherit ip_forward=1).
                if rank == 2 && !leads_elsewhere(other, iface, family, &subnets) {
                    continue;
                }
                if self.default_through(netns, ns.inode, family) {
                    continue;
                }
                let answer = asked.entry(addr).or_insert_with(|| {
                    neigh::resolve(&self.ctx, view, dev, addr, None)
                        .ok()
                        .map(|(e, _)| e)
                });
                if let Some(e) = answer
                    && e.netns == netns
                    && e.iface.ifindex == ifindex
                {
                    return Some((e.clone(), addr));
                }
            }
        }
        None
    }

    /// Every hop whose gateway another namespace answers for: traffic
    /// that namespace is asked to route on. Host routes to one of the
    /// router's own addresses are left out (they end there).
    pub fn transits(&self) -> &[Transit<'a>] {
        self.transits.get_or_init(|| self.find_transits())
    }

    fn find_transits(&self) -> Vec<Transit<'a>> {
        let mut out = Vec::new();
        for hop in &self.hops {
            if hop.dead {
                continue;
            }
            let Ok(owner) = self.owner(hop) else { continue };
            if owner.netns == hop.ns.inode {
                continue;
            }
            let Some(router) = self.ctx.namespace(owner.netns) else {
                continue;
            };
            let Some(rview) = self.view(router) else {
                continue;
            };
            if let Some(dst) = Prefix::parse(&hop.route.dst)
                && dst.len == dst.family().bits()
                && rview.is_local(dst.addr)
            {
                continue;
            }
            out.push(Transit {
                hop: *hop,
                router,
                arrival: owner.iface,
                family: hop.route.family,
            });
        }
        out
    }
}

/// Whether `ns` reaches beyond the subnets of `iface`: it has a default
/// route of the family, or another interface up with a global address of
/// the family outside them.
fn leads_elsewhere(ns: &Namespace, iface: &Interface, family: Family, subnets: &[Prefix]) -> bool {
    let default = ns
        .routes
        .iter()
        .flatten()
        .any(|r| r.family == family && Prefix::parse(&r.dst).is_some_and(|p| p.len == 0));
    default
        || ns.interfaces.iter().any(|i| {
            i.ifindex != iface.ifindex
                && i.is_up()
                && !i.flags.iter().any(|f| f == "LOOPBACK")
                && iface_addrs(i).iter().any(|a| {
                    a.family == family
                        && usable(a)
                        && !crate::path::net::is_ipv6_link_local(a.local)
                        && !subnets.iter().any(|s| s.contains(a.local))
                })
        })
}

/// A namespace routing through another: `hop` is answered by `arrival`,
/// an interface of `router`.
#[derive(Clone, Copy, Debug)]
pub struct Transit<'a> {
    pub hop: GatewayHop<'a>,
    pub router: &'a Namespace,
    pub arrival: &'a Interface,
    /// The family of the packets (the route's; a gateway may differ, as
    /// with an IPv6 route via an IPv4 next hop).
    pub family: Family,
}

/// `default`, `10.5.0.0/16`, with ` table N` outside main: how messages
/// name a route's destination.
pub fn describe_dst(route: &Route) -> String {
    let dst =
        Prefix::parse(&route.dst).map_or_else(|| route.dst.clone(), |p| fib::describe_dst(&p));
    if route.table == TABLE_MAIN {
        dst
    } else {
        format!("{dst} table {}", route.table)
    }
}

/// `default via 10.0.0.1`: a route by its destination and gateway.
pub fn describe_hop(hop: &GatewayHop<'_>) -> String {
    let dst = Prefix::parse(&hop.route.dst)
        .map_or_else(|| hop.route.dst.clone(), |p| fib::describe_dst(&p));
    let table = if hop.route.table == TABLE_MAIN {
        String::new()
    } else {
        format!(" table {}", hop.route.table)
    };
    format!("{dst} via {}{table}", hop.gateway)
}

/// `ip … route ARGS` in `ns`, with `-6` for IPv6 (so `default` means the
/// right family).
pub fn route_cmd(ns: &Namespace, family: Family, args: &str) -> Option<String> {
    let six = if family == Family::Inet6 { "-6 " } else { "" };
    fix::ip(ns, &format!("{six}route {args}"))
}

/// ` table N` for a table other than main, as `ip route` takes it.
pub fn table_arg(table: u32) -> String {
    if table == TABLE_MAIN {
        String::new()
    } else {
        format!(" table {table}")
    }
}

/// The `ip route` arguments that select `route` exactly: destination,
/// table, metric and tos (the kernel's key for IPv4: dst, tos, priority).
pub fn route_key(route: &Route) -> String {
    let dst =
        Prefix::parse(&route.dst).map_or_else(|| route.dst.clone(), |p| fib::describe_dst(&p));
    let mut key = dst;
    key.push_str(&table_arg(route.table));
    if let Some(metric) = route.metric {
        key.push_str(&format!(" metric {metric}"));
    }
    if route.tos != 0 {
        key.push_str(&format!(" tos {:#04x}", route.tos));
    }
    key
}

/// `sysctl -w KEY=VALUE` run in `ns`, the whole assignment quoted from
/// its bytes. An interface name in a key has its dots written as
/// slashes, as sysctl(8) wants them (`net.ipv4.conf.eth0/100.rp_filter`).
pub fn sysctl(ns: &Namespace, assignment: &[u8]) -> Option<String> {
    fix::exec_in(ns, &format!("sysctl -w {}", fix::quote_bytes(assignment)))
}

/// `net.ipv4.conf.IFNAME.KEY=VALUE` as bytes (see [`sysctl`]).
pub fn dev_assignment(family: Family, iface: &Interface, key: &str, value: i32) -> Vec<u8> {
    let proto = match family {
        Family::Inet => "ipv4",
        Family::Inet6 => "ipv6",
    };
    let mut out = format!("net.{proto}.conf.").into_bytes();
    out.extend(
        iface
            .ifname
            .to_bytes()
            .iter()
            .map(|&b| if b == b'.' { b'/' } else { b }),
    );
    out.extend(format!(".{key}={value}").into_bytes());
    out
}

/// Whether the family's policy rules are the ones every namespace starts
/// with (IPv4: 0 local, 32766 main, 32767 default; IPv6: 0 local, 32766
/// main), so no rule can send a lookup anywhere else.
pub fn only_default_rules(ns: &Namespace, family: Family) -> bool {
    let expected: &[(u32, u32)] = match family {
        Family::Inet => &[
            (0, TABLE_LOCAL),
            (32766, TABLE_MAIN),
            (32767, TABLE_DEFAULT),
        ],
        Family::Inet6 => &[(0, TABLE_LOCAL), (32766, TABLE_MAIN)],
    };
    let rules: Vec<_> = ns
        .rules
        .iter()
        .flatten()
        .filter(|r| r.family == family)
        .collect();
    rules.len() == expected.len()
        && rules.iter().zip(expected).all(|(r, &(priority, table))| {
            r.priority == priority
                && r.action == "lookup"
                && r.table == Some(table)
                && !r.not
                && r.src.is_none()
                && r.dst.is_none()
                && r.iif.is_none()
                && r.oif.is_none()
                && r.fwmark.is_none()
                && r.uidrange.is_none()
                && r.ipproto.is_none()
                && r.sport.is_none()
                && r.dport.is_none()
                && r.tos == 0
        })
}

/// Joins items as `a, b and 3 more`, at most `max` named.
pub fn list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

/// Whether a stop means "nobody answers" (and not "nsmap cannot see").
pub fn unanswered(stop: &Stop) -> bool {
    stop.code == PathCode::NeighbourUnresolvable
}
