//! `nsmap doctor`: what is broken in the wiring, as data.
//!
//! [`findings`] is a pure function of a [`Snapshot`]: every check is a small
//! function in one of the files below (`veth`, `bridge`, `netns`, `names`)
//! that looks at the snapshot and returns [`Finding`]s. A finding names the
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
pub mod fix;
pub mod ipv4;
pub mod names;
pub mod netns;
pub mod report;
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
}

impl Code {
    /// Every code, in numbering order.
    pub const ALL: [Code; 19] = [
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
        }
    }

    /// Each code has one severity, so a code alone says how bad it is.
    pub fn severity(self) -> Severity {
        match self {
            Code::VethPeerMissing
            | Code::VethOneEndDown
            | Code::VethMtuMismatch
            | Code::DuplicateIpv4OnSegment => Severity::Error,
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
            | Code::ControlCharsInName => Severity::Warning,
            Code::BridgeNoPorts
            | Code::BridgePortStpTransition
            | Code::NetnsOnlyMounted
            | Code::NetnsOnlyLoopback => Severity::Info,
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
    let index = snapshot.index();
    let mut out = Vec::new();
    out.extend(veth::peer_missing(&index));
    out.extend(veth::peer_unresolved(&index));
    out.extend(veth::peer_asymmetric(&index));
    out.extend(veth::one_end_down(&index));
    out.extend(veth::mtu_mismatch(&index));
    out.extend(veth::subnet_mismatch(&index));
    out.extend(bridge::mtu_mismatch(&index));
    out.extend(bridge::no_ports(&index));
    out.extend(bridge::port_down(&index));
    out.extend(bridge::port_not_forwarding(&index));
    out.extend(bridge::port_stp_transition(&index));
    out.extend(bridge::down_with_ports_up(&index));
    out.extend(bridge::duplicate_ipv4(&index));
    out.extend(netns::loopback_down(snapshot));
    out.extend(netns::no_addresses(snapshot));
    out.extend(netns::stale_entries(snapshot));
    out.extend(netns::only_mounted(snapshot));
    out.extend(netns::only_loopback(snapshot));
    out.extend(names::control_chars(snapshot));
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

    #[test]
    fn findings_runs_every_check() {
        // Regression: a check written but not called from findings().
        let found = findings(&everything_wrong());
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
