//! `nsmap path SRC DST`: where a packet goes, hop by hop across
//! namespaces, and exactly where and why it dies — predicted from a
//! [`Snapshot`] alone, so it works on a file recorded on a broken machine.
//!
//! The engine simulates what the kernel does with one packet and its reply:
//! policy rules and routing tables ([`fib`]), source address selection
//! ([`source`]), the wire an egress device leads to — veth peers, bridges
//! and their ports, macvlan siblings, loopback ([`wire`]) — neighbour
//! resolution on that segment ([`neigh`]), the next namespace's input
//! checks (interface up, martians, local delivery, forwarding, rp_filter),
//! firewall hooks ([`firewall`]), and then the return path from the
//! destination back to the source address ([`walk`]).
//!
//! Invariant: never a wrong definitive answer. Whatever the snapshot does
//! not say (a namespace nsmap could not dump, a firewall chain with rules,
//! a wire that leaves the host, a multipath choice that decides) makes the
//! verdict [`Verdict::Unknown`] with a code and a reason; `unreachable`
//! always names the hop and the cause. Every walk is bounded: loops end
//! with their code, never hang.

pub mod ctx;
pub mod fib;
pub mod firewall;
pub mod neigh;
pub mod net;
pub mod nft;
pub mod rpf;
mod rules;
pub mod source;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
pub mod view;
pub mod walk;
pub mod wire;

use std::net::IpAddr;

use serde::Serialize;

use crate::name::Name;
use crate::snapshot::{LinkRef, Snapshot};

pub use walk::trace;

/// The question: from where, to which address, with what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The sending namespace (inode).
    pub netns: u64,
    /// A bound output device (`IFNAME@SEL`, like `ping -I IFNAME`).
    pub oif: Option<u32>,
    /// A bound source address (`--from`, like `ping -I ADDR`).
    pub from: Option<IpAddr>,
    pub dst: IpAddr,
    pub proto: Proto,
    /// Destination port for tcp/udp.
    pub dport: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Icmp,
    Tcp,
    Udp,
}

/// The answer's first word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Reachable,
    Unreachable,
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reachable => "reachable",
            Verdict::Unreachable => "unreachable",
            Verdict::Unknown => "unknown",
        }
    }
}

/// Why a packet died (or why nsmap cannot tell). Stable: scripts match on
/// these words; new ones may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    // unreachable
    /// No route in any table the rules consulted.
    NoRoute,
    /// A blackhole route or rule: dropped silently.
    Blackhole,
    /// An `unreachable` route or rule.
    UnreachableRoute,
    /// A `prohibit` route or rule.
    Prohibit,
    /// A namespace that would have to forward the packet does not.
    ForwardingDisabled,
    /// The device the packet needs is down.
    LinkDown,
    /// The device is up but its far end is not (a veth whose peer is down).
    NoCarrier,
    /// Nobody on the segment answers for the next hop (ARP/NDP fails).
    NeighbourUnresolvable,
    /// Reverse-path filtering drops it.
    RpFilter,
    /// The TTL ran out.
    TtlExhausted,
    /// A routing loop.
    Loop,
    /// Local delivery needs `lo`, which is down.
    LoDown,
    /// The destination has no route back to the source.
    NoReturnRoute,
    /// A firewall chain drops it (policy drop, no rules).
    FirewallDrop,
    /// The kernel drops it as a martian source.
    MartianSource,
    /// The kernel drops it as a martian destination.
    MartianDestination,
    /// The bound source address is not one of the namespace's own.
    SourceNotLocal,
    /// No source address can be chosen for it.
    NoSourceAddress,
    /// IPv6 is disabled on the device.
    Ipv6Disabled,
    /// A bridge port on the way is not forwarding (STP, disabled).
    BridgePortBlocked,
    /// Isolated bridge ports do not forward to each other.
    PortIsolated,
    /// The reply reaches a namespace other than the sender.
    ReplyMisdelivered,
    // unknown
    /// A namespace on the path could not be dumped (or has no layer-3 data).
    NotScanned,
    /// A firewall chain with rules sits on a hook the packet crosses.
    FirewallRules,
    /// The wire leaves the host (a physical device, an unknown kind).
    LeavesHost,
    /// An overlay tunnel (vxlan) carries it off the host.
    Overlay,
    /// A tap/tun: a user-space program (a VM) decides.
    UserSpace,
    /// Multipath (or equal default routes): the choice decides the outcome.
    Multipath,
    /// Something nsmap does not model (said in the reason).
    Unsupported,
    /// Two interfaces on the segment answer for the next hop.
    AmbiguousNeighbour,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NoRoute => "no_route",
            Code::Blackhole => "blackhole",
            Code::UnreachableRoute => "unreachable_route",
            Code::Prohibit => "prohibit",
            Code::ForwardingDisabled => "forwarding_disabled",
            Code::LinkDown => "link_down",
            Code::NoCarrier => "no_carrier",
            Code::NeighbourUnresolvable => "neighbour_unresolvable",
            Code::RpFilter => "rp_filter",
            Code::TtlExhausted => "ttl_exhausted",
            Code::Loop => "loop",
            Code::LoDown => "lo_down",
            Code::NoReturnRoute => "no_return_route",
            Code::FirewallDrop => "firewall_drop",
            Code::MartianSource => "martian_source",
            Code::MartianDestination => "martian_destination",
            Code::SourceNotLocal => "source_not_local",
            Code::NoSourceAddress => "no_source_address",
            Code::Ipv6Disabled => "ipv6_disabled",
            Code::BridgePortBlocked => "bridge_port_blocked",
            Code::PortIsolated => "port_isolated",
            Code::ReplyMisdelivered => "reply_misdelivered",
            Code::NotScanned => "not_scanned",
            Code::FirewallRules => "firewall_rules",
            Code::LeavesHost => "leaves_host",
            Code::Overlay => "overlay",
            Code::UserSpace => "user_space",
            Code::Multipath => "multipath",
            Code::Unsupported => "unsupported",
            Code::AmbiguousNeighbour => "ambiguous_neighbour",
        }
    }

    /// The verdict a stop with this code gives.
    pub fn verdict(self) -> Verdict {
        match self {
            Code::NotScanned
            | Code::FirewallRules
            | Code::LeavesHost
            | Code::Overlay
            | Code::UserSpace
            | Code::Multipath
            | Code::Unsupported
            | Code::AmbiguousNeighbour => Verdict::Unknown,
            _ => Verdict::Unreachable,
        }
    }
}

/// Where and why a walk stops: the code, the namespace, words for the
/// user and, where one is clear, the command that fixes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    pub code: Code,
    pub netns: Option<u64>,
    pub reason: String,
    pub hint: Option<String>,
    /// The firewall chain (and rule) that stopped it, if one did (boxed:
    /// a Stop travels in every Result of the walk).
    pub firewall: Option<Box<FirewallStep>>,
}

impl Stop {
    pub fn new(code: Code, netns: Option<u64>, reason: impl Into<String>) -> Stop {
        Stop {
            code,
            netns,
            reason: reason.into(),
            hint: None,
            firewall: None,
        }
    }

    pub fn with_firewall(mut self, step: FirewallStep) -> Stop {
        self.firewall = Some(Box::new(step));
        self
    }

    pub fn with_hint(mut self, hint: Option<String>) -> Stop {
        self.hint = hint;
        self
    }

    /// An answer nsmap cannot give, about `netns`.
    pub fn unknown(netns: Option<u64>, reason: impl Into<String>) -> Stop {
        Stop::new(Code::Unsupported, netns, reason)
    }
}

/// The whole answer (the JSON contract of `nsmap path --json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    pub verdict: Verdict,
    pub code: Option<Code>,
    pub reason: Option<String>,
    /// A command that would fix it, where one is clear.
    pub hint: Option<String>,
    /// Which way the packet was going where it stopped: `forward` or
    /// `return`; null when it got through.
    pub direction: Option<Direction>,
    pub src: SrcInfo,
    pub dst: DstInfo,
    pub proto: Proto,
    pub dport: Option<u16>,
    pub forward: Vec<Hop>,
    #[serde(rename = "return")]
    pub back: Vec<Hop>,
    /// Things worth knowing that did not change the verdict.
    pub notes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Forward,
    Return,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SrcInfo {
    pub netns: Option<u64>,
    pub interface: Option<LinkRef>,
    /// The source address the packet carries (bound, or chosen by the
    /// route); null when none could be chosen.
    pub address: Option<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DstInfo {
    pub address: IpAddr,
    /// Where the packet was delivered (null when it was not).
    pub netns: Option<u64>,
    pub interface: Option<LinkRef>,
}

/// One namespace the packet crosses.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Hop {
    pub netns: Option<u64>,
    /// The namespace's label (pod, container, netns name, …).
    pub label: String,
    /// The interface it arrived by (null where it starts).
    #[serde(rename = "in")]
    pub in_: Option<LinkRef>,
    /// The interface it leaves by (null where it is delivered or dropped).
    pub out: Option<LinkRef>,
    /// The route used here (null at a hop crossed only at layer 2).
    pub route: Option<RouteUsed>,
    pub action: Action,
    /// Devices crossed inside this namespace, in order (a bridge and its
    /// ports at a layer-2 hop).
    pub via: Vec<LinkRef>,
    pub notes: Vec<String>,
    /// The firewall base chains the packet crossed here, in order, each
    /// with its verdict and the rule that gave it.
    pub firewall: Vec<FirewallStep>,
    /// Address translations made here: by a nat rule on a connection's
    /// first packet, or undone by conntrack on its reply.
    pub nat: Vec<NatStep>,
    /// The packet's mark when the hop routed it, where rules set one (null
    /// for 0).
    pub mark: Option<u32>,
}

/// One address translation of the packet at a hop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NatStep {
    /// `dnat`, `snat`, `masquerade`, `redirect`; `undo-dnat`/`undo-snat`
    /// where conntrack reverses one on the reply.
    pub kind: String,
    pub hook: String,
    /// The address (and port) before and after.
    pub from: String,
    pub to: String,
    /// The rule that asked for it (null for conntrack's undoing).
    pub rule: Option<String>,
    /// What conntrack keeps to undo it on the reply.
    #[serde(skip)]
    pub record: Option<NatRecord>,
}

/// A translation as conntrack keeps it: in which namespace, of which
/// address, from what to what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatRecord {
    pub netns: u64,
    /// The destination (DNAT, redirect) or the source (SNAT, masquerade).
    pub destination: bool,
    pub from: (IpAddr, Option<u16>),
    pub to: (IpAddr, Option<u16>),
}

impl Hop {
    /// Takes in what a hook let through.
    pub fn absorb(&mut self, passed: firewall::Passed) {
        firewall::push_new(&mut self.notes, passed.notes);
        firewall::push_new(&mut self.firewall, passed.steps);
    }
}

/// One base chain at one hook, as it judged the packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FirewallStep {
    /// `prerouting`, `input`, `forward`, `output`, `postrouting`,
    /// `ingress`, `egress`.
    pub hook: String,
    /// `ip`, `ip6`, `inet`, `bridge`, `arp`, `netdev`; `iptables-legacy`
    /// and `arptables-legacy` for x_tables.
    pub family: String,
    pub table: Name,
    pub chain: Name,
    /// `accept`, `drop` or `unknown`.
    pub verdict: String,
    /// The rule that decided, as `nft list ruleset` prints it; null when
    /// the chain's policy did.
    pub rule: Option<String>,
    /// Its handle, and the chain it sits in (a jump's target, or the base
    /// chain itself).
    pub handle: Option<u64>,
    pub rule_chain: Option<Name>,
}

/// What the namespace does with the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// It sends the packet.
    Originate,
    /// It routes the packet on.
    Forward,
    /// It passes the frame at layer 2 only.
    Bridge,
    /// The packet is for it.
    Deliver,
    /// It drops the packet.
    Drop,
    /// nsmap cannot tell what happens here.
    Unknown,
}

/// The route a hop used, with the rule that chose its table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RouteUsed {
    pub family: crate::snapshot::l3::Family,
    pub table: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub dst: String,
    pub gateway: Option<IpAddr>,
    pub dev: Option<LinkRef>,
    pub prefsrc: Option<IpAddr>,
    pub metric: Option<u32>,
    /// Priority of the rule whose lookup chose it.
    pub rule: Option<u32>,
    /// Every next hop of a multipath route (the one followed is `gateway`
    /// / `dev`).
    pub nexthops: Vec<crate::snapshot::l3::RoutePath>,
}

impl Trace {
    /// The process exit code: 0 reachable, 1 unreachable, 4 unknown.
    pub fn exit_code(&self) -> i32 {
        match self.verdict {
            Verdict::Reachable => 0,
            Verdict::Unreachable => 1,
            Verdict::Unknown => 4,
        }
    }
}

/// A namespace's primary address for `family`: its first global-scope
/// address (skipping loopback and link-local), on the first interface
/// that has one — what `nsmap path SRC SELECTOR` aims at.
pub fn primary_address(
    snapshot: &Snapshot,
    inode: u64,
    family: Option<crate::snapshot::l3::Family>,
) -> Option<(IpAddr, LinkRef)> {
    let ns = snapshot.namespaces.iter().find(|n| n.inode == inode)?;
    for iface in &ns.interfaces {
        if iface.flags.iter().any(|f| f == "LOOPBACK") {
            continue;
        }
        for a in view::iface_addrs(iface) {
            if family.is_some_and(|f| f != a.family) || !view::usable(&a) {
                continue;
            }
            if a.scope == "global" && !net::is_ipv6_link_local(a.local) {
                return Some((
                    a.local,
                    LinkRef {
                        netns: Some(inode),
                        ifindex: iface.ifindex,
                        ifname: Some(iface.ifname.clone()),
                    },
                ));
            }
        }
    }
    None
}

/// The namespaces that own `addr` (any interface), for `SRC` given as an
/// address.
pub fn owners_of(snapshot: &Snapshot, addr: IpAddr) -> Vec<u64> {
    let mut out: Vec<u64> = snapshot
        .namespaces
        .iter()
        .filter(|ns| {
            ns.interfaces
                .iter()
                .any(|i| view::iface_addrs(i).iter().any(|a| a.local == addr))
        })
        .map(|ns| ns.inode)
        .collect();
    out.dedup();
    out
}
