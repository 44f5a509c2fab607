//! Small hand-built snapshots for the checks' unit tests: a namespace is a
//! few interfaces, a veth pair is one call, so each test shows exactly the
//! topology it is about.

use crate::name::Name;
use crate::snapshot::{Interface, LinkRef, Namespace, ScanInfo, Snapshot, Warning};

/// The recorded demo topology (see scripts/record-demo.sh).
pub fn demo() -> Snapshot {
    serde_json::from_str(include_str!("../../tests/fixtures/demo-l2.json"))
        .expect("demo.json parses")
}

pub fn snapshot(namespaces: Vec<Namespace>) -> Snapshot {
    let mut namespaces = namespaces;
    namespaces.sort_by_key(|n| n.inode);
    for ns in &mut namespaces {
        ns.interfaces.sort_by_key(|i| i.ifindex);
    }
    Snapshot {
        schema_version: crate::snapshot::SCHEMA_VERSION,
        scan: ScanInfo {
            privileged: true,
            ..ScanInfo::default()
        },
        namespaces,
        warnings: Vec::<Warning>::new(),
    }
}

/// An `ip netns add`-style namespace (a name and its mount, no process).
pub fn named(inode: u64, name: &str, interfaces: Vec<Interface>) -> Namespace {
    Namespace {
        inode,
        names: vec![Name::from(name)],
        mounts: vec![Name::from(format!("/run/netns/{name}").as_str())],
        scanned: true,
        interfaces,
        ..Namespace::default()
    }
}

/// The host namespace (current, with processes).
pub fn host(inode: u64, interfaces: Vec<Interface>) -> Namespace {
    Namespace {
        inode,
        host: true,
        current: true,
        pids: vec![1],
        scanned: true,
        interfaces,
        ..Namespace::default()
    }
}

/// `lo`, up (as after `ip link set lo up`).
pub fn lo() -> Interface {
    Interface {
        ifindex: 1,
        ifname: Name::from("lo"),
        operstate: "UNKNOWN".into(),
        flags: vec!["LOOPBACK".into(), "UP".into(), "LOWER_UP".into()],
        mtu: 65536,
        addresses: vec!["127.0.0.1/8".into(), "::1/128".into()],
        ..Interface::default()
    }
}

/// `lo` as a fresh namespace has it: down, no addresses.
pub fn lo_down() -> Interface {
    Interface {
        operstate: "DOWN".into(),
        flags: vec!["LOOPBACK".into()],
        addresses: Vec::new(),
        ..lo()
    }
}

/// An interface of `kind` (None: a physical device), up with carrier.
pub fn iface(ifindex: u32, name: &str, kind: Option<&str>) -> Interface {
    Interface {
        ifindex,
        ifname: Name::from(name),
        kind: kind.map(str::to_string),
        operstate: "UP".into(),
        flags: vec![
            "BROADCAST".into(),
            "MULTICAST".into(),
            "UP".into(),
            "LOWER_UP".into(),
        ],
        mtu: 1500,
        ..Interface::default()
    }
}

/// A veth end, up, whose peer is `(netns, ifindex, ifname)`.
pub fn veth(ifindex: u32, name: &str, peer: (u64, u32, &str)) -> Interface {
    Interface {
        peer: Some(at(peer.0, peer.1, peer.2)),
        ..iface(ifindex, name, Some("veth"))
    }
}

pub fn bridge(ifindex: u32, name: &str) -> Interface {
    iface(ifindex, name, Some("bridge"))
}

/// A reference to an interface.
pub fn at(netns: u64, ifindex: u32, ifname: &str) -> LinkRef {
    LinkRef {
        netns: Some(netns),
        ifindex,
        ifname: Some(Name::from(ifname)),
    }
}

/// Builder-style tweaks, so tests read as "a veth, down, with mtu 1400".
pub trait Tweak: Sized {
    fn down(self) -> Self;
    fn no_carrier(self) -> Self;
    fn mtu(self, mtu: u32) -> Self;
    fn addr(self, a: &str) -> Self;
    fn port_of(self, netns: u64, master: u32, name: &str, state: &str) -> Self;
}

impl Tweak for Interface {
    /// Administratively down (no UP flag), as `ip link set X down` leaves it.
    fn down(mut self) -> Self {
        self.flags.retain(|f| f != "UP" && f != "LOWER_UP");
        self.operstate = "DOWN".into();
        self
    }

    /// Up but without carrier (a veth whose peer is down, a tap nobody opened).
    fn no_carrier(mut self) -> Self {
        self.flags.retain(|f| f != "LOWER_UP");
        self.flags.insert(0, "NO-CARRIER".into());
        self.operstate = "DOWN".into();
        self
    }

    fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = mtu;
        self
    }

    fn addr(mut self, a: &str) -> Self {
        self.addresses.push(a.into());
        self
    }

    fn port_of(mut self, netns: u64, master: u32, name: &str, state: &str) -> Self {
        self.master = Some(at(netns, master, name));
        self.slave_kind = Some("bridge".into());
        self.port_state = Some(state.to_string().into());
        self
    }
}

/// The codes of findings, for compact assertions.
pub fn codes(findings: &[super::Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code.id()).collect()
}

/// `ifname@inode` of each interface a finding names.
pub fn refs(finding: &super::Finding) -> Vec<String> {
    finding
        .interfaces
        .iter()
        .map(|r| {
            format!(
                "{}@{}",
                r.ifname.as_ref().map_or("?", |n| n.as_str()),
                r.netns.map_or("?".to_string(), |n| n.to_string())
            )
        })
        .collect()
}
