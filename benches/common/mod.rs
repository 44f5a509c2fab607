//! What the benchmarks share: a generated host, as a raw scan, and the
//! statistics of a timing loop.
#![allow(dead_code)] // each bench uses its own part

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use nsmap::attribution::{Process, short_cmdline};
use nsmap::name::Name;
use nsmap::raw::l3::{RawFirewall, RawL3, RawNeighbour, RawNetconf, RawRoute, RawRule, RawSysctl};
use nsmap::raw::{RAW_SCHEMA_VERSION, RawAddr, RawLink, RawNamespace, RawNsid, RawScan};
use nsmap::snapshot::{ProcessSummary, ScanInfo};

/// Container namespaces besides the host's: `NAMESPACES` from the
/// environment, else `default`.
pub fn namespace_count(default: u32) -> u32 {
    std::env::var("NAMESPACES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
pub const HOST: u64 = 4_026_531_840;
/// A Linux bridge takes at most 1,024 ports.
const PORTS_PER_BRIDGE: u32 = 1_000;
/// First ifindex of the host's veth ports (after lo, eth0 and the bridges).
const FIRST_PORT: u32 = 100;
const IFF_UP_RUNNING: u32 = 0x1 | 0x2 | 0x40 | 0x1000 | 0x10000; // UP BROADCAST RUNNING MULTICAST LOWER_UP

fn mac(n: u32) -> Option<Vec<u8>> {
    let b = n.to_be_bytes();
    Some(vec![0x02, 0x42, b[0], b[1], b[2], b[3]])
}

fn loopback() -> RawLink {
    RawLink {
        ifindex: 1,
        ifname: Name::from("lo"),
        operstate: 0,
        flags: 0x1 | 0x8 | 0x40 | 0x10000, // UP LOOPBACK RUNNING LOWER_UP
        mtu: 65536,
        address: Some(vec![0; 6]),
        ..RawLink::default()
    }
}

fn addr(ifindex: u32, v4: [u8; 4], prefix_len: u8) -> RawAddr {
    RawAddr {
        ifindex,
        address: IpAddr::V4(Ipv4Addr::from(v4)),
        prefix_len,
        scope: 0,
        flags: 0x80,
        peer: None,
    }
}

/// Container `i`'s address: 10.88.0.2 onwards on the first bridge (.0.1
/// is the bridge's own), 10.89.… on the second.
fn container_address(i: u32) -> [u8; 4] {
    let b = i / PORTS_PER_BRIDGE;
    let n = i % PORTS_PER_BRIDGE + 2;
    [10, 88 + b as u8, (n >> 8) as u8, n as u8]
}

/// A host with `n` containers; `answered` adds the RTM_GETNSID answers a
/// finished scan has (each container asked about the host).
pub fn raw_scan(n: u32, answered: bool) -> RawScan {
    let bridges = n.div_ceil(PORTS_PER_BRIDGE).max(1);
    let mut host = RawNamespace {
        inode: HOST,
        id: Some(1),
        current: true,
        host: true,
        pids: (1..300).collect(),
        process: Some(ProcessSummary {
            pid: 1,
            comm: Name::from("systemd"),
        }),
        scanned: true,
        // One command line cut at CMDLINE_MAX ends in `…`: a real host's
        // JSON is rarely all ASCII.
        processes: vec![
            Process {
                pid: 1,
                comm: Name::from("systemd"),
                cmdline: Name::from("/sbin/init"),
                uid: Some(0),
            },
            Process {
                pid: 2,
                comm: Name::from("containerd"),
                cmdline: short_cmdline("/usr/bin/containerd --config ".repeat(10).as_bytes()),
                uid: Some(0),
            },
        ],
        links: vec![
            loopback(),
            RawLink {
                ifindex: 2,
                ifname: Name::from("eth0"),
                operstate: 6,
                flags: IFF_UP_RUNNING,
                mtu: 1500,
                address: mac(2),
                ..RawLink::default()
            },
        ],
        addrs: vec![addr(1, [127, 0, 0, 1], 8), addr(2, [192, 168, 1, 10], 24)],
        ..RawNamespace::default()
    };
    for b in 0..bridges {
        host.links.push(RawLink {
            ifindex: 10 + b,
            ifname: Name::from(format!("cni{b}").as_str()),
            kind: Some("bridge".into()),
            operstate: 6,
            flags: IFF_UP_RUNNING,
            mtu: 1500,
            address: mac(10 + b),
            ..RawLink::default()
        });
        host.addrs.push(addr(10 + b, [10, 88 + b as u8, 0, 1], 16));
    }
    let mut namespaces = Vec::with_capacity(n as usize + 1);
    for i in 0..n {
        let inode = HOST + 1 + u64::from(i);
        let port = FIRST_PORT + i;
        let name = format!("ctr-{i:04}");
        host.links.push(RawLink {
            ifindex: port,
            ifname: Name::from(format!("veth{:08x}", i.wrapping_mul(2_654_435_761)).as_str()),
            kind: Some("veth".into()),
            slave_kind: Some("bridge".into()),
            operstate: 6,
            flags: IFF_UP_RUNNING,
            mtu: 1500,
            address: mac(port),
            link: Some(2),
            link_netnsid: Some(i as i32),
            master: Some(10 + i / PORTS_PER_BRIDGE),
            port_state: Some(3),
            ..RawLink::default()
        });
        let pid = 10_000 + i;
        namespaces.push(RawNamespace {
            inode,
            id: Some(2 + u64::from(i)),
            names: vec![Name::from(name.as_str())],
            mounts: vec![Name::from(format!("/run/netns/{name}").as_str())],
            pids: vec![pid],
            process: Some(ProcessSummary {
                pid,
                comm: Name::from("pause"),
            }),
            scanned: true,
            links: vec![
                loopback(),
                RawLink {
                    ifindex: 2,
                    ifname: Name::from("eth0"),
                    kind: Some("veth".into()),
                    operstate: 6,
                    flags: IFF_UP_RUNNING,
                    mtu: 1500,
                    address: mac(0x1_0000 + i),
                    link: Some(port),
                    link_netnsid: Some(0),
                    ..RawLink::default()
                },
            ],
            addrs: vec![
                addr(1, [127, 0, 0, 1], 8),
                addr(2, container_address(i), 16),
            ],
            nsids: if answered {
                vec![RawNsid {
                    netns: HOST,
                    nsid: Some(0),
                }]
            } else {
                Vec::new()
            },
            processes: vec![Process {
                pid,
                comm: Name::from("pause"),
                cmdline: Name::from("/pause"),
                uid: Some(0),
            }],
            hostname: Some(Name::from(name.as_str())),
            ..RawNamespace::default()
        });
    }
    namespaces.insert(0, host);
    RawScan {
        raw_schema_version: RAW_SCHEMA_VERSION,
        scan: ScanInfo {
            nsmap_version: "bench".into(),
            duration_ms: Some(100.0),
            privileged: true,
            phases_ms: None,
        },
        namespaces,
        warnings: Vec::new(),
    }
}

pub struct Stats {
    pub min: Duration,
    pub median: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Stats {
        min: at(0.0),
        median: at(0.5),
        p99: at(0.99),
        max: at(1.0),
    }
}

/// A route as the kernel reports it (raw numbers).
fn raw_route(table: u32, kind: u8, dst: [u8; 4], len: u8, oif: u32) -> RawRoute {
    RawRoute {
        family: libc_af_inet(),
        dst_len: len,
        table,
        protocol: 2,
        scope: match kind {
            2 => 254,
            3 => 253,
            _ if len == 0 => 0,
            _ => 253,
        },
        kind,
        dst: (len > 0).then(|| IpAddr::V4(Ipv4Addr::from(dst))),
        oif: Some(oif),
        ..RawRoute::default()
    }
}

fn libc_af_inet() -> u8 {
    2
}

fn raw_rule(family: u8, priority: u32, table: u32) -> RawRule {
    RawRule {
        family,
        priority,
        table,
        action: 1,
        protocol: 2,
        ..RawRule::default()
    }
}

/// What `all`/`default` netconf answers look like (forwarding as given).
fn netconf(forwarding: i32) -> Vec<RawNetconf> {
    let mut out = Vec::new();
    for family in [2u8, 10] {
        for ifindex in [-1, -2] {
            out.push(RawNetconf {
                family,
                ifindex,
                forwarding: Some(forwarding),
                rp_filter: (family == 2).then_some(0),
                mc_forwarding: Some(0),
                proxy_neigh: Some(0),
                ignore_routes_with_linkdown: Some(0),
            });
        }
    }
    out
}

/// Layer 3 of one namespace whose `dev` has `own`/16 and a default route
/// via `gateway` (the host: `forwarding`, and a route per bridge).
fn layer3(own: [u8; 4], dev: u32, gateway: [u8; 4], gw_mac: u32, forwarding: i32) -> RawL3 {
    let net = [own[0], own[1], 0, 0];
    let bcast = [own[0], own[1], 255, 255];
    let mut routes = vec![
        raw_route(255, 2, [127, 0, 0, 0], 8, 1),
        raw_route(255, 2, [127, 0, 0, 1], 32, 1),
        raw_route(255, 3, [127, 255, 255, 255], 32, 1),
        raw_route(255, 2, own, 32, dev),
        raw_route(255, 3, bcast, 32, dev),
        raw_route(254, 1, net, 16, dev),
        RawRoute {
            protocol: 3,
            gateway: Some(IpAddr::V4(Ipv4Addr::from(gateway))),
            ..raw_route(254, 1, [0; 4], 0, dev)
        },
    ];
    for r in &mut routes {
        if r.kind == 2 || r.kind == 3 || (r.table == 254 && r.dst_len > 0) {
            r.prefsrc = Some(IpAddr::V4(Ipv4Addr::from(if r.oif == Some(1) {
                [127, 0, 0, 1]
            } else {
                own
            })));
        }
    }
    routes.push(RawRoute {
        family: 10,
        dst_len: 128,
        table: 255,
        protocol: 2,
        kind: 2,
        dst: Some("::1".parse().expect("v6")),
        oif: Some(1),
        priority: Some(0),
        ..RawRoute::default()
    });
    RawL3 {
        routes: Some(routes),
        rules: Some(vec![
            raw_rule(2, 0, 255),
            raw_rule(2, 32766, 254),
            raw_rule(2, 32767, 253),
            raw_rule(10, 0, 255),
            raw_rule(10, 32766, 254),
            RawRule {
                src_len: 8,
                src: Some("fd00::".parse().expect("v6")),
                ..raw_rule(10, 1000, 254)
            },
        ]),
        neighbours: Some(vec![RawNeighbour {
            family: 2,
            ifindex: dev,
            state: 0x02,
            dst: Some(IpAddr::V4(Ipv4Addr::from(gateway))),
            lladdr: mac(gw_mac),
            ..RawNeighbour::default()
        }]),
        fdb: None,
        nexthops: None,
        netconf: netconf(forwarding),
        sysctl: RawSysctl {
            arp_ignore: Some(0),
            arp_filter: Some(0),
            accept_local: Some(0),
            route_localnet: Some(0),
            bridge_nf_call_iptables: None,
            bridge_nf_call_ip6tables: None,
            bridge_nf_call_arptables: None,
            conntrack_count: None,
            conntrack_max: None,
        },
        firewall: Some(RawFirewall {
            nftables: Some(Vec::new()),
            nft_generation: Some(1),
            iptables_legacy: Some(Vec::new()),
            problems: Vec::new(),
        }),
    }
}

/// Per-device IPv4 and IPv6 devconf as a link message carries them.
fn devconf(link: &mut RawLink, forwarding: u32) {
    let mut v4 = vec![0u32; 33];
    v4[0] = forwarding;
    link.inet_conf = Some(v4);
    link.inet6_conf = Some(vec![0i32; 59]);
}

/// [`raw_scan`] with layer 3 as a layer-3 scan records it: every
/// namespace its local table, a connected and a default route, three rules
/// per family, a neighbour, netconf and an empty firewall; the host
/// forwards and has a neighbour entry per container.
pub fn raw_scan_l3(n: u32) -> RawScan {
    let mut raw = raw_scan(n, true);
    let bridges = n.div_ceil(PORTS_PER_BRIDGE).max(1);
    for (i, ns) in raw.namespaces.iter_mut().enumerate() {
        if ns.host {
            for link in &mut ns.links {
                devconf(link, 1);
            }
            let mut l3 = layer3([192, 168, 1, 10], 2, [192, 168, 1, 1], 0xfffe, 1);
            if let Some(routes) = &mut l3.routes {
                for b in 0..bridges {
                    let own = [10, 88 + b as u8, 0, 1];
                    routes.push(raw_route(255, 2, own, 32, 10 + b));
                    let mut connected = raw_route(254, 1, [10, 88 + b as u8, 0, 0], 16, 10 + b);
                    connected.prefsrc = Some(IpAddr::V4(Ipv4Addr::from(own)));
                    routes.push(connected);
                }
            }
            if let Some(neighbours) = &mut l3.neighbours {
                for c in 0..n {
                    neighbours.push(RawNeighbour {
                        family: 2,
                        ifindex: 10 + c / PORTS_PER_BRIDGE,
                        state: 0x02,
                        dst: Some(IpAddr::V4(Ipv4Addr::from(container_address(c)))),
                        lladdr: mac(0x1_0000 + c),
                        ..RawNeighbour::default()
                    });
                }
            }
            ns.l3 = Some(l3);
        } else {
            let c = (i - 1) as u32;
            for link in &mut ns.links {
                devconf(link, 0);
            }
            let b = c / PORTS_PER_BRIDGE;
            let own = container_address(c);
            ns.l3 = Some(layer3(own, 2, [10, 88 + b as u8, 0, 1], 10 + b, 0));
        }
    }
    raw
}
