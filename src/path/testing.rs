//! Hand-built hosts for the engine's unit tests: namespaces with the
//! routes, rules and netconf the kernel would give them (connected and
//! local routes for every address, the three default IPv4 rules and two
//! IPv6 ones, lo up), wired with veths, bridges and macvlans. Tests on
//! kernel recordings live with the fixtures; these pin single behaviours.

use std::borrow::Cow;
use std::net::IpAddr;

use super::net::Prefix;
use crate::name::Name;
use crate::snapshot::l3::{
    Family, Firewall, InterfaceNetconf, NamespaceNetconf, Netconf, NetconfPair, NftChain, NftTable,
    TABLE_DEFAULT, TABLE_LOCAL, TABLE_MAIN,
};
use crate::snapshot::{AddrInfo, Interface, LinkRef, Namespace, Route, Rule, Snapshot};

pub struct Host {
    pub snapshot: Snapshot,
}

/// A namespace of a [`Host`], by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ns(pub usize);

fn conf(forwarding: i32) -> Netconf {
    Netconf {
        forwarding: Some(forwarding),
        rp_filter: Some(0),
        mc_forwarding: Some(0),
        proxy_neigh: Some(0),
        ignore_routes_with_linkdown: Some(0),
        accept_local: Some(0),
        route_localnet: Some(0),
        arp_ignore: Some(0),
        arp_filter: Some(0),
        disable_ipv6: Some(0),
        force_forwarding: Some(0),
    }
}

pub fn rule(family: Family, priority: u32, table: u32) -> Rule {
    Rule {
        family,
        priority,
        not: false,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        iif_detached: false,
        oif_detached: false,
        fwmark: None,
        fwmask: None,
        tos: 0,
        dscp: None,
        ipproto: None,
        sport: None,
        dport: None,
        uidrange: None,
        l3mdev: false,
        tun_id: None,
        action: "lookup".into(),
        table: Some(table),
        goto: None,
        suppress_prefixlength: None,
        suppress_ifgroup: None,
        protocol: "kernel".into(),
        dscp_mask: None,
        sport_mask: None,
        dport_mask: None,
        flowlabel: None,
        unknown_selectors: Vec::new(),
    }
}

pub fn route(family: Family, table: u32, kind: &str, dst: &str, dev: Option<LinkRef>) -> Route {
    Route {
        family,
        table,
        kind: kind.into(),
        dst: dst.into(),
        src: None,
        protocol: "boot".into(),
        scope: if kind == "local" { "host" } else { "global" }.into(),
        metric: None,
        tos: 0,
        prefsrc: None,
        gateway: None,
        dev,
        flags: Vec::new(),
        nexthops: Vec::new(),
        nhid: None,
        mtu: None,
        pref: None,
    }
}

impl Host {
    pub fn new() -> Host {
        Host {
            snapshot: Snapshot {
                schema_version: crate::snapshot::SCHEMA_VERSION,
                scan: Default::default(),
                namespaces: Vec::new(),
                warnings: Vec::new(),
            },
        }
    }

    /// A namespace named `name` with lo up and 127.0.0.1, forwarding off.
    pub fn ns(&mut self, name: &str) -> Ns {
        let inode = 4026532000 + self.snapshot.namespaces.len() as u64;
        let ns = Namespace {
            inode,
            names: vec![Name::from(name)],
            scanned: true,
            display_name: name.to_string(),
            routes: Some(Vec::new()),
            rules: Some(vec![
                rule(Family::Inet, 0, TABLE_LOCAL),
                rule(Family::Inet, 32766, TABLE_MAIN),
                rule(Family::Inet, 32767, TABLE_DEFAULT),
                rule(Family::Inet6, 0, TABLE_LOCAL),
                rule(Family::Inet6, 32766, TABLE_MAIN),
            ]),
            neighbours: Some(Vec::new()),
            fdb: Some(Vec::new()),
            nexthops: Some(Vec::new()),
            netconf: Some(NamespaceNetconf {
                ipv4: NetconfPair {
                    all: Some(conf(0)),
                    default: Some(conf(0)),
                },
                ipv6: NetconfPair {
                    all: Some(conf(0)),
                    default: Some(conf(0)),
                },
            }),
            firewall: Some(Firewall {
                nftables: Some(Vec::new()),
                nftables_generation: Some(1),
                iptables_legacy: Some(Vec::new()),
                bridge_nf_call_iptables: None,
                bridge_nf_call_ip6tables: None,
                bridge_nf_call_arptables: None,
                conntrack_count: None,
                conntrack_max: None,
            }),
            ..Namespace::default()
        };
        self.snapshot.namespaces.push(ns);
        let id = Ns(self.snapshot.namespaces.len() - 1);
        let lo = self.iface(id, "lo", None);
        self.set_flags(id, lo, &["LOOPBACK", "UP", "LOWER_UP"]);
        self.addr(id, lo, "127.0.0.1/8");
        self.addr(id, lo, "::1/128");
        id
    }

    pub fn inode(&self, ns: Ns) -> u64 {
        self.snapshot.namespaces[ns.0].inode
    }

    fn namespace(&mut self, ns: Ns) -> &mut Namespace {
        &mut self.snapshot.namespaces[ns.0]
    }

    /// Adds an interface (up, with carrier), returning its ifindex. Its
    /// IPv4 netconf starts as the namespace's `default`, as in the kernel.
    pub fn iface(&mut self, ns: Ns, name: &str, kind: Option<&str>) -> u32 {
        let n = self.namespace(ns);
        let v4 = n
            .netconf
            .as_ref()
            .and_then(|c| c.ipv4.default.clone())
            .unwrap_or_else(|| conf(0));
        let ifindex = n.interfaces.len() as u32 + 1;
        let mac = format!("02:00:00:00:{:02x}:{:02x}", ns.0, ifindex);
        n.interfaces.push(Interface {
            ifindex,
            ifname: Name::from(name),
            kind: kind.map(str::to_string),
            operstate: Cow::Borrowed("UP"),
            flags: vec![
                Cow::Borrowed("BROADCAST"),
                Cow::Borrowed("MULTICAST"),
                Cow::Borrowed("UP"),
                Cow::Borrowed("LOWER_UP"),
            ],
            mtu: 1500,
            address: Some(mac),
            addr_info: Some(Vec::new()),
            netconf: Some(InterfaceNetconf {
                ipv4: Some(v4),
                ipv6: Some(conf(0)),
            }),
            ..Interface::default()
        });
        ifindex
    }

    pub fn at(&self, ns: Ns, ifindex: u32) -> LinkRef {
        let n = &self.snapshot.namespaces[ns.0];
        LinkRef {
            netns: Some(n.inode),
            ifindex,
            ifname: n.interface(ifindex).map(|i| i.ifname.clone()),
        }
    }

    fn iface_mut(&mut self, ns: Ns, ifindex: u32) -> &mut Interface {
        let n = self.namespace(ns);
        let i = n
            .interfaces
            .iter()
            .position(|i| i.ifindex == ifindex)
            .unwrap_or(0);
        &mut n.interfaces[i]
    }

    pub fn set_flags(&mut self, ns: Ns, ifindex: u32, flags: &[&'static str]) {
        self.iface_mut(ns, ifindex).flags = flags.iter().map(|f| Cow::Borrowed(*f)).collect();
    }

    /// Takes an interface down: flags, and the routes the kernel removes
    /// (all through it but its addresses' local routes; lo takes 127/8's).
    pub fn down(&mut self, ns: Ns, ifindex: u32) {
        let i = self.iface_mut(ns, ifindex);
        i.flags.retain(|f| f != "UP" && f != "LOWER_UP");
        i.operstate = Cow::Borrowed("DOWN");
        let n = self.namespace(ns);
        if let Some(routes) = &mut n.routes {
            routes.retain(|r| {
                let through = r.dev.as_ref().is_some_and(|d| d.ifindex == ifindex);
                !through || (ifindex != 1 && r.table == TABLE_LOCAL && r.kind == "local")
            });
        }
    }

    /// Up, but without carrier (its far end is down).
    pub fn no_carrier(&mut self, ns: Ns, ifindex: u32) {
        let i = self.iface_mut(ns, ifindex);
        i.flags = vec![
            Cow::Borrowed("NO-CARRIER"),
            Cow::Borrowed("BROADCAST"),
            Cow::Borrowed("MULTICAST"),
            Cow::Borrowed("UP"),
        ];
        i.operstate = Cow::Borrowed("LOWERLAYERDOWN");
    }

    /// An address and the routes the kernel adds for it.
    pub fn addr(&mut self, ns: Ns, ifindex: u32, cidr: &str) {
        let p = Prefix::parse(cidr).expect("cidr");
        let family = p.family();
        let dev = self.at(ns, ifindex);
        let i = self.iface_mut(ns, ifindex);
        i.addresses.push(cidr.to_string());
        let scope = if p.addr.is_loopback() {
            "host"
        } else if super::net::is_ipv6_link_local(p.addr) {
            "link"
        } else {
            "global"
        };
        i.addr_info.get_or_insert_with(Vec::new).push(AddrInfo {
            family,
            local: p.addr,
            prefixlen: p.len,
            peer: None,
            scope: scope.into(),
            flags: vec!["permanent".into()],
        });
        let bits = family.bits();
        let network = Prefix {
            addr: network(p),
            len: p.len,
        };
        let routes = self.namespace(ns).routes.get_or_insert_with(Vec::new);
        let mut local = route(
            family,
            TABLE_LOCAL,
            "local",
            &format!("{}/{bits}", p.addr),
            Some(dev.clone()),
        );
        local.protocol = "kernel".into();
        local.prefsrc = (family == Family::Inet).then_some(p.addr);
        if p.addr.is_loopback() && family == Family::Inet {
            local.dst = "127.0.0.0/8".into();
        }
        routes.push(local);
        if p.len < bits && !p.addr.is_loopback() {
            let mut connected = route(
                family,
                TABLE_MAIN,
                "unicast",
                &network.to_string(),
                Some(dev),
            );
            connected.protocol = "kernel".into();
            connected.scope = "link".into();
            connected.prefsrc = (family == Family::Inet).then_some(p.addr);
            connected.metric = (family == Family::Inet6).then_some(256);
            routes.push(connected);
        }
    }

    /// A route in the main table.
    pub fn route(&mut self, ns: Ns, dst: &str, via: Option<&str>, dev: u32) {
        let dev = self.at(ns, dev);
        let family = Prefix::parse(dst).expect("dst").family();
        let mut r = route(family, TABLE_MAIN, "unicast", dst, Some(dev));
        r.gateway = via.map(|v| v.parse().expect("gateway"));
        r.metric = (family == Family::Inet6).then_some(1024);
        self.namespace(ns)
            .routes
            .get_or_insert_with(Vec::new)
            .push(r);
    }

    pub fn push_route(&mut self, ns: Ns, r: Route) {
        self.namespace(ns)
            .routes
            .get_or_insert_with(Vec::new)
            .push(r);
    }

    pub fn push_rule(&mut self, ns: Ns, r: Rule) {
        let rules = self.namespace(ns).rules.get_or_insert_with(Vec::new);
        rules.push(r);
        rules.sort_by_key(|r| r.priority);
    }

    /// IPv4 forwarding on every device (and `all`), IPv6 `all.forwarding`.
    pub fn forwarding(&mut self, ns: Ns, on: bool) {
        let v = i32::from(on);
        let n = self.namespace(ns);
        for i in &mut n.interfaces {
            if let Some(c) = i.netconf.as_mut().and_then(|c| c.ipv4.as_mut()) {
                c.forwarding = Some(v);
            }
        }
        // Writing all.forwarding also writes default.forwarding
        // (devinet.c inet_forward_change).
        if let Some(c) = n.netconf.as_mut() {
            if let Some(all) = c.ipv4.all.as_mut() {
                all.forwarding = Some(v);
            }
            if let Some(default) = c.ipv4.default.as_mut() {
                default.forwarding = Some(v);
            }
            if let Some(all) = c.ipv6.all.as_mut() {
                all.forwarding = Some(v);
            }
        }
    }

    pub fn rp_filter_all(&mut self, ns: Ns, value: i32) {
        if let Some(all) = self
            .namespace(ns)
            .netconf
            .as_mut()
            .and_then(|c| c.ipv4.all.as_mut())
        {
            all.rp_filter = Some(value);
        }
    }

    /// A veth pair, both ends up.
    pub fn veth(&mut self, a: Ns, a_name: &str, b: Ns, b_name: &str) -> (u32, u32) {
        let ia = self.iface(a, a_name, Some("veth"));
        let ib = self.iface(b, b_name, Some("veth"));
        let ra = self.at(a, ia);
        let rb = self.at(b, ib);
        self.iface_mut(a, ia).peer = Some(rb);
        self.iface_mut(b, ib).peer = Some(ra);
        (ia, ib)
    }

    pub fn bridge(&mut self, ns: Ns, name: &str) -> u32 {
        let b = self.iface(ns, name, Some("bridge"));
        self.iface_mut(ns, b).vlan_filtering = Some(false);
        b
    }

    /// Makes `port` a forwarding port of `bridge`.
    pub fn enslave(&mut self, ns: Ns, port: u32, bridge: u32) {
        let master = self.at(ns, bridge);
        let p = self.iface_mut(ns, port);
        p.master = Some(master);
        p.slave_kind = Some("bridge".into());
        p.port_state = Some(Cow::Borrowed("forwarding"));
        p.port_isolated = Some(false);
        p.port_locked = Some(false);
        // An enslaved device keeps no routes of its own.
        if let Some(routes) = &mut self.namespace(ns).routes {
            routes.retain(|r| r.dev.as_ref().is_none_or(|d| d.ifindex != port));
        }
    }

    /// A macvlan in `ns` on `lower` (in `lower_ns`), in `mode`.
    pub fn macvlan(&mut self, ns: Ns, name: &str, lower_ns: Ns, lower: u32, mode: &str) -> u32 {
        let m = self.iface(ns, name, Some("macvlan"));
        let lower = self.at(lower_ns, lower);
        let i = self.iface_mut(ns, m);
        i.link = Some(lower);
        i.macvlan_mode = Some(mode.into());
        m
    }

    /// A chain in the namespace's nftables (a table of `family` named
    /// `filter`).
    pub fn nft_chain(&mut self, ns: Ns, family: &str, hook: &str, policy: &str, rules: u32) {
        let fw = self
            .namespace(ns)
            .firewall
            .get_or_insert_with(Firewall::default);
        let tables = fw.nftables.get_or_insert_with(Vec::new);
        if !tables.iter().any(|t| t.family == family) {
            tables.push(NftTable {
                family: family.into(),
                name: Name::from("filter"),
                handle: 1,
                flags: Vec::new(),
                chains: Vec::new(),
                sets: None,
                bound_chains: Vec::new(),
                flowtables: None,
            });
        }
        if let Some(t) = tables.iter_mut().find(|t| t.family == family) {
            t.chains.push(NftChain {
                name: Name::from(hook),
                handle: t.chains.len() as u64 + 1,
                hook: Some(hook.into()),
                kind: Some("filter".into()),
                priority: Some(0),
                policy: Some(policy.into()),
                devices: Vec::new(),
                rule_count: rules,
                rules: None,
            });
        }
    }

    pub fn build(&self) -> Snapshot {
        let mut s = self.snapshot.clone();
        for ns in &mut s.namespaces {
            ns.interfaces.sort_by_key(|i| i.ifindex);
        }
        s
    }
}

fn network(p: Prefix) -> IpAddr {
    match p.addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}
