//! Checks of Linux bridges and their ports: MTU agreement, ports that do
//! not forward, bridges that are empty or down, and address conflicts on
//! the segment a bridge makes.
//!
//! A port whose only problem is that its veth peer is down is left to
//! NSM004 (one end down), which names the end to fix: one cause, one
//! finding. Port states are `IFLA_BRPORT_STATE` as `bridge link` names
//! them; with STP off a port with carrier goes straight to `forwarding`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::fix::{self, quote};
use super::ipv4::ipv4;
use super::{Code, End, Finding, has_carrier};
use crate::snapshot::{Index, Interface, Namespace};

/// Kinds that stack on a lower device and share its L2 segment.
const SEGMENT_UPPER_KINDS: &[&str] = &["macvlan", "macvtap", "ipvlan", "ipvtap"];

/// A bridge and its ports, as found in one namespace.
struct Bridge<'a> {
    ns: &'a Namespace,
    bridge: &'a Interface,
    ports: Vec<&'a Interface>,
}

impl<'a> Bridge<'a> {
    fn end(&self, iface: &'a Interface) -> End<'a> {
        End { ns: self.ns, iface }
    }

    fn describe(&self) -> String {
        self.end(self.bridge).describe()
    }
}

fn bridges<'a>(index: &Index<'a>) -> Vec<Bridge<'a>> {
    let mut out = Vec::new();
    for ns in &index.snapshot.namespaces {
        for bridge in ns.interfaces.iter().filter(|i| i.kind_is("bridge")) {
            out.push(Bridge {
                ns,
                bridge,
                ports: index.ports(ns, bridge.ifindex),
            });
        }
    }
    out
}

/// The resolved veth peer of `iface`, if it has one nsmap saw.
fn peer_of<'a>(index: &Index<'a>, iface: &Interface) -> Option<End<'a>> {
    let (ns, iface) = index.resolve(iface.peer.as_ref()?)?;
    Some(End { ns, iface })
}

/// NSM006: a bridge and its ports disagree on MTU. A bridge forwards a
/// frame to a port only if it fits that port's MTU (`br_dev_queue_push_xmit`
/// drops the rest), so big frames die at the smallest member. The hint
/// lowers every larger member to the smallest MTU, which always works, and
/// with a veth port its peer, so the fix does not make an NSM005.
pub fn mtu_mismatch(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in bridges(index) {
        if b.ports.is_empty() {
            continue;
        }
        let members: Vec<&Interface> = std::iter::once(b.bridge)
            .chain(b.ports.iter().copied())
            .collect();
        let smallest = members.iter().map(|i| i.mtu).min().unwrap_or(0);
        let larger: Vec<&Interface> = members
            .iter()
            .copied()
            .filter(|i| i.mtu > smallest)
            .collect();
        if larger.is_empty() {
            continue;
        }
        let mut groups: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for m in &members {
            groups.entry(m.mtu).or_default().push(m.ifname.as_str());
        }
        let groups: Vec<String> = groups
            .iter()
            .map(|(mtu, names)| format!("{mtu}: {}", names.join(", ")))
            .collect();
        // A veth port lowered alone would leave its peer bigger (NSM005):
        // lower the peer with it.
        let mut commands = Vec::new();
        for &i in &larger {
            commands.push(b.end(i));
            commands.extend(peer_of(index, i).filter(|p| p.iface.mtu > smallest));
        }
        let hint: Option<Vec<String>> = commands
            .iter()
            .map(|e| {
                fix::ip(
                    e.ns,
                    &format!("link set dev {} mtu {smallest}", quote(&e.iface.ifname)),
                )
            })
            .collect();
        let mut interfaces = vec![b.end(b.bridge).link_ref()];
        interfaces.extend(
            larger
                .iter()
                .filter(|i| i.ifindex != b.bridge.ifindex)
                .map(|i| b.end(i).link_ref()),
        );
        out.push(Finding::new(
            Code::BridgeMtuMismatch,
            Some(b.ns.inode),
            interfaces,
            format!(
                "bridge {} and its ports disagree on MTU ({}): frames over {smallest} bytes are dropped where the MTU is smaller",
                b.describe(),
                groups.join("; ")
            ),
            hint.map(|h| h.join(" && ")),
        ));
    }
    out
}

/// NSM007: a bridge with no ports. Often intended (docker0 before the
/// first container), hence info.
pub fn no_ports(index: &Index<'_>) -> Vec<Finding> {
    bridges(index)
        .into_iter()
        .filter(|b| b.ports.is_empty())
        .map(|b| {
            Finding::new(
                Code::BridgeNoPorts,
                Some(b.ns.inode),
                vec![b.end(b.bridge).link_ref()],
                format!(
                    "bridge {} has no ports: nothing is plugged into it",
                    b.describe()
                ),
                fix::ip(
                    b.ns,
                    &format!("link set dev <IFNAME> master {}", quote(&b.bridge.ifname)),
                ),
            )
        })
        .collect()
}

/// NSM008: a port that is down (administratively, or up without carrier)
/// while its bridge is up: whatever is behind it is cut off. A veth port
/// down only because exactly one end of its pair is down is NSM004's.
pub fn port_down(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in bridges(index).iter().filter(|b| b.bridge.is_up()) {
        for &port in &b.ports {
            let peer = peer_of(index, port);
            if peer.is_some_and(|p| p.iface.is_up() != port.is_up()) {
                continue; // one end down: NSM004 names the end to fix
            }
            let end = b.end(port);
            let (why, hint) = if !port.is_up() {
                let mut hint = fix::ip(b.ns, &format!("link set dev {} up", quote(&port.ifname)));
                let mut why = "is down".to_string();
                if let Some(p) = peer {
                    why = format!("is down, and so is its veth peer {}", p.describe());
                    hint = hint
                        .zip(fix::ip(
                            p.ns,
                            &format!("link set dev {} up", quote(&p.iface.ifname)),
                        ))
                        .map(|(a, b)| format!("{a} && {b}"));
                }
                (why, hint)
            } else if !has_carrier(port) {
                let why = if port.kind_is("tun") {
                    "is up but has no carrier: no process has the tap open (a VM that is not running?)"
                } else {
                    "is up but has no carrier"
                };
                (why.to_string(), None)
            } else {
                continue;
            };
            out.push(Finding::new(
                Code::BridgePortDown,
                Some(b.ns.inode),
                vec![end.link_ref(), b.end(b.bridge).link_ref()],
                format!(
                    "port {} of bridge {} {why}",
                    end.describe(),
                    b.bridge.ifname.as_str()
                ),
                hint,
            ));
        }
    }
    out
}

/// Ports that could forward (bridge up, port up with carrier) in `states`.
fn live_ports_in<'a>(index: &Index<'a>, states: &[&str]) -> Vec<(Bridge<'a>, &'a Interface)> {
    let mut out = Vec::new();
    for b in bridges(index).into_iter().filter(|b| b.bridge.is_up()) {
        let hits: Vec<&Interface> = b
            .ports
            .iter()
            .copied()
            .filter(|p| p.is_up() && has_carrier(p))
            .filter(|p| p.port_state.as_deref().is_some_and(|s| states.contains(&s)))
            .collect();
        for port in hits {
            out.push((
                Bridge {
                    ns: b.ns,
                    bridge: b.bridge,
                    ports: Vec::new(),
                },
                port,
            ));
        }
    }
    out
}

/// NSM009: a port that is up with carrier but `disabled` or `blocking`,
/// so the bridge drops what it receives (br_handle_frame). Blocking is
/// STP breaking a loop — intended when there is redundancy, hence only a
/// warning; a disabled live port was set so by hand.
pub fn port_not_forwarding(index: &Index<'_>) -> Vec<Finding> {
    live_ports_in(index, &["disabled", "blocking"])
        .into_iter()
        .map(|(b, port)| {
            let end = b.end(port);
            let state = port.port_state.as_deref().unwrap_or_default();
            let (why, hint) = if state == "blocking" {
                (
                    "is blocking: STP stopped it forwarding, usually because another path closes a loop",
                    None,
                )
            } else {
                (
                    "is disabled although it is up with carrier: it forwards nothing",
                    fix::bridge(b.ns, &format!("link set dev {} state 3", quote(&port.ifname))),
                )
            };
            Finding::new(
                Code::BridgePortNotForwarding,
                Some(b.ns.inode),
                vec![end.link_ref(), b.end(b.bridge).link_ref()],
                format!("port {} of bridge {} {why}", end.describe(), b.bridge.ifname.as_str()),
                hint,
            )
        })
        .collect()
}

/// NSM010: a port in `listening` or `learning`: STP is about to let it
/// forward (after up to twice the forward delay, 30 s by default).
pub fn port_stp_transition(index: &Index<'_>) -> Vec<Finding> {
    live_ports_in(index, &["listening", "learning"])
        .into_iter()
        .map(|(b, port)| {
            let end = b.end(port);
            Finding::new(
                Code::BridgePortStpTransition,
                Some(b.ns.inode),
                vec![end.link_ref(), b.end(b.bridge).link_ref()],
                format!(
                    "port {} of bridge {} is {}: STP lets it forward after the forward delay (15 s per state by default)",
                    end.describe(),
                    b.bridge.ifname.as_str(),
                    port.port_state.as_deref().unwrap_or_default()
                ),
                None,
            )
        })
        .collect()
}

/// NSM011: a bridge that is down while ports are up: every port is
/// disabled, nothing passes between them.
pub fn down_with_ports_up(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in bridges(index).iter().filter(|b| !b.bridge.is_up()) {
        let up: Vec<&Interface> = b.ports.iter().copied().filter(|p| p.is_up()).collect();
        if up.is_empty() {
            continue;
        }
        let mut interfaces = vec![b.end(b.bridge).link_ref()];
        interfaces.extend(up.iter().map(|p| b.end(p).link_ref()));
        let names: Vec<&str> = up.iter().map(|p| p.ifname.as_str()).collect();
        out.push(Finding::new(
            Code::BridgeDownPortsUp,
            Some(b.ns.inode),
            interfaces,
            format!(
                "bridge {} is down while its ports {} are up: nothing passes between them",
                b.describe(),
                names.join(", ")
            ),
            fix::ip(
                b.ns,
                &format!("link set dev {} up", quote(&b.bridge.ifname)),
            ),
        ));
    }
    out
}

/// NSM015: one IPv4 address on two interfaces of one bridge segment — the
/// bridge itself, its ports, its veth ports' peers, and macvlan/ipvlan
/// devices stacked on it. ARP answers flip between the two. The hint
/// removes it from all but the first holder (by namespace inode, ifindex).
pub fn duplicate_ipv4(index: &Index<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in bridges(index) {
        let mut members: Vec<End<'_>> = vec![b.end(b.bridge)];
        for &port in &b.ports {
            members.push(b.end(port));
            members.extend(peer_of(index, port));
        }
        for ns in &index.snapshot.namespaces {
            for upper in &ns.interfaces {
                let stacked = upper
                    .kind
                    .as_deref()
                    .is_some_and(|k| SEGMENT_UPPER_KINDS.contains(&k));
                if stacked
                    && upper.link.as_ref().is_some_and(|l| {
                        l.netns == Some(b.ns.inode) && l.ifindex == b.bridge.ifindex
                    })
                {
                    members.push(End { ns, iface: upper });
                }
            }
        }
        members.sort_by_key(End::key);
        members.dedup_by_key(|e| e.key());
        let mut holders: BTreeMap<Ipv4Addr, Vec<(End<'_>, u8)>> = BTreeMap::new();
        for m in &members {
            for net in ipv4(m.iface) {
                holders.entry(net.addr).or_default().push((*m, net.prefix));
            }
        }
        for (addr, ends) in holders.into_iter().filter(|(_, e)| e.len() > 1) {
            let names: Vec<String> = ends.iter().map(|(e, _)| e.describe()).collect();
            let hint: Option<Vec<String>> = ends[1..]
                .iter()
                .map(|(e, prefix)| {
                    fix::ip(
                        e.ns,
                        &format!("addr del {addr}/{prefix} dev {}", quote(&e.iface.ifname)),
                    )
                })
                .collect();
            let mut interfaces: Vec<_> = ends.iter().map(|(e, _)| e.link_ref()).collect();
            interfaces.push(b.end(b.bridge).link_ref());
            out.push(Finding::new(
                Code::DuplicateIpv4OnSegment,
                Some(b.ns.inode),
                interfaces,
                format!(
                    "{addr} is on {}, all on the segment of bridge {}: ARP answers flip between them",
                    names.join(" and "),
                    b.describe()
                ),
                hint.map(|h| h.join(" && ")),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const H: u64 = 4026531833;
    const A: u64 = 4026532001;
    const B: u64 = 4026532002;

    /// Host bridge br0 (ifindex 5) with veth ports to a and b.
    fn segment(
        port_a: impl Fn(Interface) -> Interface,
        port_b: impl Fn(Interface) -> Interface,
        eth_a: impl Fn(Interface) -> Interface,
        eth_b: impl Fn(Interface) -> Interface,
    ) -> crate::Snapshot {
        snapshot(vec![
            host(
                H,
                vec![
                    lo(),
                    bridge(5, "br0").addr("10.0.0.1/24"),
                    port_a(veth(6, "va", (A, 2, "eth0")).port_of(H, 5, "br0", "forwarding")),
                    port_b(veth(7, "vb", (B, 2, "eth0")).port_of(H, 5, "br0", "forwarding")),
                ],
            ),
            named(
                A,
                "a",
                vec![
                    lo(),
                    eth_a(veth(2, "eth0", (H, 6, "va")).addr("10.0.0.2/24")),
                ],
            ),
            named(
                B,
                "b",
                vec![
                    lo(),
                    eth_b(veth(2, "eth0", (H, 7, "vb")).addr("10.0.0.3/24")),
                ],
            ),
        ])
    }

    fn same(i: Interface) -> Interface {
        i
    }

    #[test]
    fn healthy_segment_has_no_findings() {
        let s = segment(same, same, same, same);
        let ix = s.index();
        for check in [
            mtu_mismatch,
            no_ports,
            port_down,
            port_not_forwarding,
            port_stp_transition,
            down_with_ports_up,
            duplicate_ipv4,
        ] {
            assert!(check(&ix).is_empty());
        }
    }

    #[test]
    fn mtu_mismatch_lists_groups_and_lowers_the_larger() {
        let s = segment(|p| p.mtu(9000), same, same, same);
        let found = mtu_mismatch(&s.index());
        assert_eq!(codes(&found), ["NSM006"]);
        assert_eq!(refs(&found[0]), [format!("br0@{H}"), format!("va@{H}")]);
        assert_eq!(
            found[0].message,
            "bridge br0@host and its ports disagree on MTU (1500: br0, vb; 9000: va): frames over 1500 bytes are dropped where the MTU is smaller"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip link set dev va mtu 1500")
        );
        // A veth port's bigger peer is lowered with it.
        let s = segment(|p| p.mtu(9000), same, |e| e.mtu(9000), same);
        let found = mtu_mismatch(&s.index());
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip link set dev va mtu 1500 && ip -n a link set dev eth0 mtu 1500")
        );
        // A bridge set above its ports is lowered too.
        let mut s = segment(same, same, same, same);
        s.namespaces[0].interfaces[1].mtu = 9000;
        let found = mtu_mismatch(&s.index());
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip link set dev br0 mtu 1500")
        );
        assert_eq!(refs(&found[0]), [format!("br0@{H}")]);
    }

    #[test]
    fn bridge_without_ports_is_info() {
        let s = snapshot(vec![host(H, vec![lo(), bridge(3, "docker0")])]);
        let found = no_ports(&s.index());
        assert_eq!(codes(&found), ["NSM007"]);
        assert_eq!(found[0].severity, crate::doctor::Severity::Info);
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip link set dev <IFNAME> master docker0")
        );
        assert!(mtu_mismatch(&s.index()).is_empty());
    }

    #[test]
    fn port_down_while_bridge_up() {
        // Both ends down: a port switched off, with its peer.
        let s = segment(|p| p.down(), same, |e| e.down(), same);
        let found = port_down(&s.index());
        assert_eq!(codes(&found), ["NSM008"]);
        assert_eq!(
            found[0].message,
            "port va@host of bridge br0 is down, and so is its veth peer eth0@a"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip link set dev va up && ip -n a link set dev eth0 up")
        );
    }

    #[test]
    fn port_down_because_of_its_peer_is_left_to_nsm004() {
        // The demo's cache wire: host end up without carrier, disabled.
        let s = segment(|p| p.no_carrier(), same, |e| e.down(), same);
        assert!(port_down(&s.index()).is_empty());
        let s = segment(|p| p.down(), same, same, same);
        assert!(port_down(&s.index()).is_empty());
    }

    #[test]
    fn tap_port_without_carrier() {
        let tap = iface(8, "tap0", Some("tun"))
            .no_carrier()
            .port_of(H, 5, "br0", "disabled");
        let mut s = segment(same, same, same, same);
        s.namespaces[0].interfaces.push(tap);
        let found = port_down(&s.index());
        assert_eq!(codes(&found), ["NSM008"]);
        assert!(found[0].message.contains("no process has the tap open"));
        assert_eq!(found[0].hint, None);
    }

    #[test]
    fn demo_tap_is_the_only_down_port() {
        let s = demo();
        let found = port_down(&s.index());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].message, "port tap0@host of bridge cni0 is down");
        assert_eq!(found[0].hint.as_deref(), Some("ip link set dev tap0 up"));
    }

    #[test]
    fn ports_up_but_not_forwarding() {
        let s = segment(
            |p| Interface {
                port_state: Some("blocking".into()),
                ..p
            },
            |p| Interface {
                port_state: Some("disabled".into()),
                ..p
            },
            same,
            same,
        );
        let found = port_not_forwarding(&s.index());
        assert_eq!(codes(&found), ["NSM009", "NSM009"]);
        assert!(
            found[0]
                .message
                .contains("va@host of bridge br0 is blocking")
        );
        assert_eq!(found[0].hint, None);
        assert_eq!(
            found[1].hint.as_deref(),
            Some("bridge link set dev vb state 3")
        );
        assert!(port_stp_transition(&s.index()).is_empty());
    }

    #[test]
    fn listening_and_learning_are_info() {
        let s = segment(
            |p| Interface {
                port_state: Some("listening".into()),
                ..p
            },
            |p| Interface {
                port_state: Some("learning".into()),
                ..p
            },
            same,
            same,
        );
        assert_eq!(
            codes(&port_stp_transition(&s.index())),
            ["NSM010", "NSM010"]
        );
        assert!(port_not_forwarding(&s.index()).is_empty());
    }

    #[test]
    fn down_bridge_reports_once_not_per_port() {
        let mut s = segment(
            |p| Interface {
                port_state: Some("disabled".into()),
                ..p
            },
            |p| Interface {
                port_state: Some("disabled".into()),
                ..p
            },
            same,
            same,
        );
        let br = &mut s.namespaces[0].interfaces[1];
        *br = br.clone().down();
        let found = down_with_ports_up(&s.index());
        assert_eq!(codes(&found), ["NSM011"]);
        assert_eq!(
            refs(&found[0]),
            [format!("br0@{H}"), format!("va@{H}"), format!("vb@{H}")]
        );
        assert_eq!(found[0].hint.as_deref(), Some("ip link set dev br0 up"));
        assert!(port_down(&s.index()).is_empty());
        assert!(port_not_forwarding(&s.index()).is_empty());
    }

    #[test]
    fn duplicate_address_behind_two_ports() {
        let s = segment(same, same, same, |e| Interface {
            addresses: vec!["10.0.0.2/24".into()],
            ..e
        });
        let found = duplicate_ipv4(&s.index());
        assert_eq!(codes(&found), ["NSM015"]);
        assert_eq!(
            found[0].message,
            "10.0.0.2 is on eth0@a and eth0@b, all on the segment of bridge br0@host: ARP answers flip between them"
        );
        assert_eq!(
            found[0].hint.as_deref(),
            Some("ip -n b addr del 10.0.0.2/24 dev eth0")
        );
        assert_eq!(
            refs(&found[0]),
            [format!("eth0@{A}"), format!("eth0@{B}"), format!("br0@{H}")]
        );
    }

    #[test]
    fn duplicate_of_the_bridge_address_and_on_a_macvlan() {
        let mut s = segment(
            same,
            same,
            |e| Interface {
                addresses: vec!["10.0.0.1/24".into()],
                ..e
            },
            same,
        );
        let mut mv = iface(3, "mv0", Some("macvlan")).addr("10.0.0.3/24");
        mv.link = Some(at(H, 5, "br0"));
        s.namespaces[1].interfaces.push(mv);
        let found = duplicate_ipv4(&s.index());
        let msgs: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "10.0.0.1 is on br0@host and eth0@a, all on the segment of bridge br0@host: ARP answers flip between them",
                "10.0.0.3 is on mv0@a and eth0@b, all on the segment of bridge br0@host: ARP answers flip between them",
            ]
        );
    }

    #[test]
    fn same_address_on_different_bridges_is_fine() {
        let s = snapshot(vec![host(
            H,
            vec![
                lo(),
                bridge(3, "br1").addr("10.0.0.1/24"),
                bridge(4, "br2").addr("10.0.0.1/24"),
            ],
        )]);
        assert!(duplicate_ipv4(&s.index()).is_empty());
    }
}
