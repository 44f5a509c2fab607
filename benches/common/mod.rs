//! What the benchmarks share: a generated host, as a raw scan, and the
//! statistics of a timing loop.
#![allow(dead_code)] // each bench uses its own part

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use nsmap::attribution::{Process, short_cmdline};
use nsmap::name::Name;
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
                addr(
                    2,
                    [
                        10,
                        88 + (i / PORTS_PER_BRIDGE) as u8,
                        (i >> 8) as u8,
                        i as u8,
                    ],
                    16,
                ),
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
