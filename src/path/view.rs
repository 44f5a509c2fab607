//! One namespace prepared for routing questions: routes grouped by table
//! with their prefixes parsed, rules per family in kernel order, interfaces
//! by index and name, and the effective value of each sysctl the kernel
//! combines from `all` and the device (`IN_DEV_MAXCONF`, `IN_DEV_ORCONF`
//! in include/linux/inetdevice.h). Built once per namespace a trace visits.
//!
//! Every getter answers `None` when the snapshot does not say: the caller
//! turns that into an `unknown`, never into a guess.

use std::cell::RefCell;
use std::net::IpAddr;

use foldhash::{HashMap, HashMapExt};

use super::net::Prefix;
use crate::name::Name;
use crate::snapshot::l3::{Family, Netconf, TABLE_LOCAL};
use crate::snapshot::{AddrInfo, Interface, Namespace, Neighbour, Route, Rule};

/// A route with its prefixes parsed and its position in the dump.
#[derive(Debug)]
pub struct TableRoute<'a> {
    pub route: &'a Route,
    pub dst: Prefix,
    pub src: Option<Prefix>,
}

/// A rule with its prefixes parsed.
#[derive(Debug)]
pub struct PreparedRule<'a> {
    pub rule: &'a Rule,
    pub src: Option<Prefix>,
    pub dst: Option<Prefix>,
}

/// One namespace, indexed for the routing code.
#[derive(Debug)]
pub struct NsView<'a> {
    pub ns: &'a Namespace,
    /// (family, table) → routes in kernel order.
    tables: HashMap<(Family, u32), Vec<TableRoute<'a>>>,
    rules4: Vec<PreparedRule<'a>>,
    rules6: Vec<PreparedRule<'a>>,
    /// Knobs whose unread `all` value was taken as the device's.
    assumed: RefCell<Vec<&'static str>>,
}

impl<'a> NsView<'a> {
    pub fn new(ns: &'a Namespace) -> NsView<'a> {
        let mut tables: HashMap<(Family, u32), Vec<TableRoute<'a>>> = HashMap::new();
        for route in ns.routes.iter().flatten() {
            let Some(dst) = Prefix::parse(&route.dst) else {
                continue;
            };
            let src = route.src.as_deref().and_then(Prefix::parse);
            tables
                .entry((route.family, route.table))
                .or_default()
                .push(TableRoute { route, dst, src });
        }
        let mut rules4 = Vec::new();
        let mut rules6 = Vec::new();
        for rule in ns.rules.iter().flatten() {
            let prepared = PreparedRule {
                rule,
                src: rule.src.as_deref().and_then(Prefix::parse),
                dst: rule.dst.as_deref().and_then(Prefix::parse),
            };
            match rule.family {
                Family::Inet => rules4.push(prepared),
                Family::Inet6 => rules6.push(prepared),
            }
        }
        // The dump lists rules by priority, equal priorities in insertion
        // order; a stable sort keeps that for files edited by hand.
        rules4.sort_by_key(|r| r.rule.priority);
        rules6.sort_by_key(|r| r.rule.priority);
        NsView {
            ns,
            tables,
            rules4,
            rules6,
            assumed: RefCell::new(Vec::new()),
        }
    }

    /// Whether the snapshot holds this namespace's routing state at all.
    pub fn has_layer3(&self) -> bool {
        self.ns.scanned && self.ns.routes.is_some() && self.ns.rules.is_some()
    }

    pub fn inode(&self) -> u64 {
        self.ns.inode
    }

    pub fn label(&self) -> String {
        self.ns.label()
    }

    pub fn rules(&self, family: Family) -> &[PreparedRule<'a>] {
        match family {
            Family::Inet => &self.rules4,
            Family::Inet6 => &self.rules6,
        }
    }

    pub fn table(&self, family: Family, table: u32) -> Option<&[TableRoute<'a>]> {
        self.tables.get(&(family, table)).map(Vec::as_slice)
    }

    pub fn iface(&self, ifindex: u32) -> Option<&'a Interface> {
        self.ns.interface(ifindex)
    }

    pub fn iface_named(&self, name: &Name) -> Option<&'a Interface> {
        self.ns.interfaces.iter().find(|i| &i.ifname == name)
    }

    /// The loopback device (`LOOPBACK` flag; ifindex 1 in every namespace).
    pub fn loopback(&self) -> Option<&'a Interface> {
        self.ns
            .interfaces
            .iter()
            .find(|i| i.flags.iter().any(|f| f == "LOOPBACK"))
    }

    /// The addresses of an interface in kernel order ([`iface_addrs`]).
    pub fn addrs(&self, iface: &'a Interface) -> Vec<AddrInfo> {
        iface_addrs(iface)
    }

    /// Whether the local table says `addr` is this namespace's own: its
    /// longest matching route there is `local` (inet_addr_type; IPv6 adds
    /// an address's local route only once DAD is done). `local` routes may
    /// cover prefixes (`127.0.0.0/8`, AnyIP).
    pub fn is_local(&self, addr: IpAddr) -> bool {
        let family = Family::of(addr);
        self.table(family, TABLE_LOCAL)
            .and_then(|routes| {
                routes
                    .iter()
                    .filter(|r| r.dst.contains(addr))
                    .max_by_key(|r| r.dst.len)
            })
            .is_some_and(|r| r.route.kind == "local")
    }

    /// Whether any table holds a `local` route covering `addr`. Without
    /// one no lookup, whatever the rules, can deliver `addr` here: a quick
    /// "certainly not ours" before a full lookup.
    pub fn has_local_route(&self, addr: IpAddr) -> bool {
        let family = Family::of(addr);
        self.tables.iter().any(|((f, _), routes)| {
            *f == family
                && routes
                    .iter()
                    .any(|r| r.route.kind == "local" && r.dst.contains(addr))
        })
    }

    /// The interfaces that hold `addr` (usable addresses only: IPv6
    /// tentative or failed ones do not count).
    pub fn owners(&self, addr: IpAddr) -> Vec<&'a Interface> {
        self.ns
            .interfaces
            .iter()
            .filter(|i| self.addrs(i).iter().any(|a| a.local == addr && usable(a)))
            .collect()
    }

    /// The neighbour entry for `addr` on `ifindex`, if any (not a proxy).
    pub fn neighbour(&self, ifindex: u32, addr: IpAddr) -> Option<&'a Neighbour> {
        self.ns
            .neighbours
            .iter()
            .flatten()
            .find(|n| n.dev.ifindex == ifindex && n.dst == addr && !n.proxy)
    }

    /// A proxy entry for `addr` on `ifindex` (`ip neigh add proxy`).
    pub fn proxy_entry(&self, ifindex: u32, addr: IpAddr) -> bool {
        self.ns
            .neighbours
            .iter()
            .flatten()
            .any(|n| n.proxy && n.dst == addr && (n.dev.ifindex == ifindex || n.dev.ifindex == 0))
    }

    fn dev_conf(&self, ifindex: u32, family: Family) -> Option<&'a Netconf> {
        let conf = self.iface(ifindex)?.netconf.as_ref()?;
        match family {
            Family::Inet => conf.ipv4.as_ref(),
            Family::Inet6 => conf.ipv6.as_ref(),
        }
    }

    fn all_conf(&self, family: Family) -> Option<&'a Netconf> {
        let conf = self.ns.netconf.as_ref()?;
        match family {
            Family::Inet => conf.ipv4.all.as_ref(),
            Family::Inet6 => conf.ipv6.all.as_ref(),
        }
    }

    /// `IN_DEV_MAXCONF`: the larger of `all` and the device.
    fn max_conf(&self, ifindex: u32, key: fn(&Netconf) -> Option<i32>) -> Option<i32> {
        let dev = key(self.dev_conf(ifindex, Family::Inet)?)?;
        let all = key(self.all_conf(Family::Inet)?)?;
        Some(dev.max(all))
    }

    /// `IN_DEV_ORCONF`: either `all` or the device.
    fn or_conf(&self, ifindex: u32, key: fn(&Netconf) -> Option<i32>) -> Option<bool> {
        let dev = key(self.dev_conf(ifindex, Family::Inet)?)?;
        if dev != 0 {
            return Some(true);
        }
        let all = key(self.all_conf(Family::Inet)?)?;
        Some(all != 0)
    }

    /// IPv4 forwarding on the device a packet came in by
    /// (`IN_DEV_FORWARD`: the device's own value).
    pub fn forwarding4(&self, ifindex: u32) -> Option<bool> {
        self.dev_conf(ifindex, Family::Inet)?
            .forwarding
            .map(|v| v != 0)
    }

    /// IPv6 forwarding: the namespace's `all.forwarding` (ip6_forward).
    pub fn forwarding6(&self) -> Option<bool> {
        self.all_conf(Family::Inet6)?.forwarding.map(|v| v != 0)
    }

    /// Whether IPv6 arriving on `ifindex` is forwarded (ip6_forward):
    /// `all.forwarding`, or the arrival device's `force_forwarding`
    /// (Linux 6.17+; absent counts as off).
    pub fn forwarding6_on(&self, ifindex: u32) -> Option<bool> {
        let all = self.forwarding6()?;
        let forced = self
            .dev_conf(ifindex, Family::Inet6)
            .and_then(|c| c.force_forwarding)
            .is_some_and(|v| v != 0);
        Some(all || forced)
    }

    /// `rp_filter`: max(all, device); 0 off, 1 strict, 2 loose.
    pub fn rp_filter(&self, ifindex: u32) -> Option<i32> {
        self.max_conf(ifindex, |c| c.rp_filter)
    }

    /// `accept_local` (all || device). See [`Self::or_conf_read_or_not`]
    /// for an `all` the scan did not read.
    pub fn accept_local(&self, ifindex: u32) -> Option<bool> {
        self.or_conf_read_or_not(ifindex, |c| c.accept_local, "accept_local")
    }

    pub fn route_localnet(&self, ifindex: u32) -> Option<bool> {
        self.or_conf_read_or_not(ifindex, |c| c.route_localnet, "route_localnet")
    }

    /// An `IN_DEV_ORCONF` knob of `/proc/sys/net/ipv4/conf/all`, which a
    /// scan reads only where it is likely to matter (reading it costs a
    /// walk past every namespace's sysctl directory): where it was not
    /// read, the device's value stands in, and the trace says so
    /// ([`Self::assumptions`]).
    fn or_conf_read_or_not(
        &self,
        ifindex: u32,
        key: fn(&Netconf) -> Option<i32>,
        name: &'static str,
    ) -> Option<bool> {
        let dev = key(self.dev_conf(ifindex, Family::Inet)?)?;
        if dev != 0 {
            return Some(true);
        }
        match self.all_conf(Family::Inet).and_then(key) {
            Some(all) => Some(all != 0),
            None if self.all_conf(Family::Inet).is_some() => {
                self.assume(name);
                Some(false)
            }
            None => None,
        }
    }

    /// Notes that the device's value of `knob` stood in for an unread
    /// `net.ipv4.conf.all.KNOB`.
    pub fn assume(&self, knob: &'static str) {
        let mut knobs = self.assumed.borrow_mut();
        if !knobs.contains(&knob) {
            knobs.push(knob);
        }
    }

    /// The knobs whose unread `all` value this trace took as the device's.
    pub fn assumptions(&self) -> Vec<&'static str> {
        self.assumed.borrow().clone()
    }

    /// `arp_ignore` as (device, `all`): the scan reads `all` only where
    /// it can matter (a multi-homed namespace, a service address on lo),
    /// so its `None` often means "not read", and the caller decides what
    /// that leaves open.
    pub fn arp_ignore_parts(&self, ifindex: u32) -> (Option<i32>, Option<i32>) {
        (
            self.dev_conf(ifindex, Family::Inet)
                .and_then(|c| c.arp_ignore),
            self.all_conf(Family::Inet).and_then(|c| c.arp_ignore),
        )
    }

    /// `arp_filter` as (device, `all`), like [`Self::arp_ignore_parts`].
    pub fn arp_filter_parts(&self, ifindex: u32) -> (Option<i32>, Option<i32>) {
        (
            self.dev_conf(ifindex, Family::Inet)
                .and_then(|c| c.arp_filter),
            self.all_conf(Family::Inet).and_then(|c| c.arp_filter),
        )
    }

    pub fn proxy_arp(&self, ifindex: u32) -> Option<bool> {
        self.or_conf(ifindex, |c| c.proxy_neigh)
    }

    /// `ignore_routes_with_linkdown` for a device of `family`: IPv4 ORs
    /// the device's with `all` (IN_DEV_ORCONF); IPv6 reads the device's
    /// alone (route.c ip6_ignore_linkdown) — writing `all` copies the
    /// value to every device (addrconf_linkdown_change), and a device
    /// set afterwards keeps its own.
    pub fn ignore_linkdown(&self, ifindex: u32, family: Family) -> Option<bool> {
        let dev = self
            .dev_conf(ifindex, family)?
            .ignore_routes_with_linkdown?;
        if dev != 0 || family == Family::Inet6 {
            return Some(dev != 0);
        }
        Some(self.all_conf(family)?.ignore_routes_with_linkdown? != 0)
    }

    /// IPv6 switched off on the device (`disable_ipv6`, or `all`).
    pub fn ipv6_disabled(&self, ifindex: u32) -> Option<bool> {
        let dev = self.dev_conf(ifindex, Family::Inet6)?.disable_ipv6?;
        Some(dev != 0)
    }

    /// IPv6 proxy NDP on a device (`all.proxy_ndp` or the device's).
    pub fn proxy_ndp(&self, ifindex: u32) -> Option<bool> {
        let dev = self.dev_conf(ifindex, Family::Inet6)?.proxy_neigh?;
        if dev != 0 {
            return Some(true);
        }
        Some(self.all_conf(Family::Inet6)?.proxy_neigh? != 0)
    }
}

/// The addresses of an interface in kernel order, from `addr_info`, or
/// from the short `addresses` of a file recorded before it existed (scope
/// then unknown: `global` is assumed, flags empty).
pub fn iface_addrs(iface: &Interface) -> Vec<AddrInfo> {
    if let Some(info) = &iface.addr_info {
        return info.clone();
    }
    iface
        .addresses
        .iter()
        .filter_map(|text| {
            let p = Prefix::parse(text)?;
            Some(AddrInfo {
                family: p.family(),
                local: p.addr,
                prefixlen: p.len,
                peer: None,
                scope: if p.addr.is_loopback() {
                    "host"
                } else {
                    "global"
                }
                .into(),
                flags: Vec::new(),
            })
        })
        .collect()
}

/// An address the kernel will use and answer for: not an IPv6 address
/// still in (or failed) duplicate address detection, unless it is
/// optimistic (RFC 4429: ipv6_chk_addr_and_flags clears TENTATIVE for an
/// OPTIMISTIC address, and ndisc_recv_ns answers for it).
pub fn usable(a: &AddrInfo) -> bool {
    let flag = |name: &str| a.flags.iter().any(|f| f == name);
    !flag("dadfailed") && (!flag("tentative") || flag("optimistic"))
}

/// The interface is administratively up.
pub fn is_up(iface: &Interface) -> bool {
    iface.is_up()
}

/// Up with carrier (RUNNING): `NO-CARRIER` is iproute2's name for UP
/// without it.
pub fn has_carrier(iface: &Interface) -> bool {
    iface.is_up() && !iface.flags.iter().any(|f| f == "NO-CARRIER")
}

pub fn has_flag(iface: &Interface, flag: &str) -> bool {
    iface.flags.iter().any(|f| f == flag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optimistic_address_is_usable_while_tentative() {
        let addr = |flags: &[&str]| AddrInfo {
            family: Family::Inet6,
            local: "fd00::1".parse().expect("addr"),
            prefixlen: 64,
            peer: None,
            scope: "global".into(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
        };
        assert!(usable(&addr(&[])));
        assert!(!usable(&addr(&["tentative"])));
        assert!(usable(&addr(&["tentative", "optimistic"])));
        assert!(usable(&addr(&["optimistic"])));
        assert!(!usable(&addr(&["tentative", "optimistic", "dadfailed"])));
        assert!(!usable(&addr(&["dadfailed"])));
    }
}
