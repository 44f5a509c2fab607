//! `nsmap doctor`: what is broken in the wiring, as data.
//!
//! [`findings`] is a pure function of a [`Snapshot`]: every check is a small
//! function in one of the files below (`veth`, `bridge`, `netns`, `names`;
//! for layer 3 `routes`, `gateways`, `forwarding`, `subnets`, `firewall`,
//! which share `l3` and ask the path engine where frames go and who
//! answers for an address) that looks at the snapshot and returns
//! [`Finding`]s. A finding names the
//! namespace and the interfaces it is about as [`LinkRef`]s, so a caller
//! (the CLI, the TUI's findings list) can jump to them, and carries a fix
//! hint: the `ip`/`bridge` command that would fix it, quoted for a shell.
//!
//! Invariants: every [`Code`] keeps its number and severity forever
//! (`DOCTOR.md` documents each; a test keeps that table in sync); findings
//! come out sorted most severe first, then by code, namespace and
//! interfaces, so the output is deterministic and diffs well. Checks skip
//! what nsmap could not see (unscanned namespaces, unresolved peers) rather
//! than guess: a doctor that cries wolf gets switched off.

pub mod bridge;
pub mod conntrack;
pub mod firewall;
pub mod fix;
pub mod forwarding;
pub mod gateways;
pub mod ipv4;
pub mod l3;
pub mod names;
pub mod nat;
pub mod netns;
pub mod qdisc;
pub mod report;
pub mod routes;
pub mod subnets;
pub mod traffic;
pub mod veth;

#[cfg(test)]
pub(crate) mod testing;

use std::fmt;

use clap::ValueEnum;
use serde::{Serialize, Serializer};

use crate::query::{Scope, self_ref};
use crate::snapshot::{Index, Interface, LinkRef, Namespace, Snapshot};

/// How bad a finding is. Ordered most severe first, so sorting puts errors
/// on top and `--fail-on warning` means "warning or worse".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Traffic that should pass does not (or is silently dropped).
    Error,
    /// Probably wrong, or wrong under some traffic; worth a look.
    Warning,
    /// Worth knowing; often intended.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// Whether a finding of this severity reaches `threshold` (is at least
    /// as severe), i.e. makes `nsmap doctor --fail-on threshold` exit 1.
    pub fn reaches(self, threshold: Severity) -> bool {
        self <= threshold
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A finding's stable code. The variant order is the numbering: append new
/// codes at the end, never reorder, renumber or reuse one (scripts and
/// monitoring match on them). `DOCTOR.md` has one row per code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    VethPeerMissing,
    VethPeerUnresolved,
    VethPeerAsymmetric,
    VethOneEndDown,
    VethMtuMismatch,
    BridgeMtuMismatch,
    BridgeNoPorts,
    BridgePortDown,
    BridgePortNotForwarding,
    BridgePortStpTransition,
    BridgeDownPortsUp,
    LoopbackDown,
    NoAddresses,
    VethSubnetMismatch,
    DuplicateIpv4OnSegment,
    StaleNetnsEntry,
    NetnsOnlyMounted,
    NetnsOnlyLoopback,
    ControlCharsInName,
    DefaultRouteMissing,
    GatewayOffLink,
    GatewayUnanswered,
    GatewayIsOwnAddress,
    RouteLinkDown,
    ForwardingOff,
    RpFilterDropsTransit,
    SubnetOverlap,
    DuplicateDefaultRoute,
    FirewallDropsAll,
    FirewallPolicyDrop,
    RuleDeviceMissing,
    DefaultRouteMissingIsolated,
    DnatTargetMissing,
    ConntrackNearlyFull,
    QdiscImpairment,
    RateLimitSaturated,
    VethDropping,
    BridgePortDropping,
    InterfaceDropping,
    RxNohandler,
}

impl Code {
    /// Every code, in numbering order.
    pub const ALL: [Code; 40] = [
        Code::VethPeerMissing,
        Code::VethPeerUnresolved,
        Code::VethPeerAsymmetric,
        Code::VethOneEndDown,
        Code::VethMtuMismatch,
        Code::BridgeMtuMismatch,
        Code::BridgeNoPorts,
        Code::BridgePortDown,
        Code::BridgePortNotForwarding,
        Code::BridgePortStpTransition,
        Code::BridgeDownPortsUp,
        Code::LoopbackDown,
        Code::NoAddresses,
        Code::VethSubnetMismatch,
        Code::DuplicateIpv4OnSegment,
        Code::StaleNetnsEntry,
        Code::NetnsOnlyMounted,
        Code::NetnsOnlyLoopback,
        Code::ControlCharsInName,
        Code::DefaultRouteMissing,
        Code::GatewayOffLink,
        Code::GatewayUnanswered,
        Code::GatewayIsOwnAddress,
        Code::RouteLinkDown,
        Code::ForwardingOff,
        Code::RpFilterDropsTransit,
        Code::SubnetOverlap,
        Code::DuplicateDefaultRoute,
        Code::FirewallDropsAll,
        Code::FirewallPolicyDrop,
        Code::RuleDeviceMissing,
        Code::DefaultRouteMissingIsolated,
        Code::DnatTargetMissing,
        Code::ConntrackNearlyFull,
        Code::QdiscImpairment,
        Code::RateLimitSaturated,
        Code::VethDropping,
        Code::BridgePortDropping,
        Code::InterfaceDropping,
        Code::RxNohandler,
    ];

    /// `NSM001`, `NSM002`, …: the variant's position, counted from 1.
    pub fn id(self) -> &'static str {
        match self {
            Code::VethPeerMissing => "NSM001",
            Code::VethPeerUnresolved => "NSM002",
            Code::VethPeerAsymmetric => "NSM003",
            Code::VethOneEndDown => "NSM004",
            Code::VethMtuMismatch => "NSM005",
            Code::BridgeMtuMismatch => "NSM006",
            Code::BridgeNoPorts => "NSM007",
            Code::BridgePortDown => "NSM008",
            Code::BridgePortNotForwarding => "NSM009",
            Code::BridgePortStpTransition => "NSM010",
            Code::BridgeDownPortsUp => "NSM011",
            Code::LoopbackDown => "NSM012",
            Code::NoAddresses => "NSM013",
            Code::VethSubnetMismatch => "NSM014",
            Code::DuplicateIpv4OnSegment => "NSM015",
            Code::StaleNetnsEntry => "NSM016",
            Code::NetnsOnlyMounted => "NSM017",
            Code::NetnsOnlyLoopback => "NSM018",
            Code::ControlCharsInName => "NSM019",
            Code::DefaultRouteMissing => "NSM020",
            Code::GatewayOffLink => "NSM021",
            Code::GatewayUnanswered => "NSM022",
            Code::GatewayIsOwnAddress => "NSM023",
            Code::RouteLinkDown => "NSM024",
            Code::ForwardingOff => "NSM025",
            Code::RpFilterDropsTransit => "NSM026",
            Code::SubnetOverlap => "NSM027",
            Code::DuplicateDefaultRoute => "NSM028",
            Code::FirewallDropsAll => "NSM029",
            Code::FirewallPolicyDrop => "NSM030",
            Code::RuleDeviceMissing => "NSM031",
            Code::DefaultRouteMissingIsolated => "NSM032",
            Code::DnatTargetMissing => "NSM033",
            Code::ConntrackNearlyFull => "NSM034",
            Code::QdiscImpairment => "NSM035",
            Code::RateLimitSaturated => "NSM036",
            Code::VethDropping => "NSM037",
            Code::BridgePortDropping => "NSM038",
            Code::InterfaceDropping => "NSM039",
            Code::RxNohandler => "NSM040",
        }
    }

    /// Each code has one severity, so a code alone says how bad it is.
    pub fn severity(self) -> Severity {
        match self {
            Code::VethPeerMissing
            | Code::VethOneEndDown
            | Code::VethMtuMismatch
            | Code::DuplicateIpv4OnSegment
            | Code::GatewayUnanswered
            | Code::GatewayIsOwnAddress
            | Code::ForwardingOff
            | Code::FirewallDropsAll => Severity::Error,
            Code::VethPeerUnresolved
            | Code::VethPeerAsymmetric
            | Code::BridgeMtuMismatch
            | Code::BridgePortDown
            | Code::BridgePortNotForwarding
            | Code::BridgeDownPortsUp
            | Code::LoopbackDown
            | Code::NoAddresses
            | Code::VethSubnetMismatch
            | Code::StaleNetnsEntry
            | Code::ControlCharsInName
            | Code::DefaultRouteMissing
            | Code::GatewayOffLink
            | Code::RouteLinkDown
            | Code::RpFilterDropsTransit
            | Code::SubnetOverlap
            | Code::DuplicateDefaultRoute
            | Code::FirewallPolicyDrop
            | Code::DnatTargetMissing
            | Code::ConntrackNearlyFull
            | Code::QdiscImpairment
            | Code::RateLimitSaturated
            | Code::VethDropping
            | Code::BridgePortDropping
            | Code::InterfaceDropping => Severity::Warning,
            Code::BridgeNoPorts
            | Code::BridgePortStpTransition
            | Code::NetnsOnlyMounted
            | Code::NetnsOnlyLoopback
            | Code::RuleDeviceMissing
            | Code::DefaultRouteMissingIsolated
            | Code::RxNohandler => Severity::Info,
        }
    }

    /// What the code means, in a few words (the DOCTOR.md table's column).
    pub fn summary(self) -> &'static str {
        match self {
            Code::VethPeerMissing => "veth without a peer",
            Code::VethPeerUnresolved => "veth peer cannot be found",
            Code::VethPeerAsymmetric => "veth peer does not point back",
            Code::VethOneEndDown => "one end of a veth pair up, the other down",
            Code::VethMtuMismatch => "MTU differs across a veth pair",
            Code::BridgeMtuMismatch => "MTU differs among a bridge and its ports",
            Code::BridgeNoPorts => "bridge without ports",
            Code::BridgePortDown => "bridge port down while the bridge is up",
            Code::BridgePortNotForwarding => "bridge port up but disabled or blocking",
            Code::BridgePortStpTransition => "bridge port listening or learning (STP)",
            Code::BridgeDownPortsUp => "bridge down while ports are up",
            Code::LoopbackDown => "lo down while other interfaces are up",
            Code::NoAddresses => "interfaces up but no address in the namespace",
            Code::VethSubnetMismatch => "veth ends in different IPv4 subnets",
            Code::DuplicateIpv4OnSegment => "same IPv4 address twice on one bridge",
            Code::StaleNetnsEntry => "stale /run/netns entry",
            Code::NetnsOnlyMounted => "namespace held only by a bind mount",
            Code::NetnsOnlyLoopback => "namespace with only lo",
            Code::ControlCharsInName => "name with control characters",
            Code::DefaultRouteMissing => "no default route though a gateway is on the link",
            Code::GatewayOffLink => "route gateway outside its device's subnets, without onlink",
            Code::GatewayUnanswered => "nobody on the link answers for a route's gateway",
            Code::GatewayIsOwnAddress => "route via the namespace's own address",
            Code::RouteLinkDown => "routes via a device without carrier, or down",
            Code::ForwardingOff => "forwarding off in a namespace others route through",
            Code::RpFilterDropsTransit => "strict rp_filter drops what a neighbour forwards",
            Code::SubnetOverlap => "overlapping subnets on two interfaces of one namespace",
            Code::DuplicateDefaultRoute => "default routes with the same metric in one table",
            Code::FirewallDropsAll => "firewall chain on a router's path drops everything",
            Code::FirewallPolicyDrop => {
                "firewall chain on a router's path with policy drop and rules"
            }
            Code::RuleDeviceMissing => "policy rule names a device that does not exist",
            Code::DefaultRouteMissingIsolated => {
                "no default route on a link where nobody uses the gateway"
            }
            Code::DnatTargetMissing => "port forward (DNAT) to an address nobody has",
            Code::ConntrackNearlyFull => "conntrack table nearly full",
            Code::QdiscImpairment => "netem delays, drops or corrupts an interface's packets",
            Code::RateLimitSaturated => "rate limit (tbf, htb, netem) dropping or full",
            Code::VethDropping => "veth drops traffic during the sample",
            Code::BridgePortDropping => "bridge port drops traffic during the sample",
            Code::InterfaceDropping => "interface drops or fails traffic during the sample",
            Code::RxNohandler => "frames no protocol takes during the sample",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.id())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// One problem (or notable fact) in the topology. The JSON form is the
/// contract documented in DOCTOR.md: every key always present, one type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub code: Code,
    /// Always `code.severity()`; carried so JSON consumers need no table.
    pub severity: Severity,
    /// One line naming the namespace and interfaces; kernel names in
    /// nsmap's escaped form, not yet terminal-safe (renderers make it so).
    pub message: String,
    /// A command that would fix it, quoted for a POSIX shell (names that
    /// need it as `$'…'`); `<ANGLE BRACKETS>` mark values to fill in.
    pub hint: Option<String>,
    /// The namespace it is about (null when none, e.g. a stale file).
    pub netns: Option<u64>,
    /// The interfaces it is about, most relevant first.
    pub interfaces: Vec<LinkRef>,
}

impl Finding {
    pub fn new(
        code: Code,
        netns: Option<u64>,
        interfaces: Vec<LinkRef>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            message: message.into(),
            hint,
            netns,
            interfaces,
        }
    }

    /// Whether the finding concerns a namespace in `scope` (its own
    /// namespace or any interface's).
    pub fn in_scope(&self, scope: &Scope) -> bool {
        if scope.0.is_none() {
            return true;
        }
        self.netns.is_some_and(|n| scope.contains(n))
            || self
                .interfaces
                .iter()
                .any(|i| i.netns.is_some_and(|n| scope.contains(n)))
    }

    fn sort_key(&self) -> impl Ord + '_ {
        (
            self.severity,
            self.code,
            self.netns,
            &self.interfaces,
            &self.message,
        )
    }
}

/// Every finding about `snapshot`, most severe first, then deterministic.
pub fn findings(snapshot: &Snapshot) -> Vec<Finding> {
    let mut out = checks(snapshot, &snapshot.index(), qdisc::Evidence::Lifetime);
    sort(&mut out);
    out
}

/// Every check on one snapshot, unsorted; NSM036 judged on `evidence`.
fn checks(snapshot: &Snapshot, index: &Index<'_>, evidence: qdisc::Evidence<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(veth::peer_missing(index));
    out.extend(veth::peer_unresolved(index));
    out.extend(veth::peer_asymmetric(index));
    out.extend(veth::one_end_down(index));
    out.extend(veth::mtu_mismatch(index));
    out.extend(veth::subnet_mismatch(index));
    out.extend(bridge::mtu_mismatch(index));
    out.extend(bridge::no_ports(index));
    out.extend(bridge::port_down(index));
    out.extend(bridge::port_not_forwarding(index));
    out.extend(bridge::port_stp_transition(index));
    out.extend(bridge::down_with_ports_up(index));
    out.extend(bridge::duplicate_ipv4(index));
    out.extend(netns::loopback_down(snapshot));
    out.extend(netns::no_addresses(snapshot));
    out.extend(netns::stale_entries(snapshot));
    out.extend(netns::only_mounted(snapshot));
    out.extend(netns::only_loopback(snapshot));
    out.extend(names::control_chars(snapshot));
    // Layer 3: silent for every namespace whose routes nsmap did not read.
    let l3 = l3::L3::new(snapshot);
    out.extend(routes::default_route_missing(&l3));
    out.extend(gateways::gateway_off_link(&l3));
    out.extend(gateways::gateway_unanswered(&l3));
    out.extend(gateways::gateway_is_own_address(&l3));
    out.extend(routes::route_link_down(&l3));
    out.extend(forwarding::forwarding_off(&l3));
    out.extend(forwarding::rp_filter_drops_transit(&l3));
    out.extend(subnets::subnet_overlap(&l3));
    out.extend(routes::duplicate_default(&l3));
    out.extend(firewall::policy_drop(&l3));
    out.extend(routes::rule_device_missing(&l3));
    out.extend(nat::dnat_target_missing(&l3));
    out.extend(conntrack::nearly_full(snapshot));
    // Silent for every interface whose qdiscs nsmap did not read.
    out.extend(qdisc::impairment(snapshot));
    out.extend(qdisc::rate_limited(snapshot, evidence));
    out
}

/// [`findings`] of the snapshot taken at the end of a sample (`after`),
/// plus what grew since `before`: interfaces' drops, errors and
/// rx_nohandler, qdiscs' drops, and rate limits the traffic fills.
pub fn findings_sampled(before: &Snapshot, after: &Snapshot) -> Vec<Finding> {
    let rates = crate::rates::rates(
        &crate::rates::Sample::from_snapshot(before),
        &crate::rates::Sample::from_snapshot(after),
    );
    findings_with_rates(before, after, &rates)
}

/// [`findings_sampled`] on rates already computed.
pub fn findings_with_rates(
    before: &Snapshot,
    after: &Snapshot,
    rates: &[crate::rates::Rate],
) -> Vec<Finding> {
    let (before, index) = (before.index(), after.index());
    let evidence = qdisc::Evidence::Sampled {
        before: &before,
        rates,
    };
    let mut out = checks(after, &index, evidence);
    out.extend(traffic::growing(&index, rates));
    out.extend(traffic::qdisc_drops(&before, &index, rates));
    sort(&mut out);
    out
}

/// Sorts findings most severe first, then by code, namespace, interfaces.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// The findings that make `nsmap doctor --fail-on threshold` exit 1.
pub fn failing(findings: &[Finding], threshold: Severity) -> usize {
    findings
        .iter()
        .filter(|f| f.severity.reaches(threshold))
        .count()
}

/// `ifname@namespace`, how messages name an interface.
pub fn describe(ns: &Namespace, iface: &Interface) -> String {
    format!("{}@{}", iface.ifname.as_str(), ns.label())
}

/// An interface and the namespace it lives in.
#[derive(Clone, Copy, Debug)]
pub struct End<'a> {
    pub ns: &'a Namespace,
    pub iface: &'a Interface,
}

impl<'a> End<'a> {
    pub fn link_ref(&self) -> LinkRef {
        self_ref(self.ns, self.iface)
    }

    pub fn describe(&self) -> String {
        describe(self.ns, self.iface)
    }

    /// `(inode, ifindex)`: the end's identity, for ordering pairs.
    pub fn key(&self) -> (u64, u32) {
        (self.ns.inode, self.iface.ifindex)
    }
}

/// Every veth (pair device) whose peer resolves and points back, once per
/// pair, the end with the smaller `(inode, ifindex)` first. Pairs that do
/// not resolve or point back are the `peer_*` checks' business, not this.
pub fn veth_pairs<'a>(index: &Index<'a>) -> Vec<(End<'a>, End<'a>)> {
    let mut pairs = Vec::new();
    for ns in &index.snapshot.namespaces {
        for iface in &ns.interfaces {
            let Some(peer) = &iface.peer else { continue };
            let Some((pns, piface)) = index.resolve(peer) else {
                continue;
            };
            let a = End { ns, iface };
            let b = End {
                ns: pns,
                iface: piface,
            };
            let points_back = piface
                .peer
                .as_ref()
                .is_some_and(|back| back.netns == Some(ns.inode) && back.ifindex == iface.ifindex);
            if points_back && a.key() < b.key() {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

/// Whether an interface is the loopback device (by flag, not by name: a
/// name is a user's choice).
pub fn is_loopback(iface: &Interface) -> bool {
    iface.flags.iter().any(|f| f == "LOOPBACK")
}

/// Whether an interface has carrier as far as operstate tells: `UP`, or
/// `UNKNOWN` (what lo, tun and bridges without carrier logic report).
pub fn has_carrier(iface: &Interface) -> bool {
    matches!(&*iface.operstate, "UP" | "UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn codes_are_numbered_in_variant_order() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(code.id(), format!("NSM{:03}", i + 1));
        }
        let mut sorted = Code::ALL;
        sorted.sort();
        assert_eq!(sorted, Code::ALL);
    }

    #[test]
    fn doctor_md_documents_every_code_with_its_severity() {
        // The table in DOCTOR.md is what users read; it must match the code.
        let doc = include_str!("../DOCTOR.md");
        for code in Code::ALL {
            let row = format!(
                "| {} | {} | {} |",
                code.id(),
                code.severity(),
                code.summary()
            );
            assert!(doc.contains(&row), "DOCTOR.md lacks the row {row}");
        }
    }

    #[test]
    fn severity_order_and_threshold() {
        assert!(Severity::Error < Severity::Warning && Severity::Warning < Severity::Info);
        assert!(Severity::Error.reaches(Severity::Warning));
        assert!(Severity::Warning.reaches(Severity::Warning));
        assert!(!Severity::Info.reaches(Severity::Warning));
    }

    #[test]
    fn demo_findings_most_severe_first() {
        let found = findings(&demo());
        let codes: Vec<&str> = found.iter().map(|f| f.code.id()).collect();
        assert_eq!(
            codes,
            [
                "NSM004", "NSM004", "NSM008", "NSM007", "NSM017", "NSM017", "NSM017"
            ]
        );
        assert_eq!(failing(&found, Severity::Error), 2);
        assert_eq!(failing(&found, Severity::Warning), 3);
        assert_eq!(failing(&found, Severity::Info), 7);
    }

    /// A topology with every problem at once.
    fn everything_wrong() -> Snapshot {
        const A: u64 = 10;
        const B: u64 = 20;
        let mut orphan = veth(4, "orphan", (B, 99, "x"));
        orphan.peer = None;
        let mut hidden = veth(5, "hid", (B, 99, "x"));
        hidden.peer = Some(LinkRef {
            netns: None,
            ifindex: 9,
            ifname: None,
        });
        let mut evil = iface(7, "e", None);
        evil.ifname = crate::name::Name::from_bytes(b"\x1b[2J");
        let port = |i: Interface, state: &str| i.port_of(B, 10, "br", state);
        let mut pod = named(40, "pod", vec![lo(), iface(2, "eth0", None)]);
        pod.names.clear();
        pod.mounts.clear();
        pod.pids = vec![7];
        let mut s = snapshot(vec![
            named(
                A,
                "a",
                vec![
                    lo_down(),
                    veth(2, "x", (B, 2, "x")).addr("10.1.0.1/24"),
                    veth(3, "m", (B, 3, "m")).mtu(9000),
                    orphan,
                    hidden,
                    veth(6, "asym", (B, 4, "y")),
                    evil,
                ],
            ),
            named(
                B,
                "b",
                vec![
                    lo(),
                    veth(2, "x", (A, 2, "x")).down().addr("10.2.0.1/24"),
                    veth(3, "m", (A, 3, "m")),
                    veth(4, "y", (B, 5, "z")),
                    veth(5, "z", (B, 4, "y")),
                    bridge(10, "br"),
                    port(veth(11, "p1", (B, 12, "p1p")).mtu(9000), "forwarding"),
                    veth(12, "p1p", (B, 11, "p1")).mtu(9000).addr("10.5.0.1/24"),
                    port(iface(13, "t", Some("tun")).no_carrier(), "disabled"),
                    port(iface(14, "p2", None), "disabled"),
                    port(iface(15, "p3", None), "listening"),
                    port(iface(16, "q", None), "forwarding").addr("10.5.0.1/24"),
                    bridge(20, "empty"),
                    bridge(21, "off").down(),
                    iface(22, "pd", None).port_of(B, 21, "off", "disabled"),
                ],
            ),
            named(30, "c", vec![lo()]),
            pod,
        ]);
        s.warnings.push(crate::snapshot::Warning::new(
            None,
            crate::snapshot::WarningCode::StaleNetnsEntry,
            "/run/netns/x is an empty file, not a network namespace mount (left by an unclean `ip netns delete`?); remove it with `rm -r /run/netns/x`",
        ));
        s
    }

    /// A host with every layer-3 problem once: h1 does not forward for
    /// the containers on its cni0 (c1 routes through it, c2 has no default
    /// route, c3's gateway is nobody's, c4's is its own address) and drops
    /// at its forward and input hooks; i5 is alone on an internal network;
    /// r2 filters strictly what a2 forwards from its lan0 (b2, which r2
    /// sends it back through, forwards); m has two equal default routes, a tap
    /// without carrier, docker0 inside tun0's range, a gateway off its
    /// link and a rule for a gone device.
    fn l3_wrong() -> Snapshot {
        use crate::path::testing::{Host, rule};
        use crate::snapshot::l3::Family;
        let mut h = Host::new();
        let h1 = h.ns("h1");
        let cni0 = h.bridge(h1, "cni0");
        h.addr(h1, cni0, "10.88.0.1/16");
        h.nft_chain(h1, "inet", "forward", "drop", 0);
        h.nft_chain(h1, "inet", "input", "drop", 2);
        for (name, addr, gw) in [
            ("c1", "10.88.0.2/16", Some("10.88.0.1")),
            ("c2", "10.88.0.3/16", None),
            ("c3", "10.88.0.5/16", Some("10.88.0.254")),
            ("c4", "10.88.0.4/16", Some("10.88.0.4")),
        ] {
            let c = h.ns(name);
            let (port, eth) = h.veth(h1, &format!("v{name}"), c, "eth0");
            h.enslave(h1, port, cni0);
            h.addr(c, eth, addr);
            if let Some(gw) = gw {
                h.route(c, "0.0.0.0/0", Some(gw), eth);
            }
        }
        // An internal network: i5 on ih's int0, where nobody has a
        // default route.
        let ih = h.ns("ih");
        let int0 = h.bridge(ih, "int0");
        h.addr(ih, int0, "10.89.0.1/24");
        let i5 = h.ns("i5");
        let (port, eth) = h.veth(ih, "vi5", i5, "eth0");
        h.enslave(ih, port, int0);
        h.addr(i5, eth, "10.89.0.5/24");
        let a2 = h.ns("a2");
        let r2 = h.ns("r2");
        let b2 = h.ns("b2");
        let (ea, ra) = h.veth(a2, "eth0", r2, "ra");
        let (rb, eb) = h.veth(r2, "rb", b2, "eth0");
        let lan = h.iface(a2, "lan0", Some("bridge"));
        h.addr(a2, ea, "10.1.0.2/24");
        h.addr(a2, lan, "10.3.0.1/24");
        h.addr(r2, ra, "10.1.0.1/24");
        h.addr(r2, rb, "10.2.0.1/24");
        h.addr(b2, eb, "10.2.0.2/24");
        h.route(a2, "0.0.0.0/0", Some("10.1.0.1"), ea);
        h.route(r2, "10.3.0.0/24", Some("10.2.0.2"), rb);
        h.route(b2, "0.0.0.0/0", Some("10.2.0.1"), eb);
        h.forwarding(a2, true);
        h.forwarding(r2, true);
        h.forwarding(b2, true);
        h.rp_filter_all(r2, 1);
        let m = h.ns("m");
        let eth0 = h.iface(m, "eth0", None);
        let eth1 = h.iface(m, "eth1", None);
        let tap = h.iface(m, "tap0", Some("tun"));
        let docker = h.bridge(m, "docker0");
        let tun = h.iface(m, "tun0", Some("tun"));
        h.addr(m, eth0, "192.0.2.2/24");
        h.addr(m, eth1, "198.51.100.2/24");
        h.addr(m, tap, "192.168.50.1/24");
        h.addr(m, docker, "172.17.0.1/16");
        h.addr(m, tun, "172.17.5.2/24");
        h.route(m, "0.0.0.0/0", Some("192.0.2.1"), eth0);
        h.route(m, "0.0.0.0/0", Some("198.51.100.1"), eth1);
        h.route(m, "10.99.0.0/16", Some("10.98.0.1"), eth0);
        h.no_carrier(m, tap);
        let mut gone = rule(Family::Inet, 100, 100);
        gone.iif = Some(crate::name::Name::from("vethgone"));
        gone.iif_detached = true;
        h.push_rule(m, gone);
        // A port forward to 192.0.2.77, on eth0's subnet, which nobody has
        // (NSM033); one to 192.0.2.2, m's own, is fine.
        h.nft_chain(m, "ip", "prerouting", "accept", 2);
        {
            use crate::snapshot::nft::{Bytes, Expr, NftRule};
            let dnat = |handle: u64, to: [u8; 4]| NftRule {
                handle,
                exprs: vec![
                    Expr::Immediate {
                        dreg: 1,
                        data: Some(Bytes(to.to_vec())),
                        verdict: None,
                    },
                    Expr::Nat {
                        kind: "dnat".into(),
                        family: "ip".into(),
                        addr_min: Some(1),
                        addr_max: None,
                        proto_min: None,
                        proto_max: None,
                        flags: 0,
                    },
                ],
                comment: None,
            };
            let tables = h.snapshot.namespaces[m.0]
                .firewall
                .as_mut()
                .and_then(|f| f.nftables.as_mut());
            if let Some(chain) = tables
                .and_then(|t| t.iter_mut().find(|t| t.family == "ip"))
                .and_then(|t| t.chains.last_mut())
            {
                chain.kind = Some("nat".into());
                chain.rules = Some(vec![dnat(7, [192, 0, 2, 77]), dnat(8, [192, 0, 2, 2])]);
            }
            // A conntrack table 95% full (NSM034).
            if let Some(fw) = h.snapshot.namespaces[m.0].firewall.as_mut() {
                fw.conntrack_count = Some(950);
                fw.conntrack_max = Some(1000);
            }
        }
        h.build()
    }

    #[test]
    fn each_layer3_check_fires_exactly_where_it_should() {
        // No check may fire where another one owns the cause.
        let found = findings(&l3_wrong());
        let l3: Vec<(&str, String)> = found
            .iter()
            .filter(|f| f.code >= Code::DefaultRouteMissing)
            .map(|f| {
                (
                    f.code.id(),
                    f.message.split(' ').next().unwrap_or("").to_string(),
                )
            })
            .collect();
        let mut got: Vec<String> = l3.iter().map(|(c, w)| format!("{c} {w}")).collect();
        got.sort();
        assert_eq!(
            got,
            [
                "NSM020 c2",
                "NSM021 the",
                "NSM022 nobody",
                "NSM023 c4",
                "NSM024 tap0@m",
                "NSM025 h1",
                "NSM026 strict",
                "NSM027 172.17.0.0/16",
                "NSM028 m",
                "NSM029 chain",
                "NSM030 chain",
                "NSM031 rule",
                "NSM032 i5",
                "NSM033 m",
                "NSM034 m:",
            ],
            "{found:#?}"
        );
    }

    #[test]
    fn findings_runs_every_check() {
        // Regression: a check written but not called from findings().
        let mut s = everything_wrong();
        s.namespaces.extend(l3_wrong().namespaces);
        // A netem with a delay and a rate that has dropped (NSM035, NSM036).
        if let Some(i) = s
            .namespaces
            .iter_mut()
            .find_map(|n| n.interfaces.first_mut())
        {
            use crate::snapshot::tc::{Netem, Qdisc, TcStats};
            i.qdiscs = Some(vec![Qdisc {
                kind: "netem".into(),
                handle: "8001:".into(),
                parent: "root".into(),
                netem: Some(Netem {
                    delay_us: 50_000.0,
                    rate: Some(125_000),
                    ..Netem::default()
                }),
                stats: Some(TcStats {
                    drops: 3,
                    ..TcStats::default()
                }),
                ..Qdisc::default()
            }]);
        }
        // The sampled codes need a sample; NSM036 from lifetime drops
        // needs none.
        let rates = traffic::tests::dropping_everywhere(&s);
        let mut found = findings(&s);
        found.extend(findings_with_rates(&s, &s, &rates));
        for code in Code::ALL {
            assert!(
                found.iter().any(|f| f.code == code),
                "{code} not produced: {:#?}",
                codes(&found)
            );
        }
    }

    #[test]
    fn findings_are_deterministic_whatever_the_input_order() {
        let mut s = demo();
        let once = findings(&s);
        s.namespaces.reverse();
        s.warnings.reverse();
        assert_eq!(findings(&s), once);
    }

    #[test]
    fn json_has_every_key_with_one_type() {
        let found = findings(&demo());
        let value = serde_json::to_value(&found).expect("serialize");
        for f in value.as_array().expect("array") {
            let mut keys: Vec<&str> = f
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort();
            assert_eq!(
                keys,
                ["code", "hint", "interfaces", "message", "netns", "severity"]
            );
            assert!(f["code"].is_string() && f["severity"].is_string());
            assert!(f["hint"].is_string() || f["hint"].is_null());
            assert!(f["netns"].is_u64() || f["netns"].is_null());
            for i in f["interfaces"].as_array().expect("interfaces") {
                assert!(i["ifindex"].is_u64());
                assert!(i.get("netns").is_some() && i.get("ifname").is_some());
            }
        }
    }

    #[test]
    fn scope_keeps_findings_touching_selected_namespaces() {
        let found = findings(&demo());
        let cache = Scope(Some(vec![4026532247]));
        let kept: Vec<&str> = found
            .iter()
            .filter(|f| f.in_scope(&cache))
            .map(|f| f.code.id())
            .collect();
        // Both pairs with a down end in cache (one seen from the host), and
        // cache's own info; nothing about web or db alone.
        assert_eq!(kept, ["NSM004", "NSM004", "NSM017"]);
    }
}
