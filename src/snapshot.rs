//! The resolved map of a host: the JSON contract (schema 1) every consumer reads.
//!
//! Invariants: every reference to an interface is a [`LinkRef`] carrying the
//! namespace inode (never a bare ifindex); namespaces are sorted by inode and
//! interfaces by ifindex; every field is always present with one type
//! (`null` when unknown). Fields may be added within schema 1, never renamed
//! or retyped. `FORMAT.md` documents each field.

use std::borrow::Cow;

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use crate::attribution::{CniAttachment, Container, LabelSources, Process, display_name};
use crate::name::Name;

pub mod l3;
pub mod nft;
pub mod tc;

pub use l3::{
    AddrInfo, FdbEntry, Firewall, InterfaceNetconf, NamespaceNetconf, Neighbour, Nexthop, Route,
    Rule,
};

/// Bumped only for an incompatible change of the JSON contract.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub schema_version: u32,
    pub scan: ScanInfo,
    pub namespaces: Vec<Namespace>,
    pub warnings: Vec<Warning>,
}

/// How the snapshot was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanInfo {
    /// The nsmap version that scanned.
    pub nsmap_version: String,
    /// Wall time of the scan in milliseconds (null when not measured).
    pub duration_ms: Option<f64>,
    /// Whether the scan could enter other namespaces (root or CAP_SYS_ADMIN);
    /// false means the map shows only what an unprivileged user can see.
    pub privileged: bool,
    /// Where the time went, per phase (null when not measured).
    #[serde(default)]
    pub phases_ms: Option<Phases>,
}

/// Milliseconds per scan phase: what to look at when a scan is slow. The
/// phases overlap (dumps start as discovery opens namespaces, attribution
/// runs during the dumps), so `discover`, `dump` and `nsids` are the
/// stretches of wall time up to each one's end, and `attribution` its own
/// duration within them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// From the start until discovery (/proc, mountinfo, /run/netns, each
    /// namespace opened) is done.
    pub discover: f64,
    /// From then until the last namespace's links and addresses are dumped.
    pub dump: f64,
    /// From then until the RTM_GETNSID questions still open are answered.
    pub nsids: f64,
    /// Reading processes, containers and hostnames (during the dumps).
    pub attribution: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    /// nsfs inode: the number in `net:[…]`. Unique while the namespace lives.
    pub inode: u64,
    /// 64-bit namespace id (`NS_GET_ID`); never reused, unlike inodes.
    pub id: Option<u64>,
    /// nsmap's own namespace.
    pub current: bool,
    /// The namespace of PID 1 (false for all when PID 1 could not be read).
    pub host: bool,
    /// `ip netns` names (entries of /run/netns).
    pub names: Vec<Name>,
    /// Every nsfs bind mount of this namespace, in any mount namespace.
    pub mounts: Vec<Name>,
    /// Processes whose network namespace this is, sorted.
    pub pids: Vec<u32>,
    /// Threads that sit in this namespace while their process does not.
    pub threads: Vec<ThreadRef>,
    /// Processes holding it open by a file descriptor.
    pub holders: Vec<Holder>,
    /// The first process (lowest pid) in it, as a hint of what it is.
    pub process: Option<ProcessSummary>,
    /// Whether nsmap could dump its interfaces; false means `interfaces`
    /// is empty because nsmap could not look, not because there are none.
    pub scanned: bool,
    pub interfaces: Vec<Interface>,
    // What lives in it (see `crate::attribution`); defaults keep snapshots
    // written before these fields existed loadable.
    /// Every process in it: pid, comm, short cmdline, uid.
    #[serde(default)]
    pub processes: Vec<Process>,
    /// Containers whose processes share it (several for a pod).
    #[serde(default)]
    pub containers: Vec<Container>,
    /// Hostname of its first process's UTS namespace, where readable.
    #[serde(default)]
    pub hostname: Option<Name>,
    /// CNI attachments that libcni recorded for it.
    #[serde(default)]
    pub cni: Vec<CniAttachment>,
    /// The label every human view shows ([`display_name`]).
    #[serde(default)]
    pub display_name: String,
    // Layer 3 (see `l3`): null when not read — a command that needs no
    // layer 3, a failed dump, or a file recorded before these keys existed.
    /// Every route of every table, IPv4 and IPv6, in kernel order.
    #[serde(default)]
    pub routes: Option<Vec<Route>>,
    /// Policy routing rules, IPv4 then IPv6, each by priority.
    #[serde(default)]
    pub rules: Option<Vec<Rule>>,
    /// ARP and NDP entries (and proxy entries).
    #[serde(default)]
    pub neighbours: Option<Vec<Neighbour>>,
    /// Bridge and vxlan forwarding database entries.
    #[serde(default)]
    pub fdb: Option<Vec<FdbEntry>>,
    /// Nexthop objects (`ip nexthop`).
    #[serde(default)]
    pub nexthops: Option<Vec<Nexthop>>,
    /// The namespace's `all` and `default` netconf per family.
    #[serde(default)]
    pub netconf: Option<NamespaceNetconf>,
    /// nftables / iptables-legacy presence and the br_netfilter sysctls.
    #[serde(default)]
    pub firewall: Option<Firewall>,
    /// When this namespace's interface counters were read: Unix time in
    /// nanoseconds (null when they were not). Two snapshots' counters give
    /// rates over the difference of these, not of the scans' start times.
    #[serde(default)]
    pub stats_at_ns: Option<u64>,
    /// The same moment on CLOCK_BOOTTIME, in nanoseconds: what rates are
    /// measured on when both readings have it (the wall clock can be
    /// stepped between two scans; this one cannot).
    #[serde(default)]
    pub stats_boottime_ns: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ThreadRef {
    pub pid: u32,
    pub tid: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub fd: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSummary {
    pub pid: u32,
    pub comm: Name,
}

/// One interface. Names from fixed kernel vocabularies (operstate, flags,
/// port state) are `Cow`: borrowed `'static` text when resolved from a scan,
/// so a host with thousands of interfaces does not allocate each one, and
/// owned text when read back from a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub ifindex: u32,
    pub ifname: Name,
    /// `IFLA_INFO_KIND` (`veth`, `bridge`, …); null for physical devices.
    pub kind: Option<String>,
    /// `IFLA_INFO_SLAVE_KIND`: the kind of the master this is a port of.
    pub slave_kind: Option<String>,
    /// RFC 2863 operational state as iproute2 prints it (`UP`, `DOWN`, …).
    pub operstate: Cow<'static, str>,
    /// `IFF_*` flags as iproute2 names them, in its order.
    pub flags: Vec<Cow<'static, str>>,
    pub mtu: u32,
    /// Link-layer address, colon-separated hex; null when the device has none.
    pub address: Option<String>,
    /// IP addresses with prefix length (`10.0.0.2/24`, `fe80::1/64`).
    pub addresses: Vec<String>,
    /// The bridge/bond this is a port of (always in the same namespace).
    pub master: Option<LinkRef>,
    /// The other end of a veth (or vxcan/netkit) pair.
    pub peer: Option<LinkRef>,
    /// The lower device of a macvlan/macvtap/ipvlan/vlan/vxlan/tunnel.
    pub link: Option<LinkRef>,
    /// STP state when this is a bridge port (`forwarding`, `blocking`, …).
    pub port_state: Option<Cow<'static, str>>,
    /// An isolated bridge port (never forwards to another isolated port).
    #[serde(default)]
    pub port_isolated: Option<bool>,
    /// A locked bridge port (drops frames from unknown sources).
    #[serde(default)]
    pub port_locked: Option<bool>,
    /// A bridge's `vlan_filtering`.
    #[serde(default)]
    pub vlan_filtering: Option<bool>,
    /// A bridge's `nf_call_iptables` / `nf_call_ip6tables` /
    /// `nf_call_arptables` (ORed with the namespace's `bridge-nf-call-*`).
    #[serde(default)]
    pub nf_call_iptables: Option<bool>,
    #[serde(default)]
    pub nf_call_ip6tables: Option<bool>,
    #[serde(default)]
    pub nf_call_arptables: Option<bool>,
    /// A macvlan's mode: `private`, `vepa`, `bridge`, `passthru`, `source`.
    #[serde(default)]
    pub macvlan_mode: Option<String>,
    /// Each address with scope and flags (`addresses` is the short form).
    #[serde(default)]
    pub addr_info: Option<Vec<AddrInfo>>,
    /// The device's IPv4 and IPv6 netconf (layer-3 scans only).
    #[serde(default)]
    pub netconf: Option<InterfaceNetconf>,
    /// The kernel's counters (`IFLA_STATS64`) at the namespace's
    /// `stats_at_ns`; null when not read (the wiring-only listings skip
    /// them) or when the kernel sent none.
    #[serde(default)]
    pub stats: Option<LinkStats>,
    /// Its queueing disciplines, root first (FORMAT.md, "Queueing
    /// disciplines"); null when not read.
    #[serde(default)]
    pub qdiscs: Option<Vec<tc::Qdisc>>,
}

/// `struct rtnl_link_stats64`, named as `ip -s -j link` names its parts
/// (`rx.bytes` is `rx_bytes`; `rx.otherhost` keeps the kernel's name,
/// `rx_otherhost_dropped`). Counters only ever grow for one device;
/// a device recreated under the same name starts again at zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub multicast: u64,
    pub collisions: u64,
    pub rx_length_errors: u64,
    pub rx_over_errors: u64,
    pub rx_crc_errors: u64,
    pub rx_frame_errors: u64,
    pub rx_fifo_errors: u64,
    pub rx_missed_errors: u64,
    pub tx_aborted_errors: u64,
    pub tx_carrier_errors: u64,
    pub tx_fifo_errors: u64,
    pub tx_heartbeat_errors: u64,
    pub tx_window_errors: u64,
    pub rx_compressed: u64,
    pub tx_compressed: u64,
    /// Frames no protocol took (Linux 4.6+; null on older kernels).
    #[serde(default)]
    pub rx_nohandler: Option<u64>,
    /// Frames for another host dropped (Linux 5.19+).
    #[serde(default)]
    pub rx_otherhost_dropped: Option<u64>,
    /// `IFLA_CARRIER_CHANGES`: how often the carrier went up or down.
    #[serde(default)]
    pub carrier_changes: Option<u64>,
}

/// A reference to an interface: always namespace + ifindex, never ifindex
/// alone. `netns` is null when the namespace is one nsmap could not open;
/// `ifname` is null when the interface could not be looked up there.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkRef {
    pub netns: Option<u64>,
    pub ifindex: u32,
    pub ifname: Option<Name>,
}

impl LinkRef {
    /// The interface's name, or `if<index>` when nsmap could not look it
    /// up (escaped form: print it through [`crate::name::terminal_safe`]).
    pub fn name_or_index(&self) -> String {
        self.ifname
            .as_ref()
            .map_or_else(|| format!("if{}", self.ifindex), |n| n.as_str().to_string())
    }
}

/// Something nsmap could not see or found inconsistent. Partial failure is
/// data: the scan goes on and says what it missed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    /// The namespace it concerns, if one.
    pub netns: Option<u64>,
    /// A stable machine-readable kind (see FORMAT.md).
    pub code: WarningCode,
    pub message: String,
    /// The file it is about (a stale /run/netns entry), null otherwise.
    #[serde(default)]
    pub path: Option<Name>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// Not enough privilege to see or enter something.
    PermissionDenied,
    /// A /run/netns entry (or similar path) that is not a namespace mount.
    StaleNetnsEntry,
    /// A namespace or path that disappeared while nsmap looked at it.
    Vanished,
    /// The host namespace (PID 1's) could not be identified.
    HostUnknown,
    /// A namespace was found but its interfaces could not be dumped.
    ScanFailed,
    /// An nsid that maps to no namespace nsmap could open.
    UnresolvedNsid,
    /// A peer/master/lower reference that points at nothing.
    DanglingReference,
    /// A veth whose peer does not point back.
    AsymmetricPeer,
    /// A list (links, addresses) kept changing while being read, or could
    /// not be read at all; what was read is shown.
    Interrupted,
    /// Anything else worth knowing.
    Other,
}

impl Warning {
    pub fn new(netns: Option<u64>, code: WarningCode, message: impl Into<String>) -> Warning {
        Warning {
            netns,
            code,
            message: message.into(),
            path: None,
        }
    }

    /// The same warning, about the file at `path`.
    pub fn with_path(mut self, path: Name) -> Warning {
        self.path = Some(path);
        self
    }
}

impl Namespace {
    /// The best short label for humans: `display_name` (pod, container,
    /// ip-netns name, … see [`display_name`]), computed when a hand-made
    /// namespace left it empty.
    pub fn label(&self) -> String {
        if !self.display_name.is_empty() {
            return self.display_name.clone();
        }
        display_name(self.label_sources())
    }

    /// What [`display_name`] chooses from.
    pub fn label_sources(&self) -> LabelSources<'_> {
        LabelSources {
            containers: &self.containers,
            cni: &self.cni,
            names: &self.names,
            mounts: &self.mounts,
            host: self.host,
            current: self.current,
            process: self.process.as_ref(),
            inode: self.inode,
        }
    }

    pub fn interface(&self, ifindex: u32) -> Option<&Interface> {
        self.interfaces
            .binary_search_by_key(&ifindex, |i| i.ifindex)
            .ok()
            .and_then(|i| self.interfaces.get(i))
    }
}

/// The best short label of a namespace: ip-netns name, else bind-mount
/// path, else `host`, else `current` (nsmap's own, when the host could not
/// be identified: its first process would be nsmap or its shell), else
/// `comm(pid)` of its first process, else `net:[inode]`. In nsmap's escaped
/// form: print it through [`crate::name::terminal_safe`].
pub fn netns_label(
    names: &[Name],
    mounts: &[Name],
    (host, current): (bool, bool),
    process: Option<&ProcessSummary>,
    inode: u64,
) -> String {
    if let Some(name) = names.first().or(mounts.first()) {
        return name.as_str().to_string();
    }
    if host {
        return "host".to_string();
    }
    if current {
        return "current".to_string();
    }
    match process {
        Some(p) => format!("{}({})", p.comm.as_str(), p.pid),
        None => format!("net:[{inode}]"),
    }
}

impl Interface {
    pub fn is_up(&self) -> bool {
        self.flags.iter().any(|f| f == "UP")
    }

    pub fn kind_is(&self, kind: &str) -> bool {
        self.kind.as_deref() == Some(kind)
    }
}

impl Snapshot {
    /// An index for lookups by inode; snapshots are small enough that
    /// building it per command is free compared with the scan.
    pub fn index(&self) -> Index<'_> {
        Index {
            snapshot: self,
            by_inode: self
                .namespaces
                .iter()
                .enumerate()
                .map(|(i, ns)| (ns.inode, i))
                .collect(),
        }
    }
}

/// Lookups over a [`Snapshot`].
pub struct Index<'a> {
    pub snapshot: &'a Snapshot,
    by_inode: HashMap<u64, usize>,
}

impl<'a> Index<'a> {
    pub fn namespace(&self, inode: u64) -> Option<&'a Namespace> {
        self.by_inode
            .get(&inode)
            .and_then(|&i| self.snapshot.namespaces.get(i))
    }

    /// The interface a reference points at, when nsmap saw it.
    pub fn resolve(&self, r: &LinkRef) -> Option<(&'a Namespace, &'a Interface)> {
        let ns = self.namespace(r.netns?)?;
        Some((ns, ns.interface(r.ifindex)?))
    }

    /// The label of the namespace with this inode, or `net:[inode]` when
    /// it is not in the snapshot.
    pub fn label_of(&self, inode: u64) -> String {
        self.namespace(inode)
            .map(Namespace::label)
            .unwrap_or_else(|| format!("net:[{inode}]"))
    }

    /// `ifname@namespace-label` for humans; unknown parts shown as `?`.
    pub fn describe(&self, r: &LinkRef) -> String {
        let ns = r
            .netns
            .map_or_else(|| "?".to_string(), |inode| self.label_of(inode));
        format!("{}@{ns}", r.name_or_index())
    }

    /// Ports of a bridge (interfaces whose master is it), by ifindex.
    pub fn ports(&self, ns: &'a Namespace, master_ifindex: u32) -> Vec<&'a Interface> {
        ns.interfaces
            .iter()
            .filter(|i| {
                i.master
                    .as_ref()
                    .is_some_and(|m| m.ifindex == master_ifindex)
            })
            .collect()
    }
}
